"""The benchmark runs end to end at a tiny scale: emulator child process, real
connectors and sync, reports, recompute, launch; every figure printed with its
floor. (It prints figures; the scale runs are in the README.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_benchmark_prints_every_figure_beside_its_floor() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--clients", "5",
         "--invoices", "60", "--latency", "1", "--launch-runs", "1", "--daily", "5"],
        capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sync ended succeeded" in out, out
    for figure in ("full sync, requests", "full sync, recon-tui's CPU", "full sync, peak RSS",
                   "qbo in flight", "connectwise in flight", "full sync, wall time",
                   "daily sync (5 changed)", "xlsx report, time",
                   "xlsx report, memory", "json report, time", "json report, memory",
                   "csv report, memory", "full recompute, time", "launch"):
        assert figure in out, figure
    assert "(60 rows)" in out  # every invoice reached the report
    assert out.count("floor") >= 12
