"""Which systems recon-tui may write to, and the one line a screen shows when not.

Reading is always safe; writing to a company's books is not something a reconciling
tool should do unasked. So every fix that can write (the credit checklist's "apply
via the API", the guided fixes) asks a :class:`WritePolicy` first, and when the
answer is no, the by-hand path stays and the screen says how to turn writes on:

* real accounts: off unless the config says ``[ledger] allow_writes = true`` or
  ``[psa] allow_writes = true`` (one switch per system);
* the demo: on, since it writes to the bundled emulator only.

Pure: no I/O, no UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from recon_tui.config import Config, default_config_path

__all__ = ["READ_ONLY", "System", "WritePolicy", "WritesOff", "psa_display_name"]

System = Literal["ledger", "psa"]

_PSA_NAMES = {"connectwise": "ConnectWise", "autotask": "Autotask"}


def psa_display_name(kind: str | None) -> str:
    """'ConnectWise' / 'Autotask' for a PSA kind, as every line names the system."""
    return _PSA_NAMES.get(kind or "", "the PSA")


class WritesOff(PermissionError):
    """A write the config does not allow; ``str()`` is the line a screen shows."""


@dataclass(frozen=True, slots=True)
class WritePolicy:
    """Per-system permission to write, and what to say when it is withheld."""

    ledger: bool
    psa: bool
    #: The file the tech would edit (the default location when none was loaded).
    config_path: Path | None = None
    ledger_name: str = "QuickBooks"
    psa_name: str = "the PSA"
    #: QuickBooks Desktop (``[ledger] kind = "qbd"``): the app never reaches the
    #: company file itself; a write is queued for the next Web Connector poll.
    desktop: bool = False

    @classmethod
    def from_config(cls, config: Config, *, demo: bool) -> WritePolicy:
        """The config's two switches; the demo (``--demo``, or no accounts
        configured at all) writes only to its emulator, so both are on."""
        if demo or config.is_demo:  # the demo's emulator speaks ConnectWise
            return cls(True, True, config.path, psa_name="ConnectWise")
        desktop = getattr(config.ledger, "kind", "qbo") == "qbd"
        return cls(ledger=bool(config.ledger and config.ledger.allow_writes),
                   psa=bool(config.psa and config.psa.allow_writes),
                   config_path=config.path,
                   ledger_name="QuickBooks Desktop" if desktop else "QuickBooks",
                   psa_name=psa_display_name(config.psa.kind if config.psa else None),
                   desktop=desktop)

    def allows(self, system: System) -> bool:
        return self.ledger if system == "ledger" else self.psa

    def name(self, system: System) -> str:
        """'QuickBooks' / 'ConnectWise' / 'Autotask', as the lines name them."""
        return self.ledger_name if system == "ledger" else self.psa_name

    def why_off(self, system: System) -> str:
        """The one line a screen shows beside a greyed-out write, e.g. "writes to
        QuickBooks are off: set [ledger] allow_writes = true in ~/.config/recon-tui/
        config.toml, or do it by hand"."""
        path = self.config_path or default_config_path()
        return (f"writes to {self.name(system)} are off: set [{system}] allow_writes = true "
                f"in {path}, or do it by hand")

    def require(self, system: System) -> None:
        """Raise :class:`WritesOff` (with :meth:`why_off`) unless writes are on."""
        if not self.allows(system):
            raise WritesOff(self.why_off(system))


#: Nothing may be written: what a caller that was given no policy gets.
READ_ONLY = WritePolicy(ledger=False, psa=False)
