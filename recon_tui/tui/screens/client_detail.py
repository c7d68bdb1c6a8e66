"""One client: invoices side by side, organizational credits, portal contacts."""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from recon_tui.models import ClientSummary, DocKind
from recon_tui.money import ZERO, format_money
from recon_tui.text import printable
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import ReconScreenMixin
from recon_tui.tui.screens.checklist import ChecklistScreen, ChecklistTrail
from recon_tui.tui.sources import (
    CONTACT_COLUMNS,
    CREDIT_COLUMNS,
    INVOICE_COLUMNS,
    InvoiceSource,
    can_see_invoices,
    contact_rows,
    credit_rows,
)
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.virtual_table import ListRowSource, VirtualTable
from recon_tui.wording import counted


class PairTable(VirtualTable):
    """An invoices (or credit memos) table: Enter opens the row's history."""

    BINDINGS = [Binding("enter", "select_cursor", "Invoice history", id="invoice_history",
                        tooltip="Both systems' timelines of the invoice under the cursor, "
                                "where they part, the cause and the fix")]


#: The name the app's kept client screen is installed under (``client_screen``).
KEPT_SCREEN = "client-detail"


def client_screen(app: App[object], client_key: str, *, pair_id: int | None = None,
                  credit_key: str | None = None) -> ClientDetailScreen:
    """The screen to push to open a client: the app's kept one, shown afresh with
    this client, unless it is on the screen stack already (a client opened from
    another client's invoice history), then a new one. The kept screen is
    installed, so popping it keeps its widgets: composing, mounting and styling
    them was most of opening a client."""
    if app.is_screen_installed(KEPT_SCREEN):
        kept = app.get_screen(KEPT_SCREEN)
        if isinstance(kept, ClientDetailScreen) and kept not in app.screen_stack:
            kept.show_client(client_key, pair_id=pair_id, credit_key=credit_key)
            return kept
        return ClientDetailScreen(client_key, pair_id=pair_id, credit_key=credit_key)
    screen = ClientDetailScreen(client_key, pair_id=pair_id, credit_key=credit_key)
    app.install_screen(screen, KEPT_SCREEN)
    return screen


class ClientDetailScreen(ReconScreenMixin, Screen[None]):
    """Everything a tech needs to answer "why do the two numbers differ?"."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("r", "resync", "Resync", id="resync",
                tooltip="Refetch the invoice under the cursor from both systems"),
        Binding("f", "fix", "Fix", id="fix_invoice",
                tooltip="The guided fix of the invoice under the cursor (its cause decides "
                        "which)"),
        Binding("a", "apply_credit", "Apply credit", id="apply_credit",
                tooltip="Start (or continue) the checklist applying the credit under the "
                        "cursor in the credits panel to an invoice"),
        Binding("x", "unmap", "Unmap", id="unmap",
                tooltip="Unmap a ledger customer from this PSA company"),
        Binding("e", "export", "Export", id="export_client",
                tooltip="Write the reconciliation report of this client alone"),
        Binding("tab", "focus_next", "Next panel", show=False),
        Binding("shift+tab", "focus_previous", "Previous panel", show=False),
    ]

    def __init__(self, client_key: str, *, pair_id: int | None = None,
                 credit_key: str | None = None) -> None:
        super().__init__()
        self.client_key = client_key
        #: Where the cursor starts: an invoice row (found by its number) or a credit.
        self.start_pair_id = pair_id
        self.start_credit_key = credit_key
        #: What the widgets were last styled for (``on_screen_resume``).
        self._styled_look: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="client-header")
        yield PairTable(INVOICE_COLUMNS, id="invoices")
        yield Static("Credit memos", classes="panel-title", id="memos-title")
        yield PairTable(INVOICE_COLUMNS, id="memos")
        with Horizontal(id="panels"):
            with Vertical(id="credits-panel"):
                yield Static("Organizational credits", classes="panel-title", id="credits-title")
                yield VirtualTable(CREDIT_COLUMNS, id="credits")
            with Vertical(id="contacts-panel"):
                yield Static("Contacts", classes="panel-title", id="contacts-title")
                yield VirtualTable(CONTACT_COLUMNS, id="contacts")
        yield ChecklistTrail(id="client-checklists")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#invoices", VirtualTable).empty_text = "No invoices"
        self.query_one("#memos", VirtualTable).empty_text = "No credit memos"
        self.query_one("#credits", VirtualTable).empty_text = "No unapplied credits"
        self.query_one("#contacts", VirtualTable).empty_text = "No PSA contacts"
        self._show()

    def _show(self) -> None:
        """The client from the top, as a new screen shows it."""
        self._load()
        self.set_focus(self.query_one("#invoices", VirtualTable))
        if self.start_pair_id is not None:
            self.show_pair(self.start_pair_id)
        elif self.start_credit_key is not None:
            self.show_credit(self.start_credit_key)

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        """Styled again only if what its styles follow changed since the last time
        (the app's CSS or theme, its classes or the screen's breakpoints): a kept
        screen shown again restyled every widget it has otherwise. Runs before
        Textual's own handler, which reads ``refresh_styles``."""
        look = (self.app._css_update_count, frozenset(self.app.classes),
                frozenset(self.classes))
        if look == self._styled_look:
            event.refresh_styles = False
        self._styled_look = look

    def show_client(self, client_key: str, *, pair_id: int | None = None,
                    credit_key: str | None = None) -> None:
        """Show another client (or the same one afresh) on this screen, kept from
        an earlier open: what a new screen would show, without composing, mounting
        and styling its widgets again (see ``client_screen``)."""
        self.client_key = client_key
        self.start_pair_id = pair_id
        self.start_credit_key = credit_key
        for table in self.query(VirtualTable):
            table.scroll_columns_home()
        self.query_one("#client-checklists", ChecklistTrail).scroll_home(animate=False)
        self._show()

    def show_pair(self, pair_id: int) -> bool:
        """Put the cursor on an invoice (or credit-memo) row and focus its table."""
        row = self.cache.recon.pair_row(pair_id)
        if row is None or row.client_key != self.client_key:
            self.notify("That invoice row is no longer in the cache (a sync changed it).",
                        severity="warning")
            return False
        table = self.query_one("#memos" if row.kind is DocKind.CREDIT_MEMO else "#invoices",
                               VirtualTable)
        index = table.source.index_of(str(pair_id)) if isinstance(
            table.source, InvoiceSource) else None
        if index is None:
            return False
        table.move_cursor(index)
        table.focus()
        return True

    def show_credit(self, credit_key: str) -> bool:
        """Put the cursor on an organizational credit (a applies it)."""
        table = self.query_one("#credits", VirtualTable)
        source = table.source
        index = source.index_of(credit_key) if isinstance(source, ListRowSource) else None
        if index is None:
            self.notify("That credit is no longer open (applied or refunded since).",
                        severity="warning")
            return False
        table.move_cursor(index)
        table.focus()
        return True

    def _documents_under_cursor(self, table_id: str) -> tuple[str | None, str | None] | None:
        table = self.query_one(table_id, VirtualTable)
        row = table.current_row
        if row is None or not isinstance(table.source, InvoiceSource):
            return None
        return table.source.documents(row.key)

    def load(self) -> None:
        """(Re)read the client; after a resync the cursors stay on the same invoices
        (a resync gives their rows new ids) and the same credit."""
        keep = {table_id: self._documents_under_cursor(table_id)
                for table_id in ("#invoices", "#memos")}
        credit_row = self.query_one("#credits", VirtualTable).current_row
        self._load()
        for table_id, documents in keep.items():
            if documents is None:
                continue
            kind = DocKind.CREDIT_MEMO if table_id == "#memos" else DocKind.INVOICE
            pair_id = self.cache.lookup.pair_id_for(kind, *documents)
            table = self.query_one(table_id, VirtualTable)
            index = (table.source.index_of(str(pair_id))
                     if pair_id is not None and isinstance(table.source, InvoiceSource)
                     else None)
            if index is not None:
                table.move_cursor(index)
        if credit_row is not None:
            table = self.query_one("#credits", VirtualTable)
            index = (table.source.index_of(credit_row.key)
                     if isinstance(table.source, ListRowSource) else None)
            if index is not None:
                table.move_cursor(index)

    def _load(self) -> None:
        summary = self.cache.recon.client(self.client_key)
        self.query_one("#client-header", Static).update(self._header(summary))
        self.query_one("#invoices", VirtualTable).set_source(
            InvoiceSource(self.cache, self.client_key))
        memo_table = self.query_one("#memos", VirtualTable)
        memo_table.set_source(InvoiceSource(self.cache, self.client_key, DocKind.CREDIT_MEMO))
        memo_count = memo_table.row_count  # counted once, by the table
        memo_table.display = memo_count > 0
        self.query_one("#memos-title", Static).display = memo_count > 0
        self.query_one("#memos-title", Static).update(Text(
            f"Credit memos: {memo_count} (credit and what is left of it, paired by number)"))
        customer_ids = summary.ledger_customer_ids if summary else ()
        self.query_one("#client-checklists", ChecklistTrail).show(
            self.cache.checklists, customer_ids, self.client_key)
        credits = self.cache.recon.client_credits(customer_ids)
        self.query_one("#credits", VirtualTable).set_source(ListRowSource(credit_rows(credits)))
        total = sum((c.amount for c in credits), start=ZERO)
        self.query_one("#credits-title", Static).update(Text(
            f"Organizational credits: {len(credits)} totalling {format_money(total)}"))
        level = self.recon_app.config.portal.client_admin_security_level
        contacts = (self.cache.recon.company_contacts(summary.psa_company_id)
                    if summary and summary.psa_company_id else [])
        company = (self.cache.records.company(summary.psa_company_id)
                   if summary and summary.psa_company_id else None)
        portal_active = company.portal_active if company is not None else True
        blocked = sum(1 for c in contacts if not c.inactive
                      and not can_see_invoices(c, level, portal_active=portal_active))
        self.query_one("#contacts", VirtualTable).set_source(
            ListRowSource(contact_rows(contacts, level, portal_active=portal_active)))
        title = Text(f"Contacts (portal level {level}+ can see invoices)")
        if contacts and blocked == sum(1 for c in contacts if not c.inactive):
            title.append("  nobody can see invoices", style="bold red")
        elif blocked:
            title.append(f"  {blocked} cannot see invoices", style="yellow")
        self.query_one("#contacts-title", Static).update(title)

    def _header(self, summary: ClientSummary | None) -> Text:
        if summary is None:
            return Text("This client is no longer in the cache (a sync or mapping changed it).",
                        style="bold red")
        text = Text()
        text.append(printable(summary.name), style="bold")
        text.append("   ledger customer: ", style="dim")
        text.append(printable(summary.ledger_name) or "none mapped")
        if not summary.mapped:
            text.append("   UNMAPPED", style="bold yellow")
        company = (self.cache.records.company(summary.psa_company_id)
                   if summary.psa_company_id else None)
        if company is not None and company.deleted:  # recycle bin: the mapping needs a look
            text.append("   mapped to a DELETED PSA company" if summary.mapped
                        else "   PSA company deleted", style="bold red")
        # One line each: the names cut with an ellipsis, then the figures, whole
        # ones only; those past the width are on screen below (the credits panel's
        # title, the table's rows), never a label without its amount.
        width = max(self.app.size.width - 2, 20)
        text.truncate(width, overflow="ellipsis")
        diff = summary.difference
        figures = [("PSA owing ", format_money(summary.psa_owing), "bold"),
                   ("Ledger balance ", format_money(summary.ledger_balance), "bold"),
                   ("Difference ", format_money(diff), "bold red" if diff else "bold green"),
                   ("Unapplied credits ", format_money(summary.unapplied_credits), "bold"),
                   (f"{summary.discrepant_count:,} of "
                    f"{counted(summary.invoice_count, 'invoice')} discrepant", "", "dim")]
        line = Text()
        for number, (label, value, style) in enumerate(figures):
            part = Text("   " if number else "")
            part.append(label, style="dim")
            part.append(value, style=style)
            if number < 3 or line.cell_len + part.cell_len <= width:
                line.append_text(part)
        text.append("\n")
        text.append_text(line)
        return text

    def on_cache_changed(self, _: CacheChanged) -> None:
        self.load()

    def _pair_table(self) -> VirtualTable:
        """The invoices table, or the credit memos' when that one has the keyboard."""
        memos = self.query_one("#memos", VirtualTable)
        return memos if memos.has_focus else self.query_one("#invoices", VirtualTable)

    @on(VirtualTable.RowSelected, "#invoices, #memos")
    def _pair_selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.open_history(int(event.row.key))

    def open_history(self, pair_id: int) -> None:
        from recon_tui.tui.screens.invoice_history import InvoiceHistoryScreen

        self.app.push_screen(InvoiceHistoryScreen(pair_id))

    def action_resync(self) -> None:
        """Refetch the invoice under the cursor from both systems."""
        row = self._pair_table().current_row
        if row is None:
            self.notify("No invoice selected.")
            return
        pair = self.cache.recon.pair_row(int(row.key))
        number = pair and (pair.psa_number or pair.ledger_number)
        if not number:
            self.notify("This row has no invoice number to resync.", severity="warning")
            return
        self.recon_app.resync(number)

    def action_fix(self) -> None:
        """The guided fix of the row under the cursor; a row that agrees has none."""
        row = self._pair_table().current_row
        pair = self.cache.recon.pair_row(int(row.key)) if row is not None else None
        if pair is None:
            self.notify("No invoice selected.")
            return
        if not pair.discrepant:
            self.notify("Nothing to fix: the two sides agree on this invoice.")
            return
        self.recon_app.start_fix(pair.pair_id)

    def action_unmap(self) -> None:
        """A wrong mapping is undone here, after a confirmation naming the customer."""
        from recon_tui.tui.screens.mapper import UnmapScreen

        summary = self.cache.recon.client(self.client_key)
        if summary is None or not summary.mapped:
            self.notify("No ledger customer is mapped to this client.")
            return
        self.app.push_screen(UnmapScreen(summary))

    def action_export(self) -> None:
        """The snapshot report of this client alone."""
        from recon_tui.tui.screens.export import ExportScreen

        summary = self.cache.recon.client(self.client_key)
        if summary is None:
            self.notify("This client is no longer in the cache.", severity="warning")
            return
        self.app.push_screen(ExportScreen(self.client_key, summary.name))

    def action_apply_credit(self) -> None:
        """Seed 001 for the credit under the credits panel's cursor (focused or not)."""
        row = self.query_one("#credits", VirtualTable).current_row
        if row is None:
            self.notify("This client has no organizational credit to apply.")
            return
        self.app.push_screen(ChecklistScreen(credit_key=row.key))

    def action_back(self) -> None:
        self.app.pop_screen()

