"""The benchmark book served by ``bench.py --serve`` in a child process, so that the
emulator's CPU is never counted as recon-tui's (``sync_ab.py``, ``profile_sync.py``)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def emulator_child(clients: int, invoices: int, folder: Path) -> Iterator[str]:
    """The emulator's URL once it listens; the child is stopped on the way out. A
    child that dies before listening ends the run with one line (exit status 1)."""
    port_file = folder / "url"
    child = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bench.py"),
                              "--serve", str(port_file), "--clients", str(clients),
                              "--invoices", str(invoices), "--latency", "0"])
    try:
        while not port_file.exists():
            if child.poll() is not None:
                raise SystemExit("the benchmark's emulator did not start")
            time.sleep(0.1)
        yield port_file.read_text(encoding="utf-8")
    finally:
        child.terminate()
        child.wait(timeout=10)
