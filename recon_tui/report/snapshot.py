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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from recon_tui.cache import Cache
from recon_tui.cache.report_spool import ReportSpool, StatusSums
from recon_tui.config import DEFAULT_PORTAL_LEVEL
from recon_tui.models import ClientSummary, DocKind, ReconStatus, ReportTotals
from recon_tui.money import ZERO, format_money, from_cents
from recon_tui.report.causes import CauseSummary, causes_agree, summarise_causes
from recon_tui.report.hygiene import (
    QBO_DOC_NUMBER_MAX,
    HygieneCheck,
    HygieneFinding,
    run_checks,
)
from recon_tui.report.row_view import RowView, SuspectRows
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
    "RowView",
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
    """The report: its header, totals and sections in memory; its rows in a private
    spool file (a frozen copy of the cache's rows, deleted with the snapshot), read
    in pages each time a writer walks them."""

    header: SnapshotHeader
    rows: RowView
    totals: ReportTotals
    difference_rows: RowView
    discrepant_rows: RowView
    #: Credit memos pair apart from invoices (PSA credit memo with the ledger's) and
    #: have a totals block of their own, amounts as positive credit.
    credit_memo_rows: RowView
    status_counts: dict[ReconStatus, int]
    credit_memo_status_counts: dict[ReconStatus, int]
    credit_memo_totals: ReportTotals
    credit_memo_discrepant: int = 0
    credits: list[CreditLine] = field(default_factory=list)
    unmapped_customers: list[UnmappedCustomer] = field(default_factory=list)
    portal_contacts: list[PortalContact] = field(default_factory=list)
    portal_clients: list[PortalClient] = field(default_factory=list)
    hygiene_checks: list[HygieneCheck] = field(default_factory=list)
    hygiene_findings: list[HygieneFinding] = field(default_factory=list)
    #: The discrepant rows per cause, from one GROUP BY of the cache.
    causes: CauseSummary = field(default_factory=CauseSummary)
    credit_memo_causes: CauseSummary = field(default_factory=CauseSummary)
    spool: ReportSpool | None = None

    def close(self) -> None:
        """Delete the rows' spool now (it goes with the snapshot otherwise)."""
        if self.spool is not None:
            self.spool.close()

    @property
    def has_discrepancy(self) -> bool:
        """What ``--fail-on-discrepancy`` fails on: any discrepant row, or an
        Invoice Difference other than 0.00."""
        return (self.totals.invoice_difference != 0 or len(self.discrepant_rows) > 0
                or self.credit_memo_discrepant > 0)

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
    with cache.report.view():  # rows and sections from one state of the cache
        return _build(cache, start, end, client, portal_level, psa_kind, ledger_kind, now,
                      progress)


def _build(cache: Cache, start: date, end: date, client: ClientSummary | None,
           portal_level: int, psa_kind: str | None, ledger_kind: str | None,
           now: datetime | None, progress: ProgressCallback | None) -> Snapshot:
    client_key = client.client_key if client is not None else None
    total = cache.report.pair_count(start, end, client_key)
    if progress is not None:
        progress("reading", 0, total)
    spool = cache.report.spool(
        start, end, client_key,
        None if progress is None else (lambda done: progress("reading", done, total)))
    try:
        return _assemble(cache, spool, start, end, client, portal_level, psa_kind,
                         ledger_kind, now)
    except BaseException:
        spool.close()
        raise


def _totals(sums: dict[str, StatusSums]) -> ReportTotals:
    """The totals block from the spool's per-status sums (one GROUP BY): the same
    figures :func:`recon_tui.reconcile.report_totals` adds up pair by pair."""
    def of(status: ReconStatus, column: str) -> Decimal:
        line = sums.get(status.value)
        return from_cents(getattr(line, column) if line else 0)

    return ReportTotals(
        total_psa=from_cents(sum(s.psa_total for s in sums.values())),
        total_ledger=from_cents(sum(s.ledger_total for s in sums.values())),
        not_downloaded_to_ledger=of(ReconStatus.NOT_IN_LEDGER, "psa_total"),
        not_in_psa=of(ReconStatus.NOT_IN_PSA, "ledger_total"),
        matched_difference=of(ReconStatus.MATCHED, "diff_total"),
        expected_not_found=of(ReconStatus.EXPECTED_NOT_FOUND, "psa_total"),
    )


def _counts(sums: dict[str, StatusSums]) -> dict[ReconStatus, int]:
    return {status: sums[status.value].count if status.value in sums else 0
            for status in STATUS_ORDER}


def _assemble(cache: Cache, spool: ReportSpool, start: date, end: date,
              client: ClientSummary | None, portal_level: int, psa_kind: str | None,
              ledger_kind: str | None, now: datetime | None) -> Snapshot:
    client_key = client.client_key if client is not None else None
    rows = RowView(spool, "invoice")
    invoice_sums, memo_sums = spool.status_sums("invoice"), spool.status_sums("memo")

    states = cache.history.sync_states()
    psa_state, ledger_state = states.get("psa"), states.get("ledger")
    header = SnapshotHeader(
        period_from=start, period_to=end,
        psa_kind=psa_state.kind if psa_state else (psa_kind or "unknown"),
        ledger_kind=ledger_state.kind if ledger_state else (ledger_kind or "unknown"),
        generated_at=(now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0),
        psa_as_of=psa_state.last_synced_at if psa_state else None,
        ledger_as_of=ledger_state.last_synced_at if ledger_state else None,
        reconciliation_id=spool_identity(spool),
        row_count=len(rows), portal_level=portal_level,
        client_key=client_key, client_name=client.name if client is not None else None,
    )

    companies = cache.records.companies()
    customers = cache.records.customers()
    mapping = cache.records.mapping()
    if client is None:
        company_scope: set[str] | None = None
        customer_scope: set[str] | None = None
    else:
        company_scope = {client.psa_company_id} if client.psa_company_id else set()
        customer_scope = set(client.ledger_customer_ids)

    snapshot = Snapshot(
        header=header, rows=rows, totals=_totals(invoice_sums),
        difference_rows=RowView(spool, "diff"),
        discrepant_rows=RowView(spool, "invoice", discrepant_only=True),
        credit_memo_rows=RowView(spool, "memo"),
        status_counts=_counts(invoice_sums), credit_memo_status_counts=_counts(memo_sums),
        credit_memo_totals=_totals(memo_sums),
        credit_memo_discrepant=sum(s.discrepant for s in memo_sums.values()),
        spool=spool)
    groups = cache.report.cause_groups(start, end, client_key)
    snapshot.causes = summarise_causes(groups, DocKind.INVOICE)
    snapshot.credit_memo_causes = summarise_causes(groups, DocKind.CREDIT_MEMO)
    snapshot.credits = credit_lines(cache, companies, customers, mapping, customer_scope)
    snapshot.unmapped_customers = unmapped_customers(
        cache, spool.customer_counts(), customer_scope)
    snapshot.portal_contacts, snapshot.portal_clients = portal_sections(
        cache, companies, portal_level, company_scope)
    currencies = spool.currency_counts()
    main = max(currencies, key=currencies.__getitem__) if len(currencies) > 1 else None
    snapshot.hygiene_checks, snapshot.hygiene_findings = run_checks(
        companies=companies, customers=customers,
        pairs=SuspectRows(spool, QBO_DOC_NUMBER_MAX, main), currencies=currencies,
        company_scope=company_scope, customer_scope=customer_scope)
    return snapshot


def spool_identity(spool: ReportSpool) -> str:
    """:func:`reconciliation_id` of the spool's invoice rows, from the text SQLite
    gives them (no row object): the same bytes hashed, the same id."""
    digest = hashlib.sha256()
    for text in spool.identity_pages():
        digest.update(text.encode())
    return digest.hexdigest()[:12]


def reconciliation_id(rows: Iterable[ReportRow]) -> str:
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
