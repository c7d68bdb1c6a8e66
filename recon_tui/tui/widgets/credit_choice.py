"""Step 2 of a credit checklist on screen: the customer's open invoices as the
cache holds them since the last sync (the oldest preselected: QuickBooks applies a
credit to the oldest open invoice when its "Automatically apply credits" setting
is on) and the amount to apply to the one under the cursor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from recon_tui.cache import Cache
from recon_tui.models import ChecklistState, CreditChecklist, LedgerInvoice
from recon_tui.tui.formatting import literal, money
from recon_tui.tui.widgets.virtual_table import Column, TableRow, VirtualTable
from recon_tui.workflows import credit_checklist as wf
from recon_tui.workflows.credit_checklist import ChecklistError
from recon_tui.workflows.credit_steps import default_amount, default_invoice

#: A step of the checklist, run by the screen's worker on its own cache connection.
Job = Callable[[Cache], CreditChecklist | None]

INVOICE_COLUMNS = (
    Column("date", "Date", 10),
    Column("number", "Invoice #", 10),
    Column("total", "Total", 11, align="right"),
    Column("balance", "Balance", 11, align="right"),
    Column("note", "", 24, flex=True),
)


class _Rows:
    """A keyed row list refilled in place, so ``VirtualTable.reload`` keeps the cursor
    on the same invoice (and the amount being typed for it)."""

    def __init__(self) -> None:
        self._rows: list[TableRow] = []
        self._index: dict[str, int] = {}

    def replace(self, rows: Sequence[TableRow]) -> None:
        self._rows = list(rows)
        self._index = {row.key: i for i, row in enumerate(self._rows)}

    def count(self) -> int:
        return len(self._rows)

    def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
        return self._rows[offset:offset + limit]

    def index_of(self, key: str) -> int | None:
        return self._index.get(key)


class InvoicePicker(VirtualTable):
    """The customer's open invoices: Enter moves to the amount."""

    BINDINGS: ClassVar = [Binding("enter", "select_cursor", "Amount", id="checklist_pick")]


class CreditChoice(Vertical):
    """The invoice table and the amount field; the screen reacts to their events
    (row highlighted or selected, amount changed or submitted)."""

    DEFAULT_CSS = """
    CreditChoice { width: 72; }
    CreditChoice #checklist-invoices { height: 1fr; }
    CreditChoice #amount-row { height: 3; }
    CreditChoice #amount-label { width: auto; padding: 1 1 0 1; }
    CreditChoice #checklist-amount { width: 16; }
    CreditChoice #amount-error { width: 1fr; padding: 1 1 0 1; color: $text-error; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._rows = _Rows()
        self.invoices: list[LedgerInvoice] = []

    def compose(self) -> ComposeResult:
        yield InvoicePicker(INVOICE_COLUMNS, id="checklist-invoices",
                            empty_text="No open invoices")
        with Horizontal(id="amount-row"):
            yield Static("Amount", id="amount-label")
            yield Input(id="checklist-amount", placeholder="0.00")
            yield Static(id="amount-error")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#checklist-invoices", VirtualTable)

    @property
    def amount(self) -> Input:
        return self.query_one("#checklist-amount", Input)

    def show(self, checklist: CreditChecklist, invoices: list[LedgerInvoice], credit: Decimal,
             *, reset: bool, choosing: bool) -> None:
        """Fresh rows; on the first draw the cursor goes to the chosen invoice (else
        the oldest open one) and the amount follows it."""
        self.invoices = invoices
        default = default_invoice(invoices)
        rows = []
        for invoice in invoices:
            note = Text()
            if default is not None and invoice.id == default.id:
                note.append("oldest open at last sync", style="italic")
            if invoice.id == checklist.invoice_id:
                note.append("  chosen" if note else "chosen", style="bold")
            rows.append(TableRow(key=invoice.id, cells=(
                Text(invoice.date.isoformat()), literal(invoice.doc_number), money(invoice.total),
                money(invoice.balance), note)))
        self._rows.replace(rows)
        if not reset:
            # Same table, fresh rows: the cursor (and an amount being typed) stay put.
            self.table.reload()
            return
        self.table.set_source(self._rows)
        target = checklist.invoice_id or (default.id if default else None)
        index = next((i for i, inv in enumerate(invoices) if inv.id == target), 0)
        self.table.move_cursor(index)
        self.fill_amount(checklist, invoices[index] if invoices else None, credit,
                         choosing=choosing)

    def fill_amount(self, checklist: CreditChecklist, invoice: LedgerInvoice | None,
                    credit: Decimal, *, choosing: bool) -> None:
        """The chosen amount for the chosen invoice, else min(credit, balance)."""
        if invoice is None or not choosing:
            if checklist.amount is not None:
                self.amount.value = f"{checklist.amount:.2f}"
            return
        if invoice.id == checklist.invoice_id and checklist.amount is not None:
            value = checklist.amount
        else:
            value = default_amount(credit, invoice.balance)
        self.amount.value = f"{value:.2f}"
        self.set_error("")

    def invoice_for(self, key: str) -> LedgerInvoice | None:
        return next((i for i in self.invoices if i.id == key), None)

    def selection(self) -> tuple[LedgerInvoice | None, str]:
        """The invoice under the cursor and the amount as typed."""
        row = self.table.current_row
        return (self.invoice_for(row.key) if row else None), self.amount.value

    def set_error(self, message: str) -> None:
        self.query_one("#amount-error", Static).update(literal(message))

    def set_enabled(self, enabled: bool) -> None:
        self.table.disabled = not enabled
        self.amount.disabled = not enabled

    def choose_job(self, checklist: CreditChecklist, credit: Decimal) -> Job | str:
        """Step 2 from what is on screen, or why the choice cannot be saved (the
        amount is checked against the credit left and the invoice's balance);
        a choice already saved is not saved again."""
        invoice, amount_text = self.selection()
        if invoice is None:
            return "There is no open invoice to apply the credit to."
        try:
            amount = wf.parse_amount(amount_text, credit_remaining=credit,
                                     invoice_balance=invoice.balance,
                                     invoice_number=invoice.doc_number)
        except ChecklistError as exc:
            return str(exc)
        self.set_error("")
        checklist_id = checklist.id
        if (checklist.state is ChecklistState.READY_TO_APPLY and checklist.invoice_id == invoice.id
                and checklist.amount == amount):
            return lambda cache: None
        return lambda cache: wf.choose_target(cache, checklist_id, invoice.id, amount_text)
