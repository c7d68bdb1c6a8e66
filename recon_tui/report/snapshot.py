"""The reconciliation snapshot: one invoice-date range of the book, frozen.

ServiceBox's "Accounting Reconciliation" report (seed 004) with the PSA in
ServiceBox's place, and then some: a header that says when each side was last
synced and names the snapshot (a hash of its rows), one row per invoice pair, the
totals block from :func:`recon_tui.reconcile.report_totals` with its identity
spelled out and the rows that make up any difference, and the sections a tech
needs next: organizational credits, unmapped ledger customers, contacts without
portal access and data-hygiene findings.

Rows come from the materialised reconciliation the screens show
(``invoice_pair``), so the report and the TUI never disagree; the totals are
computed by the same pure function the tests check. Money is ``Decimal`` from
the cache to the writers.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from recon_tui.cache import Cache
from recon_tui.config import DEFAULT_PORTAL_LEVEL
from recon_tui.models import ClientSummary, DocKind, InvoicePair, ReconStatus, ReportTotals
from recon_tui.money import ZERO, format_money
from recon_tui.reconcile import (
    difference_contribution,
    difference_rows,
    pair_sort_key,
    report_totals,
)
from recon_tui.report.hygiene import HygieneCheck, HygieneFinding, run_checks

__all__ = [
    "STATUS_ORDER",
    "CreditLine",
    "PortalClient",
    "PortalContact",
    "ProgressCallback",
    "ReportRow",
    "Snapshot",
    "SnapshotHeader",
    "UnmappedCustomer",
    "build_snapshot",
    "identity_text",
]

STATUS_ORDER = (ReconStatus.MATCHED, ReconStatus.NOT_IN_LEDGER, ReconStatus.NOT_IN_PSA,
                ReconStatus.EXPECTED_NOT_FOUND)

ProgressCallback = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: phase "reading" while rows are read."""

PROGRESS_EVERY = 2_000


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class ReportRow:
    """One invoice pair as the report prints it. A missing side's own columns are
    None (blank); the differences count it as 0, ledger minus PSA."""

    invoice_date: date
    customer: str | None
    psa_company: str | None
    psa_invoice_number: str | None
    psa_status: str | None
    psa_total: Decimal | None
    psa_owing: Decimal | None
    ledger_invoice_number: str | None
    ledger_total: Decimal | None
    ledger_owing: Decimal | None
    difference_total: Decimal
    difference_owing: Decimal
    sync_status: ReconStatus
    # Not in the row contract, used by the sections and the writers.
    client_key: str = ""
    psa_invoice_id: str | None = None
    ledger_invoice_id: str | None = None
    ledger_customer_id: str | None = None
    ledger_voided: bool = False
    currency: str = "USD"
    contribution: Decimal = ZERO

    @property
    def discrepant(self) -> bool:
        return (self.sync_status is not ReconStatus.MATCHED or self.difference_total != 0
                or self.difference_owing != 0)


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    period_from: date
    period_to: date
    psa_kind: str
    ledger_kind: str
    generated_at: datetime
    psa_as_of: datetime | None
    ledger_as_of: datetime | None
    reconciliation_id: str
    row_count: int
    portal_level: int
    client_key: str | None = None
    client_name: str | None = None

    @property
    def scope(self) -> str:
        return f"client {self.client_name}" if self.client_key else "whole book"


@dataclass(frozen=True, slots=True)
class CreditLine:
    """Money on account in the ledger: a credit memo's remaining credit or a
    payment's unapplied amount."""

    customer_id: str
    customer: str
    psa_company: str | None
    source: str  # "Credit memo" | "Unapplied payment"
    credit_id: str
    doc_number: str
    date: date
    amount: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class UnmappedCustomer:
    """A ledger customer no PSA company is mapped to: its invoices sit apart from
    any client's view until someone maps it."""

    customer_id: str
    name: str
    active: bool
    invoice_count: int
    invoices_in_period: int
    balance: Decimal
    unapplied_credits: Decimal


@dataclass(frozen=True, slots=True)
class PortalContact:
    """An active PSA contact below the portal level that may see invoices."""

    company_id: str
    company: str
    contact_id: str
    name: str
    email: str | None
    level: int | None


@dataclass(frozen=True, slots=True)
class PortalClient:
    """A PSA company none of whose contacts can see invoices in the portal."""

    company_id: str
    company: str
    active_contacts: int
    highest_level: int | None
    deleted: bool
    reason: str


@dataclass(slots=True)
class Snapshot:
    header: SnapshotHeader
    rows: list[ReportRow]
    totals: ReportTotals
    difference_rows: list[ReportRow]
    credits: list[CreditLine] = field(default_factory=list)
    unmapped_customers: list[UnmappedCustomer] = field(default_factory=list)
    portal_contacts: list[PortalContact] = field(default_factory=list)
    portal_clients: list[PortalClient] = field(default_factory=list)
    hygiene_checks: list[HygieneCheck] = field(default_factory=list)
    hygiene_findings: list[HygieneFinding] = field(default_factory=list)
    #: Credit memos pair apart from invoices (PSA credit memo with the ledger's) and
    #: have a totals block of their own, amounts as positive credit.
    credit_memo_rows: list[ReportRow] = field(default_factory=list)
    credit_memo_totals: ReportTotals = field(default_factory=lambda: report_totals(()))

    @property
    def status_counts(self) -> dict[ReconStatus, int]:
        counts = Counter(row.sync_status for row in self.rows)
        return {status: counts.get(status, 0) for status in STATUS_ORDER}

    @property
    def credit_memo_status_counts(self) -> dict[ReconStatus, int]:
        counts = Counter(row.sync_status for row in self.credit_memo_rows)
        return {status: counts.get(status, 0) for status in STATUS_ORDER}

    @property
    def discrepant_rows(self) -> list[ReportRow]:
        return [row for row in self.rows if row.discrepant]

    @property
    def has_discrepancy(self) -> bool:
        """What ``--fail-on-discrepancy`` fails on: any discrepant row, or an
        Invoice Difference other than 0.00."""
        return (self.totals.invoice_difference != 0
                or any(r.discrepant for r in (*self.rows, *self.credit_memo_rows)))

    @property
    def identity(self) -> str:
        return identity_text(self.totals)


def identity_text(totals: ReportTotals) -> str:
    """The self-check printed under the totals, with its numbers."""
    residual = totals.residual
    return (
        "Invoice Difference = Σ matched total differences − Σ PSA totals of "
        "Expected-but-not-Found rows = "
        f"{format_money(totals.matched_difference)} − {format_money(totals.expected_not_found)}"
        f" = {format_money(totals.explained_difference)}; residual "
        f"{format_money(residual)}" + (" (sound)" if residual == 0 else " (UNSOUND)")
    )


# --------------------------------------------------------------------------- building
def build_snapshot(
    cache: Cache,
    start: date,
    end: date,
    *,
    client: ClientSummary | None = None,
    portal_level: int = DEFAULT_PORTAL_LEVEL,
    psa_kind: str | None = None,
    ledger_kind: str | None = None,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> Snapshot:
    """The snapshot of invoices dated ``start``..``end`` (inclusive), for the whole
    book or one client. ``psa_kind``/``ledger_kind`` name the systems when the
    cache has no sync recorded yet (a recorded sync's kinds win)."""
    if start > end:
        raise ValueError(f"the period starts ({start}) after it ends ({end})")
    with cache.report_view():  # rows and sections from one state of the cache
        return _build(cache, start, end, client, portal_level, psa_kind, ledger_kind, now,
                      progress)


def _build(cache: Cache, start: date, end: date, client: ClientSummary | None,
           portal_level: int, psa_kind: str | None, ledger_kind: str | None,
           now: datetime | None, progress: ProgressCallback | None) -> Snapshot:
    client_key = client.client_key if client is not None else None
    total = cache.report_pair_count(start, end, client_key)
    if progress is not None:
        progress("reading", 0, total)

    keyed: list[tuple[InvoicePair, str, str | None, str | None]] = []
    for item in cache.iter_report_pairs(start, end, client_key):
        keyed.append(item)
        if progress is not None and len(keyed) % PROGRESS_EVERY == 0:
            progress("reading", len(keyed), total)
    keyed.sort(key=lambda item: pair_sort_key(item[0]))
    memos = [item for item in keyed if item[0].kind is DocKind.CREDIT_MEMO]
    keyed = [item for item in keyed if item[0].kind is DocKind.INVOICE]
    pairs = [item[0] for item in keyed]
    rows = [_row(pair, key, company, customer) for pair, key, company, customer in keyed]
    if progress is not None:
        progress("reading", len(rows), max(total, len(rows)))

    totals = report_totals(pairs)
    row_of = {id(pair): row for pair, row in zip(pairs, rows, strict=True)}
    contributions = [row_of[id(pair)] for pair in difference_rows(pairs)]

    states = cache.sync_states()
    psa_state, ledger_state = states.get("psa"), states.get("ledger")
    header = SnapshotHeader(
        period_from=start, period_to=end,
        psa_kind=psa_state.kind if psa_state else (psa_kind or "unknown"),
        ledger_kind=ledger_state.kind if ledger_state else (ledger_kind or "unknown"),
        generated_at=(now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0),
        psa_as_of=psa_state.last_synced_at if psa_state else None,
        ledger_as_of=ledger_state.last_synced_at if ledger_state else None,
        reconciliation_id=reconciliation_id(rows),
        row_count=len(rows), portal_level=portal_level,
        client_key=client_key, client_name=client.name if client is not None else None,
    )

    companies = cache.companies()
    customers = cache.customers()
    mapping = cache.mapping()
    if client is None:
        company_scope: set[str] | None = None
        customer_scope: set[str] | None = None
    else:
        company_scope = {client.psa_company_id} if client.psa_company_id else set()
        customer_scope = set(client.ledger_customer_ids)

    snapshot = Snapshot(header=header, rows=rows, totals=totals, difference_rows=contributions)
    snapshot.credit_memo_rows = [_row(*item) for item in memos]
    snapshot.credit_memo_totals = report_totals(item[0] for item in memos)
    snapshot.credits = _credits(cache, companies, customers, mapping, customer_scope)
    snapshot.unmapped_customers = _unmapped(cache, rows, customer_scope)
    snapshot.portal_contacts, snapshot.portal_clients = _portal(cache, companies, portal_level,
                                                                company_scope)
    snapshot.hygiene_checks, snapshot.hygiene_findings = run_checks(
        companies=companies, customers=customers, pairs=pairs,
        company_scope=company_scope, customer_scope=customer_scope)
    return snapshot


def _row(pair: InvoicePair, client_key: str, company: str | None,
         customer: str | None) -> ReportRow:
    psa, ledger = pair.psa, pair.ledger
    return ReportRow(
        invoice_date=pair.invoice_date,
        customer=customer,
        psa_company=company,
        psa_invoice_number=psa.number if psa else None,
        psa_status=psa.status if psa else None,
        psa_total=psa.total if psa else None,
        psa_owing=psa.owing if psa else None,
        ledger_invoice_number=ledger.doc_number if ledger else None,
        ledger_total=ledger.total if ledger else None,
        ledger_owing=ledger.balance if ledger else None,
        difference_total=pair.difference_total,
        difference_owing=pair.difference_owing,
        sync_status=pair.status,
        client_key=client_key,
        psa_invoice_id=psa.id if psa else None,
        ledger_invoice_id=ledger.id if ledger else (psa.ledger_invoice_id if psa else None),
        ledger_customer_id=ledger.customer_id if ledger else None,
        ledger_voided=bool(ledger and ledger.voided),
        currency=(ledger or psa).currency,  # type: ignore[union-attr]
        contribution=difference_contribution(pair),
    )


def reconciliation_id(rows: list[ReportRow]) -> str:
    """A short hash of the rows: two snapshots with the same id hold the same
    invoices with the same amounts and statuses (ServiceBox prints a record count
    there; the count is in the header too)."""
    digest = hashlib.sha256()
    for r in rows:
        digest.update("\x1f".join(
            "" if v is None else str(v) for v in (
                r.invoice_date, r.psa_invoice_id, r.psa_invoice_number, r.psa_status,
                r.psa_total, r.psa_owing, r.ledger_invoice_id, r.ledger_invoice_number,
                r.ledger_total, r.ledger_owing, r.sync_status.value)).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()[:12]


def _credits(cache: Cache, companies: dict, customers: dict, mapping: dict[str, str],
             scope: set[str] | None) -> list[CreditLine]:
    credits = cache.credits() if scope is None else cache.client_credits(sorted(scope))
    lines = []
    for credit in credits:
        customer = customers.get(credit.customer_id)
        company = companies.get(mapping.get(credit.customer_id, ""))
        lines.append(CreditLine(
            customer_id=credit.customer_id,
            customer=customer.display_name if customer else credit.customer_id,
            psa_company=company.name if company else None,
            source=credit.source, credit_id=credit.id, doc_number=credit.doc_number,
            date=credit.date, amount=credit.amount, total=credit.total))
    lines.sort(key=lambda c: (c.customer.casefold(), c.date, c.credit_id))
    return lines


def _unmapped(cache: Cache, rows: list[ReportRow],
              scope: set[str] | None) -> list[UnmappedCustomer]:
    in_period: Counter[str] = Counter()
    for row in rows:
        if row.ledger_customer_id is not None:
            in_period[row.ledger_customer_id] += 1
    credit_sums: dict[str, Decimal] = {}
    for credit in cache.credits():
        if credit.amount > 0:
            credit_sums[credit.customer_id] = credit_sums.get(credit.customer_id, ZERO) \
                + credit.amount
    result = []
    for customer, invoice_count, balance in cache.unmapped_customer_queue():
        if scope is not None and customer.id not in scope:
            continue
        result.append(UnmappedCustomer(
            customer_id=customer.id, name=customer.display_name, active=customer.active,
            invoice_count=invoice_count, invoices_in_period=in_period.get(customer.id, 0),
            balance=balance, unapplied_credits=credit_sums.get(customer.id, ZERO)))
    return result


def _portal(cache: Cache, companies: dict, level: int,
            scope: set[str] | None) -> tuple[list[PortalContact], list[PortalClient]]:
    by_company: dict[str, list] = {}
    for contact in cache.contacts():
        by_company.setdefault(contact.company_id, []).append(contact)
    contacts: list[PortalContact] = []
    clients: list[PortalClient] = []
    company_ids = sorted(companies) if scope is None else sorted(scope)
    for company_id in company_ids:
        company = companies.get(company_id)
        if company is None:
            continue
        active = [c for c in by_company.get(company_id, []) if not c.inactive]
        shut_out = [c for c in active if c.portal_login_disabled or not company.portal_active]
        below = [c for c in active if (c.portal_security_level or 0) < level
                 or c in shut_out]
        for c in below:
            contacts.append(PortalContact(company_id, company.name, c.id, c.full_name,
                                          c.email, c.portal_security_level))
        if len(below) == len(active):
            levels = [c.portal_security_level for c in active
                      if c.portal_security_level is not None]
            highest = max(levels) if levels else None
            reason = _nobody_sees_why(active, shut_out, level, company.portal_active)
            clients.append(PortalClient(company_id, company.name, len(active), highest,
                                        company.deleted, reason))
    contacts.sort(key=lambda c: (c.company.casefold(), c.name.casefold(), c.contact_id))
    clients.sort(key=lambda c: (c.company.casefold(), c.company_id))
    return contacts, clients


def _nobody_sees_why(active: list, shut_out: list, level: int, portal_active: bool) -> str:
    """Why no contact of a company can see invoices, in the portal's own terms."""
    if not portal_active:
        return "the company's client portal is switched off in the PSA"
    if not active:
        return "no active contacts"
    if shut_out:
        names = ", ".join(c.full_name or c.id for c in shut_out)
        rest = len(active) - len(shut_out)
        tail = f"; the other {rest} are below level {level}" if rest else ""
        return f"portal login disabled for {names}{tail}"
    if len(active) == 1:
        return f"its only active contact is below level {level}"
    return f"all {len(active)} active contacts are below level {level}"
