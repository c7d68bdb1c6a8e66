"""Where the bundled demo book lives, and how its files are read.

``sample_data/`` holds the same JSON shapes the live APIs send; the emulator in
``recon_tui.sandbox`` serves it to the real connectors for the demo and the tests.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from recon_tui.jsonio import JsonError, decode

__all__ = ["load_json_array", "sample_data_dir"]


def sample_data_dir() -> Path:
    """The repo's ``sample_data/`` in a checkout, else the copy installed under sys.prefix."""
    candidates = [
        Path(__file__).resolve().parents[2] / "sample_data",
        Path(sys.prefix) / "share" / "recon-tui" / "sample_data",
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"sample data not found (looked in {tried}); run sample_data/generate.py "
        "in a checkout or reinstall recon-tui"
    )


def load_json_array(path: Path) -> list[dict[str, Any]]:
    """One sample file: a JSON array, amounts read as exact Decimals."""
    try:
        data = decode(path.read_bytes())
    except FileNotFoundError:
        raise FileNotFoundError(f"sample data file missing: {path}") from None
    except JsonError as exc:
        raise ValueError(f"sample data file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise ValueError(f"sample data file {path} must hold a JSON array")
    return data
