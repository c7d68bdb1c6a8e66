"""`recon-tui connect connectwise|autotask` end to end against the emulator over
real sockets (answers from flags and stdin, as a script would give them), and the
Autotask connector following a tenant that moved zone, once."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import httpx
import pytest

from recon_tui.cli import main
from recon_tui.config import AutotaskConfig, Secret, load_config
from recon_tui.connectors.autotask import AutotaskConnector
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.http import RetryPolicy
from recon_tui.sandbox import autotask as at_sandbox
from recon_tui.sandbox.faults import FaultPlan, FaultRule
from recon_tui.sandbox.onboarding import DEMO_COMPANY_NAME
from recon_tui.sandbox.onboarding_psa import ZONE2_PREFIX, move_zone
from tests.emulator import config_file_for, running_emulator

GUID = "00000000-0000-0000-0000-000000000000"
CW_PRIVATE = "sandbox-private"


def _connect(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             answers: str, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(answers))
    code = main(["connect", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _cw_args(server_url: str, config: Path, **overrides: str) -> list[str]:
    flags = {"--site": server_url, "--company": "sandbox", "--public-key": "sandbox-public",
             "--client-id": GUID, **overrides}
    args = ["connectwise", "--config", str(config)]
    for flag, value in flags.items():
        args += [flag, value]
    return args


class Recording(httpx.HTTPTransport):
    """A real socket transport that remembers each URL it sent to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return super().handle_request(request)


# --------------------------------------------------------------------------- ConnectWise
def test_connect_connectwise_finds_the_api_root_proves_the_keys_and_saves_psa(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with running_emulator() as (server, _book, _plan):
        config = config_file_for(server, tmp_path, psa="autotask")  # switch kinds
        before = config.read_text()
        code, out, err = _connect(monkeypatch, capsys, f"{CW_PRIVATE}\n",
                                  *_cw_args(server.url, config))
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0] == (f"ConnectWise site {server.url.split('//')[1]}, codebase "
                            f"v4_6_release (v2022.1), company {DEMO_COMPANY_NAME}: API member OK")
        assert lines[2] == "private key: config file (0600)"  # no OS keyring here
        assert CW_PRIVATE not in out and CW_PRIVATE not in err
        psa = tomllib.loads(config.read_text())["psa"]
        assert psa == {"kind": "connectwise",
                       "base_url": f"{server.url}/v4_6_release/apis/3.0",
                       "company_id": "sandbox", "public_key": "sandbox-public",
                       "private_key": CW_PRIVATE, "client_id": GUID}
        # The comments of the user's file survive; the autotask keys are gone.
        assert "# recon-tui configuration" in config.read_text()
        assert "integration_code" in before and "integration_code" not in config.read_text()
        assert load_config(config).psa.base_url.endswith("/apis/3.0")  # type: ignore[union-attr]
        # ... and the next sync uses it.
        assert main(["sync", "--config", str(config), "--db", str(tmp_path / "c.db")]) == 0


def test_connect_connectwise_asks_for_everything_on_stdin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with running_emulator() as (server, _book, _plan):
        config = tmp_path / "new" / "config.toml"
        answers = f"{server.url}\nsandbox\nsandbox-public\n{CW_PRIVATE}\n{GUID}\n"
        code, out, err = _connect(monkeypatch, capsys, answers, "connectwise",
                                  "--config", str(config))
        assert code == 0, err
        assert "API member OK" in out
        assert "private key (not shown)" in err and CW_PRIVATE not in err
        assert (config.stat().st_mode & 0o777) == 0o600
        assert tomllib.loads(config.read_text())["psa"]["company_id"] == "sandbox"


def test_connect_connectwise_with_a_wrong_private_key_says_so_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with running_emulator() as (server, _book, _plan):
        config = tmp_path / "config.toml"
        code, out, err = _connect(monkeypatch, capsys, "not-the-key-4711\n",
                                  *_cw_args(server.url, config))
    assert code == 1
    assert out == ""
    line = err.strip().splitlines()[-1]
    assert line.startswith("recon-tui: connectwise: check the API member's keys: HTTP 401")
    assert "private key" in line and "not-the-key-4711" not in err
    assert not config.exists()


def test_connect_connectwise_unknown_company_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with running_emulator() as (server, _book, plan):
        config = tmp_path / "config.toml"
        code, _out, err = _connect(monkeypatch, capsys, "",
                                   *_cw_args(server.url, config, **{"--company": "nosuch"}))
        assert plan.requests_seen("connectwise") == 1  # the lookup only, no keyed request
    assert code == 1
    assert err.count("\n") == 1 and "no such company (HTTP 404)" in err
    assert not config.exists()


def test_connect_connectwise_bad_client_id_fails_before_any_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    recording = Recording()
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    from recon_tui.onboarding import connectwise_connect

    with running_emulator() as (server, _book, _plan):
        args = connectwise_connect.argparse.Namespace(
            site=server.url, company="sandbox", public_key="k", client_id="not-a-guid",
            config=str(tmp_path / "config.toml"))
        from recon_tui.cli_common import CliError

        with pytest.raises(CliError, match="--client-id 'not-a-guid': expected a GUID"):
            connectwise_connect.run(args, transport=recording)
    assert recording.urls == []
    code, _out, err = _connect(monkeypatch, capsys, "", "connectwise", "--client-id", "x")
    assert code == 2 and err.count("\n") == 1


# --------------------------------------------------------------------------- Autotask
def test_connect_autotask_finds_the_zone_proves_the_user_and_saves_psa(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with running_emulator() as (server, _book, _plan):
        config = config_file_for(server, tmp_path)  # ConnectWise until now
        lookup = f"{server.url}/atservicesrest/v1.0/zoneInformation"
        code, out, err = _connect(
            monkeypatch, capsys, f"{at_sandbox.SECRET}\n{at_sandbox.INTEGRATION_CODE}\n",
            "autotask", "--config", str(config), "--user", at_sandbox.USERNAME,
            "--zone-lookup-url", lookup)
        assert code == 0, err
        assert out.splitlines()[0] == (f"Autotask zone Sandbox ({server.url}/atservicesrest/"
                                       f"v1.0), API user {at_sandbox.USERNAME}: OK")
        assert "secret: config file (0600)" in out
        assert at_sandbox.SECRET not in out + err
        psa = tomllib.loads(config.read_text())["psa"]
        assert psa["kind"] == "autotask"
        assert psa["base_url"] == f"{server.url}/atservicesrest/v1.0"
        assert "public_key" not in psa and "client_id" not in psa
        assert main(["sync", "--config", str(config), "--db", str(tmp_path / "c.db")]) == 0


def test_connect_autotask_integration_code_from_an_environment_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AT_CODE", at_sandbox.INTEGRATION_CODE)
    with running_emulator() as (server, _book, _plan):
        config = tmp_path / "config.toml"
        code, out, err = _connect(
            monkeypatch, capsys, f"{at_sandbox.USERNAME}\n{at_sandbox.SECRET}\n",
            "autotask", "--config", str(config), "--integration-code-env", "AT_CODE",
            "--zone-lookup-url", f"{server.url}/atservicesrest/v1.0/zoneInformation")
    assert code == 0, err
    assert "integration code: environment variable AT_CODE (saved as env:AT_CODE)" in out
    psa = tomllib.loads(config.read_text())["psa"]
    assert psa["integration_code"] == "env:AT_CODE"
    assert load_config(config).psa.integration_code.reveal() == at_sandbox.INTEGRATION_CODE  # type: ignore[union-attr]


def test_connect_autotask_unset_variable_or_unknown_user_or_bad_secret_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    code, _out, err = _connect(monkeypatch, capsys, "", "autotask", "--config", str(config),
                               "--integration-code-env", "NOT_SET_ANYWHERE")
    assert code == 2 and "NOT_SET_ANYWHERE is not set" in err and err.count("\n") == 1
    with running_emulator() as (server, _book, _plan):
        lookup = f"{server.url}/atservicesrest/v1.0/zoneInformation"
        code, _out, err = _connect(monkeypatch, capsys, "", "autotask", "--config",
                                   str(config), "--user", "nobody@example.com",
                                   "--zone-lookup-url", lookup)
        assert code == 1 and "zone lookup: HTTP 404" in err and "check --user" in err
        code, _out, err = _connect(monkeypatch, capsys,
                                   f"wrong-secret-99\n{at_sandbox.INTEGRATION_CODE}\n",
                                   "autotask", "--config", str(config), "--user",
                                   at_sandbox.USERNAME, "--zone-lookup-url", lookup)
        assert code == 1
        assert "check the API user: HTTP 401" in err and "wrong-secret-99" not in err
    assert not config.exists()


# --------------------------------------------------------------------------- zone moves
def _at_config(root: str, secret: str = at_sandbox.SECRET) -> AutotaskConfig:
    return AutotaskConfig(base_url=f"{root}/atservicesrest/v1.0",
                     username=at_sandbox.USERNAME, secret=Secret(secret),
                     integration_code=Secret(at_sandbox.INTEGRATION_CODE))


def test_a_tenant_that_moved_zone_is_followed_once() -> None:
    recording = Recording()
    with running_emulator() as (server, book, _plan):
        move_zone(book)
        moves = []
        with AutotaskConnector(_at_config(server.url), transport=recording,
                               retry=RetryPolicy(max_attempts=1),
                               on_zone_move=moves.append) as connector:
            companies = list(connector.companies())
            assert companies
            assert connector.api.moved_to is not None
            assert connector.api.moved_to.api_url == (
                f"{server.url}{ZONE2_PREFIX}/atservicesrest/v1.0")
            assert [zone.name for zone in moves] == ["Sandbox 2"]
    lookups = [u for u in recording.urls if "zoneInformation" in u]
    assert len(lookups) == 1 and "user=sandbox-api%40example.com" in lookups[0]
    # The first request was refused on the old root, then everything went to the new one.
    assert "/zone2/" not in recording.urls[0]
    assert all("/zone2/" in u for u in recording.urls[2:])
    # The lookup carried no credential (a GET with the user name only).


def test_a_401_in_the_same_zone_stays_the_usual_one_line_after_one_lookup() -> None:
    recording = Recording()
    with running_emulator() as (server, _book, _plan):
        connector = AutotaskConnector(_at_config(server.url, "wrong-secret"),
                                      transport=recording, retry=RetryPolicy(max_attempts=1))
        with pytest.raises(ConnectorError) as caught:
            list(connector.companies())
        connector.close()
    assert caught.value.status == 401
    assert str(caught.value).startswith("autotask: list companies: HTTP 401")
    assert [u for u in recording.urls if "zoneInformation" in u] != []
    assert len(recording.urls) == 2  # the refused query and the one lookup: no retry
    assert connector.api.moved_to is None


def test_the_zone_lookup_sends_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Headers] = []

    class Headers(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if "zoneInformation" in str(request.url):
                seen.append(request.headers)
            return super().handle_request(request)

    plan = FaultPlan(retry_after_seconds=0)
    with running_emulator(faults=plan) as (server, _book, plan):
        plan.add(FaultRule("zone_moved", "autotask", 1, 10**9))
        with AutotaskConnector(_at_config(server.url), transport=Headers(),
                               retry=RetryPolicy(max_attempts=1)) as connector:
            assert list(connector.companies())
    assert len(seen) == 1
    assert not {"secret", "apiintegrationcode", "username"} & {k.lower() for k in seen[0]}


# --------------------------------------------------------------------------- the URLs
def test_connectwise_api_root_from_companyinfo() -> None:
    from recon_tui.onboarding.connectwise_connect import CompanyInfo, api_root, site_origin

    cloud = CompanyInfo("Acme", "v2024_1/", "v2024.1", is_cloud=True)
    premise = CompanyInfo("Acme", "v4_6_release/", "v2024.1", is_cloud=False)
    assert site_origin("na.myconnectwise.net") == "https://na.myconnectwise.net"
    assert site_origin("https://eu.myconnectwise.net/v4_6_release/") == \
        "https://eu.myconnectwise.net"
    # The developer guide: a cloud site is reached through api- in front of it.
    assert api_root("https://na.myconnectwise.net", cloud) == \
        "https://api-na.myconnectwise.net/v2024_1/apis/3.0"
    assert api_root("https://api-na.myconnectwise.net", cloud) == \
        "https://api-na.myconnectwise.net/v2024_1/apis/3.0"
    assert api_root("https://cw.example.com", premise) == \
        "https://cw.example.com/v4_6_release/apis/3.0"


def test_autotask_zone_urls_and_untrusted_answers() -> None:
    from recon_tui.connectors.autotask_zone import (
        ZONE_LOOKUP_URL,
        _zone_from,
        lookup_url_for,
        rest_root,
    )

    assert rest_root("https://webservices5.autotask.net/ATServicesRest/") == \
        "https://webservices5.autotask.net/ATServicesRest/v1.0"
    assert rest_root("https://webservices5.autotask.net/atservicesrest/v1.0") == \
        "https://webservices5.autotask.net/atservicesrest/v1.0"
    assert lookup_url_for("https://webservices14.autotask.net/atservicesrest/v1.0") == \
        ZONE_LOOKUP_URL
    assert lookup_url_for("http://127.0.0.1:8765/zone2/atservicesrest/v1.0") == \
        "http://127.0.0.1:8765/atservicesrest/v1.0/zoneInformation"
    zone = _zone_from({"zoneName": "Pre-Release", "url":
                       "https://webservices2.autotask.net/ATServicesRest/"},
                      ZONE_LOOKUP_URL, "u")
    assert zone.api_url == "https://webservices2.autotask.net/ATServicesRest/v1.0"
    with pytest.raises(ConnectorError, match="not an Autotask host; not followed"):
        _zone_from({"url": "https://evil.example.com/ATServicesRest/"}, ZONE_LOOKUP_URL, "u")
    with pytest.raises(ConnectorError, match="no zone URL"):
        _zone_from({"errors": ["nope"]}, ZONE_LOOKUP_URL, "u")


def test_a_sync_that_finds_the_tenant_in_a_new_zone_saves_it(tmp_path: Path) -> None:
    """The zone move mid-sync: followed once, and the config's base_url moved with it
    (comments kept), so the next run does not start in the old zone."""
    plan = FaultPlan(retry_after_seconds=0)
    with running_emulator(faults=plan) as (server, _book, plan):
        path = config_file_for(server, tmp_path, psa="autotask")
        comments = [line for line in path.read_text().splitlines() if line.startswith("#")]
        plan.add(FaultRule("zone_moved", "autotask", 1, 10**9))
        assert main(["sync", "--config", str(path), "--db", str(tmp_path / "c.db")]) == 0
        moved = load_config(path).psa.base_url
        assert moved == f"{server.url}/zone2/atservicesrest/v1.0"
        assert [line for line in path.read_text().splitlines()
                if line.startswith("#")] == comments
