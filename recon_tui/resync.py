"""Per-invoice resync (seed 000): refetch one invoice from both sides and the
customer's credits, show before -> after, record it in the sync history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from recon_tui.cache import ApplyResult, Cache, Change, PairRow
from recon_tui.cache.history import SyncHistory
from recon_tui.config import ConfigError
from recon_tui.connectors.base import ConnectorError, LedgerConnector, PsaConnector
from recon_tui.models import (
    DocKind,
    LedgerInvoice,
    OrganizationalCredit,
    PsaInvoice,
    SyncRun,
    SyncStatus,
    SyncStep,
)
from recon_tui.psa_payments import read_payments
from recon_tui.refresh import refresh_documents
from recon_tui.row_diagnosis import diagnose_pending
from recon_tui.sync import check_books, sync_lock
from recon_tui.transactions import InvoiceTxn, LedgerPayment, Side


class ResyncError(RuntimeError):
    """Neither system knows the number, or a system failed; nothing was written."""


@dataclass(slots=True)
class ResyncResult:
    number: str
    before: list[PairRow]
    after: list[PairRow]
    changes: list[Change] = field(default_factory=list)
    run: SyncRun | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _ledger_candidates(cache: Cache, ledger: LedgerConnector, number: str,
                       psa: PsaInvoice | None, before: list[PairRow],
                       kind: DocKind) -> tuple[list[LedgerInvoice], list[str]]:
    """The ledger documents of ``kind`` this number means (the PSA document's link,
    the ids the cache paired it with, the ledger's own document of that number),
    and the ids the cache held that the ledger confirmed gone (a successful read
    of that id answering "not found", never a failed one)."""
    by_id = ledger.credit_memo_by_id if kind is DocKind.CREDIT_MEMO else ledger.invoice_by_id
    by_number = (ledger.credit_memo_by_doc_number if kind is DocKind.CREDIT_MEMO
                 else ledger.invoice_by_doc_number)
    records = cache.records
    held = records.ledger_credit_memo if kind is DocKind.CREDIT_MEMO else records.ledger_invoice
    ids = {row.ledger_invoice_id for row in before if row.ledger_invoice_id and row.kind is kind}
    if psa is not None and psa.kind is kind and psa.ledger_invoice_id:
        ids.add(psa.ledger_invoice_id)
    found: dict[str, LedgerInvoice] = {}
    gone: list[str] = []
    for document_id in sorted(ids):
        document = by_id(document_id)
        if document is not None:
            found[document.id] = document
        elif held(document_id) is not None:
            gone.append(document_id)
    numbered = by_number(number)
    if numbered is not None:
        found[numbered.id] = numbered
    return list(found.values()), [i for i in gone if i not in found]


def resync_invoice(cache: Cache, psa: PsaConnector, ledger: LedgerConnector,
                   number: str) -> ResyncResult:
    """Refetch invoice ``number`` (a PSA invoice number or a ledger doc number)."""
    number = number.strip()
    if not number:
        raise ResyncError("give an invoice number")
    with sync_lock(cache):
        check_books(cache, psa, ledger)
        return _resync(cache, psa, ledger, number)


@dataclass(slots=True)
class _Fetched:
    """What both systems answered for the number, before anything is written."""

    psa_invoice: PsaInvoice | None
    ledger_invoices: list[LedgerInvoice]
    vanished: list[str]
    ledger_memos: list[LedgerInvoice]
    vanished_memos: list[str]
    customer_ids: list[str]
    credits: list[OrganizationalCredit]
    payments: list[LedgerPayment]
    psa_payments: list[InvoiceTxn] | None


def _fail(history: SyncHistory, run: SyncRun, error: str) -> ResyncError:
    """Record the run failed (nothing written) and the error to raise."""
    run.status, run.error = SyncStatus.FAILED, error
    run.finished_at = datetime.now(UTC)
    history.save_sync_progress(run)
    return ResyncError(error)


def _fetch(cache: Cache, psa: PsaConnector, ledger: LedgerConnector, number: str,
           before: list[PairRow], run: SyncRun) -> _Fetched:
    """Read the number's documents, its customers' credits and payments, step by
    step; a failed read marks its step and fails the run."""
    current = run.steps[0]
    try:
        psa_invoice = psa.invoice_by_number(number)
        current = run.steps[1]
        ledger_invoices, vanished = _ledger_candidates(cache, ledger, number, psa_invoice,
                                                       before, DocKind.INVOICE)
        ledger_memos, vanished_memos = _ledger_candidates(cache, ledger, number, psa_invoice,
                                                          before, DocKind.CREDIT_MEMO)
        current = run.steps[2]
        customer_ids = sorted({i.customer_id for i in (*ledger_invoices, *ledger_memos)}
                              | {r.ledger_customer_id for r in before if r.ledger_customer_id})
        credits: list[OrganizationalCredit] = []
        payments: list[LedgerPayment] = []
        for customer_id in customer_ids:
            credits.extend(ledger.customer_memo_credits(customer_id))
            payments.extend(ledger.customer_payments(customer_id))
        credits.extend(p.credit for p in payments)
        current = run.steps[3]
        psa_payments = (dict(read_payments(psa, [psa_invoice])).get(psa_invoice.id)
                        if psa_invoice is not None and psa.lists_payments else None)
    except (ConnectorError, ConfigError) as exc:
        current.status = SyncStatus.FAILED
        current.error = str(exc)
        raise _fail(cache.history, run, f"{current.system} {current.name}: {exc}") from exc
    return _Fetched(psa_invoice, ledger_invoices, vanished, ledger_memos, vanished_memos,
                    customer_ids, credits, payments, psa_payments)


def _step_results(cache: Cache, got: _Fetched) -> list[ApplyResult]:
    """Write what was fetched; one result per step of the run, in its order."""
    ledger_result = cache.records.upsert_ledger_invoices(got.ledger_invoices)
    ledger_result.merge(cache.records.upsert_ledger_credit_memos(got.ledger_memos))
    ledger_result.merge(cache.records.delete_ledger_invoices(got.vanished))
    ledger_result.merge(cache.records.delete_ledger_credit_memos(got.vanished_memos))
    ledger_ids = _ledger_ids(got)
    applied = cache.txns.replace_txns(
        Side.LEDGER, "invoice_id", ledger_ids,
        [t for p in got.payments for t in p.applications if t.invoice_id in ledger_ids],
        removed_how="no longer in the ledger (deleted, voided or unapplied)")
    ledger_result.changes.extend(applied.changes)
    psa_invoice = got.psa_invoice
    psa_result = (cache.txns.replace_txns(Side.PSA, "invoice_id", [psa_invoice.id],
                                          got.psa_payments,
                                          removed_how="no longer listed in the PSA")
                  if psa_invoice is not None and got.psa_payments is not None
                  else ApplyResult())
    return [
        cache.records.upsert_psa_invoices([psa_invoice] if psa_invoice else []),
        ledger_result,
        cache.records.upsert_credits(got.credits),
        psa_result,
    ]


def _ledger_ids(got: _Fetched) -> list[str]:
    return sorted({i.id for i in got.ledger_invoices} | set(got.vanished))


def _write(cache: Cache, got: _Fetched, number: str, run: SyncRun) -> list[Change]:
    """Apply, record and re-pair in one transaction: all of it or nothing."""
    assert run.id is not None
    changes: list[Change] = []
    with cache.transaction():
        results = _step_results(cache, got)
        for step, result in zip(run.steps, results, strict=True):
            step.status = SyncStatus.SUCCEEDED
            step.created, step.updated = result.created, result.updated
            step.unchanged, step.deleted = result.unchanged, result.deleted
            cache.history.record_changes(run.id, f"{step.system} {step.name}", result.changes)
            changes.extend(result.changes)
        # A credit that moved to this customer (or was used up) leaves its old owner
        # too: that client's row changes as well.
        customers = sorted(set(got.customer_ids) | results[2].owners)
        psa_invoice = got.psa_invoice
        refresh_documents(
            cache,
            psa_ids=[psa_invoice.id] if psa_invoice else [],
            ledger_ids={DocKind.INVOICE: {i.id for i in got.ledger_invoices} | set(got.vanished),
                        DocKind.CREDIT_MEMO: ({m.id for m in got.ledger_memos}
                                              | set(got.vanished_memos))},
            numbers=[number],
            customer_ids=customers,
        )
        cache.txns.clear_causes_for(Side.LEDGER, _ledger_ids(got))
        if psa_invoice is not None:
            cache.txns.clear_causes_for(Side.PSA, [psa_invoice.id])
        diagnose_pending(cache)
        run.status = SyncStatus.SUCCEEDED
    return changes


def _resync(cache: Cache, psa: PsaConnector, ledger: LedgerConnector,
            number: str) -> ResyncResult:
    before = cache.recon.pairs_for_number(number)
    run = SyncRun(kind="resync", target=number, started_at=datetime.now(UTC),
                  steps=[SyncStep("invoice", "psa"), SyncStep("invoice", "ledger"),
                         SyncStep("credits", "ledger"), SyncStep("payments", "psa")])
    cache.history.start_sync_run(run)
    assert run.id is not None
    got = _fetch(cache, psa, ledger, number, before, run)
    if (got.psa_invoice is None and not got.ledger_invoices and not got.ledger_memos
            and not before):
        raise _fail(cache.history, run, f"invoice {number} is in neither system")
    changes = _write(cache, got, number, run)
    run.finished_at = datetime.now(UTC)
    cache.history.save_sync_progress(run)
    return ResyncResult(number, before, cache.recon.pairs_for_number(number), changes, run)
