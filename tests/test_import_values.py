"""The strict readers behind `recon-tui import`: amounts, dates, flags, headers and
the declared tables, each refusal a reason, never a guess."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from recon_tui.ledger_files import (
    FORMATS,
    DateOrder,
    ExportError,
    ListKind,
    ReadOptions,
    open_ledger,
    read_book,
)
from recon_tui.ledger_files.reader import read_export
from recon_tui.ledger_files.values import ValueProblem, read_amount, read_date, read_flag


@pytest.mark.parametrize(("text", "amount"), [
    ("1234.5", "1234.50"), ("1,234.56", "1234.56"), ("-1,234.56", "-1234.56"),
    ("(1,234.56)", "-1234.56"), ("$1,234.56", "1234.56"), ("-$5", "-5.00"), ("$-5", "-5.00"),
    ("($5.00)", "-5.00"), ("CA$12.00", "12.00"), ("US$ 7", "7.00"), (" 10.500 ", "10.50"),
    (".5", "0.50"), ("1,234,567.00", "1234567.00"), ("-0.00", "0.00"),
    ("99999999999.99", "99999999999.99"),
])
def test_amounts_sage_writes_are_read_exactly(text: str, amount: str) -> None:
    value = read_amount(text)
    assert value == Decimal(amount) and str(value) == amount


@pytest.mark.parametrize(("text", "why"), [
    ("1.234,56", "is not an amount"), ("1,23.00", "is not an amount"),
    ("12,3456", "is not an amount"), ("10.005", "more than two decimals"),
    ("1e3", "is not an amount"), ("NaN", "is not an amount"), ("inf", "is not an amount"),
    ("--5", "is not an amount"), ("(-5)", "is not an amount"), ("5-", "is not an amount"),
    ("100000000000.00", "beyond any real amount"),
    ("9" * 400, "beyond any real amount"), ("", "is empty"), ("€5", "is not an amount"),
])
def test_anything_else_is_refused_with_its_reason(text: str, why: str) -> None:
    with pytest.raises(ValueProblem, match=why) as caught:
        read_amount(text)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200


def test_a_blank_amount_is_allowed_only_where_the_column_may_be_empty() -> None:
    assert read_amount("  ", blank=Decimal("0.00")) == Decimal("0.00")


@pytest.mark.parametrize(("text", "order", "day"), [
    ("12/31/26", DateOrder.MDY, date(2026, 12, 31)), ("1/2/2026", DateOrder.MDY, date(2026, 1, 2)),
    ("12-31-2026", DateOrder.MDY, date(2026, 12, 31)), ("31/12/26", DateOrder.DMY,
                                                        date(2026, 12, 31)),
    ("31.12.2026", DateOrder.DMY, date(2026, 12, 31)), ("2026-12-31", DateOrder.YMD,
                                                        date(2026, 12, 31)),
    ("2026/1/2", DateOrder.YMD, date(2026, 1, 2)),
])
def test_dates_in_the_order_given(text: str, order: DateOrder, day: date) -> None:
    assert read_date(text, order) == day


@pytest.mark.parametrize(("text", "order"), [
    ("31/12/26", DateOrder.MDY), ("02/30/2026", DateOrder.MDY), ("12/31", DateOrder.MDY),
    ("12/31/026", DateOrder.MDY), ("2026-12-31", DateOrder.MDY), ("12/31-2026", DateOrder.MDY),
    ("Dec 31 2026", DateOrder.MDY), ("20261231", DateOrder.YMD), ("", DateOrder.YMD),
    ("2026-13-01", DateOrder.YMD), ("12/31/99999", DateOrder.MDY),
])
def test_bad_dates_are_refused(text: str, order: DateOrder) -> None:
    with pytest.raises(ValueProblem, match="see --date-order"):
        read_date(text, order)


def test_flags() -> None:
    assert [read_flag(t) for t in ("TRUE", "false", "Yes", "", "x", "0")] == [
        True, False, True, False, True, False]
    with pytest.raises(ValueProblem, match="is not yes or no"):
        read_flag("maybe")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_no_header_is_claimed_by_two_columns_of_one_list(name: str) -> None:
    for table in FORMATS[name]:
        headers = [h.casefold() for column in table.columns for h in column.headers]
        assert len(headers) == len(set(headers)), table.title


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


SALES = ("customer id,INVOICE/CM #,  date ,accounts receivable AMOUNT\r\n"
         "C1,INV-1,01/05/26,\"1,200.00\"\r\n")
RECEIPTS = "Customer ID,Reference,Date,Cash Amount,Invoice Paid,Amount\r\n" \
           "C1,CHK 1,01/20/26,200.00,INV-1,200.00\r\n"


def test_headers_are_matched_whatever_their_case_and_spacing(tmp_path: Path) -> None:
    read = read_export(write(tmp_path / "s.csv", SALES), FORMATS["sage50"])
    assert read.table.kind is ListKind.SALES
    assert read.headers["total"] == "accounts receivable AMOUNT"


def test_a_small_book_balances_from_its_receipts(tmp_path: Path) -> None:
    files = [(None, write(tmp_path / "c.csv", "Customer ID,Customer Name\r\nC1,Café Zürich\r\n")),
             (None, write(tmp_path / "s.csv", SALES)),
             (None, write(tmp_path / "r.csv", RECEIPTS))]
    book = read_book("sage50", files, ReadOptions())
    (invoice,) = book.invoices
    assert (invoice.total, invoice.balance) == (Decimal("1200.00"), Decimal("1000.00"))
    assert book.customers[0].balance == Decimal("1000.00")
    (payment,) = book.payments
    assert payment.credit.amount == Decimal("0.00")


def test_title_lines_before_the_header_are_passed_over(tmp_path: Path) -> None:
    text = "Sales Journal\r\nDemo MSP\r\n\r\n" + SALES
    read = read_export(write(tmp_path / "s.csv", text), FORMATS["sage50"])
    assert [r.line for r in read.rows] == [5]


def test_an_encoding_problem_names_its_line(tmp_path: Path) -> None:
    text = "Customer ID,Customer Name\r\nC1,Café\r\n"
    path = write(tmp_path / "c.csv", text, "cp1252")
    with pytest.raises(ExportError, match=r"c.csv line 2: byte \d+ is not utf-8 text.*"
                       "--encoding cp1252"):
        read_export(path, FORMATS["sage50"])
    read = read_export(path, FORMATS["sage50"], encoding="cp1252")
    assert read.rows[0].cells["name"] == "Café"


@pytest.mark.parametrize(("text", "where"), [
    ("Customer Name\r\nA\r\nA\r\n", "line 3, column 'Customer Name': customer 'A' is listed "
     "twice (first at line 2)"),
    ("Customer Name,Inactive\r\nA,perhaps\r\n", "line 2, column 'Inactive': 'perhaps' is not "
     "yes or no"),
    ("Name\r\n\"unclosed\r\n", "line 2: not readable as CSV"),
    ("Customer Name\r\nA,extra\r\n", "line 2: has 2 cells, the header 1"),
    ("Nothing,Here\r\n1,2\r\n", "line 1: no header row naming the columns"),
])
def test_a_bad_customer_list_is_one_line(tmp_path: Path, text: str, where: str) -> None:
    files = [(ListKind.CUSTOMERS, write(tmp_path / "c.csv", text)),
             (None, write(tmp_path / "s.csv", SALES)), (None, write(tmp_path / "r.csv", RECEIPTS))]
    with pytest.raises(ExportError) as caught:
        read_book("sage50", files, ReadOptions())
    assert where in str(caught.value) and "\n" not in str(caught.value)


def test_quickbooks_desktop_report_exports_are_one_more_table(tmp_path: Path) -> None:
    """A Customer Contact List and a Transaction List by Customer (with Open Balance):
    invoices and credit memos with the balance the report gives, other rows skipped."""
    customers = write(tmp_path / "customers.csv", "Customer,Inactive\r\nAcme Ltd,\r\n"
                      "\"Foo [/] Bar, Inc\",\r\n")
    sales = write(tmp_path / "transactions.csv",
                  "Type,Date,Num,Customer,Due Date,Amount,Open Balance\r\n"
                  "Invoice,01/05/2026,1001,Acme Ltd,02/04/2026,\"1,500.00\",500.00\r\n"
                  "Payment,01/20/2026,,Acme Ltd,,\"-1,000.00\",0.00\r\n"
                  "Credit Memo,01/21/2026,CM7,\"Foo [/] Bar, Inc\",,(75.00),75.00\r\n")
    ledger = open_ledger("qbd", "Acme QBD", [(None, customers), (None, sales)], ReadOptions())
    invoice = ledger.invoice_by_doc_number("1001")
    memo = ledger.credit_memo_by_doc_number("CM7")
    assert invoice is not None and (invoice.total, invoice.balance) == (Decimal("1500.00"),
                                                                       Decimal("500.00"))
    assert memo is not None and (memo.total, memo.balance, memo.customer_id) == (
        Decimal("75.00"), Decimal("75.00"), "Foo [/] Bar, Inc")
    assert ledger.book == "qbd:Acme QBD" and list(ledger.payments()) == []


def test_a_header_named_otherwise_is_read_with_the_users_name(tmp_path: Path) -> None:
    """An export whose invoice amount is headed "Invoice Amt": --header sales.total."""
    sales = write(tmp_path / "s.csv", SALES.replace("accounts receivable AMOUNT", "Invoice Amt"))
    files = [(None, write(tmp_path / "c.csv", "Customer ID,Customer Name\r\nC1,Acme\r\n")),
             (None, sales), (None, write(tmp_path / "r.csv", RECEIPTS))]
    with pytest.raises(ExportError, match=r"s\.csv line 1: no header row"):
        read_book("sage50", files, ReadOptions())
    book = read_book("sage50", files, ReadOptions(), {(ListKind.SALES, "total"): "invoice amt"})
    assert book.invoices[0].total == Decimal("1200.00")
    with pytest.raises(ValueError, match=r"^sales.totl is no field of this format \(the "
                       r"sales list has: customer, number, date, total"):
        read_book("sage50", files, ReadOptions(), {(ListKind.SALES, "totl"): "x"})


def test_a_list_keyed_by_name_as_sage_50_canada_keys_customers(tmp_path: Path) -> None:
    """No Customer ID column (Canada keys a customer by its name), day-first dates,
    the Canada-style aliases; a receipt names the customer as the list does."""
    files = [
        (None, write(tmp_path / "customers.csv", "Customer Name,Currency\r\n"
                     "\"Maple Leaf Robotics Inc.\",CAD\r\nAcme,\r\n")),
        (None, write(tmp_path / "sales.csv", "Customer,Invoice No.,Date,Invoice Amount\r\n"
                     "Maple Leaf Robotics Inc.,5001,31/01/2026,\"$2,000.00\"\r\n")),
        (None, write(tmp_path / "receipts.csv", "Customer,Cheque No.,Date,Receipt Amount,"
                     "Invoice No.,Amount Paid\r\n"
                     "Maple Leaf Robotics Inc.,778,15/02/2026,$500.00,5001,$500.00\r\n")),
    ]
    book = read_book("sage50", files, ReadOptions(date_order=DateOrder.DMY, currency="USD"))
    (invoice,) = book.invoices
    assert (invoice.customer_id, invoice.date, invoice.currency, invoice.balance) == (
        "Maple Leaf Robotics Inc.", date(2026, 1, 31), "CAD", Decimal("1500.00"))
    assert book.payments[0].credit.id == "Maple Leaf Robotics Inc./778/2026-02-15"


def test_two_customers_of_one_name_need_their_ids(tmp_path: Path) -> None:
    files = [(None, write(tmp_path / "c.csv", "Customer ID,Customer Name\r\nA1,Acme\r\n"
                          "A2,Acme\r\n")),
             (None, write(tmp_path / "s.csv", "Customer Name,Invoice/CM #,Date,"
                          "Accounts Receivable Amount\r\nAcme,1,01/01/26,5.00\r\n")),
             (None, write(tmp_path / "r.csv", RECEIPTS.split("\r\n")[0] + "\r\n"))]
    with pytest.raises(ExportError, match=r"s\.csv line 2, column 'Customer Name': 'Acme' "
                       "names 2 customers; export the Customer ID column"):
        read_book("sage50", files, ReadOptions())


def test_a_document_read_two_ways_names_both_places(tmp_path: Path) -> None:
    twice = SALES + "C1,INV-1,01/05/26,\"1,300.00\"\r\n"
    files = [(None, write(tmp_path / "c.csv", "Customer ID,Customer Name\r\nC1,Acme\r\n")),
             (None, write(tmp_path / "s.csv", twice)), (None, write(tmp_path / "r.csv", RECEIPTS))]
    with pytest.raises(ExportError, match=r"s\.csv line 3, column 'INVOICE/CM #': document "
                       r"'INV-1' is read differently at line 2 \(customer, date, amount"):
        read_book("sage50", files, ReadOptions())
