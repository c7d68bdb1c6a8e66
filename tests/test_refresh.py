"""Incremental refresh gives exactly what a full refresh gives."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from msgspec.structs import replace

from recon_tui.backend import open_backend
from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.demo import load_demo
from recon_tui.models import CompanyMapping, LedgerInvoice, MappingMethod, PsaInvoice
from recon_tui.refresh import refresh_clients, refresh_invoices, refresh_reconciliation


def snapshot(cache: Cache) -> tuple[list, list]:
    pairs = sorted(tuple(r)[1:] for r in cache.conn.execute("SELECT * FROM invoice_pair"))
    summaries = sorted(tuple(r) for r in cache.conn.execute("SELECT * FROM client_summary"))
    return pairs, summaries


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    backend = open_backend(Config.default(), demo=True)
    with Cache(path) as cache:
        load_demo(cache, backend)
    backend.close()
    return path


@pytest.fixture
def demo(demo_file: Path, tmp_path: Path):
    path = tmp_path / "copy.db"
    shutil.copy(demo_file, path)
    cache = Cache(path)
    yield cache
    cache.close()


def matches_full_refresh(cache: Cache, tmp_path: Path) -> None:
    incremental = snapshot(cache)
    refresh_reconciliation(cache)
    assert snapshot(cache) == incremental


def test_balance_change_on_one_invoice(demo: Cache, tmp_path: Path) -> None:
    [row] = demo.recon.pairs_for_number("110273")
    ledger = demo.records.ledger_invoice(row.ledger_invoice_id)
    demo.records.upsert_ledger_invoices([replace(ledger, balance=Decimal("40.00"))])
    touched = refresh_invoices(demo, ledger_ids=[ledger.id])
    assert row.client_key in touched
    [after] = demo.recon.pairs_for_number("110273")
    assert (after.ledger_owing, after.difference_owing) == (Decimal("40.00"), Decimal("0.00"))
    assert not after.discrepant
    matches_full_refresh(demo, tmp_path)


def test_deleted_ledger_invoice_becomes_expected_but_not_found(demo: Cache,
                                                               tmp_path: Path) -> None:
    [row] = demo.recon.pairs_for_number("10040")
    demo.records.delete_ledger_invoices([row.ledger_invoice_id])
    refresh_invoices(demo, ledger_ids=[row.ledger_invoice_id])
    [after] = demo.recon.pairs_for_number("10040")
    assert after.status.value == "Ledger Invoice Expected but not Found"
    matches_full_refresh(demo, tmp_path)


def test_new_invoices_on_both_sides_and_a_renumbering(demo: Cache, tmp_path: Path) -> None:
    company = next(iter(demo.records.companies()))
    customer = next(iter(demo.records.customers()))
    demo.records.upsert_psa_invoices([PsaInvoice("new-1", "99001", company, date(2026, 11, 20),
                                                 Decimal("12.34"), Decimal("12.34"))])
    demo.records.upsert_ledger_invoices([LedgerInvoice("new-l", "99001", customer,
                                                       date(2026, 11, 20),
                                                       Decimal("12.34"), Decimal("2.34"))])
    [old] = demo.recon.pairs_for_number("110273")
    psa = demo.records.psa_invoice(old.psa_invoice_id)
    demo.records.upsert_psa_invoices([replace(psa, number="110273-A", ledger_invoice_id=None)])
    refresh_invoices(demo, psa_ids=["new-1", psa.id], ledger_ids=["new-l"],
                     numbers=["99001", "110273"])
    matches_full_refresh(demo, tmp_path)


def test_mapping_a_customer_moves_its_rows_and_credits(demo: Cache, tmp_path: Path) -> None:
    unmapped = next(s for s in demo.recon.client_page(unmapped_only=True, limit=1000)
                    if s.client_key.startswith("ledger:") and s.unapplied_credits)
    customer_id = unmapped.ledger_customer_ids[0]
    company_id = next(iter(demo.records.companies()))
    demo.records.add_mappings([CompanyMapping(customer_id, company_id, MappingMethod.MANUAL)])
    demo.recon.move_ledger_only_pairs(customer_id, f"psa:{company_id}")
    refresh_clients(demo, [unmapped.client_key, f"psa:{company_id}"])
    assert demo.recon.client(unmapped.client_key) is None
    assert demo.recon.client(f"psa:{company_id}").unapplied_credits >= unmapped.unapplied_credits
    matches_full_refresh(demo, tmp_path)
