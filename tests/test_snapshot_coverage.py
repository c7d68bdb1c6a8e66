"""Every screen class under ``recon_tui/tui/screens/`` is photographed at both
snapshot sizes, so a new screen (or dialog) without snapshots fails here.

The classes are found by importing every module of the package and keeping the
``Screen`` subclasses it defines; each snapshot names the screen it ends on
(``shows=``), and each of those snapshots must have its SVG at 80x24 and 160x45.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

from textual.screen import Screen

import recon_tui.tui.screens as screens_package
from tests.snapshot_support import SIZES
from tests.test_snapshots import SCREENS, WELCOME
from tests.test_snapshots_dialogs import SHOTS

SNAPSHOTS = Path(__file__).parent / "__snapshots__"


def screen_classes() -> set[str]:
    """The names of the Screen (and ModalScreen) subclasses the package defines."""
    found: set[str] = set()
    for module_info in pkgutil.iter_modules(screens_package.__path__):
        module = importlib.import_module(f"{screens_package.__name__}.{module_info.name}")
        for name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Screen) and value.__module__ == module.__name__:
                found.add(name)
    return found


def photographed() -> dict[str, list[Path]]:
    """Screen class -> the SVGs that show it (both sizes of each snapshot)."""
    shots: dict[str, list[Path]] = {}
    for name, steps in SCREENS.items():
        shots.setdefault(steps.shows, []).extend(
            SNAPSHOTS / "test_snapshots" / f"test_screen[{name}-{size}].svg" for size in SIZES)
    shots.setdefault(WELCOME, []).extend(
        SNAPSHOTS / "test_snapshots" / f"test_welcome[{size}].svg" for size in SIZES)
    for name, shot in SHOTS.items():
        shots.setdefault(shot.steps.shows, []).extend(
            SNAPSHOTS / "test_snapshots_dialogs" / f"test_dialog[{name}-{size}].svg"
            for size in SIZES)
    return shots


def test_the_search_finds_the_screens() -> None:
    """The scan itself works: it sees screens of both kinds, and no widget."""
    found = screen_classes()
    assert {"ClientsScreen", "MapperScreen", "DoctorScreen", "CacheErrorScreen"} <= found
    assert "CandidateTable" not in found and "ReconScreenMixin" not in found


def test_every_screen_has_a_snapshot() -> None:
    missing = screen_classes() - set(photographed())
    assert not missing, f"screens with no snapshot in test_snapshots*.py: {sorted(missing)}"


def test_every_snapshot_is_taken_at_both_sizes() -> None:
    assert set(SIZES) == {"80x24", "160x45"}
    absent = [path.name for paths in photographed().values() for path in paths
              if not path.exists()]
    assert not absent, f"snapshots never taken (run --snapshot-update): {absent}"
