"""The chaos suite's world: one emulator, real connectors pointed at it, template
caches to start each case from, the clean outcome of every scenario, and a
"foreign" listener that next-page links can be bent towards."""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from filelock import FileLock

from recon_tui.backend import SANDBOX_CONNECTWISE, SANDBOX_LEDGER, sandbox_configs
from recon_tui.cache import Cache
from recon_tui.config import AutotaskConfig, Secret
from recon_tui.connectors.autotask import AutotaskConnector
from recon_tui.connectors.connectwise import ConnectWiseConnector
from recon_tui.connectors.http import RateLimiter, RetryPolicy
from recon_tui.connectors.qbo import QboConnector
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.connectors.tokens import TokenStore
from recon_tui.models import SyncStatus
from recon_tui.sandbox import autotask_records as autotask_emulator
from recon_tui.sandbox.app import create_app
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.cw_payments import apply_payment
from recon_tui.sandbox.faults import FaultPlan
from recon_tui.sandbox.server import SandboxServer
from recon_tui.sync import run_full_sync
from tests.chaos.checksum import checksum

SCENARIOS = ("first", "since")  # a full first sync; a dated sync over a complete cache
PSAS = ("connectwise", "autotask")
SINCE = date(2025, 1, 1)
AT_USER, AT_SECRET, AT_CODE = ("sandbox-api@example.com", "sandbox-secret",
                               "SANDBOXINTEGRATIONCODE00000")
#: Quick retries: a fault case should end in seconds, not back off for minutes.
QUICK = RetryPolicy(max_attempts=3, base_delay_seconds=0.01, max_delay_seconds=0.05)
CREDENTIAL_HEADERS = ("authorization", "apiintegrationcode", "secret")
#: Edits made to the book once the complete caches exist, so a dated sync has
#: something to write (and a failed one something to leave alone).
EDITED_AT_QBO, EDITED_AT_CW = "2026-01-15T10:00:00+00:00", "2026-01-15T10:00:00Z"


def since_for(scenario: str) -> date | None:
    return None if scenario == "first" else SINCE


def edit_book(book: SandboxBook) -> None:
    """Deterministic changes on both sides: a ledger balance, a ledger invoice
    deleted, a PSA balance, a renamed PSA company."""
    with book.lock:
        invoices = book.qbo["Invoice"]
        ids = sorted(invoices, key=int)
        changed = next(invoices[i] for i in ids if invoices[i]["Balance"] > 0)
        changed["Balance"] -= 5
        changed["MetaData"]["LastUpdatedTime"] = EDITED_AT_QBO
        gone = ids[-1]
        del invoices[gone]
        book.qbo_deleted.append(("Invoice", gone, EDITED_AT_QBO))
        cw = book.connectwise
        psa_id = next(key for key, i in sorted(cw["invoices"].items())
                      if i["balance"] > 0 and i.get("type") != "CreditMemo")
        company = cw["companies"][min(cw["companies"])]
        company["name"] += " (renamed)"
        company["_info"]["lastUpdated"] = EDITED_AT_CW
    # A PSA balance moves the way ConnectWise moves it: a $7 payment on the invoice.
    apply_payment(book, psa_id, {"amount": Decimal("7"),
                                 "paymentDate": "2026-01-15T00:00:00Z"},
                  now=datetime.fromisoformat(EDITED_AT_QBO))
    autotask_emulator.invalidate(book)


class Listener:
    """A host:port the emulator is not: records every request that reaches it and
    whether it carried credentials; answers like an empty last page."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, tuple[str, ...]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                creds = tuple(h for h in CREDENTIAL_HEADERS if self.headers.get(h))
                owner.requests.append((self.command, self.path, creds))
                body = b"[]" if self.command == "GET" else json.dumps(
                    {"items": [], "pageDetails": {"count": 0, "nextPageUrl": None}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class World:
    server: SandboxServer
    book: SandboxBook
    plan: FaultPlan
    listener: Listener
    shared: Path
    refs: dict[str, str] = field(default_factory=dict)
    pages: dict[str, list[list[object]]] = field(default_factory=dict)

    @contextmanager
    def connectors(self, psa_kind: str, *, quick: bool = True
                   ) -> Iterator[tuple[ConnectWiseConnector | AutotaskConnector, QboConnector]]:
        """Real connectors with a token store of their own (one refresh per run)."""
        ledger_config, cw_config = sandbox_configs(self.server.url)
        retry = QUICK if quick else None
        with tempfile.TemporaryDirectory(prefix="chaos-tokens-") as tokens:
            ledger = QboConnector(ledger_config, token_store=TokenStore(Path(tokens) / "qbo.json"),
                                  retry=retry, rate_limiter=RateLimiter(100_000, 10))
            psa: ConnectWiseConnector | AutotaskConnector
            if psa_kind == "autotask":
                psa = AutotaskConnector(AutotaskConfig(
                    base_url=f"{self.server.url}/atservicesrest/v1.0",
                    username=AT_USER, secret=Secret(AT_SECRET),
                    integration_code=Secret(AT_CODE)),
                    retry=retry, rate_limiter=RateLimiter(100_000, 3))
            else:
                psa = ConnectWiseConnector(cw_config, retry=retry)
            try:
                yield psa, ledger
            finally:
                psa.close()
                ledger.close()

    def clean_sync(self, path: Path, psa_kind: str, since: date | None) -> None:
        cache = Cache(path)
        try:
            with self.connectors(psa_kind) as (psa, ledger):
                run = run_full_sync(cache, psa, ledger, since=since)
        finally:
            cache.close()
        if run.status is not SyncStatus.SUCCEEDED:
            raise RuntimeError(f"a clean sync failed: {run.error}")

    def template(self, scenario: str, psa_kind: str) -> Path:
        """The cache a case starts from: empty, or complete (synced before the edits)."""
        return self.shared / ("empty.db" if scenario == "first" else f"complete-{psa_kind}.db")

    def fresh_cache(self, scenario: str, psa_kind: str, directory: Path) -> Path:
        path = directory / "cache.db"
        shutil.copyfile(self.template(scenario, psa_kind), path)
        return path

    def secrets(self) -> list[str]:
        """Every credential and token in play, and the Basic forms that carry them."""
        values = [SANDBOX_LEDGER["client_secret"], SANDBOX_LEDGER["refresh_token"],
                  SANDBOX_CONNECTWISE["private_key"], AT_SECRET, AT_CODE]
        cw = SANDBOX_CONNECTWISE
        for user in (f"{cw['company_id']}+{cw['public_key']}:{cw['private_key']}",
                     f"{SANDBOX_LEDGER['client_id']}:{SANDBOX_LEDGER['client_secret']}"):
            values.append(base64.b64encode(user.encode()).decode())
        auth = getattr(self.book, "qbo_state", None)
        return values + (list(auth.auth.issued) if auth is not None else [])

    def build(self, psa_kind: str) -> dict[str, object]:
        """On a fresh book: the complete template (the book as shipped), then the
        edits, then each scenario's clean outcome and the list pages it read."""
        path = self.template("since", psa_kind)
        shutil.copyfile(self.shared / "empty.db", path)
        self.clean_sync(path, psa_kind, None)
        edit_book(self.book)
        built: dict[str, dict[str, object]] = {"refs": {}, "pages": {}}
        with tempfile.TemporaryDirectory(prefix="chaos-ref-") as scratch:
            for scenario in SCENARIOS:
                path = self.fresh_cache(scenario, psa_kind, Path(scratch))
                self.plan.reset()
                self.clean_sync(path, psa_kind, since_for(scenario))
                key = f"{scenario}/{psa_kind}"
                built["refs"][key] = checksum(path, strict=False)
                built["pages"][key] = [list(p) for p in self.plan.pages]
        return built


def _shared_part(shared: Path, psa_kind: str, listener: Listener) -> dict[str, dict]:
    """One PSA's templates and references: built by the first process to get
    here (on an emulator of its own, so its book edits stay there), read by
    the rest. Two processes build the two PSAs' parts at the same time."""
    saved = shared / f"world-{psa_kind}.json"
    with FileLock(str(shared / f"world-{psa_kind}.lock")):
        if not saved.exists():
            book, plan = SandboxBook.from_dir(sample_data_dir()), FaultPlan(retry_after_seconds=0)
            with SandboxServer(create_app(sample_data_dir(), book=book, faults=plan)) as server:
                built = World(server, book, plan, listener, shared).build(psa_kind)
            saved.write_text(json.dumps(built), encoding="utf-8")
        return json.loads(saved.read_text(encoding="utf-8"))


@contextmanager
def open_world(shared: Path, *, first: int = 0) -> Iterator[World]:
    """The world over ``shared``, a folder several processes may share; ``first``
    says which PSA's part this process builds first if nobody has."""
    shared.mkdir(parents=True, exist_ok=True)
    with FileLock(str(shared / "empty.lock")):
        if not (shared / "empty.db").exists():
            Cache(shared / "empty.tmp").close()
            (shared / "empty.tmp").replace(shared / "empty.db")
    book = SandboxBook.from_dir(sample_data_dir())
    edit_book(book)  # every case runs against the edited book
    plan = FaultPlan(retry_after_seconds=0)
    listener = Listener()
    plan.foreign_origin = listener.origin
    try:
        with SandboxServer(create_app(sample_data_dir(), book=book, faults=plan)) as server:
            world = World(server, book, plan, listener, shared)
            for psa_kind in PSAS[first % 2:] + PSAS[: first % 2]:
                part = _shared_part(shared, psa_kind, listener)
                world.refs.update(part["refs"])
                world.pages.update(part["pages"])
            yield world
    finally:
        listener.close()
