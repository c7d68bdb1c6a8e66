"""An invoice read as its flat row (``models.flat``: what a sync stages, built
straight off the wire by ``read_invoice_row``) is exactly the row the stage
builds from the record ``read_invoice`` reads from the same page, for every
invoice either reads, and fails with the same error where that fails."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_tui.cache.stage_rows import STAGED_LEDGER_INVOICES, STAGED_PSA_INVOICES, StagedTable
from recon_tui.connectors import connectwise_invoice_wire as cw
from recon_tui.connectors import qbo_wire as qw
from recon_tui.connectors.base import invoice_rows
from recon_tui.models.flat import exact_cents
from recon_tui.money import MoneyError, to_api_money, to_cents

_ENCODE = msgspec.json.Encoder(decimal_format="number").encode

_AMOUNTS = st.one_of(
    st.decimals(min_value=Decimal("-99999999999.999"), max_value=Decimal("99999999999.999"),
                places=2, allow_nan=False),
    st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=4,
                allow_nan=False),
    st.integers(min_value=-10**12, max_value=10**12).map(Decimal),
    st.sampled_from([Decimal("1E+30"), Decimal("-0.005"), Decimal("0.005"), Decimal("-0.00"),
                     Decimal("99999999999.995"), Decimal("1E-40"), Decimal("100000000000")]))
_DAYS = st.sampled_from(["2026-02-02", "1999-12-31", "1600-01-01", "1599-12-31", "0001-01-01",
                         "9999-12-31", "2024-02-29"])
_TIMES = st.sampled_from(["T00:00:00Z", "T23:59:59Z", "T10:15:00-08:00", "T01:02:03.1234567Z",
                          "T12:00:00+05:30", "T00:00:00"])
_MOMENTS = st.one_of(st.none(), st.sampled_from(["bad", "", "2026-13-01T00:00:00Z"]),
                     st.builds(str.__add__, _DAYS, _TIMES))
_TEXTS = st.one_of(st.text(max_size=6), st.sampled_from(["", " ", "  x "]))
_IDS = st.one_of(st.integers(min_value=0, max_value=10**12), _TEXTS)


def _cw_invoice() -> st.SearchStrategy[dict[str, Any]]:
    moment_or_day = st.one_of(st.builds(str.__add__, _DAYS, _TIMES),
                              st.sampled_from(["", "bad", "2026-02-30T00:00:00Z"]))
    return st.fixed_dictionaries({
        "id": _IDS, "invoiceNumber": _IDS, "company": st.fixed_dictionaries({"id": _IDS}),
        "date": moment_or_day, "total": _AMOUNTS, "balance": _AMOUNTS,
    }, optional={
        "type": st.sampled_from(["Standard", "CreditMemo", "Agreement"]),
        "dueDate": st.one_of(st.none(), moment_or_day),
        "status": st.one_of(st.none(), st.fixed_dictionaries({"name": _TEXTS})),
        "currency": st.one_of(st.none(), st.fixed_dictionaries(
            {"currencyCode": st.sampled_from(["USD", "CAD"])})),
        "_info": st.one_of(st.none(), st.fixed_dictionaries({"lastUpdated": _MOMENTS})),
        "customFields": st.lists(st.fixed_dictionaries(
            {"caption": st.sampled_from(["QBO Id", "Other"]),
             "value": st.one_of(st.none(), st.booleans(), _TEXTS, st.integers(0, 99))}),
            max_size=2),
    })


def _qbo_invoice() -> st.SearchStrategy[dict[str, Any]]:
    ref = st.fixed_dictionaries({"value": _TEXTS})
    return st.fixed_dictionaries({
        "Id": _TEXTS, "CustomerRef": ref, "TxnDate": _DAYS, "TotalAmt": _AMOUNTS,
        "Balance": _AMOUNTS,
    }, optional={
        "DocNumber": _TEXTS, "DueDate": st.one_of(st.none(), _DAYS),
        "PrivateNote": st.sampled_from(["", "Voided", "  Voided 3/4", "note"]),
        "CurrencyRef": st.one_of(st.none(), st.fixed_dictionaries(
            {"value": st.sampled_from(["USD", "EUR"])})),
        "MetaData": st.one_of(st.none(), st.fixed_dictionaries({"LastUpdatedTime": _MOMENTS})),
    })


def _outcome(read: Any, staged: StagedTable) -> tuple[str, Any]:
    """What a read gives, as the stage takes it: the staged row, or the error."""
    try:
        got = read()
    except Exception as exc:  # the error itself is what must agree
        return "error", (type(exc), str(exc))
    return "row", got if type(got) is tuple else staged.row(got)


_SETTINGS = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.lists(_cw_invoice(), min_size=1, max_size=5), st.booleans(),
       st.sampled_from([None, "QBO Id"]))
def test_a_connectwise_invoice_stages_as_its_record_does(invoices: list[dict[str, Any]],
                                                        exported: bool,
                                                        link: str | None) -> None:
    rows = cw.decode_invoice_page(_ENCODE(invoices))
    if rows is None:  # a page the structs refuse: read generically, by the record's way
        return
    for row in rows:
        record = _outcome(lambda r=row: cw.read_invoice(r, exported, link), STAGED_PSA_INVOICES)
        flat = _outcome(lambda r=row: cw.read_invoice_row(r, exported, link),
                        STAGED_PSA_INVOICES)
        assert flat == record


@_SETTINGS
@given(st.lists(_qbo_invoice(), min_size=1, max_size=5))
def test_a_qbo_invoice_stages_as_its_record_does(invoices: list[dict[str, Any]]) -> None:
    rows = qw.decode_invoice_page(_ENCODE({"QueryResponse": {"Invoice": invoices}}))
    if rows is None:
        return
    for row in rows:
        record = _outcome(lambda r=row: qw.read_invoice(r), STAGED_LEDGER_INVOICES)
        assert _outcome(lambda r=row: qw.read_invoice_row(r), STAGED_LEDGER_INVOICES) == record


def test_the_fast_path_gives_flat_rows_and_the_rest_records() -> None:
    """The usual invoice is a flat row; one before 1600 (no flat form) its record."""
    page = cw.decode_invoice_page(_ENCODE([
        {"id": 1, "invoiceNumber": "A1", "company": {"id": 7}, "date": "2026-02-02T00:00:00Z",
         "total": Decimal("10.50"), "balance": 0},
        {"id": 2, "invoiceNumber": "A2", "company": {"id": 7}, "date": "1500-02-02T00:00:00Z",
         "total": Decimal("10.50"), "balance": 0}]))
    assert page is not None
    first, second = (cw.read_invoice_row(r, True, None) for r in page)
    assert first == ("1", "A1", "7", date(2026, 2, 2).toordinal(), None, 1050, 0, "", None, 1,
                     "USD", "invoice", None)
    assert type(second) is not tuple and second.date.year == 1500


@given(_AMOUNTS)
def test_exact_cents_are_the_cents_reading_stores(amount: Decimal) -> None:
    try:
        expected: int | None = to_cents(to_api_money(amount))
    except MoneyError:
        expected = None
    try:
        got: int | None = exact_cents(amount)
    except (ValueError, ArithmeticError):
        got = None
    assert got == expected


class _RecordsOnly:
    def invoices(self, since: object = None) -> list[str]:
        return ["record"]


class _WithRows(_RecordsOnly):
    def invoice_rows(self, since: object = None) -> list[str]:
        return ["row"]


@pytest.mark.parametrize(("connector", "read"), [(_RecordsOnly(), ["record"]),
                                                 (_WithRows(), ["row"])])
def test_a_sync_stages_flat_rows_where_the_connector_has_them(connector: Any,
                                                              read: list[str]) -> None:
    assert list(invoice_rows(connector)) == read
