"""A sync's records staged as rows and applied by SQL (``cache/stage_rows.py``,
``cache/apply_staged.py``) give exactly what the row-by-row upsert gave: the
same stored rows in the same order, the same counts, the same history changes
in the same order, the same touched ids and owners."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_tui.cache import ApplyResult, Cache
from recon_tui.cache.records import (
    LEDGER_CREDIT_MEMO,
    LEDGER_INVOICE,
    PSA_INVOICE,
    company_row,
    contact_row,
    customer_row,
    ledger_invoice_row,
    psa_invoice_row,
)
from recon_tui.cache.stage import SyncStage
from recon_tui.cache.stage_rows import (
    STAGED_COMPANIES,
    STAGED_CONTACTS,
    STAGED_CUSTOMERS,
    STAGED_LEDGER_INVOICES,
    STAGED_PSA_INVOICES,
    StagedTable,
)
from recon_tui.models import (
    Contact,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    PsaCompany,
    PsaInvoice,
)

_ZONES = st.sampled_from([UTC, None, timezone(timedelta(hours=-5)),
                          timezone(timedelta(hours=5, minutes=30))])
_MOMENTS = st.one_of(st.none(), st.builds(
    lambda d, z: d.replace(tzinfo=z),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), _ZONES))
_DAYS = st.dates(min_value=date(1, 1, 1))
_MONEY = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"),
                     places=2, allow_nan=False)
_TEXT = st.text(min_size=1, max_size=8)


def _psa(id_: str, *, company: str = "c1", owing: str = "5.00", total: str = "10.00",
         updated: datetime | None = None, kind: DocKind = DocKind.INVOICE) -> PsaInvoice:
    return PsaInvoice(id=id_, number=f"N{id_}", company_id=company, date=date(2026, 3, 1),
                      total=Decimal(total), owing=Decimal(owing), due_date=date(2026, 4, 1),
                      status="Open", updated_at=updated or datetime(2026, 3, 1, 9, tzinfo=UTC),
                      kind=kind)


def _stage_rows(cache: Cache, staged: StagedTable, records: Sequence[Any]) -> list[tuple]:
    with SyncStage(cache) as stage:
        stage.declare_table("s", staged)
        stage.add_rows("s", records)
        return [tuple(r) for r in cache.conn.execute(
            f"SELECT * FROM {stage.table('s')} ORDER BY rowid")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.builds(PsaInvoice, id=_TEXT, number=_TEXT, company_id=_TEXT, date=_DAYS,
                          total=_MONEY, owing=_MONEY, due_date=st.one_of(st.none(), _DAYS),
                          status=_TEXT, ledger_invoice_id=st.one_of(st.none(), _TEXT),
                          exported=st.booleans(), updated_at=_MOMENTS,
                          kind=st.sampled_from(DocKind)), max_size=20),
       st.lists(st.builds(LedgerInvoice, id=_TEXT, doc_number=_TEXT, customer_id=_TEXT,
                          date=_DAYS, total=_MONEY, balance=_MONEY,
                          due_date=st.one_of(st.none(), _DAYS), voided=st.booleans(),
                          updated_at=_MOMENTS, kind=st.sampled_from(DocKind)), max_size=20),
       st.lists(st.builds(PsaCompany, id=_TEXT, identifier=_TEXT, name=_TEXT,
                          updated_at=_MOMENTS), max_size=5),
       st.lists(st.builds(Contact, id=_TEXT, company_id=_TEXT, first_name=_TEXT,
                          last_name=_TEXT, updated_at=_MOMENTS), max_size=5),
       st.lists(st.builds(LedgerCustomer, id=_TEXT, display_name=_TEXT, company_name=_TEXT,
                          balance=_MONEY, updated_at=_MOMENTS), max_size=5))
def test_a_staged_row_is_the_row_records_py_builds(
        cache: Cache, psa: list[PsaInvoice], ledger: list[LedgerInvoice],
        companies: list[PsaCompany], contacts: list[Contact],
        customers: list[LedgerCustomer]) -> None:
    """Dates as ordinals and moments as milliseconds, turned into text by SQLite,
    are the very text ``iso_text`` gives: any zone, naive, None, before 1600,
    microseconds truncated."""
    cases: list[tuple[StagedTable, Callable[[Any], tuple], Sequence[Any]]] = [
        (STAGED_PSA_INVOICES, psa_invoice_row, psa),
        (STAGED_LEDGER_INVOICES, ledger_invoice_row, ledger),
        (STAGED_COMPANIES, company_row, companies),
        (STAGED_CONTACTS, contact_row, contacts),
        (STAGED_CUSTOMERS, customer_row, customers),
    ]
    for staged, row, records in cases:
        assert _stage_rows(cache, staged, records) == [row(r) for r in records]


def test_moments_on_the_edges_of_a_millisecond_and_a_day() -> None:
    """Every millisecond boundary the fast path meets comes back as iso_text's."""
    cache = Cache(":memory:")
    base = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    moments = [base + timedelta(microseconds=us) for us in (0, 999, 1000, 998_999, 999_999)]
    moments += [datetime(1600, 1, 1, tzinfo=UTC), datetime(1599, 12, 31, 23, 59, tzinfo=UTC),
                datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)]
    companies = [PsaCompany(str(n), "X", "X", updated_at=m) for n, m in enumerate(moments)]
    # A page of integers alone (read straight) and one with text (read by type).
    assert STAGED_COMPANIES.rows(companies[:5])[1] is False
    assert STAGED_COMPANIES.rows(companies)[1] is True
    for page in (companies[:5], companies):
        assert _stage_rows(cache, STAGED_COMPANIES, page) == list(map(company_row, page))
    cache.close()


def _staged_apply(cache: Cache, staged: StagedTable, records: Sequence[Any], *,
                  touch: bool = True) -> ApplyResult:
    with SyncStage(cache) as stage:
        stage.declare_table("s", staged)
        for start in range(0, len(records), 3):  # pages of three
            stage.add_rows("s", records[start:start + 3])
        return cache.records.upsert_staged(staged.spec, stage.table("s"), stage.count("s"),
                                           touch=touch)


def _stored(cache: Cache, table: str) -> list[tuple]:
    return [tuple(r) for r in cache.conn.execute(f"SELECT * FROM {table} ORDER BY rowid")]


def _same(a: ApplyResult, b: ApplyResult, *, touched: bool = True) -> None:
    assert (a.created, a.updated, a.unchanged, a.deleted) == (
        b.created, b.updated, b.unchanged, b.deleted)
    assert a.changes == b.changes
    if touched:
        assert (a.touched, a.owners) == (b.touched, b.owners)


_ROUNDS: list[list[PsaInvoice]] = [
    [_psa("1"), _psa("2", company="c2"), _psa("3")],  # a first read: nothing listed
    [_psa("1"),  # unchanged
     _psa("2", company="c3", owing="1.00"),  # moved to another company, paid
     _psa("3", updated=datetime(2026, 3, 2, tzinfo=UTC)),  # a newer stamp only
     _psa("4", company="c9"), _psa("5", kind=DocKind.CREDIT_MEMO)],  # new ones
    [_psa("6"), _psa("6", owing="2.00"), _psa("1", owing="0.00"), _psa("1", owing="0.00")],
]


@pytest.mark.parametrize("touch", [True, False])
def test_applied_by_sql_as_row_by_row_round_after_round(tmp_path: Path, touch: bool) -> None:
    """Creations, updates, a move between owners, a stamp alone, and a read that
    lists an id twice (the later copy wins) give the same rows and results."""
    by_rows, by_sql = Cache(tmp_path / "rows.db"), Cache(tmp_path / "sql.db")
    for records in _ROUNDS:
        expected = by_rows.records.upsert_psa_invoices(records)
        got = _staged_apply(by_sql, STAGED_PSA_INVOICES, records, touch=touch)
        _same(got, expected, touched=touch)  # a complete read needs no touched ids
        assert _stored(by_sql, "psa_invoice") == _stored(by_rows, "psa_invoice")
    by_rows.close()
    by_sql.close()


def test_ledger_invoices_listing_a_credit_memo_drop_its_other_copy(cache: Cache) -> None:
    memo = LedgerInvoice(id="m1", doc_number="CM1", customer_id="k", date=date(2026, 1, 2),
                         total=Decimal("5.00"), balance=Decimal("5.00"), kind=DocKind.CREDIT_MEMO)
    cache.records.upsert_ledger_credit_memos([memo])
    assert _stored(cache, LEDGER_CREDIT_MEMO.table) != []
    result = _staged_apply(cache, STAGED_LEDGER_INVOICES, [memo])
    assert (result.created, result.deleted) == (1, 1)
    assert _stored(cache, LEDGER_CREDIT_MEMO.table) == []
    assert [r[0] for r in _stored(cache, LEDGER_INVOICE.table)] == ["m1"]


def test_the_stage_is_the_connections_temp_tables_and_goes_with_the_sync(
        tmp_path: Path) -> None:
    """Staged rows are never in the cache file, a rolled-back apply leaves the
    table as it was, and closing the stage drops its tables."""
    cache = Cache(tmp_path / "c.db")
    cache.records.upsert_psa_invoices(_ROUNDS[0])
    before = _stored(cache, PSA_INVOICE.table)
    stage = SyncStage(cache)
    stage.declare_table("s", STAGED_PSA_INVOICES)
    stage.add_rows("s", _ROUNDS[1])
    assert stage.table("s").startswith("temp.")
    other = Cache(tmp_path / "c.db")  # another connection sees none of it
    assert {r[0] for r in other.conn.execute("SELECT name FROM sqlite_master")} >= {
        "psa_invoice"}
    assert not any(r[0].startswith("stage") for r in other.conn.execute(
        "SELECT name FROM sqlite_master"))
    with pytest.raises(RuntimeError, match="cancelled"), cache.transaction():
        cache.records.upsert_staged(PSA_INVOICE, stage.table("s"), stage.count("s"))
        raise RuntimeError("cancelled")
    assert _stored(cache, PSA_INVOICE.table) == before == _stored(other, PSA_INVOICE.table)
    stage.close()
    assert not any(r[0].startswith("stage") for r in cache.conn.execute(
        "SELECT name FROM temp.sqlite_master"))
    other.close()
    cache.close()


def test_a_complete_reads_deletions_are_the_held_ids_the_stage_does_not_list(
        cache: Cache) -> None:
    """Compared in SQL, table step or paged step alike, sorted as the sets were."""
    from recon_tui.cache.held_ids import held_but_unlisted

    cache.records.upsert_psa_invoices([_psa("3"), _psa("1"), _psa("2"), _psa("10")])
    with SyncStage(cache) as stage:
        stage.declare("psa invoices", STAGED_PSA_INVOICES)
        stage.add_page("psa invoices", [_psa("2"), _psa("4")])
        stage.declare("ledger invoices", LedgerInvoice)
        stage.add_page("ledger invoices", [], ids=["x"])
        assert held_but_unlisted(cache, "psa invoices", stage.listed("psa invoices")) == [
            "1", "10", "3"]
        assert held_but_unlisted(cache, "Invoice", stage.listed("ledger invoices")) == []
