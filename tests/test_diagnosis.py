"""The diagnosis names the right cause for each hand-built row, with the fix."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from recon_tui.diagnosis import Cause, DocFacts, FixKind, RowFacts, diagnose
from recon_tui.models import ReconStatus
from recon_tui.transactions import (
    InvoiceTxn,
    Side,
    TxnKind,
    applications_from_lines,
    match_txns,
)

DAY = date(2026, 6, 10)


def doc(total: str, owing: str, **kw) -> DocFacts:
    return DocFacts(number="110273", total=D(total), owing=D(owing), **kw)


def pay(side: Side, txn_id: str, amount: str, *, day: date = DAY, kind=TxnKind.PAYMENT,
        removed: bool = False) -> InvoiceTxn:
    return InvoiceTxn(side, "inv", txn_id, kind, day, D(amount),
                      removed_at=datetime(2026, 7, 1, tzinfo=UTC) if removed else None,
                      removed_how="deleted in QuickBooks" if removed else "")


def row(psa: DocFacts | None, ledger: DocFacts | None, *, status=ReconStatus.MATCHED,
        psa_txns=(), ledger_txns=(), known=True, **kw) -> RowFacts:
    return RowFacts(status, psa, ledger, tuple(psa_txns), tuple(ledger_txns),
                    psa_txns_known=known, psa_name="ConnectWise", ledger_name="QuickBooks",
                    **kw)


def test_agreeing_row_has_no_diagnosis():
    assert diagnose(row(doc("50", "40"), doc("50", "40"))) is None


def test_payment_in_ledger_only_offers_recording_it_in_the_psa():
    found = diagnose(row(doc("120", "120"), doc("120", "20"),
                         ledger_txns=[pay(Side.LEDGER, "9301", "100")]))
    assert found.cause is Cause.PAYMENT_LEDGER_ONLY
    assert found.fix is FixKind.RECORD_IN_PSA and found.fix_side is Side.PSA
    assert found.amount == D("100")
    assert [t.txn_id for t in found.txns] == ["9301"]
    assert "payment 9301 of 100.00 on 2026-06-10" in found.summary


def test_payment_in_psa_only_offers_recording_it_in_the_ledger():
    found = diagnose(row(doc("300", "0"), doc("300", "300"),
                         psa_txns=[pay(Side.PSA, "77", "300")]))
    assert found.cause is Cause.PAYMENT_PSA_ONLY
    assert found.fix is FixKind.RECORD_IN_LEDGER and found.fix_side is Side.LEDGER
    assert found.amount == D("300") and found.txns[0].txn_id == "77"


def test_payment_in_psa_only_without_the_psa_payment_list_still_names_the_amount():
    found = diagnose(row(doc("300", "0"), doc("300", "300"), known=False))
    assert found.cause is Cause.PAYMENT_PSA_ONLY
    assert found.amount == D("300") and found.txns == ()
    assert any("not cached" in line for line in found.evidence)


def test_credit_applied_in_ledger_only():
    found = diagnose(row(doc("120", "120"), doc("120", "110"),
                         ledger_txns=[pay(Side.LEDGER, "9400", "10", kind=TxnKind.CREDIT)]))
    assert found.cause is Cause.CREDIT_LEDGER_ONLY
    assert found.fix is FixKind.RECORD_IN_PSA and found.amount == D("10")


def test_payments_both_sides_have_are_matched_and_the_extra_one_is_named():
    psa = [pay(Side.PSA, "1", "50", day=date(2026, 6, 1))]
    ledger = [pay(Side.LEDGER, "900", "50", day=date(2026, 6, 3)),
              pay(Side.LEDGER, "901", "25", day=date(2026, 6, 20))]
    found = diagnose(row(doc("100", "50"), doc("100", "25"), psa_txns=psa, ledger_txns=ledger))
    assert found.cause is Cause.PAYMENT_LEDGER_ONLY
    assert [t.txn_id for t in found.txns] == ["901"]


def test_payment_reversed_in_ledger_after_the_sync_saw_it():
    found = diagnose(row(doc("50", "40"), doc("50", "50"),
                         psa_txns=[pay(Side.PSA, "5", "10")],
                         ledger_txns=[pay(Side.LEDGER, "9024", "10", removed=True)]))
    assert found.cause is Cause.PAYMENT_REVERSED
    assert "deleted in QuickBooks" in found.summary
    assert found.fix is FixKind.BY_HAND and found.fix_side is Side.PSA


def test_payment_reversed_in_psa():
    found = diagnose(row(doc("50", "50"), doc("50", "40"),
                         psa_txns=[pay(Side.PSA, "5", "10", removed=True)],
                         ledger_txns=[pay(Side.LEDGER, "9024", "10")]))
    assert found.cause is Cause.PAYMENT_REVERSED


def test_amount_edited_after_export():
    found = diagnose(row(doc("500", "500"), doc("450", "450")))
    assert found.cause is Cause.AMOUNT_EDITED and found.amount == D("50")


def test_voided_on_one_side():
    found = diagnose(row(doc("200", "200"), doc("0", "0", voided=True)))
    assert found.cause is Cause.VOIDED_ONE_SIDE
    assert found.fix_side is Side.PSA  # open in the PSA: that is where the void is missing


@pytest.mark.parametrize(("psa", "ledger"), [(doc("100.00", "100.00"), doc("100.01", "100.01")),
                                             (doc("100", "50.01"), doc("100", "50"))])
def test_a_cent_is_rounding(psa, ledger):
    assert diagnose(row(psa, ledger)).cause is Cause.ROUNDING


def test_currency_mismatch():
    found = diagnose(row(doc("100", "100", currency="CAD"), doc("75", "75", currency="USD")))
    assert found.cause is Cause.CURRENCY
    assert found.summary == "ConnectWise bills in CAD, QuickBooks holds USD"
    assert found.evidence == ("totals 100.00 CAD and 75.00 USD",)
    # A QuickBooks customer's currency is fixed once it has transactions: the fix is
    # in the PSA, or a customer of the other currency, never "change the currency".
    assert found.fix_text.startswith("Bill the invoice in USD in ConnectWise")
    assert "create a CAD customer for it in QuickBooks" in found.fix_text


def test_never_exported_and_exported_but_missing():
    unexported = diagnose(row(doc("80", "80"), None, status=ReconStatus.NOT_IN_LEDGER,
                              psa_exported=False))
    assert unexported.cause is Cause.NEVER_EXPORTED
    exported = diagnose(row(doc("80", "80"), None, status=ReconStatus.NOT_IN_LEDGER))
    assert exported.cause is Cause.MISSING_IN_LEDGER


def test_deleted_in_ledger_after_linking():
    found = diagnose(row(doc("80", "80"), None, status=ReconStatus.EXPECTED_NOT_FOUND))
    assert found.cause is Cause.DELETED_IN_LEDGER


def test_created_in_ledger_or_customer_unmapped():
    created = diagnose(row(None, doc("60", "60"), status=ReconStatus.NOT_IN_PSA))
    assert created.cause is Cause.CREATED_IN_LEDGER
    hidden = diagnose(row(None, doc("60", "60"), status=ReconStatus.NOT_IN_PSA,
                          customer_mapped=False))
    assert hidden.cause is Cause.CUSTOMER_UNMAPPED and hidden.fix is FixKind.MAP_CUSTOMER


def test_unknown_says_what_was_compared():
    found = diagnose(row(doc("100", "70"), doc("100", "100"),
                         psa_txns=[pay(Side.PSA, "1", "20"), pay(Side.PSA, "2", "5")]))
    assert found.cause is Cause.UNKNOWN
    assert any("owing 70.00 of 100.00" in line for line in found.evidence)


def test_every_cause_has_a_meaning():
    assert all(cause.meaning for cause in Cause)


def test_match_prefers_the_closest_date():
    psa = [pay(Side.PSA, "a", "10", day=date(2026, 6, 5))]
    ledger = [pay(Side.LEDGER, "far", "10", day=date(2026, 6, 14)),
              pay(Side.LEDGER, "near", "10", day=date(2026, 6, 6))]
    matched = match_txns(psa, ledger)
    assert matched.both[0][1].txn_id == "near"
    assert [t.txn_id for t in matched.ledger_only] == ["far"]


def test_qbo_credit_memo_application_splits_the_invoice_line():
    """QBO applies a credit memo by a Payment linking the invoice and the memo; the
    invoice line's money is the credit first, the rest cash."""
    txns = applications_from_lines(
        "9500", DAY, [("Invoice", "10", D("100")), ("CreditMemo", "11261", D("10"))],
        reference="4471", credit_numbers={"11261": "CM-1004"})
    assert [(t.kind, t.amount, t.credit_id) for t in txns] == [
        (TxnKind.CREDIT, D("10"), "11261"), (TxnKind.PAYMENT, D("90"), "")]
    assert txns[0].reference == "CM-1004" and txns[1].reference == "4471"


def test_a_payment_partly_unapplied_on_one_side():
    found = diagnose(row(doc("80", "0"), doc("80", "30"),
                         psa_txns=[pay(Side.PSA, "c1", "80")],
                         ledger_txns=[pay(Side.LEDGER, "900", "50")]))
    assert found.cause is Cause.PAYMENT_REVERSED
    assert "30.00 of it was unapplied or edited in QuickBooks" in found.summary


def test_a_credit_memo_used_in_one_system_only_is_a_credit_not_a_payment():
    """CM-1002: QuickBooks applied all 10.00 of it to an invoice, ConnectWise still
    holds the 10.00 as credit left (the credit memo row's "owing")."""
    memo = row(DocFacts("CM-1002", D("10.00"), D("10.00")),
               DocFacts("CM-1002", D("10.00"), D("0.00")), credit_memo=True)
    found = diagnose(memo)
    assert found.cause is Cause.CREDIT_LEDGER_ONLY and found.fix is FixKind.BY_HAND
    assert found.summary == "credit memo CM-1002: 10.00 of it was applied in QuickBooks only"
    assert found.evidence == ("credit left: ConnectWise 10.00 of 10.00, QuickBooks 0.00 of "
                              "10.00",)
    assert found.fix_text.startswith("Apply 10.00 of credit memo CM-1002 to the invoice it "
                                     "went to there")
    assert found.amount == D("10.00")
    named = diagnose(dataclasses.replace(memo, credit_applied_to=("10935",)))
    assert named.evidence[-1] == "QuickBooks applied it to invoice 10935"
    assert named.fix_text == ("Apply 10.00 of credit memo CM-1002 to invoice 10935 in "
                              "ConnectWise, then resync the invoice")
    other_way = row(DocFacts("CM-9", D("75.00"), D("25.00")),
                    DocFacts("CM-9", D("75.00"), D("75.00")), credit_memo=True)
    assert diagnose(other_way).cause is Cause.CREDIT_PSA_ONLY


def test_a_matched_row_missing_a_document_is_unknown_not_a_crash():
    found = diagnose(row(doc("10", "10"), None))
    assert found.cause is Cause.UNKNOWN and found.fix is FixKind.RESYNC
    assert "QuickBooks's copy of this row is not in the cache" in found.summary


def test_a_refresh_diagnoses_a_credit_memo_the_ledger_keeps_among_its_invoices():
    """Found by the report benchmark: a ledger credit memo stored with the invoices
    (kind credit memo) paired with the PSA's, differing by a cent, stopped the
    refresh on an assertion."""
    from recon_tui.cache import Cache
    from recon_tui.models import DocKind, LedgerCustomer, LedgerInvoice, PsaCompany, PsaInvoice
    from recon_tui.refresh import refresh_reconciliation

    cache = Cache(":memory:")
    cache.records.upsert_companies([PsaCompany("2", "C2", "Company 2")])
    cache.records.upsert_customers([LedgerCustomer("2", "Customer 2")])
    zero = D("0.00")
    cache.records.upsert_psa_invoices([PsaInvoice(id="P2", number="CM-9", company_id="2", date=DAY,
                                                  total=zero, owing=D("0.01"),
                                                  kind=DocKind.CREDIT_MEMO)])
    cache.records.upsert_ledger_invoices([LedgerInvoice(id="L2", doc_number="CM-9", customer_id="2",
                                                        date=DAY, total=zero, balance=zero,
                                                        kind=DocKind.CREDIT_MEMO)])
    refresh_reconciliation(cache)
    [pair] = cache.recon.pairs_for_number("CM-9")
    assert pair.discrepant and pair.cause == Cause.ROUNDING.value
