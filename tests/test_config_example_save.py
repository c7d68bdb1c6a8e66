"""A settings save of config.example.toml changes one line and keeps every comment.

Every key the settings screen edits (read off the model, so a new editable key
is covered without touching this file) is changed in turn through the same two
calls the screen makes (``with_edits`` then ``save_config``), and the file is
diffed against the original.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from recon_tui.config import SCHEMA, editable_values, load_config, save_config, with_edits

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
_CONFIG = load_config(EXAMPLE)
CASES = [(section, key) for section, keys in editable_values(_CONFIG).items() for key in keys]


def _other_value(section: str, key: str, value: str) -> str:
    """A different value that still loads (same digits/hex shape, same URL suffix)."""
    spec = SCHEMA[section][key]
    if spec.kind == "bool":
        return "false" if value == "true" else "true"
    if spec.kind == "int":
        low, high = spec.ge or 0, spec.le or int(value) + 2
        return str(next(n for n in range(low, high + 1) if str(n) != value))
    if spec.kind == "url":
        return value.replace("127.0.0.1", "localhost")
    return value[:-1] + ("1" if value[-1] != "1" else "2")


def _diff(before: str, after: str) -> list[str]:
    return [line.rstrip("\n") for line in difflib.unified_diff(
        before.splitlines(True), after.splitlines(True), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_every_editable_key_of_the_example_is_covered() -> None:
    assert ("portal", "client_admin_security_level") in CASES
    assert ("ledger", "allow_writes") in CASES and ("psa", "allow_writes") in CASES
    assert len(CASES) >= 10


@pytest.mark.parametrize(("section", "key"), CASES)
def test_a_settings_save_of_the_example_changes_only_that_line(
    tmp_path: Path, section: str, key: str
) -> None:
    path = tmp_path / "config.toml"
    shutil.copyfile(EXAMPLE, path)
    before = path.read_text(encoding="utf-8")
    config = load_config(path)
    edits = editable_values(config)  # what the screen sends: every field, one changed
    new_value = _other_value(section, key, edits[section][key])
    edits[section][key] = new_value
    save_config(with_edits(config, edits), path)
    after = path.read_text(encoding="utf-8")

    changed = _diff(before, after)
    added = [line for line in changed if line.startswith("+")]
    removed = [line for line in changed if line.startswith("-")]
    assert len(added) == 1 and added[0].startswith(f"+{key} = "), changed
    assert new_value in added[0]
    if removed:  # the key was in the file: its one line is replaced in place
        assert len(removed) == 1 and removed[0].startswith(f"-{key} = "), changed
        assert before.splitlines().index(removed[0][1:]) == after.splitlines().index(added[0][1:])
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert [line for line in after.splitlines() if line.lstrip().startswith("#")] == comments
    saved = editable_values(load_config(path))
    assert saved[section][key] == new_value.rstrip("/")
