"""Reconciliation: pair PSA invoices with ledger invoices, then total and roll up.

Pure functions over the shared models, no I/O, so the TUI, the headless report and
the tests all compute the same numbers. Statuses, difference columns and totals
follow the ServiceBox reconciliation report with the PSA in ServiceBox's place:
differences read ledger minus PSA, and the totals satisfy

    invoice_difference == matched_difference - expected_not_found

exactly, which is why every ledger invoice and every PSA invoice lands in exactly
one pair.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal

from recon_tui.models import (
    ClientSummary,
    DocKind,
    InvoicePair,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
    ReconStatus,
    ReportTotals,
)
from recon_tui.money import ZERO

__all__ = [
    "client_key_for",
    "difference_contribution",
    "difference_rows",
    "filter_period",
    "natural_key",
    "pair_documents",
    "pair_invoices",
    "pair_sort_key",
    "report_totals",
    "rollup_clients",
]

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


# --------------------------------------------------------------------------- pairing
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
    ledger_list = list(ledger_invoices)

    # Claims are tracked by position so even a duplicated ledger id cannot make a
    # ledger invoice vanish from (or appear twice in) the report.
    ledger_by_id: dict[str, int] = {}
    for index, inv in enumerate(ledger_list):
        ledger_by_id.setdefault(inv.id, index)
    claimed = [False] * len(ledger_list)

    # Group claimants by linked id. Most groups hold one invoice, so a list is only
    # allocated on a collision (keeps 200k-row books quick).
    link_first: dict[str, PsaInvoice] = {}
    link_more: dict[str, list[PsaInvoice]] = {}
    by_number: list[PsaInvoice] = []
    pairs: list[InvoicePair] = []
    for psa in psa_invoices:
        if link := psa.ledger_invoice_id:
            if link in link_first:
                link_more.setdefault(link, []).append(psa)
            else:
                link_first[link] = psa
        else:
            by_number.append(psa)

    # Pass 1: links; the first claimant wins, the rest (and a link whose target is
    # gone) try their numbers.
    for link, psa in link_first.items():
        winner = psa
        if link in link_more:
            winner, *losers = sorted([psa, *link_more[link]], key=_psa_claim_key)
            by_number.extend(losers)
        index = ledger_by_id.get(link)
        if index is None:
            by_number.append(winner)
        else:
            claimed[index] = True
            pairs.append(InvoicePair(ReconStatus.MATCHED, psa=winner, ledger=ledger_list[index]))

    # Pass 2: invoice number == ledger DocNumber among unclaimed, lowest ledger id first.
    number_first: dict[str, PsaInvoice] = {}
    number_more: dict[str, list[PsaInvoice]] = {}
    for psa in by_number:
        if number := psa.number.strip():
            if number in number_first:
                number_more.setdefault(number, []).append(psa)
            else:
                number_first[number] = psa
        else:  # nothing to match on
            pairs.append(InvoicePair(_unmatched_status(psa, bool(psa.ledger_invoice_id)),
                                     psa=psa))

    doc_first: dict[str, int] = {}
    doc_more: dict[str, list[int]] = {}
    for index, inv in enumerate(ledger_list):
        if not claimed[index] and (number := inv.doc_number.strip()):
            if number in doc_first:
                doc_more.setdefault(number, []).append(index)
            else:
                doc_first[number] = index

    def ledger_id_key(i: int) -> NaturalKey:
        return natural_key(ledger_list[i].id)

    for number, psa in number_first.items():
        claimants: Sequence[PsaInvoice] = (psa,)
        if number in number_more:
            claimants = sorted([psa, *number_more[number]], key=_psa_claim_key)
        candidates: Sequence[int] = ()
        if number in doc_first:
            candidates = (doc_first[number],)
            if number in doc_more:
                candidates = sorted([*candidates, *doc_more[number]], key=ledger_id_key)
        for position, claimant in enumerate(claimants):
            if position < len(candidates):
                index = candidates[position]
                claimed[index] = True
                pairs.append(
                    InvoicePair(ReconStatus.MATCHED, psa=claimant, ledger=ledger_list[index])
                )
            else:
                status = _unmatched_status(claimant, bool(claimant.ledger_invoice_id))
                pairs.append(InvoicePair(status, psa=claimant))

    # Whatever the PSA never claimed exists only in the ledger.
    pairs.extend(
        InvoicePair(ReconStatus.NOT_IN_PSA, ledger=inv)
        for index, inv in enumerate(ledger_list)
        if not claimed[index]
    )

    pairs.sort(key=pair_sort_key)
    return pairs


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


# --------------------------------------------------------------------------- clients
def client_key_for(pair: InvoicePair, mapping: Mapping[str, str]) -> str:
    """The client a row belongs to: its PSA company when it has a PSA side, else the
    PSA company its ledger customer is mapped to, else the unmapped ledger customer.

    ``mapping`` is ledger_customer_id -> psa_company_id.
    """
    if pair.psa is not None:
        return f"psa:{pair.psa.company_id}"
    assert pair.ledger is not None, "an InvoicePair has at least one side"
    return _customer_client_key(pair.ledger.customer_id, mapping)


def _customer_client_key(customer_id: str, mapping: Mapping[str, str]) -> str:
    company_id = mapping.get(customer_id)
    return f"psa:{company_id}" if company_id else f"ledger:{customer_id}"


class _Acc:
    """Running sums for one client while rolling up."""

    __slots__ = ("credits", "discrepant", "invoices", "ledger_balance", "psa_owing")

    def __init__(self) -> None:
        self.psa_owing: Decimal = ZERO
        self.ledger_balance: Decimal = ZERO
        self.credits: Decimal = ZERO
        self.discrepant = 0
        self.invoices = 0


def rollup_clients(
    pairs: Iterable[InvoicePair],
    *,
    companies: Mapping[str, PsaCompany],
    customers: Mapping[str, LedgerCustomer],
    mapping: Mapping[str, str],
    credits: Iterable[OrganizationalCredit],
    keep: Iterable[str] = (),
) -> list[ClientSummary]:
    """One row per client, worst first, so the clients screen opens on the problems.

    A mapped ledger customer's rows and credits count under its PSA company (that is
    the point of mapping); an unmapped customer stays a client of its own so its
    money is never hidden. Balances and the invoice count sum the invoice rows (a
    credit memo's remaining credit is money on account, shown with the credits);
    a discrepant credit-memo row still counts as a discrepancy.

    ``keep``: ledger customers whose own row stays while they are unmapped even with
    nothing left on it (a credit checklist's audit trail lives on it: the row must
    not vanish when the checklist uses up the customer's only credit).
    """
    accs: dict[str, _Acc] = defaultdict(_Acc)
    for pair in pairs:
        acc = accs[client_key_for(pair, mapping)]
        if pair.kind is DocKind.INVOICE:
            acc.psa_owing += pair.psa_owing
            acc.ledger_balance += pair.ledger_owing
            acc.invoices += 1
        if pair.discrepant:
            acc.discrepant += 1

    customers_of: dict[str, list[str]] = defaultdict(list)
    for customer_id, company_id in mapping.items():
        if company_id:
            customers_of[company_id].append(customer_id)
            key = f"psa:{company_id}"
            if key not in accs:  # a mapped customer alone earns its company a row
                accs[key] = _Acc()

    for customer_id in keep:
        if not mapping.get(customer_id) and customer_id in customers:
            accs.setdefault(f"ledger:{customer_id}", _Acc())

    for credit in credits:
        if credit.amount > 0:
            accs[_customer_client_key(credit.customer_id, mapping)].credits += credit.amount

    summaries: list[ClientSummary] = []
    for key, acc in accs.items():
        kind, _, ident = key.partition(":")
        if kind == "psa":
            customer_ids = tuple(sorted(customers_of.get(ident, ())))
            company = companies.get(ident)
            name = company.name if company is not None and company.name else ident
            ledger_name = ", ".join(
                sorted(
                    (_customer_name(customers, cid) for cid in customer_ids),
                    key=lambda n: (n.casefold(), n),
                )
            )
            psa_company_id: str | None = ident
            mapped = bool(customer_ids)
        else:
            customer_ids = (ident,)
            name = ledger_name = _customer_name(customers, ident)
            psa_company_id = None
            mapped = False
        summaries.append(
            ClientSummary(
                client_key=key,
                name=name,
                psa_company_id=psa_company_id,
                ledger_customer_ids=customer_ids,
                ledger_name=ledger_name,
                psa_owing=acc.psa_owing,
                ledger_balance=acc.ledger_balance,
                unapplied_credits=acc.credits,
                discrepant_count=acc.discrepant,
                invoice_count=acc.invoices,
                mapped=mapped,
            )
        )

    summaries.sort(
        key=lambda s: (-abs(s.difference), -s.discrepant_count, s.name.casefold(), s.client_key)
    )
    return summaries


def _customer_name(customers: Mapping[str, LedgerCustomer], customer_id: str) -> str:
    customer = customers.get(customer_id)
    return customer.display_name if customer is not None and customer.display_name else customer_id


# --------------------------------------------------------------------------- totals
def report_totals(pairs: Iterable[InvoicePair]) -> ReportTotals:
    """The ServiceBox totals block; its residual is 0.00 whenever each invoice sits in
    exactly one pair, which ``pair_invoices`` guarantees."""
    total_psa = total_ledger = ZERO
    not_downloaded = not_in_psa = matched_difference = expected_not_found = ZERO
    for pair in pairs:
        if pair.psa is not None:
            total_psa += pair.psa.total
        if pair.ledger is not None:
            total_ledger += pair.ledger.total
        status = pair.status
        if status is ReconStatus.NOT_IN_LEDGER:
            not_downloaded += pair.psa_total
        elif status is ReconStatus.NOT_IN_PSA:
            not_in_psa += pair.ledger_total
        elif status is ReconStatus.MATCHED:
            matched_difference += pair.difference_total
        elif status is ReconStatus.EXPECTED_NOT_FOUND:
            expected_not_found += pair.psa_total
    return ReportTotals(
        total_psa=total_psa,
        total_ledger=total_ledger,
        not_downloaded_to_ledger=not_downloaded,
        not_in_psa=not_in_psa,
        matched_difference=matched_difference,
        expected_not_found=expected_not_found,
    )


def difference_contribution(pair: InvoicePair) -> Decimal:
    """What one row adds to the Invoice Difference: a matched row its total
    difference, an expected-but-not-found row minus its PSA total, others nothing."""
    if pair.status is ReconStatus.MATCHED:
        return pair.difference_total
    if pair.status is ReconStatus.EXPECTED_NOT_FOUND:
        return -pair.psa_total
    return ZERO


def difference_rows(pairs: Iterable[InvoicePair]) -> list[InvoicePair]:
    """The rows that explain a non-zero Invoice Difference, biggest first, so the
    report can show where the money went instead of just a number."""
    rows = [
        pair
        for pair in pairs
        if pair.status is ReconStatus.EXPECTED_NOT_FOUND
        or (pair.status is ReconStatus.MATCHED and pair.difference_total != 0)
    ]
    rows.sort(key=lambda p: (-abs(difference_contribution(p)), pair_sort_key(p)))
    return rows


def filter_period(
    pairs: Iterable[InvoicePair], start: date | None, end: date | None
) -> list[InvoicePair]:
    """Rows whose invoice date falls in [start, end]; a missing bound is open, like
    the report's Start and End dates."""
    return [
        pair
        for pair in pairs
        if (start is None or pair.invoice_date >= start)
        and (end is None or pair.invoice_date <= end)
    ]
