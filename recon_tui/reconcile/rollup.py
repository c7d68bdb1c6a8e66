"""Client rollup: one row per client (a PSA company with its mapped ledger
customers, or an unmapped ledger customer), worst first.

Pure functions over the shared models, no I/O; ``client_key_for`` is the rule the
cache's materialised rollup follows too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from recon_tui.models import (
    ClientSummary,
    DocKind,
    InvoicePair,
    LedgerCustomer,
    OrganizationalCredit,
    PsaCompany,
)
from recon_tui.money import ZERO

__all__ = ["client_key_for", "rollup_clients"]


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


def _accumulate(
    pairs: Iterable[InvoicePair],
    mapping: Mapping[str, str],
    credits: Iterable[OrganizationalCredit],
) -> dict[str, _Acc]:
    """Sum the invoice rows, the discrepancies and the credits per client key."""
    accs: dict[str, _Acc] = defaultdict(_Acc)
    for pair in pairs:
        acc = accs[client_key_for(pair, mapping)]
        if pair.kind is DocKind.INVOICE:
            acc.psa_owing += pair.psa_owing
            acc.ledger_balance += pair.ledger_owing
            acc.invoices += 1
        if pair.discrepant:
            acc.discrepant += 1
    for credit in credits:
        if credit.amount > 0:
            accs[_customer_client_key(credit.customer_id, mapping)].credits += credit.amount
    return accs


def _customers_of(mapping: Mapping[str, str]) -> dict[str, list[str]]:
    """psa_company_id -> the ledger customers mapped to it."""
    customers_of: dict[str, list[str]] = defaultdict(list)
    for customer_id, company_id in mapping.items():
        if company_id:
            customers_of[company_id].append(customer_id)
    return customers_of


def _customer_name(customers: Mapping[str, LedgerCustomer], customer_id: str) -> str:
    customer = customers.get(customer_id)
    return customer.display_name if customer is not None and customer.display_name else customer_id


def _summary(
    key: str,
    acc: _Acc,
    *,
    companies: Mapping[str, PsaCompany],
    customers: Mapping[str, LedgerCustomer],
    customers_of: Mapping[str, list[str]],
) -> ClientSummary:
    """The row of one client key: a PSA company with its mapped customers' names, or
    an unmapped ledger customer standing alone."""
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
    return ClientSummary(
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
    accs = _accumulate(pairs, mapping, credits)
    customers_of = _customers_of(mapping)
    for company_id in customers_of:  # a mapped customer alone earns its company a row
        accs.setdefault(f"psa:{company_id}", _Acc())
    for customer_id in keep:
        if not mapping.get(customer_id) and customer_id in customers:
            accs.setdefault(f"ledger:{customer_id}", _Acc())
    summaries = [
        _summary(key, acc, companies=companies, customers=customers, customers_of=customers_of)
        for key, acc in accs.items()
    ]
    summaries.sort(
        key=lambda s: (-abs(s.difference), -s.discrepant_count, s.name.casefold(), s.client_key)
    )
    return summaries
