"""Secrets never leave: the token endpoint's answers are reduced to a status and a
safe code, known secret values are scrubbed from errors, the sync history and
logs, and an unset ``env:`` secret stops a sync before its first request."""

from __future__ import annotations

import base64
import logging
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from recon_tui import scrub
from recon_tui.cache import Cache
from recon_tui.cli import main
from recon_tui.config import QboLedgerConfig, Secret
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.http import RetryPolicy
from recon_tui.connectors.qbo_oauth import QboOAuth
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.connectors.tokens import TokenState, TokenStore, token_fingerprint
from recon_tui.models import SyncRun, SyncStatus, SyncStep
from recon_tui.sandbox.app import create_app
from recon_tui.sandbox.faults import FaultPlan
from recon_tui.sandbox.server import SandboxServer
from recon_tui.sync import run_full_sync
from tests.emulator import backend_for, config_file_for, running_emulator

FAST = RetryPolicy(max_attempts=3, base_delay_seconds=0.001, max_delay_seconds=0.01)
REFRESH = "rt-echo-me-0123456789abcdef"
CLIENT_SECRET = "cs-never-show-me-42"
TOKEN_URL = "https://oauth.example/oauth2/v1/tokens/bearer"


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    """Each test registers what it reveals; none relies on another's leftovers."""
    scrub.forget_all()
    yield
    scrub.forget_all()


def oauth_against(answer: Callable[[httpx.Request], httpx.Response],
                  tmp_path: Path) -> QboOAuth:
    config = QboLedgerConfig(realm_id="123", client_id="app-client", client_secret=Secret(
        CLIENT_SECRET), refresh_token=Secret(REFRESH), base_url="https://qbo.example",
        token_url=TOKEN_URL)
    return QboOAuth(config, TokenStore(tmp_path / "tokens.json"),
                    transport=httpx.MockTransport(answer), retry=FAST,
                    sleep=lambda _s: None)


def echo(request: httpx.Request) -> str:
    """Everything the token request carried, as an echoing server would return it."""
    return f"{request.content.decode()} Authorization: {request.headers['Authorization']}"


# --------------------------------------------------------------------------- token errors
ANSWERS: list[tuple[str, Callable[[httpx.Request], httpx.Response], str]] = [
    ("503 echoing JSON and reason phrase",
     lambda r: httpx.Response(503, json={"error": "temporarily_unavailable",
                                         "error_description": echo(r)},
                              extensions={"reason_phrase": echo(r).encode()}),
     "HTTP 503 [code temporarily_unavailable] (server error persisted after 3 attempts)"),
    ("400 with the request as its error",
     lambda r: httpx.Response(400, json={"error": echo(r)}), "HTTP 400"),
    ("403 HTML page quoting the request",
     lambda r: httpx.Response(403, html=f"<html><body>Denied: {echo(r)}</body></html>",
                              extensions={"reason_phrase": echo(r).encode()}),
     "HTTP 403"),
    ("400 truncated JSON",
     lambda r: httpx.Response(400, content=b'{"error": "invalid_request", "x": "'
                              + r.content[:30]),
     "the token endpoint returned invalid JSON (HTTP 400)"),
    ("400 huge error value",
     lambda r: httpx.Response(400, json={"error": "invalid_request" * 400}), "HTTP 400"),
    ("400 short safe code",
     lambda r: httpx.Response(400, json={"error": "invalid_request",
                                         "error_description": echo(r)}),
     "HTTP 400 [code invalid_request]"),
    ("429 with a fault envelope echo",
     lambda r: httpx.Response(429, json={"fault": {"error": [{"message": echo(r),
                                                              "code": echo(r)}]}}),
     "HTTP 429 (still throttled after 3 attempts)"),
    ("302 redirect elsewhere",
     lambda r: httpx.Response(302, headers={"Location": f"https://x.example/?{echo(r)}"}),
     "HTTP 302"),
]


@pytest.mark.parametrize(("answer", "expected"), [(a, e) for _n, a, e in ANSWERS],
                         ids=[n for n, _a, _e in ANSWERS])
def test_token_endpoint_errors_show_status_and_safe_code_only(
    tmp_path: Path, answer: Callable[[httpx.Request], httpx.Response], expected: str,
) -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer(request)

    oauth = oauth_against(record, tmp_path)
    scrub.forget_all()  # the exact message, not the scrubber, must keep the secrets out
    with pytest.raises(ConnectorError) as caught:
        oauth.headers()
    assert str(caught.value) == f"qbo: refresh access token: {expected}"
    assert REFRESH in sent[0].content.decode()  # the server did get it to echo
    assert caught.value.code in (None, "temporarily_unavailable", "invalid_request")


# --------------------------------------------------------------------------- the scrubber
def test_known_secrets_are_masked_in_every_form() -> None:
    scrub.register(REFRESH, CLIENT_SECRET)
    basic = base64.b64encode(f"app-client:{CLIENT_SECRET}".encode()).decode()
    text = (f"plain {REFRESH}; form refresh%3D{urllib.parse.quote(REFRESH + '/+')}; "
            f"header Basic {basic}; other user "
            f"{base64.b64encode(f'someone-else:{CLIENT_SECRET}'.encode()).decode()}")
    cleaned = scrub.scrub(text)
    assert REFRESH not in cleaned and CLIENT_SECRET not in cleaned
    assert basic not in cleaned and "c29tZW9uZS1lbHNlOmNz" not in cleaned  # whole base64 run
    assert cleaned.startswith("plain ********; ")
    assert scrub.scrub("nothing secret here: HTTP 503") == "nothing secret here: HTTP 503"


@pytest.mark.parametrize(("text", "expected"), [
    ("grant_type=refresh_token&refresh_token=AbC-123_x&x=1",
     "grant_type=refresh_token&refresh_token=********&x=1"),
    ('{"access_token": "eyJabc", "expires_in": 3600}',
     '{"access_token": "********", "expires_in": 3600}'),
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ********"),
    ("authorization=Bearer abc.def", "authorization=Bearer ********"),
    ("sent Bearer eyJhbGciOiJIUzI1NiJ9.payload", "sent Bearer ********"),
    ("a basic check of the bearer token", "a basic check of the bearer token"),
])
def test_credential_shapes_are_masked_without_knowing_the_value(text: str,
                                                                expected: str) -> None:
    assert scrub.scrub(text) == expected


def test_revealing_a_secret_registers_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECON_TEST_SCRUB_VAR", "from-the-environment-9")
    assert Secret("env:RECON_TEST_SCRUB_VAR").reveal() == "from-the-environment-9"
    assert Secret("inline-secret-value").reveal() == "inline-secret-value"
    message = str(ConnectorError("cw", "echo from-the-environment-9 / inline-secret-value"))
    assert message == "cw: echo ******** / ********"


def test_tokens_from_the_store_are_registered(tmp_path: Path) -> None:
    TokenStore(tmp_path / "t.json").save(TokenState(
        refresh_token="stored-refresh-77", seeded_from=token_fingerprint("x"),
        access_token="stored-access-88"))
    scrub.forget_all()
    assert TokenStore(tmp_path / "t.json").load() is not None
    assert scrub.scrub("stored-refresh-77 stored-access-88") == "******** ********"


def test_history_error_texts_are_scrubbed_before_they_are_stored(cache: Cache,
                                                                 tmp_path: Path) -> None:
    scrub.register(REFRESH)
    run = SyncRun(kind="full", status=SyncStatus.RUNNING,
                  steps=[SyncStep(name="customers", system="ledger")])
    cache.history.start_sync_run(run)
    run.status = SyncStatus.FAILED
    run.error = f"ledger customers: server said {REFRESH}"
    run.steps[0].status, run.steps[0].error = SyncStatus.FAILED, "sent refresh_token=xyz-9"
    cache.history.save_sync_progress(run)
    cache.history.fail_interrupted_runs(f"interrupted holding {REFRESH}")
    with sqlite3.connect(tmp_path / "cache.db") as raw:
        rows = [str(r) for r in raw.execute("SELECT error FROM sync_run UNION ALL "
                                            "SELECT error FROM sync_step")]
    assert rows and "********" in rows[0]
    assert not any(REFRESH in r or "xyz-9" in r for r in rows)


def test_log_records_are_scrubbed_whoever_logs_them(caplog: pytest.LogCaptureFixture) -> None:
    scrub.register(REFRESH)
    scrub.install_log_scrubber()
    scrub.install_log_scrubber()  # twice is once
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("recon_tui.deep.module").info("token %s", REFRESH)
            logging.getLogger("httpx").warning("body grant_type=refresh_token&refresh_token=q1")
            try:
                raise ValueError(f"boom {REFRESH}")
            except ValueError:
                logging.getLogger("other").exception("failed")
    finally:
        scrub.uninstall_log_scrubber()
    assert "token ********" in caplog.text and "refresh_token=********" in caplog.text
    assert REFRESH not in caplog.text and "q1" not in caplog.text
    assert "boom ********" in caplog.text  # the traceback's text too
    # Uninstalled: records are left alone again.
    logging.getLogger("recon_tui.x").warning("plain %s", REFRESH)
    assert caplog.records[-1].getMessage() == f"plain {REFRESH}"


# --------------------------------------------------------------------------- end to end
def echoing_token_endpoint(app: object, seen: list[str]) -> object:
    """The emulator, with a token endpoint that answers 403 echoing the request (body
    and headers) in every field, as the probe's server did."""

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/oauth2/"):
            request = Request(scope, receive)
            body = (await request.body()).decode()
            said = f"{body} Authorization: {request.headers.get('authorization')}"
            seen.append(said)
            response: Response = JSONResponse(
                {"error": said, "error_description": said, "message": said}, status_code=403)
            await response(scope, receive, send)
            return
        await app(scope, receive, send)  # type: ignore[operator]

    return wrapped


def test_an_echoing_token_server_leaves_no_token_in_errors_history_or_logs(
    cache: Cache, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []
    app = echoing_token_endpoint(create_app(sample_data_dir(), faults=FaultPlan()), seen)
    caplog.set_level(logging.DEBUG)
    with SandboxServer(app) as server, backend_for(server) as backend:  # type: ignore[arg-type]
        run = run_full_sync(cache, backend.psa, backend.ledger, since=None)
    assert run.status is SyncStatus.FAILED
    assert seen and "refresh_token=sandbox-refresh-token" in seen[0]  # it was echoed
    leaked = ("sandbox-refresh-token", "sandbox-secret",
              base64.b64encode(b"sandbox-client:sandbox-secret").decode())
    with sqlite3.connect(tmp_path / "cache.db") as raw:
        stored = [str(r) for r in raw.execute(
            "SELECT error FROM sync_run UNION ALL SELECT error FROM sync_step")]
    failed = [s for s in run.steps if s.error]
    assert failed and failed[0].error == "qbo: refresh access token: HTTP 403"
    for text in (*stored, run.error or "", caplog.text):
        for secret in leaked:
            assert secret not in text


# --------------------------------------------------------------------------- env secrets
@pytest.mark.parametrize(("old", "new", "named"), [
    ('client_secret = "sandbox-secret"', 'client_secret = "env:RECON_TEST_QBO_SECRET"',
     "[ledger] client_secret: environment variable RECON_TEST_QBO_SECRET is not set"),
    ('private_key = "sandbox-private"', 'private_key = "env:RECON_TEST_CW_KEY"',
     "[psa] private_key: environment variable RECON_TEST_CW_KEY is not set"),
])
def test_an_unset_env_secret_stops_a_sync_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    old: str, new: str, named: str,
) -> None:
    monkeypatch.delenv("RECON_TEST_QBO_SECRET", raising=False)
    monkeypatch.delenv("RECON_TEST_CW_KEY", raising=False)
    with running_emulator() as (server, _book, plan):
        path = config_file_for(server, tmp_path)
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")
        status = main(["sync", "--config", str(path), "--db", str(tmp_path / "c.db")])
        seen = {system: plan.requests_seen(system)
                for system in ("qbo", "token", "connectwise", "autotask")}
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1 and named in err and "Traceback" not in err
    assert seen == {"qbo": 0, "token": 0, "connectwise": 0, "autotask": 0}


def test_every_unset_env_secret_is_named_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from recon_tui.backend import BackendError, open_backend
    from recon_tui.config import load_config

    monkeypatch.delenv("RECON_TEST_A", raising=False)
    monkeypatch.delenv("RECON_TEST_B", raising=False)
    with running_emulator() as (server, _book, _plan):
        path = config_file_for(server, tmp_path)
    text = path.read_text(encoding="utf-8")
    text = text.replace('client_secret = "sandbox-secret"', 'client_secret = "env:RECON_TEST_A"')
    path.write_text(text.replace('private_key = "sandbox-private"',
                                 'private_key = "env:RECON_TEST_B"'), encoding="utf-8")
    with pytest.raises(BackendError) as caught:
        open_backend(load_config(path), demo=False)
    message = str(caught.value)
    assert "\n" not in message and "RECON_TEST_A is not set" in message
    assert "[psa] private_key: environment variable RECON_TEST_B is not set" in message
