"""The credit checklist's screen on a QuickBooks Desktop ledger: the by-hand steps
are Desktop's, `p` queues the credit for the next Web Connector poll (nothing is
sent from the app), and the next emulated Web Connector session, over real
sockets, applies it and verifies it; the screen then reads the ledger verified."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Button

from recon_tui.backend import SANDBOX_CONNECTWISE
from recon_tui.config import load_config
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.models import ChecklistState
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.qbd_company import SampleCompany
from tests.emulator import running_emulator
from tests.test_qbwc_credit import PASSWORD, USER, Desktop, adds
from tests.test_tui import SIZE, screen_text
from tests.test_tui_checklist import manual_text, open_checklist, settle, status_text
from tests.test_tui_sync import wait_until
from tests.tui_app import recon_app


def desktop_config(directory: Path, psa_url: str) -> Path:
    """[ledger] kind = "qbd" with writes on (the session may apply a queued credit)."""
    path = directory / "config.toml"
    path.write_text(
        f'[ledger]\nkind = "qbd"\nqbwc_username = "{USER}"\nqbwc_password = "{PASSWORD}"\n'
        'allow_writes = true\n\n'
        f'[psa]\nkind = "connectwise"\nbase_url = "{psa_url}/v4_6_release/apis/3.0"\n'
        + "".join(f'{key} = "{value}"\n' for key, value in SANDBOX_CONNECTWISE.items()),
        encoding="utf-8")
    return path


async def test_on_desktop_p_queues_the_credit_and_the_next_poll_verifies_it(
        tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        desktop = Desktop(server.url, tmp_path / "qbd.db",
                          SampleCompany(SandboxBook.from_dir(sample_data_dir())))
        assert desktop.session()[0].succeeded
        invoice = desktop.company.book.qbo["Invoice"]["9065"]
        balance = invoice["Balance"]
        app = recon_app(config=load_config(desktop_config(tmp_path, server.url)),
                        cache_path=desktop.cache_path, demo=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_checklist(app, pilot)
            await pilot.press("down")  # invoice 10040
            await pilot.pause()
            manual = manual_text(screen)
            assert "1. In QuickBooks Desktop: Customers > Receive Payments." in manual
            assert "3. Select invoice 10040 only, then click Discounts & Credits." in manual
            assert "pick credit memo 11261 (CM-1004) and set the amount to use to 10.00" in manual
            assert "QuickBooks Online" not in manual
            assert "p queues it for the next Web Connector poll" in status_text(screen)
            assert not screen.query_one("#btn-apply-api", Button).disabled
            assert str(screen.query_one("#btn-apply-api", Button).label) == \
                "Queue for the Web Connector (p)"
            footer = screen_text(app).splitlines()[-1]
            assert "p Queue for QBD" in footer and "QBO" not in footer
            await pilot.press("p")
            await settle(pilot, screen)
            assert screen.error is None, screen.error
            assert screen.checklist.state is ChecklistState.APPLYING
            status = status_text(screen)
            assert "Queued: applied at the next Web Connector poll" in status
            assert screen.checklist.request_id in status
            assert invoice["Balance"] == balance  # nothing sent from the app
            outcome, report = await asyncio.to_thread(desktop.session)
            assert outcome.succeeded, outcome.line
            assert adds(report) == 1
            assert invoice["Balance"] == balance - 10
            screen._load()
            await wait_until(pilot, lambda: screen.checklist.state
                             is ChecklistState.LEDGER_DONE_PSA_LAGS)
            assert "The ledger is done; the PSA lags" in status_text(screen)
            assert "invoice 10040 110.00 of 120.00 ✓" in screen.checklist.note
