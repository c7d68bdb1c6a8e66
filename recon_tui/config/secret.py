"""A credential that cannot leak by being printed, pickled or compared in the open."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recon_tui.config.errors import ConfigError
from recon_tui.scrub import register as register_secret

MASK = "********"
ENV_PREFIX = "env:"
KEYRING_PREFIX = "keyring:"  # same as recon_tui.secret_store.KEYRING_PREFIX

class Secret:
    """A credential that cannot leak by being printed.

    Holds an inline value, an ``env:VAR_NAME`` reference or a
    ``keyring:SERVICE/NAME`` reference (an OS keyring entry, see
    :mod:`recon_tui.secret_store`). ``str``, ``repr`` and f-strings all give
    ``********``; :meth:`reveal` is the one way to read it, and resolves a
    reference only then, so a missing variable or keyring entry is reported
    when it matters rather than at load time.
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
        import hmac  # here: hmac loads OpenSSL's hashlib (~3 ms), which a launch needs not

        return hmac.compare_digest(self._raw.encode(), other._raw.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._raw))

    # -- safe metadata
    @property
    def env_var(self) -> str | None:
        """The environment variable named by an ``env:`` reference, else None."""
        if self._raw.startswith(ENV_PREFIX):
            return self._raw[len(ENV_PREFIX) :]
        return None

    @property
    def keyring_ref(self) -> str | None:
        """The ``keyring:SERVICE/NAME`` reference, else None (names an entry, not a value)."""
        return self._raw if self._raw.startswith(KEYRING_PREFIX) else None

    @property
    def source(self) -> str:
        """``"inline"``, ``"env:VAR_NAME"`` or ``"keyring:SERVICE/NAME"``: where the
        value comes from, safe to show."""
        var = self.env_var
        if var is not None:
            return f"{ENV_PREFIX}{var}"
        return self.keyring_ref or "inline"

    @property
    def is_set(self) -> bool:
        """True when something was configured (an env reference counts)."""
        return bool(self._raw)

    @property
    def display(self) -> str:
        """What a UI may show: the env or keyring reference, or the mask for an inline value."""
        return self.source if self.source != "inline" else MASK

    def stored_form(self) -> str:
        """The value as written in the file (inline value or a reference), for saving."""
        return self._raw

    def reveal(self, environ: Mapping[str, str] | None = None) -> str:
        """Return the secret's value, reading ``env:`` references from *environ*
        and ``keyring:`` references from the OS keyring.

        Raises ConfigError naming the key and the variable or keyring entry
        (never a value) when it is unset, empty or cannot be read.
        """
        ref = self.keyring_ref
        if ref is not None:
            return self._reveal_keyring(ref)
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

    def _reveal_keyring(self, ref: str) -> str:
        # Imported here: the keyring library is only loaded when a reference is used.
        from recon_tui.secret_store import KeyringUnavailable, parse_reference, read_secret

        parsed = parse_reference(ref)
        if parsed is None:
            raise ConfigError(self._file, self._key,
                              f'"{ref}" is not a keyring reference "keyring:SERVICE/NAME"')
        try:
            value = read_secret(*parsed)
        except KeyringUnavailable as exc:
            raise ConfigError(self._file, self._key, f"cannot read {ref}: {exc}") from None
        if value is None:
            raise ConfigError(self._file, self._key,
                              f"{ref} is not in the OS keyring (run recon-tui connect again, "
                              "or put the value in the file)")
        return value
