"""The settings screen: edit, validate, save atomically, take effect at once."""

from __future__ import annotations

import stat
from pathlib import Path

from recon_tui.config import load_config
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.settings import SettingsScreen, field_id
from tests.emulator import config_file_for, running_emulator
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app
from tests.waits import wait_until


async def test_settings_save_validate_and_apply(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan):
        path = config_file_for(server, tmp_path)
        before = path.read_text(encoding="utf-8")
        app = recon_app(config=load_config(path), cache_path=tmp_path / "c.db", demo=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("comma")
            await pilot.pause()
            assert isinstance(app.screen, SettingsScreen)
            text = screen_text(app)
            assert "sandbox-private" not in text and "sandbox-secret" not in text
            assert "********" in text
            level = app.screen.query_one(f"#{field_id('portal', 'client_admin_security_level')}")
            level.value = "high"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "client_admin_security_level: expected an integer" in screen_text(app)
            assert path.read_text(encoding="utf-8") == before  # nothing written
            level.value = "2"
            url = app.screen.query_one(f"#{field_id('ledger', 'base_url')}")
            url.value = server.url + "/"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "Saved to" in screen_text(app)
            saved = load_config(path)
            assert saved.portal.client_admin_security_level == 2
            assert saved.ledger.client_secret.reveal() == "sandbox-secret"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert app.config.portal.client_admin_security_level == 2
            # In effect at once: sync with the saved endpoints, then a client screen
            # judges contacts against level 2.
            await pilot.press("escape", "s")
            await pilot.pause()
            await pilot.press("enter")
            await wait_until(pilot, lambda: getattr(app.screen, "run", None) is not None)
            assert app.screen.run.status.value == "succeeded"
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("slash", *"pinecrest", "enter", "enter")
            await pilot.pause()
            assert isinstance(app.screen, ClientDetailScreen)
            assert "portal level 2+ can see invoices" in screen_text(app)


async def test_allow_writes_is_a_switch_per_system_saved_and_in_effect(tmp_path: Path) -> None:
    from textual.widgets import Checkbox, Label

    from recon_tui.workflows.write_policy import WritePolicy

    with running_emulator() as (server, _book, _plan):
        path = config_file_for(server, tmp_path)
        app = recon_app(config=load_config(path), cache_path=tmp_path / "c.db", demo=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("comma")
            await pilot.pause()
            assert isinstance(app.screen, SettingsScreen)
            labels = [str(label.content) for label in app.screen.query(Label)]
            assert any(t.startswith("Allow writes to QuickBooks") for t in labels)
            assert any(t.startswith("Allow writes to the PSA") for t in labels)
            ledger = app.screen.query_one(f"#{field_id('ledger', 'allow_writes')}", Checkbox)
            psa = app.screen.query_one(f"#{field_id('psa', 'allow_writes')}", Checkbox)
            assert (ledger.value, psa.value) == (False, False)  # off unless the file says so
            assert not WritePolicy.from_config(app.config, demo=False).ledger
            ledger.value = True
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "Saved to" in screen_text(app)
            saved = load_config(path)
            assert saved.ledger.allow_writes is True and saved.psa.allow_writes is False
            assert "allow_writes = true" in path.read_text(encoding="utf-8")
            policy = WritePolicy.from_config(app.config, demo=False)
            assert (policy.ledger, policy.psa) == (True, False)  # in effect at once


async def test_a_desktop_ledger_shows_its_own_fields_and_saves_them(tmp_path: Path) -> None:
    """[ledger] kind = "qbd": the heading names QuickBooks Desktop, the fields are the
    Desktop keys the model marks editable, the password is masked, a bad listen URL is
    refused in one line and a good one saved with the file's comments kept."""
    path = tmp_path / "config.toml"
    path.write_text(
        "# Desktop books\n[ledger]\nkind = \"qbd\"\n# who the Web Connector logs in as\n"
        "qbwc_username = \"recon\"\nqbwc_password = \"qbwc-pass-secret-9\"\n\n"
        "[psa]\nkind = \"connectwise\"\n"
        "base_url = \"http://127.0.0.1:9/v4_6_release/apis/3.0\"\ncompany_id = \"acme\"\n"
        "public_key = \"pub\"\nprivate_key = \"cw-private\"\n"
        "client_id = \"00000000-0000-0000-0000-000000000000\"\n", encoding="utf-8")
    app = recon_app(config=load_config(path), cache_path=tmp_path / "c.db", demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("comma")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        text = screen_text(app)
        assert "Ledger (QuickBooks Desktop)" in text and "PSA (ConnectWise PSA)" in text
        assert "qbwc-pass-secret-9" not in text and "qbwc_password (secret)" in text
        assert not app.screen.query(f"#{field_id('ledger', 'realm_id')}")
        listen = app.screen.query_one(f"#{field_id('ledger', 'listen')}")
        assert listen.value == "http://localhost:8080/qbwc"
        listen.value = "http://books.example.com/qbwc"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "[ledger] listen: expected https:// unless the host is this computer" in (
            screen_text(app))
        listen.value = "https://books.example.com/qbwc"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Saved to" in screen_text(app)
    saved = path.read_text(encoding="utf-8")
    assert saved.startswith("# Desktop books\n")
    assert "# who the Web Connector logs in as\nqbwc_username" in saved
    assert load_config(path).ledger.listen == "https://books.example.com/qbwc"
