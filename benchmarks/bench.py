"""One benchmark: every figure of issue 12 beside its floor, measured in one run.

    python benchmarks/bench.py [--clients N --invoices N] [--latency MS]

Builds a book at that scale from the sample data's records (each client a copy of
a sample company and its QuickBooks customer, each invoice a copy of a sample
invoice on both sides with a few differences), serves it from the emulator in a
child process (so its CPU is not counted as recon-tui's), runs the real
connectors and the real sync against it, then reports, recomputes and launches.
For each figure it prints the value, a floor measured in the same run and their
ratio. It prints; it asserts nothing. Memory: ``peak RSS`` is the process's
(``getrusage``, the sync runs first so it is the sync's), the report and recompute
figures are ``tracemalloc`` peaks of a second run of the same step (Python
allocations; their floors measured the same way, so the ratio is fair); times come
from the first, untraced run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------- the book
def scaled_book(clients: int, invoices: int) -> Any:
    """The emulator's book at scale, as ``recon-tui sandbox --scale`` serves it
    (recon_tui/sandbox/scale.py: customers and companies one to one, three contacts
    each, each invoice on both sides, every 50th a cent apart, every 97th missing
    from the ledger), frozen out of the garbage collector's passes as the sandbox
    command does: this process only serves it."""
    from recon_tui.connectors.sample import sample_data_dir
    from recon_tui.sandbox.scale import freeze_for_serving
    from recon_tui.sandbox.scale import scaled_book as build

    book = build(clients, invoices, sample_data_dir())
    freeze_for_serving()
    return book


def serve(args: argparse.Namespace) -> int:
    """The child process: the emulator serving the scaled book, each request
    delayed by ``--latency`` ms (the network a real API is behind)."""
    from recon_tui.connectors.sample import sample_data_dir
    from recon_tui.sandbox.app import create_app
    from recon_tui.sandbox.faults import FaultPlan
    from recon_tui.sandbox.server import SandboxServer

    app = create_app(sample_data_dir(), book=scaled_book(args.clients, args.invoices),
                     faults=FaultPlan(retry_after_seconds=0))
    delay = args.latency / 1000

    async def delayed(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and delay:
            await asyncio.sleep(delay)
        await app(scope, receive, send)

    server = SandboxServer(delayed).start()  # type: ignore[arg-type]
    Path(args.serve).write_text(server.url, encoding="utf-8")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


# --------------------------------------------------------------------------- measuring
def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def traced(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall seconds of ``fn`` (untraced: tracemalloc slows Python several times),
    then its tracemalloc peak (MB) from a second, traced run."""
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    try:
        again = fn()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    close = getattr(again, "close", None)
    if again is not result and callable(close):
        close()
    return elapsed, peak, result


ROWS: list[tuple[str, str, str, str]] = []


def line(figure: str, value: float, unit: str, floor: float | None, floor_what: str) -> None:
    ratio = f"{value / floor:6.2f}x" if floor else "     -"
    shown_floor = f"{floor:10.2f} {unit}" if floor is not None else " " * 11 + " " * len(unit)
    print(f"  {figure:<38}{value:10.2f} {unit}  floor {shown_floor}  {ratio}  {floor_what}")
    ROWS.append((figure, f"{value:.2f} {unit}",
                 f"{floor:.2f} {unit} ({floor_what})" if floor is not None else floor_what,
                 ratio.strip()))


def system_of(path: str) -> str:
    """Which emulated API a request went to (they share one loopback server)."""
    if path.startswith(("/v3/company/", "/oauth2/")):
        return "qbo"
    if path.startswith(("/v4_6_release/", "/login/companyinfo/")):
        return "connectwise"
    return "autotask" if "/atservicesrest/" in path.lower() else "other"


class Counting:
    """Counts the connectors' requests, per system, and how many of each were in
    flight at once, and keeps the JSON pages they read in a scratch file (the
    parse + insert floor works on them; in memory they would be most of the
    process's peak)."""

    def __init__(self) -> None:
        import httpx

        self.requests = 0
        self.per_system: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self.most_in_flight: dict[str, int] = {}
        self.bodies = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the counter
        #: CPU seconds the counter spent keeping the pages (threads' own clocks).
        self.overhead = 0.0
        self._lock = threading.Lock()
        self._send = original = httpx.Client.send
        counter = self

        def send(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            system = system_of(request.url.path)
            with counter._lock:
                counter.requests += 1
                counter.per_system[system] = counter.per_system.get(system, 0) + 1
                now = counter.in_flight[system] = counter.in_flight.get(system, 0) + 1
                counter.most_in_flight[system] = max(counter.most_in_flight.get(system, 0), now)
            try:
                response = original(client, request, *args, **kwargs)
                response.read()
                if response.headers.get("content-type", "").startswith("application/json"):
                    started = time.thread_time()
                    with counter._lock:
                        counter.bodies.write(len(response.content).to_bytes(8, "little"))
                        counter.bodies.write(response.content)
                        # the benchmark's own work, not recon-tui's: taken off its CPU
                        counter.overhead += time.thread_time() - started
                return response
            finally:
                with counter._lock:
                    counter.in_flight[system] -= 1

        httpx.Client.send = send  # type: ignore[method-assign]

    def close(self) -> None:
        import httpx

        httpx.Client.send = self._send  # type: ignore[method-assign]

    def pages(self) -> Iterator[bytes]:
        """The JSON pages kept, in the order they arrived."""
        self.bodies.seek(0)
        while size := self.bodies.read(8):
            yield self.bodies.read(int.from_bytes(size, "little"))


def parse_insert_floor(bodies: Iterable[bytes]) -> float:
    """CPU seconds to parse the same pages (Decimal money) and bulk-insert one row
    per record (id and its JSON) into a fresh SQLite table in one transaction."""
    started = cpu()
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE r (id TEXT, body TEXT)")
    with conn:
        for body in bodies:
            data = json.loads(body, parse_float=Decimal)
            records = data if isinstance(data, list) else next(
                (v for v in data.get("QueryResponse", {}).values() if isinstance(v, list)), [])
            conn.executemany("INSERT INTO r VALUES (?, ?)",
                             [(str(r.get("id", r.get("Id"))), "") for r in records
                              if isinstance(r, dict)])
    conn.close()
    return cpu() - started


# --------------------------------------------------------------------------- figures
def bench_sync(url: str, cache_path: Path, latency_ms: float) -> None:
    from recon_tui.backend import connect, sandbox_configs
    from recon_tui.cache import Cache
    from recon_tui.sync import run_full_sync

    counting = Counting()
    tokens = tempfile.TemporaryDirectory(prefix="recon-bench-tokens-")
    ledger_config, psa_config = sandbox_configs(url)
    psa, ledger = connect(ledger_config, psa_config, token_path=Path(tokens.name) / "q.json")
    cache = Cache(cache_path)
    try:
        cpu0, wall0 = cpu(), time.perf_counter()
        run = run_full_sync(cache, psa, ledger, since=None)
        wall, used = time.perf_counter() - wall0, cpu() - cpu0 - counting.overhead
    finally:
        cache.close()
        counting.close()
        tokens.cleanup()
    print(f"  sync ended {run.status.value}" + (f": {run.error}" if run.error else "")
          + f" (the benchmark's copy of the pages, {counting.overhead:.2f} s CPU, not counted)")
    floor_cpu = parse_insert_floor(counting.pages())
    line("full sync, requests", counting.requests, "req", None, "the minimum is the pages")
    line("full sync, recon-tui's CPU", used, "s", floor_cpu, "json parse + bulk insert")
    line("full sync, peak RSS", peak_rss_mb(), "MB", None, "(process peak)")
    limits = {"qbo": getattr(ledger, "max_concurrency", 1),
              "connectwise": getattr(psa, "max_concurrency", 1)}
    floor_wall = floor_cpu
    for system, sent in sorted(counting.per_system.items()):
        allowed = limits.get(system, 1)
        line(f"full sync, {system} in flight (most)", counting.most_in_flight[system], "req",
             allowed, f"allowed ({sent:,} requests)")
        floor_wall += sent / allowed * latency_ms / 1000
    line("full sync, wall time", wall, "s", floor_wall,
         f"each system's requests / its allowed concurrency x {latency_ms:g} ms + floor CPU")


def bench_daily(url: str, cache_path: Path, changed: int = 500) -> None:
    """The daily sync: ``changed`` invoices paid in the ledger since the full sync
    (a payment each, through the connector, as a tech's fix would), then the dated
    sync a scheduled run would do; its CPU beside the issue's 3 s target."""
    from datetime import date

    from recon_tui.backend import connect, sandbox_configs
    from recon_tui.cache import Cache
    from recon_tui.sync import default_since, run_full_sync

    tokens = tempfile.TemporaryDirectory(prefix="recon-bench-tokens-")
    ledger_config, psa_config = sandbox_configs(url)
    psa, ledger = connect(ledger_config, psa_config, token_path=Path(tokens.name) / "q.json")
    cache = Cache(cache_path)
    try:
        paid = 0
        for invoice in ledger.invoices(None):
            if paid >= changed:
                break
            if invoice.balance > 0:
                ledger.record_payment(invoice.customer_id, invoice.id, Decimal("0.01"),
                                      date.today(), f"bench-{paid}", "bench daily sync",
                                      f"bench-daily-{invoice.id}")
                paid += 1
        counting = Counting()
        cpu0, wall0 = cpu(), time.perf_counter()
        run = run_full_sync(cache, psa, ledger, since=default_since(cache), kind="full")
        wall, used = time.perf_counter() - wall0, cpu() - cpu0
        counting.close()
    finally:
        cache.close()
        tokens.cleanup()
    print(f"  daily sync ({paid} invoices paid in the ledger) ended {run.status.value}, "
          f"{counting.requests} requests, {wall:.2f} s wall"
          + (f": {run.error}" if run.error else ""))
    line(f"daily sync ({paid} changed), recon-tui's CPU", used, "s", 3.0,
         "the issue's target (500 changed)")


def bench_reports(cache_path: Path, out: Path) -> None:
    import xlsxwriter

    from recon_tui.cache import Cache
    from recon_tui.money import from_cents
    from recon_tui.report.snapshot import build_snapshot
    from recon_tui.report.writers import write_report

    cache = Cache(cache_path, read_only=True)
    try:
        span = cache.report.date_range()
        assert span is not None, "nothing was synced"
        seconds, peak, snap = traced(lambda: build_snapshot(cache, *span))
    finally:
        cache.close()
    rows = len(snap.rows)  # type: ignore[attr-defined]
    line(f"report snapshot ({rows:,} rows)", seconds, "s", None, "")
    line("report snapshot, memory", peak, "MB", None, "")

    def xlsx_alone() -> None:
        wb = xlsxwriter.Workbook(str(out / "floor.xlsx"), {"constant_memory": True})
        ws = wb.add_worksheet("Invoices")
        money = {5, 6, 8, 9, 10, 11}
        r, after = 1, 0
        while batch := snap.spool.page("invoice", after, 2000):  # type: ignore[attr-defined]
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
            while batch := snap.spool.page("invoice", after, 2000):  # type: ignore[attr-defined]
                for values in batch:
                    handle.write(json.dumps(values[1:15]) + ",\n")
                after = batch[-1][0]

    floor_x, floor_x_mb, _ = traced(xlsx_alone)
    floor_j, floor_j_mb, _ = traced(json_alone)
    for fmt, floor, floor_mb, what in (("xlsx", floor_x, floor_x_mb, "XlsxWriter alone"),
                                       ("json", floor_j, floor_j_mb, "json.dumps per row"),
                                       ("csv", floor_j, floor_j_mb, "json.dumps per row")):
        seconds, peak, _ = traced(lambda fmt=fmt: write_report(snap, fmt, out / f"r.{fmt}"))
        line(f"{fmt} report, time", seconds, "s", floor, what)
        line(f"{fmt} report, memory", peak, "MB", floor_mb, what)
    snap.close()  # type: ignore[attr-defined]


def bench_recompute(cache_path: Path) -> None:
    from recon_tui.cache import Cache
    from recon_tui.refresh import refresh_reconciliation

    cache = Cache(cache_path)
    try:
        seconds, peak, _ = traced(lambda: refresh_reconciliation(cache))
        conn = sqlite3.connect(cache_path)
        started = time.perf_counter()
        conn.execute(
            "SELECT count(*), sum(coalesce(l.total_cents, 0) - p.total_cents) "
            "FROM psa_invoice p LEFT JOIN ledger_invoice l ON l.doc_number = p.number"
        ).fetchone()
        join = time.perf_counter() - started
        conn.close()
    finally:
        cache.close()
    line("full recompute, time", seconds, "s", join, "a SQL join of the two books")
    line("full recompute, memory", peak, "MB", None, "")


def warm_bytecode() -> None:
    """Compile recon_tui's .pyc before timing a launch, as an installed recon-tui
    has them (and as Textual, the floor's import, has its own): with
    PYTHONDONTWRITEBYTECODE set in the environment, or a checkout never imported,
    every launched python would otherwise compile recon_tui from source."""
    import compileall

    compileall.compile_dir(str(ROOT / "recon_tui"), quiet=1)


def bench_launch(runs: int, cache_path: Path, work: Path, big_invoices: int) -> None:
    """The TUI on the synced book (benchmarks/bench_tui.py): launch to the clients
    screen painted, beside python doing a bare ``import textual.app`` timed the same
    way; a filter keystroke; opening a client with ``big_invoices`` invoices (a
    book of its own when the synced one has no client that big: it spreads the
    invoices evenly)."""
    from bench_book import big_client_book
    from bench_tui import biggest_client, screen_figures, time_launch, write_config

    config = write_config(work)
    warm_bytecode()
    launch = time_launch(cache_path, config, runs)
    line(f"launch to interactive (best of {runs})", launch.wall, "s", launch.bare_wall,
         "python + bare import textual.app")
    line("launch to interactive, CPU", launch.cpu, "s", launch.bare_cpu,
         "the same, CPU (start to exit)")
    key, count = biggest_client(cache_path)
    book = cache_path
    if count < big_invoices:
        book = work / "big-client.db"
        key = big_client_book(book, big_invoices)
        count = biggest_client(book)[1]
        figures = screen_figures(cache_path, config, typed="client 12", repeat=runs)
        figures.update(screen_figures(book, config, typed="", client_key=key, repeat=runs))
    else:
        figures = screen_figures(cache_path, config, typed="client 12", client_key=key,
                                 repeat=runs)
    line("filter keystroke (median)", figures["filter_median"], "ms", 16.0,
         "target: a 60 Hz frame")
    line("filter keystroke (worst)", figures["filter_worst"], "ms", 16.0,
         "target: a 60 Hz frame")
    line("filter keystroke, CPU (median)", figures["filter_cpu"], "ms", 16.0, "target")
    line(f"open a client ({count:,} invoices)", figures["open_median"], "ms", 50.0,
         "target")
    line("open a client, CPU", figures["open_cpu"], "ms", 50.0, "target")
    if "open_first" in figures:  # the session's first open builds the kept client screen
        line("open a client, the session's first", figures["open_first"], "ms", 50.0,
             "target")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS")
    parser.add_argument("--daily", type=int, default=500, metavar="N",
                        help="invoices changed before the daily sync (default 500)")
    parser.add_argument("--launch-runs", type=int, default=3, metavar="N",
                        help="launches timed, the best kept (default 3)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args)
    print(f"recon-tui benchmark: {args.clients:,} clients, {args.invoices:,} invoices a side, "
          f"latency {args.latency:g} ms; {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="recon-bench-") as folder:
        work = Path(folder)
        port_file = work / "url"
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file),
                                  "--clients", str(args.clients), "--invoices",
                                  str(args.invoices), "--latency", str(args.latency)])
        try:
            while not port_file.exists():
                if child.poll() is not None:
                    print("bench: the emulator did not start", file=sys.stderr)
                    return 1
                time.sleep(0.1)
            print(f"  emulator built and serving in {time.perf_counter() - started:.1f} s")
            url = port_file.read_text(encoding="utf-8")
            bench_sync(url, work / "cache.db", args.latency)
            bench_daily(url, work / "cache.db", args.daily)
        finally:
            child.terminate()
            child.wait(timeout=10)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        line("emulator's CPU (book build + serving)", usage.ru_utime + usage.ru_stime, "s",
             None, "the child process; not recon-tui's")
        bench_reports(work / "cache.db", work)
        bench_recompute(work / "cache.db")
        bench_launch(args.launch_runs, work / "cache.db", work,
                     5_000 if args.invoices >= 5_000 else 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
