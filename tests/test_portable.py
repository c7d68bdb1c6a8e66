"""recon-tui runs where MSP techs work, Windows included: no POSIX-only module or
call in its own code (file locks go through filelock, private files through
mkstemp's owner-only mode)."""

from __future__ import annotations

import ast
from pathlib import Path

import recon_tui

POSIX_ONLY_MODULES = {"fcntl", "termios", "pwd", "grp", "resource"}
POSIX_ONLY_CALLS = {("os", "fchmod"), ("os", "fchown"), ("os", "getuid"), ("os", "geteuid")}


def posix_only_uses(source: str, name: str) -> list[str]:
    """Each POSIX-only import, and each os call of that kind not guarded by a
    ``hasattr(os, ...)`` on its line."""
    lines = source.splitlines()
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{name}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] in POSIX_ONLY_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in POSIX_ONLY_MODULES:
                found.append(f"{name}: from {node.module}")
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and (node.value.id, node.attr) in POSIX_ONLY_CALLS
              and "hasattr(os" not in lines[node.lineno - 1]):
            found.append(f"{name}:{node.lineno}: os.{node.attr}")
    return found


def test_no_posix_only_import_or_call_in_recon_tui() -> None:
    found: list[str] = []
    for path in sorted(Path(recon_tui.__file__).parent.rglob("*.py")):
        found += posix_only_uses(path.read_text(encoding="utf-8"), path.name)
    assert found == [], found


def test_the_scan_finds_what_it_forbids_and_allows_a_guard() -> None:
    source = ("import fcntl\nfrom termios import tcgetattr\nimport os\n"
              "os.fchmod(1, 0o600)\nok = not hasattr(os, 'getuid') or os.getuid() == 0\n")
    assert posix_only_uses(source, "m.py") == [
        "m.py: import fcntl", "m.py: from termios", "m.py:4: os.fchmod"]
