"""Display helpers for the TUI: every data string becomes a literal, printable ``Text``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.text import Text

from recon_tui.money import format_money
from recon_tui.text import printable
from recon_tui.wording import counted

if TYPE_CHECKING:  # the sync engine is not imported at launch
    from recon_tui.sync import SyncProgress


def literal(value: object, style: str = "") -> Text:
    """Customer names like ``[bold]ACME`` or ``Foo [/]`` must show as typed, and one
    holding an escape sequence must show it, not send it to the terminal."""
    return Text(printable(value), style=style)


def money(amount: Decimal | None, *, signed: bool = False, colour: bool = False) -> Text:
    """Right-aligned money; differences coloured when asked (red short, green over)."""
    if amount is None:
        return Text("")
    text = Text(format_money(amount, signed=signed))
    if colour and amount != 0:
        text.stylize("bold red" if amount < 0 else "bold yellow")
    return text


def when(moment: datetime | None) -> str:
    """Local time, minute precision; 'never' for a system not yet synced."""
    if moment is None:
        return "never"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def progress_text(progress: SyncProgress) -> str:
    """'reading ledger invoices (5/7) 1,250 records'."""
    verb = {"fetch": "reading", "apply": "writing", "done": "done"}[progress.phase]
    return (f"{verb} {printable(progress.system)} {printable(progress.step)} "
            f"({progress.step_index + 1}/{progress.step_count}) "
            f"{counted(progress.fetched, 'record')}")
