"""Row sources: cache queries shaped for the virtual tables.

They only call the cache's query methods (no SQL here) and turn records into
``TableRow``s of literal ``Text`` cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from recon_tui.cache import Cache, PairRow
from recon_tui.cache.lookup import NumberHit
from recon_tui.diagnosis import Cause
from recon_tui.models import ClientSummary, Contact, DocKind, OrganizationalCredit, ReconStatus
from recon_tui.text import printable
from recon_tui.tui.formatting import literal, money
from recon_tui.tui.widgets.virtual_table import Column, TableRow

#: Narrow terminals (README, "Layout"): the client name is pinned and keeps 30
#: cells; columns leave in ``drop_order`` (ledger customer first), → scrolls to them.
CLIENT_COLUMNS = (
    Column("name", "Client", 34, flex=True, min_width=30, pinned=True),
    Column("ledger", "Ledger customer", 28, drop_order=1),
    Column("psa_owing", "PSA owing", 13, align="right", drop_order=5),
    Column("ledger_balance", "Ledger balance", 14, align="right", drop_order=6),
    Column("difference", "Difference", 12, align="right"),
    Column("credits", "Unapplied cr.", 13, align="right", drop_order=4),
    Column("discrepant", "Discrep.", 8, align="right", drop_order=3),
    # Flexible and last, so on a narrow terminal it gives up width before the names do.
    Column("mapped", "Mapping", 24, flex=True, drop_order=2),
)


@dataclass(frozen=True)
class ClientFilter:
    """What the clients list shows; a screen replaces it whole (a reactive value)."""

    text: str = ""
    discrepant_only: bool = False
    unmapped_only: bool = False
    portal_below: int | None = None

    def describe(self) -> str:
        parts = []
        if self.text:
            parts.append(f'matching "{printable(self.text)}"')
        if self.discrepant_only:
            parts.append("with discrepancies")
        if self.unmapped_only:
            parts.append("without a mapping")
        if self.portal_below is not None:
            parts.append(f"no contact at portal level {self.portal_below}+")
        return ", ".join(parts)


def client_row(s: ClientSummary, *, company_deleted: bool = False) -> TableRow:
    mapping = "mapped" if s.mapped else ("unmapped" if s.psa_company_id else "ledger only")
    if company_deleted:  # a mapping to a recycle-bin company needs a person's look
        mapping += " (PSA co. deleted)"
    style = "bad" if s.difference != 0 else ("warn" if s.discrepant_count else "")
    return TableRow(
        key=s.client_key,
        cells=(
            literal(s.name),
            literal(s.ledger_name or "—"),
            money(s.psa_owing),
            money(s.ledger_balance),
            money(s.difference, colour=True),
            money(s.unapplied_credits) if s.unapplied_credits else Text(""),
            Text(str(s.discrepant_count) if s.discrepant_count else ""),
            Text(mapping, style=("bold red" if company_deleted
                                 else "" if s.mapped else "italic")),
        ),
        style=style,
    )


#: A clients-table row found by number carries its target after the client key.
HIT_SEPARATOR = "\x1f"


def hit_key(hit: NumberHit) -> str:
    """The row key of a number hit: the client, then the invoice row or the credit."""
    target = (f"pair{HIT_SEPARATOR}{hit.pair_id}" if hit.pair_id is not None
              else f"credit{HIT_SEPARATOR}{hit.credit_key}")
    return f"{hit.client_key}{HIT_SEPARATOR}{target}"


def parse_row_key(key: str) -> tuple[str, int | None, str | None]:
    """(client key, pair id, credit key) of a clients-table row key."""
    client_key, _, target = key.partition(HIT_SEPARATOR)
    kind, _, value = target.partition(HIT_SEPARATOR)
    if kind == "pair" and value.isdigit():
        return client_key, int(value), None
    if kind == "credit" and value:
        return client_key, None, value
    return client_key, None, None


def hit_title(hit: NumberHit) -> str:
    """'invoice 110273' / 'credit memo CM-7' / 'credit 11261', as rows and the palette say."""
    return f"{hit.what} {printable(hit.number)}"


def hit_details(hit: NumberHit) -> str:
    """'difference 10.00, payment reversed' / 'remaining 10.00'."""
    if hit.pair_id is None:
        return f"remaining {hit.amount:,.2f}"
    if not hit.discrepant:
        return "both sides agree"
    details = f"difference {hit.amount:,.2f}"
    return f"{details}, {hit.cause}" if hit.cause else details


def hit_row(hit: NumberHit, summary: ClientSummary | None) -> TableRow:
    """A client found by one of its numbers: what matched comes first (the name
    column is narrow), then the client, then the row's difference and cause."""
    name = Text(f"{hit_title(hit)} ▸ ", style="bold cyan")
    name.append(printable(hit.client_name or hit.client_key))
    name.append(f" ({hit_details(hit)})", style="dim")
    if summary is None:
        return TableRow(key=hit_key(hit), cells=(name,))
    row = client_row(summary)
    return TableRow(key=hit_key(hit), cells=(name, *row.cells[1:]), style=row.style)


class ClientSource:
    """Clients, worst difference first, narrowed by a filter. When the filter text
    is also an invoice, ledger or credit number, the rows holding it come first,
    one per match (each opens the client at that row)."""

    def __init__(self, cache: Cache, client_filter: ClientFilter) -> None:
        self.cache = cache
        self.filter = client_filter
        self.hits: list[NumberHit] = []
        self._hit_rows: list[TableRow] = []

    def _kwargs(self) -> dict:
        return {"discrepant_only": self.filter.discrepant_only,
                "unmapped_only": self.filter.unmapped_only,
                "portal_below": self.filter.portal_below}

    def count(self) -> int:
        """Also re-reads the number matches: a resync gives rows new ids."""
        self.hits = self.cache.lookup.find_number(self.filter.text) if self.filter.text else []
        self._hit_rows = [hit_row(hit, self.cache.recon.client(hit.client_key))
                          for hit in self.hits]
        return len(self._hit_rows) + self.name_count()

    def name_count(self) -> int:
        return self.cache.recon.count_clients(self.filter.text, **self._kwargs())

    @property
    def opens_directly(self) -> NumberHit | None:
        """The hit Enter in the filter opens at once: an exact number, or the only match."""
        if self.hits and (self.hits[0].exact or len(self.hits) == 1):
            return self.hits[0]
        return None

    def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
        found = self._hit_rows[offset:offset + limit]
        start = max(0, offset - len(self._hit_rows))
        wanted = limit - len(found)
        if wanted <= 0:
            return found
        page = self.cache.recon.client_page(self.filter.text, start, wanted, **self._kwargs())
        deleted = self.cache.mapper.deleted_company_ids([s.psa_company_id for s in page
                                                  if s.psa_company_id])
        return [*found, *(client_row(s, company_deleted=s.psa_company_id in deleted)
                          for s in page)]


#: Narrow terminals: the PSA number is pinned; the totals leave first, then the
#: date, the statuses and the cause; both numbers and the owing amounts stay.
INVOICE_COLUMNS = (
    Column("date", "Date", 10, drop_order=4),
    Column("psa_number", "PSA #", 11, pinned=True),
    Column("psa_status", "PSA status", 14, drop_order=5),
    Column("psa_total", "PSA total", 11, align="right", drop_order=1),
    Column("psa_owing", "PSA owing", 11, align="right"),
    Column("ledger_number", "Ledger #", 11),
    Column("ledger_total", "Ledger total", 12, align="right", drop_order=2),
    Column("ledger_owing", "Ledger bal.", 11, align="right"),
    Column("diff_total", "Δ total", 10, align="right", drop_order=3),
    Column("diff_owing", "Δ owing", 10, align="right"),
    Column("cause", "Cause", 19, drop_order=7),
    Column("status", "Sync status", 24, flex=True, min_width=13, drop_order=6),
)

#: The Cause column's words (the help and the history view say them in full).
SHORT_CAUSES: dict[str, str] = {
    Cause.PAYMENT_LEDGER_ONLY: "payment ledger only",
    Cause.PAYMENT_PSA_ONLY: "payment PSA only",
    Cause.CREDIT_LEDGER_ONLY: "credit ledger only",
    Cause.CREDIT_PSA_ONLY: "credit PSA only",
    Cause.PAYMENT_REVERSED: "payment reversed",
    Cause.AMOUNT_EDITED: "amount edited",
    Cause.VOIDED_ONE_SIDE: "voided one side",
    Cause.ROUNDING: "rounding",
    Cause.CURRENCY: "currency mismatch",
    Cause.NEVER_EXPORTED: "never exported",
    Cause.MISSING_IN_LEDGER: "exported, missing",
    Cause.DELETED_IN_LEDGER: "deleted in ledger",
    Cause.CREATED_IN_LEDGER: "created in ledger",
    Cause.CUSTOMER_UNMAPPED: "customer unmapped",
    Cause.UNKNOWN: "unknown",
}


def cause_cell(p: PairRow) -> Text:
    """The row's stored cause, short; a discrepant row not diagnosed yet says so."""
    if not p.discrepant:
        return Text("")
    if p.cause is None:
        return Text("not diagnosed", style="dim")
    return literal(SHORT_CAUSES.get(p.cause, p.cause))


def invoice_row(p: PairRow) -> TableRow:
    if p.status is not ReconStatus.MATCHED:
        style = "bad"
    elif p.discrepant:
        style = "warn"
    elif p.ledger_voided:
        style = "muted"
    else:
        style = ""
    expected_id = p.ledger_invoice_id and f"id {p.ledger_invoice_id}"
    ledger_number = literal(p.ledger_number or expected_id)
    if p.ledger_voided:
        ledger_number.append(" void", style="italic")
    return TableRow(
        key=str(p.pair_id),
        cells=(
            Text(p.invoice_date.isoformat()),
            literal(p.psa_number),
            literal(p.psa_status),
            money(p.psa_total),
            money(p.psa_owing),
            ledger_number,
            money(p.ledger_total),
            money(p.ledger_owing),
            money(p.difference_total, colour=True) if p.difference_total else Text(""),
            money(p.difference_owing, colour=True) if p.difference_owing else Text(""),
            cause_cell(p),
            Text(p.status.value),
        ),
        style=style,
    )


class InvoiceSource:
    """One client's invoice pairs (or credit-memo pairs), discrepant first."""

    def __init__(self, cache: Cache, client_key: str, kind: DocKind = DocKind.INVOICE) -> None:
        self.cache = cache
        self.client_key = client_key
        self.kind = kind
        self._documents: dict[str, tuple[str | None, str | None]] = {}

    def count(self) -> int:
        return self.cache.recon.count_client_pairs(self.client_key, self.kind)

    def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
        pairs = self.cache.recon.client_pairs(self.client_key, offset, limit, self.kind)
        for p in pairs:
            self._documents[str(p.pair_id)] = (p.psa_invoice_id, p.ledger_invoice_id)
        return [invoice_row(p) for p in pairs]

    def documents(self, key: str) -> tuple[str | None, str | None] | None:
        """(PSA id, ledger id) of a row shown: a resync re-inserts the row under a
        new id, and this is how the screen finds it again."""
        return self._documents.get(key)

    def index_of(self, key: str) -> int | None:
        """Where a row is, in one query (a client may have thousands of invoices)."""
        if not key.isdigit():
            return None
        row = self.cache.recon.pair_row(int(key))
        if row is None or row.client_key != self.client_key or row.kind is not self.kind:
            return None
        return self.cache.lookup.client_pair_index(row.pair_id)


CREDIT_COLUMNS = (
    Column("id", "Credit ID", 10),
    Column("date", "Date", 10),
    Column("amount", "Remaining", 11, align="right"),
    Column("source", "Source", 18, flex=True),
)


def credit_rows(credits: Sequence[OrganizationalCredit]) -> list[TableRow]:
    return [
        TableRow(
            key=f"{c.kind.value}:{c.id}",
            cells=(literal(c.id), Text(c.date.isoformat()), money(c.amount),
                   literal(f"{c.source} {c.doc_number}".strip())),
        )
        for c in credits
    ]


CONTACT_COLUMNS = (
    Column("name", "Contact", 24, flex=True),
    Column("level", "Portal lvl", 10, align="right"),
    Column("access", "Invoices", 22),
)


def can_see_invoices(contact: Contact, minimum_level: int, *, portal_active: bool = True) -> bool:
    """The portal's own rule: an active contact with its login enabled, at a company
    whose portal is on, at or above the client-admin level."""
    return (portal_active and not contact.inactive and not contact.portal_login_disabled
            and (contact.portal_security_level or 0) >= minimum_level)


def contact_rows(contacts: Sequence[Contact], minimum_level: int, *,
                 portal_active: bool = True) -> list[TableRow]:
    rows = []
    for c in contacts:
        level = c.portal_security_level
        if c.inactive:
            access, style = "inactive", "muted"
        elif not portal_active:
            access, style = "company portal off", "bad"
        elif c.portal_login_disabled:
            access, style = "portal login disabled", "bad"
        elif level is None or level < minimum_level:
            access, style = "cannot see invoices", "bad"
        else:
            access, style = "can see invoices", ""
        rows.append(TableRow(
            key=c.id,
            cells=(literal(c.full_name or c.email or c.id),
                   Text("—" if level is None else str(level)), Text(access)),
            style=style,
        ))
    return rows
