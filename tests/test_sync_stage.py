"""The sync's stage: pages read are kept on disk, not in memory, until applied."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import date
from decimal import Decimal

from recon_tui.cache.stage import DocFigures, SyncStage
from recon_tui.models import DocKind, PsaInvoice
from recon_tui.psa_payments import psa_figures
from recon_tui.sync import STAGE_PAGE, _stage_step
from recon_tui.sync_plan import _StepPlan


def _invoice(n: int) -> PsaInvoice:
    return PsaInvoice(id=str(n), number=f"INV-{n:06d}", company_id="7",
                      date=date(2026, 1, 1), total=Decimal("1234.56"),
                      owing=Decimal("0.01"), kind=DocKind.INVOICE)


def test_pages_come_back_in_order_with_their_ids_and_exact_figures() -> None:
    with SyncStage() as stage:
        stage.add_page("psa invoices", [_invoice(1), _invoice(2)], ids=["1", "2"],
                       docs=[DocFigures("1", "INV-1", "L9", Decimal("10.005"), Decimal("0"))])
        stage.add_page("psa invoices", [_invoice(3)], ids=["3"])
        stage.touch("ledger invoices")
        assert [[i.id for i in page] for page in stage.pages("psa invoices")] == [
            ["1", "2"], ["3"]]
        assert stage.count("psa invoices") == 3
        assert stage.count("ledger invoices") == 0
        assert list(stage.pages("ledger invoices")) == []
        assert stage.ids("psa invoices") == {"1", "2", "3"}
        assert stage.has_ids("psa invoices", ["2", "9"]) == {"2"}
        (doc,) = stage.docs("psa invoices", numbers=["INV-1"])
        assert doc == DocFigures("1", "INV-1", "L9", Decimal("10.005"), Decimal("0"))
        assert stage.docs("psa invoices", ids=["1"]) == [doc]
        assert stage.docs("ledger invoices", ids=["1"]) == []


def test_lookups_of_more_ids_than_one_statement_takes() -> None:
    with SyncStage() as stage:
        ids = [str(n) for n in range(2_000)]
        stage.add_page("s", ids, ids=ids)
        assert stage.has_ids("s", [*ids, "x"]) == set(ids)


def _staging_peak(count: int) -> int:
    """Python memory at the peak of staging ``count`` invoices (tracemalloc)."""
    plan = _StepPlan("invoices", "psa",
                     lambda _: (_invoice(n) for n in range(count)),
                     lambda c, p: None,  # type: ignore[arg-type,return-value]
                     id_of=lambda i: i.id, figures=psa_figures)
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
