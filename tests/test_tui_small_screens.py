"""80x24 on the demo book: the keys the footer promises are there and work (help
and quit on dialogs and on screens whose field types ``?`` and ``q``), a path on
a line of its own keeps both its ends, the connect screen shows where the PSA
form is, and a client's invoices keep most of the screen."""

from __future__ import annotations

from rich.cells import cell_len

from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.connect import ConnectScreen
from recon_tui.tui.screens.doctor import DoctorScreen
from recon_tui.tui.screens.help import HelpScreen
from recon_tui.tui.screens.mapper import MapperScreen
from recon_tui.tui.screens.settings import SettingsScreen
from recon_tui.tui.screens.welcome import WelcomeScreen
from recon_tui.tui.screens.why import WhyScreen
from recon_tui.tui.widgets.path_line import middle_ellipsis
from tests.snapshot_support import WELCOME_CONFIG, settle
from tests.test_tui import screen_text
from tests.waits import wait_until

SMALL = (80, 24)


def footer(app) -> str:
    return screen_text(app).splitlines()[-1]


async def help_and_back(pilot, app, key: str, says: str, back_to: type) -> None:
    """``key`` opens help on this screen's keys (``says`` among them); Escape
    comes back to the ``back_to`` screen."""
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
    assert says in screen_text(app)
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, back_to))


def test_middle_ellipsis_keeps_both_ends() -> None:
    path = "/tmp/recon-tui-snapshots/test_dialog-settings/xdg-config/recon-tui/config.toml"
    assert middle_ellipsis(path, 200) == path
    short = middle_ellipsis(path, 40)
    assert len(short) == 40 and short.startswith("/tmp/recon") and "…" in short
    assert short.endswith("/config.toml")
    wide = middle_ellipsis("東京テック株式会社/config.toml", 20)  # two cells a character
    assert cell_len(wide) <= 20 and wide.startswith("東京") and wide.endswith("fig.toml")
    assert middle_ellipsis(path, 1) == "…" and middle_ellipsis(path, 0) == ""


async def test_the_doctor_dialog_has_help_and_quit(snapshot_app) -> None:
    app = snapshot_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, DoctorScreen))
        await wait_until(pilot, lambda: app.screen.done, 1800)
        await settle(pilot)
        line = footer(app)
        assert "r Run again" in line and line.rstrip().endswith("? Help q Quit"), line
        await help_and_back(pilot, app, "question_mark", "Run again", DoctorScreen)
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None)


async def test_typing_screens_offer_f1_and_ctrl_q_and_type_q(snapshot_app) -> None:
    app = snapshot_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("comma")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await settle(pilot)
        assert "F1 Help ^q Quit" in footer(app), footer(app)
        text = screen_text(app)
        path_line = next(line for line in text.splitlines() if "ctrl+s saves them to" in line)
        assert path_line.rstrip().endswith("recon-tui/config.toml") and "…" in path_line
        focused = app.screen.focused
        await pilot.press("q")  # replaces the selected value: q is typed, not quit
        assert focused.value == "q" and app.return_code is None
        await help_and_back(pilot, app, "f1", "Save", SettingsScreen)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: app.return_code is not None)


async def test_the_mapper_keeps_its_keys_and_question_mark_opens_help(snapshot_app) -> None:
    app = snapshot_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, MapperScreen))
        await settle(pilot)
        line = footer(app)
        for label in ("⏎ Map to highlighted", "^k Skip customer", "^z Undo last",
                      "? Help", "^q Quit"):
            assert label in line, line
        await pilot.press("q")
        assert app.screen.query_one("#mapper-search").value == "q"  # q is typed
        await help_and_back(pilot, app, "question_mark", "Next candidate", MapperScreen)
        assert app.screen.query_one("#mapper-search").value == "q"  # ? was not typed


async def test_connect_shows_the_psa_section_on_the_first_screenful(snapshot_app) -> None:
    app = snapshot_app(welcome=WELCOME_CONFIG)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectScreen))
        await settle(pilot)
        text = screen_text(app)
        assert "the PSA further down" in " ".join(text.split()) and "2. The PSA" in text
        assert "F1 Help ^q Quit" in footer(app)


async def test_a_client_keeps_eleven_invoice_rows_at_80x24(snapshot_app) -> None:
    app = snapshot_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ClientDetailScreen))
        await settle(pilot)
        table = app.screen.query_one("#invoices")
        assert table.size.height >= 12  # the header and eleven rows
        text = screen_text(app)
        assert "Organizational credits" in text and "Contacts" in text


async def test_the_client_header_shows_whole_figures_only(snapshot_app) -> None:
    """Whole figures only, never a label cut from its amount (at 90 columns the
    line used to end 'Unapplied credits', its 0.00 on a line the header has no
    room for); what does not fit is below: the credits panel's title, the rows."""
    for width, ends in ((80, "Difference -4,406.95"), (90, "Difference -4,406.95"),
                        (160, "2 of 34 invoices discrepant")):
        app = snapshot_app()
        async with app.run_test(size=(width, 24)) as pilot:
            await settle(pilot)
            await pilot.press("enter")
            await wait_until(pilot, lambda app=app: isinstance(app.screen, ClientDetailScreen))
            await settle(pilot)
            text = screen_text(app)
            [figures] = [line.strip() for line in text.splitlines() if "Ledger balance " in line]
            assert figures.endswith(ends), (width, figures)


async def test_dialogs_have_their_own_footer_with_help_and_quit(snapshot_app) -> None:
    """A modal gets none of the app's keys: each dialog names and binds its own."""
    app = snapshot_app(welcome=WELCOME_CONFIG)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await settle(pilot)
        assert footer(app).rstrip().endswith("c Connect my accounts ? Help q Quit")
        await pilot.press("enter")  # the demo
        await wait_until(pilot, lambda: not isinstance(app.screen, WelcomeScreen))
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, WhyScreen))
        await settle(pilot)
        assert footer(app).rstrip().endswith("F1 Help ^q Quit"), footer(app)
        await help_and_back(pilot, app, "f1", "Do the suggested fix", WhyScreen)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: app.return_code is not None)
