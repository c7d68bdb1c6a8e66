"""``[ledger] kind = "qbd"``: QuickBooks Desktop through the Web Connector.

Loading, each bad value's one line, the secret forms of ``qbwc_password``, and a
settings save of the example's Desktop section that keeps every comment.
"""

from __future__ import annotations

import difflib
import textwrap
from pathlib import Path

import pytest

from recon_tui.config import (
    ConfigError,
    QbdLedgerConfig,
    QboLedgerConfig,
    Secret,
    config_to_dict,
    editable_values,
    load_config,
    redacted_summary,
    save_config,
    with_edits,
)
from recon_tui.config.model import DEFAULT_QBWC_LISTEN

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
GUID = "{5C1E3B2A-9D4F-4E6A-8B7C-0D1E2F3A4B5C}"
QBD = """\
[ledger]
kind = "qbd"
qbwc_username = "recon"
qbwc_password = "qbwc-pass-secret-9"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    err = info.value
    assert "\n" not in str(err) and "qbwc-pass-secret-9" not in str(err)
    return err


def test_a_desktop_ledger_loads_with_its_defaults(tmp_path: Path) -> None:
    ledger = load_config(write(tmp_path, QBD)).ledger
    assert isinstance(ledger, QbdLedgerConfig)
    assert ledger.kind == "qbd"
    assert ledger.qbwc_username == "recon"
    assert ledger.qbwc_password.reveal() == "qbwc-pass-secret-9"
    assert ledger.listen == DEFAULT_QBWC_LISTEN == "http://localhost:8080/qbwc"
    assert ledger.company_file == ""
    assert ledger.owner_id is None and ledger.file_id is None
    assert ledger.allow_writes is False


def test_every_desktop_key_loads(tmp_path: Path) -> None:
    text = QBD + textwrap.dedent(f"""\
        listen = "https://qbwc.example.com/qbwc/"
        company_file = 'C:\\Company Files\\acme.qbw'
        owner_id = "{GUID}"
        file_id = "{GUID.lower()}"
        allow_writes = true
        """)
    ledger = load_config(write(tmp_path, text)).ledger
    assert ledger == QbdLedgerConfig(
        qbwc_username="recon", qbwc_password=Secret("qbwc-pass-secret-9"),
        listen="https://qbwc.example.com/qbwc", company_file="C:\\Company Files\\acme.qbw",
        owner_id=GUID, file_id=GUID.lower(), allow_writes=True)


@pytest.mark.parametrize("password", ["env:QBWC_PASSWORD", "keyring:recon-tui/qbwc/password"])
def test_the_password_takes_the_same_secret_forms(tmp_path: Path, password: str) -> None:
    text = QBD.replace('"qbwc-pass-secret-9"', f'"{password}"')
    ledger = load_config(write(tmp_path, text)).ledger
    assert isinstance(ledger, QbdLedgerConfig)
    assert ledger.qbwc_password.source == password
    assert str(ledger.qbwc_password) == "********"


@pytest.mark.parametrize("url", ["http://localhost:8080/qbwc", "http://127.0.0.1:9000/qbwc",
                                 "http://127.8.0.1/qbwc", "http://[::1]:8080/qbwc",
                                 "https://books.example.com/qbwc"])
def test_plain_http_is_accepted_on_this_computer_only(tmp_path: Path, url: str) -> None:
    ledger = load_config(write(tmp_path, QBD + f'listen = "{url}"\n')).ledger
    assert isinstance(ledger, QbdLedgerConfig) and ledger.listen == url


@pytest.mark.parametrize(("line", "key", "problem"), [
    ('listen = "http://books.example.com/qbwc"', "[ledger] listen",
     'expected https:// unless the host is this computer (localhost, 127.0.0.1 or ::1), '
     'got "http://books.example.com/qbwc"'),
    ('listen = "http://192.168.1.20:8080/qbwc"', "[ledger] listen",
     'expected https:// unless the host is this computer (localhost, 127.0.0.1 or ::1), '
     'got "http://192.168.1.20:8080/qbwc"'),
    ('listen = "localhost:8080"', "[ledger] listen",
     'expected a URL starting with http:// or https://, got "localhost:8080"'),
    ('owner_id = "5C1E3B2A-9D4F-4E6A-8B7C-0D1E2F3A4B5C"', "[ledger] owner_id",
     "expected a GUID in braces like {00000000-0000-0000-0000-000000000000} "
     '(recon-tui qbwc qwc writes it), got "5C1E3B2A-9D4F-4E6A-8B7C-0D1E2F3A4B5C"'),
    ('file_id = "{not-a-guid}"', "[ledger] file_id",
     "expected a GUID in braces like {00000000-0000-0000-0000-000000000000} "
     '(recon-tui qbwc qwc writes it), got "{not-a-guid}"'),
    ("company_file = 3", "[ledger] company_file", "expected a string, got integer 3"),
    ("allow_writes = \"yes\"", "[ledger] allow_writes",
     'expected true or false (unquoted), got string "yes"'),
    ('realm_id = "123"', "[ledger] realm_id",
     'only applies when kind = "qbo" (this section has kind = "qbd")'),
    ('qbwc_user = "x"', "[ledger] qbwc_user", "unknown key 'qbwc_user' (did you mean "
     "'qbwc_username'?)"),
])
def test_each_bad_value_is_one_line(tmp_path: Path, line: str, key: str, problem: str) -> None:
    err = error_for(tmp_path, QBD + line + "\n")
    assert (err.key, err.problem) == (key, problem)
    assert len(err.errors) == 1


@pytest.mark.parametrize(("value", "problem"), [
    ('"env:1BAD"', 'expected "env:VAR_NAME" with a valid environment variable name '
     "(letters, digits and _)"),
    ('"keyring:nope"', 'expected "keyring:SERVICE/NAME" (like keyring:recon-tui/qbo/123/'
     "client_secret; letters, digits and ._@:+- in each part)"),
    ('"  "', "must not be empty"),
    ("42", "expected a string, got integer"),
])
def test_a_bad_password_form_is_one_line_without_its_value(tmp_path: Path, value: str,
                                                           problem: str) -> None:
    err = error_for(tmp_path, QBD.replace('"qbwc-pass-secret-9"', value))
    assert (err.key, err.problem) == ("[ledger] qbwc_password", problem)


@pytest.mark.parametrize("name", ["qbwc_username", "qbwc_password"])
def test_the_credentials_are_required(tmp_path: Path, name: str) -> None:
    text = "\n".join(line for line in QBD.splitlines() if not line.startswith(name))
    err = error_for(tmp_path, text + "\n")
    assert (err.key, err.problem) == (f"[ledger] {name}", 'missing (required when kind = "qbd")')


def test_a_desktop_key_in_an_online_ledger_is_named(tmp_path: Path) -> None:
    online = ('[ledger]\nrealm_id = "1"\nclient_id = "c"\nclient_secret = "s"\n'
              'refresh_token = "r"\nlisten = "http://localhost:8080/qbwc"\n')
    err = error_for(tmp_path, online)  # no kind: the default, "qbo"
    assert (err.key, err.problem) == (
        "[ledger] listen", 'only applies when kind = "qbd" (this section has kind = "qbo")')
    assert isinstance(load_config(write(tmp_path, online.rsplit("listen", 1)[0])).ledger,
                      QboLedgerConfig)


def test_the_password_is_masked_and_saved_in_its_stored_form(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, QBD))
    assert redacted_summary(config)["ledger"]["qbwc_password"] == "********"
    assert "qbwc_password" not in editable_values(config)["ledger"]  # secrets never
    assert config_to_dict(config)["ledger"] == {
        "kind": "qbd", "qbwc_username": "recon", "qbwc_password": "qbwc-pass-secret-9",
        "listen": DEFAULT_QBWC_LISTEN, "company_file": "", "allow_writes": False}


def _desktop_example(tmp_path: Path) -> Path:
    """config.example.toml with its QuickBooks Online [ledger] swapped for the
    commented Desktop one, uncommented (comments become plain comments)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    head, rest = text.split("\n[ledger]\n", 1)
    _online, tail = rest.split("# [ledger]\n", 1)
    desktop, after = tail.split("\n\n\n", 1)
    uncommented = "\n".join(line[2:] if line.startswith("# ") else line
                            for line in desktop.splitlines())
    path = tmp_path / "config.toml"
    path.write_text(head + "\n[ledger]\n" + uncommented + "\n\n\n" + after, encoding="utf-8")
    return path


def test_the_example_documents_a_desktop_ledger_that_loads(tmp_path: Path) -> None:
    ledger = load_config(_desktop_example(tmp_path)).ledger
    assert isinstance(ledger, QbdLedgerConfig)
    assert ledger.qbwc_password.source == "env:QBWC_PASSWORD"
    assert ledger.company_file.endswith("\\acme.qbw")
    assert ledger.owner_id == ledger.file_id == "{00000000-0000-0000-0000-000000000000}"


@pytest.mark.parametrize(("key", "value"), [
    ("qbwc_username", "someone-else"), ("listen", "https://qbwc.example.com/qbwc"),
    ("company_file", "D:\\books.qbw"), ("allow_writes", "true")])
def test_a_settings_save_of_a_desktop_ledger_changes_only_that_line(
    tmp_path: Path, key: str, value: str
) -> None:
    path = _desktop_example(tmp_path)
    before = path.read_text(encoding="utf-8")
    config = load_config(path)
    edits = editable_values(config)
    assert set(edits["ledger"]) == {"qbwc_username", "listen", "company_file", "allow_writes"}
    edits["ledger"][key] = value
    save_config(with_edits(config, edits), path)
    after = path.read_text(encoding="utf-8")
    changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                     n=0, lineterm="")
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert len(changed) == 2 and changed[0].startswith(f"-{key} = "), changed
    assert changed[1].startswith(f"+{key} = ") and value.split("\\")[-1] in changed[1]
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert [line for line in after.splitlines() if line.lstrip().startswith("#")] == comments
    assert editable_values(load_config(path))["ledger"][key] == value


def test_switching_a_desktop_ledger_to_online_drops_the_desktop_keys(tmp_path: Path) -> None:
    """What `recon-tui connect qbo` writes into a file whose [ledger] is Desktop."""
    from recon_tui.config.schema import keys_of_other_kinds
    from recon_tui.config.store import update_config

    path = write(tmp_path, "# my books\n" + QBD + f'owner_id = "{GUID}"\n')
    config = update_config(path, {"ledger": {
        **dict.fromkeys(keys_of_other_kinds("ledger", "qbo")), "kind": "qbo",
        "realm_id": "123", "client_id": "c", "client_secret": "s", "refresh_token": "r"}})
    assert isinstance(config.ledger, QboLedgerConfig) and config.ledger.realm_id == "123"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my books\n") and "qbwc" not in text and "owner_id" not in text
