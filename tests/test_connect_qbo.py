"""`recon-tui connect qbo`: the authorization URL, the redirect and its state, the
loopback listener over a real socket, the refresh token's expiry, and the whole
flow end to end against the emulator (loopback and pasted URL)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from recon_tui.backend import SANDBOX_REALM
from recon_tui.config import load_config
from recon_tui.connectors.tokens import TokenState, TokenStore, token_fingerprint
from recon_tui.onboarding.loopback import LoopbackError, LoopbackListener
from recon_tui.onboarding.qbo_authorize import (
    AUTH_URL,
    SCOPE,
    AuthRequest,
    QboConnectError,
    check_redirect_uri,
    new_request,
    parse_redirect,
)
from recon_tui.onboarding.qbo_expiry import (
    expiry_warning,
    refresh_token_expiry,
    warning_for_config,
)
from recon_tui.sandbox.onboarding import DEMO_COMPANY_NAME
from tests.emulator import backend_for, config_file_for, running_emulator

REDIRECT = "http://localhost:8250/callback"


def _request(state: str = "s" * 43) -> AuthRequest:
    return AuthRequest("client-abc", REDIRECT, state)


def _redirect(request: AuthRequest, **params: str) -> str:
    return f"{request.redirect_uri}?{urllib.parse.urlencode(params)}"


# ---------------------------------------------------------------- the request
def test_authorization_url_asks_intuit_for_the_accounting_scope() -> None:
    request = new_request("client-abc", REDIRECT)
    url = urllib.parse.urlsplit(request.url())
    assert f"{url.scheme}://{url.netloc}{url.path}" == AUTH_URL
    params = urllib.parse.parse_qs(url.query)
    assert params == {"client_id": ["client-abc"], "response_type": ["code"],
                      "scope": [SCOPE], "redirect_uri": [REDIRECT],
                      "state": [request.state]}
    assert SCOPE == "com.intuit.quickbooks.accounting"


def test_every_request_has_its_own_unguessable_state() -> None:
    states = {new_request("c", REDIRECT).state for _ in range(50)}
    assert len(states) == 50
    assert all(len(state) >= 40 for state in states)
    assert "state" not in repr(new_request("c", REDIRECT)).split("(", 1)[1]


@pytest.mark.parametrize(("uri", "production", "problem"), [
    ("http://localhost:8250/callback", True, "https redirect URI"),
    ("https://203.0.113.7/callback", True, "IP address"),
    ("http://example.com/callback", False, "http only for localhost"),
    ("ftp://example.com/callback", False, "http:// or https://"),
    ("https://example.com/callback?x=1", True, "no user name, query"),
])
def test_redirect_uris_intuit_would_refuse_are_refused_first(
        uri: str, production: bool, problem: str) -> None:
    with pytest.raises(QboConnectError, match=problem):
        check_redirect_uri(uri, production=production)


def test_redirect_uris_intuit_accepts() -> None:
    assert check_redirect_uri("http://localhost:8250/callback", production=False)
    assert check_redirect_uri("http://127.0.0.1:8250/cb", production=False)
    assert check_redirect_uri("https://books.example.com/recon/callback", production=True)


# ---------------------------------------------------------------- the redirect
def test_the_redirect_gives_the_code_and_the_company() -> None:
    request = _request()
    grant = parse_redirect(_redirect(request, code="AB-code", state=request.state,
                                     realmId="9130355377388383"), request)
    assert (grant.code, grant.realm_id) == ("AB-code", "9130355377388383")
    assert "AB-code" not in repr(grant)
    # Only the query, as some browsers show it, works as well.
    only_query = f"code=AB-code&state={request.state}&realmId=42"
    assert parse_redirect(only_query, request).realm_id == "42"


@pytest.mark.parametrize("state", ["", "s" * 42, "t" * 43, None])
def test_a_wrong_or_missing_state_is_refused(state: str | None) -> None:
    request = _request()
    params = {"code": "c", "realmId": "1"} | ({"state": state} if state is not None else {})
    with pytest.raises(QboConnectError, match="state does not match"):
        parse_redirect(_redirect(request, **params), request)


def test_an_error_redirect_is_one_line_and_needs_the_state_too() -> None:
    request = _request()
    with pytest.raises(QboConnectError) as denied:
        parse_redirect(_redirect(request, error="access_denied", state=request.state), request)
    assert "access_denied" in str(denied.value) and "\n" not in str(denied.value)
    assert "nothing saved" in str(denied.value)
    with pytest.raises(QboConnectError, match="state does not match"):
        parse_redirect(_redirect(request, error="access_denied", state="other"), request)
    with pytest.raises(QboConnectError, match="invalid_scope") as other:
        parse_redirect(_redirect(request, error="invalid_scope", state=request.state,
                                 error_description="bad\x1b[31m"), request)
    assert "\x1b" not in str(other.value)  # the description is shown literally


@pytest.mark.parametrize(("params", "problem"), [
    ({"realmId": "1"}, "no authorization code"),
    ({"code": "c"}, "no realmId"),
    ({"code": "c", "realmId": "../../etc"}, "not a QuickBooks company id"),
])
def test_an_incomplete_redirect_is_refused(params: dict[str, str], problem: str) -> None:
    request = _request()
    with pytest.raises(QboConnectError, match=problem):
        parse_redirect(_redirect(request, state=request.state, **params), request)


def test_a_repeated_parameter_or_another_pages_url_is_refused() -> None:
    request = _request()
    twice = f"{REDIRECT}?code=a&code=b&state={request.state}&realmId=1"
    with pytest.raises(QboConnectError, match="code twice"):
        parse_redirect(twice, request)
    elsewhere = f"https://evil.example/callback?code=a&state={request.state}&realmId=1"
    with pytest.raises(QboConnectError, match="not the redirect URI"):
        parse_redirect(elsewhere, request)
    with pytest.raises(QboConnectError, match="no URL"):
        parse_redirect("   ", request)


# ---------------------------------------------------------------- the listener
def _listener(answer: str = "Authorized") -> LoopbackListener:
    return LoopbackListener("http://127.0.0.1:0/callback",
                            lambda query: (answer, f"You can close this tab ({len(query)})."))


def test_the_listener_takes_one_callback_and_answers_the_browser(
        capfd: pytest.CaptureFixture[str]) -> None:
    with _listener() as listener:
        assert listener.port != 0
        base = f"http://127.0.0.1:{listener.port}"
        assert listener.redirect_uri == f"{base}/callback"
        with httpx.Client() as browser:
            assert browser.get(f"{base}/favicon.ico").status_code == 404
            page = browser.get(f"{base}/callback?code=SECRETCODE&state=x&realmId=1")
            again = browser.get(f"{base}/callback?code=OTHER&state=x&realmId=1")
        got = listener.wait(timeout=5)
        assert got == f"{base}/callback?code=SECRETCODE&state=x&realmId=1"
        assert listener.wait(timeout=0.2) is None  # the second visit changed nothing
    assert page.status_code == 200 and "close this tab" in page.text
    assert "Authorized" in page.text and "Already done" in again.text
    out, err = capfd.readouterr()
    assert "SECRETCODE" not in out + err  # http.server logs request lines unless told not to


def test_port_zero_means_any_free_port_so_two_listeners_can_run_at_once() -> None:
    """Port 0 was once read as 80 (``0 or 80``): two listeners then fought for port
    80, and the CI's parallel workers timed out waiting for each other."""
    with _listener() as first, _listener() as second:
        assert 80 not in (first.port, second.port) and first.port != second.port


def test_the_listener_times_out_and_a_taken_port_is_one_line() -> None:
    with _listener() as listener:
        assert listener.wait(timeout=0.3) is None
        taken = LoopbackListener(f"http://127.0.0.1:{listener.port}/callback",
                                 lambda query: ("", ""))
        with pytest.raises(LoopbackError, match="another program uses the port"):
            taken.start()
    with pytest.raises(OSError):  # the port is closed again after the listener
        socket.create_connection(("127.0.0.1", listener.port), timeout=1).close()


# ---------------------------------------------------------------- refresh-token expiry
def test_token_files_without_an_expiry_still_load(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "qbo-1.json")
    old = {"refresh_token": "rt-old", "access_token": None, "access_expires_at": None,
           "seeded_from": token_fingerprint("rt-old")}
    store.path.write_text(json.dumps(old), encoding="utf-8")
    state = store.load()
    assert state is not None and state.refresh_expires_at is None
    assert refresh_token_expiry(store) is None
    when = datetime(2031, 5, 1, 12, tzinfo=UTC)
    store.save(TokenState("rt-new", token_fingerprint("rt-new"), refresh_expires_at=when))
    assert refresh_token_expiry(store) == when
    assert refresh_token_expiry(store, "rt-new") == when
    # A stored state from another token (the user re-authorised) says nothing.
    assert refresh_token_expiry(store, "rt-pasted-since") is None


def test_the_warning_starts_a_month_before() -> None:
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert expiry_warning(None, now) is None
    assert expiry_warning(now + timedelta(days=31), now) is None
    soon = expiry_warning(now + timedelta(days=29), now)
    assert soon == ("the QuickBooks connection expires on 2026-12-31: run "
                    "`recon-tui connect qbo` before then")
    gone = expiry_warning(now - timedelta(days=1), now)
    assert gone is not None and "expired on 2026-12-01" in gone


def test_every_refresh_stores_the_refresh_tokens_expiry() -> None:
    with running_emulator() as (server, _book, _plan):
        backend = backend_for(server)
        try:
            before = datetime.now(UTC)
            assert next(iter(backend.ledger.customers())) is not None
            state = backend.ledger.token_store.load()  # type: ignore[attr-defined]
        finally:
            backend.close()
    assert state is not None and state.refresh_expires_at is not None
    # The emulator answers x_refresh_token_expires_in = 101 days, as Intuit announces.
    lifetime = state.refresh_expires_at - before
    assert timedelta(days=101) - timedelta(minutes=1) < lifetime <= timedelta(days=101, minutes=1)


def test_sync_and_doctor_get_the_warning_for_the_configs_company(tmp_path: Path) -> None:
    from recon_tui.config import load_config
    from recon_tui.connectors.tokens import default_token_path

    path = tmp_path / "config.toml"
    path.write_text('[ledger]\nrealm_id = "123"\nclient_id = "c"\nclient_secret = "s"\n'
                    'refresh_token = "rt-1"\n', encoding="utf-8")
    config = load_config(path)
    assert warning_for_config(config) is None  # no token file yet
    store = TokenStore(default_token_path("123"))
    soon = datetime.now(UTC) + timedelta(days=10)
    store.save(TokenState("rt-2", token_fingerprint("rt-1"), refresh_expires_at=soon))
    warning = warning_for_config(config)
    assert warning is not None and soon.date().isoformat() in warning


# ---------------------------------------------------------------- the command's own checks
def _cli(tmp_path: Path, *argv: str, stdin: str | None = None,
         env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real command in its own process, with this test's isolated folders."""
    environ = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
               "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
               "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", **(env or {})}
    environ.pop("RECON_TUI_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "recon_tui", *argv], input=stdin,
                          capture_output=True, text=True, env=environ, timeout=timeout,
                          check=False)


@pytest.mark.parametrize(("argv", "env", "problem"), [
    (["--production", "--client-id", "c", "--client-secret-env", "S"], {"S": "x"},
     "--redirect-uri"),
    (["--production", "--redirect-uri", "http://localhost:8250/callback", "--client-id", "c",
      "--client-secret-env", "S"], {"S": "x"}, "https redirect URI"),
    (["--client-id", "c", "--client-secret-env", "UNSET_SECRET_VAR"], {},
     "UNSET_SECRET_VAR is not set"),
    (["--client-id", "c"], {}, "--client-secret-env"),
    (["--client-id", "c", "--client-secret-env", "S", "--timeout", "0"], {"S": "x"},
     "--timeout"),
    (["--client-secret-env", "S"], {"S": "x"}, "no client ID"),
])
def test_bad_input_is_one_line_before_any_browser(
        tmp_path: Path, argv: list[str], env: dict[str, str], problem: str) -> None:
    config = tmp_path / "config.toml"
    done = _cli(tmp_path, "connect", "qbo", "--config", str(config), "--no-browser", *argv,
                stdin="", env=env)
    assert done.returncode == 2, done.stderr
    assert problem in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "appcenter.intuit.com" not in done.stdout  # refused before any URL was shown
    assert not config.exists()


def test_a_config_that_does_not_load_is_named_before_the_browser(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[ledger]\nrealm_id = \n", encoding="utf-8")
    done = _cli(tmp_path, "connect", "qbo", "--config", str(config), "--client-id", "c",
                "--client-secret-env", "S", "--no-browser", env={"S": "x"}, stdin="")
    assert done.returncode == 2 and "invalid TOML" in done.stderr
    assert str(config) in done.stderr and "appcenter" not in done.stdout


def test_the_apps_wrong_secret_is_named_without_its_value() -> None:
    from recon_tui.onboarding.qbo_authorize import Grant, exchange_code

    with running_emulator() as (server, _book, _plan), \
            pytest.raises(QboConnectError) as refused:
        exchange_code(f"{server.url}/oauth2/v1/tokens/bearer", "sandbox-client",
                      "not-the-secret", Grant("some-code", "1"), REDIRECT)
    message = str(refused.value)
    assert "invalid_client" in message and "nothing saved" in message
    assert "not-the-secret" not in message and "some-code" not in message


# ---------------------------------------------------------------- end to end, over the emulator
class _FormReader(HTMLParser):
    """The consent page's form, as a browser reads it: action and hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = found.get("action")
        elif tag == "input" and found.get("type") == "hidden":
            self.fields[found["name"]] = found.get("value", "")
        elif tag == "button" and found.get("name") == "decision":
            self.buttons.add(found.get("value", ""))


def _consent(auth_url: str, decision: str = "connect") -> str:
    """Play the browser on the consent page: open it, press a button; the address
    the provider sends the browser to."""
    with httpx.Client() as browser:
        page = browser.get(auth_url)
        assert page.status_code == 200, page.text
        form = _FormReader()
        form.feed(page.text)
        assert form.action and decision in form.buttons
        answer = browser.post(urllib.parse.urljoin(auth_url, form.action),
                              data={**form.fields, "decision": decision})
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


class _Connect:
    """``recon-tui connect qbo`` running in its own process against the emulator."""

    def __init__(self, tmp_path: Path, server_url: str, config: Path, *extra: str,
                 paste: bool = False, paste_flag: bool = True,
                 env: dict[str, str] | None = None) -> None:
        self.tmp_path = tmp_path
        argv = [sys.executable, "-m", "recon_tui", "connect", "qbo", "--config", str(config),
                "--client-id", "sandbox-client", "--client-secret-env", "QBO_SECRET",
                "--no-browser", "--timeout", "30",
                "--auth-url", f"{server_url}/connect/oauth2",
                "--token-url", f"{server_url}/oauth2/v1/tokens/bearer",
                "--api-url", server_url, *extra]
        if not paste:
            argv += ["--redirect-uri", "http://127.0.0.1:0/callback"]
        elif paste_flag:
            argv += ["--paste"]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE if paste else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=_environment(tmp_path, env))
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def auth_url(self) -> str:
        """The authorization URL the command prints (read as the user would)."""
        while True:
            line = self.lines.get(timeout=30)
            if "/connect/oauth2?" in line:
                return line.strip()

    def paste(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def finish(self) -> tuple[int, str, str]:
        code = self.process.wait(timeout=60)
        assert self.process.stderr is not None
        err = self.process.stderr.read()
        out = []
        while not self.lines.empty():
            out.append(self.lines.get())
        return code, "".join(out), err


def _environment(tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    environ = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
               "XDG_DATA_HOME": str(tmp_path / "xdg-data"), "QBO_SECRET": "sandbox-secret",
               # No OS keyring on a test machine: secrets go inline into the 0600 config.
               "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", **(extra or {})}
    environ.pop("RECON_TUI_CONFIG", None)
    return environ


def _psa_only_config(server_url: str, directory: Path) -> Path:
    """config.example.toml at the emulator with its [ledger] section taken out: a
    new user who has set up the PSA and not QuickBooks yet."""
    path = config_file_for(_Url(server_url), directory)
    text = path.read_text(encoding="utf-8")
    start = text.index("\n[ledger]\n")
    end = text.index("\n# ---", start)
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    return path


@dataclass
class _Url:
    url: str


def _token_file(tmp_path: Path, realm: str = SANDBOX_REALM) -> Path:
    return tmp_path / "xdg-data" / "recon-tui" / "tokens" / f"qbo-{realm}.json"


def _sync(tmp_path: Path, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recon_tui", "sync", "--config", str(config),
         "--db", str(tmp_path / "cache.db")],
        capture_output=True, text=True, env=_environment(tmp_path), timeout=120, check=False)


def test_loopback_connect_then_sync_uses_the_stored_token(tmp_path: Path) -> None:
    with running_emulator() as (server, book, _plan):
        config = config_file_for(server, tmp_path)  # the example's [ledger], comments and all
        connect = _Connect(tmp_path, server.url, config)
        url = connect.auth_url()
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        assert params["scope"] == ["com.intuit.quickbooks.accounting"]
        landing = _consent(url)
        assert landing.startswith(params["redirect_uri"][0] + "?")
        page = httpx.get(landing)  # the browser follows the redirect to the listener
        code, out, err = connect.finish()
        assert code == 0, err
        assert "close this tab" in page.text
        assert f"Connected to {DEMO_COMPANY_NAME} (realm {SANDBOX_REALM})" in out
        assert "client secret: environment variable QBO_SECRET" in out
        assert "refresh token: config file (0600)" in out

        auth = book.qbo_state.auth  # type: ignore[attr-defined]
        issued = auth.current_refresh
        saved = load_config(config)
        assert saved.ledger is not None
        assert saved.ledger.refresh_token.reveal() == issued
        assert saved.ledger.client_secret.stored_form() == "env:QBO_SECRET"
        assert (saved.ledger.base_url, saved.ledger.realm_id) == (server.url, SANDBOX_REALM)
        text = config.read_text(encoding="utf-8")
        assert "# The QuickBooks company ID" in text  # the user's comments are kept
        assert oct(config.stat().st_mode & 0o777) == "0o600"
        state = TokenStore(_token_file(tmp_path)).load()
        assert state is not None and state.refresh_token == issued
        assert state.access_valid() and state.refresh_expires_at is not None
        for secret in (issued, "sandbox-secret", state.access_token or "-"):
            assert secret not in out + err

        grants = list(auth.grants)
        synced = _sync(tmp_path, config)
        assert synced.returncode == 0, synced.stderr
        assert auth.grants == grants  # the stored access token, no refresh
        assert "expires on" not in synced.stderr  # 101 days left: no warning yet


def test_pasted_url_connects_a_config_without_a_ledger(tmp_path: Path) -> None:
    with running_emulator() as (server, book, _plan):
        book.qbo_state.auth.refresh_token_seconds = 20 * 86400  # type: ignore[attr-defined]
        config = _psa_only_config(server.url, tmp_path)
        connect = _Connect(tmp_path, server.url, config, "--redirect-uri",
                           "http://localhost:8250/callback", paste=True)
        landing = _consent(connect.auth_url())
        connect.paste(landing)  # the address the browser ended on (nothing listened)
        code, out, err = connect.finish()
        assert code == 0, err
        assert f"Connected to {DEMO_COMPANY_NAME} (realm {SANDBOX_REALM})" in out
        saved = load_config(config)
        assert saved.ledger is not None and saved.psa is not None
        assert saved.ledger.token_url == f"{server.url}/oauth2/v1/tokens/bearer"
        synced = _sync(tmp_path, config)
        assert synced.returncode == 0, synced.stderr
        # 20 days left: the sync says so first, in one line.
        expires = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
        assert (f"the QuickBooks connection expires on {expires}: run `recon-tui connect "
                "qbo` before then") in synced.stderr


def test_a_redirect_with_another_state_is_refused_and_nothing_saved(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        config = config_file_for(server, tmp_path)
        before = config.read_bytes()
        connect = _Connect(tmp_path, server.url, config)
        landing = _consent(connect.auth_url())
        parts = urllib.parse.urlsplit(landing)
        query = dict(urllib.parse.parse_qsl(parts.query))
        forged = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(
            {**query, "state": "someone-elses-session"})))
        page = httpx.get(forged)
        code, out, err = connect.finish()
    assert code == 2 and "state does not match" in err and "nothing saved" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "Not connected" in page.text
    assert "Connected to" not in out
    assert config.read_bytes() == before and not _token_file(tmp_path).exists()


def test_cancel_on_the_consent_page_is_one_line(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        config = _psa_only_config(server.url, tmp_path)
        before = config.read_bytes()
        connect = _Connect(tmp_path, server.url, config)
        landing = _consent(connect.auth_url(), decision="cancel")
        assert "error=access_denied" in landing
        httpx.get(landing)
        code, _out, err = connect.finish()
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "access_denied" in err and "nothing saved" in err
    assert config.read_bytes() == before and not _token_file(tmp_path).exists()


def test_an_old_redirect_replayed_is_refused_and_its_code_is_spent(tmp_path: Path) -> None:
    from recon_tui.onboarding.qbo_authorize import Grant, exchange_code

    with running_emulator() as (server, _book, _plan):
        config = _psa_only_config(server.url, tmp_path)
        before = config.read_bytes()
        first = _Connect(tmp_path, server.url, config, paste=True)
        landing = _consent(first.auth_url())
        first.paste(landing)
        assert first.finish()[0] == 0
        config.write_bytes(before)
        _token_file(tmp_path).unlink()
        # The same redirect again, to a new session: its state is not this one's.
        second = _Connect(tmp_path, server.url, config, paste=True)
        second.auth_url()
        second.paste(landing)
        code, _out, err = second.finish()
        assert code == 2 and "state does not match" in err
        assert config.read_bytes() == before and not _token_file(tmp_path).exists()
        # And its code, already exchanged once, is refused by the token endpoint.
        spent = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(landing).query))["code"]
        with pytest.raises(QboConnectError, match="invalid_grant") as refused:
            exchange_code(f"{server.url}/oauth2/v1/tokens/bearer", "sandbox-client",
                          "sandbox-secret", Grant(spent, SANDBOX_REALM),
                          "http://localhost:8250/callback")
        assert spent not in str(refused.value)


def test_with_an_os_keyring_the_config_holds_only_a_reference(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process (a keyring backend lives in one process): the refresh token goes to
    the keyring, the config gets its keyring: reference, the output says where."""
    import keyring

    from recon_tui.cli import main
    from tests.test_keyring_secrets import DictKeyring

    written: list[str] = []
    url_shown = threading.Event()

    class Screen(io.TextIOBase):
        def write(self, text: str) -> int:
            written.append(text)
            if "/connect/oauth2?" in "".join(written):
                url_shown.set()
            return len(text)

    backend, previous = DictKeyring(), keyring.get_keyring()
    keyring.set_keyring(backend)
    monkeypatch.setenv("QBO_SECRET", "sandbox-secret")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # nothing pasted
    try:
        with running_emulator() as (server, book, _plan):
            config = _psa_only_config(server.url, tmp_path)
            result: dict[str, int] = {}

            def connect() -> None:
                with contextlib.redirect_stdout(Screen()):
                    result["code"] = main([
                        "connect", "qbo", "--config", str(config), "--client-id",
                        "sandbox-client", "--client-secret-env", "QBO_SECRET", "--no-browser",
                        "--redirect-uri", "http://127.0.0.1:0/callback", "--timeout", "30",
                        "--auth-url", f"{server.url}/connect/oauth2",
                        "--token-url", f"{server.url}/oauth2/v1/tokens/bearer",
                        "--api-url", server.url])

            worker = threading.Thread(target=connect)
            worker.start()
            assert url_shown.wait(timeout=30)
            url = next(line.strip() for line in "".join(written).splitlines()
                       if "/connect/oauth2?" in line)
            httpx.get(_consent(url))
            worker.join(timeout=60)
            issued = book.qbo_state.auth.current_refresh  # type: ignore[attr-defined]
    finally:
        keyring.set_keyring(previous)
    out = "".join(written)
    assert result == {"code": 0}, out
    assert "refresh token: OS keyring" in out
    name = f"qbo/{SANDBOX_REALM}/refresh_token"
    assert backend.entries == {("recon-tui", name): issued}
    text = config.read_text(encoding="utf-8")
    assert f'refresh_token = "keyring:recon-tui/{name}"' in text and issued not in text


def test_no_answer_from_the_browser_times_out_in_one_line(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        config = _psa_only_config(server.url, tmp_path)
        before = config.read_bytes()
        connect = _Connect(tmp_path, server.url, config, "--timeout", "0.5")
        connect.auth_url()
        code, _out, err = connect.finish()
    assert code == 2 and "no answer from the browser within 0.5 s" in err
    assert len(err.strip().splitlines()) == 1
    assert config.read_bytes() == before and not _token_file(tmp_path).exists()


def test_production_keys_take_the_pasted_address_of_an_https_redirect(tmp_path: Path) -> None:
    from recon_tui.sandbox.onboarding import state_of

    redirect = "https://books.example.com/recon-tui/callback"
    with running_emulator() as (server, book, _plan):
        state_of(book).register_redirect_uri(redirect)  # as registered in the Intuit app
        config = _psa_only_config(server.url, tmp_path)
        connect = _Connect(tmp_path, server.url, config, "--production", "--redirect-uri",
                           redirect, paste=True, paste_flag=False)  # https: pasted anyway
        url = connect.auth_url()
        assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["redirect_uri"] == [
            redirect]
        landing = _consent(url)
        assert landing.startswith(redirect + "?")  # a page this machine never serves
        connect.paste(landing)
        code, out, err = connect.finish()
    assert code == 0, err
    assert "Waiting for the browser" not in out and "copy that whole address" in out
    assert f"Connected to {DEMO_COMPANY_NAME}" in out
    saved = load_config(config)
    assert saved.ledger is not None and saved.ledger.base_url == server.url
