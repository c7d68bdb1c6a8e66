"""Load, validate and save recon-tui's TOML configuration.

The file holds API credentials, so two rules run through this module:

* a secret's value never reaches a ``repr``, an error message or a summary:
  it lives in a :class:`Secret` that prints as ``********`` and is only read
  through :meth:`Secret.reveal`, at the moment a connector needs it;
* every problem is reported as one :class:`ConfigError` line naming the file,
  the ``[section] key`` and what is wrong, so a user can fix it without
  reading a traceback.

No configuration at all is valid: recon-tui then runs on its sample book
(demo mode), see :attr:`Config.is_demo`.
"""

from __future__ import annotations

import dataclasses
import difflib
import hmac
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import platformdirs
import tomli_w

from recon_tui.atomic import write_private_file
from recon_tui.scrub import register as register_secret

__all__ = [
    "APP_NAME",
    "BOOLEAN_KEYS",
    "CONFIG_ENV_VAR",
    "DEFAULT_MINOR_VERSION",
    "DEFAULT_PORTAL_LEVEL",
    "DEFAULT_QBO_BASE_URL",
    "DEFAULT_QBO_TOKEN_URL",
    "EDITABLE_KEYS",
    "INVOICE_NUMBERINGS",
    "LEDGER_KINDS",
    "MASK",
    "PSA_KINDS",
    "Config",
    "ConfigError",
    "LedgerConfig",
    "LedgerKind",
    "PortalConfig",
    "PsaConfig",
    "PsaKind",
    "Secret",
    "SyncConfig",
    "config_to_dict",
    "default_config_path",
    "editable_values",
    "load_config",
    "parse_config",
    "redacted_summary",
    "resolve_config_path",
    "save_config",
    "unresolved_secrets",
    "with_edits",
]

APP_NAME = "recon-tui"
CONFIG_ENV_VAR = "RECON_TUI_CONFIG"
MASK = "********"

DEFAULT_QBO_BASE_URL = "https://quickbooks.api.intuit.com"
DEFAULT_QBO_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
# Intuit stopped serving minor versions 1-74 on 2025-08-01; 75 is the floor.
DEFAULT_MINOR_VERSION = 75
# ConnectBooster's default "Portal Security Level Considered Client Admin".
DEFAULT_PORTAL_LEVEL = 6
#: Autotask invoice numbering as the accounting integration wrote it to QBO.
INVOICE_NUMBERINGS: tuple[str, ...] = ("number", "id")

LedgerKind = Literal["qbo"]
PsaKind = Literal["connectwise", "autotask"]
LEDGER_KINDS: tuple[str, ...] = ("qbo",)
PSA_KINDS: tuple[str, ...] = ("connectwise", "autotask")

_ENV_PREFIX = "env:"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ECHO_LIMIT = 60


# --------------------------------------------------------------------------- errors


class ConfigError(Exception):
    """A configuration problem, reported as one line a user can act on.

    ``str()`` is ``"<file>: [section] key: <problem>"``; the file or key part is
    left out when it is not known (a TOML syntax error has no key). ``errors``
    holds every problem found in the same pass (this one first), so a CLI or a
    settings screen can list them all instead of making the user fix them one
    run at a time. Messages never contain a secret's value.
    """

    def __init__(
        self,
        file: Path | str | None,
        key: str | None,
        problem: str,
        *,
        errors: tuple[ConfigError, ...] = (),
    ) -> None:
        self.file = Path(file) if file is not None else None
        self.key = key
        self.problem = problem
        self.errors: tuple[ConfigError, ...] = errors or (self,)
        super().__init__(self._line())

    def _line(self) -> str:
        parts = [str(self.file)] if self.file is not None else []
        if self.key:
            parts.append(self.key)
        parts.append(self.problem)
        return ": ".join(parts)

    def __str__(self) -> str:
        return self._line()

    def __repr__(self) -> str:
        return f"ConfigError({self._line()!r})"


def _key(section: str, name: str | None = None) -> str:
    """Spell a key the way errors show it: ``[ledger] realm_id``."""
    return f"[{section}] {name}" if name else f"[{section}]"


# --------------------------------------------------------------------------- secrets


class Secret:
    """A credential that cannot leak by being printed.

    Holds either an inline value or an ``env:VAR_NAME`` reference. ``str``,
    ``repr`` and f-strings all give ``********``; :meth:`reveal` is the one way
    to read it, and resolves an environment reference only then, so a missing
    variable is reported when it matters rather than at load time.
    """

    __slots__ = ("_file", "_key", "_raw")

    _raw: str
    _key: str | None
    _file: Path | None

    def __init__(self, raw: str, *, key: str | None = None, file: Path | None = None) -> None:
        if not isinstance(raw, str):
            raise TypeError("Secret value must be a string")
        object.__setattr__(self, "_raw", raw)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_file", file)

    def __setattr__(self, name: str, value: object) -> None:
        raise dataclasses.FrozenInstanceError("Secret is immutable")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError("Secret is immutable")

    # -- never show the value
    def __repr__(self) -> str:
        return MASK

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __reduce__(self) -> Any:
        # Pickling would copy the value somewhere we do not control.
        raise TypeError("Secret cannot be pickled")

    def __copy__(self) -> Secret:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    # -- compare without resolving or exposing anything
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._raw.encode(), other._raw.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._raw))

    # -- safe metadata
    @property
    def env_var(self) -> str | None:
        """The environment variable named by an ``env:`` reference, else None."""
        if self._raw.startswith(_ENV_PREFIX):
            return self._raw[len(_ENV_PREFIX) :]
        return None

    @property
    def source(self) -> str:
        """``"inline"`` or ``"env:VAR_NAME"``: where the value comes from, safe to show."""
        var = self.env_var
        return f"{_ENV_PREFIX}{var}" if var is not None else "inline"

    @property
    def is_set(self) -> bool:
        """True when something was configured (an env reference counts)."""
        return bool(self._raw)

    @property
    def display(self) -> str:
        """What a UI may show: the env reference, or the mask for an inline value."""
        return self.source if self.env_var is not None else MASK

    def stored_form(self) -> str:
        """The value as written in the file (inline value or ``env:VAR``), for saving."""
        return self._raw

    def reveal(self, environ: Mapping[str, str] | None = None) -> str:
        """Return the secret's value, reading ``env:`` references from *environ*.

        Raises ConfigError naming the key and the variable (never a value) when
        the variable is unset or empty.
        """
        var = self.env_var
        if var is None:
            register_secret(self._raw)  # scrubbed from every message from now on
            return self._raw
        env = os.environ if environ is None else environ
        value = env.get(var)
        if value is None:
            raise ConfigError(self._file, self._key, f"environment variable {var} is not set")
        if not value.strip():
            raise ConfigError(self._file, self._key, f"environment variable {var} is empty")
        register_secret(value.strip())
        return value.strip()


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class LedgerConfig:
    """QuickBooks Online credentials.

    ``base_url`` is the host root: connectors append ``/v3/company/{realm_id}/``.
    """

    realm_id: str
    client_id: str
    client_secret: Secret
    refresh_token: Secret
    kind: LedgerKind = "qbo"
    base_url: str = DEFAULT_QBO_BASE_URL
    token_url: str = DEFAULT_QBO_TOKEN_URL
    minor_version: int = DEFAULT_MINOR_VERSION
    #: Off unless the file says so: recon-tui then only reads QuickBooks, and every
    #: fix (the credit checklist's "apply via the API" included) is done by hand.
    allow_writes: bool = False


@dataclass(frozen=True)
class PsaConfig:
    """ConnectWise PSA or Autotask credentials; only the fields of ``kind`` are set."""

    kind: PsaKind
    base_url: str
    # connectwise
    company_id: str | None = None
    public_key: str | None = None
    private_key: Secret | None = None
    client_id: str | None = None
    # autotask
    username: str | None = None
    secret: Secret | None = None
    integration_code: Secret | None = None
    #: Autotask: which Autotask field the QBO DocNumber carries ("number" or "id").
    invoice_numbering: str | None = None
    #: ConnectWise: caption of an invoice custom field holding the QBO invoice id.
    ledger_link_field: str | None = None
    #: Off unless the file says so: recon-tui then only reads the PSA.
    allow_writes: bool = False


@dataclass(frozen=True)
class PortalConfig:
    """Client-portal rules: contacts below this security level cannot see invoices."""

    client_admin_security_level: int = DEFAULT_PORTAL_LEVEL


@dataclass(frozen=True)
class SyncConfig:
    """Sync settings. ``default_since`` is accepted so older files still load, but
    no longer used: the first sync of a cache reads every record whatever its date
    (a dated first sync missed last year's unpaid invoices)."""

    default_since: date | None = None
    #: A sync that would delete more than this share (percent) of one side's
    #: records stops and asks first: a read that silently came back short must
    #: never empty the cache.
    max_delete_percent: int = 5


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``path`` is the file it came from (None in demo mode)."""

    ledger: LedgerConfig | None = None
    psa: PsaConfig | None = None
    portal: PortalConfig = field(default_factory=PortalConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    path: Path | None = None

    @property
    def is_demo(self) -> bool:
        """True when no live system is configured, so the sample book is used."""
        return self.ledger is None and self.psa is None

    @classmethod
    def default(cls) -> Config:
        """The configuration used when no file exists: demo mode with default settings."""
        return cls()


# --------------------------------------------------------------------------- schema

_Kind = Literal["str", "int", "bool", "secret", "url", "date", "choice"]


@dataclass(frozen=True)
class _Spec:
    """How one key is checked: its type and, for PSA keys, which kind it belongs to."""

    kind: _Kind
    for_kind: str | None = None  # None: shared by every kind of the section


_SCHEMA: dict[str, dict[str, _Spec]] = {
    "ledger": {
        "kind": _Spec("choice"),
        "base_url": _Spec("url"),
        "token_url": _Spec("url"),
        "realm_id": _Spec("str"),
        "client_id": _Spec("str"),
        "client_secret": _Spec("secret"),
        "refresh_token": _Spec("secret"),
        "minor_version": _Spec("int"),
        "allow_writes": _Spec("bool"),
    },
    "psa": {
        "kind": _Spec("choice"),
        "base_url": _Spec("url"),
        "company_id": _Spec("str", "connectwise"),
        "public_key": _Spec("str", "connectwise"),
        "private_key": _Spec("secret", "connectwise"),
        "client_id": _Spec("str", "connectwise"),
        "username": _Spec("str", "autotask"),
        "secret": _Spec("secret", "autotask"),
        "integration_code": _Spec("secret", "autotask"),
        "invoice_numbering": _Spec("choice", "autotask"),
        "ledger_link_field": _Spec("str", "connectwise"),
        "allow_writes": _Spec("bool"),
    },
    "portal": {"client_admin_security_level": _Spec("int")},
    "sync": {"default_since": _Spec("date"), "max_delete_percent": _Spec("int")},
}

_REQUIRED: dict[str, tuple[str, ...]] = {
    "qbo": ("realm_id", "client_id", "client_secret", "refresh_token"),
    "connectwise": ("base_url", "company_id", "public_key", "private_key", "client_id"),
    "autotask": ("base_url", "username", "secret", "integration_code"),
}

# What a PSA base_url must end with (compared case-insensitively; Autotask's own
# docs spell it ATServicesRest/V1.0). ConnectWise's release segment varies by
# codebase (v4_6_release, v2024_1, ...), so only the API part is checked.
_PSA_URL_SUFFIX = {
    "connectwise": ("/apis/3.0", "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"),
    "autotask": ("/atservicesrest/v1.0", "https://webservices5.autotask.net/atservicesrest/v1.0"),
}


# --------------------------------------------------------------------------- parsing


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, time):
        return "time"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _quote(text: str) -> str:
    if len(text) > _ECHO_LIMIT:
        text = text[: _ECHO_LIMIT - 3] + "..."
    return json.dumps(text, ensure_ascii=False)


def _describe(value: object, *, secret: bool = False) -> str:
    """``string "abc"``, ``integer 7``, ``table``; only the type for a secret."""
    name = _type_name(value)
    if secret or isinstance(value, dict | list):
        return name
    if isinstance(value, str):
        return f"{name} {_quote(value)}"
    if isinstance(value, bool):
        return f"{name} {'true' if value else 'false'}"
    if isinstance(value, datetime | date | time):
        return f"{name} {value.isoformat()}"
    return f"{name} {value!r}"


def _suggest(name: str, known: list[str]) -> str:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


class _Parser:
    """One validation pass over a parsed TOML document, collecting every problem."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.errors: list[ConfigError] = []

    def fail(self, key: str | None, problem: str) -> None:
        self.errors.append(ConfigError(self.file, key, problem))

    # -- values
    def value(self, section: str, name: str, raw: object, spec: _Spec) -> Any:
        """Check one value against its spec; return the cleaned value or None if bad."""
        key = _key(section, name)
        if spec.kind == "bool":
            if not isinstance(raw, bool):
                quoted = " (unquoted)" if isinstance(raw, str) else ""
                self.fail(key, f"expected true or false{quoted}, got {_describe(raw)}")
                return None
            return raw
        if spec.kind == "int":
            if isinstance(raw, bool) or not isinstance(raw, int):
                self.fail(key, f"expected an integer, got {_describe(raw)}")
                return None
            return raw
        if spec.kind == "date":
            if isinstance(raw, date) and not isinstance(raw, datetime):
                return raw
            if isinstance(raw, str):
                parsed = _parse_ymd(raw.strip())
                if parsed is None:
                    self.fail(key, f"expected a date YYYY-MM-DD, got {_quote(raw)}")
                return parsed
            self.fail(key, f"expected a date YYYY-MM-DD, got {_describe(raw)}")
            return None
        if spec.kind == "secret":
            if not isinstance(raw, str):
                self.fail(key, f"expected a string, got {_describe(raw, secret=True)}")
                return None
            text = raw.strip()
            if text.startswith(_ENV_PREFIX):
                var = text[len(_ENV_PREFIX) :].strip()
                if not _ENV_NAME.fullmatch(var):
                    self.fail(
                        key,
                        'expected "env:VAR_NAME" with a valid environment variable name '
                        "(letters, digits and _)",
                    )
                    return None
                text = _ENV_PREFIX + var
            if not text:
                self.fail(key, "must not be empty")
                return None
            return Secret(text, key=key, file=self.file)
        # str, url, choice
        if section == "ledger" and name == "realm_id" and type(raw) is int:
            raw = str(raw)  # realm ids are numeric; accept them unquoted
        if not isinstance(raw, str):
            self.fail(key, f"expected a string, got {_describe(raw)}")
            return None
        text = raw.strip()
        if not text:
            self.fail(key, "must not be empty")
            return None
        if spec.kind == "url":
            return self.url(key, text)
        return text

    def url(self, key: str, text: str) -> str | None:
        """An http(s) URL with a host and no credentials, trailing slash removed."""
        if not text.lower().startswith(("http://", "https://")):
            self.fail(key, f"expected a URL starting with http:// or https://, got {_quote(text)}")
            return None
        try:
            parts = urlsplit(text)
            _ = parts.port  # raises on a malformed port
        except ValueError:
            self.fail(key, f"not a valid URL: {_quote(text)}")
            return None
        if parts.username is not None or parts.password is not None:
            # Do not echo: the URL itself carries a credential.
            self.fail(key, "must not contain a user name or password; use the credential keys")
            return None
        if not parts.hostname or any(c.isspace() for c in text):
            self.fail(key, f"not a valid URL: {_quote(text)}")
            return None
        if parts.query or parts.fragment:
            self.fail(key, f"must not contain a query string or fragment, got {_quote(text)}")
            return None
        return text.rstrip("/")

    # -- sections
    def section(self, doc: Mapping[str, Any], section: str) -> dict[str, Any] | None:
        """Validate one section's keys and types; None when absent or not a table."""
        if section not in doc:
            return None
        table = doc[section]
        if not isinstance(table, dict):
            self.fail(_key(section), f"expected a table, got {_describe(table)}")
            return None
        schema = _SCHEMA[section]
        kind = table.get("kind") if isinstance(table.get("kind"), str) else None
        kind = kind.strip() if kind else None
        out: dict[str, Any] = {}
        for name, raw in table.items():
            spec = schema.get(name)
            if spec is None:
                self.fail(_key(section, name), self.unknown_key(section, name))
                continue
            if spec.for_kind and kind in PSA_KINDS and spec.for_kind != kind:
                self.fail(
                    _key(section, name),
                    f'only applies when kind = "{spec.for_kind}" '
                    f'(this section has kind = "{kind}")',
                )
                continue
            value = self.value(section, name, raw, spec)
            if value is not None:
                out[name] = value
        return out

    def unknown_key(self, section: str, name: str) -> str:
        known = list(_SCHEMA[section])
        hint = _suggest(name, known)
        if not hint:
            homes = [s for s, keys in _SCHEMA.items() if s != section and name in keys]
            if homes:
                hint = f" (it belongs in [{homes[0]}])"
        return f"unknown key '{name}'{hint}"

    def kind(self, section: str, values: dict[str, Any], allowed: tuple[str, ...]) -> str | None:
        kind = values.get("kind")
        if kind is None:
            return None
        if kind not in allowed:
            options = ", ".join(f'"{k}"' for k in allowed)
            hint = difflib.get_close_matches(kind.lower(), list(allowed), n=1, cutoff=0.6)
            tail = f' (did you mean "{hint[0]}"?)' if hint else ""
            self.fail(_key(section, "kind"), f"expected one of {options}, got {_quote(kind)}{tail}")
            return None
        return kind

    def require(self, section: str, kind: str, table: Mapping[str, Any], values: dict) -> bool:
        """Report required keys that are absent from the file (bad ones were already reported)."""
        ok = True
        for name in _REQUIRED[kind]:
            if name not in table:
                self.fail(_key(section, name), f'missing (required when kind = "{kind}")')
                ok = False
            elif name not in values:
                ok = False
        return ok

    # -- the document
    def document(self, doc: Mapping[str, Any]) -> Config:
        """Validate every section in file order, so problems are listed top to bottom."""
        handlers: dict[str, Callable[[Mapping[str, Any]], Any]] = {
            "ledger": self.ledger,
            "psa": self.psa,
            "portal": self.portal,
            "sync": self.sync,
        }
        parsed: dict[str, Any] = {}
        for name, value in doc.items():
            if name in handlers:
                parsed[name] = handlers[name](doc)
            elif isinstance(value, dict):
                match = difflib.get_close_matches(name, list(_SCHEMA), n=1, cutoff=0.6)
                hint = f" (did you mean [{match[0]}]?)" if match else ""
                known = ", ".join(f"[{s}]" for s in _SCHEMA)
                self.fail(_key(name), f"unknown section [{name}]{hint}; known sections: {known}")
            else:
                homes = [f"[{s}]" for s, keys in _SCHEMA.items() if name in keys]
                where = " or ".join(homes) if homes else "a section such as [ledger]"
                self.fail(name, f"unknown top-level key '{name}'; it belongs in {where}")
        if self.errors:
            first = self.errors[0]
            first.errors = tuple(self.errors)
            raise first
        return Config(
            ledger=parsed.get("ledger"),
            psa=parsed.get("psa"),
            portal=parsed.get("portal") or PortalConfig(),
            sync=parsed.get("sync") or SyncConfig(),
            path=self.file,
        )

    def ledger(self, doc: Mapping[str, Any]) -> LedgerConfig | None:
        values = self.section(doc, "ledger")
        if values is None:
            return None
        if "kind" not in doc["ledger"]:
            values["kind"] = "qbo"  # the only ledger so far
        kind = self.kind("ledger", values, LEDGER_KINDS)
        if kind is None:
            return None
        complete = self.require("ledger", kind, doc["ledger"], values)
        base_url = values.get("base_url")
        if base_url and "/v3/company" in base_url.lower():
            self.fail(
                _key("ledger", "base_url"),
                "expected the host root only (recon-tui appends /v3/company/{realm_id}/), "
                f"got {_quote(base_url)}",
            )
            complete = False
        realm = values.get("realm_id")
        if realm is not None and not realm.isdigit():
            self.fail(
                _key("ledger", "realm_id"),
                f"expected the numeric QuickBooks company ID, got {_quote(realm)}",
            )
            complete = False
        minor = values.get("minor_version")
        if minor is not None and minor < 1:
            self.fail(_key("ledger", "minor_version"), f"expected a positive integer, got {minor}")
            complete = False
        if not complete:
            return None
        return LedgerConfig(**values)

    def psa(self, doc: Mapping[str, Any]) -> PsaConfig | None:
        values = self.section(doc, "psa")
        if values is None:
            return None
        if "kind" not in doc["psa"]:
            options = ", ".join(f'"{k}"' for k in PSA_KINDS)
            self.fail(_key("psa", "kind"), f"missing (one of {options})")
            return None
        kind = self.kind("psa", values, PSA_KINDS)
        if kind is None:
            return None
        complete = self.require("psa", kind, doc["psa"], values)
        base_url = values.get("base_url")
        suffix, example = _PSA_URL_SUFFIX[kind]
        if base_url and not base_url.lower().endswith(suffix):
            self.fail(
                _key("psa", "base_url"),
                f'expected a URL ending in "{suffix}" (like {example}), got {_quote(base_url)}',
            )
            complete = False
        numbering = values.get("invoice_numbering")
        if numbering is not None and numbering not in INVOICE_NUMBERINGS:
            options = " or ".join(f'"{n}"' for n in INVOICE_NUMBERINGS)
            self.fail(_key("psa", "invoice_numbering"),
                      f"expected {options}, got {_quote(numbering)}")
            complete = False
        client_id = values.get("client_id")
        if client_id is not None and not _is_guid(client_id):
            self.fail(
                _key("psa", "client_id"),
                "expected a GUID like 00000000-0000-0000-0000-000000000000 "
                f"(from developer.connectwise.com), got {_quote(client_id)}",
            )
            complete = False
        if not complete:
            return None
        return PsaConfig(**values)

    def portal(self, doc: Mapping[str, Any]) -> PortalConfig:
        values = self.section(doc, "portal") or {}
        level = values.get("client_admin_security_level")
        if level is not None and not 1 <= level <= 6:
            self.fail(
                _key("portal", "client_admin_security_level"),
                f"expected an integer from 1 to 6, got {level}",
            )
            return PortalConfig()
        return PortalConfig(**values)

    def sync(self, doc: Mapping[str, Any]) -> SyncConfig:
        values = self.section(doc, "sync") or {}
        percent = values.get("max_delete_percent")
        if percent is not None and not 0 <= percent <= 100:
            self.fail(_key("sync", "max_delete_percent"),
                      f"expected an integer from 0 to 100, got {percent}")
            values.pop("max_delete_percent")
        return SyncConfig(**values)


def _parse_ymd(text: str) -> date | None:
    """A real calendar date written exactly YYYY-MM-DD, else None.

    date.fromisoformat alone would also take 20260101 and 2026-W01-1.
    """
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


_GUID = re.compile(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")


def _is_guid(text: str) -> bool:
    return _GUID.fullmatch(text) is not None


# --------------------------------------------------------------------------- public API


def parse_config(data: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate an already-parsed TOML document; *path* is only used in messages.

    Raises ConfigError (the first problem; ``.errors`` has all of them).
    """
    return _Parser(path).document(data)


def default_config_path() -> Path:
    """Where recon-tui looks for, and a settings screen should save, the user's config."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def resolve_config_path(
    cli_path: str | None, environ: Mapping[str, str] = os.environ
) -> Path | None:
    """Pick the config file: ``--config``, then ``$RECON_TUI_CONFIG``, then the user config dir.

    None means no file anywhere, i.e. demo mode. A path the user named
    explicitly must exist, since silently falling back to demo data would hide
    a typo.
    """
    for named, origin in ((cli_path, "--config"), (environ.get(CONFIG_ENV_VAR), CONFIG_ENV_VAR)):
        if named and named.strip():
            path = Path(named.strip()).expanduser()
            if not path.exists():
                raise ConfigError(path, None, f"file not found (named by {origin})")
            return path
    default = default_config_path()
    return default if default.is_file() else None


def load_config(path: Path | str | None) -> Config:
    """Read and validate the config file; None gives :meth:`Config.default` (demo mode)."""
    if path is None:
        return Config.default()
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found") from None
    except IsADirectoryError:
        raise ConfigError(path, None, "is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(path, None, "permission denied: cannot read the file") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: tolerate the byte-order mark some Windows editors add.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            path, None, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line})"
        ) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"invalid TOML: {exc}") from None
    if not doc:
        # An empty file is a failed save or a full disk far more often than a wish
        # for the demo; running the demo would sync demo data into the real cache.
        raise ConfigError(path, None, "the file is empty (a failed save?); fill it in from "
                          "config.example.toml, or remove it to run the demo")
    return parse_config(doc, path)


def config_to_dict(config: Config) -> dict[str, Any]:
    """The TOML document for *config*; secrets in their stored form (inline or ``env:VAR``).

    Meant for :func:`save_config` only: the result holds secret values.
    """
    out: dict[str, Any] = {}
    for name in ("ledger", "psa"):
        section = getattr(config, name)
        if section is not None:
            out[name] = _section_dict(section, lambda s: s.stored_form())
    out["portal"] = {"client_admin_security_level": config.portal.client_admin_security_level}
    sync: dict[str, Any] = {}
    if config.sync.default_since is not None:
        sync["default_since"] = config.sync.default_since
    if config.sync.max_delete_percent != SyncConfig.max_delete_percent:
        sync["max_delete_percent"] = config.sync.max_delete_percent
    if sync:
        out["sync"] = sync
    return out


def _section_dict(section: object, secret: Callable[[Secret], str]) -> dict[str, Any]:
    """Fields of a section dataclass, None dropped, kind first, secrets mapped by *secret*."""
    out: dict[str, Any] = {}
    fields = sorted(dataclasses.fields(cast(Any, section)), key=lambda f: f.name != "kind")
    for f in fields:
        value = getattr(section, f.name)
        if value is None:
            continue
        out[f.name] = secret(value) if isinstance(value, Secret) else value
    return out


def save_config(config: Config, path: Path | str) -> None:
    """Write *config* to *path* atomically with mode 0600.

    The config is validated first, so a file that would not load is never
    written. A temp file in the same directory is fsynced and renamed over the
    target, so a crash leaves the old file or the new one, never half of one
    (this matters when it holds a freshly rotated QBO refresh token). Comments
    in an existing file are not preserved.
    """
    path = Path(path).expanduser()
    if path.is_symlink():
        path = path.resolve()  # keep a dotfiles symlink pointing at the real file
    doc = config_to_dict(config)
    parse_config(doc, path)
    payload = tomli_w.dumps(doc).encode("utf-8")
    try:
        write_private_file(path, payload)
    except OSError as exc:
        raise ConfigError(path, None, f"cannot write the file: {exc.strerror or exc}") from None


def redacted_summary(config: Config) -> dict[str, dict[str, str]]:
    """What a settings screen may show: every value as text, secrets masked.

    Inline secrets become ``********``; env references are shown (``env:QBO_SECRET``)
    because naming a variable reveals nothing. Unconfigured sections are empty.
    """
    summary: dict[str, dict[str, str]] = {
        "config": {
            "path": str(config.path) if config.path is not None else "(none)",
            "mode": "demo" if config.is_demo else "live",
        }
    }
    for name in ("ledger", "psa"):
        section = getattr(config, name)
        values = _section_dict(section, lambda s: s.display) if section is not None else {}
        summary[name] = {k: _text(v) for k, v in values.items()}
    summary["portal"] = {
        "client_admin_security_level": str(config.portal.client_admin_security_level)
    }
    return summary


def _text(value: object) -> str:
    """A value as a screen shows it; booleans the way TOML spells them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date) else str(value)


def _secrets(config: Config) -> Iterator[Secret]:
    for section in (config.ledger, config.psa):
        if section is None:
            continue
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if isinstance(value, Secret):
                yield value


def unresolved_secrets(
    config: Config, environ: Mapping[str, str] | None = None
) -> list[ConfigError]:
    """Every ``env:`` secret whose variable is missing, for a pre-flight check before a sync."""
    problems: list[ConfigError] = []
    for secret in _secrets(config):
        try:
            secret.reveal(environ)
        except ConfigError as exc:
            problems.append(exc)
    return problems


# --------------------------------------------------------------------------- settings edits
#: What the settings screen may edit, per section; secrets are never editable there.
EDITABLE_KEYS: dict[str, tuple[str, ...]] = {
    "portal": ("client_admin_security_level",),
    "ledger": ("base_url", "token_url", "realm_id", "client_id", "minor_version",
               "allow_writes"),
    "psa": ("base_url", "company_id", "public_key", "client_id", "username", "allow_writes"),
}
_INTEGER_KEYS = frozenset({"client_admin_security_level", "minor_version"})
#: Edited as a switch (the text "true" or "false" here).
BOOLEAN_KEYS = frozenset({"allow_writes"})


def editable_values(config: Config) -> dict[str, dict[str, str]]:
    """Current values of the editable keys, as text, for present sections only."""
    doc = config_to_dict(config)
    out: dict[str, dict[str, str]] = {}
    for section, keys in EDITABLE_KEYS.items():
        if section not in doc:
            continue
        values = {k: doc[section][k] for k in keys if k in doc[section]}
        out[section] = {k: _text(v) for k, v in values.items()}
    return out


def with_edits(config: Config, edits: Mapping[str, Mapping[str, str]]) -> Config:
    """A new Config with the edited values, validated exactly like a file (one
    ConfigError line naming the key on a bad value). Secrets keep their stored form."""
    doc = config_to_dict(config)
    for section, values in edits.items():
        for key, text in values.items():
            if key not in EDITABLE_KEYS.get(section, ()) or section not in doc:
                raise ConfigError(config.path, _key(section, key), "not editable here")
            text = text.strip()
            if key in _INTEGER_KEYS:
                try:
                    doc[section][key] = int(text)
                except ValueError:
                    doc[section][key] = text  # the parser reports the wrong type
            elif key in BOOLEAN_KEYS:
                flag = {"true": True, "false": False}.get(text.casefold())
                doc[section][key] = text if flag is None else flag
            elif text == "" and key != "client_admin_security_level":
                doc[section].pop(key, None)
            else:
                doc[section][key] = text
    return parse_config(doc, config.path)
