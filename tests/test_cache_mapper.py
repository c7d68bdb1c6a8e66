"""``cache.mapper``: what the company mapper reads, on its own over a small book."""

from __future__ import annotations

from decimal import Decimal

from recon_tui.cache import Cache
from recon_tui.cache.mapper import SHARED_NUMBERS_SHOWN, CompanyFacts, MappingReads
from recon_tui.models import (
    CompanyMapping,
    Contact,
    LedgerCustomer,
    MappingMethod,
    PsaCompany,
)
from tests.books import ledger_invoice, psa_invoice


def small_book(cache: Cache) -> None:
    cache.records.upsert_companies([PsaCompany("1", "NORTH", "Northwind"),
                                    PsaCompany("2", "GONE", "Gone Co", deleted=True)])
    cache.records.upsert_contacts([
        Contact("a", "1", "Ada", "N", email="ada@North.example"),
        Contact("b", "1", "Bo", "N", email="bo@north.example"),
        Contact("c", "1", "Cy", "N", email="cy@gmail.example"),
        Contact("d", "1", "Di", "N", email="no-at-sign"),
    ])
    cache.records.upsert_customers([LedgerCustomer("58", "Northwind"),
                                    LedgerCustomer("59", "Small"),
                                    LedgerCustomer("60", "Mapped")])
    numbers = ["10", "9", "11", "A-1", "12"]
    cache.records.upsert_psa_invoices([psa_invoice(n, "1", "10.00", "4.00") for n in numbers])
    cache.records.upsert_ledger_invoices([
        *(ledger_invoice(n, "58", "10.00", "10.00") for n in numbers),
        ledger_invoice("900", "59", "1.00", "1.00"), ledger_invoice("901", "59", "1.00", "1.00"),
        ledger_invoice("902", "60", "500.00", "500.00"),
    ])
    cache.records.add_mappings([CompanyMapping("60", "1", MappingMethod.MANUAL)])


def test_the_part_is_reached_as_an_attribute_and_shares_the_connection(cache: Cache) -> None:
    assert isinstance(cache.mapper, MappingReads)
    assert cache.mapper.conn is cache.conn
    assert not hasattr(cache, "unmapped_customer_queue")  # no longer on the Cache itself


def test_the_queue_is_the_unmapped_customers_biggest_balance_first(cache: Cache) -> None:
    small_book(cache)
    queue = cache.mapper.unmapped_customer_queue()
    assert [(c.id, n, owing) for c, n, owing in queue] == [
        ("58", 5, Decimal("50.00")), ("59", 2, Decimal("2.00"))]  # 60 is mapped


def test_a_mapping_reads_back_with_its_method(cache: Cache) -> None:
    small_book(cache)
    mapping = cache.mapper.company_mapping("60")
    assert mapping is not None and (mapping.psa_company_id, mapping.method) == (
        "1", MappingMethod.MANUAL)
    assert mapping.created_at is not None
    assert cache.mapper.company_mapping("58") is None


def test_only_companies_in_the_recycle_bin_are_deleted(cache: Cache) -> None:
    small_book(cache)
    assert cache.mapper.deleted_company_ids(["1", "2", "unknown"]) == {"2"}
    assert cache.mapper.deleted_company_ids([]) == set()


def test_company_facts_count_domains_invoices_and_shared_numbers(cache: Cache) -> None:
    small_book(cache)
    facts = cache.mapper.company_facts(["1", "2", "1"], "58")
    assert set(facts) == {"1", "2"}
    north = facts["1"]
    assert north.email_domains == ("north.example", "gmail.example")  # most used first
    assert (north.psa_invoice_count, north.psa_owing) == (5, Decimal("20.00"))
    assert north.shared_count == 5  # exact, though only a few are listed
    assert north.shared_numbers == ("9", "10", "11")[:SHARED_NUMBERS_SHOWN]  # natural order
    assert facts["2"] == CompanyFacts("2")
