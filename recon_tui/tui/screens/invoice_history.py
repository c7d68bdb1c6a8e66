"""One invoice's history in both systems, side by side: where they part, why,
and the key that starts the fix.

PSA left, ledger right (stacked below ~100 columns): issued, every payment and
credit with its date, amount and id, removed ones struck through with how and
when, the running balance after each step, and the first point where the two
balances part. Below, the diagnosis of the row as the cache has it now.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from recon_tui.cache import PairRow
from recon_tui.diagnosis import Diagnosis, FixKind
from recon_tui.models import DocKind
from recon_tui.money import format_money
from recon_tui.row_diagnosis import diagnose_row, row_facts
from recon_tui.text import printable
from recon_tui.transactions import Side
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import ReconScreenMixin
from recon_tui.tui.timeline import (
    Event,
    InvoiceHistory,
    Timeline,
    aligned_days,
    invoice_history,
    side_timeline,
)
from recon_tui.tui.widgets.key_footer import KeyFooter

#: Below this width the two timelines stack (PSA above the ledger).
SIDE_BY_SIDE_MIN = 100
PARTS_MARK = "◀ sides part here"
def _side_title(system: str, side: Side) -> str:
    plain = "PSA" if side is Side.PSA else "Ledger"
    return plain if system in ("the PSA", "the ledger") else f"{plain} · {system}"


def _event_cells(event: Event) -> tuple[Text, Text, Text, Text]:
    day = Text(event.day.isoformat() if event.day else "—")
    what = Text(printable(event.what))
    if event.detail and not event.reversal:
        what.append(f" {printable(event.detail)}", style="dim")
    amount = Text(format_money(event.change, signed=True))
    if event.removed:  # no longer listed by the system: struck, with how and when
        what.stylize("strike dim")
        amount.stylize("strike dim")
        what.append(f"\nremoved: {printable(event.removed)}", style="italic yellow")
    elif event.reversal:
        what.stylize("yellow")
        what.append(f" ({printable(event.detail)})", style="dim")
    if event.parts:
        what.append(f"  {PARTS_MARK}", style="bold reverse red")
    return day, what, amount, Text(format_money(event.balance), style="bold")


def timeline_table(timeline: Timeline, state: str) -> Table:
    """One side as a table of plain Text cells (ids and names never parse as markup)."""
    title = Text(f"{_side_title(timeline.system, timeline.side)} · ", style="bold")
    title.append(printable(timeline.number or "(no number)"), style="bold")
    if state:
        title.append(f" · {printable(state)}", style="bold")
    title.append(f" · balance {format_money(timeline.balance_now)}", style="bold")
    table = Table(title=title, title_justify="left", expand=True, show_edge=False,
                  pad_edge=False, header_style="bold")
    table.add_column("Date", no_wrap=True, width=10)
    table.add_column("Event", ratio=1)
    table.add_column("Amount", justify="right", no_wrap=True)
    table.add_column("Balance", justify="right", no_wrap=True)
    for event in timeline.events:
        table.add_row(*_event_cells(event), style="on dark_red" if event.parts else "")
    if not timeline.itemised:
        table.caption = Text(f"{printable(timeline.system)}'s payments of this invoice are "
                             "not in the cache: a sync reads them where the totals agree "
                             "and the balances differ; a resync (r) reads them now", style="dim")
        table.caption_justify = "left"
    return table


def diagnosis_text(diagnosis: Diagnosis | None) -> Text:
    """Cause, what it means, the evidence, the fix and the keys."""
    if diagnosis is None:
        return Text("The two sides agree on this invoice: nothing to fix.   "
                    "r resyncs it · Esc goes back", style="green")
    text = Text("Cause: ", style="bold")
    text.append(diagnosis.cause.value, style="bold yellow")
    text.append(f" — {diagnosis.cause.meaning}\n", style="dim")
    text.append(printable(diagnosis.summary) + "\n")
    for line in diagnosis.evidence:
        text.append(f"  • {printable(line)}\n")
    if diagnosis.fix_text:
        text.append("Fix: ", style="bold")
        text.append(printable(diagnosis.fix_text))
        amount = format_money(diagnosis.amount) if diagnosis.amount is not None else ""
        if amount and diagnosis.fix is not FixKind.NONE and amount not in diagnosis.fix_text:
            text.append(f" ({amount})", style="dim")
        text.append("\n")
    keys = []
    if diagnosis.fix is not FixKind.NONE:
        keys.append("f starts the fix")
    keys += ["r resyncs the invoice", "Esc goes back"]
    text.append(" · ".join(keys), style="bold cyan")
    return text


class InvoiceHistoryScreen(ReconScreenMixin, Screen[None]):
    """Both sides' timelines of one invoice row, and its diagnosis."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="history_back"),
        Binding("f", "fix", "Fix", id="history_fix",
                tooltip="Start the guided fix of this invoice's cause"),
        Binding("r", "resync", "Resync", id="history_resync",
                tooltip="Refetch this invoice from both systems"),
    ]

    def __init__(self, pair_id: int) -> None:
        super().__init__()
        self.pair_id = pair_id
        #: The documents of the row: a resync re-inserts it under a new id.
        self._documents: tuple[DocKind, str | None, str | None] | None = None
        self.row: PairRow | None = None
        self.history: InvoiceHistory | None = None
        self.diagnosis: Diagnosis | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="history-title")
        # Where the sides part stays in view above the scrolling timelines.
        yield Static(id="history-parting")
        with VerticalScroll(id="history-body"):
            with Container(id="timelines"):
                yield Static(id="psa-timeline", classes="timeline")
                yield Static(id="ledger-timeline", classes="timeline")
            yield Static(id="history-diagnosis")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._layout(self.app.size.width)
        self.load()
        self.query_one("#history-body", VerticalScroll).focus()

    def on_resize(self, event: events.Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        self.query_one("#timelines", Container).set_class(width < SIDE_BY_SIDE_MIN, "stacked")

    def _find_row(self) -> PairRow | None:
        row = self.cache.recon.pair_row(self.pair_id)
        if self._documents is not None and (
                row is None or (row.kind, row.psa_invoice_id, row.ledger_invoice_id)
                != self._documents):
            found = self.cache.lookup.pair_id_for(*self._documents)
            row = self.cache.recon.pair_row(found) if found is not None else None
        return row

    def load(self) -> None:
        row = self._find_row()
        self.row = row
        if row is None:
            self.query_one("#history-title", Static).update(Text(
                "This invoice row is no longer in the cache (a sync changed it). "
                "Esc goes back.", style="bold red"))
            for widget_id in ("#psa-timeline", "#ledger-timeline", "#history-parting",
                              "#history-diagnosis"):
                self.query_one(widget_id, Static).update("")
            return
        self.pair_id = row.pair_id
        self._documents = (row.kind, row.psa_invoice_id, row.ledger_invoice_id)
        facts = row_facts(self.cache, row)
        psa = ledger = None
        aligned = aligned_days(facts.psa_txns, facts.ledger_txns)
        if facts.psa is not None:
            psa = side_timeline(Side.PSA, facts.psa_name, facts.psa, facts.psa_txns,
                                itemised=facts.psa_txns_known, aligned=aligned)
        if facts.ledger is not None:
            ledger = side_timeline(Side.LEDGER, facts.ledger_name, facts.ledger,
                                   facts.ledger_txns, itemised=True, aligned=aligned)
        self.history = invoice_history(psa, ledger)
        self.diagnosis = diagnose_row(self.cache, row)
        self.query_one("#history-title", Static).update(self._title(row))
        psa_state = row.psa_status or ""
        ledger = facts.ledger
        ledger_state = ("voided" if ledger and ledger.voided else
                        "paid" if ledger and ledger.total and not ledger.owing else "open")
        self._show_side("#psa-timeline", self.history.psa, psa_state, facts.psa_name)
        self._show_side("#ledger-timeline", self.history.ledger, ledger_state,
                        facts.ledger_name)
        parting = Text(self.history.parting,
                       style="bold red" if self.history.parted else "green")
        self.query_one("#history-parting", Static).update(parting)
        self.query_one("#history-diagnosis", Static).update(
            diagnosis_text(self.diagnosis))

    def _show_side(self, widget_id: str, timeline: Timeline | None, state: str,
                   system: str) -> None:
        widget = self.query_one(widget_id, Static)
        if timeline is not None:
            widget.update(timeline_table(timeline, state))
            return
        side = Side.PSA if widget_id == "#psa-timeline" else Side.LEDGER
        text = Text(_side_title(system, side), style="bold")
        text.append(f"\nNo copy of this invoice in {printable(system)}.", style="italic")
        widget.update(text)

    def _title(self, row: PairRow) -> Text:
        summary = self.cache.recon.client(row.client_key)
        what = "Credit memo" if row.kind is DocKind.CREDIT_MEMO else "Invoice"
        text = Text(f"{what} ", style="bold")
        text.append(printable(row.psa_number or row.ledger_number or "(no number)"),
                    style="bold")
        text.append(" — ")
        text.append(printable(summary.name if summary else row.client_key), style="bold")
        text.append(f"   {row.status.value}", style="dim")
        if row.difference_total:
            text.append("   Δ total ", style="dim")
            text.append(format_money(row.difference_total), style="bold red")
        if row.difference_owing:
            text.append("   Δ owing ", style="dim")
            text.append(format_money(row.difference_owing), style="bold red")
        if not row.discrepant:
            text.append("   both sides agree", style="green")
        return text

    def on_cache_changed(self, _: CacheChanged) -> None:
        self.load()

    # -- keys
    def action_fix(self) -> None:
        if self.row is None:
            self.notify("This invoice row is no longer in the cache.", severity="warning")
            return
        if self.diagnosis is None or self.diagnosis.fix is FixKind.NONE:
            self.notify("Nothing to fix: the two sides agree on this invoice.")
            return
        self.recon_app.start_fix(self.row.pair_id)

    def action_resync(self) -> None:
        number = self.row and (self.row.psa_number or self.row.ledger_number)
        if not number:
            self.notify("This row has no invoice number to resync.", severity="warning")
            return
        self.recon_app.resync(number)

    def action_back(self) -> None:
        self.app.pop_screen()
