"""The sync's stage: pages read are kept on disk, not in memory, until applied."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from recon_tui.cache.stage import DocFigures, SyncStage
from recon_tui.models import CreditKind, DocKind, OrganizationalCredit, PsaInvoice
from recon_tui.psa_payments import psa_figures
from recon_tui.sync import STAGE_PAGE, _stage_step
from recon_tui.sync_plan import _StepPlan
from recon_tui.transactions import InvoiceTxn, LedgerPayment, Side, TxnKind


def _invoice(n: int) -> PsaInvoice:
    return PsaInvoice(id=str(n), number=f"INV-{n:06d}", company_id="7",
                      date=date(2026, 1, 1), total=Decimal("1234.56"),
                      owing=Decimal("0.01"), kind=DocKind.INVOICE)


def test_pages_come_back_in_order_with_their_ids_and_exact_figures() -> None:
    with SyncStage() as stage:
        stage.declare("psa invoices", PsaInvoice)
        stage.declare("ledger invoices", PsaInvoice)
        stage.add_page("psa invoices", [_invoice(1), _invoice(2)], ids=["1", "2"],
                       docs=[DocFigures("1", "INV-1", "L9", Decimal("10.005"), Decimal("0"))])
        stage.add_page("psa invoices", [_invoice(3)], ids=["3"])
        assert [page for page in stage.pages("psa invoices")] == [
            [_invoice(1), _invoice(2)], [_invoice(3)]]  # the records themselves, exact
        assert stage.count("psa invoices") == 3
        assert stage.count("ledger invoices") == 0
        assert list(stage.pages("ledger invoices")) == []
        assert stage.ids("psa invoices") == {"1", "2", "3"}
        assert stage.has_ids("psa invoices", ["2", "9"]) == {"2"}
        (doc,) = stage.docs("psa invoices", numbers=["INV-1"])
        assert doc == DocFigures("1", "INV-1", "L9", Decimal("10.005"), Decimal("0"))
        assert stage.docs("psa invoices", ids=["1"]) == [doc]
        assert stage.docs("ledger invoices", ids=["1"]) == []


def test_matched_and_unmatched_pages_walk_every_figure_once_in_id_order() -> None:
    """The PSA-payments choice walks the figures, not the pages: every PSA
    document comes back once, exact, with the ledger document its link names
    and one of its number; the ledger documents no PSA document bears the
    number of come back on their own."""
    psa = [DocFigures(f"{n:04d}", f"INV-{n}", "L3" if n == 1 else None, Decimal("10.005"),
                      Decimal(n)) for n in range(25)]
    ledger = [DocFigures("L3", "INV-3", None, Decimal(1), Decimal(0)),
              DocFigures("L4", "INV-4", None, Decimal(2), Decimal(0)),
              DocFigures("L9", "X-9", None, Decimal(3), Decimal(0))]
    with SyncStage() as stage:
        stage.declare("psa invoices", PsaInvoice)
        stage.declare("ledger invoices", PsaInvoice)
        stage.add_page("psa invoices", [], ids=[f.id for f in psa[10:]], docs=psa[10:])
        stage.add_page("psa invoices", [], docs=psa[:10])
        stage.add_page("ledger invoices", [], ids=["L3", "L4", "L9"], docs=ledger)
        pages = list(stage.matched_pages("psa invoices", "ledger invoices", size=10))
        assert [len(page) for page in pages] == [10, 10, 5]
        rows = [row for page in pages for row in page]
        assert [p for p, _, _ in rows] == psa
        assert rows[1][1:] == (ledger[0], None)  # its link; no ledger INV-1
        assert rows[3][1:] == (None, ledger[0])  # no link; INV-3 by number
        assert rows[4][1:] == (None, ledger[1])
        assert all(by_link is None and by_number is None
                   for _, by_link, by_number in rows[5:])
        assert list(stage.unmatched_pages("ledger invoices", "psa invoices")) == [[ledger[2]]]
        assert list(stage.matched_pages("nothing", "ledger invoices")) == []
        assert stage.ids("psa invoices") == {f.id for f in psa[10:]}  # only those listed


def test_lookups_of_more_ids_than_one_statement_takes() -> None:
    with SyncStage() as stage:
        ids = [str(n) for n in range(2_000)]
        stage.declare("s", str)
        stage.add_page("s", ids, ids=ids)
        assert stage.has_ids("s", [*ids, "x"]) == set(ids)


def test_every_kind_of_record_a_sync_stages_comes_back_equal() -> None:
    """Payments with their applications, (entity, id) pairs, payment lists: the
    types the sync's steps declare decode back to equal values, money exact."""
    credit = OrganizationalCredit(id="P1", kind=CreditKind.UNAPPLIED_PAYMENT,
                                  customer_id="7", amount=Decimal("0.005"),
                                  total=Decimal("10.00"), date=date(2026, 3, 4),
                                  updated_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC))
    txn = InvoiceTxn(side=Side.LEDGER, txn_id="P1", invoice_id="I9", kind=TxnKind.PAYMENT,
                     amount=Decimal("99999999999.99"), date=date(2026, 3, 4))
    cases: list[tuple[object, list[object]]] = [
        (LedgerPayment, [LedgerPayment(credit, (txn,))]),
        (tuple[str, str], [("Invoice", "12"), ("Payment", "13")]),
        (tuple[str, list[InvoiceTxn]], [("I9", [txn]), ("I10", [])]),
    ]
    with SyncStage() as stage:
        for n, (record_type, records) in enumerate(cases):
            stage.declare(f"s{n}", record_type)
            stage.add_page(f"s{n}", records)
            assert list(stage.items(f"s{n}")) == records


def test_an_undeclared_step_is_refused() -> None:
    with SyncStage() as stage, pytest.raises(KeyError, match="not declared"):
        stage.add_page("psa invoices", [_invoice(1)])


def _staging_peak(count: int) -> int:
    """Python memory at the peak of staging ``count`` invoices (tracemalloc)."""
    plan = _StepPlan("invoices", "psa",
                     lambda _: (_invoice(n) for n in range(count)),
                     lambda c, p: None,  # type: ignore[arg-type,return-value]
                     PsaInvoice, id_of=lambda i: i.id, figures=psa_figures)
    seen: list[int] = []
    with SyncStage() as stage:
        gc.collect()
        tracemalloc.start()
        _stage_step(plan, stage, None, seen.append)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert stage.count(plan.key) == count
        assert sum(len(page) for page in stage.pages(plan.key)) == count
        assert len(stage.ids(plan.key)) == count
    assert seen[-1] == count
    return peak


def test_a_step_read_into_the_stage_holds_a_page_not_the_book() -> None:
    """Staging four times as many invoices costs (almost) no more memory at the
    peak, where holding them would cost their whole size: each page goes to disk
    as it fills."""
    small, big = 2 * STAGE_PAGE, 8 * STAGE_PAGE
    gc.collect()
    tracemalloc.start()
    held = [_invoice(n) for n in range(big - small)]
    holding = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del held
    growth = _staging_peak(big) - _staging_peak(small)
    assert growth < holding / 10, (growth, holding)
