"""Two processes refreshing one QuickBooks token at once (a cron sync while the TUI
is open) against a token endpoint as slow as Intuit's: neither is told to
re-authorise, exactly one refresh token is spent per round, and the file keeps
the newest one.

Intuit rotates refresh tokens and the previous one stops working, so without the
lock across processes the second refresh spends a token the first has just
rotated away and gets ``invalid_grant``. The emulator here is strict like Intuit:
even its seed token is single-use.
"""

from __future__ import annotations

import multiprocessing
import queue
from dataclasses import replace
from pathlib import Path
from typing import Any

from recon_tui.config import LedgerConfig, Secret
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.http import RetryPolicy
from recon_tui.connectors.qbo_oauth import QboOAuth
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.connectors.tokens import TokenStore
from recon_tui.sandbox.app import create_app
from recon_tui.sandbox.faults import FaultPlan, FaultRule
from recon_tui.sandbox.qbo import CLIENT_ID, CLIENT_SECRET, SEED_REFRESH_TOKEN
from recon_tui.sandbox.server import SandboxServer

TRIALS = 10
TOKEN_ENDPOINT_MS = 500
#: Generous: a loaded CI machine may take a while to spawn the workers.
WAIT_SECONDS = 60.0


def ledger_config(url: str) -> LedgerConfig:
    return LedgerConfig(realm_id="9130355377388383", client_id=CLIENT_ID,
                        client_secret=Secret(CLIENT_SECRET),
                        refresh_token=Secret(SEED_REFRESH_TOKEN), base_url=url,
                        token_url=f"{url}/oauth2/v1/tokens/bearer")


def refresher(url: str, token_path: str, trials: int, barrier: Any, results: Any) -> None:
    """One process: each round, a fresh connector (nothing in memory) asks for a
    token at the same moment as the other process."""
    retry = RetryPolicy(max_attempts=1)  # a failure must show, not be retried away
    for trial in range(trials):
        barrier.wait(WAIT_SECONDS)
        oauth = QboOAuth(ledger_config(url), TokenStore(token_path), retry=retry)
        try:
            header = oauth.headers()["Authorization"]
            results.put((trial, "ok", header.removeprefix("Bearer ")))
        except ConnectorError as exc:
            results.put((trial, "error", str(exc)))
        finally:
            oauth.close()
        barrier.wait(WAIT_SECONDS)


def expire_access_token(store: TokenStore) -> None:
    """What an hour does to the stored state: the access token is gone, the
    refresh token stays."""
    state = store.load()
    if state is not None:
        store.save(replace(state, access_token=None, access_expires_at=None))


def test_two_processes_refresh_one_token_without_invalid_grant(tmp_path: Path) -> None:
    plan = FaultPlan(slow_ms=TOKEN_ENDPOINT_MS, rules=[FaultRule("slow", "token", 1, 10_000)])
    app = create_app(sample_data_dir(), faults=plan)
    auth = app.state.book.qbo_state.auth
    auth.seed_reusable = False  # like Intuit: a spent refresh token is spent
    store = TokenStore(tmp_path / "tokens" / "qbo.json")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    results = context.Queue()
    with SandboxServer(app) as server:
        workers = [context.Process(target=refresher, daemon=True,
                                   args=(server.url, str(store.path), TRIALS, barrier, results))
                   for _ in range(2)]
        for worker in workers:
            worker.start()
        answers: list[tuple[int, str, str]] = []
        try:
            for _trial in range(TRIALS):
                expire_access_token(store)
                barrier.wait(WAIT_SECONDS)  # both go
                barrier.wait(WAIT_SECONDS)  # both done
                for _ in range(2):
                    answers.append(results.get(timeout=WAIT_SECONDS))
        except (queue.Empty, multiprocessing.BrokenBarrierError):
            barrier.abort()
            raise
        finally:
            for worker in workers:
                worker.join(timeout=WAIT_SECONDS)
                if worker.is_alive():
                    worker.terminate()
        failures = [message for _trial, kind, message in answers if kind != "ok"]
        assert failures == []
        assert len(answers) == 2 * TRIALS
        # Both processes of a round hold a working access token: the one refresh's.
        for trial in range(TRIALS):
            tokens = {token for t, _kind, token in answers if t == trial}
            assert len(tokens) == 1 and auth.access_ok(tokens.pop())
    # One refresh per round, never a refused one: the second process adopted the
    # first one's token instead of spending a rotated-away refresh token.
    assert auth.grants == ["seed"] + ["latest"] * (TRIALS - 1)
    stored = store.load()
    assert stored is not None and stored.refresh_token == auth.current_refresh
