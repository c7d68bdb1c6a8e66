"""A sync caches both sides' payments, reads the PSA's only where they can explain
a difference, notices a payment reversed after it, and names each row's cause."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from recon_tui.cache import Cache
from recon_tui.diagnosis import Cause
from recon_tui.models import (
    CreditKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
    SyncStatus,
)
from recon_tui.resync import resync_invoice
from recon_tui.row_diagnosis import diagnose_row
from recon_tui.sync import default_since, run_full_sync
from recon_tui.transactions import InvoiceTxn, Side, TxnKind
from tests.fake_books import FakeLedger, FakePsa

DAY = date(2026, 6, 10)
NOW = datetime.now(UTC)


def psa_doc(pid: str, number: str, total: str, owing: str) -> PsaInvoice:
    return PsaInvoice(pid, number, "1", DAY, D(total), D(owing), updated_at=NOW)


def ledger_doc(lid: str, number: str, total: str, balance: str) -> LedgerInvoice:
    return LedgerInvoice(lid, number, "58", DAY, D(total), D(balance), updated_at=NOW)


def payment(pid: str, invoice_id: str, amount: str, side=Side.LEDGER) -> InvoiceTxn:
    return InvoiceTxn(side, invoice_id, pid, TxnKind.PAYMENT, DAY, D(amount))


def credit(pid: str, amount: str = "0") -> OrganizationalCredit:
    return OrganizationalCredit(pid, CreditKind.UNAPPLIED_PAYMENT, "58", DAY, D(amount),
                                D("10"), updated_at=NOW)


@pytest.fixture
def books(tmp_path: Path):
    psa = FakePsa(companies_by_id={"1": PsaCompany("1", "ALPHA", "Alpha Co")})
    ledger = FakeLedger(customers_by_id={"58": LedgerCustomer("58", "Alpha Co")})
    # 100: agrees (paid both sides); 110273: the ledger has a $10 payment the PSA lacks
    for pid, lid, number, total, psa_owing, ledger_balance in (
            ("p1", "l1", "100", "80", "0", "0"), ("p2", "l2", "110273", "50", "50", "40")):
        psa.touch(psa_doc(pid, number, total, psa_owing))
        ledger.touch(ledger_doc(lid, number, total, ledger_balance))
    ledger.payments_by_id = {"900": credit("900"), "901": credit("901")}
    ledger.applications = {"900": (payment("900", "l1", "80"),),
                           "901": (payment("901", "l2", "10"),)}
    psa.payments = {"p1": (payment("c1", "p1", "80", Side.PSA),)}
    cache = Cache(tmp_path / "cache.db")
    yield cache, psa, ledger
    cache.close()


def sync(cache: Cache, psa: FakePsa, ledger: FakeLedger, *, full: bool = False):
    run = run_full_sync(cache, psa, ledger, since=None if full else default_since(cache))
    assert run.status is SyncStatus.SUCCEEDED, run.error
    return run


def row_for(cache: Cache, number: str):
    (row,) = cache.recon.pairs_for_number(number)
    return row


def test_sync_caches_ledger_applications_and_reads_psa_payments_only_where_they_differ(books):
    cache, psa, ledger = books
    sync(cache, psa, ledger)
    # 100 agrees: no request for it. 110273 differs, but the PSA shows nothing
    # applied to it (owing = total), which proves its list empty: read as
    # empty without a request (nothing_applied).
    assert psa.payment_reads == []
    assert cache.txns.invoice_txns(Side.PSA, "p2") == []
    assert [t.txn_id for t in cache.txns.invoice_txns(Side.LEDGER, "l2")] == ["901"]
    assert cache.txns.psa_payments_read(["p1", "p2"]) == {"p2"}
    row = row_for(cache, "110273")
    assert row.cause == Cause.PAYMENT_LEDGER_ONLY.value
    found = diagnose_row(cache, row)
    assert found.amount == D("10") and [t.txn_id for t in found.txns] == ["901"]
    assert cache.txns.cause_counts() == {Cause.PAYMENT_LEDGER_ONLY.value: 1}
    assert row_for(cache, "100").cause is None


def test_a_list_with_something_applied_or_held_is_still_read(books):
    """Only a list proved empty goes unasked: one the PSA shows money applied
    to is read, and so is one the cache holds payments of, even when the PSA
    now shows nothing applied (the read is what marks them removed)."""
    cache, psa, ledger = books
    psa.touch(psa_doc("p2", "110273", "50", "45"))  # $5 applied in the PSA, $10 in QBO
    psa.payments["p2"] = (payment("c2", "p2", "5", Side.PSA),)
    sync(cache, psa, ledger)
    assert psa.payment_reads == ["p2"]
    assert [t.txn_id for t in cache.txns.invoice_txns(Side.PSA, "p2")] == ["c2"]
    # The PSA's $5 is reversed: owing back to the total, the list now empty.
    psa.touch(psa_doc("p2", "110273", "50", "50"))
    psa.payments["p2"] = ()
    sync(cache, psa, ledger)
    assert psa.payment_reads == ["p2", "p2"]
    (txn,) = cache.txns.invoice_txns(Side.PSA, "p2")
    assert txn.removed_at is not None and txn.removed_how == "no longer listed in the PSA"


def test_a_payment_deleted_in_the_ledger_after_a_sync_reads_as_reversed(books):
    cache, psa, ledger = books
    # Both sides had the $10: PSA owing 40 too.
    psa.touch(psa_doc("p2", "110273", "50", "40"))
    psa.payments["p2"] = (payment("c2", "p2", "10", Side.PSA),)
    sync(cache, psa, ledger)
    assert row_for(cache, "110273").discrepant is False
    # The payment bounces: QBO deletes it, the balance goes back to 50.
    ledger.delete("Payment", "901")
    ledger.touch(ledger_doc("l2", "110273", "50", "50"))
    run = sync(cache, psa, ledger)
    (txn,) = cache.txns.invoice_txns(Side.LEDGER, "l2")
    assert txn.removed_at is not None and txn.removed_how == "deleted in the ledger"
    row = row_for(cache, "110273")
    assert row.cause == Cause.PAYMENT_REVERSED.value
    changes = cache.history.sync_changes(run.id)
    assert any(c.action == "removed" and c.record_id == "901" for c in changes)


def test_resync_reads_both_sides_payments_and_rediagnoses(books):
    cache, psa, ledger = books
    sync(cache, psa, ledger)
    # The PSA gets the payment recorded (a fix): owing 40 and the payment listed.
    psa.touch(psa_doc("p2", "110273", "50", "40"))
    psa.payments["p2"] = (InvoiceTxn(Side.PSA, "p2", "c9", TxnKind.PAYMENT,
                                     DAY + timedelta(days=1), D("10")),)
    result = resync_invoice(cache, psa, ledger, "110273")
    assert result.after[0].discrepant is False
    assert [t.txn_id for t in cache.txns.invoice_txns(Side.PSA, "p2")] == ["c9"]
    assert cache.txns.cause_counts() == {}


def test_full_and_incremental_syncs_agree_on_causes(books, tmp_path: Path):
    cache, psa, ledger = books
    sync(cache, psa, ledger)
    ledger.touch(ledger_doc("l1", "100", "80", "30"))  # part of 100's payment unapplied
    ledger.applications["900"] = (payment("900", "l1", "50"),)
    ledger.payments_by_id["900"] = credit("900", "30")
    sync(cache, psa, ledger)
    incremental = {r.psa_number: r.cause for r in (row_for(cache, "100"),
                                                   row_for(cache, "110273"))}
    other = Cache(tmp_path / "other.db")
    sync(other, psa, ledger, full=True)
    full = {r.psa_number: r.cause for r in (row_for(other, "100"), row_for(other, "110273"))}
    other.close()
    assert incremental == full
    assert incremental["100"] == Cause.PAYMENT_REVERSED.value  # 30 of 80 unapplied
