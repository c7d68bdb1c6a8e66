"""ConnectWise's unposted list is read beside the invoices in a sync.

Each invoice record needs the unposted list (is it exported?) only once its
page is in, so in a sync the list's count and pages go out beside the invoice
count instead of before it: one round trip less on the PSA's longest step.
Proved by order, not time (as in ``test_sync_overlap``): the unposted count is
held until the invoice count has started, which a read in turn would never
let happen. Its failure still fails the invoice step with its own error, and
outside a sync the connector reads the list first, as it always did.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from recon_tui.backend import sandbox_configs
from recon_tui.cache import Cache
from recon_tui.connectors.connectwise import ConnectWiseConnector
from recon_tui.models import SyncStatus
from recon_tui.sync import run_full_sync
from tests.emulator import running_emulator
from tests.test_sync_overlap import Log, Recording, connectors, cw_count

UNPOSTED = "finance/accounting/unpostedinvoices"


def test_the_unposted_list_is_read_beside_the_invoice_count(tmp_path: Path) -> None:
    log = Log()
    holds = [(cw_count(UNPOSTED), log.started(cw_count("finance/invoices")))]
    with running_emulator() as (server, _book, _plan), Cache(tmp_path / "c.db") as cache:
        psa, ledger, on_psa, _ = connectors(server.url, tmp_path, log, qbo_window=3,
                                            cw_window=2, psa_holds=holds)
        with psa, ledger:
            run = run_full_sync(cache, psa, ledger, since=None)
        assert run.status is SyncStatus.SUCCEEDED, run.error
        assert on_psa.met == [True]  # the invoice count started while the list's was held
        assert log.peak["connectwise"] <= 2
        exported = cache.conn.execute(
            "SELECT count(*) FROM psa_invoice WHERE exported = 0").fetchone()[0]
        assert exported == len(server_unposted(server.url, tmp_path))


def server_unposted(url: str, folder: Path) -> set[str]:
    """The unposted list read on its own, outside a sync."""
    log = Log()
    psa, ledger, _, _ = connectors(url, folder, log, qbo_window=1, cw_window=2)
    with psa, ledger:
        return psa.unexported_invoice_numbers()


class GarbledUnposted(Recording):
    """The real emulator, but the unposted list's count comes back as garbage."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(f"/{UNPOSTED}/count"):
            return httpx.Response(200, content=b"<html>proxy error</html>")
        return super().handle_request(request)


def test_an_unposted_list_that_fails_fails_the_invoice_step_with_its_own_error(
        tmp_path: Path) -> None:
    log = Log()
    with running_emulator() as (server, _book, _plan), Cache(tmp_path / "c.db") as cache:
        _, ledger, _, _ = connectors(server.url, tmp_path, log, qbo_window=3, cw_window=2)
        psa = ConnectWiseConnector(sandbox_configs(server.url)[1], max_concurrency=2,
                                   transport=GarbledUnposted("connectwise", log))
        with psa, ledger:
            run = run_full_sync(cache, psa, ledger, since=None)
        assert run.status is SyncStatus.FAILED
        failed = [f"{s.system} {s.name}" for s in run.steps if s.status is SyncStatus.FAILED]
        assert failed == ["psa invoices"]
        assert "count: list unposted invoices" in (run.error or ""), run.error
        assert cache.records.counts()["psa_invoice"] == 0


def test_outside_a_sync_the_unposted_list_is_read_first(tmp_path: Path) -> None:
    log = Log()
    with running_emulator() as (server, _book, _plan):
        psa, ledger, _, _ = connectors(server.url, tmp_path, log, qbo_window=1, cw_window=2)
        with psa, ledger:
            invoices = list(psa.invoices())
    starts = [what for kind, _system, what in log.events if kind == "start"]
    assert invoices and cw_count(UNPOSTED)(starts[0])
    first_invoice_request = next(i for i, w in enumerate(starts) if "/finance/invoices" in w)
    assert all(UNPOSTED in w for w in starts[:first_invoice_request])
