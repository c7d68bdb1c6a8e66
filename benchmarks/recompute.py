"""Time the full recompute alone, on a cache filled directly (no emulator, no sync).

    python benchmarks/recompute.py [--clients N] [--invoices N] [--keep PATH]

The book is bench.py's (every invoice on both sides, every 50th a cent off on the
ledger, every 97th missing there) plus a few of the harder cases: every 400th PSA
invoice linked by custom field, every 300th number duplicated on the PSA side, a
credit memo per 200 invoices on both sides. It recomputes once (that remembers
the links, as the sync's own recompute does) and then measures a second
recompute, as bench.py does: wall time untraced (with ``--repeat N`` the least of
N recomputes, each a whole one), then a tracemalloc peak of one more run, beside
the SQL join floor (timed as often). It prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recon_tui.cache import Cache  # noqa: E402
from recon_tui.models import (  # noqa: E402
    CompanyMapping,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    MappingMethod,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.refresh import refresh_reconciliation  # noqa: E402


def fill(cache: Cache, clients: int, invoices: int) -> None:
    """bench.py's book, written straight into the cache."""
    records = cache.records
    records.upsert_companies(PsaCompany(str(100_000 + i), f"C{i:05d}", f"Client {i:05d} Services")
                             for i in range(1, clients + 1))
    records.upsert_customers(LedgerCustomer(str(50_000 + i), f"Client {i:05d} Services")
                             for i in range(1, clients + 1))
    records.add_mappings(CompanyMapping(str(50_000 + i), str(100_000 + i), MappingMethod.AUTO_EXACT)
                         for i in range(1, clients + 1) if i % 10)

    def day(n: int) -> date:
        return date(2026, n % 12 + 1, n % 28 + 1)

    def psa() -> object:
        for n in range(1, invoices + 1):
            total = Decimal(100 + n % 900) + Decimal(n % 100) / 100
            number = str(500_000 + (n - 1 if n % 300 == 0 else n))
            yield PsaInvoice(str(1_000_000 + n), number, str(100_000 + n % clients + 1), day(n),
                             total, total, status="Sent", exported=True,
                             ledger_invoice_id=str(2_000_000 + n) if n % 400 == 0 else None)
            if n % 200 == 0:
                yield PsaInvoice(f"cm{n}", f"CM-{n}", str(100_000 + n % clients + 1), day(n),
                                 Decimal("10.00"), Decimal("10.00"), kind=DocKind.CREDIT_MEMO)

    def ledger() -> object:
        for n in range(1, invoices + 1):
            if n % 97 == 0:
                continue
            total = Decimal(100 + n % 900) + Decimal(n % 100) / 100
            total += Decimal("0.01") if n % 50 == 0 else 0
            yield LedgerInvoice(str(2_000_000 + n), str(500_000 + n),
                                str(50_000 + n % clients + 1), day(n), total, total)

    cache.records.upsert_psa_invoices(psa())  # type: ignore[arg-type]
    cache.records.upsert_ledger_invoices(ledger())  # type: ignore[arg-type]
    cache.records.upsert_ledger_credit_memos(
        LedgerInvoice(f"m{n}", f"CM-{n}", str(50_000 + n % clients + 1), day(n),
                      Decimal("10.00"), Decimal("5.00"), kind=DocKind.CREDIT_MEMO)
        for n in range(200, invoices + 1, 200))


def _least(run: Callable[[], object], times: int) -> tuple[float, float]:
    """(wall, CPU) seconds of ``run``: the least of ``times`` runs of each."""
    walls, cpus = [], []
    for _ in range(max(1, times)):
        started, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2_500)
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="a cache file to reuse (filled if missing)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="time this many recomputes and joins, and print the least CPU "
                             "of each (a shared machine's noise only ever adds)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        path = args.keep or Path(work) / "cache.db"
        fresh = not path.exists()
        cache = Cache(path)
        try:
            if fresh:
                started = time.perf_counter()
                fill(cache, args.clients, args.invoices)
                print(f"filled in {time.perf_counter() - started:.1f} s")
                refresh_reconciliation(cache)  # the sync's own recompute: links remembered
            seconds, cpu = _least(lambda: refresh_reconciliation(cache), args.repeat)
            pairs = cache.recon.count_pairs()
            tracemalloc.start()
            refresh_reconciliation(cache)
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        finally:
            cache.close()
        conn = sqlite3.connect(path)
        join, join_cpu = _least(lambda: conn.execute(
            "SELECT count(*), sum(coalesce(l.total_cents, 0) - p.total_cents) "
            "FROM psa_invoice p LEFT JOIN ledger_invoice l ON l.doc_number = p.number"
        ).fetchone(), args.repeat)
        conn.close()
    # CPU seconds beside wall seconds: on a loaded machine the wall clock says little.
    print(f"{pairs:,} pairs: full recompute {seconds:.3f} s ({cpu:.3f} s CPU), "
          f"peak {peak:.1f} MB; SQL join {join:.3f} s ({join_cpu:.3f} s CPU); "
          f"ratio {seconds / join:.1f}x ({cpu / join_cpu:.1f}x CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
