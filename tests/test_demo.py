"""The demo book loaded through the connectors and the sync, end to end."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from recon_tui.backend import open_backend
from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.demo import demo_is_loaded, load_demo
from recon_tui.models import DocKind, ReconStatus, SyncStatus
from recon_tui.reconcile import pair_documents, report_totals
from recon_tui.tui.app import ReconApp
from tests.test_tui import SIZE, screen_text


@pytest.fixture(scope="module")
def scenarios() -> dict:
    return json.loads((sample_data_dir() / "scenarios.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory: pytest.TempPathFactory):
    """The demo book as the app loads it: emulator, real connectors, the sync."""
    cache = Cache(tmp_path_factory.mktemp("demo") / "demo.db")
    backend = open_backend(Config.default(), demo=True)
    try:
        run = load_demo(cache, backend)
    finally:
        backend.close()
    assert run.status is SyncStatus.SUCCEEDED, run.error
    yield cache
    cache.close()


def test_load_records_a_successful_run_with_counts(demo_cache: Cache, scenarios: dict) -> None:
    [run] = demo_cache.sync_runs()
    assert run.kind == "demo" and run.status is SyncStatus.SUCCEEDED
    steps = {f"{s.system} {s.name}": s for s in run.steps}
    assert steps["psa invoices"].created == (scenarios["counts"]["cw_invoices"]
                                             + scenarios["counts"]["cw_credit_memos"])
    assert steps["ledger credit memos"].created == scenarios["counts"]["qbo_credit_memos"]
    assert steps["ledger invoices"].created == scenarios["counts"]["qbo_invoices"]
    assert [s.system for s in run.steps][:3] == ["psa", "psa", "psa"]  # PSA first
    assert demo_is_loaded(demo_cache)
    assert set(demo_cache.sync_states()) == {"psa", "ledger"}


def test_auto_mapping_matches_only_with_certainty(demo_cache: Cache, scenarios: dict) -> None:
    mapping = demo_cache.mapping()
    for expected in scenarios["expected_mapping"]["auto"]:
        assert mapping.get(expected["qbo_customer_id"]) == expected["cw_company_id"], expected
    for unmapped in scenarios["expected_mapping"]["unmapped"]:
        assert unmapped["qbo_customer_id"] not in mapping, unmapped


def test_reconciliation_matches_the_manifest(demo_cache: Cache, scenarios: dict) -> None:
    expected = scenarios["expected_report"]
    every = pair_documents(demo_cache.iter_psa_invoices(), demo_cache.iter_ledger_documents())
    pairs = [p for p in every if p.kind is DocKind.INVOICE]
    counts: dict[str, int] = {}
    for pair in pairs:
        counts[pair.status.value] = counts.get(pair.status.value, 0) + 1
    assert counts == {k: v for k, v in expected["counts"].items() if v}
    memo_counts: dict[str, int] = {}
    for pair in every:
        if pair.kind is DocKind.CREDIT_MEMO:
            memo_counts[pair.status.value] = memo_counts.get(pair.status.value, 0) + 1
    assert memo_counts == {k: v for k, v in scenarios["expected_credit_memo_report"]["counts"]
                           .items() if v}
    totals = report_totals(pairs)
    assert totals.total_psa == Decimal(expected["total_psa"])
    assert totals.total_ledger == Decimal(expected["total_ledger"])
    assert totals.invoice_difference == Decimal(expected["invoice_difference"])
    assert totals.residual == Decimal("0.00")
    stored = demo_cache.conn.execute("SELECT count(*) FROM invoice_pair").fetchone()[0]
    assert stored == len(every)


def test_seed_000_invoice_shows_the_ten_dollar_gap(demo_cache: Cache, scenarios: dict) -> None:
    seed = scenarios["seed_000_payment_reversed"]
    [row] = demo_cache.pairs_for_number(seed["invoice_number"])
    assert row.status is ReconStatus.MATCHED
    assert (row.psa_owing, row.ledger_owing, row.difference_owing) == (
        Decimal("40.00"), Decimal("50.00"), Decimal("10.00"))
    client = demo_cache.client(row.client_key)
    assert client.name == seed["cw_company_name"] and client.discrepant_count >= 1


def test_seed_001_credit_waits_on_the_unmapped_customer(demo_cache: Cache,
                                                         scenarios: dict) -> None:
    seed = scenarios["seed_001_unapplied_credit"]
    ledger_row = demo_cache.client(f"ledger:{seed['qbo_customer_id']}")
    assert ledger_row is not None and not ledger_row.mapped
    assert ledger_row.unapplied_credits >= Decimal("10.00")
    credits = demo_cache.client_credits([seed["qbo_customer_id"]])
    assert any(c.id == "11261" and c.amount == Decimal("10.00") for c in credits)
    [row] = demo_cache.pairs_for_number("10040")
    assert row.client_key == f"psa:{seed['cw_company_id']}"
    assert (row.psa_total, row.ledger_owing) == (Decimal("120.00"), Decimal("120.00"))


async def test_demo_opens_in_the_app_and_shows_real_figures(tmp_path: Path,
                                                            scenarios: dict) -> None:
    app = ReconApp(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                   sample_dir=sample_data_dir())
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.load_error is None
        text = screen_text(app)
        assert "Loading" not in text
        assert scenarios["names"]["markup_and_unicode"][0] in text or "Refund [/] pending" \
            in text or app.cache.count_clients() > 30
        assert app.cache.count_clients() >= 30
        await pilot.press("slash", *"redwood", "enter", "enter")
        await pilot.pause()
        detail = screen_text(app)
        row = next(line for line in detail.splitlines() if "110273" in line)
        assert "40.00" in row and "50.00" in row
