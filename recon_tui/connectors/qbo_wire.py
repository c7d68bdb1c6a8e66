"""A QBO query page of Invoices decoded straight into typed structs.

Why: a sync reads every invoice of a book (200,000 a side), and decoding a page
into dicts and then reading each dict in Python costs several times what
msgspec costs to decode the same bytes into the fields we keep. So the
Invoice pages are decoded against the fields of Intuit's Invoice entity that
recon-tui reads (Accounting API reference, "Invoice": ``Id``, ``DocNumber``,
``CustomerRef``, ``TxnDate``, ``DueDate``, ``TotalAmt``, ``Balance``,
``PrivateNote``, ``CurrencyRef``, ``MetaData.LastUpdatedTime``); every other
field is skipped unread.

The checked reader (:func:`qbo_records.invoice_from_qbo`) stays the judge:
a page whose shape the structs refuse (an Id sent as a number, a datetime in a
date field, a Fault) is decoded again generically and read by it, and a record
the structs accept but :func:`invoice_from_wire` cannot take as it is (a blank
Id, an amount out of range, a time it cannot parse) is handed to it as well,
so the records, and the errors, are exactly the checked reader's.

The structs are ``gc=False`` (nothing they hold can point back at them): a page
decodes into 1,000 of them, which the garbage collector then need not track;
untracked, a page decodes in about two thirds of the time.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import msgspec

from recon_tui.connectors.qbo_records import invoice_from_qbo
from recon_tui.connectors.records import Slow, fast_moment, fast_moment_number
from recon_tui.models import DocKind, LedgerInvoice
from recon_tui.models.flat import FIRST_DAY, exact_cents
from recon_tui.money import ZERO, MoneyError, to_api_money

__all__ = ["WireInvoice", "decode_invoice_page", "invoice_from_wire", "invoice_row",
           "read_invoice", "read_invoice_row", "row_id"]


class _Ref(msgspec.Struct, gc=False):
    value: str


class _Meta(msgspec.Struct, gc=False):
    LastUpdatedTime: str | None = None


class WireInvoice(msgspec.Struct, gc=False):
    """The Invoice fields recon-tui reads, as QBO sends them."""

    Id: str
    CustomerRef: _Ref
    TxnDate: date
    TotalAmt: Decimal
    Balance: Decimal
    DocNumber: str = ""
    DueDate: date | None = None
    PrivateNote: str = ""
    CurrencyRef: _Ref | None = None
    MetaData: _Meta | None = None


class _Invoices(msgspec.Struct, gc=False):
    Invoice: list[WireInvoice] = []


class _Page(msgspec.Struct, gc=False):
    QueryResponse: _Invoices | None = None


_PAGE = msgspec.json.Decoder(_Page)


def decode_invoice_page(content: bytes) -> list[WireInvoice] | None:
    """The page's invoices, or None when only the generic decoding and the
    checked reader may decide (a shape the structs refuse, a Fault, no
    QueryResponse)."""
    try:
        page = _PAGE.decode(content)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return None if page.QueryResponse is None else page.QueryResponse.Invoice


def invoice_from_wire(w: WireInvoice) -> LedgerInvoice:
    """The record :func:`invoice_from_qbo` reads from the same invoice; raises
    Slow (or ValueError) where only the checked reader may decide."""
    if not w.Id.strip() or not w.CustomerRef.value.strip():
        raise Slow
    try:
        total, balance = to_api_money(w.TotalAmt), to_api_money(w.Balance)
    except MoneyError:
        raise Slow from None
    meta = w.MetaData
    currency = w.CurrencyRef
    return LedgerInvoice(
        id=w.Id,
        doc_number=w.DocNumber,
        customer_id=w.CustomerRef.value,
        date=w.TxnDate,
        total=total,
        balance=balance,
        due_date=w.DueDate,
        voided=total == ZERO and w.PrivateNote.lstrip().startswith("Voided"),
        currency="USD" if currency is None else currency.value,
        updated_at=None if meta is None else fast_moment(meta.LastUpdatedTime),
    )


def read_invoice(row: WireInvoice | dict[str, Any]) -> LedgerInvoice:
    """One row of an Invoice page, typed or generic, as the checked reader reads it."""
    if type(row) is WireInvoice:
        try:
            return invoice_from_wire(row)
        except (Slow, ValueError):
            # As the generic decoding gives it (dates as text, amounts as Decimal).
            row = msgspec.to_builtins(row, builtin_types=(Decimal,))
    return invoice_from_qbo(row)  # type: ignore[arg-type]


def invoice_row(w: WireInvoice) -> tuple[Any, ...]:
    """The flat row (``models.flat``) of the record :func:`invoice_from_wire`
    reads from the same invoice, built straight from the decoded fields; raises
    Slow (or ValueError, ArithmeticError) where it does, or where the record has
    no flat row (a date before 1600)."""
    if not w.Id.strip() or not w.CustomerRef.value.strip():
        raise Slow
    total, balance = exact_cents(w.TotalAmt), exact_cents(w.Balance)
    day, due = w.TxnDate.toordinal(), w.DueDate
    due_day = None if due is None else due.toordinal()
    if day < FIRST_DAY or (due_day is not None and due_day < FIRST_DAY):
        raise Slow
    meta, currency = w.MetaData, w.CurrencyRef
    return (w.Id, w.DocNumber, w.CustomerRef.value, day, due_day, total, balance,
            1 if total == 0 and w.PrivateNote.lstrip().startswith("Voided") else 0,
            "USD" if currency is None else currency.value, _INVOICE,
            None if meta is None else fast_moment_number(meta.LastUpdatedTime))


_INVOICE = DocKind.INVOICE.value


def read_invoice_row(row: WireInvoice | dict[str, Any]) -> tuple[Any, ...] | LedgerInvoice:
    """One row of an Invoice page as a sync stages it: its flat row where
    :func:`invoice_row` reads it, else the record :func:`read_invoice` reads."""
    if type(row) is WireInvoice:
        try:
            return invoice_row(row)
        except (Slow, ValueError, ArithmeticError):
            pass
    return read_invoice(row)


def row_id(row: object) -> str | None:
    """A typed row's Id (None for a generic row)."""
    return row.Id if type(row) is WireInvoice else None
