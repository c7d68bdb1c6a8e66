"""The report writers alone, beside their floors, without the emulator.

    python benchmarks/report_bench.py [--invoices N] [--clients N] [--db PATH]
                                      [--formats xlsx,json,csv,md] [--profile FMT]

Fills a cache straight from the synthetic book of ``bench_book.py`` (kept at
``--db`` when given, so a second run skips the fill), builds the snapshot, then
writes each format and prints its time (an untraced run) and its tracemalloc peak
(a second, traced run) beside the floors measured in the same run the way
``bench.py`` measures them: XlsxWriter alone with the same cells
(``constant_memory``), and ``json.dumps`` per row. ``--profile FMT`` prints the
top of a cProfile of that writer instead. It prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def traced(fn: Callable[[], object]) -> tuple[float, float, float]:
    """CPU seconds and wall seconds of an untraced run (CPU is the steadier figure on
    a shared machine), then the tracemalloc peak (MB) of a second run."""
    started, cpu = time.perf_counter(), time.process_time()
    fn()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    return cpu, elapsed, peak


def fill(path: Path, clients: int, invoices: int) -> None:
    from bench_book import synthetic_book, write_book

    from recon_tui.cache import Cache

    with Cache(path) as cache:
        write_book(cache, synthetic_book(clients, invoices, invoices // 10))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=2_500)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--formats", default="snapshot,xlsx,json,csv,md")
    parser.add_argument("--profile")
    args = parser.parse_args(argv)

    import xlsxwriter

    from recon_tui.cache import Cache
    from recon_tui.money import from_cents
    from recon_tui.report.snapshot import build_snapshot
    from recon_tui.report.writers import write_report

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        db = args.db or out / "cache.db"
        if not db.exists():
            started = time.perf_counter()
            fill(db, args.clients, args.invoices)
            print(f"filled {db} in {time.perf_counter() - started:.1f} s")
        with Cache(db, read_only=True) as cache:
            span = cache.report.date_range()
            assert span is not None
            if "snapshot" in args.formats.split(","):
                cpu, wall, peak = traced(lambda: build_snapshot(cache, *span).close())
                print(f"  snapshot {cpu:7.2f} s CPU {wall:7.2f} s wall {peak:7.1f} MB")
            snap = build_snapshot(cache, *span)
            print(f"{len(snap.rows):,} rows")

        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            write_report(snap, args.profile, out / f"r.{args.profile}")
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
            snap.close()
            return 0

        def xlsx_alone() -> None:
            wb = xlsxwriter.Workbook(str(out / "floor.xlsx"), {"constant_memory": True})
            ws = wb.add_worksheet("Invoices")
            money = {5, 6, 8, 9, 10, 11}
            r, after = 1, 0
            while batch := snap.spool.page("invoice", after, 2000):
                for values in batch:
                    for c, v in enumerate(values[1:15]):
                        if v is None:
                            continue
                        if c in money:
                            ws.write_number(r, c, from_cents(v))
                        else:
                            ws.write_string(r, c, str(v))
                    r += 1
                after = batch[-1][0]
            wb.close()

        def json_alone() -> None:
            with open(out / "floor.json", "w", encoding="utf-8") as handle:
                after = 0
                while batch := snap.spool.page("invoice", after, 2000):
                    for values in batch:
                        handle.write(json.dumps(values[1:15]) + ",\n")
                    after = batch[-1][0]

        formats = [f for f in args.formats.split(",") if f != "snapshot"]
        floors = {}
        if "xlsx" in formats:
            floors["xlsx"] = ("XlsxWriter alone", *traced(xlsx_alone))
        if {"json", "csv"} & set(formats):
            floors["json"] = floors["csv"] = ("json.dumps per row", *traced(json_alone))
        for fmt in formats:
            cpu, wall, peak = traced(lambda fmt=fmt: write_report(snap, fmt, out / f"r.{fmt}"))
            what, floor_cpu, floor_wall, floor_mb = floors.get(fmt, ("", 0.0, 0.0, 0.0))
            ratio = (f"{cpu / floor_cpu:5.2f}x CPU, {wall / floor_wall:5.2f}x wall of {what} "
                     f"({floor_cpu:.2f} s CPU, {floor_wall:.2f} s wall, {floor_mb:.1f} MB)"
                     ) if floor_cpu else ""
            print(f"  {fmt:<5} {cpu:7.2f} s CPU {wall:7.2f} s wall {peak:7.1f} MB  {ratio}")
        snap.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
