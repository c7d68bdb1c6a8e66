"""Which PSA invoices a sync reads the payments of, and reading them.

ConnectWise lists payments per invoice (one request each), so reading them for
a whole book would cost one request per invoice. A sync reads them only where
they can explain something: an invoice, changed on either side in this sync,
whose PSA balance differs from its ledger copy's while the totals agree (money
applied on one side only), plus the rows already discrepant that way whose
payments were never read. Everything else keeps what the cache holds.

The choice is made from what the sync has just fetched and the cache, before
anything is written; a row it misses (an unusual pairing) is read by the next
sync (it is then discrepant and unread) or by a resync.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from recon_tui.cache import Cache
from recon_tui.connectors.base import ConnectorError, PsaConnector
from recon_tui.models import DocKind, LedgerInvoice, PsaInvoice
from recon_tui.money import ZERO
from recon_tui.transactions import InvoiceTxn


def _disagree(psa: PsaInvoice, ledger: LedgerInvoice) -> bool:
    return psa.total == ledger.total and psa.owing != ledger.balance


def invoices_to_read(cache: Cache, psa_invoices: Iterable[PsaInvoice],
                     ledger_invoices: Iterable[LedgerInvoice]) -> list[PsaInvoice]:
    """PSA invoices whose payments this sync should read (by id), as this sync
    read them or, when it did not, as the cache holds them."""
    psa_read = [p for p in psa_invoices if p.kind is DocKind.INVOICE]
    ledger_read = [i for i in ledger_invoices if i.kind is DocKind.INVOICE]
    ledger_by_id = {i.id: i for i in ledger_read}
    ledger_by_number = {i.doc_number: i for i in ledger_read if i.doc_number}
    psa_by_id = {p.id: p for p in psa_read}
    psa_by_number = {p.number: p for p in psa_read}
    wanted: set[str] = set()

    # PSA invoices read now: their ledger copy (read now, else cached).
    links = {p.id: p.ledger_invoice_id for p in psa_read if p.ledger_invoice_id}
    for held in cache.psa_documents_related(DocKind.INVOICE, ids=sorted(psa_by_id)):
        if held.ledger_invoice_id and held.id not in links:
            links[held.id] = held.ledger_invoice_id
    missing_ids = sorted({i for i in links.values() if i not in ledger_by_id})
    missing_numbers = sorted({p.number for p in psa_read if p.number not in ledger_by_number})
    cached_ledger = cache.ledger_documents_related(DocKind.INVOICE, ids=missing_ids,
                                                   numbers=missing_numbers)
    cached_by_id = {i.id: i for i in cached_ledger}
    cached_by_number = {i.doc_number: i for i in cached_ledger if i.doc_number}
    for psa in psa_read:
        link = links.get(psa.id)
        ledger = (ledger_by_id.get(link) or cached_by_id.get(link)) if link else None
        ledger = ledger or ledger_by_number.get(psa.number) or cached_by_number.get(psa.number)
        if ledger is not None and _disagree(psa, ledger):
            wanted.add(psa.id)

    # Ledger invoices read now whose PSA copy did not change: the cached PSA copy.
    others = [i for i in ledger_read if i.doc_number not in psa_by_number]
    held_psa = cache.psa_documents_related(
        DocKind.INVOICE, numbers=sorted({i.doc_number for i in others if i.doc_number}),
        ledger_ids=sorted({i.id for i in others}))
    by_link = {p.ledger_invoice_id: p for p in held_psa if p.ledger_invoice_id}
    by_number = {p.number: p for p in held_psa}
    for ledger in others:
        psa = by_link.get(ledger.id) or by_number.get(ledger.doc_number)
        if psa is not None and psa.id not in psa_by_id and _disagree(psa, ledger):
            wanted.add(psa.id)

    wanted.update(cache.psa_payments_unread())
    held = {p.id: p for p in cache.psa_documents_related(
        DocKind.INVOICE, ids=sorted(wanted - set(psa_by_id)))}
    return [psa_by_id.get(i) or held[i] for i in sorted(wanted) if i in psa_by_id or i in held]


def read_payments(psa: PsaConnector, invoices: Iterable[PsaInvoice],
                  cancel: threading.Event | None = None
                  ) -> Iterator[tuple[str, list[InvoiceTxn]]]:
    """(invoice id, its payments) for each, one request each; nothing for a PSA
    whose API lists no payments (Autotask).

    ConnectWise gives no count for this list, so each is proved against the
    invoice itself: what the payments add up to must be what the invoice says
    was applied (its total less its balance), else the read fails (an empty or
    short answer must never pass for "no payments")."""
    if not getattr(psa, "lists_payments", False):
        return
    for invoice in invoices:
        if cancel is not None and cancel.is_set():
            return  # the sync's own check raises SyncCancelled
        txns = psa.invoice_payments(invoice.id)
        listed = sum((t.amount for t in txns), ZERO)
        applied = invoice.total - invoice.owing
        if listed != applied:
            raise ConnectorError(
                psa.kind, f"list payments of invoice {invoice.number}: the payments listed "
                f"add up to {listed:,.2f}, the invoice shows {applied:,.2f} applied; the "
                "answer was incomplete or the invoice changed meanwhile, so nothing was "
                "taken from it (sync again)")
        yield invoice.id, txns
