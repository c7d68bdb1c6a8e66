"""Stored documents and payment lines read back by position equal what was
written, whatever order the query's columns came in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from recon_tui.cache import Cache
from recon_tui.cache.records import (
    PSA_INVOICE_SELECT,
    cents,
    contact_from,
    ledger_invoice_from,
    psa_invoice_from,
)
from recon_tui.models import (
    Contact,
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.money import MoneyError, to_cents
from recon_tui.transactions import InvoiceTxn, Side, TxnKind

_MOMENT = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def _psa(n: int, **extra: object) -> PsaInvoice:
    return PsaInvoice(id=str(n), number=f"INV-{n}", company_id="7", date=date(2026, 1, n),
                      total=Decimal("1234.56"), owing=Decimal("-0.01"), **extra)  # type: ignore[arg-type]


def test_psa_and_ledger_documents_come_back_equal(tmp_path: Path) -> None:
    psa = [_psa(1), _psa(2, due_date=date(2026, 2, 1), status="Sent", ledger_invoice_id="L2",
                        exported=True, currency="CAD", updated_at=_MOMENT,
                        kind=DocKind.CREDIT_MEMO)]
    ledger = [LedgerInvoice(id="L1", doc_number="INV-1", customer_id="9", date=date(2026, 1, 1),
                            total=Decimal("10.00"), balance=Decimal("0.00"), voided=True,
                            updated_at=_MOMENT),
              LedgerInvoice(id="L2", doc_number="", customer_id="9", date=date(2026, 1, 2),
                            due_date=date(2026, 1, 30), total=Decimal("99.99"),
                            balance=Decimal("1.01"), currency="EUR")]
    with Cache(tmp_path / "c.db") as cache:
        cache.records.upsert_psa_invoices(psa)
        cache.records.upsert_ledger_invoices(ledger)
        assert sorted(cache.records.iter_psa_invoices(), key=lambda i: i.id) == psa
        assert cache.records.psa_invoice("2") == psa[1]
        assert sorted(cache.records.iter_ledger_invoices(), key=lambda i: i.id) == ledger
        # Another column order (the link first, the table's columns reversed)
        # reads the same records: positions follow the query, not the table.
        columns = [r[1] for r in cache.conn.execute("PRAGMA table_info(psa_invoice)")]
        select = ", ".join(f"p.{c}" for c in reversed(columns))
        rows = cache.conn.execute(PSA_INVOICE_SELECT.replace(
            "SELECT p.*, coalesce(p.ledger_invoice_id, l.ledger_id) AS link",
            f"SELECT coalesce(p.ledger_invoice_id, l.ledger_id) AS link, {select}")
            + " ORDER BY p.id").fetchall()
        assert [psa_invoice_from(r) for r in rows] == psa
        rows = cache.conn.execute("SELECT kind, * FROM ledger_invoice ORDER BY id").fetchall()
        assert [ledger_invoice_from(r) for r in rows] == ledger


def test_payment_lines_come_back_equal(tmp_path: Path) -> None:
    txns = [InvoiceTxn(side=Side.PSA, invoice_id="1", txn_id="P1", kind=TxnKind.PAYMENT,
                       date=date(2026, 1, 5), amount=Decimal("12.34"), reference="chk 5",
                       method="Check", updated_at=_MOMENT),
            InvoiceTxn(side=Side.PSA, invoice_id="1", txn_id="C1", kind=TxnKind.CREDIT,
                       date=date(2026, 1, 6), amount=Decimal("0.01"), credit_id="CM-1")]
    with Cache(tmp_path / "c.db") as cache:
        cache.records.upsert_psa_invoices([_psa(1)])
        cache.txns.replace_txns(Side.PSA, "invoice_id", ["1"], txns, removed_how="gone")
        assert cache.txns.invoice_txns(Side.PSA, "1") == txns
        assert cache.txns.txns_for_invoices(Side.PSA, ["1"]) == {"1": txns}
        cache.txns.replace_txns(Side.PSA, "invoice_id", ["1"], txns[:1], removed_how="gone")
        (kept, removed) = cache.txns.invoice_txns(Side.PSA, "1")
        assert kept == txns[0]
        assert removed.removed_at is not None and removed.removed_how == "gone"


def test_master_data_and_credits_come_back_equal(tmp_path: Path) -> None:
    companies = [PsaCompany(id="1", identifier="ACME", name="Acme", status="Inactive",
                            deleted=True, updated_at=_MOMENT, portal_active=False),
                 PsaCompany(id="2", identifier="B", name="B & Co")]
    contacts = [Contact(id="5", company_id="1", first_name="Ann", last_name="Lee",
                        portal_security_level=3, email="a@x.test", inactive=True,
                        updated_at=_MOMENT, portal_login_disabled=True)]
    customers = [LedgerCustomer(id="9", display_name="Acme", company_name="Acme Ltd",
                                active=False, balance=Decimal("-12.34"), updated_at=_MOMENT)]
    credits = [OrganizationalCredit(id="P1", kind=CreditKind.UNAPPLIED_PAYMENT, customer_id="9",
                                    date=date(2026, 1, 2), amount=Decimal("5.00"),
                                    total=Decimal("7.50"), doc_number="R-1", updated_at=_MOMENT)]
    with Cache(tmp_path / "c.db") as cache:
        cache.records.upsert_companies(companies)
        cache.records.upsert_contacts(contacts)
        cache.records.upsert_customers(customers)
        cache.records.upsert_credits(credits)
        assert sorted(cache.records.companies().values(), key=lambda c: c.id) == companies
        assert cache.records.company("1") == companies[0]
        assert cache.records.customers() == {"9": customers[0]}
        assert cache.records.credits() == credits
        rows = cache.conn.execute("SELECT updated_at AS x, * FROM psa_contact").fetchall()
        assert [contact_from(r) for r in rows] == contacts


@pytest.mark.parametrize("text", ["0", "0.00", "-0.00", "0.01", "-0.05", "1234.50", "1234.5",
                                  "1E+2", "-1234.99", "99999999999.99", "1.005", "-1.005",
                                  "2.675", "0.125", "1E-7", "123456789012345678901234.5"])
def test_cents_are_to_cents_exactly(text: str) -> None:
    assert cents(Decimal(text)) == to_cents(Decimal(text))
    assert type(cents(Decimal(text))) is int


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_cents_refuse_what_to_cents_refuses(value: Decimal) -> None:
    with pytest.raises(MoneyError):
        to_cents(value)
    with pytest.raises(MoneyError):
        cents(value)
