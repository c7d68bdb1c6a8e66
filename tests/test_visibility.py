""""Why can't the client see invoice N?": every branch, against the emulator."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.sync import run_full_sync
from recon_tui.tui.screens.sync import SyncScreen
from recon_tui.tui.screens.why import WhyScreen
from recon_tui.workflows.visibility import Action, explain_invoice
from tests.emulator import backend_for, running_emulator
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app
from tests.waits import wait_for_text, wait_until

SCENARIOS = json.loads((sample_data_dir() / "scenarios.json").read_text(encoding="utf-8"))
LEVEL = 5


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """The demo book synced from 2026-01-01: older invoices are not in the cache."""
    with running_emulator() as (server, _book, _plan), backend_for(server) as backend:
        cache = Cache(tmp_path_factory.mktemp("why") / "cache.db")
        run = run_full_sync(cache, backend.psa, backend.ledger, since=date(2026, 1, 1))
        assert run.error is None
        yield cache, backend
        cache.close()


def explain(world, number: str, *, live: bool = True):
    cache, backend = world
    return explain_invoice(cache, number, minimum_level=LEVEL,
                           psa=backend.psa if live else None,
                           ledger=backend.ledger if live else None)


def test_not_yet_in_the_ledger(world) -> None:
    number = SCENARIOS["not_in_ledger"][0]["invoice_number"]
    result = explain(world, number)
    assert [c.ok for c in result.checks] == [False]
    assert "not in the ledger yet" in result.verdict


def test_customer_not_mapped_offers_the_mapper(world) -> None:
    result = explain(world, "10040")  # Atomar's Best Tackle: names only nearly match
    assert [c.ok for c in result.checks] == [True, False]
    assert "Atomar's Best Tackle" in result.verdict
    assert result.action is Action.OPEN_MAPPER


def test_contacts_below_the_portal_level_are_named(world) -> None:
    cache, _ = world
    blind = SCENARIOS["contacts"]["all_contacts_below_level_5"][0]
    [pair] = cache.recon.client_pairs(f"psa:{blind['cw_company_id']}", 0, 1)
    result = explain(world, pair.psa_number)
    assert [c.ok for c in result.checks] == [True, True, False]
    contacts = cache.recon.company_contacts(blind["cw_company_id"])
    assert any(c.full_name in result.verdict for c in contacts if not c.inactive)
    assert f"level {LEVEL} or higher" in result.verdict


def test_missed_by_an_earlier_sync_offers_a_sync_from_before_the_invoice(world) -> None:
    cache, backend = world
    # A Redwood Family Law invoice (mapped, contacts can see) the dated sync skipped.
    number = next(i.number for i in backend.psa.invoices(None)
                  if i.company_id == "287" and not cache.recon.pairs_for_number(i.number))
    result = explain(world, number)
    assert [c.ok for c in result.checks] == [True, True, True, False]
    assert result.action is Action.FULL_SYNC
    assert result.sync_since is not None and result.sync_since < date(2026, 1, 1)
    assert result.sync_since.isoformat() in result.verdict


def test_found_and_visible(world) -> None:
    number = SCENARIOS["matched_unpaid"]["invoice_number"]
    result = explain(world, number)
    assert result.visible and "should be visible" in result.verdict


def test_unknown_everywhere_and_offline(world) -> None:
    assert explain(world, "NOPE").verdict == "No invoice NOPE in the PSA or the ledger."
    offline = explain(world, "no-such-number", live=False)
    assert "systems not searched" in offline.verdict
    assert "offline" in offline.live_error


async def test_why_screen_explains_and_offers_the_sync(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        app = recon_app(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                        backend_factory=lambda: backend_for(server))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            # Forget an invoice as if an earlier sync had missed it.
            [row] = app.cache.recon.pairs_for_number("10092")
            assert row.invoice_date == date(2025, 12, 18)
            app.cache.conn.execute("DELETE FROM psa_invoice WHERE number='10092'")
            app.cache.conn.execute("DELETE FROM ledger_invoice WHERE doc_number='10092'")
            app.cache.conn.execute("DELETE FROM invoice_pair WHERE id=?", (row.pair_id,))
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, WhyScreen)
            await pilot.press(*"10092", "enter")
            # The explanation is set before the screen repaints: wait for its words.
            text = await wait_for_text(pilot, "ctrl+o: run a full sync", screen_text)
            assert "an earlier sync missed it" in text
            await pilot.press("ctrl+o")
            await pilot.pause()
            assert isinstance(app.screen, SyncScreen)
            assert app.screen.query_one("#since").value == "2025-12-17"


async def test_why_screen_offers_the_mapper_on_that_customer(tmp_path: Path) -> None:
    from recon_tui.tui.screens.mapper import MapperScreen

    with running_emulator() as (server, _book, _plan):
        app = recon_app(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                        backend_factory=lambda: backend_for(server))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            await pilot.press("w", *"10040", "enter")
            await wait_until(pilot, lambda: getattr(app.screen, "explanation", None) is not None)
            assert "not mapped to a PSA company" in screen_text(app)
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, MapperScreen))
            assert "Atomar's Best Tackle" in screen_text(app)


def _invoice_of(cache: Cache, company_id: str) -> str:
    row = cache.conn.execute(
        "SELECT psa_number FROM invoice_pair WHERE psa_company_id = ? AND status = 'Matched' "
        "ORDER BY invoice_date DESC LIMIT 1", (company_id,)).fetchone()
    return row[0]


def test_a_disabled_portal_login_is_named(world) -> None:
    cache, _ = world
    scenario = SCENARIOS["portal_login_disabled"]
    result = explain_invoice(cache, _invoice_of(cache, scenario["cw_company_id"]),
                             minimum_level=6)
    assert [c.ok for c in result.checks] == [True, True, False]
    assert result.checks[2].detail.startswith("portal login disabled:")
    assert "(level 6)" in result.checks[2].detail
    assert "Disable Portal Login" in result.verdict


def test_a_company_portal_switched_off_hides_everyone(world) -> None:
    """Autotask's Companies.isClientPortalActive: off, no contact can log in."""
    from msgspec.structs import replace

    cache, _ = world
    company = cache.records.company(SCENARIOS["seed_000_payment_reversed"]["cw_company_id"])
    assert company is not None and company.portal_active
    number = _invoice_of(cache, company.id)
    assert explain_invoice(cache, number, minimum_level=1).checks[2].ok
    cache.records.upsert_companies([replace(company, portal_active=False)])
    try:
        result = explain_invoice(cache, number, minimum_level=1)
        assert result.checks[2].ok is False
        assert "switched off for the whole company" in result.checks[2].detail
        assert company.id not in cache.recon.max_portal_levels()
    finally:
        cache.records.upsert_companies([company])


async def test_seed_002_each_check_from_the_why_screen_to_resolved(tmp_path: Path) -> None:
    """Seed 002 on the demo, the tech's way: w and the invoice number, the finding,
    the fix in the system (or ctrl+o), and w again says it should be visible."""
    from datetime import UTC, datetime

    from recon_tui.tui.screens.mapper import MapperScreen

    seed = SCENARIOS["seed_002"]

    async def why(pilot, app, number: str) -> str:
        await pilot.press("w", *number, "enter")
        await wait_until(pilot, lambda: getattr(app.screen, "explanation", None) is not None)
        await pilot.pause()
        return screen_text(app)

    async def close(pilot, app) -> None:
        while not isinstance(app.screen, ClientsScreen):
            await pilot.press("escape")
            await pilot.pause()

    async def sync_from(pilot, app, since: str | None = None) -> None:
        await pilot.press("s")
        await pilot.pause()
        if since is not None:
            app.screen.query_one("#since").value = since
        await pilot.press("enter")
        await wait_until(pilot, lambda: getattr(app.screen, "run", None) is not None, 1800)
        assert app.screen.run.status.value == "succeeded"

    from recon_tui.tui.screens.clients import ClientsScreen

    with running_emulator() as (server, book, _plan):
        app = recon_app(config=Config.default(), cache_path=tmp_path / "demo.db", demo=True,
                        backend_factory=lambda: backend_for(server))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: not app.loading)
            level = app.config.portal.client_admin_security_level

            # 1. Nobody at Pinecrest Veterinary Clinic may see invoices in the portal.
            company_id = seed["contact_below_portal_level"]["cw_company_id"]
            [pair] = app.cache.recon.client_pairs(f"psa:{company_id}", 0, 1)
            text = await why(pilot, app, pair.psa_number)
            assert f"level {level} or higher" in text
            await close(pilot, app)
            # The tech raises the office manager's portal level in ConnectWise; a sync
            # brings it, and the same question now says the invoice should be visible.
            with book.lock:
                contact = next(c for c in book.connectwise["contacts"].values()
                               if str(c["company"]["id"]) == company_id
                               and not c["inactiveFlag"])
                contact["portalSecurityLevel"] = level
                contact["_info"]["lastUpdated"] = datetime.now(UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")
            await sync_from(pilot, app)
            await close(pilot, app)
            assert "it should be visible" in await why(pilot, app, pair.psa_number)
            await close(pilot, app)

            # 2. Atomar's Best Tackle is not mapped with certainty: ctrl+o opens the
            # mapper on it, Enter asks (a near match), Enter again maps it, and invoice
            # 10040 is then the client's.
            text = await why(pilot, app, "10040")
            assert "not mapped to a PSA company" in text
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, MapperScreen))
            await pilot.pause()
            assert "Atomars Best Tackle LLC" in screen_text(app)
            await pilot.press("enter", "enter")
            await wait_until(pilot, lambda: bool(app.cache.recon.mapping_for_customers(
                [seed["unmapped_customer"]["qbo_customer_id"]])))
            await close(pilot, app)
            [memo_pair] = app.cache.recon.pairs_for_number("10040")
            assert memo_pair.client_key == f"psa:{seed['unmapped_customer']['cw_company_id']}"
            assert "not mapped" not in await why(pilot, app, "10040")
            await close(pilot, app)

            # 3. An invoice an earlier, dated sync missed: the why screen proposes a
            # full sync from the day before it, ctrl+o opens it with that date, and
            # the invoice is in the cache after it.
            missed = "10092"
            [row] = app.cache.recon.pairs_for_number(missed)
            with app.cache.conn:
                app.cache.conn.execute("DELETE FROM psa_invoice WHERE number=?", (missed,))
                app.cache.conn.execute("DELETE FROM ledger_invoice WHERE doc_number=?",
                                       (missed,))
                app.cache.conn.execute("DELETE FROM invoice_pair WHERE id=?", (row.pair_id,))
            text = await why(pilot, app, missed)
            assert "an earlier sync missed it" in text
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, SyncScreen))
            await pilot.pause()
            assert app.screen.query_one("#since").value == "2025-12-17"
            await pilot.press("enter")
            await wait_until(pilot, lambda: getattr(app.screen, "run", None) is not None, 1800)
            assert app.screen.run.status.value == "succeeded"
            [back] = app.cache.recon.pairs_for_number(missed)
            assert back.status.value == "Matched" and not back.discrepant
