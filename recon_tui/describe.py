"""Plain-text descriptions of syncs and resyncs, shared by the CLI and the TUI.

Every string from the data (invoice numbers, names in change labels, old and new
values, errors) passes through :func:`~recon_tui.text.printable`, so these lines
are safe to print to a terminal as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from recon_tui.cache import Change, PairRow
from recon_tui.cache.records import USED_UP
from recon_tui.models import SyncRun
from recon_tui.money import format_money
from recon_tui.run_status import status_label
from recon_tui.text import printable
from recon_tui.wording import counted

if TYPE_CHECKING:
    from recon_tui.resync import ResyncResult


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def run_title(run: SyncRun) -> str:
    what = {"full": "full sync", "demo": "demo load",
            "resync": "resync"}.get(run.kind, printable(run.kind))
    if run.kind == "resync" and run.target:
        what += f" of {printable(run.target)}"
    elif run.since:
        what += f" since {run.since.isoformat()}"
    elif run.kind == "full":
        what += " of everything"
    return what


def duration(run: SyncRun) -> str:
    if run.started_at and run.finished_at:
        return f"{(run.finished_at - run.started_at).total_seconds():.1f}s"
    return ""


def run_line(run: SyncRun) -> str:
    """One line per run for `recon-tui history`."""
    counts = sum(s.created + s.updated + s.deleted for s in run.steps)
    tail = (f" — {printable(run.error)}" if run.error
            else f" — {counted(counts, 'record')} changed")
    return (f"#{run.id:<5} {_when(run.started_at)}  {status_label(run):<9} "
            f"{run_title(run)} {duration(run)}{tail}")


def change_line(change: Change) -> str:
    """'ledger invoice 10040: balance 120.00 -> 110.00'; a credit used up reads
    'credit CreditMemo:11261: used up (applied): amount 10.00 -> 0.00', never
    'deleted' (that is for a credit memo or payment deleted in the ledger)."""
    return f"{change_record(change)}: {change_detail(change)}"


def change_record(change: Change) -> str:
    """The record a change is of: 'ledger invoice 10040'."""
    return f"{printable(change.record_type)} {printable(change.label)}"


def change_detail(change: Change) -> str:
    """What changed on it: 'balance 120.00 -> 110.00', 'created', 'deleted'."""
    if change.action in ("updated", USED_UP):
        verb = "used up (applied): " if change.action == USED_UP else ""
        return (f"{verb}{printable(change.field)} "
                f"{printable(change.old) if change.old is not None else '—'} -> "
                f"{printable(change.new) if change.new is not None else '—'}")
    return printable(change.action)


def describe_run(run: SyncRun, changes: Sequence[Change]) -> str:
    lines = [run_line(run), ""]
    for step in run.steps:
        error = f"  error: {printable(step.error)}" if step.error else ""
        lines.append(f"  {printable(step.system):<6} {printable(step.name):<17} "
                     f"{step.status.value:<9} "
                     f"{step.created:>6} new {step.updated:>6} updated {step.unchanged:>7} "
                     f"unchanged {step.deleted:>5} deleted{error}")
    lines.append("")
    lines.append(f"changes ({len(changes):,}):" if changes else "no records changed")
    lines.extend(f"  {change_line(c)}" for c in changes)
    return "\n".join(lines)


def pair_line(row: PairRow) -> str:
    def amount(value: Decimal | None) -> str:
        return format_money(value) if value is not None else "—"

    return (f"{row.status.value}: PSA {printable(row.psa_number) or '—'} total "
            f"{amount(row.psa_total)} owing {amount(row.psa_owing)} | ledger "
            f"{printable(row.ledger_number) or '—'} total "
            f"{amount(row.ledger_total)} balance {amount(row.ledger_owing)} | "
            f"difference owing {format_money(row.difference_owing)}")


def describe_resync(result: ResyncResult) -> str:
    lines = [f"resync {printable(result.number)}: "
             + ("changed" if result.changed else "already up to date")]
    lines.append("before:")
    lines.extend(f"  {pair_line(r)}" for r in result.before or [])
    if not result.before:
        lines.append("  (not in the cache)")
    lines.append("after:")
    lines.extend(f"  {pair_line(r)}" for r in result.after or [])
    if not result.after:
        lines.append("  (in neither system)")
    if result.changes:
        lines.append("changes:")
        lines.extend(f"  {change_line(c)}" for c in result.changes)
    return "\n".join(lines)
