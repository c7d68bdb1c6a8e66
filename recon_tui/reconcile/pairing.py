"""Pairing: every PSA document and every ledger document in exactly one row.

The reference engine: the SQL recompute in ``recon_tui.cache.pairing_sql`` is proven
against it (tests/test_pairing_sql.py), so a change here is a change of the rules.
Pure functions over the shared models, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date

from recon_tui.models import DocKind, InvoicePair, LedgerInvoice, PsaInvoice, ReconStatus

__all__ = ["NaturalKey", "natural_key", "pair_documents", "pair_invoices", "pair_sort_key"]

_DIGIT_RUN = re.compile(r"[0-9]+")

NaturalKey = tuple[str, str]


def _pad_run(match: re.Match[str]) -> str:
    digits = match.group().lstrip("0") or "0"
    return f"{len(digits):03d}{digits}"


def natural_key(text: str) -> NaturalKey:
    """Order "INV-9" before "INV-10" and "9" before "10" (ids and invoice numbers are
    often numeric strings); the raw text breaks ties so the order is total.

    Each digit run becomes its length then its digits, so a plain string compare
    (fast, in C) orders numbers numerically: 200k keys sort well under a second.
    """
    if text.isascii() and text.isdigit():
        digits = text.lstrip("0") or "0"
        return f"{len(digits):03d}{digits}", text
    return _DIGIT_RUN.sub(_pad_run, text), text


def pair_sort_key(pair: InvoicePair) -> tuple[date, str, str, bool, str, str, str]:
    """Row order of the report: by invoice date, then invoice number (PSA rows before
    ledger-only rows of the same number), then ids, so the order is total."""
    if pair.psa is not None:
        number = pair.psa.number
    else:
        assert pair.ledger is not None, "an InvoicePair has at least one side"
        number = pair.ledger.doc_number
    natural, raw = natural_key(number)
    return (
        pair.invoice_date,
        natural,
        raw,
        pair.psa is None,
        pair.psa.id if pair.psa is not None else "",
        pair.ledger.id if pair.ledger is not None else "",
        pair.status.value,
    )


def _psa_claim_key(inv: PsaInvoice) -> tuple[NaturalKey, NaturalKey]:
    return natural_key(inv.number), natural_key(inv.id)


def _unmatched_status(psa: PsaInvoice, linked: bool) -> ReconStatus:
    """No ledger copy found: one it was linked to has vanished (Expected but not
    Found), or it never reached the ledger (Not in Ledger). Whether the PSA thinks
    it exported the invoice explains a row but never decides it: only a link does."""
    return ReconStatus.EXPECTED_NOT_FOUND if linked else ReconStatus.NOT_IN_LEDGER


def _unmatched(psa: PsaInvoice) -> InvoicePair:
    return InvoicePair(_unmatched_status(psa, bool(psa.ledger_invoice_id)), psa=psa)


class _Pairing:
    """The state of one pairing run: the ledger list, which of its positions are
    claimed, and the rows made so far.

    Claims are tracked by position so even a duplicated ledger id cannot make a
    ledger invoice vanish from (or appear twice in) the report.
    """

    __slots__ = ("claimed", "ledger", "pairs")

    def __init__(self, ledger: list[LedgerInvoice]) -> None:
        self.ledger = ledger
        self.claimed = [False] * len(ledger)
        self.pairs: list[InvoicePair] = []

    def match(self, psa: PsaInvoice, index: int) -> None:
        self.claimed[index] = True
        self.pairs.append(InvoicePair(ReconStatus.MATCHED, psa=psa, ledger=self.ledger[index]))

    def ledger_id_key(self, index: int) -> NaturalKey:
        return natural_key(self.ledger[index].id)


def _group_by_link(
    psa_invoices: Iterable[PsaInvoice],
) -> tuple[dict[str, PsaInvoice], dict[str, list[PsaInvoice]], list[PsaInvoice]]:
    """Claimants grouped by linked id (first claimant, the colliding rest) and the
    unlinked ones. Most groups hold one invoice, so a list is only allocated on a
    collision (keeps 200k-row books quick)."""
    link_first: dict[str, PsaInvoice] = {}
    link_more: dict[str, list[PsaInvoice]] = {}
    by_number: list[PsaInvoice] = []
    for psa in psa_invoices:
        if link := psa.ledger_invoice_id:
            if link in link_first:
                link_more.setdefault(link, []).append(psa)
            else:
                link_first[link] = psa
        else:
            by_number.append(psa)
    return link_first, link_more, by_number


def _claim_links(run: _Pairing, psa_invoices: Iterable[PsaInvoice]) -> list[PsaInvoice]:
    """Pass 1: links. The first claimant (by PSA number then id) wins; the rest, and
    a link whose target is gone, are returned to try their numbers."""
    ledger_by_id: dict[str, int] = {}
    for index, inv in enumerate(run.ledger):
        ledger_by_id.setdefault(inv.id, index)
    link_first, link_more, by_number = _group_by_link(psa_invoices)
    for link, psa in link_first.items():
        winner = psa
        if link in link_more:
            winner, *losers = sorted([psa, *link_more[link]], key=_psa_claim_key)
            by_number.extend(losers)
        index = ledger_by_id.get(link)
        if index is None:
            by_number.append(winner)
        else:
            run.match(winner, index)
    return by_number


def _group_by_number(
    run: _Pairing, by_number: list[PsaInvoice]
) -> tuple[dict[str, PsaInvoice], dict[str, list[PsaInvoice]]]:
    """PSA claimants grouped by stripped number; one without a number has nothing
    to match on and gets its unmatched row at once."""
    number_first: dict[str, PsaInvoice] = {}
    number_more: dict[str, list[PsaInvoice]] = {}
    for psa in by_number:
        if number := psa.number.strip():
            if number in number_first:
                number_more.setdefault(number, []).append(psa)
            else:
                number_first[number] = psa
        else:
            run.pairs.append(_unmatched(psa))
    return number_first, number_more


def _unclaimed_by_doc_number(run: _Pairing) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Positions of the unclaimed ledger documents by stripped DocNumber."""
    doc_first: dict[str, int] = {}
    doc_more: dict[str, list[int]] = {}
    claimed = run.claimed
    for index, inv in enumerate(run.ledger):
        if not claimed[index] and (number := inv.doc_number.strip()):
            if number in doc_first:
                doc_more.setdefault(number, []).append(index)
            else:
                doc_first[number] = index
    return doc_first, doc_more


def _claim_numbers(run: _Pairing, by_number: list[PsaInvoice]) -> None:
    """Pass 2: invoice number == ledger DocNumber among the unclaimed; claimants by
    PSA number then id take candidates lowest ledger id first."""
    number_first, number_more = _group_by_number(run, by_number)
    doc_first, doc_more = _unclaimed_by_doc_number(run)
    for number, psa in number_first.items():
        claimants: Sequence[PsaInvoice] = (psa,)
        if number in number_more:
            claimants = sorted([psa, *number_more[number]], key=_psa_claim_key)
        candidates: Sequence[int] = ()
        if number in doc_first:
            candidates = (doc_first[number],)
            if number in doc_more:
                candidates = sorted([*candidates, *doc_more[number]], key=run.ledger_id_key)
        for position, claimant in enumerate(claimants):
            if position < len(candidates):
                run.match(claimant, candidates[position])
            else:
                run.pairs.append(_unmatched(claimant))


def pair_invoices(
    psa_invoices: Iterable[PsaInvoice], ledger_invoices: Iterable[LedgerInvoice]
) -> list[InvoicePair]:
    """Pair every PSA invoice and every ledger invoice into exactly one row.

    Real integrations pair by number (ConnectWise ``invoiceNumber`` = QBO
    ``DocNumber``) and remember the pairs they made; ``ledger_invoice_id`` is such
    a link (remembered by the cache, or written by an integration into a custom
    field). A link is trusted over the number, so a renumbered ledger invoice
    stays paired. A PSA invoice whose linked ledger invoice is gone falls back to
    its number (the invoice may have been re-exported); only when that finds
    nothing too is it Expected but not Found.

    Call it with documents of one kind (invoices, or credit memos).

    Linear apart from the final sort: claims only compete inside a group (same
    linked id, or same number), so only groups with a collision get sorted, by PSA
    number then id, which makes the result independent of input order.
    """
    run = _Pairing(list(ledger_invoices))
    by_number = _claim_links(run, psa_invoices)
    _claim_numbers(run, by_number)
    # Whatever the PSA never claimed exists only in the ledger.
    claimed = run.claimed
    run.pairs.extend(
        InvoicePair(ReconStatus.NOT_IN_PSA, ledger=inv)
        for index, inv in enumerate(run.ledger)
        if not claimed[index]
    )
    run.pairs.sort(key=pair_sort_key)
    return run.pairs


def pair_documents(
    psa_documents: Iterable[PsaInvoice], ledger_documents: Iterable[LedgerInvoice]
) -> list[InvoicePair]:
    """Pair invoices with invoices and credit memos with credit memos: every
    document of either side in exactly one row, invoices first."""
    psa_by_kind: dict[DocKind, list[PsaInvoice]] = {kind: [] for kind in DocKind}
    ledger_by_kind: dict[DocKind, list[LedgerInvoice]] = {kind: [] for kind in DocKind}
    for psa in psa_documents:
        psa_by_kind[psa.kind].append(psa)
    for ledger in ledger_documents:
        ledger_by_kind[ledger.kind].append(ledger)
    pairs: list[InvoicePair] = []
    for kind in DocKind:
        pairs.extend(pair_invoices(psa_by_kind[kind], ledger_by_kind[kind]))
    return pairs
