"""Secrets in the OS keyring: stash_secret, keyring: references in the config, the fallback.

The keyring here is a real backend, not a mock: a small ``KeyringBackend``
subclass installed with ``keyring.set_keyring`` (the library's documented way
to plug a backend in), so every call goes through the keyring library exactly
as it would to the Keychain or the Secret Service. "No keyring" uses the
library's own ``fail`` and ``null`` backends.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.compat import properties
from keyring.errors import KeyringLocked, PasswordSetError

from recon_tui import scrub
from recon_tui.cli import main
from recon_tui.config import (
    ConfigError,
    Secret,
    load_config,
    parse_config,
    redacted_summary,
    unresolved_secrets,
)
from recon_tui.config.store import update_config
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.connectwise import ConnectWiseConnector
from recon_tui.secret_store import (
    SERVICE,
    WHERE_FILE,
    WHERE_KEYRING,
    entry_name,
    parse_reference,
    stash_secret,
    usable_backend,
)
from tests.emulator import config_file_for, running_emulator


class _NotAutoDetected:
    """Keeps the test backends out of keyring's own backend detection."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test backend: installed with keyring.set_keyring only")


class DictKeyring(_NotAutoDetected, KeyringBackend):
    """A working keyring that keeps its entries in a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.reads: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.reads.append((service, username))
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


class LockedKeyring(DictKeyring):
    """A keyring that refuses every operation, as a locked login keyring does."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("the collection is locked")


class ForgetfulKeyring(DictKeyring):
    """Accepts a value and keeps nothing (a backend with a broken store)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


@pytest.fixture
def use_keyring() -> Iterator[object]:
    """Install backends for one test and put the previous one back afterwards."""
    previous = keyring.get_keyring()
    installed: list[KeyringBackend] = []

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        installed.append(backend)
        return backend

    yield install
    keyring.set_keyring(previous)


QBO_ACCOUNT = "qbo/9130355377388446"
LEDGER_REF = """\
[ledger]
# connected with recon-tui connect qbo
realm_id = "9130355377388446"
client_id = "ABclient"
client_secret = "keyring:recon-tui/qbo/9130355377388446/client_secret"
refresh_token = "env:QBO_REFRESH"
"""


def test_stash_goes_to_the_keyring_and_the_config_holds_only_the_reference(
        tmp_path: Path, use_keyring) -> None:
    backend = use_keyring(DictKeyring())
    result = stash_secret("ledger", "client_secret", "  kr-secret-value-1 \n",
                          account=QBO_ACCOUNT)
    assert result.where == WHERE_KEYRING == "OS keyring" and result.in_keyring
    assert result.stored_form == f"keyring:{SERVICE}/qbo/9130355377388446/client_secret"
    assert backend.entries == {
        ("recon-tui", "qbo/9130355377388446/client_secret"): "kr-secret-value-1"}
    assert "kr-secret-value-1" not in repr(result)

    path = tmp_path / "config.toml"
    config = update_config(path, {"ledger": {
        "realm_id": "9130355377388446", "client_id": "ABclient",
        "client_secret": result.stored_form, "refresh_token": "env:QBO_REFRESH"}})
    text = path.read_text(encoding="utf-8")
    assert "kr-secret-value-1" not in text and result.stored_form in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    assert config.ledger is not None
    secret = config.ledger.client_secret
    assert secret.source == secret.display == result.stored_form
    assert secret.keyring_ref == result.stored_form and secret.env_var is None
    assert str(secret) == repr(secret) == f"{secret}" == "********"
    assert redacted_summary(config)["ledger"]["client_secret"] == result.stored_form
    assert secret.reveal() == "kr-secret-value-1"
    # Read from the keyring, so from then on it is scrubbed from every message.
    assert "kr-secret-value-1" not in scrub.scrub("boom: kr-secret-value-1")


def test_two_accounts_never_share_an_entry(use_keyring) -> None:
    backend = use_keyring(DictKeyring())
    one = stash_secret("ledger", "client_secret", "first", account="qbo/111")
    two = stash_secret("ledger", "client_secret", "second", account="qbo/222")
    assert one.stored_form != two.stored_form
    assert sorted(backend.entries.values()) == ["first", "second"]
    cw = stash_secret("psa", "private_key", "cw", account="connectwise/na.example.com/acme")
    assert cw.stored_form == "keyring:recon-tui/connectwise/na.example.com/acme/private_key"
    assert parse_reference(cw.stored_form) == (
        "recon-tui", "connectwise/na.example.com/acme/private_key")


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring(), LockedKeyring(),
                                     ForgetfulKeyring()],
                         ids=["fail", "null", "locked", "forgetful"])
def test_without_a_usable_keyring_the_value_goes_inline_in_the_0600_file(
        tmp_path: Path, use_keyring, backend: KeyringBackend) -> None:
    use_keyring(backend)
    result = stash_secret("psa", "private_key", "cw-inline-secret-2",
                          account="connectwise/na.example.com/acme")
    assert result.where == WHERE_FILE == "config file (0600)" and not result.in_keyring
    assert result.stored_form == "cw-inline-secret-2"
    assert "cw-inline-secret-2" not in repr(result)
    path = tmp_path / "deep" / "config.toml"
    config = update_config(path, {"psa": {
        "kind": "connectwise",
        "base_url": "https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
        "company_id": "acme", "public_key": "pub", "private_key": result.stored_form,
        "client_id": "11111111-2222-3333-4444-555555555555"}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert config.psa is not None and config.psa.private_key is not None
    assert config.psa.private_key.source == "inline"
    assert config.psa.private_key.reveal() == "cw-inline-secret-2"


def test_usable_backend_tells_real_from_none(use_keyring) -> None:
    for backend in (fail.Keyring(), null.Keyring()):
        use_keyring(backend)
        assert usable_backend() is None
    working = use_keyring(DictKeyring())
    assert usable_backend() is working


def test_stash_refuses_what_is_not_a_secret(use_keyring) -> None:
    use_keyring(DictKeyring())
    with pytest.raises(ValueError, match=r"\[ledger\] realm_id is not a secret"):
        stash_secret("ledger", "realm_id", "123", account=QBO_ACCOUNT)
    with pytest.raises(ValueError, match="must not be empty"):
        stash_secret("ledger", "client_secret", "   ", account=QBO_ACCOUNT)
    with pytest.raises(ValueError, match="letters, digits"):
        stash_secret("ledger", "client_secret", "x", account="qbo/has space")
    with pytest.raises(ValueError):
        entry_name("qbo//1", "client_secret")


def test_a_missing_entry_is_one_line_naming_the_key_and_the_reference(
        tmp_path: Path, use_keyring) -> None:
    use_keyring(DictKeyring())
    path = tmp_path / "config.toml"
    path.write_text(LEDGER_REF, encoding="utf-8")
    config = load_config(path)  # loading never touches the keyring
    assert config.ledger is not None
    with pytest.raises(ConfigError) as info:
        config.ledger.client_secret.reveal()
    line = str(info.value)
    assert line == (f"{path}: [ledger] client_secret: "
                    "keyring:recon-tui/qbo/9130355377388446/client_secret is not in the OS "
                    "keyring (run recon-tui connect again, or put the value in the file)")
    assert "\n" not in line
    problems = unresolved_secrets(config, environ={"QBO_REFRESH": "r"})
    assert [p.key for p in problems] == ["[ledger] client_secret"]


@pytest.mark.parametrize(("backend", "problem"), [
    (fail.Keyring(), "no OS keyring is available on this machine"),
    (LockedKeyring(), "the OS keyring refused the read (KeyringLocked)"),
], ids=["no-keyring", "locked"])
def test_no_keyring_at_reveal_is_one_line(tmp_path: Path, use_keyring,
                                          backend: KeyringBackend, problem: str) -> None:
    use_keyring(backend)
    path = tmp_path / "config.toml"
    path.write_text(LEDGER_REF, encoding="utf-8")
    config = load_config(path)
    assert config.ledger is not None
    with pytest.raises(ConfigError) as info:
        config.ledger.client_secret.reveal()
    assert str(info.value) == (f"{path}: [ledger] client_secret: cannot read "
                               f"keyring:recon-tui/qbo/9130355377388446/client_secret: {problem}")


@pytest.mark.parametrize("raw", ["keyring:", "keyring:recon-tui", "keyring:recon-tui/",
                                 "keyring:/name", "keyring:recon-tui/a b",
                                 "keyring:recon-tui//x"])
def test_the_parser_refuses_a_malformed_reference(raw: str) -> None:
    doc = {"ledger": {"realm_id": "1", "client_id": "c", "client_secret": raw,
                      "refresh_token": "r"}}
    with pytest.raises(ConfigError) as info:
        parse_config(doc)
    assert str(info.value).startswith(
        '[ledger] client_secret: expected "keyring:SERVICE/NAME"')


def test_env_references_are_unchanged() -> None:
    secret = Secret("env:QBO_SECRET", key="[ledger] client_secret")
    assert secret.source == secret.display == "env:QBO_SECRET"
    assert secret.keyring_ref is None
    assert secret.reveal({"QBO_SECRET": " v "}) == "v"
    with pytest.raises(ConfigError, match="environment variable QBO_SECRET is not set"):
        secret.reveal({})


def test_a_connector_authenticates_with_a_key_from_the_keyring(
        tmp_path: Path, use_keyring) -> None:
    """End to end: the ConnectWise private key lives only in the keyring, the
    connector reveals it per request, and the emulator accepts it."""
    backend = use_keyring(DictKeyring())
    stashed = stash_secret("psa", "private_key", "sandbox-private",
                           account="connectwise/127.0.0.1/sandbox")
    assert stashed.in_keyring
    with running_emulator() as (server, _book, _faults):
        path = config_file_for(server, tmp_path, private_key=stashed.stored_form)
        assert "sandbox-private" not in path.read_text(encoding="utf-8")
        config = load_config(path)
        assert config.psa is not None
        with ConnectWiseConnector(config.psa) as connector:
            assert any(True for _ in connector.companies())
        reads = len(backend.reads)
        with ConnectWiseConnector(config.psa) as connector:
            assert any(True for _ in connector.contacts())
        assert len(backend.reads) == reads  # read once per run, not once per request
        # A wrong key stored again (a new connect) is refused by the server, as a
        # wrong inline key is.
        assert stash_secret("psa", "private_key", "nope",
                            account="connectwise/127.0.0.1/sandbox").in_keyring
        with ConnectWiseConnector(config.psa) as connector, \
                pytest.raises(ConnectorError, match="HTTP 401") as info:
            next(iter(connector.companies()))
        assert "nope" not in str(info.value)


def test_cli_sync_with_a_missing_keyring_entry_is_one_line(
        tmp_path: Path, use_keyring, capsys: pytest.CaptureFixture[str]) -> None:
    use_keyring(DictKeyring())  # empty: the entry the config names is not there
    ref = "keyring:recon-tui/connectwise/127.0.0.1/sandbox/private_key"
    with running_emulator() as (server, _book, _faults):
        config = config_file_for(server, tmp_path, private_key=ref)
        status = main(["sync", "--config", str(config), "--db", str(tmp_path / "c.db")])
    captured = capsys.readouterr()
    assert status == 2
    assert (captured.out + captured.err).strip() == (
        f"recon-tui: {config}: [psa] private_key: {ref} is not in the OS keyring "
        "(run recon-tui connect again, or put the value in the file)")
