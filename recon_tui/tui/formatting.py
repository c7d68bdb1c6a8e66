"""Display helpers for the TUI: every data string becomes a literal ``Text``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from rich.text import Text

from recon_tui.money import format_money
from recon_tui.sync import SyncProgress


def literal(value: object) -> Text:
    """Customer names like ``[bold]ACME`` or ``Foo [/]`` must show as typed."""
    return Text("" if value is None else str(value))


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
    return (f"{verb} {progress.system} {progress.step} "
            f"({progress.step_index + 1}/{progress.step_count}) {progress.fetched:,} records")
