"""A sync's reads of ConnectWise invoice payments (one request per invoice) go
several at once, within the connector's window, and come back in order.

Over real sockets against the emulator with a little latency, so the requests
really overlap; what is asserted is the order, the answers and the peak number
in flight, never a time.
"""

from __future__ import annotations

import msgspec
import pytest

from recon_tui.backend import sandbox_configs
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.connectwise import ConnectWiseConnector
from recon_tui.psa_payments import read_payments
from recon_tui.sandbox.server import SandboxServer
from tests.emulator import Emulator
from tests.test_concurrent_paging import FAST, LATENCY_MS, InFlight, paging_threads


@pytest.fixture
def server() -> SandboxServer:
    with Emulator(latency_ms=LATENCY_MS) as emulator:
        yield emulator.server


def _connector(server: SandboxServer, transport: InFlight, window: int) -> ConnectWiseConnector:
    _ledger, psa = sandbox_configs(server.url)
    return ConnectWiseConnector(psa, transport=transport, retry=FAST, max_concurrency=window)


def test_payment_lists_are_read_up_to_the_window_at_once_in_the_order_asked(
        server: SandboxServer) -> None:
    with _connector(server, InFlight(), 1) as one_at_a_time:
        invoices = [i for i in one_at_a_time.invoices(None) if i.total != i.owing][:12]
        expected = list(read_payments(one_at_a_time, invoices))
    assert len(invoices) == 12
    transport = InFlight()
    with _connector(server, transport, 4) as connector:
        got = list(read_payments(connector, invoices))
    assert got == expected  # same lists, same order
    assert [invoice_id for invoice_id, _ in got] == [i.id for i in invoices]
    assert transport.sent == 12  # one request each, no more
    assert transport.peak == 4
    assert paging_threads() == []


def test_a_list_that_does_not_add_up_still_fails_the_read_and_leaves_no_thread(
        server: SandboxServer) -> None:
    with _connector(server, InFlight(), 4) as connector:
        invoices = [i for i in connector.invoices(None) if i.total != i.owing][:8]
        invoices[5] = msgspec.structs.replace(invoices[5], owing=invoices[5].owing + 1)
        with pytest.raises(ConnectorError, match=rf"invoice {invoices[5].number}: the "
                           "payments listed add up to"):
            list(read_payments(connector, invoices))
    assert paging_threads() == []
