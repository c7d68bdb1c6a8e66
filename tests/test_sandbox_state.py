"""The demo's emulator world kept across launches (``<demo cache>.emulator.json``):
a write survives a restart, a stale or damaged file starts again from the sample
files with one log line, the file is private, and QBO request ids outlive a restart."""

from __future__ import annotations

import base64
import json
import logging
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from recon_tui.connectors.http import dumps_exact
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.demo import sample_fingerprint
from recon_tui.models import CreditKind
from recon_tui.sandbox.app import create_app
from recon_tui.sandbox.faults import FaultPlan, FaultRule
from recon_tui.sandbox.server import SandboxServer
from recon_tui.sandbox.state import DemoWorld, state_path_for
from tests.emulator import backend_for

DATA = sample_data_dir()
FINGERPRINT = sample_fingerprint(DATA)
AUTH = base64.b64encode(b"sandbox+sandbox-public:sandbox-private").decode()
HEADERS = {"Authorization": f"Basic {AUTH}", "clientId": "x",
           "Content-Type": "application/json"}
SEED_004 = 5355  # 220499-1: 3717.00 owing in ConnectWise


@contextmanager
def launched(path: Path, plan: FaultPlan | None = None
             ) -> Iterator[tuple[SandboxServer, DemoWorld]]:
    """One launch of the demo's emulator over the world kept at ``path``."""
    world = DemoWorld.open(DATA, FINGERPRINT, path)
    app = create_app(DATA, book=world.book, after_write=world.save,
                     faults=plan or FaultPlan(retry_after_seconds=0))
    with SandboxServer(app) as server:
        yield server, world


def pay(server: SandboxServer, amount: str) -> httpx.Response:
    url = f"{server.url}/v4_6_release/apis/3.0/finance/invoices/{SEED_004}/payments"
    return httpx.post(url, content=dumps_exact({"amount": Decimal(amount)}).encode(),
                      headers=HEADERS, timeout=10)


def balance(server: SandboxServer) -> Decimal:
    url = f"{server.url}/v4_6_release/apis/3.0/finance/invoices/{SEED_004}"
    return json.loads(httpx.get(url, headers=HEADERS, timeout=10).text,
                      parse_float=Decimal)["balance"]


def test_state_file_sits_beside_the_cache(tmp_path: Path) -> None:
    assert state_path_for(tmp_path / "demo.db") == tmp_path / "demo.db.emulator.json"


def test_a_write_survives_a_restart_and_the_file_is_private(tmp_path: Path) -> None:
    path = state_path_for(tmp_path / "demo.db")
    with launched(path) as (server, _world):
        assert pay(server, "17.00").status_code == 201
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left over
    with launched(path) as (server, world):
        assert balance(server) == Decimal("3700.00")
        [payment] = [p for p in world.book.connectwise["payments"].values()
                     if p["invoice"]["id"] == SEED_004]
        assert payment["amount"] == Decimal("17.00")
        # Ids are never handed out twice, even after the payment is deleted.
        url = (f"{server.url}/v4_6_release/apis/3.0/finance/invoices/{SEED_004}/payments/"
               f"{payment['id']}")
        assert httpx.delete(url, headers=HEADERS, timeout=10).status_code == 204
        assert pay(server, "1.00").json()["id"] == payment["id"] + 1


def test_a_write_whose_answer_was_lost_is_saved_too(tmp_path: Path) -> None:
    path = state_path_for(tmp_path / "demo.db")
    plan = FaultPlan(retry_after_seconds=0)
    with launched(path, plan) as (server, _world):
        plan.add(FaultRule("drop_after_write", "connectwise"))
        with pytest.raises(httpx.RemoteProtocolError):
            pay(server, "5.00")
    with launched(path) as (server, _world):
        assert balance(server) == Decimal("3712.00")


def test_a_stale_fingerprint_starts_again_with_one_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = state_path_for(tmp_path / "demo.db")
    with launched(path) as (server, _world):
        pay(server, "17.00")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["sample_fingerprint"] = "0000000000000000"
    path.write_text(json.dumps(data), encoding="utf-8")
    with caplog.at_level(logging.WARNING), launched(path) as (server, _world):
        assert balance(server) == Decimal("3717.00")
    [record] = [r for r in caplog.records if r.name == "recon_tui.sandbox.state"]
    assert "other sample files" in record.getMessage() and "\n" not in record.getMessage()
    assert record.exc_info is None
    assert json.loads(path.read_text(encoding="utf-8"))["sample_fingerprint"] == FINGERPRINT


@pytest.mark.parametrize("damage", [b"{not json", b"[]", b'{"format": "something else"}',
                                    b"\xff\xfe", None])
def test_a_damaged_file_starts_again_with_one_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: bytes | None) -> None:
    path = state_path_for(tmp_path / "demo.db")
    with launched(path) as (server, _world):
        pay(server, "17.00")
    if damage is None:  # valid JSON of the right kind, with a section gone
        data = json.loads(path.read_text(encoding="utf-8"))
        del data["connectwise"]
        damage = json.dumps(data).encode()
    path.write_bytes(damage)
    with caplog.at_level(logging.WARNING), launched(path) as (server, world):
        assert balance(server) == Decimal("3717.00")
        assert world.events_applied == []
    lines = [r for r in caplog.records if r.name == "recon_tui.sandbox.state"]
    assert len(lines) == 1 and "starting again from the sample files" in lines[0].getMessage()
    assert str(path) in lines[0].getMessage() and lines[0].exc_info is None
    # Replaced at once: the next launch loads it without a word.
    caplog.clear()
    with caplog.at_level(logging.WARNING), launched(path):
        pass
    assert not [r for r in caplog.records if r.name == "recon_tui.sandbox.state"]


def test_a_qbo_request_id_is_applied_once_across_a_restart(tmp_path: Path) -> None:
    """Applying credit 11261 to invoice 10040 with one requestid, the emulator
    restarted in between: the second call is answered from the first."""
    path = state_path_for(tmp_path / "demo.db")
    request_id = str(uuid.uuid4())
    with launched(path) as (server, world), backend_for(server) as backend:
        before = len(world.book.qbo["Payment"])
        first = backend.ledger.apply_credit("97", "9065", CreditKind.CREDIT_MEMO, "11261",
                                            Decimal("10.00"), request_id)
        assert first.balance == Decimal("110.00")
    with launched(path) as (server, world), backend_for(server) as backend:
        again = backend.ledger.apply_credit("97", "9065", CreditKind.CREDIT_MEMO, "11261",
                                            Decimal("10.00"), request_id)
        assert again.balance == Decimal("110.00")
        assert len(world.book.qbo["Payment"]) == before + 1
        assert world.book.qbo["CreditMemo"]["11261"]["RemainingCredit"] == Decimal("0")


def test_without_a_path_nothing_is_written(tmp_path: Path) -> None:
    world = DemoWorld.open(DATA, FINGERPRINT, None)
    world.save()
    assert world.path is None and not list(tmp_path.iterdir())
