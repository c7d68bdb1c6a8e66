"""update_config and save_config: edit the user's TOML in place, keep what they wrote."""

from __future__ import annotations

import difflib
import os
import stat
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from recon_tui.config import ConfigError, Secret, load_config, save_config, with_edits
from recon_tui.config.store import changes_between, update_config
from recon_tui.tui.screens.settings import SettingsScreen, field_id
from tests.emulator import EXAMPLE_CONFIG, config_file_for, running_emulator
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app

# Comments everywhere, blank lines, odd spacing, a literal string, an unquoted
# realm id, keys out of the schema's order, a trailing comment at the end.
HAND_WRITTEN = """\
# my recon-tui config   (do not lose this line)

[ledger]
# the production company
realm_id    =   9130355377388446     # unquoted, as Intuit shows it
client_id = 'AB-literal'
client_secret = "inline-secret-1"  # rotate in March
refresh_token = "env:QBO_REFRESH"


minor_version = 75

[portal]
client_admin_security_level = 6 # ConnectBooster default

# the end
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def changed_lines(before: str, after: str) -> list[str]:
    """The +/- lines of a diff, without headers."""
    return [line.rstrip("\n") for line in difflib.unified_diff(
        before.splitlines(True), after.splitlines(True), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_one_changed_key_changes_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    config = update_config(path, {"portal": {"client_admin_security_level": 3}})
    after = path.read_text(encoding="utf-8")
    assert after == HAND_WRITTEN.replace("= 6 # Conn", "= 3 # Conn")
    assert config.portal.client_admin_security_level == 3
    assert config.path == path
    assert load_config(path) == config


def test_set_remove_and_add_keep_comments_blank_lines_and_order(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    update_config(path, {
        "ledger": {"client_secret": Secret("keyring:recon-tui/qbo/9130355377388446/client_secret"),
                   "minor_version": None, "allow_writes": True},
        "sync": {"max_delete_percent": 20},
    })
    # The removal runs first, so the new key follows the last one left; the
    # blank lines around the removed key stay as they were.
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN.replace(
        'client_secret = "inline-secret-1"',
        'client_secret = "keyring:recon-tui/qbo/9130355377388446/client_secret"',
    ).replace(
        'refresh_token = "env:QBO_REFRESH"\n', 'refresh_token = "env:QBO_REFRESH"\n'
        "allow_writes = true\n",
    ).replace("minor_version = 75\n", "") + "\n[sync]\nmax_delete_percent = 20\n"
    config = load_config(path)
    assert config.ledger is not None and config.ledger.allow_writes is True
    assert config.ledger.client_secret.source.startswith("keyring:recon-tui/")
    assert config.sync.max_delete_percent == 20


def test_a_new_key_goes_under_its_commented_template_not_under_the_next_section(
        tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    before = path.read_text(encoding="utf-8")
    update_config(path, {"ledger": {"allow_writes": True},
                         "psa": {"ledger_link_field": "QBO Id"}})
    after = path.read_text(encoding="utf-8")
    assert changed_lines(before, after) == ["+allow_writes = true",
                                            '+ledger_link_field = "QBO Id"']
    assert "# allow_writes = true\nallow_writes = true\n\n\n# ---" in after
    assert '# ledger_link_field = "Ledger Invoice Id"\nledger_link_field = "QBO Id"\n' in after


def test_removing_the_last_key_removes_the_section(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN + '[sync]\nmax_delete_percent = 9\n')
    update_config(path, {"sync": {"max_delete_percent": None}})
    assert "[sync]" not in path.read_text(encoding="utf-8")
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN


def test_creates_the_file_0600_and_new_folders_0700(tmp_path: Path) -> None:
    existing = tmp_path / "home"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    path = existing / "a" / "b" / "config.toml"
    config = update_config(path, {"portal": {"client_admin_security_level": 4}})
    assert config.portal.client_admin_security_level == 4
    assert path.read_text(encoding="utf-8") == "[portal]\nclient_admin_security_level = 4\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((existing / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((existing / "a" / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755  # not ours: left alone


def test_an_existing_file_is_tightened_to_0600_and_replaced_by_rename(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    path.chmod(0o644)
    inode = path.stat().st_ino
    update_config(path, {"ledger": {"client_id": "new-client"}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no temp left


@pytest.mark.parametrize(("changes", "message"), [
    ({"portal": {"client_admin_security_level": 9}},
     r"\[portal\] client_admin_security_level: expected an integer from 1 to 6, got 9"),
    ({"ledger": {"realm_id": None}}, r'\[ledger\] realm_id: missing'),
    ({"ledger": {"colour": "blue"}}, r"\[ledger\] colour: unknown key 'colour'"),
    ({"psa": {"kind": "halo"}}, r'\[psa\] kind: expected one of'),
    ({"ledger": {"client_secret": "keyring:bad"}}, r'expected "keyring:SERVICE/NAME"'),
    ({"ledger": {"minor_version": 1.5}}, r"cannot write a float value"),
])
def test_a_change_that_would_not_load_is_refused_and_the_file_untouched(
        tmp_path: Path, changes: dict, message: str) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    before = path.stat()
    with pytest.raises(ConfigError, match=message) as info:
        update_config(path, changes)
    assert "inline-secret-1" not in str(info.value)
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_emptying_the_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[portal]\nclient_admin_security_level = 2\n")
    with pytest.raises(ConfigError, match="would leave no settings"):
        update_config(path, {"portal": {"client_admin_security_level": None}})
    assert path.read_text(encoding="utf-8") == "[portal]\nclient_admin_security_level = 2\n"


@pytest.mark.parametrize("text", ["[ledger\nrealm_id = 1\n", 'a = "unterminated\n',
                                  "[portal]\nx = 1\nx = 2\n"])
def test_a_file_that_is_not_toml_is_refused_untouched(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"invalid TOML: .*nothing was changed") as info:
        update_config(path, {"portal": {"client_admin_security_level": 2}})
    assert str(info.value).startswith(f"{path}: invalid TOML")
    assert path.read_text(encoding="utf-8") == text


def test_a_value_in_place_of_a_section_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, 'portal = 3\n')
    with pytest.raises(ConfigError, match=r"\[portal\]: is a value in the file, not a section"):
        update_config(path, {"portal": {"client_admin_security_level": 2}})


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    """Atomic: the write fails part-way (a file-size limit, EFBIG), the old file
    is intact and no temp file lingers. In a child process, so the limit does
    not touch the test runner."""
    path = write(tmp_path, HAND_WRITTEN)
    code = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        from recon_tui.config.store import update_config
        from recon_tui.config import ConfigError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
        try:
            update_config(Path({str(path)!r}), {{"ledger": {{"client_id": "x" * 200}}}})
        except ConfigError as exc:
            print(exc)
            sys.exit(3)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], timeout=60, check=False)
    assert result.returncode == 3, result.stderr
    assert result.stdout.strip() == f"{path}: cannot write the file: File too large"
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_a_windows_file_keeps_crlf_and_loses_only_the_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf# mine\r\n[portal]\r\nclient_admin_security_level = 6 # x\r\n")
    update_config(path, {"portal": {"client_admin_security_level": 2},
                         "ledger": {"realm_id": "1", "client_id": 'a"b\\c\u00e9',
                                    "client_secret": "s'\"", "refresh_token": "r"}})
    assert path.read_bytes() == (
        b"# mine\r\n[portal]\r\nclient_admin_security_level = 2 # x\r\n\r\n[ledger]\r\n"
        b'realm_id = "1"\r\nclient_id = "a\\"b\\\\c\xc3\xa9"\r\n'
        b'client_secret = "s\'\\""\r\nrefresh_token = "r"\r\n')
    config = load_config(path)
    assert config.ledger is not None and config.ledger.client_id == 'a"b\\c\u00e9'
    assert config.ledger.client_secret.reveal() == "s'\""


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    real = write(tmp_path, HAND_WRITTEN, "real.toml")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    update_config(link, {"ledger": {"client_id": "linked"}})
    assert link.is_symlink()
    # The value, whichever quotes tomlkit keeps (0.15.3 keeps the user's literal
    # 'string' style, 0.15.2 wrote a basic "string").
    assert tomllib.loads(real.read_text(encoding="utf-8"))["ledger"]["client_id"] == "linked"


# --------------------------------------------------------------------------- save_config


def test_save_config_touches_only_the_keys_that_changed(tmp_path: Path) -> None:
    path = write(tmp_path, HAND_WRITTEN)
    config = load_config(path)
    edited = with_edits(config, {"portal": {"client_admin_security_level": "2"},
                                 "ledger": {"client_id": "AB-literal",  # unchanged
                                            "realm_id": "9130355377388446",  # same value
                                            "base_url": "https://q.example.com/"}})  # new
    save_config(edited, path)
    after = path.read_text(encoding="utf-8")
    assert changed_lines(HAND_WRITTEN, after) == [
        '+base_url = "https://q.example.com"',
        "-client_admin_security_level = 6 # ConnectBooster default",
        "+client_admin_security_level = 2 # ConnectBooster default",
    ]
    assert load_config(path) == edited


def test_save_config_of_the_same_config_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    save_config(load_config(path), path)
    assert path.read_text(encoding="utf-8") == EXAMPLE_CONFIG.read_text(encoding="utf-8")


def test_save_config_over_a_file_that_does_not_load_today(tmp_path: Path) -> None:
    path = write(tmp_path, "# keep me\n[portal]\nclient_admin_security_level = 6\n"
                           "[extra]\nx = 1\n")
    with pytest.raises(ConfigError):
        load_config(path)
    fixed = load_config(write(tmp_path, "[portal]\nclient_admin_security_level = 3\n",
                              "other.toml"))
    save_config(fixed, path)
    assert path.read_text(encoding="utf-8") == (
        "# keep me\n[portal]\nclient_admin_security_level = 3\n")


def test_save_config_still_writes_a_new_file(tmp_path: Path) -> None:
    source = load_config(write(tmp_path, HAND_WRITTEN))
    target = tmp_path / "new" / "config.toml"
    save_config(source, target)
    assert load_config(target).ledger == source.ledger
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


async def test_the_settings_screen_keeps_the_users_comments(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        path = config_file_for(server, tmp_path)
        before = path.read_text(encoding="utf-8")
        app = recon_app(config=load_config(path), cache_path=tmp_path / "c.db", demo=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("comma")
            await pilot.pause()
            assert isinstance(app.screen, SettingsScreen)
            level = app.screen.query_one(f"#{field_id('portal', 'client_admin_security_level')}")
            level.value = "3"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "Saved to" in screen_text(app)
    after = path.read_text(encoding="utf-8")
    assert changed_lines(before, after) == ["-client_admin_security_level = 6",
                                            "+client_admin_security_level = 3"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.path.getsize(path) == len(after.encode("utf-8"))


def test_changes_between_sets_differences_and_removes_what_went() -> None:
    old = {"ledger": {"a": 1, "b": 2}, "gone": {"x": 1}}
    new = {"ledger": {"a": 1, "b": 3, "c": 4}, "sync": {"d": 5}}
    assert changes_between(old, new) == {
        "ledger": {"b": 3, "c": 4}, "gone": {"x": None}, "sync": {"d": 5}}
