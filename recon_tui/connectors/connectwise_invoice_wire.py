"""A ConnectWise page of ``finance/invoices`` decoded straight into typed structs.

Why: as for QBO (:mod:`qbo_wire`), a sync reads every invoice of a book, and
reading a decoded dict field by field in Python costs several times what
msgspec costs to decode the bytes into the fields kept. The structs hold the
fields the invoice read asks for (``INVOICE_FIELDS``: ``id``, ``invoiceNumber``,
``type``, ``status/name``, ``company/id``, ``date``, ``dueDate``, ``total``,
``balance``, ``currency/currencyCode``, ``_info/lastUpdated``, and
``customFields`` when a link field is configured), as the Invoice model of the
ConnectWise PSA REST reference (``finance/invoices``) types them.

The checked reader (:func:`connectwise_records.invoice_from_cw`) stays the
judge: a page the structs refuse is decoded generically and read by it, and a
record they take but :func:`invoice_from_wire` cannot read as it is (a blank
number, an amount out of range, a date it cannot parse) goes to it as well.
The structs are ``gc=False``, as :mod:`qbo_wire`'s are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from recon_tui.connectors.connectwise_records import (
    CREDIT_MEMO_TYPE,
    _custom_value,
    _fast_day,
    invoice_from_cw,
)
from recon_tui.connectors.records import (
    Slow,
    fast_day_number,
    fast_moment,
    fast_moment_number,
)
from recon_tui.models import DocKind, PsaInvoice
from recon_tui.models.flat import exact_cents
from recon_tui.money import MoneyError, to_api_money

__all__ = ["WireCwInvoice", "decode_invoice_page", "invoice_number", "invoice_row",
           "read_invoice", "read_invoice_row", "record_id"]


class _Ref(msgspec.Struct, gc=False):
    id: int | str


class _Status(msgspec.Struct, gc=False):
    name: str = ""


class _Currency(msgspec.Struct, gc=False):
    currencyCode: str = "USD"


class _Info(msgspec.Struct, gc=False):
    lastUpdated: str | None = None


class WireCwInvoice(msgspec.Struct, gc=False):
    """The invoice fields recon-tui asks ConnectWise for, as it sends them."""

    id: int | str
    invoiceNumber: int | str
    company: _Ref
    date: str
    total: Decimal
    balance: Decimal
    type: str = ""
    dueDate: str | None = None
    status: _Status | None = None
    currency: _Currency | None = None
    info: _Info | None = msgspec.field(default=None, name="_info")
    customFields: list[Any] = []


_PAGE = msgspec.json.Decoder(list[WireCwInvoice])


def decode_invoice_page(content: bytes) -> list[WireCwInvoice] | None:
    """The page's invoices, or None when only the generic decoding and the checked
    reader may decide."""
    try:
        return _PAGE.decode(content)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def _text(value: int | str) -> str:
    """As ``EntityReader.required_text``: an int as its digits, a blank string refused."""
    if type(value) is int:
        return str(value)
    if not value.strip():  # type: ignore[union-attr]
        raise Slow
    return value  # type: ignore[return-value]


def invoice_from_wire(w: WireCwInvoice, exported: bool, link_field: str | None) -> PsaInvoice:
    """The record :func:`invoice_from_cw` reads from the same invoice; raises Slow
    (or ValueError) where only the checked reader may decide."""
    try:
        total, owing = to_api_money(w.total), to_api_money(w.balance)
    except MoneyError:
        raise Slow from None
    kind = DocKind.CREDIT_MEMO if w.type == CREDIT_MEMO_TYPE else DocKind.INVOICE
    if kind is DocKind.CREDIT_MEMO:
        total, owing = -total, -owing
    status, currency, info = w.status, w.currency, w.info
    return PsaInvoice(
        id=_text(w.id),
        number=_text(w.invoiceNumber),
        company_id=_text(w.company.id),
        date=_fast_day(w.date),
        total=total,
        owing=owing,
        due_date=_fast_day(w.dueDate),
        status="" if status is None else status.name,
        ledger_invoice_id=_custom_value(w.customFields, link_field) if link_field else None,
        exported=exported,
        currency="USD" if currency is None else currency.currencyCode,
        updated_at=None if info is None else fast_moment(info.lastUpdated),
        kind=kind,
    )


def read_invoice(row: WireCwInvoice | dict[str, Any], exported: bool,
                 link_field: str | None) -> PsaInvoice:
    """One row of an invoice page, typed or generic, as the checked reader reads it."""
    if type(row) is WireCwInvoice:
        try:
            return invoice_from_wire(row, exported, link_field)
        except (Slow, ValueError):
            row = msgspec.to_builtins(row, builtin_types=(Decimal,))
    return invoice_from_cw(row, exported=exported, link_field=link_field)  # type: ignore[arg-type]


def invoice_row(w: WireCwInvoice, exported: bool, link_field: str | None) -> tuple[Any, ...]:
    """The flat row (``models.flat``) of the record :func:`invoice_from_wire`
    reads from the same invoice, built straight from the decoded fields; raises
    Slow (or ValueError, ArithmeticError) where it does, or where the record has
    no flat row (a date before 1600)."""
    total, owing = exact_cents(w.total), exact_cents(w.balance)
    if w.type == CREDIT_MEMO_TYPE:
        total, owing, kind = -total, -owing, _CREDIT_MEMO
    else:
        kind = _INVOICE
    status, currency, info, number, company = (w.status, w.currency, w.info, w.invoiceNumber,
                                               w.company.id)
    # ``_text`` inline for an id sent as a number (the usual case): one call fewer each.
    return (str(w.id) if type(w.id) is int else _text(w.id),
            str(number) if type(number) is int else _text(number),
            str(company) if type(company) is int else _text(company), fast_day_number(w.date),
            fast_day_number(w.dueDate), total, owing, "" if status is None else status.name,
            _custom_value(w.customFields, link_field) if link_field else None,
            1 if exported else 0, "USD" if currency is None else currency.currencyCode, kind,
            None if info is None else fast_moment_number(info.lastUpdated))


_CREDIT_MEMO, _INVOICE = DocKind.CREDIT_MEMO.value, DocKind.INVOICE.value


def read_invoice_row(row: WireCwInvoice | dict[str, Any], exported: bool,
                     link_field: str | None) -> tuple[Any, ...] | PsaInvoice:
    """One row of an invoice page as a sync stages it: its flat row where
    :func:`invoice_row` reads it, else the record :func:`read_invoice` reads."""
    if type(row) is WireCwInvoice:
        try:
            return invoice_row(row, exported, link_field)
        except (Slow, ValueError, ArithmeticError):
            pass
    return read_invoice(row, exported, link_field)


def record_id(row: object) -> str:
    """A row's id, typed or generic, to spot one read twice."""
    if type(row) is WireCwInvoice:
        return str(row.id)
    return str(row.get("id", ""))  # type: ignore[attr-defined]


def invoice_number(row: object) -> str:
    """A row's invoice number as the unposted list names it."""
    if type(row) is WireCwInvoice:
        return str(row.invoiceNumber).strip()
    return str(row.get("invoiceNumber", "")).strip()  # type: ignore[attr-defined]
