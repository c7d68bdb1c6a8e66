"""The emulator's Autotask filter language, tested directly (no HTTP): the same
refusals the routes answer with 400, and id-range scans over the book's index."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recon_tui.connectors.sample import sample_data_dir
from recon_tui.sandbox.autotask_query import FilterError, _id_bounds, predicates, scan
from recon_tui.sandbox.autotask_records import autotask_view
from recon_tui.sandbox.book import SandboxBook


def _matches(entity: str, filters: list, record: dict) -> bool:
    return all(p(record) for p in predicates(entity, filters))


def test_fields_are_case_insensitive_and_values_coerced_to_the_field_type() -> None:
    invoice = {"id": 7, "invoiceTotal": Decimal("120.50"), "isVoided": False,
               "invoiceNumber": "INV-0007", "createDateTime": "2026-01-02T03:04:05"}
    assert _matches("Invoices", [{"op": "gte", "field": "INVOICETOTAL", "value": "120.5"}],
                    invoice)
    assert _matches("Invoices", [{"op": "eq", "field": "isVoided", "value": "false"}], invoice)
    assert _matches("Invoices", [{"op": "beginsWith", "field": "invoiceNumber",
                                  "value": "inv-"}], invoice)
    assert _matches("Invoices", [{"op": "lt", "field": "createDateTime",
                                  "value": "2026-01-02T03:04:06.1234567Z"}], invoice)
    assert not _matches("Invoices", [{"op": "in", "field": "id", "value": [1, "8"]}], invoice)
    assert _matches("Invoices", [{"op": "notIn", "field": "id", "value": [1, "8"]}], invoice)
    either = {"op": "or", "items": [{"op": "eq", "field": "id", "value": 1},
                                    {"op": "eq", "field": "id", "value": 7}]}
    assert _matches("Invoices", [either], invoice)


def test_a_null_field_fails_every_comparison_but_noteq() -> None:
    paid = {"id": 1, "paidDate": None}
    assert not _matches("Invoices", [{"op": "gt", "field": "paidDate",
                                      "value": "2020-01-01"}], paid)
    assert _matches("Invoices", [{"op": "noteq", "field": "paidDate",
                                  "value": "2020-01-01"}], paid)
    assert _matches("Invoices", [{"op": "notExist", "field": "paidDate"}], paid)


@pytest.mark.parametrize(("filters", "message"), [
    ([], "A query needs a 'filter' with at least one expression"),
    ([5], "Each filter must be an object, got 5."),
    ([{"op": "and", "items": []}], "A grouping 'and' filter needs a non-empty 'items' list."),
    # refused as unqueryable before a value is even looked for
    ([{"op": "eq", "field": "DueDate"}], "The field DueDate of Invoices cannot be queried."),
    ([{"op": "eq", "field": "nope", "value": 1}], "Unable to find nope in the Invoices entity."),
    ([{"op": "eq", "field": "id"}], "Filter on id with op 'eq' needs a 'value'."),
    ([{"op": "contains", "field": "id", "value": "1"}],
     "Operator 'contains' is only valid for text; id is integer."),
    ([{"op": "zz", "field": "id", "value": 1}], "Unknown filter operator 'zz'."),
    ([{"op": "gt", "field": "isVoided", "value": True}],
     "Operator 'gt' is not valid for boolean isVoided."),
    ([{"op": "eq", "field": "id", "value": Decimal("1.5")}],
     "Value Decimal('1.5') is not valid for field id (integer)."),
])
def test_every_refusal_is_raised_when_compiling(filters: list, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        predicates("Invoices", filters)
    assert str(caught.value).startswith(message)


def test_only_leading_id_filters_bound_the_scan() -> None:
    ranged = [{"op": "gt", "field": "id", "value": 10}, {"op": "lte", "field": "ID", "value": 20}]
    assert _id_bounds(ranged) == (11, 20)
    assert _id_bounds([{"op": "eq", "field": "companyID", "value": 3}, *ranged]) == (None, None)


def test_a_scan_reads_its_id_range_from_its_start_up_to_its_limit() -> None:
    book = SandboxBook.from_dir(sample_data_dir())
    records = autotask_view(book)["Companies"]
    ids = sorted(records)
    low, high = ids[1], ids[-2]
    filters = [{"op": "gte", "field": "id", "value": low},
               {"op": "lte", "field": "id", "value": high}]
    everything = scan(book, "Companies", records, filters, predicates("Companies", filters))
    assert [r["id"] for r in everything] == [i for i in ids if low <= i <= high]
    later = scan(book, "Companies", records, filters, predicates("Companies", filters),
                 start=ids[2], limit=2)
    assert [r["id"] for r in later] == ids[2:4]
