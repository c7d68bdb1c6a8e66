"""What a daily sync reads to choose and read the PSA payment lists, made cheaper
without changing a single answer: the invoices proved empty are answered in order
without a request or a pool job, and the never-read discrepant rows are found
through the discrepant rows' own indexes, exactly as the plain query finds them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recon_tui.backend import sandbox_configs
from recon_tui.cache import Cache
from recon_tui.cache.held_ids import held_ledger_ids, held_psa_invoice_ids
from recon_tui.connectors.connectwise import ConnectWiseConnector
from recon_tui.models import SyncStatus
from recon_tui.psa_payments import read_payments
from recon_tui.sandbox.server import SandboxServer
from recon_tui.sync import run_full_sync
from tests.emulator import Emulator, backend_for
from tests.test_concurrent_paging import FAST, LATENCY_MS, InFlight, paging_threads

#: psa_payments_unread as it was written before it named its indexes: the oracle.
PLAIN_UNREAD = (
    "SELECT p.id FROM invoice_pair r JOIN psa_invoice p ON p.id = r.psa_invoice_id "
    "WHERE r.discrepant AND r.kind = 'invoice' AND r.status = 'Matched' "
    "AND r.diff_total_cents = 0 AND r.diff_owing_cents != 0 "
    "AND p.payments_read_at IS NULL ORDER BY p.id LIMIT ?")


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with Emulator(latency_ms=LATENCY_MS) as emulator:
        yield emulator.server


def _connector(server: SandboxServer, transport: InFlight, window: int) -> ConnectWiseConnector:
    _ledger, psa = sandbox_configs(server.url)
    return ConnectWiseConnector(psa, transport=transport, retry=FAST, max_concurrency=window)


def test_proved_empty_lists_are_answered_in_order_without_a_request(
        server: SandboxServer) -> None:
    with _connector(server, InFlight(), 1) as one_at_a_time:
        invoices = list(one_at_a_time.invoices(None))
        paid = [i for i in invoices if i.total != i.owing][:6]
        unpaid = [i for i in invoices if i.total == i.owing][:6]
        asked = dict(read_payments(one_at_a_time, paid))
    assert len(paid) == len(unpaid) == 6 and any(asked.values())
    mixed = [invoice for pair in zip(unpaid, paid, strict=True) for invoice in pair]
    proved = {i.id for i in unpaid}
    transport = InFlight()
    with _connector(server, transport, 4) as connector:
        got = list(read_payments(connector, mixed, proved_empty=proved))
    assert [invoice_id for invoice_id, _ in got] == [i.id for i in mixed]
    assert got == [(i.id, [] if i.id in proved else asked[i.id]) for i in mixed]
    assert transport.sent == len(paid)  # the proved-empty ones asked nothing
    assert paging_threads() == []


def test_a_read_stopped_halfway_leaves_no_thread(server: SandboxServer) -> None:
    with _connector(server, InFlight(), 4) as connector:
        paid = [i for i in connector.invoices(None) if i.total != i.owing][:10]
        reads = read_payments(connector, paid, proved_empty={paid[0].id})
        assert next(reads) == (paid[0].id, [])
        assert next(reads)[0] == paid[1].id
        reads.close()
    assert paging_threads() == []


def test_unread_discrepant_rows_are_those_the_plain_query_finds(
        tmp_path: Path, server: SandboxServer) -> None:
    with Cache(tmp_path / "cache.db") as cache:
        with backend_for(server) as backend:
            run = run_full_sync(cache, backend.psa, backend.ledger, since=None)
        assert run.status is SyncStatus.SUCCEEDED, run.error
        with cache.transaction():  # money applied on one side, some rows diagnosed
            cache.conn.execute("UPDATE psa_invoice SET payments_read_at = NULL "
                               "WHERE rowid % 3 != 0")
            cache.conn.execute(
                "UPDATE invoice_pair SET discrepant = 1, diff_total_cents = 0, "
                "diff_owing_cents = 700, cause = CASE WHEN id % 2 = 0 THEN NULL "
                "ELSE 'paid_in_ledger_only' END WHERE id % 5 = 0 AND status = 'Matched'")
        for limit in (10_000, 7):
            expected = [r[0] for r in cache.conn.execute(PLAIN_UNREAD, (limit,))]
            assert cache.txns.psa_payments_unread(limit) == expected
        assert len(expected) == 7
        counts = cache.conn.execute(
            "SELECT count(*) FILTER (WHERE cause IS NULL), count(*) FILTER (WHERE cause "
            "IS NOT NULL) FROM invoice_pair WHERE discrepant AND diff_total_cents = 0 "
            "AND diff_owing_cents != 0").fetchone()
        assert min(counts) > 0  # both indexes' rows are among them


def test_held_ids_are_true_exactly_when_they_hold_an_id(tmp_path: Path,
                                                        server: SandboxServer) -> None:
    with Cache(tmp_path / "cache.db") as cache:
        empty = held_ledger_ids(cache, {})
        assert [bool(ids) for ids in empty.values()] == [False, False, False]
        just_read = held_ledger_ids(cache, {"Payment": ["new-payment"]})
        assert bool(just_read["Payment"]) and len(just_read["Payment"]) == 1
        assert not held_psa_invoice_ids(cache)
        with backend_for(server) as backend:
            run = run_full_sync(cache, backend.psa, backend.ledger, since=None)
        assert run.status is SyncStatus.SUCCEEDED, run.error
        for ids in [*held_ledger_ids(cache, {}).values(), held_psa_invoice_ids(cache)]:
            assert bool(ids) == (len(ids) > 0)
        assert all(held_ledger_ids(cache, {}).values())
        with cache.transaction():  # payments held only as live applications
            cache.conn.execute("DELETE FROM ledger_credit")
        payments = held_ledger_ids(cache, {})["Payment"]
        assert bool(payments) == (len(payments) > 0) == bool(list(payments))
