"""Benchmark the cache and reconciliation at a real MSP's size.

Builds a synthetic book (default 10,000 clients, 200,000 invoices per side,
20,000 credits) straight into a fresh cache, then prints figures: load and
reconcile time, peak memory, the latency of the queries the screens run
(first page, filtering as you type, opening a client), then the same through the
real app (bench_tui.py): launch to the clients screen painted beside a bare
``import textual.app``, a filter keystroke, opening the client with the most
invoices (``--big-client``, 5,000 by default). Prints figures only; nothing here
asserts a time.

    python benchmarks/bench_book.py [--clients N] [--invoices N] [--credits N]
                                    [--big-client N] [--launch-runs N]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path

from msgspec.structs import replace  # the records are msgspec Structs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tui import screen_figures, time_launch, write_config

from recon_tui.cache import ApplyResult, Cache
from recon_tui.matching import auto_mappings
from recon_tui.models import (
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.refresh import (
    SyncChanges,
    refresh_after_sync,
    refresh_reconciliation,
)
from recon_tui.row_diagnosis import diagnose_pending

WORDS = ("North", "Blue", "Atlas", "Quantum", "River", "Summit", "Pixel", "Harbor", "Cedar",
         "Falcon", "Granite", "Lumen", "Orbit", "Prairie", "Vertex", "Willow")
SUFFIXES = ("LLC", "Inc.", "Ltd", "Co.", "Corp", "Group", "Partners", "")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn: Callable[[], object], repeat: int = 1) -> object:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    shown = f"{statistics.median(samples):9.1f} ms" + (
        f" (median of {repeat})" if repeat > 1 else "")
    print(f"  {label:<44}{shown}")
    return result


def synthetic_book(clients: int, invoices: int, credits: int, seed: int = 7,
                   big_client: int = 0) -> tuple[list, list, Iterator, Iterator, list]:
    """The book; the first ``big_client`` invoices all belong to client 1 (a client
    with that many invoices), the rest spread evenly."""
    rnd = random.Random(seed)
    companies, customers = [], []
    for i in range(clients):
        name = f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} {i} {rnd.choice(SUFFIXES)}".strip()
        companies.append(PsaCompany(str(i + 1), f"C{i + 1}", name))
        # 3% of customers are spelled differently and stay unmapped.
        ledger_name = name if rnd.random() > 0.03 else name.replace(" ", "-") + " (old)"
        customers.append(LedgerCustomer(str(1000 + i), ledger_name))
    start = date(2025, 11, 16)

    def owner(n: int) -> int:
        return 0 if n < big_client else n % clients

    def psa_invoices() -> Iterator[PsaInvoice]:
        r = random.Random(seed + 1)
        for n in range(invoices):
            total = Decimal(r.randint(5_000, 900_000)) / 100
            owing = total if r.random() < 0.2 else Decimal("0.00")
            yield PsaInvoice(str(n + 1), str(100_000 + n), str(owner(n) + 1),
                             start + timedelta(days=n % 365), total, owing,
                             ledger_invoice_id=str(500_000 + n), exported=True)

    def ledger_invoices() -> Iterator[LedgerInvoice]:
        r = random.Random(seed + 1)
        for n in range(invoices):
            total = Decimal(r.randint(5_000, 900_000)) / 100
            owing = total if r.random() < 0.2 else Decimal("0.00")
            if n % 97 == 0:  # a payment the PSA has not heard about
                owing = Decimal("0.00")
            if n % 501 == 0:  # deleted in the ledger
                continue
            yield LedgerInvoice(str(500_000 + n), str(100_000 + n), str(1000 + owner(n)),
                                start + timedelta(days=n % 365), total, owing)

    credit_rows = [
        OrganizationalCredit(str(900_000 + k), CreditKind.CREDIT_MEMO, str(1000 + k % clients),
                             start + timedelta(days=k % 365), Decimal("25.00"), Decimal("25.00"))
        for k in range(credits)
    ]
    return companies, customers, psa_invoices(), ledger_invoices(), credit_rows


def big_client_book(path: Path, invoices: int, clients: int = 100) -> str:
    """A small book whose client 1 has ``invoices`` invoices (the client to open),
    written and reconciled into a cache at ``path``; returns that client's key."""
    cache = Cache(path)
    try:
        write_book(cache, synthetic_book(clients, invoices + clients, 50, big_client=invoices))
    finally:
        cache.close()
    return "psa:1"


def write_book(cache: Cache, book: tuple) -> None:
    """A ``synthetic_book`` written into ``cache``, mapped and reconciled as a sync
    would leave it."""
    companies, customers, psa, ledger, credits = book
    cache.records.upsert_companies(companies)
    cache.records.upsert_customers(customers)
    cache.records.upsert_psa_invoices(psa)
    cache.records.upsert_ledger_invoices(ledger)
    cache.records.upsert_credits(credits)
    cache.records.add_mappings(auto_mappings(customers, companies, cache.records.mapping()))
    refresh_reconciliation(cache)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--credits", type=int, default=20_000)
    parser.add_argument("--big-client", type=int, default=5_000, metavar="N",
                        help="invoices of client 1, the client opened (default 5,000)")
    parser.add_argument("--launch-runs", type=int, default=3, metavar="N")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        cache = Cache(path)
        companies, customers, psa, ledger, credits = synthetic_book(
            args.clients, args.invoices, args.credits, big_client=args.big_client)
        print(f"book: {args.clients:,} clients, {args.invoices:,} invoices per side "
              f"({args.big_client:,} of them client 1's), {args.credits:,} credits")
        print("write")
        timed("companies + customers", lambda: (cache.records.upsert_companies(companies),
                                                cache.records.upsert_customers(customers)))
        timed("PSA invoices", lambda: cache.records.upsert_psa_invoices(psa))
        timed("ledger invoices", lambda: cache.records.upsert_ledger_invoices(ledger))
        timed("credits", lambda: cache.records.upsert_credits(credits))
        timed("auto-mapping", lambda: cache.records.add_mappings(
            auto_mappings(customers, companies, cache.records.mapping())))
        timed("reconcile + materialise (refresh)", lambda: refresh_reconciliation(cache))
        print(f"  peak memory after refresh: {peak_rss_mb():.0f} MB")
        discrepant = cache.conn.execute(
            "SELECT count(*) FROM invoice_pair WHERE discrepant").fetchone()[0]
        timed(f"diagnose every discrepant row ({discrepant:,})",
              lambda: diagnose_pending(cache))

        def daily_change() -> str:
            """A day's sync: 500 ledger balances changed, then the refresh a sync runs."""
            changed = [replace(i, balance=Decimal("0.00")) for i in islice(
                cache.records.iter_ledger_invoices(), 0, 500 * 97, 97)]
            ledger_result = cache.records.upsert_ledger_invoices(changed)
            empty = ApplyResult()
            return refresh_after_sync(cache, SyncChanges(
                companies=empty, contacts=empty, customers=empty, credits=empty,
                psa_documents=set(),
                ledger_documents={DocKind.INVOICE: ledger_result.touched}))

        mode = timed("daily sync: 500 changed invoices, refresh", daily_change)
        print(f"  (refresh mode: {mode})")
        print(f"  cache file: {path.stat().st_size / 1e6:.0f} MB")

        print("screens (a fresh connection, as the app opens it)")
        cache.close()
        reader = timed("open cache", lambda: Cache(path))
        assert isinstance(reader, Cache)
        recon = reader.recon
        timed("clients: count + first page of 50", lambda: (
            recon.count_clients(), recon.client_page(limit=50)), repeat=20)
        timed("clients: header totals", recon.book_totals, repeat=20)
        for text in ("n", "no", "nor", "north 12"):
            timed(f"clients: filter '{text}' count + page",
                  lambda t=text: (recon.count_clients(t), recon.client_page(t, limit=50)),
                  repeat=20)
        timed("clients: page at offset 9,000", lambda: recon.client_page(offset=9000, limit=50),
              repeat=20)
        big = recon.client("psa:1")
        assert big is not None
        count = recon.count_client_pairs(big.client_key)
        timed(f"client detail ({count:,} invoices): count + page",
              lambda: (recon.count_client_pairs(big.client_key),
                       recon.client_pairs(big.client_key, 0, 50)), repeat=20)
        timed("client detail: credits + contacts",
              lambda: (recon.client_credits(big.ledger_customer_ids),
                       recon.company_contacts(big.psa_company_id or "")), repeat=20)
        reader.close()
        print("the app (bench_tui.py: the real screens, rendered headless)")
        config = write_config(Path(tmp))
        launch = time_launch(path, config, args.launch_runs)
        print(f"  {'launch to clients screen painted':<44}{launch.wall * 1000:9.1f} ms"
              f" (best of {args.launch_runs}; bare import textual.app "
              f"{launch.bare_wall * 1000:.1f} ms, {launch.wall / launch.bare_wall:.2f}x; CPU "
              f"{launch.cpu * 1000:.0f} vs {launch.bare_cpu * 1000:.0f} ms, "
              f"{launch.cpu / launch.bare_cpu:.2f}x; a minimal Textual app "
              f"{launch.minimal_wall / launch.bare_wall:.2f}x wall, "
              f"{launch.minimal_cpu / launch.bare_cpu:.2f}x CPU)")
        screens = screen_figures(path, config, typed="north 12", client_key=big.client_key)
        print(f"  {'filter keystroke (typing north 12)':<44}"
              f"{screens['filter_median']:9.1f} ms (median; worst "
              f"{screens['filter_worst']:.1f} ms; CPU {screens['filter_cpu']:.1f} ms)")
        print(f"  {f'open client with {count:,} invoices':<44}"
              f"{screens['open_median']:9.1f} ms (median; CPU {screens['open_cpu']:.1f} ms)")
        print(f"peak memory overall: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
