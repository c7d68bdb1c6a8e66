"""The steps of a full sync: what each reads and how it is written.

PSA companies, contacts, invoices and credit memos, their export status and
deletions; then ledger customers, invoices, credit memos, payments (with what
each applies to which invoice) and deletions; last, the PSA's payments of the
invoices whose balances disagree (ConnectWise lists them one invoice per
request, so only where they can explain something). ``recon_tui.sync`` runs
them: every fetch first (both systems at once, each step as soon as the steps
named in its ``after`` are read: ``recon_tui.sync_fetch``), each page put in a
stage as it arrives (``recon_tui.cache.stage``), then every apply in plan order
in one transaction, streaming the pages back one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from typing import Any

from recon_tui.cache import ApplyResult, Cache
from recon_tui.cache.held_ids import held_but_unlisted, held_ledger_ids, held_psa_invoice_ids
from recon_tui.cache.stage import DocFigures, Staged, SyncStage
from recon_tui.cache.stage_rows import (
    STAGED_COMPANIES,
    STAGED_CONTACTS,
    STAGED_CUSTOMERS,
    STAGED_LEDGER_INVOICES,
    STAGED_PSA_INVOICES,
    StagedTable,
)
from recon_tui.connectors.base import LedgerConnector, PsaConnector, invoice_rows
from recon_tui.models import (
    CompanyMapping,
    DocKind,
    LedgerInvoice,
    OrganizationalCredit,
)
from recon_tui.psa_payments import (
    invoices_to_read,
    nothing_applied,
    read_payments,
)
from recon_tui.refresh import SyncChanges
from recon_tui.transactions import InvoiceTxn, LedgerPayment, Side

#: A step's pages as staged, each call a fresh pass from the first page (a
#: ``Staged``: a table step's rows are its ``table``).
Pages = Staged


@dataclass(frozen=True, slots=True)
class _StepPlan:
    name: str
    system: str
    #: Reads the step's records; the stage holds what the earlier steps read.
    fetch: Callable[[SyncStage], Iterable[Any]]
    #: Writes the step's staged pages (inside the sync's one transaction).
    apply: Callable[[Cache, Pages], ApplyResult]
    #: What its records are, so the stage gives back exactly those.
    record_type: Any = str
    #: What the stage keeps of each record for later steps: its id, its figures.
    id_of: Callable[[Any], str] | None = None
    figures: Callable[[Any], DocFigures | None] | None = None
    #: The steps (keys) whose staged records its fetch reads: it starts once they
    #: are read; the others start at once, beside it (``recon_tui.sync_fetch``).
    after: tuple[str, ...] = ()
    #: Staged as rows of its cache table and applied from there by SQL (its
    #: ids and figures are read off the rows; ``id_of``/``figures`` unused).
    table: StagedTable | None = None

    @property
    def key(self) -> str:
        return f"{self.system} {self.name}"


def _since_datetime(since: date | None) -> datetime | None:
    return datetime.combine(since, time.min, tzinfo=UTC) if since else None


STEP_NAMES: tuple[tuple[str, str], ...] = (
    ("psa", "companies"), ("psa", "contacts"), ("psa", "invoices"), ("psa", "export status"),
    ("psa", "deleted invoices"),
    ("ledger", "customers"), ("ledger", "invoices"), ("ledger", "credit memos"),
    ("ledger", "payments"), ("ledger", "deletions"), ("psa", "invoice payments"),
)

#: Ledger entity names as QBO spells them, for the deletion step.
LEDGER_INVOICE, LEDGER_CREDIT_MEMO, LEDGER_PAYMENT = "Invoice", "CreditMemo", "Payment"


def plan_step_names() -> list[tuple[str, str]]:
    """(system, step) in the order a full sync runs them, for progress displays."""
    return list(STEP_NAMES)


def _items(pages: Pages) -> Iterator[Any]:
    return chain.from_iterable(pages())


def _upsert(write: Callable[[Cache, Iterable[Any]], ApplyResult]
            ) -> Callable[[Cache, Pages], ApplyResult]:
    """A step written by one streaming upsert over all its pages (the upsert
    decides once whether creations are news, and writes in chunks)."""
    return lambda cache, pages: write(cache, _items(pages))


def _table_step(name: str, system: str, fetch: Callable[[SyncStage], Iterable[Any]],
                staged: StagedTable, since: date | None) -> _StepPlan:
    """A step staged as rows and applied by SQL; a dated read keeps what each
    change touched (a complete one refreshes everything, so it needs none)."""
    def apply(cache: Cache, pages: Pages) -> ApplyResult:
        return cache.records.upsert_staged(staged.spec, pages.table, pages.count,
                                           touch=since is not None)

    return _StepPlan(name, system, fetch, apply, table=staged)


def _apply_credit_memos(cache: Cache, pages: Pages) -> ApplyResult:
    """The memos as documents (they pair with the PSA's credit memos) and what is
    left of each as a credit on account; the history lists the memo changes once."""
    result = cache.records.upsert_ledger_credit_memos(_items(pages))
    credits = cache.records.upsert_credits(OrganizationalCredit.from_credit_memo(m)
                                           for m in _items(pages))
    result.owners |= credits.owners
    return result


def _apply_payments(cache: Cache, pages: Pages) -> ApplyResult:
    """Each payment's unapplied amount as a credit, and its applications to
    invoices (an application it no longer lists is kept, marked removed)."""
    result = cache.records.upsert_credits(p.credit for p in _items(pages))
    first_read = not cache.txns.has_txns(Side.LEDGER)
    for page in pages():
        payments: list[LedgerPayment] = page
        applied = cache.txns.replace_txns(
            Side.LEDGER, "txn_id", [p.credit.id for p in payments],
            [txn for p in payments for txn in p.applications], first_read=first_read,
            removed_how="no longer applied in the ledger (edited, voided or unapplied)")
        cache.txns.clear_causes_for(Side.LEDGER, sorted(applied.touched))
        result.changes.extend(applied.changes)
    return result


def _apply_ledger_deletions(cache: Cache, pages: Pages) -> ApplyResult:
    result = ApplyResult()
    for page in pages():
        by_entity: dict[str, list[str]] = {}
        for entity, record_id in page:
            by_entity.setdefault(entity, []).append(record_id)
        result.merge(cache.records.delete_ledger_invoices(by_entity.get(LEDGER_INVOICE, [])))
        result.merge(cache.records.delete_ledger_credit_memos(
            by_entity.get(LEDGER_CREDIT_MEMO, [])))
        payments = by_entity.get(LEDGER_PAYMENT, [])
        result.merge(cache.records.delete_payment_credits(payments))
        removed = cache.txns.remove_txns(Side.LEDGER, payments, removed_how="deleted in the ledger")
        cache.txns.clear_causes_for(Side.LEDGER, sorted(removed.touched))
        result.changes.extend(removed.changes)
    return result


def _apply_psa_payments(cache: Cache, pages: Pages) -> ApplyResult:
    """The payment lists read: each replaces what the cache held for its invoice."""
    result = ApplyResult()
    for page in pages():
        read: list[tuple[str, list[InvoiceTxn]]] = page
        result.merge(cache.txns.replace_txns(Side.PSA, "invoice_id", [i for i, _ in read],
                                        [txn for _, txns in read for txn in txns],
                                        removed_how="no longer listed in the PSA"))
        cache.txns.clear_causes_for(Side.PSA, [i for i, _ in read])
    return result


SAFETY_MARGIN = timedelta(days=1)
#: Meta key: the start of the last sync after which the cache held everything
#: both systems had changed up to that moment. Absent, the next sync reads all.
COMPLETE_THROUGH = "complete_through"


def leaves_cache_complete(since: date | None, complete_before: str | None) -> bool:
    """A complete read always does; a dated one only when it starts no later than
    where the cache was already complete, else changes in the gap would be
    skipped for good by the next sync."""
    if since is None:
        return True
    if not complete_before:
        return False
    return since <= (datetime.fromisoformat(complete_before) - SAFETY_MARGIN).date()


def master_data_since(cache: Cache, since: date | None) -> datetime | None:
    """Where the PSA's master data (companies, contacts) is read from: the
    same moment as the documents when the cache already holds every record
    changed before it (a sync that left the cache complete started no earlier
    than ``since`` plus the safety margin: the scheduled daily sync), else None,
    the whole list. An old company can own a new invoice; it is in the cache
    only if a complete read put it there, so a date typed past that point (or a
    cache never read completely) reads master data in full.

    Master data is never deleted by a sync (an upsert of what was read), so a
    dated read loses nothing: what it did not read stays as the cache held it,
    exactly as a full read that found it unchanged would leave it."""
    if since is None or not leaves_cache_complete(since, cache.get_meta(COMPLETE_THROUGH)):
        return None
    return _since_datetime(since)


def plan_full_sync(cache: Cache, psa: PsaConnector, ledger: LedgerConnector,
                   since: date | None) -> list[_StepPlan]:
    """The ordered steps. Documents are read from ``since``, or all of them when
    it is None (a first sync, or a complete reload); PSA companies and contacts
    from the same moment when the cache is complete up to it
    (:func:`master_data_since`), else in full; ledger customers in full (their
    balance moves with every document).

    Deletions are decided from complete reads only: with ``since`` None the
    documents just read are the whole book (each read proved it against the
    system's own count); otherwise the PSA compares counts and, when they
    disagree, a complete id list, and QBO reports its own deletions (CDC).
    """
    plans = [
        *_psa_steps(cache, psa, since),
        *_ledger_steps(cache, ledger, since),
        _StepPlan("invoice payments", "psa", lambda stage: _read_psa_payments(cache, psa, stage),
                  _apply_psa_payments, tuple[str, list[InvoiceTxn]],
                  after=("psa invoices", "ledger invoices")),
    ]
    assert [(p.system, p.name) for p in plans] == list(STEP_NAMES)
    return plans


def _read_psa_payments(cache: Cache, psa: PsaConnector,
                       stage: SyncStage) -> Iterator[tuple[str, list[InvoiceTxn]]]:
    """The payment lists of the invoices that can explain a difference, those
    whose list is proved empty without a request (``nothing_applied``)."""
    wanted = invoices_to_read(cache, stage, "psa invoices", "ledger invoices")
    return read_payments(psa, wanted, proved_empty=nothing_applied(cache, wanted))


def _psa_steps(cache: Cache, psa: PsaConnector, since: date | None) -> list[_StepPlan]:
    """Companies, contacts, invoices (and credit memos), export status, deletions."""
    moment = _since_datetime(since)
    master = master_data_since(cache, since)
    unexported: dict[str, set[str] | None] = {}

    def fetch_unexported(_: SyncStage) -> list[str]:
        unexported["ids"] = ids = psa.unexported_invoice_numbers()
        return sorted(ids) if ids is not None else []

    def apply_unexported(c: Cache, pages: Pages) -> ApplyResult:
        if unexported.get("ids") is None:
            return ApplyResult()
        return c.records.mark_unexported(set(_items(pages)))

    def fetch_psa_deleted(stage: SyncStage) -> list[str]:
        if since is None:  # the cache against the stage, in SQL
            return held_but_unlisted(cache, "psa invoices", stage.listed("psa invoices"))
        # The PSA compares counts first: the held ids are counted, not loaded.
        pulled = stage.ids("psa invoices")
        return sorted(psa.missing_invoice_ids(held_psa_invoice_ids(cache, pulled)))

    return [
        _table_step("companies", "psa", lambda _: psa.companies(master), STAGED_COMPANIES,
                    since),
        _table_step("contacts", "psa", lambda _: psa.contacts(master), STAGED_CONTACTS, since),
        _table_step("invoices", "psa", lambda _: invoice_rows(psa, moment), STAGED_PSA_INVOICES,
                    since),
        # ConnectWise hands over the unposted list its invoice read just took.
        _StepPlan("export status", "psa", fetch_unexported, apply_unexported, str,
                  after=("psa invoices",)),
        _StepPlan("deleted invoices", "psa", fetch_psa_deleted,
                  _upsert(lambda c, ids: c.records.delete_psa_invoices(ids)), str,
                  after=("psa invoices",)),
    ]


def _ledger_steps(cache: Cache, ledger: LedgerConnector,
                  since: date | None) -> list[_StepPlan]:
    """Customers, invoices, credit memos, payments, deletions."""
    moment = _since_datetime(since)

    def fetch_ledger_deleted(stage: SyncStage) -> list[tuple[str, str]]:
        steps = {LEDGER_INVOICE: "ledger invoices", LEDGER_CREDIT_MEMO: "ledger credit memos",
                 LEDGER_PAYMENT: "ledger payments"}
        if since is None:  # the cache against the stage, in SQL
            return [(entity, record_id) for entity, step in sorted(steps.items())
                    for record_id in held_but_unlisted(cache, entity, stage.listed(step))]
        pulled = {entity: stage.ids(step) for entity, step in steps.items()}
        # CDC names the few deleted: the held ids are looked up, not loaded
        # (a full id comparison, when CDC cannot answer, still reads them all).
        deleted = ledger.deleted_ids(held_ledger_ids(cache, pulled), moment)
        return sorted((entity, record_id) for entity, ids in deleted.items()
                      for record_id in ids)

    return [
        # Ledger customers are read in full: a QBO Customer's Balance moves with
        # every invoice and payment, and Intuit does not document that this
        # touches the customer's MetaData.LastUpdatedTime, so a dated read could
        # leave a stale balance that a full refresh would not (10,000 customers
        # are 10 pages).
        _table_step("customers", "ledger", lambda _: ledger.customers(None),
                    STAGED_CUSTOMERS, since),
        _table_step("invoices", "ledger", lambda _: invoice_rows(ledger, moment),
                    STAGED_LEDGER_INVOICES, since),
        _StepPlan("credit memos", "ledger", lambda _: ledger.credit_memos(moment),
                  _apply_credit_memos, LedgerInvoice, id_of=lambda m: m.id),
        _StepPlan("payments", "ledger", lambda _: ledger.payments(moment), _apply_payments,
                  LedgerPayment, id_of=lambda p: p.credit.id),
        _StepPlan("deletions", "ledger", fetch_ledger_deleted, _apply_ledger_deletions,
                  tuple[str, str],
                  after=("ledger invoices", "ledger credit memos", "ledger payments")),
    ]


def _changes(results: Mapping[str, ApplyResult], deleted_ledger: Iterable[tuple[str, str]],
             new_mappings: list[CompanyMapping]) -> SyncChanges:
    """What the refresh needs to know of the applied steps."""
    credits = ApplyResult()
    for key in ("ledger credit memos", "ledger payments", "ledger deletions"):
        credits.owners |= results[key].owners
    deleted: dict[str, set[str]] = {LEDGER_INVOICE: set(), LEDGER_CREDIT_MEMO: set()}
    for entity, record_id in deleted_ledger:
        if entity in deleted:
            deleted[entity].add(record_id)
    return SyncChanges(
        companies=results["psa companies"],
        contacts=results["psa contacts"],
        customers=results["ledger customers"],
        credits=credits,
        psa_documents=(results["psa invoices"].touched | results["psa export status"].touched
                       | results["psa deleted invoices"].touched),
        ledger_documents={
            DocKind.INVOICE: results["ledger invoices"].touched | deleted[LEDGER_INVOICE],
            DocKind.CREDIT_MEMO: (results["ledger credit memos"].touched
                                  | deleted[LEDGER_CREDIT_MEMO]),
        },
        new_mappings=new_mappings,
    )
