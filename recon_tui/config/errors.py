"""The one error type of the config layer: a problem a user can fix from one line."""

from __future__ import annotations

from pathlib import Path


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


def config_key(section: str, name: str | None = None) -> str:
    """Spell a key the way errors show it: ``[ledger] realm_id``."""
    return f"[{section}] {name}" if name else f"[{section}]"
