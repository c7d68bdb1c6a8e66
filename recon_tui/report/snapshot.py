"""The reconciliation snapshot: one invoice-date range of the book, frozen.

ServiceBox's "Accounting Reconciliation" report (seed 004) with the PSA in
ServiceBox's place, and then some: a header that says when each side was last
synced and names the snapshot (a hash of its rows), one row per invoice pair, the
totals block from :func:`recon_tui.reconcile.report_totals` with its self-check
in plain words and the invoices that make up any difference, and the sections a tech
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
from recon_tui.cache.report import ReportPair
from recon_tui.config import DEFAULT_PORTAL_LEVEL
from recon_tui.models import ClientSummary, DocKind, InvoicePair, ReconStatus, ReportTotals
from recon_tui.money import ZERO, format_money
from recon_tui.reconcile import (
    difference_contribution,
    difference_rows,
    pair_sort_key,
    report_totals,
)
from recon_tui.report.causes import CauseSummary, causes_agree, summarise_causes
from recon_tui.report.hygiene import HygieneCheck, HygieneFinding, run_checks
from recon_tui.report.sections import (
    CreditLine,
    PortalClient,
    PortalContact,
    UnmappedCustomer,
    credit_lines,
    portal_sections,
    unmapped_customers,
)

__all__ = [
    "STATUS_ORDER",
    "CauseSummary",
    "CreditLine",
    "PortalClient",
    "PortalContact",
    "ProgressCallback",
    "ReportRow",
    "Snapshot",
    "SnapshotHeader",
    "UnmappedCustomer",
    "build_snapshot",
    "invoice_label",
    "self_check_text",
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
    #: The diagnosis's cause stored with the row (a ``Cause`` value); None for a
    #: row that agrees, or a discrepant one not diagnosed yet.
    cause: str | None = None
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
    #: The discrepant rows per cause, from one GROUP BY of the cache.
    causes: CauseSummary = field(default_factory=CauseSummary)
    credit_memo_causes: CauseSummary = field(default_factory=CauseSummary)

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
    def self_check(self) -> str:
        """The self-check under the totals, in a tech's words."""
        return self_check_text(self.totals, len(self.difference_rows))

    @property
    def accounted_for(self) -> bool:
        """The invoices listed as making up the difference add up to it exactly."""
        return self.totals.residual == 0

    @property
    def causes_agree(self) -> bool:
        """The causes block (one GROUP BY) counts every discrepant row once, and
        what it adds to the Invoice Difference is the Invoice Difference."""
        return causes_agree(self.causes, len(self.discrepant_rows),
                            self.totals.invoice_difference)


def self_check_text(totals: ReportTotals, invoices: int) -> str:
    """The totals' self-check as a tech reads it: the Invoice Difference and the
    invoices that make it up (``invoices``: how many rows add to it). When the rows
    do not add up to the difference, say so: that is a bug, never a data problem."""
    difference = format_money(totals.invoice_difference)
    if totals.residual != 0:
        return (f"Invoice Difference {difference}, but the invoices listed add up to "
                f"{format_money(totals.explained_difference)}: "
                f"{format_money(totals.residual)} is not accounted for. That is a bug in "
                "recon-tui; please report it.")
    if totals.invoice_difference == 0:
        tail = "" if invoices == 0 else (
            f" ({invoices:,} invoice{'' if invoices == 1 else 's'} differ"
            f"{'s' if invoices == 1 else ''}, and the differences cancel out)")
        return f"Invoice Difference {difference}: every amount is accounted for{tail}."
    if invoices == 1:
        return f"Invoice Difference {difference}: this invoice makes up the {difference}."
    return f"Invoice Difference {difference}: these {invoices:,} invoices make up the {difference}."


def invoice_label(row: ReportRow) -> str:
    """One invoice as the self-check lists it: its number, its customer and what it
    adds to the Invoice Difference, and why."""
    number = row.psa_invoice_number or row.ledger_invoice_number or "(no number)"
    who = row.customer or row.psa_company
    why = ("the ledger no longer has the invoice it was linked to"
           if row.sync_status is ReconStatus.EXPECTED_NOT_FOUND
           else "the ledger's total differs from the PSA's")
    return (f"invoice {number}" + (f" ({who})" if who else "")
            + f": {format_money(row.contribution)}, {why}")


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

    keyed: list[ReportPair] = []
    for item in cache.iter_report_pairs(start, end, client_key):
        keyed.append(item)
        if progress is not None and len(keyed) % PROGRESS_EVERY == 0:
            progress("reading", len(keyed), total)
    keyed.sort(key=lambda item: pair_sort_key(item[0]))
    memos = [item for item in keyed if item[0].kind is DocKind.CREDIT_MEMO]
    keyed = [item for item in keyed if item[0].kind is DocKind.INVOICE]
    pairs = [item[0] for item in keyed]
    rows = [_row(*item) for item in keyed]
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
    groups = cache.report_cause_groups(start, end, client_key)
    snapshot.causes = summarise_causes(groups, DocKind.INVOICE)
    snapshot.credit_memo_causes = summarise_causes(groups, DocKind.CREDIT_MEMO)
    snapshot.credits = credit_lines(cache, companies, customers, mapping, customer_scope)
    snapshot.unmapped_customers = unmapped_customers(
        cache, (row.ledger_customer_id for row in rows), customer_scope)
    snapshot.portal_contacts, snapshot.portal_clients = portal_sections(
        cache, companies, portal_level, company_scope)
    snapshot.hygiene_checks, snapshot.hygiene_findings = run_checks(
        companies=companies, customers=customers, pairs=pairs,
        company_scope=company_scope, customer_scope=customer_scope)
    return snapshot


def _row(pair: InvoicePair, client_key: str, company: str | None,
         customer: str | None, cause: str | None = None) -> ReportRow:
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
        cause=cause,
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
