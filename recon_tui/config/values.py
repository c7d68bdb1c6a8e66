"""Check one value against its :class:`Spec`, in the words a user can act on.

``msgspec.convert`` checks a value against the field's type and its
``msgspec.Meta`` bounds; its own messages (``Expected `int` <= 6``) are mapped
here to ours (``expected an integer from 1 to 6, got 9``). A secret's value is
never echoed: only its type.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from recon_tui.config.checks import quote
from recon_tui.config.schema import Spec
from recon_tui.config.secret import ENV_PREFIX, KEYRING_PREFIX
from recon_tui.dates import parse_ymd

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Same rule as recon_tui.secret_store.parse_reference (kept here so loading a
# config never imports the keyring library).
_KEYRING_REF = re.compile(r"keyring:[A-Za-z0-9._@:+-]+(/[A-Za-z0-9._@:+-]+)+")
_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"),
    (datetime, "datetime"), (date, "date"), (time, "time"), (list, "array"), (dict, "table"))


class Invalid(ValueError):
    """A value that does not fit its key; ``problem`` is the message's last part."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def describe(value: object, *, secret: bool = False) -> str:
    """``string "abc"``, ``integer 7``, ``table``; only the type for a secret."""
    name = next((n for t, n in _TYPE_NAMES if isinstance(value, t)), type(value).__name__)
    if secret or isinstance(value, dict | list):
        return name
    if isinstance(value, str):
        return f"{name} {quote(value)}"
    if isinstance(value, bool):
        return f"{name} {'true' if value else 'false'}"
    if isinstance(value, datetime | date | time):
        return f"{name} {value.isoformat()}"
    return f"{name} {value!r}"


def bounds_problem(spec: Spec, got: str) -> str:
    """``expected an integer from 1 to 6, got 9`` from the field's Meta bounds."""
    if spec.le is None:
        return f"expected a positive integer, got {got}"
    return f"expected an integer from {spec.ge} to {spec.le}, got {got}"


def integer(raw: object, spec: Spec) -> int:
    """An integer within the field's bounds (a boolean is not an integer)."""
    try:
        return int(msgspec.convert(raw, spec.hint, strict=True))
    except msgspec.ValidationError:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise Invalid(f"expected an integer, got {describe(raw)}") from None
        raise Invalid(bounds_problem(spec, str(raw))) from None


def _bool(raw: object, spec: Spec) -> bool:
    if not isinstance(raw, bool):
        quoted = " (unquoted)" if isinstance(raw, str) else ""
        raise Invalid(f"expected true or false{quoted}, got {describe(raw)}")
    return raw


def _table(raw: object, spec: Spec) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid(f"expected a table like {{ qbo = 10 }}, got {describe(raw)}")
    return raw


def _date(raw: object, spec: Spec) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    parsed = parse_ymd(raw) if isinstance(raw, str) else None
    if parsed is None:
        got = quote(raw) if isinstance(raw, str) else describe(raw)
        raise Invalid(f"expected a date YYYY-MM-DD, got {got}")
    return parsed


def _secret(raw: object, spec: Spec) -> str:
    """The stored form (inline value or a checked reference); the caller wraps it."""
    if not isinstance(raw, str):
        raise Invalid(f"expected a string, got {describe(raw, secret=True)}")
    text = raw.strip()
    if text.startswith(ENV_PREFIX):
        var = text[len(ENV_PREFIX):].strip()
        if not _ENV_NAME.fullmatch(var):
            raise Invalid('expected "env:VAR_NAME" with a valid environment variable name '
                          "(letters, digits and _)")
        text = ENV_PREFIX + var
    elif text.startswith(KEYRING_PREFIX) and not _KEYRING_REF.fullmatch(text):
        raise Invalid('expected "keyring:SERVICE/NAME" (like keyring:recon-tui/qbo/123/'
                      "client_secret; letters, digits and ._@:+- in each part)")
    if not text:
        raise Invalid("must not be empty")
    return text


def text(raw: object, spec: Spec) -> str:
    """A non-empty string, stripped."""
    if spec.accept_int and type(raw) is int:
        raw = str(raw)  # realm ids are numeric; accept them unquoted
    if not isinstance(raw, str):
        raise Invalid(f"expected a string, got {describe(raw)}")
    text = raw.strip()
    if not text and not spec.empty_ok:
        raise Invalid("must not be empty")
    return text


def _choice(raw: object, spec: Spec) -> str:
    """One of a Literal's values (``kind`` is read with :func:`text`: the parser
    judges it with its own message)."""
    value = text(raw, spec)
    if value not in spec.choices:
        options = " or ".join(f'"{c}"' for c in spec.choices)
        raise Invalid(f"expected {options}, got {quote(value)}")
    return value


def _url(raw: object, spec: Spec) -> str:
    """An http(s) URL with a host and no credentials, trailing slash removed."""
    url = text(raw, spec)
    if not url.lower().startswith(("http://", "https://")):
        raise Invalid(f"expected a URL starting with http:// or https://, got {quote(url)}")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise Invalid(f"not a valid URL: {quote(url)}") from None
    if parts.username is not None or parts.password is not None:
        # Do not echo: the URL itself carries a credential.
        raise Invalid("must not contain a user name or password; use the credential keys")
    if not parts.hostname or any(c.isspace() for c in url):
        raise Invalid(f"not a valid URL: {quote(url)}")
    if parts.query or parts.fragment:
        raise Invalid(f"must not contain a query string or fragment, got {quote(url)}")
    return url.rstrip("/")


def _path(raw: object, spec: Spec) -> Path:
    return Path(text(raw, spec)).expanduser()


_BY_KIND = {"bool": _bool, "table": _table, "int": integer, "date": _date, "secret": _secret,
            "str": text, "choice": _choice, "url": _url, "path": _path}


def check_value(raw: object, spec: Spec, kind: str | None) -> Any:
    """The value read as the key's type, then the model's own check; raises Invalid."""
    value = _BY_KIND[spec.kind](raw, spec)
    if spec.check is not None and (problem := spec.check(value, kind)):
        raise Invalid(problem)
    return value
