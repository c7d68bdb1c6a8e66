"""Keep a credential in the OS keyring when there is one, else in the 0600 config file.

``recon-tui connect`` asks :func:`stash_secret` where a freshly entered
secret should go and writes the returned *stored form* into the config:
``keyring:recon-tui/<name>`` when an OS keyring backend is usable (macOS
Keychain, Windows Credential Locker, the freedesktop Secret Service), else the
value itself, which then lives inline in the mode-0600 config file as before.
:class:`recon_tui.config.Secret` resolves a ``keyring:`` reference only when a
connector reveals it, through :func:`read_secret`.

"Usable" means the ``keyring`` library picked a real backend: its ``fail`` and
``null`` backends, an empty chain, and ``keyrings.alt``'s plaintext file (no
safer than the 0600 config, and not an OS keyring, so saying so would mislead)
count as none, and so does any ``keyring.errors.KeyringError`` while storing.
A stored entry is read back before its reference is handed out, so a backend
that accepts and drops a value never leaves a config pointing at nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from recon_tui import scrub
from recon_tui.config.schema import SCHEMA

SERVICE = "recon-tui"
KEYRING_PREFIX = "keyring:"
WHERE_KEYRING = "OS keyring"
WHERE_FILE = "config file (0600)"

# A name part: no whitespace, no control characters, nothing a shell or a
# keyring UI would mangle; "/" separates the parts of a name.
_PART = re.compile(r"[A-Za-z0-9._@:+-]+")
_REFUSED_BACKENDS = frozenset({
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
    "keyrings.alt.file.PlaintextKeyring",
})


#: Values read or stored this run, per backend: a connector reveals its key on
#: every request, and the Secret Service backend opens a D-Bus connection per
#: read. Same process memory an inline secret lives in anyway.
_CACHE: dict[tuple[str, str], tuple[object, str]] = {}


class KeyringUnavailable(Exception):
    """No usable OS keyring backend (the message names why, never a value)."""


@dataclass(frozen=True, slots=True)
class StashResult:
    """Where a secret went: ``stored_form`` goes into the config, ``where`` to the user.

    ``stored_form`` is the secret itself when ``where`` is the config file, so
    ``repr`` masks it.
    """

    stored_form: str
    where: str

    @property
    def in_keyring(self) -> bool:
        return self.where == WHERE_KEYRING

    def __repr__(self) -> str:
        shown = self.stored_form if self.in_keyring else "********"
        return f"StashResult(stored_form={shown!r}, where={self.where!r})"


def entry_name(account: str, key: str) -> str:
    """``<account>/<key>``, e.g. ``qbo/9130355377388446/client_secret``.

    *account* names the remote account the config points at (``qbo/<realm_id>``,
    ``connectwise/<host>/<company_id>``, ``autotask/<username>``), so two configs
    for different accounts never overwrite each other's entries. Raises
    ValueError for a part that is empty or has spaces or odd characters.
    """
    parts = [*account.split("/"), key]
    for part in parts:
        if not _PART.fullmatch(part):
            raise ValueError(
                f"keyring entry names take letters, digits and ._@:+- only, got {part!r}")
    return "/".join(parts)


def keyring_reference(name: str, service: str = SERVICE) -> str:
    """The stored form of an entry: ``keyring:<service>/<name>``."""
    return f"{KEYRING_PREFIX}{service}/{name}"


def parse_reference(text: str) -> tuple[str, str] | None:
    """``(service, name)`` of a well-formed ``keyring:SERVICE/NAME``, else None."""
    if not text.startswith(KEYRING_PREFIX):
        return None
    service, sep, name = text[len(KEYRING_PREFIX):].partition("/")
    if not sep or not _PART.fullmatch(service):
        return None
    if not all(_PART.fullmatch(part) for part in name.split("/")):
        return None
    return service, name


def usable_backend() -> Any | None:
    """The keyring library's chosen backend if it is a real one, else None."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except KeyringError:
        return None
    cls = type(backend)
    if f"{cls.__module__}.{cls.__qualname__}" in _REFUSED_BACKENDS:
        return None
    if isinstance(backend, ChainerBackend) and not backend.backends:
        return None
    return backend


def read_secret(service: str, name: str) -> str | None:
    """The stored value (registered with the scrubber), or None when there is no entry.

    Raises KeyringUnavailable when there is no usable backend or it fails.
    """
    backend = usable_backend()
    if backend is None:
        raise KeyringUnavailable("no OS keyring is available on this machine")
    cached = _CACHE.get((service, name))
    if cached is not None and cached[0] is backend:
        return cached[1]
    from keyring.errors import KeyringError

    try:
        value = backend.get_password(service, name)
    except KeyringError as exc:
        raise KeyringUnavailable(f"the OS keyring refused the read ({type(exc).__name__})") \
            from None
    if value is None or not value.strip():
        return None
    value = value.strip()
    scrub.register(value)
    _CACHE[(service, name)] = (backend, value)
    return value


def stash_secret(section: str, key: str, value: str, *, account: str) -> StashResult:
    """Store *value* for ``[section] key`` in the OS keyring if there is one.

    Returns what to write into the config and where the value went; without a
    usable keyring the stored form is the value itself (the config file is
    mode 0600). ``[section] key`` must be a secret key of the config schema
    (the account, not the section, goes into the entry name). Raises
    ValueError for an empty value, a key that is not a secret, or a bad name.
    """
    spec = SCHEMA.get(section, {}).get(key)
    if spec is None or spec.kind != "secret":
        raise ValueError(f"[{section}] {key} is not a secret key of the config")
    if not value or not value.strip():
        raise ValueError("a secret must not be empty")
    value = value.strip()
    scrub.register(value)
    name = entry_name(account, key)
    backend = usable_backend()
    if backend is not None:
        from keyring.errors import KeyringError

        try:
            backend.set_password(SERVICE, name, value)
            if backend.get_password(SERVICE, name) == value:
                _CACHE[(SERVICE, name)] = (backend, value)
                return StashResult(keyring_reference(name), WHERE_KEYRING)
        except (KeyringError, OSError):
            pass
    _CACHE.pop((SERVICE, name), None)
    return StashResult(value, WHERE_FILE)
