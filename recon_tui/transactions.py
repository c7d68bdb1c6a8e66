"""Payments and credits applied to one invoice, on either side.

An invoice's balance is its total minus what was applied to it. The ledger
applies payments and credit memos through QBO ``Payment`` lines (each line's
``LinkedTxn`` names the invoice it pays, and a line linking a ``CreditMemo``
says part of the money is that credit); ConnectWise lists an invoice's
payments at ``finance/invoices/{id}/payments`` (a payment with a ``credit``
reference is a credit memo applied). Autotask's API records only that an
invoice is paid (``paidDate``), never the payments.

Each side's applications are cached per invoice; one the cache saw that the
system no longer lists is kept, marked removed: that is how a payment reversed
after a sync shows up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from recon_tui.models import OrganizationalCredit
from recon_tui.money import ZERO

#: Two payments on the two sides are the same money when the amounts are equal
#: and the dates at most this many days apart (a payment keyed a few days later).
SAME_PAYMENT_DAYS = 10


class Side(StrEnum):
    PSA = "psa"
    LEDGER = "ledger"


class TxnKind(StrEnum):
    PAYMENT = "payment"
    CREDIT = "credit"  # a credit memo applied to the invoice


@dataclass(frozen=True, slots=True)
class InvoiceTxn:
    """Money applied to one invoice on one side.

    ``txn_id`` is the system's own id of the payment (a QBO Payment Id, a
    ConnectWise invoice payment id); a QBO payment that pays several invoices
    appears once per invoice. ``credit_id`` names the credit memo of a credit.
    ``removed_at`` is set when a later read no longer listed it (deleted,
    voided, or unapplied in that system), ``removed_how`` says which.
    """

    side: Side
    invoice_id: str
    txn_id: str
    kind: TxnKind
    date: date
    amount: Decimal
    reference: str = ""
    method: str = ""
    credit_id: str = ""
    updated_at: datetime | None = None
    removed_at: datetime | None = None
    removed_how: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.side.value, self.txn_id, self.invoice_id, self.kind.value, self.credit_id)

    @property
    def live(self) -> bool:
        return self.removed_at is None

    @property
    def label(self) -> str:
        """'payment 9024' / 'credit memo 11261 (payment 9301)', as findings name it."""
        if self.kind is TxnKind.CREDIT:
            memo = f"credit memo {self.reference or self.credit_id}"
            return f"{memo} (payment {self.txn_id})" if self.side is Side.LEDGER else memo
        return f"payment {self.txn_id}"


@dataclass(frozen=True, slots=True)
class LedgerPayment:
    """One QBO Payment as read: what it leaves unapplied (a credit on account)
    and what it applies to each invoice."""

    credit: OrganizationalCredit
    applications: tuple[InvoiceTxn, ...] = ()


@dataclass(frozen=True, slots=True)
class TxnMatch:
    """The two sides' live applications of one pair, matched up."""

    both: tuple[tuple[InvoiceTxn, InvoiceTxn], ...]  # (psa, ledger)
    psa_only: tuple[InvoiceTxn, ...]
    ledger_only: tuple[InvoiceTxn, ...]


def match_txns(psa: Iterable[InvoiceTxn], ledger: Iterable[InvoiceTxn]) -> TxnMatch:
    """Pair live applications of equal amount whose dates are close, nearest
    dates first; what is left over is the money one side has and the other lacks."""
    psa_live = [t for t in psa if t.live]
    ledger_live = [t for t in ledger if t.live]
    candidates = sorted(
        ((abs((p.date - q.date).days), i, j)
         for i, p in enumerate(psa_live) for j, q in enumerate(ledger_live)
         if p.amount == q.amount and abs((p.date - q.date).days) <= SAME_PAYMENT_DAYS),
    )
    used_p: set[int] = set()
    used_l: set[int] = set()
    both: list[tuple[InvoiceTxn, InvoiceTxn]] = []
    for _, i, j in candidates:
        if i in used_p or j in used_l:
            continue
        used_p.add(i)
        used_l.add(j)
        both.append((psa_live[i], ledger_live[j]))
    return TxnMatch(
        both=tuple(both),
        psa_only=tuple(t for i, t in enumerate(psa_live) if i not in used_p),
        ledger_only=tuple(t for j, t in enumerate(ledger_live) if j not in used_l),
    )


def total(txns: Sequence[InvoiceTxn]) -> Decimal:
    return sum((t.amount for t in txns), ZERO)


def applications_from_lines(
    payment_id: str, txn_date: date, lines: Sequence[tuple[str, str, Decimal]], *,
    reference: str = "", method: str = "", updated_at: datetime | None = None,
    credit_numbers: dict[str, str] | None = None,
) -> tuple[InvoiceTxn, ...]:
    """A QBO Payment's lines, ``(TxnType, TxnId, Amount)``, as applications to invoices.

    QBO applies a credit memo by a Payment whose lines link the invoice and the
    memo (TotalAmt then counts only the cash). The credit lines' amounts are
    spread over the invoice lines in order: that part of each invoice line is
    the credit, the rest is the payment's money.
    """
    credits = [(txn_id, amount) for kind, txn_id, amount in lines if kind == "CreditMemo"]
    invoices = [(txn_id, amount) for kind, txn_id, amount in lines if kind == "Invoice"]
    numbers = credit_numbers or {}
    out: list[InvoiceTxn] = []
    pending = [[memo_id, amount] for memo_id, amount in credits if amount > ZERO]
    for invoice_id, amount in invoices:
        left = amount
        while left > ZERO and pending:
            memo = pending[0]
            part = min(left, memo[1])
            out.append(InvoiceTxn(Side.LEDGER, invoice_id, payment_id, TxnKind.CREDIT,
                                  txn_date, part, reference=numbers.get(memo[0], ""),
                                  credit_id=memo[0], updated_at=updated_at))
            left -= part
            memo[1] -= part
            if memo[1] <= ZERO:
                pending.pop(0)
        if left > ZERO:
            out.append(InvoiceTxn(Side.LEDGER, invoice_id, payment_id, TxnKind.PAYMENT,
                                  txn_date, left, reference=reference, method=method,
                                  updated_at=updated_at))
    return _merged(out)


def _merged(txns: list[InvoiceTxn]) -> tuple[InvoiceTxn, ...]:
    """Two lines of one payment on one invoice are one application."""
    merged: dict[tuple[str, str, str, str, str], InvoiceTxn] = {}
    for txn in txns:
        held = merged.get(txn.key)
        if held is None:
            merged[txn.key] = txn
        else:
            merged[txn.key] = InvoiceTxn(
                txn.side, txn.invoice_id, txn.txn_id, txn.kind, txn.date,
                held.amount + txn.amount, txn.reference, txn.method, txn.credit_id,
                txn.updated_at)
    return tuple(merged.values())
