"""Judging a credit application from the cache, one side at a time (step 6).

The ledger and the PSA are separate systems: QuickBooks showing the credit used
says nothing about what ConnectWise shows the client in the portal. So each side
is checked on its own and named in the verdict, e.g.::

    ledger: invoice 10040 110.00 of 120.00 ✓, credit memo 11261 used up ✓;
    PSA: ConnectWise still shows 120.00 owing on invoice 10040 ✗ — the PSA has not
    received the credit

Reads only: the cache after the resync step 4 ran, and the ledger itself when a
resumed application asks whether its first attempt landed. The transitions that
follow from a verdict live in :mod:`recon_tui.workflows.credit_checklist`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from recon_tui.cache import Cache
from recon_tui.cache.checklists import Checklists
from recon_tui.cache.reconciliation import Reconciliation
from recon_tui.connectors.base import LedgerConnector
from recon_tui.models import CreditChecklist
from recon_tui.money import ZERO, money_str

__all__ = [
    "LedgerCheck",
    "PsaCheck",
    "PsaVerdict",
    "check_ledger",
    "check_psa",
    "credit_remaining",
    "credit_shows",
    "expected_credit_remaining",
    "expected_invoice_balance",
    "invoice_finding",
    "ledger_shows_applied",
]


def expected_invoice_balance(checklist: CreditChecklist) -> Decimal:
    """The invoice's balance once the credit is applied: the baseline of step 2
    minus the amount."""
    assert checklist.invoice_balance is not None and checklist.amount is not None
    return checklist.invoice_balance - checklist.amount


def expected_credit_remaining(checklist: CreditChecklist) -> Decimal:
    assert checklist.amount is not None
    return checklist.credit_amount - checklist.amount


def invoice_finding(cache: Cache, checklist: CreditChecklist) -> str | None:
    """None when the ledger invoice shows the application, else what it shows."""
    expected = expected_invoice_balance(checklist)
    invoice = cache.records.ledger_invoice(checklist.invoice_id or "")
    if invoice is None:
        return f"invoice {checklist.invoice_number} is no longer in the ledger"
    if invoice.balance != expected:
        return (f"invoice {checklist.invoice_number} balance is {money_str(invoice.balance)}, "
                f"expected {money_str(expected)}")
    return None


def credit_remaining(checklists: Checklists, checklist: CreditChecklist) -> Decimal:
    """What is left of the credit in the cache (a used-up credit is not kept)."""
    credit = checklists.ledger_credit(checklist.credit_kind, checklist.credit_id)
    return credit.amount if credit is not None else ZERO


def credit_shows(checklists: Checklists, checklist: CreditChecklist) -> bool:
    """Still in the cache with more left than the application leaves."""
    return credit_remaining(checklists, checklist) > expected_credit_remaining(checklist)


# --------------------------------------------------------------------------- the ledger
def ledger_shows_applied(checklist: CreditChecklist, ledger: LedgerConnector) -> bool:
    """Did an earlier attempt land? Both the invoice and the credit must already
    show the application, read fresh from the ledger."""
    invoice = ledger.invoice_by_id(checklist.invoice_id or "")
    if invoice is None or invoice.balance > expected_invoice_balance(checklist):
        return False
    remaining = ZERO
    for credit in ledger.customer_credits(checklist.customer_id):
        if credit.kind is checklist.credit_kind and credit.id == checklist.credit_id:
            remaining = credit.amount
    return remaining <= expected_credit_remaining(checklist)


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    """The ledger side: ``ok`` with the ✓ line, or the finding that fails it."""

    ok: bool
    text: str


def check_ledger(cache: Cache, checklist: CreditChecklist, *, after: str) -> LedgerCheck:
    """The invoice balance dropped by the amount and the credit's remaining amount
    dropped by it too. ``after`` names what refreshed the cache ("the resync",
    "a full sync") for the finding."""
    finding = invoice_finding(cache, checklist)
    if finding is not None:
        return LedgerCheck(False, finding)
    remaining = credit_remaining(cache.checklists, checklist)
    expected = expected_credit_remaining(checklist)
    if remaining > expected:
        return LedgerCheck(False, f"{checklist.credit_label} still shows {money_str(remaining)} "
                                  f"remaining after {after}, expected {money_str(expected)}")
    credit = ("used up" if remaining <= ZERO else
              f"down to {money_str(remaining)} from {money_str(checklist.credit_amount)}")
    return LedgerCheck(True, (
        f"ledger: invoice {checklist.invoice_number} "
        f"{money_str(expected_invoice_balance(checklist))} of "
        f"{money_str(checklist.invoice_total)} ✓, {checklist.credit_label} {credit} ✓"))


# --------------------------------------------------------------------------- the PSA
class PsaVerdict(StrEnum):
    """What the PSA's copy of the invoice shows against the ledger's new balance."""

    AGREES = "agrees"
    LAGS = "lags"  # still the balance from before the credit
    DIFFERS = "differs"  # something else again
    NOT_PAIRED = "not paired"  # the PSA has no copy of the invoice: nothing to compare


@dataclass(frozen=True, slots=True)
class PsaCheck:
    verdict: PsaVerdict
    text: str
    psa_number: str | None = None
    psa_owing: Decimal | None = None

    @property
    def ok(self) -> bool:
        """Nothing left to do in the PSA (it agrees, or holds no copy to fix)."""
        return self.verdict in (PsaVerdict.AGREES, PsaVerdict.NOT_PAIRED)


def check_psa(recon: Reconciliation, checklist: CreditChecklist, psa_name: str) -> PsaCheck:
    """The PSA invoice paired with the ledger invoice owes what the ledger now says
    (read from the materialised reconciliation, the one part it needs)."""
    balance = expected_invoice_balance(checklist)
    rows = [p for p in recon.pairs_for_number(checklist.invoice_number or "")
            if p.ledger_invoice_id == checklist.invoice_id and p.psa_invoice_id is not None]
    row = rows[0] if rows else None
    if row is None or row.psa_owing is None:
        return PsaCheck(PsaVerdict.NOT_PAIRED,
                        f"PSA: no {psa_name} invoice is paired with invoice "
                        f"{checklist.invoice_number}, nothing to compare")
    number, owing = row.psa_number, row.psa_owing
    if owing == balance:
        return PsaCheck(PsaVerdict.AGREES,
                        f"PSA: {psa_name} shows {money_str(owing)} owing on invoice {number} ✓",
                        number, owing)
    if owing == checklist.invoice_balance:
        return PsaCheck(PsaVerdict.LAGS,
                        f"PSA: {psa_name} still shows {money_str(owing)} owing on invoice "
                        f"{number} ✗ — the PSA has not received the credit", number, owing)
    return PsaCheck(PsaVerdict.DIFFERS,
                    f"PSA: {psa_name} shows {money_str(owing)} owing on invoice {number}, the "
                    f"ledger {money_str(balance)} ✗ — they differ by "
                    f"{money_str(abs(owing - balance))}", number, owing)
