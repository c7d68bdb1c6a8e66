"""Rules the code base keeps: checked in CI, not by good intentions."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "recon_tui"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_tui_imports_textual() -> None:
    offenders = [
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if "tui" not in path.relative_to(PACKAGE).parts[:1] and "textual" in _imports(path)
    ]
    assert offenders == []


def test_sql_lives_in_the_cache_layer_alone() -> None:
    offenders = [
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "cache" and "sqlite3" in _imports(path)
    ]
    assert offenders == []


def test_the_domain_never_uses_float_for_money() -> None:
    """Floats are allowed only for timing/progress; money code never calls float()."""
    allowed = {"seconds", "elapsed", "latency", "ratio", "progress", "score", "timeout",
               "percent", "backoff", "delay", "jitter", "retry"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "float(" in line and not any(word in line.lower() for word in allowed):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.skipif(shutil.which("ruff") is None and not (
    Path(sys.executable).parent / "ruff").exists(), reason="ruff not installed")
def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    root = PACKAGE.parent
    result = subprocess.run([ruff, "check", "recon_tui", "tests", "sample_data"], cwd=root,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layer_contracts_are_kept() -> None:
    """The import-linter contracts in pyproject.toml ([tool.importlinter]): the
    layers import only what README's "How the code is laid out" says they may.
    import-linter is in the test extra, so a missing one fails rather than skips."""
    lint = Path(sys.executable).parent / "lint-imports"
    assert lint.exists(), f"{lint} is missing: pip install -e '.[test]' (import-linter)"
    root = PACKAGE.parent
    result = subprocess.run([str(lint), "--no-cache", "--no-logo", str(root / "pyproject.toml")],
                            cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


#: How the code is kept readable (issue 14): a module says one thing, a function
#: does one step. Data tables would be the exception; none is this long today.
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_modules_and_functions_stay_small() -> None:
    too_long: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(PACKAGE.parent)
        lines = source.count("\n")
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []
