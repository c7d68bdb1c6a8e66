"""Snapshot tests (pytest-textual-snapshot) of the main screens and dialogs on the
demo book, at 80x24 and 160x45.

The app, its frozen clock and its fixed folder come from
:mod:`tests.snapshot_support`; the dialogs and screens not photographed here are
in ``test_snapshots_dialogs.py``. Review a changed SVG by reading it
(``python -m tests.svg_text FILE.svg``), then ``pytest tests/test_snapshots.py
--snapshot-update``.
"""

from __future__ import annotations

import pytest

from tests.snapshot_support import SIZES, WELCOME_CONFIG, Keys, keys

#: name -> the keys that reach it from the clients screen, and the screen they end on.
SCREENS: dict[str, Keys] = {
    "clients": keys(shows="ClientsScreen"),
    "clients_markup_filter": keys("slash", *"[bold", "down", shows="ClientsScreen"),
    "clients_long_name": keys("slash", *"Großmann", "enter", shows="ClientsScreen"),
    "client_detail": keys("enter", shows="ClientDetailScreen"),
    "client_detail_long_name": keys("slash", *"Großmann", "enter", "enter",
                                    shows="ClientDetailScreen"),
    "client_detail_non_ascii": keys("slash", *"東京", "enter", "enter",
                                    shows="ClientDetailScreen"),
    "invoice_view": keys("enter", "enter", shows="InvoiceHistoryScreen"),
    "fix_dialog": keys("enter", "f", shows="FixScreen"),
    "credit_checklist": keys("slash", *"Silver Creek", "enter", "enter", "tab", "tab", "a",
                             shows="ChecklistScreen"),
    "mapper": keys("m", shows="MapperScreen"),
    "export": keys("e", shows="ExportScreen"),
    "sync": keys("s", shows="SyncScreen"),
    "history": keys("h", shows="HistoryScreen"),
    "history_run": keys("h", "enter", shows="RunScreen"),
    "help": keys("question_mark", shows="HelpScreen"),
}
#: The welcome dialog, shown over the clients screen on a first launch.
WELCOME = "WelcomeScreen"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(screen: str, size: str, snapshot_app, snap_compare) -> None:
    assert snap_compare(snapshot_app(), terminal_size=SIZES[size], run_before=SCREENS[screen])


@pytest.mark.parametrize("size", SIZES)
def test_welcome(size: str, snapshot_app, snap_compare) -> None:
    assert snap_compare(snapshot_app(welcome=WELCOME_CONFIG), terminal_size=SIZES[size],
                        run_before=keys(shows=WELCOME))
