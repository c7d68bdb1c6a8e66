"""Tests for recon_tui.config: loading, validation messages, secrets, saving, path resolution."""

from __future__ import annotations

import copy
import os
import stat
import sys
import textwrap
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from recon_tui import config as cfg
from recon_tui.config import (
    AutotaskConfig,
    Config,
    ConfigError,
    QboLedgerConfig,
    Secret,
    config_to_dict,
    load_config,
    parse_config,
    redacted_summary,
    resolve_config_path,
    save_config,
    unresolved_secrets,
)
from recon_tui.config.schema import SCHEMA

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"

LEDGER = """\
[ledger]
kind = "qbo"
realm_id = "123145"
client_id = "ABclient"
client_secret = "qbo-very-secret-1"
refresh_token = "qbo-refresh-secret-2"
"""

CONNECTWISE = """\
[psa]
kind = "connectwise"
base_url = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"
company_id = "acme"
public_key = "pubkey"
private_key = "cw-private-secret-3"
client_id = "11111111-2222-3333-4444-555555555555"
"""

AUTOTASK = """\
[psa]
kind = "autotask"
base_url = "https://webservices5.autotask.net/ATServicesRest/V1.0"
username = "api@example.com"
secret = "at-secret-4"
integration_code = "at-code-secret-5"
"""

SECRET_VALUES = [
    "qbo-very-secret-1",
    "qbo-refresh-secret-2",
    "cw-private-secret-3",
    "at-secret-4",
    "at-code-secret-5",
]


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


def assert_one_line(err: ConfigError) -> None:
    assert "\n" not in str(err)
    assert str(err).startswith(str(err.file) + ": ")


# --------------------------------------------------------------------------- loading


def test_example_file_loads_and_points_at_the_sandbox() -> None:
    config = load_config(EXAMPLE)
    assert not config.is_demo
    assert config.path == EXAMPLE
    ledger, psa = config.ledger, config.psa
    assert ledger is not None and psa is not None
    assert ledger.kind == "qbo"
    assert ledger.base_url == "http://127.0.0.1:8765"
    assert ledger.token_url == "http://127.0.0.1:8765/oauth2/v1/tokens/bearer"
    assert ledger.realm_id == "9130355377388383"
    assert ledger.client_id == "sandbox-client"
    assert ledger.client_secret.reveal() == "sandbox-secret"
    assert ledger.refresh_token.reveal() == "sandbox-refresh-token"
    assert ledger.minor_version == 75
    assert psa.kind == "connectwise"
    assert psa.base_url == "http://127.0.0.1:8765/v4_6_release/apis/3.0"
    assert psa.company_id == "sandbox"
    assert psa.public_key == "sandbox-public"
    assert psa.private_key is not None and psa.private_key.reveal() == "sandbox-private"
    assert psa.client_id == "00000000-0000-0000-0000-000000000000"
    assert config.portal.client_admin_security_level == 6
    assert config.sync.default_since is None  # documented, commented out: no longer used


def test_example_autotask_alternative_loads_when_uncommented(tmp_path: Path) -> None:
    """The commented-out Autotask block must be valid once swapped in."""
    text = EXAMPLE.read_text(encoding="utf-8")
    head, rest = text.split("[psa]\n", 1)
    _connectwise_block, tail = rest.split("# [psa]\n", 1)
    autotask_lines, after = tail.split("\n\n\n", 1)
    uncommented = "\n".join(
        line[2:] if line.startswith("# ") else line for line in autotask_lines.splitlines()
    )
    path = write(tmp_path, head + "[psa]\n" + uncommented + "\n\n\n" + after)
    psa = load_config(path).psa
    assert psa is not None and psa.kind == "autotask"
    assert psa.base_url.endswith("/atservicesrest/v1.0")
    assert psa.username and psa.secret and psa.integration_code


def test_example_documents_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for section, keys in SCHEMA.items():
        assert f"[{section}]" in text
        for key in keys:
            assert f"{key} = " in text, f"{section}.{key} is not documented"


def test_none_is_demo_with_defaults() -> None:
    config = load_config(None)
    assert config == Config.default()
    assert config.is_demo
    assert config.path is None
    assert config.portal.client_admin_security_level == 6  # ConnectBooster's default
    assert config.sync.default_since is None  # no longer used: a first sync reads all


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "\ufeff"])
def test_empty_file_is_an_error_not_the_demo(tmp_path: Path, text: str) -> None:
    """A failed editor save or a full disk leaves an empty file: running the demo
    then would sync demo data into the real cache named by --db."""
    with pytest.raises(ConfigError, match="the file is empty"):
        load_config(write(tmp_path, text))


def test_portal_only_file_is_still_the_demo(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[portal]\nclient_admin_security_level = 5\n"))
    assert config.is_demo
    assert config.path == tmp_path / "config.toml"


@pytest.mark.parametrize("value", ["-1", "101", '"5"'])
def test_max_delete_percent_is_checked(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="max_delete_percent"):
        load_config(write(tmp_path, f"[sync]\nmax_delete_percent = {value}\n"))


def test_max_delete_percent_defaults_to_five(tmp_path: Path) -> None:
    assert load_config(None).sync.max_delete_percent == 5
    config = load_config(write(tmp_path, "[sync]\nmax_delete_percent = 20\n"))
    assert config.sync.max_delete_percent == 20


def test_max_concurrency_defaults_to_each_apis_limit(tmp_path: Path) -> None:
    """QBO's documented 10 concurrent per realm; ConnectWise a polite 4 (it publishes
    no figure); a system left out keeps its default."""
    default = load_config(None).sync.max_concurrency
    assert (default.qbo, default.connectwise) == (10, 4)
    config = load_config(write(tmp_path, "[sync]\nmax_concurrency = { qbo = 3 }\n"))
    assert config.sync.max_concurrency == cfg.Concurrency(qbo=3, connectwise=4)
    assert config.sync.max_concurrency.for_system("autotask") == 1
    table = load_config(write(tmp_path, "[sync.max_concurrency]\nconnectwise = 10\n", "b.toml"))
    assert table.sync.max_concurrency.connectwise == 10


@pytest.mark.parametrize(("text", "key", "problem"), [
    ("{ qbo = 11 }", "max_concurrency.qbo", "expected an integer from 1 to 10, got integer 11"),
    ("{ qbo = 0 }", "max_concurrency.qbo", "expected an integer from 1 to 10, got integer 0"),
    ('{ connectwise = "4" }', "max_concurrency.connectwise",
     'expected an integer from 1 to 10, got string "4"'),
    ("{ qbo = true }", "max_concurrency.qbo", "expected an integer from 1 to 10, got boolean true"),
    ("{ qbp = 2 }", "max_concurrency.qbp",
     "unknown system 'qbp' (did you mean 'qbo'?); known: qbo, connectwise"),
    ("{ autotask = 3 }", "max_concurrency.autotask",
     "Autotask pages are read one after another (each page's link comes from the one "
     "before); remove autotask"),
    ("10", "max_concurrency", "expected a table like { qbo = 10 }, got integer 10"),
])
def test_max_concurrency_is_checked_in_one_line(tmp_path: Path, text: str, key: str,
                                                problem: str) -> None:
    err = error_for(tmp_path, f"[sync]\nmax_concurrency = {text}\n")
    assert err.key == f"[sync] {key}"
    assert err.problem == problem
    assert_one_line(err)


def test_max_concurrency_is_saved_only_when_changed(tmp_path: Path) -> None:
    assert "sync" not in config_to_dict(parse_config({}))
    changed = parse_config({"sync": {"max_concurrency": {"qbo": 5, "connectwise": 4}}})
    assert config_to_dict(changed)["sync"] == {"max_concurrency": {"qbo": 5}}
    save_config(changed, tmp_path / "saved.toml")
    assert load_config(tmp_path / "saved.toml").sync.max_concurrency.qbo == 5


def test_ledger_defaults_and_kind_default(tmp_path: Path) -> None:
    text = LEDGER.replace('kind = "qbo"\n', "")
    ledger = load_config(write(tmp_path, text)).ledger
    assert ledger is not None
    assert ledger.kind == "qbo"
    assert ledger.base_url == "https://quickbooks.api.intuit.com"
    assert ledger.token_url == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert ledger.minor_version == 75


def test_autotask_section(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, LEDGER + AUTOTASK))
    assert config.psa == AutotaskConfig(
        base_url="https://webservices5.autotask.net/ATServicesRest/V1.0",
        username="api@example.com",
        secret=Secret("at-secret-4"),
        integration_code=Secret("at-code-secret-5"),
    )


def test_psa_only_is_not_demo(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONNECTWISE))
    assert config.ledger is None
    assert config.psa is not None
    assert not config.is_demo


def test_trailing_slash_and_whitespace_are_trimmed(tmp_path: Path) -> None:
    text = CONNECTWISE.replace("apis/3.0", "apis/3.0/").replace('"acme"', '"  acme "')
    psa = load_config(write(tmp_path, text)).psa
    assert psa is not None
    assert psa.base_url.endswith("/apis/3.0")
    assert psa.company_id == "acme"


def test_default_since_as_string_or_toml_date(tmp_path: Path) -> None:
    a = load_config(write(tmp_path, '[sync]\ndefault_since = "2025-07-04"\n', "a.toml"))
    b = load_config(write(tmp_path, "[sync]\ndefault_since = 2025-07-04\n", "b.toml"))
    assert a.sync.default_since == b.sync.default_since == date(2025, 7, 4)


def test_integer_realm_id_is_accepted(tmp_path: Path) -> None:
    text = LEDGER.replace('realm_id = "123145"', "realm_id = 123145")
    ledger = load_config(write(tmp_path, text)).ledger
    assert ledger is not None and ledger.realm_id == "123145"


def test_utf8_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[portal]\nclient_admin_security_level = 3\n")
    assert load_config(path).portal.client_admin_security_level == 3


# --------------------------------------------------------------------------- errors


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    err = error_for(tmp_path, '[ledger]\nrealm_id = "123\n')
    assert_one_line(err)
    assert err.key is None
    assert str(err).startswith(f"{tmp_path / 'config.toml'}: invalid TOML: ")
    assert "line 2" in str(err) and "column" in str(err)


def test_unknown_key_suggests_closest(tmp_path: Path) -> None:
    err = error_for(tmp_path, LEDGER.replace("realm_id", "realmid"))
    assert_one_line(err)
    assert err.key == "[ledger] realmid"
    assert err.problem == "unknown key 'realmid' (did you mean 'realm_id'?)"
    assert str(err) == (
        f"{tmp_path / 'config.toml'}: [ledger] realmid: "
        "unknown key 'realmid' (did you mean 'realm_id'?)"
    )


def test_unknown_key_without_close_match_points_to_its_section(tmp_path: Path) -> None:
    err = error_for(tmp_path, "[portal]\ndefault_since = 2026-01-01\n")
    assert err.problem == "unknown key 'default_since' (it belongs in [sync])"


def test_unknown_key_nothing_close(tmp_path: Path) -> None:
    err = error_for(tmp_path, "[sync]\nzzz = 1\n")
    assert err.problem == "unknown key 'zzz'"


def test_unknown_section_suggests_closest(tmp_path: Path) -> None:
    err = error_for(tmp_path, "[leger]\nkind = 'qbo'\n")
    assert_one_line(err)
    assert err.key == "[leger]"
    assert err.problem.startswith("unknown section [leger] (did you mean [ledger]?)")


def test_top_level_key_outside_a_section(tmp_path: Path) -> None:
    err = error_for(tmp_path, "realm_id = '1'\n")
    assert str(err).endswith("realm_id: unknown top-level key 'realm_id'; it belongs in [ledger]")


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    err = error_for(tmp_path, "sync = 3\n")
    assert err.key == "[sync]"
    assert err.problem == "expected a table, got integer 3"


def test_wrong_type_integer(tmp_path: Path) -> None:
    err = error_for(tmp_path, LEDGER + 'minor_version = "abc"\n')
    assert_one_line(err)
    assert err.key == "[ledger] minor_version"
    assert err.problem == 'expected an integer, got string "abc"'
    assert str(err) == (
        f'{tmp_path / "config.toml"}: [ledger] minor_version: expected an integer, got string "abc"'
    )


def test_boolean_is_not_an_integer(tmp_path: Path) -> None:
    err = error_for(tmp_path, "[portal]\nclient_admin_security_level = true\n")
    assert err.problem == "expected an integer, got boolean true"


def test_wrong_type_string(tmp_path: Path) -> None:
    err = error_for(tmp_path, LEDGER.replace('client_id = "ABclient"', "client_id = 42"))
    assert err.key == "[ledger] client_id"
    assert err.problem == "expected a string, got integer 42"


def test_wrong_type_secret_does_not_echo_value(tmp_path: Path) -> None:
    text = LEDGER.replace('client_secret = "qbo-very-secret-1"', "client_secret = 987654321")
    err = error_for(tmp_path, text)
    assert err.key == "[ledger] client_secret"
    assert err.problem == "expected a string, got integer"
    assert "987654321" not in str(err)


def test_kind_not_allowed(tmp_path: Path) -> None:
    err = error_for(tmp_path, CONNECTWISE.replace('"connectwise"', '"ConnectWize"'))
    assert_one_line(err)
    assert err.key == "[psa] kind"
    assert err.problem == (
        'expected one of "connectwise", "autotask", got "ConnectWize" (did you mean "connectwise"?)'
    )


def test_ledger_kind_not_allowed(tmp_path: Path) -> None:
    err = error_for(tmp_path, LEDGER.replace('"qbo"', '"xero"'))
    assert err.problem == 'expected one of "qbo", "qbd", got "xero"'


def test_psa_kind_missing(tmp_path: Path) -> None:
    err = error_for(tmp_path, CONNECTWISE.replace('kind = "connectwise"\n', ""))
    assert err.key == "[psa] kind"
    assert err.problem == 'missing (one of "connectwise", "autotask")'


@pytest.mark.parametrize(
    ("base", "drop", "kind"),
    [
        (LEDGER, "refresh_token", "qbo"),
        (LEDGER, "realm_id", "qbo"),
        (CONNECTWISE, "private_key", "connectwise"),
        (CONNECTWISE, "client_id", "connectwise"),
        (AUTOTASK, "integration_code", "autotask"),
        (AUTOTASK, "base_url", "autotask"),
    ],
)
def test_required_key_missing(tmp_path: Path, base: str, drop: str, kind: str) -> None:
    text = "".join(line + "\n" for line in base.splitlines() if not line.startswith(drop + " "))
    err = error_for(tmp_path, text)
    assert_one_line(err)
    assert err.key == f"[{'ledger' if kind == 'qbo' else 'psa'}] {drop}"
    assert err.problem == f'missing (required when kind = "{kind}")'


def test_key_of_the_other_psa_kind(tmp_path: Path) -> None:
    err = error_for(tmp_path, CONNECTWISE + 'username = "bob"\n')
    assert err.key == "[psa] username"
    assert (
        err.problem == 'only applies when kind = "autotask" (this section has kind = "connectwise")'
    )


def test_all_problems_are_collected(tmp_path: Path) -> None:
    text = LEDGER.replace("realm_id", "realmid") + 'minor_version = "x"\n[portal]\nlevel = 1\n'
    err = error_for(tmp_path, text)
    keys = [e.key for e in err.errors]
    assert keys[0] == err.key == "[ledger] realmid"
    assert "[ledger] minor_version" in keys
    assert "[portal] level" in keys
    assert "[ledger] realm_id" in keys  # and then it is missing
    assert all("\n" not in str(e) for e in err.errors)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (
            "ftp://example.com",
            'expected a URL starting with http:// or https://, got "ftp://example.com"',
        ),
        ("quickbooks.api.intuit.com", "expected a URL starting with http:// or https://"),
        ("https://", "not a valid URL"),
        ("https://host/?a=1", "must not contain a query string or fragment"),
    ],
)
def test_bad_urls(tmp_path: Path, url: str, problem: str) -> None:
    err = error_for(tmp_path, LEDGER + f'base_url = "{url}"\n')
    assert err.key == "[ledger] base_url"
    assert err.problem.startswith(problem)


def test_url_with_credentials_is_not_echoed(tmp_path: Path) -> None:
    err = error_for(tmp_path, LEDGER + 'token_url = "https://user:hunter2@host/x"\n')
    assert err.key == "[ledger] token_url"
    assert "hunter2" not in str(err)


def test_ledger_base_url_must_be_host_root(tmp_path: Path) -> None:
    url = "https://quickbooks.api.intuit.com/v3/company/123145"
    err = error_for(tmp_path, LEDGER + f'base_url = "{url}"\n')
    assert err.key == "[ledger] base_url"
    assert "host root" in err.problem


def test_psa_base_url_must_reach_the_api_root(tmp_path: Path) -> None:
    text = CONNECTWISE.replace("/v4_6_release/apis/3.0", "")
    err = error_for(tmp_path, text)
    assert err.key == "[psa] base_url"
    assert err.problem.startswith('expected a URL ending in "/apis/3.0"')


def test_connectwise_client_id_must_be_a_guid(tmp_path: Path) -> None:
    err = error_for(tmp_path, CONNECTWISE.replace("11111111-2222-3333-4444-555555555555", "abc"))
    assert err.key == "[psa] client_id"
    assert err.problem.startswith("expected a GUID")


def test_realm_id_must_be_numeric(tmp_path: Path) -> None:
    err = error_for(tmp_path, LEDGER.replace('"123145"', '"my company"'))
    assert err.problem == 'expected the numeric QuickBooks company ID, got "my company"'


@pytest.mark.parametrize("level", [0, 7, -1])
def test_portal_level_out_of_range(tmp_path: Path, level: int) -> None:
    err = error_for(tmp_path, f"[portal]\nclient_admin_security_level = {level}\n")
    assert_one_line(err)
    assert err.key == "[portal] client_admin_security_level"
    assert err.problem == f"expected an integer from 1 to 6, got {level}"


def test_minor_version_must_be_positive(tmp_path: Path) -> None:
    err = error_for(tmp_path, LEDGER + "minor_version = 0\n")
    assert err.problem == "expected a positive integer, got 0"


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "20260101", "next monday"])
def test_bad_date(tmp_path: Path, value: str) -> None:
    err = error_for(tmp_path, f'[sync]\ndefault_since = "{value}"\n')
    assert_one_line(err)
    assert err.key == "[sync] default_since"
    assert err.problem == f'expected a date YYYY-MM-DD, got "{value}"'
    assert str(err) == (
        f"{tmp_path / 'config.toml'}: [sync] default_since: "
        f'expected a date YYYY-MM-DD, got "{value}"'
    )


def test_datetime_is_not_a_date(tmp_path: Path) -> None:
    err = error_for(tmp_path, "[sync]\ndefault_since = 2026-01-01T00:00:00Z\n")
    assert err.problem == "expected a date YYYY-MM-DD, got datetime 2026-01-01T00:00:00+00:00"


def test_empty_string_is_rejected(tmp_path: Path) -> None:
    err = error_for(tmp_path, LEDGER.replace('client_id = "ABclient"', 'client_id = "  "'))
    assert err.key == "[ledger] client_id"
    assert err.problem == "must not be empty"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert str(info.value) == f"{tmp_path / 'nope.toml'}: file not found"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a directory, not a config file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes("[sync]\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: not valid UTF-8 (byte 0xe9 on line 2)"


@pytest.mark.skipif(
    sys.platform == "win32" or (hasattr(os, "geteuid") and os.geteuid() == 0),
    reason="root (and Windows) can read files regardless of mode",
)
def test_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path, "[sync]\n")
    path.chmod(0)
    try:
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert str(info.value) == f"{path}: permission denied: cannot read the file"
    finally:
        path.chmod(0o600)


# --------------------------------------------------------------------------- secrets


def test_secret_is_masked_everywhere() -> None:
    s = Secret("hunter2")
    assert str(s) == repr(s) == "********"
    assert f"{s}" == f"{s!r}" == f"{s!s}" == "********"
    assert f"{s:>10}" == "  ********"
    assert "hunter2" not in "%s %r" % (s, s)  # noqa: UP031 - the old style must mask too
    assert s.reveal() == "hunter2"
    assert s.source == "inline"
    assert s.is_set
    assert not Secret("").is_set


def test_secret_equality_and_immutability() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("env:X") == Secret("env:X")
    assert Secret("a") != "a"
    assert len({Secret("a"), Secret("a")}) == 1
    with pytest.raises(AttributeError):
        Secret("a")._raw = "b"  # type: ignore[misc]
    assert copy.deepcopy(Secret("a")) == Secret("a")


def test_secret_equality_does_not_resolve_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECON_TEST_UNSET_VAR", raising=False)
    # Would raise ConfigError if equality revealed the value.
    assert Secret("env:RECON_TEST_UNSET_VAR") == Secret("env:RECON_TEST_UNSET_VAR")


def test_env_secret_resolves_at_reveal_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = LEDGER.replace('"qbo-very-secret-1"', '"env:RECON_TEST_QBO_SECRET"')
    monkeypatch.delenv("RECON_TEST_QBO_SECRET", raising=False)
    config = load_config(write(tmp_path, text))  # loading does not need the variable
    ledger = config.ledger
    assert ledger is not None
    assert ledger.client_secret.source == "env:RECON_TEST_QBO_SECRET"
    assert ledger.client_secret.env_var == "RECON_TEST_QBO_SECRET"
    monkeypatch.setenv("RECON_TEST_QBO_SECRET", "from-the-env")
    assert ledger.client_secret.reveal() == "from-the-env"
    assert ledger.client_secret.reveal({"RECON_TEST_QBO_SECRET": "given"}) == "given"
    assert "from-the-env" not in repr(config)


def test_missing_env_var_errors_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = LEDGER.replace('"qbo-refresh-secret-2"', '"env:RECON_TEST_MISSING"')
    path = write(tmp_path, text)
    monkeypatch.delenv("RECON_TEST_MISSING", raising=False)
    ledger = load_config(path).ledger
    assert ledger is not None
    with pytest.raises(ConfigError) as info:
        ledger.refresh_token.reveal()
    err = info.value
    assert err.key == "[ledger] refresh_token"
    assert (
        str(err)
        == f"{path}: [ledger] refresh_token: environment variable RECON_TEST_MISSING is not set"
    )
    with pytest.raises(ConfigError, match="RECON_TEST_MISSING is empty"):
        ledger.refresh_token.reveal({"RECON_TEST_MISSING": " "})
    problems = unresolved_secrets(load_config(path), environ={})
    assert [p.key for p in problems] == ["[ledger] refresh_token"]
    assert unresolved_secrets(load_config(path), environ={"RECON_TEST_MISSING": "x"}) == []


def test_malformed_env_reference(tmp_path: Path) -> None:
    err = error_for(tmp_path, LEDGER.replace('"qbo-very-secret-1"', '"env:NOT A VAR"'))
    assert err.key == "[ledger] client_secret"
    assert err.problem.startswith('expected "env:VAR_NAME"')
    assert "NOT A VAR" not in str(err)


def test_secrets_never_appear_in_config_errors_or_summary(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, LEDGER + CONNECTWISE))
    at = load_config(write(tmp_path, AUTOTASK, "at.toml"))
    texts = [repr(config), str(config), repr(at), str(at), str(redacted_summary(config))]
    texts.append(str(redacted_summary(at)))
    # Errors raised from a file full of secrets.
    for bad in ('minor_version = "x"\n', "bogus = 1\n"):
        with pytest.raises(ConfigError) as info:
            load_config(write(tmp_path, LEDGER + bad + CONNECTWISE, "bad.toml"))
        texts += [str(info.value), repr(info.value), *(str(e) for e in info.value.errors)]
    for text in texts:
        for value in SECRET_VALUES:
            assert value not in text
    assert "********" in repr(config)


def test_redacted_summary(tmp_path: Path) -> None:
    text = LEDGER.replace('"qbo-refresh-secret-2"', '"env:QBO_REFRESH"') + CONNECTWISE
    path = write(tmp_path, text)
    summary = redacted_summary(load_config(path))
    assert summary["config"] == {"path": str(path), "mode": "live"}
    assert summary["ledger"] == {
        "kind": "qbo",
        "base_url": "https://quickbooks.api.intuit.com",
        "client_id": "ABclient",
        "client_secret": "********",
        "minor_version": "75",
        "realm_id": "123145",
        "refresh_token": "env:QBO_REFRESH",
        "token_url": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        "allow_writes": "false",
    }
    assert summary["psa"]["private_key"] == "********"
    assert summary["psa"]["company_id"] == "acme"
    assert "username" not in summary["psa"]
    assert summary["portal"] == {"client_admin_security_level": "6"}
    assert "sync" not in summary
    assert all(isinstance(v, str) for section in summary.values() for v in section.values())

    demo = redacted_summary(Config.default())
    assert demo["config"] == {"path": "(none)", "mode": "demo"}
    assert demo["ledger"] == {} and demo["psa"] == {}


# --------------------------------------------------------------------------- saving


def test_save_load_round_trip(tmp_path: Path) -> None:
    text = (
        LEDGER.replace('"qbo-refresh-secret-2"', '"env:QBO_REFRESH"')
        + "minor_version = 80\n"
        + CONNECTWISE
        + "[portal]\nclient_admin_security_level = 3\n"
        + '[sync]\ndefault_since = "2025-03-15"\n'
    )
    original = load_config(write(tmp_path, text))
    target = tmp_path / "sub" / "saved.toml"
    save_config(original, target)
    loaded = load_config(target)
    assert loaded == replace(original, path=target)
    assert loaded.ledger is not None
    assert loaded.ledger.refresh_token.source == "env:QBO_REFRESH"  # kept as a reference
    assert loaded.ledger.client_secret.reveal() == "qbo-very-secret-1"
    assert loaded.sync.default_since == date(2025, 3, 15)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    saved = target.read_text(encoding="utf-8")
    assert 'refresh_token = "env:QBO_REFRESH"' in saved
    assert "default_since = 2025-03-15" in saved
    assert [p.name for p in target.parent.iterdir()] == ["saved.toml"]  # no temp left


def test_save_autotask_and_demo_round_trip(tmp_path: Path) -> None:
    at = load_config(write(tmp_path, AUTOTASK))
    save_config(at, tmp_path / "at.toml")
    assert load_config(tmp_path / "at.toml") == replace(at, path=tmp_path / "at.toml")
    demo = Config.default()
    save_config(demo, tmp_path / "demo.toml")
    again = load_config(tmp_path / "demo.toml")
    assert again.is_demo and again.sync == demo.sync and again.portal == demo.portal


def test_save_replaces_and_tightens_an_existing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[portal]\nclient_admin_security_level = 2\n")
    path.chmod(0o644)
    config = load_config(path)
    new_ledger = QboLedgerConfig(
        realm_id="42",
        client_id="c",
        client_secret=Secret("s"),
        refresh_token=Secret("rotated-token"),
    )
    save_config(replace(config, ledger=new_ledger), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reloaded = load_config(path)
    assert reloaded.ledger is not None
    assert reloaded.ledger.refresh_token.reveal() == "rotated-token"
    assert reloaded.portal.client_admin_security_level == 2


def test_save_refuses_an_invalid_config(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    bad = Config(portal=cfg.PortalConfig(client_admin_security_level=9))
    with pytest.raises(ConfigError, match=r"\[portal\] client_admin_security_level"):
        save_config(bad, path)
    assert not path.exists()


def test_config_to_dict_shape() -> None:
    config = parse_config(
        {
            "ledger": {
                "realm_id": "1",
                "client_id": "c",
                "client_secret": "s",
                "refresh_token": "env:R",
            }
        }
    )
    doc = config_to_dict(config)
    assert list(doc) == ["ledger", "portal"]  # [sync] only when the file had it
    assert next(iter(doc["ledger"])) == "kind"
    assert doc["ledger"]["client_secret"] == "s"
    assert doc["ledger"]["refresh_token"] == "env:R"
    kept = parse_config({"sync": {"default_since": "2026-01-01"}})
    assert isinstance(config_to_dict(kept)["sync"]["default_since"], date)


# --------------------------------------------------------------------------- path resolution


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point platformdirs' user config dir at a temp folder."""
    home = tmp_path / "userconf"
    monkeypatch.setattr(cfg.platformdirs, "user_config_dir", lambda app: str(home / app))
    return home / "recon-tui"


def test_resolve_cli_wins(tmp_path: Path, user_dir: Path) -> None:
    cli = write(tmp_path, "", "cli.toml")
    env = write(tmp_path, "", "env.toml")
    user_dir.mkdir(parents=True)
    (user_dir / "config.toml").write_text("")
    assert resolve_config_path(str(cli), {"RECON_TUI_CONFIG": str(env)}) == cli


def test_resolve_env_second(tmp_path: Path, user_dir: Path) -> None:
    env = write(tmp_path, "", "env.toml")
    user_dir.mkdir(parents=True)
    (user_dir / "config.toml").write_text("")
    assert resolve_config_path(None, {"RECON_TUI_CONFIG": str(env)}) == env


def test_resolve_user_dir_third(user_dir: Path) -> None:
    assert resolve_config_path(None, {}) is None  # nothing anywhere: demo
    user_dir.mkdir(parents=True)
    (user_dir / "config.toml").write_text("")
    assert resolve_config_path(None, {}) == user_dir / "config.toml"
    assert resolve_config_path(None, {"RECON_TUI_CONFIG": ""}) == user_dir / "config.toml"
    assert cfg.default_config_path() == user_dir / "config.toml"


def test_resolve_named_but_missing(tmp_path: Path, user_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config_path(str(tmp_path / "gone.toml"), {})
    assert str(info.value) == f"{tmp_path / 'gone.toml'}: file not found (named by --config)"
    with pytest.raises(ConfigError) as info:
        resolve_config_path(None, {"RECON_TUI_CONFIG": str(tmp_path / "gone.toml")})
    assert (
        str(info.value) == f"{tmp_path / 'gone.toml'}: file not found (named by RECON_TUI_CONFIG)"
    )


def test_resolve_expands_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path, "", "c.toml")
    assert resolve_config_path("~/c.toml", {}) == tmp_path / "c.toml"


def test_module_has_no_textual_import() -> None:
    for module in Path(cfg.__file__).parent.glob("*.py"):
        source = module.read_text(encoding="utf-8")
        assert "import textual" not in source and "from textual" not in source, module.name


def test_unreadable_via_permission_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check as test_unreadable, for runs as root where chmod 0 does not bite."""
    path = write(tmp_path, "[sync]\n")

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: permission denied: cannot read the file"


def test_secret_refuses_pickling() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret("hunter2"))


def test_problems_are_listed_in_file_order(tmp_path: Path) -> None:
    err = error_for(tmp_path, "[extra]\nx = 1\n[sync]\ndefault_since = 'no'\n")
    assert [e.key for e in err.errors] == ["[extra]", "[sync] default_since"]


# --------------------------------------------------------------------------- allow_writes


def test_allow_writes_defaults_to_off_for_real_accounts(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, LEDGER + CONNECTWISE))
    assert config.ledger is not None and config.ledger.allow_writes is False
    assert config.psa is not None and config.psa.allow_writes is False
    example = load_config(EXAMPLE)  # documented, commented out
    assert example.ledger is not None and example.ledger.allow_writes is False
    assert example.psa is not None and example.psa.allow_writes is False


def test_allow_writes_is_read_per_system_and_survives_a_save(tmp_path: Path) -> None:
    text = LEDGER + "allow_writes = true\n" + AUTOTASK + "allow_writes = false\n"
    config = load_config(write(tmp_path, text))
    assert config.ledger is not None and config.ledger.allow_writes is True
    assert config.psa is not None and config.psa.allow_writes is False
    save_config(config, tmp_path / "saved.toml")
    saved = (tmp_path / "saved.toml").read_text(encoding="utf-8")
    assert "allow_writes = true" in saved and "allow_writes = false" in saved
    assert load_config(tmp_path / "saved.toml") == replace(config, path=tmp_path / "saved.toml")
    assert redacted_summary(config)["ledger"]["allow_writes"] == "true"


@pytest.mark.parametrize(("value", "problem"), [
    ('"yes"', 'expected true or false (unquoted), got string "yes"'),
    ('"true"', 'expected true or false (unquoted), got string "true"'),
    ("1", "expected true or false, got integer 1"),
])
def test_a_bad_allow_writes_is_one_line_naming_the_key(tmp_path: Path, value: str,
                                                        problem: str) -> None:
    error = error_for(tmp_path, LEDGER + f"allow_writes = {value}\n")
    assert str(error) == f"{tmp_path / 'config.toml'}: [ledger] allow_writes: {problem}"
    assert "\n" not in str(error)
    error = error_for(tmp_path, CONNECTWISE + f"allow_writes = {value}\n")
    assert str(error) == f"{tmp_path / 'config.toml'}: [psa] allow_writes: {problem}"


def test_allow_writes_is_editable_as_a_switch(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, LEDGER + CONNECTWISE))
    assert cfg.editable_values(config)["ledger"]["allow_writes"] == "false"
    on = cfg.with_edits(config, {"ledger": {"allow_writes": "true"}})
    assert on.ledger is not None and on.ledger.allow_writes is True
    assert on.psa is not None and on.psa.allow_writes is False
    with pytest.raises(ConfigError, match=r"\[psa\] allow_writes: expected true or false"):
        cfg.with_edits(config, {"psa": {"allow_writes": "maybe"}})


def test_write_policy_follows_the_config_and_the_demo_writes(tmp_path: Path) -> None:
    from recon_tui.workflows.write_policy import WritePolicy, WritesOff

    path = write(tmp_path, LEDGER + CONNECTWISE)
    off = WritePolicy.from_config(load_config(path), demo=False)
    assert (off.ledger, off.psa) == (False, False)
    assert off.why_off("ledger") == (f"writes to QuickBooks are off: set [ledger] allow_writes "
                                     f"= true in {path}, or do it by hand")
    assert off.why_off("psa") == (f"writes to ConnectWise are off: set [psa] allow_writes = "
                                  f"true in {path}, or do it by hand")
    with pytest.raises(WritesOff, match=r"writes to QuickBooks are off"):
        off.require("ledger")
    ledger_only = WritePolicy.from_config(
        load_config(write(tmp_path, LEDGER + "allow_writes = true\n" + AUTOTASK)), demo=False)
    assert (ledger_only.ledger, ledger_only.psa) == (True, False)
    ledger_only.require("ledger")  # allowed: no exception
    assert ledger_only.why_off("psa").startswith("writes to Autotask are off: set [psa]")
    # The demo (no accounts at all, or --demo over a real config) writes to its emulator.
    assert WritePolicy.from_config(Config.default(), demo=False).ledger is True
    demo = WritePolicy.from_config(load_config(path), demo=True)
    assert (demo.ledger, demo.psa) == (True, True)
    # No file loaded: the line names where the tech would create one.
    assert str(cfg.default_config_path()) in WritePolicy(False, False).why_off("ledger")
