"""Per-invoice resync (seed 000): refetch one invoice from both sides and the
customer's credits, show before -> after, record it in the sync history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from recon_tui.cache import Cache, Change, PairRow
from recon_tui.config import ConfigError
from recon_tui.connectors.base import ConnectorError, LedgerConnector, PsaConnector
from recon_tui.models import (
    LedgerInvoice,
    OrganizationalCredit,
    PsaInvoice,
    SyncRun,
    SyncStatus,
    SyncStep,
)
from recon_tui.refresh import refresh_invoices
from recon_tui.sync import sync_lock


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
                       psa: PsaInvoice | None, before: list[PairRow]) -> list[LedgerInvoice]:
    """The ledger invoice(s) this number means: the PSA's recorded link, the ids
    the cache paired it with, and the ledger's own invoice of that doc number."""
    ids = {row.ledger_invoice_id for row in before if row.ledger_invoice_id}
    if psa is not None and psa.ledger_invoice_id:
        ids.add(psa.ledger_invoice_id)
    found: dict[str, LedgerInvoice] = {}
    for invoice_id in sorted(ids):
        invoice = ledger.invoice_by_id(invoice_id)
        if invoice is not None:
            found[invoice.id] = invoice
    by_number = ledger.invoice_by_doc_number(number)
    if by_number is not None:
        found[by_number.id] = by_number
    return list(found.values())


def resync_invoice(cache: Cache, psa: PsaConnector, ledger: LedgerConnector,
                   number: str) -> ResyncResult:
    """Refetch invoice ``number`` (a PSA invoice number or a ledger doc number)."""
    number = number.strip()
    if not number:
        raise ResyncError("give an invoice number")
    with sync_lock(cache):
        return _resync(cache, psa, ledger, number)


def _resync(cache: Cache, psa: PsaConnector, ledger: LedgerConnector,
            number: str) -> ResyncResult:
    before = cache.pairs_for_number(number)
    run = SyncRun(kind="resync", target=number, started_at=datetime.now(UTC),
                  steps=[SyncStep("invoice", "psa"), SyncStep("invoice", "ledger"),
                         SyncStep("credits", "ledger")])
    cache.start_sync_run(run)
    assert run.id is not None
    current = run.steps[0]
    try:
        psa_invoice = psa.invoice_by_number(number)
        current = run.steps[1]
        ledger_invoices = _ledger_candidates(cache, ledger, number, psa_invoice, before)
        current = run.steps[2]
        customer_ids = sorted({i.customer_id for i in ledger_invoices}
                              | {r.ledger_customer_id for r in before if r.ledger_customer_id})
        credits: list[OrganizationalCredit] = []
        for customer_id in customer_ids:
            credits.extend(ledger.customer_credits(customer_id))
    except (ConnectorError, ConfigError) as exc:
        current.status = SyncStatus.FAILED
        current.error = str(exc)
        run.status, run.error = SyncStatus.FAILED, f"{current.system} {current.name}: {exc}"
        run.finished_at = datetime.now(UTC)
        cache.save_sync_progress(run)
        raise ResyncError(run.error) from exc

    if psa_invoice is None and not ledger_invoices and not before:
        run.status = SyncStatus.FAILED
        run.error = f"invoice {number} is in neither system"
        run.finished_at = datetime.now(UTC)
        cache.save_sync_progress(run)
        raise ResyncError(run.error)

    # Ledger invoices the cache paired with this number that the ledger no longer
    # has: confirmed gone by a successful read of that id returning "not found".
    fetched_ids = {i.id for i in ledger_invoices}
    vanished = sorted({r.ledger_invoice_id for r in before
                       if r.ledger_invoice_id and r.ledger_invoice_id not in fetched_ids
                       and cache.ledger_invoice(r.ledger_invoice_id) is not None})

    changes: list[Change] = []
    with cache.transaction():
        results = [
            cache.upsert_psa_invoices([psa_invoice] if psa_invoice else []),
            cache.upsert_ledger_invoices(ledger_invoices),
            cache.upsert_credits(credits),
        ]
        results[1].merge(cache.delete_ledger_invoices(vanished))
        for step, result in zip(run.steps, results, strict=True):
            step.status = SyncStatus.SUCCEEDED
            step.created, step.updated = result.created, result.updated
            step.unchanged, step.deleted = result.unchanged, result.deleted
            cache.record_changes(run.id, f"{step.system} {step.name}", result.changes)
            changes.extend(result.changes)
        refresh_invoices(
            cache,
            psa_ids=[psa_invoice.id] if psa_invoice else [],
            ledger_ids=sorted(fetched_ids | set(vanished)),
            numbers=[number],
            # A credit that moved to this customer (or was used up) leaves its old
            # owner too: that client's row changes as well.
            customer_ids=sorted(set(customer_ids) | results[2].owners),
        )
        run.status = SyncStatus.SUCCEEDED
    run.finished_at = datetime.now(UTC)
    cache.save_sync_progress(run)
    return ResyncResult(number, before, cache.pairs_for_number(number), changes, run)
