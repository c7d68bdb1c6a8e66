"""``recon-tui sandbox --scale CLIENTS:INVOICES`` and the emulator's indexed pages:
bad values are one line; a scaled book is what the connectors read over real
sockets; pages stay right when the book changes between and during reads."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from recon_tui.cli import main
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.sandbox import autotask as sandbox_at
from recon_tui.sandbox.scale import ScaleError, parse_scale, scaled_book
from tests.emulator import backend_for, running_emulator

AUTOTASK = {"ApiIntegrationCode": sandbox_at.INTEGRATION_CODE,
            "UserName": sandbox_at.USERNAME, "Secret": sandbox_at.SECRET}


@pytest.mark.parametrize("value", ["abc", "0:5", "-1:3", "10:", ":10", "1:2:3", "5:x",
                                   "1.5:10", "1:99999999"])
def test_a_bad_scale_is_refused_in_one_line(value: str, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    assert main(["sandbox", "--port", "0", f"--scale={value}"]) != 0
    captured = capsys.readouterr()
    lines = (captured.err + captured.out).strip().splitlines()
    assert len(lines) == 1, lines
    assert "--scale" in lines[0] and "Traceback" not in lines[0]


def test_parse_scale_reads_clients_and_invoices() -> None:
    assert parse_scale("10000:200000") == (10_000, 200_000)
    assert parse_scale(" 20 : 0 ") == (20, 0)
    with pytest.raises(ScaleError, match="CLIENTS must be 1"):
        parse_scale("0:5")


def test_a_scaled_book_is_what_the_connectors_read() -> None:
    book = scaled_book(20, 300, sample_data_dir())
    with running_emulator(book) as (server, _book, _plan):
        backend = backend_for(server)
        try:
            assert len(list(backend.psa.companies())) == 20
            assert len(list(backend.psa.contacts())) == 60
            psa = list(backend.psa.invoices())
            ledger = list(backend.ledger.invoices())
            customers = list(backend.ledger.customers())
        finally:
            backend.close()
    assert len(psa) == len({i.id for i in psa}) == 300
    assert len(ledger) == 300 - 300 // 97  # every 97th is missing from the ledger
    assert len(customers) == 20
    numbers = {i.number: i.total for i in psa}
    apart = [i for i in ledger if i.total != numbers[i.doc_number]]
    assert len(apart) == sum(1 for n in range(1, 301) if n % 50 == 0 and n % 97)
    assert all(isinstance(i.total, Decimal) for i in psa + ledger)


def test_pages_follow_the_book_between_reads() -> None:
    """The index is rebuilt when records come and go, and a record edited in place
    is served as it is now, whatever the emulator kept from an earlier read."""
    book = scaled_book(5, 2500, sample_data_dir())
    with running_emulator(book) as (server, _book, _plan):
        backend = backend_for(server)
        try:
            assert len(list(backend.ledger.invoices())) == 2500 - 2500 // 97
            assert len(list(backend.psa.invoices())) == 2500
            gone = sorted(book.qbo["Invoice"], key=int)[:7]
            with book.lock:
                for key in gone:
                    del book.qbo["Invoice"][key]
                del book.connectwise["invoices"][max(book.connectwise["invoices"])]
                edited = book.qbo["Invoice"][sorted(book.qbo["Invoice"], key=int)[-1]]
                edited["Balance"] = Decimal("1.23")
                edited["MetaData"]["LastUpdatedTime"] = "2099-01-01T00:00:00Z"
            ledger = list(backend.ledger.invoices())
            assert len(ledger) == 2500 - 2500 // 97 - 7
            assert not {i.id for i in ledger} & set(gone)
            assert [i.balance for i in ledger if i.id == edited["Id"]] == [Decimal("1.23")]
            assert len(list(backend.psa.invoices())) == 2499
            # A filtered read (the daily sync's) sees the edit made after the last one.
            since = datetime(2098, 1, 1, tzinfo=UTC)
            assert [i.id for i in backend.ledger.invoices(since)] == [edited["Id"]]
        finally:
            backend.close()


def test_a_forward_only_page_after_an_edit_mid_read_serves_the_book_as_it_is() -> None:
    """Later forward-only pages evaluate their conditions from the cursor on, on the
    records as they are now (a ConnectWise read is never served a stale snapshot)."""
    book = scaled_book(3, 60, sample_data_dir())
    base = "/v4_6_release/apis/3.0/finance/invoices"
    with running_emulator(book) as (server, _book, _plan):
        client = httpx.Client(base_url=server.url, headers=_cw_headers())
        params = {"pageSize": "25", "conditions": "total > 0 and id >= 1000010",
                  "orderBy": "id asc"}
        first = client.get(base, params=params, headers={"pagination-type": "forward-only"})
        assert [r["id"] for r in first.json()] == list(range(1_000_010, 1_000_035))
        with book.lock:
            book.connectwise["invoices"][1_000_040]["total"] = Decimal("-1")
        following = client.get(first.links["next"]["url"],
                               headers={"pagination-type": "forward-only"})
        ids = [r["id"] for r in following.json()]
        assert ids == [i for i in range(1_000_035, 1_000_061) if i != 1_000_040][:25]
        count = client.get(f"{base}/count", params={"conditions": params["conditions"]})
        assert count.json() == {"count": 50}
        client.close()


def test_autotask_id_ranges_and_cursors_match_a_plain_filter() -> None:
    """An id-range query reads its range only; its pages and count equal a plain
    filter over the derived records."""
    book = scaled_book(4, 1200, sample_data_dir())
    with running_emulator(book) as (server, _book, _plan):
        client = httpx.Client(base_url=f"{server.url}/atservicesrest/v1.0", headers=AUTOTASK)
        view = sandbox_at.autotask_view(book)["Invoices"]
        low, high = 1_000_101, 1_000_900
        filters = [{"op": "gte", "field": "id", "value": low},
                   {"op": "lt", "field": "id", "value": high},
                   {"op": "gt", "field": "invoiceTotal", "value": 500}]
        expected = [k for k in sorted(view) if low <= k < high
                    and view[k]["invoiceTotal"] > 500]
        seen: list[int] = []
        answer = client.post("Invoices/query", json={"filter": filters, "MaxRecords": 100})
        while True:
            body = answer.json()
            seen += [item["id"] for item in body["items"]]
            following = body["pageDetails"]["nextPageUrl"]
            if following is None:
                break
            answer = client.post(following, json={"filter": filters, "MaxRecords": 100})
        assert seen == expected and len(expected) > 300
        count = client.post("Invoices/query/count", json={"filter": filters})
        assert count.json() == {"queryCount": len(expected)}
        empty = [{"op": "gt", "field": "id", "value": high}, {"op": "lt", "field": "id",
                                                              "value": low}]
        assert client.post("Invoices/query/count", json={"filter": empty}).json() == {
            "queryCount": 0}
        client.close()


def _cw_headers() -> dict[str, str]:
    import base64

    from recon_tui.sandbox import connectwise as sandbox_cw

    token = base64.b64encode(f"{sandbox_cw.COMPANY_ID}+{sandbox_cw.PUBLIC_KEY}:"
                             f"{sandbox_cw.PRIVATE_KEY}".encode()).decode()
    return {"Authorization": f"Basic {token}", "clientId": sandbox_cw.CLIENT_ID}
