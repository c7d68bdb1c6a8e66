"""One invoice's history on each side, with the running balance, and the first
point where the two sides part.

Pure (no Textual, no SQL), so the invoice history screen only lays it out.
Each side starts at "issued" (its total), then every payment and credit
applied, by date. An application the system no longer lists stays where it
was, marked removed, and its removal is an event of its own on the day
recon-tui noticed it: that is where a payment reversed after the sync makes
the balances part. What the records do not itemise (a PSA whose payments were
never read, a void, an edit) closes the side as one undated step, so every
timeline ends at the balance the cache holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from recon_tui.diagnosis import DocFacts
from recon_tui.money import ZERO
from recon_tui.transactions import InvoiceTxn, Side, TxnKind, match_txns


@dataclass(frozen=True, slots=True)
class Event:
    """One step of a side's history and the balance after it."""

    day: date | None  # None: a step the records do not date
    what: str
    change: Decimal
    balance: Decimal
    detail: str = ""
    #: For an application the system no longer lists: how, and when noticed.
    removed: str = ""
    #: The removal of an earlier application (its money back on the balance).
    reversal: bool = False
    #: The first point where the two sides' balances differ.
    parts: bool = False
    #: When it counts in the comparison of the sides: the same payment keyed a
    #: few days apart on the two sides counts on the earlier day on both.
    at: date | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    side: Side
    system: str
    number: str
    events: tuple[Event, ...]
    balance_now: Decimal
    voided: bool
    #: Whether the side's payments were read (Autotask's API lists none; the
    #: PSA's are read only where the balances disagree).
    itemised: bool


@dataclass(frozen=True, slots=True)
class InvoiceHistory:
    psa: Timeline | None
    ledger: Timeline | None
    #: "issue", "dated", "undated" or "" (the sides agree at every step).
    parted: str
    parting: str


def _detail(txn: InvoiceTxn) -> str:
    parts = [p for p in (txn.method, txn.reference if txn.kind is TxnKind.PAYMENT else "")
             if p]
    return " ".join(parts)


def aligned_days(psa: Sequence[InvoiceTxn], ledger: Sequence[InvoiceTxn]
                 ) -> dict[tuple[str, str, str, str, str], date]:
    """For each application the other side has too (equal amount, dates close, as
    the diagnosis matches them, removed ones included), the earlier of the two
    dates: the day the sides compare it on."""
    def revived(txns: Sequence[InvoiceTxn]) -> list[InvoiceTxn]:
        return [replace(t, removed_at=None) for t in txns]

    days: dict[tuple[str, str, str, str, str], date] = {}
    for p, q in match_txns(revived(psa), revived(ledger)).both:
        days[p.key] = days[q.key] = min(p.date, q.date)
    return days


def side_timeline(side: Side, system: str, doc: DocFacts, txns: Sequence[InvoiceTxn], *,
                  itemised: bool,
                  aligned: dict[tuple[str, str, str, str, str], date] | None = None
                  ) -> Timeline:
    """A side's history from its document and its applications (removed ones too)."""
    steps: list[tuple[date, int, str, Event]] = []
    for txn in txns:
        removed = ""
        if txn.removed_at is not None:
            noticed = txn.removed_at.astimezone()
            removed = (f"{txn.removed_how or 'removed'}, noticed "
                       f"{noticed.strftime('%Y-%m-%d %H:%M')}")
            steps.append((noticed.date(), 1, txn.txn_id, Event(
                noticed.date(), f"{txn.label} removed", txn.amount, ZERO,
                detail=txn.removed_how, reversal=True, at=noticed.date())))
        steps.append((txn.date, 0, txn.txn_id, Event(
            txn.date, txn.label, -txn.amount, ZERO, detail=_detail(txn), removed=removed,
            at=(aligned or {}).get(txn.key, txn.date))))
    steps.sort(key=lambda step: step[:3])
    balance = doc.total
    events = [Event(doc.date, "issued", doc.total, balance, detail=f"total {doc.total:,.2f}",
                    at=doc.date)]
    for *_, event in steps:
        balance += event.change
        events.append(replace(event, balance=balance))
    gap = doc.owing - balance
    if gap:
        if doc.voided:
            what = "voided"
        elif not itemised:
            what = "applied, not itemised"
        else:
            what = "balance changed, no payment shows why"
        events.append(Event(None, what, gap, doc.owing))
    return Timeline(side, system, doc.number, tuple(events), doc.owing, doc.voided, itemised)


def _balance_at(timeline: Timeline, day: date | None) -> Decimal:
    """The balance after every event that counts on or before ``day`` (None: all)."""
    balance = timeline.events[0].balance
    for event in timeline.events[1:]:
        if day is None or (event.at is not None and event.at <= day):
            balance += event.change
    return balance


def _mark(timeline: Timeline, which) -> Timeline:
    events = tuple(replace(e, parts=True) if which(i, e) else e
                   for i, e in enumerate(timeline.events))
    return replace(timeline, events=events)


def invoice_history(psa: Timeline | None, ledger: Timeline | None) -> InvoiceHistory:
    """Both sides, and the first point where their balances differ, marked on
    each side's events of that moment."""
    if psa is None or ledger is None:
        return InvoiceHistory(psa, ledger, "", "")
    if psa.events[0].balance != ledger.events[0].balance:
        return InvoiceHistory(
            _mark(psa, lambda i, _: i == 0), _mark(ledger, lambda i, _: i == 0), "issue",
            f"The sides part at the start: {psa.system} bills {psa.events[0].balance:,.2f}, "
            f"{ledger.system} {ledger.events[0].balance:,.2f}.")
    # A side with an undated step (payments not read, a void, an edit) cannot be
    # compared day by day: its balance on any day before "now" is not known.
    comparable = not any(e.at is None for tl in (psa, ledger) for e in tl.events[1:])
    days = sorted({e.at for tl in (psa, ledger) for e in tl.events[1:] if e.at is not None})
    for day in days if comparable else ():
        p, q = _balance_at(psa, day), _balance_at(ledger, day)
        if p != q:
            def on_day(i: int, e: Event, day: date = day) -> bool:
                return i > 0 and e.at == day

            return InvoiceHistory(
                _mark(psa, on_day), _mark(ledger, on_day), "dated",
                f"The sides part on {day.isoformat()}: {psa.system} balance {p:,.2f}, "
                f"{ledger.system} {q:,.2f}.")
    p, q = _balance_at(psa, None), _balance_at(ledger, None)
    if p != q:
        def undated(i: int, e: Event) -> bool:
            return i > 0 and e.at is None

        return InvoiceHistory(
            _mark(psa, undated), _mark(ledger, undated), "undated",
            f"The sides part in what is not itemised: {psa.system} balance {p:,.2f}, "
            f"{ledger.system} {q:,.2f}.")
    if not comparable:
        return InvoiceHistory(psa, ledger, "", (
            f"The balances agree now ({p:,.2f}); not every step is itemised, so the "
            "days cannot be compared."))
    return InvoiceHistory(psa, ledger, "", "The two sides agree at every step.")
