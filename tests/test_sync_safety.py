"""The sync's edges: no mass deletion without a yes, one company's books per
cache, the outcome committed with the data, and interruptions recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from recon_tui.cache import Cache, CacheError
from recon_tui.models import LedgerCustomer, LedgerInvoice, PsaCompany, PsaInvoice, SyncStatus
from recon_tui.sync import MassDeletion, SyncProgress, run_full_sync
from tests.fake_books import FakeLedger, FakePsa

INVOICES = 100


def books() -> tuple[FakePsa, FakeLedger]:
    psa = FakePsa(companies_by_id={"1": PsaCompany("1", "C1", "Alpha Co")})
    ledger = FakeLedger(customers_by_id={"58": LedgerCustomer("58", "Alpha Co")})
    for n in range(INVOICES):
        psa.touch(PsaInvoice(id=f"p{n}", number=f"{1000 + n}", company_id="1",
                             date=date(2026, 3, 1), total=Decimal("10.00"),
                             owing=Decimal("10.00")))
        ledger.touch(LedgerInvoice(id=f"q{n}", doc_number=f"{1000 + n}", customer_id="58",
                                   date=date(2026, 3, 1), total=Decimal("10.00"),
                                   balance=Decimal("10.00")))
    return psa, ledger


def data_of(cache: Cache) -> dict[str, int]:
    return cache.records.counts()


def test_a_short_read_that_would_delete_a_fifth_stops_before_writing(cache: Cache) -> None:
    psa, ledger = books()
    assert run_full_sync(cache, psa, ledger, since=None).status is SyncStatus.SUCCEEDED
    before = data_of(cache)
    for n in range(20):  # 20 of 100 vanish: what an empty page used to look like
        ledger.delete("Invoice", f"q{n}")
    run = run_full_sync(cache, psa, ledger, since=None)
    assert run.status is SyncStatus.FAILED
    assert "would delete 20 of the 100 ledger records" in (run.error or "")
    assert "--allow-mass-delete" in (run.error or "")
    failed = [s for s in run.steps if s.status is SyncStatus.FAILED]
    assert [(s.system, s.name) for s in failed] == [("ledger", "deletions")]
    assert data_of(cache) == before


def test_a_confirmed_mass_deletion_goes_ahead_and_a_refused_one_is_cancelled(
        cache: Cache) -> None:
    psa, ledger = books()
    run_full_sync(cache, psa, ledger, since=None)
    for n in range(30):
        psa.documents.pop(f"p{n}")
    asked: list[list[MassDeletion]] = []

    def no(excess: list[MassDeletion]) -> bool:
        asked.append(excess)
        return False

    refused = run_full_sync(cache, psa, ledger, since=None, confirm_mass_delete=no)
    assert refused.status is SyncStatus.CANCELLED
    assert [(m.side, m.deleting, m.held) for m in asked[0]] == [("psa", 30, 100)]
    assert cache.records.counts()["psa_invoice"] == INVOICES
    done = run_full_sync(cache, psa, ledger, since=None, confirm_mass_delete=lambda _: True)
    assert done.status is SyncStatus.SUCCEEDED
    assert cache.records.counts()["psa_invoice"] == INVOICES - 30


def test_small_deletions_and_a_raised_share_do_not_ask(cache: Cache) -> None:
    psa, ledger = books()
    run_full_sync(cache, psa, ledger, since=None)
    for n in range(8):  # under the floor of 10 records, though 8% of the book
        ledger.delete("Invoice", f"q{n}")
    assert run_full_sync(cache, psa, ledger, since=None).status is SyncStatus.SUCCEEDED
    for n in range(8, 28):
        ledger.delete("Invoice", f"q{n}")
    run = run_full_sync(cache, psa, ledger, since=None, max_delete_percent=25)
    assert run.status is SyncStatus.SUCCEEDED
    assert cache.records.counts()["ledger_invoice"] == INVOICES - 28


def test_a_cache_holds_one_companys_books(cache: Cache) -> None:
    """The demo's emulator (another realm) must never mix into a real cache."""
    psa, ledger = books()
    run_full_sync(cache, psa, ledger, since=None)
    before = data_of(cache)
    other = FakeLedger(customers_by_id={"58": LedgerCustomer("58", "Blue Ridge Dental")},
                       book="qbo:9130355377388383")
    with pytest.raises(CacheError, match="holds the ledger books of fake-ledger:one, not qbo:"):
        run_full_sync(cache, psa, other, since=None)
    assert data_of(cache) == before


def test_a_failed_first_sync_binds_no_company(cache: Cache) -> None:
    psa, ledger = books()
    ledger.customers = lambda since=None: iter([1 / 0])  # type: ignore[method-assign]
    assert run_full_sync(cache, psa, ledger, since=None).status is SyncStatus.FAILED
    fixed = FakeLedger(customers_by_id={"58": LedgerCustomer("58", "Alpha Co")}, book="qbo:2")
    assert run_full_sync(cache, psa, fixed, since=None).status is SyncStatus.SUCCEEDED


def test_the_outcome_commits_with_the_data(cache: Cache) -> None:
    """A process dying right after the data COMMIT (here: the progress callback
    interrupted at "done") leaves a history that says what was written."""
    psa, ledger = books()

    def die_when_done(progress: SyncProgress) -> None:
        if progress.phase == "done":
            raise KeyboardInterrupt("SIGKILL stand-in")

    with pytest.raises(KeyboardInterrupt):
        run_full_sync(cache, psa, ledger, since=None, progress=die_when_done)
    [run] = cache.history.sync_runs(1)
    assert run.status is SyncStatus.SUCCEEDED
    assert {s.system: s.created for s in run.steps if s.name == "invoices"} == {
        "psa": INVOICES, "ledger": INVOICES}
    assert cache.records.counts()["ledger_invoice"] == INVOICES


def test_ctrl_c_while_reading_ends_the_run_cancelled_at_once(cache: Cache) -> None:
    psa, ledger = books()
    run_full_sync(cache, psa, ledger, since=None)
    before = data_of(cache)

    def interrupted(since: datetime | None = None) -> object:
        raise KeyboardInterrupt("SIGTERM")

    ledger.invoices = interrupted  # type: ignore[method-assign, assignment]
    with pytest.raises(KeyboardInterrupt):
        run_full_sync(cache, psa, ledger, since=None)
    [run] = cache.history.sync_runs(1)
    assert run.status is SyncStatus.CANCELLED
    assert run.error == "cancelled (SIGTERM); nothing written"
    assert run.finished_at is not None and run.finished_at <= datetime.now(UTC)
    assert data_of(cache) == before


def test_an_unexpected_error_still_ends_the_run(cache: Cache) -> None:
    psa, ledger = books()
    ledger.customers = lambda since=None: iter([LedgerCustomer("58", None)])  # type: ignore
    run = run_full_sync(cache, psa, ledger, since=None)
    assert run.status is SyncStatus.FAILED
    assert run.error and "nothing written" in run.error
    assert cache.history.sync_runs(1)[0].status is SyncStatus.FAILED


def test_disk_full_at_commit_is_named_and_writes_nothing(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.db")
    psa, ledger = books()
    run_full_sync(cache, psa, ledger, since=None)
    before = data_of(cache)
    pages = cache.conn.execute("PRAGMA page_count").fetchone()[0]
    cache.conn.execute(f"PRAGMA max_page_count={pages + 2}")  # SQLite's own "disk full"
    for n in range(INVOICES):
        psa.touch(PsaInvoice(id=f"new{n}", number=f"9{n:04}", company_id="1",
                             date=date(2026, 4, 1), total=Decimal("1.00"),
                             owing=Decimal("1.00")))
    run = run_full_sync(cache, psa, ledger, since=None)
    assert run.status is SyncStatus.FAILED
    assert "the disk is full; nothing was written" in (run.error or "")
    cache.conn.execute("PRAGMA max_page_count=1073741823")
    assert data_of(cache) == before
    cache.close()


@pytest.mark.parametrize("amount", ["1e30", "1e20", "-123456789012.00"])
def test_an_absurd_amount_fails_the_step_naming_record_and_field(
        tmp_path: Path, amount: str, capsys: pytest.CaptureFixture[str]) -> None:
    from recon_tui.cli import main
    from tests.emulator import config_file_for, running_emulator

    with running_emulator() as (server, book, _plan):
        invoice = next(iter(book.qbo["Invoice"].values()))
        invoice["TotalAmt"] = Decimal(amount)
        config = config_file_for(server, tmp_path)
        db = tmp_path / "cache.db"
        assert main(["sync", "--config", str(config), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"qbo invoice {invoice['Id']}" in err.lower() and "'TotalAmt'" in err
    assert "out of range" in err and "nothing written" in err
    with Cache(db) as cache:
        [run] = cache.history.sync_runs(1)
        assert run.status is SyncStatus.FAILED
        assert cache.records.counts()["ledger_invoice"] == 0


def test_the_demo_never_removes_a_real_companys_cache(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`--demo --reset-demo --db real.db` (or a stale demo fingerprint) must not
    delete a cache that holds a real company's books."""
    from recon_tui.cli import main
    from recon_tui.demo import reset_demo_cache

    real = tmp_path / "real.db"
    psa, ledger = books()
    with Cache(real) as cache:
        run_full_sync(cache, psa, ledger, since=None)
    with pytest.raises(CacheError, match="the demo never replaces it"):
        reset_demo_cache(real)
    assert main(["--demo", "--reset-demo", "--db", str(real)]) == 2
    assert "the demo never replaces it" in capsys.readouterr().err
    with Cache(real) as cache:
        assert cache.records.counts()["ledger_invoice"] == INVOICES
    demo = tmp_path / "demo.db"
    with Cache(demo) as cache:
        cache.check_book("ledger", "qbo:9130355377388383", claim=True)
    reset_demo_cache(demo)
    assert not demo.exists()
