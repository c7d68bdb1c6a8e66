"""Snapshot tests of the screens and dialogs ``test_snapshots.py`` does not
photograph, at 80x24 and 160x45: settings, the connection checks, why-hidden, a
resync, unmapping, connecting accounts, the checklist list, a client's export, the
mass-deletion question, a cache that cannot be opened, the command palette, the
mapper asking before a doubtful or an already-mapped candidate, a sync a killed
process left behind (interrupted) and a voided invoice's history; and the hostile
names (terminal controls, Rich markup) on the clients and client screens.

Settings and the connection checks print file paths: the app lives in
``/tmp/recon-tui-snapshots/<test name>`` (:mod:`tests.snapshot_support`), so the
SVG is the same on every machine. Review with ``python -m tests.svg_text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from textual.pilot import Pilot

from recon_tui.sync_safety import MassDeletion
from recon_tui.tui.screens.confirm import ConfirmScreen
from tests.snapshot_support import SIZES, WELCOME_CONFIG, Keys, keys

#: A cache file that is not SQLite (the first bytes of a file a tool overwrote).
GARBAGE = b"\x00this is not SQLite\xff" * 400
SILVER_CREEK_CREDIT = ("slash", *"Silver Creek", "enter", "enter", "tab", "tab", "a")


async def _ask_mass_delete(pilot: Pilot) -> None:
    """The question a sync asks before deleting more than its share (the sync
    dialog builds the same title, buttons and first line)."""
    excess = [MassDeletion("ledger", 412, 520, 20)]
    body = "\n".join(f"This sync {m.describe()}." for m in excess) + (
        "\n\nA read that came back short looks exactly like this. Nothing has been "
        "written yet. Delete them only if they really were deleted in the system; "
        "otherwise keep them and look at the history.")
    pilot.app.push_screen(ConfirmScreen("Delete this many records?", body,
                                        yes="Delete them", no="Keep them"))


@dataclass(frozen=True)
class Shot:
    """The keys to a screen and how the app starts (``snapshot_app``'s options)."""

    steps: Keys
    app: dict[str, Any] = field(default_factory=dict)


SHOTS: dict[str, Shot] = {
    "settings": Shot(keys("comma", shows="SettingsScreen")),
    "doctor": Shot(keys("ctrl+d", shows="DoctorScreen")),
    "why_hidden": Shot(keys("w", shows="WhyScreen")),
    "resync": Shot(keys("enter", "r", shows="ResyncScreen")),
    "unmap": Shot(keys("enter", "x", shows="UnmapScreen")),
    "connect": Shot(keys("c", shows="ConnectScreen"), {"welcome": WELCOME_CONFIG}),
    "checklists": Shot(keys(*SILVER_CREEK_CREDIT, "escape", "c", shows="ChecklistsScreen")),
    "export_client": Shot(keys("enter", "e", shows="ExportScreen")),
    "confirm_mass_delete": Shot(keys(then=_ask_mass_delete, shows="ConfirmScreen")),
    "cache_error": Shot(keys(shows="CacheErrorScreen"), {"cache_bytes": GARBAGE}),
    "palette": Shot(keys("ctrl+p", shows="CommandPalette")),
    "clients_hostile": Shot(keys("slash", *"Evil", "enter", shows="ClientsScreen"),
                            {"hostile": True}),
    "client_detail_hostile": Shot(keys("slash", *"Evil", "enter", "enter",
                                       shows="ClientDetailScreen"), {"hostile": True}),
    "client_detail_markup": Shot(keys("slash", *"[bold]ACME", "enter", "enter",
                                      shows="ClientDetailScreen")),
    # Enter on a doubtful candidate (tied at 100) asks; on an already-mapped one it
    # refuses and names ctrl+y; the panel says why each ranks.
    "mapper_asked": Shot(keys("m", "enter", shows="MapperScreen")),
    "mapper_problem_asked": Shot(keys("m", "down", "down", "enter", shows="MapperScreen")),
    "history_interrupted": Shot(keys("h", shows="HistoryScreen"), {"killed_run": True}),
    "history_run_interrupted": Shot(keys("h", "enter", shows="RunScreen"),
                                    {"killed_run": True}),
    "invoice_view_voided": Shot(keys("enter", "down", "enter", shows="InvoiceHistoryScreen")),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shot", SHOTS)
def test_dialog(shot: str, size: str, snapshot_app, snap_compare) -> None:
    chosen = SHOTS[shot]
    assert snap_compare(snapshot_app(**chosen.app), terminal_size=SIZES[size],
                        run_before=chosen.steps)
