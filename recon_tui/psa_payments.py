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
from collections.abc import Iterable, Iterator, Set

from recon_tui.cache import Cache
from recon_tui.cache.stage import DocFigures, SyncStage
from recon_tui.connectors.base import ConnectorError, PsaConnector
from recon_tui.connectors.paging import fetch_in_order
from recon_tui.models import DocKind, LedgerInvoice, PsaInvoice
from recon_tui.money import ZERO
from recon_tui.transactions import InvoiceTxn


def _disagree(psa: PsaInvoice | DocFigures, ledger: LedgerInvoice | DocFigures) -> bool:
    owing = ledger.owing if isinstance(ledger, DocFigures) else ledger.balance
    return psa.total == ledger.total and psa.owing != owing


def psa_figures(invoice: PsaInvoice) -> DocFigures | None:
    """What the stage keeps of a PSA invoice read this sync (credit memos: nothing)."""
    if invoice.kind is not DocKind.INVOICE:
        return None
    return DocFigures(invoice.id, invoice.number, invoice.ledger_invoice_id, invoice.total,
                      invoice.owing)


def ledger_figures(invoice: LedgerInvoice) -> DocFigures | None:
    """What the stage keeps of a ledger invoice read this sync."""
    if invoice.kind is not DocKind.INVOICE:
        return None
    return DocFigures(invoice.id, invoice.doc_number or "", None, invoice.total,
                      invoice.balance)


def invoices_to_read(cache: Cache, stage: SyncStage, psa_step: str,
                     ledger_step: str) -> list[PsaInvoice | DocFigures]:
    """PSA invoices whose payments this sync should read (by id), as this sync
    read them or, when it did not, as the cache holds them. Walks the figures
    staged (not the pages themselves), a page at a time, each PSA invoice with
    the ledger invoice staged beside it (``SyncStage.matched_pages``: one join
    a page), else the cache's, so the choice never holds a whole book."""
    wanted: dict[str, PsaInvoice | DocFigures] = {}
    for matched in stage.matched_pages(psa_step, ledger_step):
        _psa_page(cache, stage, ledger_step, matched, wanted)
    for others in stage.unmatched_pages(ledger_step, psa_step):
        _ledger_page(cache, stage, psa_step, others, wanted)
    # The rows discrepant that way whose payments were never read.
    unread = [i for i in cache.txns.psa_payments_unread() if i not in wanted]
    read_now = stage.docs(psa_step, ids=unread)
    wanted.update((f.id, f) for f in read_now)
    rest = sorted(set(unread) - {f.id for f in read_now})
    wanted.update((p.id, p) for p in cache.recon.psa_documents_related(DocKind.INVOICE, ids=rest))
    return [wanted[i] for i in sorted(wanted)]


Matched = tuple[DocFigures, DocFigures | None, DocFigures | None]


def _psa_page(cache: Cache, stage: SyncStage, ledger_step: str, matched: list[Matched],
              wanted: dict[str, PsaInvoice | DocFigures]) -> None:
    """PSA invoices read now: compared with their ledger copy, the one their
    link names, else the one of their number (each read now, else cached). A
    link is the invoice's own, else the one the cache remembers."""
    psa_read = [psa for psa, _, _ in matched]
    by_link = {psa.id: found for psa, found, _ in matched if psa.link and found}
    by_number = {psa.id: found for psa, _, found in matched if found}
    links = {p.id: p.link for p in psa_read if p.link}
    remembered = {held.id: held.ledger_invoice_id for held in cache.recon.psa_documents_related(
        DocKind.INVOICE, ids=[p.id for p in psa_read])
        if held.ledger_invoice_id and held.id not in links}
    if remembered:
        staged = {f.id: f for f in stage.docs(ledger_step, ids=sorted(set(remembered.values())))}
        by_link.update((i, staged[link]) for i, link in remembered.items() if link in staged)
        links.update(remembered)
    missing_ids = sorted({links[i] for i in links if i not in by_link})
    missing_numbers = sorted({p.number for p in psa_read if p.id not in by_number})
    cached_ledger = cache.recon.ledger_documents_related(DocKind.INVOICE, ids=missing_ids,
                                                   numbers=missing_numbers)
    cached_by_id = {i.id: i for i in cached_ledger}
    cached_by_number = {i.doc_number: i for i in cached_ledger if i.doc_number}
    for psa in psa_read:
        link = links.get(psa.id)
        ledger: LedgerInvoice | DocFigures | None = (
            (by_link.get(psa.id) or cached_by_id.get(link)) if link else None)
        ledger = ledger or by_number.get(psa.id) or cached_by_number.get(psa.number)
        if ledger is not None and _disagree(psa, ledger):
            wanted[psa.id] = psa


def _ledger_page(cache: Cache, stage: SyncStage, psa_step: str, others: list[DocFigures],
                 wanted: dict[str, PsaInvoice | DocFigures]) -> None:
    """Ledger invoices read now that no PSA invoice read now bears the number
    of (``SyncStage.unmatched_pages``): compared with the cached PSA copy."""
    if not others:
        return
    held_psa = cache.recon.psa_documents_related(
        DocKind.INVOICE, numbers=sorted({i.number for i in others if i.number}),
        ledger_ids=sorted({i.id for i in others}))
    read_now = stage.has_ids(psa_step, [p.id for p in held_psa])
    by_link = {p.ledger_invoice_id: p for p in held_psa if p.ledger_invoice_id}
    by_number = {p.number: p for p in held_psa}
    for other in others:
        held = by_link.get(other.id) or by_number.get(other.number)
        if held is not None and held.id not in read_now and _disagree(held, other):
            wanted[held.id] = held


def nothing_applied(cache: Cache, invoices: Iterable[PsaInvoice | DocFigures]) -> set[str]:
    """Those of ``invoices`` whose payment list is already proved empty, so no
    request need ask: the PSA's own figures show nothing applied (owing equals
    the total, the same proof :func:`read_payments` holds each list to: its
    payments, all positive, add up to the total less the balance), and the
    cache holds no live payment of theirs (a list that shrank to nothing is
    still read, so its removal rests on the PSA's answer, not on this). An
    invoice paid in the ledger and still open in the PSA, the commonest
    difference of all, costs no request; it reads as read, with no payments."""
    empty = sorted({i.id for i in invoices if i.total == i.owing})
    return set(empty) - cache.txns.psa_invoices_with_live_payments(empty)


def read_payments(psa: PsaConnector, invoices: Iterable[PsaInvoice | DocFigures],
                  cancel: threading.Event | None = None, *,
                  proved_empty: Set[str] = frozenset()
                  ) -> Iterator[tuple[str, list[InvoiceTxn]]]:
    """(invoice id, its payments) for each, one request each, up to the
    connector's ``max_concurrency`` at once, in the order given; nothing for a
    PSA whose API lists no payments (Autotask). An invoice among
    ``proved_empty`` (:func:`nothing_applied`) is given no payments, unasked,
    in this thread: only the lists asked for go through the request pool (a
    daily sync's 500 proved-empty invoices were 500 pool jobs, each taking one
    of the PSA's request slots for nothing).

    ConnectWise gives no count for this list, so each is proved against the
    invoice itself: what the payments add up to must be what the invoice says
    was applied (its total less its balance), else the read fails (an empty or
    short answer must never pass for "no payments")."""
    if not getattr(psa, "lists_payments", False):
        return
    wanted = list(invoices)
    asked = [invoice for invoice in wanted if invoice.id not in proved_empty]

    def read(index: int) -> tuple[str, list[InvoiceTxn]] | None:
        if cancel is not None and cancel.is_set():
            return None  # the sync's own check raises SyncCancelled
        invoice = asked[index]
        txns = psa.invoice_payments(invoice.id)
        listed = sum((t.amount for t in txns), ZERO)
        applied = invoice.total - invoice.owing
        if listed != applied:
            raise ConnectorError(
                psa.kind, f"list payments of invoice {invoice.number}: the payments listed "
                f"add up to {listed:,.2f}, the invoice shows {applied:,.2f} applied; the "
                "answer was incomplete or the invoice changed meanwhile, so nothing was "
                "taken from it (sync again)")
        return invoice.id, txns

    answers = fetch_in_order(read, len(asked), psa.max_concurrency, name="payments")
    try:
        for invoice in wanted:
            answer = None if cancel is not None and cancel.is_set() else (
                (invoice.id, []) if invoice.id in proved_empty else next(answers))
            if answer is None:
                return
            yield answer
    finally:
        answers.close()  # an early stop ends the pool's reads
