#!/usr/bin/env python3
"""Write the bundled demo book's QuickBooks Online side as Sage 50 exports.

Reads ``sample_data/qbo/*.json`` (what the emulator serves for the demo's
first sync) and writes, in the Sage 50 US edition's import/export layout (see
``recon_tui.ledger_files.tables`` for the sources):

    sample_data/sage50/CUSTOMER.CSV   the Customer List
    sample_data/sage50/SALES.CSV      the Sales Journal: invoices and credit memos,
                                      one row per distribution line
    sample_data/sage50/RECEIPTS.CSV   the Cash Receipts Journal: one row per
                                      invoice (or credit memo) a receipt applies

so ``recon-tui import sage50`` of these files gives the cache the same ledger
side the QBO demo sync does (tests/test_import_sage50.py holds them equal).
Two columns are recon-tui's own, not Sage's: ``Currency`` (the book has one
Canadian-dollar customer) and ``Voided`` (QBO's voided invoices).

    python tools/sage50_samples.py          rewrite the files
    python tools/sage50_samples.py --check  exit 1 when they differ from what it writes
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QBO = ROOT / "sample_data" / "qbo"
OUT = ROOT / "sample_data" / "sage50"

CUSTOMER_HEADER = ["Customer ID", "Customer Name", "Inactive", "Currency"]
SALES_HEADER = ["Customer ID", "Customer Name", "Invoice/CM #", "Apply to Invoice Number",
                "Credit Memo", "Date", "Date Due", "Accounts Receivable Amount",
                "Number of Distributions", "Description", "Amount", "Currency", "Voided"]
RECEIPTS_HEADER = ["Deposit Ticket ID", "Customer ID", "Customer Name", "Reference", "Date",
                   "Payment Method", "Cash Account", "Cash Amount", "Invoice Paid", "Amount"]


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads((QBO / f"{name}.json").read_text(encoding="utf-8"), parse_float=Decimal)


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):.2f}"


def _day(text: str) -> str:
    """Sage 50 US: ##/##/## (month/day/year)."""
    return date.fromisoformat(text).strftime("%m/%d/%y")


def _flag(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def customers(book: dict[str, list[dict[str, Any]]]) -> str:
    return _csv(CUSTOMER_HEADER, [[c["Id"], c["DisplayName"], _flag(not c.get("Active", True)),
                                   c.get("CurrencyRef", {}).get("value", "USD")]
                                  for c in book["Customer"]])


def _sales_rows(doc: dict[str, Any], memo: bool) -> list[list[str]]:
    lines = [line for line in doc.get("Line", []) if line.get("DetailType") ==
             "SalesItemLineDetail"] or [{"Amount": doc["TotalAmt"], "Description": ""}]
    total = Decimal(str(doc["TotalAmt"]))
    voided = not memo and total == 0 and str(doc.get("PrivateNote", "")).startswith("Voided")
    receivable = -total if memo else total
    head = [doc["CustomerRef"]["value"], doc["CustomerRef"].get("name", ""), doc["DocNumber"],
            "", _flag(memo), _day(doc["TxnDate"]),
            _day(doc["DueDate"]) if doc.get("DueDate") else "", _money(receivable),
            str(len(lines))]
    # A journal's distribution lines carry the sales side: credits, so negative
    # for an invoice, positive for a credit memo.
    sign = Decimal(1) if memo else Decimal(-1)
    currency = doc.get("CurrencyRef", {}).get("value", "USD")
    return [[*head, line.get("Description", ""), _money(sign * Decimal(str(line["Amount"]))),
             currency, _flag(voided)] for line in lines]


def sales(book: dict[str, list[dict[str, Any]]]) -> str:
    rows = [row for doc in book["Invoice"] for row in _sales_rows(doc, False)]
    rows += [row for doc in book["CreditMemo"] for row in _sales_rows(doc, True)]
    return _csv(SALES_HEADER, rows)


def receipts(book: dict[str, list[dict[str, Any]]]) -> str:
    numbers = {d["Id"]: d["DocNumber"] for d in book["Invoice"] + book["CreditMemo"]}
    memos = {d["Id"] for d in book["CreditMemo"]}
    seen: set[tuple[str, str, str]] = set()
    rows = []
    for pay in book["Payment"]:
        customer = pay["CustomerRef"]["value"]
        reference = pay.get("PaymentRefNum") or f"RCPT-{pay['Id']}"
        if (customer, reference, pay["TxnDate"]) in seen:
            reference = f"{reference}-{pay['Id']}"
        seen.add((customer, reference, pay["TxnDate"]))
        head = [date.fromisoformat(pay["TxnDate"]).strftime("%y%m%d"), customer,
                pay["CustomerRef"].get("name", ""), reference, _day(pay["TxnDate"]),
                pay.get("PaymentMethodRef", {}).get("name", ""), "10200",
                _money(pay["TotalAmt"])]
        applied = [(txn["TxnId"], Decimal(str(line["Amount"])))
                   for line in pay.get("Line", []) for txn in line.get("LinkedTxn", [])]
        for txn_id, amount in applied:
            shown = -amount if txn_id in memos else amount  # a credit used shows negative
            rows.append([*head, numbers[txn_id], _money(shown)])
        unapplied = Decimal(str(pay.get("UnappliedAmt", 0)))
        if unapplied or not applied:  # a prepayment: a line that pays no invoice
            rows.append([*head, "", _money(unapplied)])
    return _csv(RECEIPTS_HEADER, rows)


def render() -> dict[str, str]:
    book = {name: _load(name) for name in ("Customer", "Invoice", "CreditMemo", "Payment")}
    return {"CUSTOMER.CSV": customers(book), "SALES.CSV": sales(book),
            "RECEIPTS.CSV": receipts(book)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = [name for name, text in files.items()
                 if not (OUT / name).exists()
                 or (OUT / name).read_bytes() != text.encode("utf-8")]
        for name in stale:
            print(f"{OUT / name} is out of date: run python tools/sage50_samples.py")
        return 1 if stale else 0
    OUT.mkdir(exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_bytes(text.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
