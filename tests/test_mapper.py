"""The company mapper workflow (seed 002): ranking, map, skip, undo, unmap, the
identifier rule, and mappings surviving a full sync."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.matching import auto_mappings
from recon_tui.models import (
    CompanyMapping,
    CreditKind,
    LedgerCustomer,
    LedgerInvoice,
    MappingMethod,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.refresh import refresh_reconciliation
from recon_tui.sync import run_full_sync
from recon_tui.workflows.mapper import MapperSession, StepKind, map_customer, unmap_customer
from tests.emulator import backend_for, running_emulator
from tests.test_refresh import snapshot

# Ledger customer -> the PSA company it really is; the names only nearly match, so
# the certain-only automatic mapping leaves every one of them to a person.
PAIRS = [
    ("Atomar's Best Tackle", "Atomars Best Tackle LLC"),
    ("Brightline Architechts", "Brightline Architects, Inc."),
    ("Cedar Valley CU", "Cedar Valley Credit Union"),
    ("Dr. Olsen Family Dentistry", "Olsen Family Dentistry PC"),
    ("St. Mary's Clinic", "Saint Marys Clinic"),
    ("J&J Plumbing", "J & J Plumbing and Heating"),
    ("The Harbor Group", "Harbor Group Ltd"),
    ("Keller & Associates", "Keller and Associates CPA"),
    ("Riverbend Auto", "Riverbend Auto Group"),
    ("Pinecrest Vet Clinic", "Pinecrest Veterinary Clinic"),
    ("Summit Ortho", "Summit Orthopedics"),
    ("Lakeside Montessori", "Lakeside Montessori School"),
    ("Copper Line Electric", "Copperline Electric"),
    ("Sterling Property Mgmt", "Sterling Property Management"),
    ("Oak Hollow Peds", "Oak Hollow Pediatrics"),
    ("Coastal Breeze Hotel", "Coastal Breeze Hotels & Resorts"),
    ("Meridian Wealth", "Meridian Wealth Advisors LLC"),
    ("Granite State Ins. Agency", "Granite State Insurance Agency"),
    ("Willowcreek Senior Living", "Willow Creek Senior Living"),
    ("Globex Corp East", "Globex Corporation"),
]
# Look-alikes that a careless ranking would put first. The first is in the
# PSA's recycle bin.
DISTRACTORS = [
    "Atomic Bait & Tackle", "Brightway Architects", "Cedar Valley Dental", "Summit Orthodontics",
    "Riverbend Auto Body", "Lakeside Marina", "Meridian Health", "Northstar Electric",
    "Harbor Freight Movers", "Olsen Landscaping", "Saint Marks School", "Coastal Credit Union",
]
DAY = date(2026, 3, 1)


def customer_id(index: int) -> str:
    return str(index + 1)


def company_id(index: int) -> str:
    return str(100 + index)


def intended() -> dict[str, str]:
    return {customer_id(i): company_id(i) for i in range(len(PAIRS))}


def mapper_book(cache: Cache) -> None:
    """20 unmapped near-match customers, biggest balance first in list order. Each has
    an invoice matched by number (already under its PSA company) and one only the
    ledger has (under the unmapped customer until someone maps it); every fifth has
    a credit. "Globex Corporation" is already mapped, so "Globex Corp East" offers a
    company that is taken."""
    cache.records.upsert_companies(
        [PsaCompany(company_id(i), f"C{100 + i}", name) for i, (_, name) in enumerate(PAIRS)]
        + [PsaCompany(str(200 + i), f"D{200 + i}", name, deleted=i == 0)
           for i, name in enumerate(DISTRACTORS)])
    cache.records.upsert_customers(
        [LedgerCustomer(customer_id(i), name) for i, (name, _) in enumerate(PAIRS)]
        + [LedgerCustomer("G1", "Globex Corporation")])
    cache.records.upsert_psa_invoices([
        PsaInvoice(f"p{i}", str(5000 + i), company_id(i), DAY, Decimal("100.00"),
                   Decimal("100.00"))
        for i in range(len(PAIRS))])
    ledger = []
    for i in range(len(PAIRS)):
        ledger.append(LedgerInvoice(f"m{i}", str(5000 + i), customer_id(i), DAY,
                                    Decimal("100.00"), Decimal("100.00")))
        amount = Decimal(2000 - 50 * i)
        ledger.append(LedgerInvoice(f"l{i}", str(9000 + i), customer_id(i), DAY, amount, amount))
    ledger.append(LedgerInvoice("g1", "9900", "G1", DAY, Decimal("75.00"), Decimal("75.00")))
    cache.records.upsert_ledger_invoices(ledger)
    cache.records.upsert_credits([
        OrganizationalCredit(f"cm{i}", CreditKind.CREDIT_MEMO, customer_id(i), DAY,
                             Decimal("10.00"), Decimal("10.00"))
        for i in range(0, len(PAIRS), 5)])
    records = cache.records
    records.add_mappings(auto_mappings(records.customers().values(),
                                       records.companies().values(), records.mapping()))
    refresh_reconciliation(cache)


def matches_full_refresh(cache: Cache) -> None:
    incremental = snapshot(cache)
    refresh_reconciliation(cache)
    assert snapshot(cache) == incremental


def test_the_book_leaves_all_twenty_to_a_person(cache: Cache) -> None:
    mapper_book(cache)
    assert cache.records.mapping() == {"G1": company_id(19)}
    assert cache.records.unmapped_customer_count() == 20


def test_queue_is_biggest_balance_first(cache: Cache) -> None:
    mapper_book(cache)
    session = MapperSession(cache)
    assert [e.customer.display_name for e in session.queue] == [c for c, _ in PAIRS]
    first = session.current
    assert first is not None
    assert (first.invoice_count, first.balance) == (2, Decimal("2100.00"))


def test_the_near_match_ranks_first_with_a_score(cache: Cache) -> None:
    mapper_book(cache)
    session = MapperSession(cache)
    top, second, *_ = session.candidates()
    assert top.company.name == "Atomars Best Tackle LLC"
    assert 0 <= second.score < top.score <= 100
    assert second.company.name == "Atomic Bait & Tackle"
    assert second.deleted and "deleted in PSA" in second.note


def test_every_near_match_ranks_first_but_the_true_tie(cache: Cache) -> None:
    """"Riverbend Auto" is as much "Riverbend Auto Body" as "... Group": a person
    must choose, and the right one is then second."""
    mapper_book(cache)
    session = MapperSession(cache)
    for i, (name, company) in enumerate(PAIRS):
        ranked = [c.company.name for c in session.candidates()]
        if name == "Riverbend Auto":
            assert ranked[:2] == ["Riverbend Auto Body", company]
        else:
            assert ranked[0] == company, (name, ranked[:3])
        assert session.current is not None and session.current.customer.id == customer_id(i)
        session.skip()
    assert session.done


def test_typing_narrows_and_searches_identifiers(cache: Cache) -> None:
    mapper_book(cache)
    session = MapperSession(cache, start_customer_id=customer_id(8))  # Riverbend Auto
    everything = session.candidates()
    narrowed = session.candidates("gr")
    assert 0 < len(narrowed) < len(everything)
    # Several names hold "gr"; the one most like the customer comes first.
    assert narrowed[0].company.name == "Riverbend Auto Group"
    assert session.candidates("harbor fr")[0].company.name == "Harbor Freight Movers"
    assert session.candidates("C112")[0].company.id == company_id(12)  # an identifier
    assert session.candidates("zzzzqqq") == []


def test_a_taken_company_is_offered_but_marked(cache: Cache) -> None:
    mapper_book(cache)
    session = MapperSession(cache, start_customer_id=customer_id(19))  # Globex Corp East
    top = session.candidates()[0]
    assert top.company.name == "Globex Corporation"
    assert top.mapped_to == ("Globex Corporation",)
    assert "already mapped: Globex Corporation" in top.note
    session.map(top.company.id)
    summary = cache.recon.client(f"psa:{company_id(19)}")
    assert summary is not None and set(summary.ledger_customer_ids) == {"G1", customer_id(19)}
    matches_full_refresh(cache)


def test_mapping_moves_the_invoices_at_once(cache: Cache) -> None:
    mapper_book(cache)
    session = MapperSession(cache)
    loose = cache.recon.client("ledger:1")
    assert loose is not None and loose.invoice_count == 1 and not loose.mapped
    step = session.map(session.candidates()[0].company.id)
    assert step.kind is StepKind.MAP and step.touched == {"ledger:1", "psa:100"}
    assert cache.recon.client("ledger:1") is None
    client = cache.recon.client("psa:100")
    assert client is not None and client.mapped and client.ledger_customer_ids == ("1",)
    assert client.invoice_count == 2  # the matched pair and the ledger-only invoice
    assert client.ledger_balance == Decimal("2100.00")
    assert client.unapplied_credits == Decimal("10.00")
    assert {p.client_key for p in cache.recon.pairs_for_number("9000")} == {"psa:100"}
    assert cache.mapper.company_mapping("1").method is MappingMethod.MANUAL
    assert session.current is not None and session.current.customer.id == "2"
    matches_full_refresh(cache)


def test_undo_restores_the_unmapped_state_and_returns_to_the_customer(cache: Cache) -> None:
    mapper_book(cache)
    before = snapshot(cache)
    session = MapperSession(cache)
    session.map(company_id(0))
    session.skip()
    assert session.position == 2 and (session.mapped_count, session.skipped_count) == (1, 1)
    assert session.undo().kind is StepKind.SKIP
    assert session.current.customer.id == "2"
    undone = session.undo()
    assert undone is not None and undone.kind is StepKind.MAP
    assert session.current.customer.id == "1"
    assert "1" not in cache.records.mapping()
    assert snapshot(cache) == before  # rows, summaries and totals exactly as they were
    assert session.undo() is None
    session.map(company_id(0))  # and redo it
    assert cache.records.mapping()["1"] == company_id(0)
    matches_full_refresh(cache)


def test_a_whole_session_gives_exactly_the_intended_mappings(cache: Cache) -> None:
    mapper_book(cache)
    session = MapperSession(cache)
    while not session.done:
        name = session.current.customer.display_name
        query = "group" if name == "Riverbend Auto" else ""
        session.map(session.candidates(query)[0].company.id)
    mapping = cache.records.mapping()
    assert {k: v for k, v in mapping.items() if k != "G1"} == intended()
    assert cache.records.unmapped_customer_count() == 0
    assert cache.recon.count_clients(unmapped_only=True) == 0
    matches_full_refresh(cache)


def test_unmap_gives_the_invoices_back_to_the_customer(cache: Cache) -> None:
    mapper_book(cache)
    map_customer(cache, "1", company_id(0))
    removed = unmap_customer(cache, "1")
    assert removed is not None and removed.psa_company_id == company_id(0)
    loose = cache.recon.client("ledger:1")
    assert loose is not None and loose.invoice_count == 1
    assert cache.recon.client(f"psa:{company_id(0)}").ledger_customer_ids == ()
    assert unmap_customer(cache, "1") is None
    matches_full_refresh(cache)


def test_a_session_passes_over_customers_mapped_meanwhile(cache: Cache) -> None:
    mapper_book(cache)
    session = MapperSession(cache)
    map_customer(cache, "2", company_id(1))  # another screen, or a sync
    session.map(company_id(0))
    assert session.current.customer.id == "3"


# --------------------------------------------------------------------------- identifier rule
def test_identifier_rule_maps_a_shared_identifier_exactly() -> None:
    companies = [PsaCompany("1", "AtomarsBT", "Atomars Best Tackle LLC"),
                 PsaCompany("2", "Globex", "Globex Corporation"),
                 PsaCompany("3", "Dup", "Dup One"), PsaCompany("4", "Dup", "Dup Two")]
    customers = [
        LedgerCustomer("a", "Atomar's Best Tackle", company_name="AtomarsBT"),
        LedgerCustomer("b", "Atomar's (old account)", company_name="atomarsbt"),  # not exact
        LedgerCustomer("c", "Globex Corporation", company_name="AtomarsBT"),  # rules disagree
        LedgerCustomer("d", "Someone", company_name="Dup"),  # identifier not unique
        LedgerCustomer("e", "Globex Corp.", company_name="Globex"),  # both rules agree
        LedgerCustomer("f", "Mapped already", company_name="Globex"),
    ]
    found = {m.ledger_customer_id: (m.psa_company_id, m.method)
             for m in auto_mappings(customers, companies, {"f": "1"})}
    assert found == {"a": ("1", MappingMethod.AUTO_IDENTIFIER),
                     "e": ("2", MappingMethod.AUTO_EXACT)}


def test_identifier_rule_runs_inside_the_sync(cache: Cache) -> None:
    mapper_book(cache)
    cache.records.upsert_customers([LedgerCustomer(customer_id(0), PAIRS[0][0],
                                                   company_name="C100")])
    records = cache.records
    records.add_mappings(auto_mappings(records.customers().values(),
                                       records.companies().values(), records.mapping()))
    assert cache.mapper.company_mapping(customer_id(0)).method is MappingMethod.AUTO_IDENTIFIER


# --------------------------------------------------------------------------- survives a sync
def test_a_manual_mapping_survives_a_full_sync(tmp_path: Path) -> None:
    with running_emulator() as (server, _book, _plan), backend_for(server) as backend, \
            Cache(tmp_path / "synced.db") as cache:
        assert run_full_sync(cache, backend.psa, backend.ledger, since=None).status.value \
            == "succeeded"
        assert "97" not in cache.records.mapping()  # Atomar's Best Tackle: left to a person
        session = MapperSession(cache, start_customer_id="97")
        top = session.candidates()[0]
        assert top.company.name == "Atomars Best Tackle LLC"
        session.map(top.company.id)
        matches_full_refresh(cache)
        rerun = run_full_sync(cache, backend.psa, backend.ledger, since=date(2025, 1, 1))
        assert rerun.status.value == "succeeded"
        mapping = cache.mapper.company_mapping("97")
        assert mapping is not None
        assert (mapping.psa_company_id, mapping.method) == (top.company.id, MappingMethod.MANUAL)
        client = cache.recon.client(f"psa:{top.company.id}")
        assert client is not None and "97" in client.ledger_customer_ids
        assert cache.recon.client("ledger:97") is None
        # Umbrella Health Partners is mapped (exactly) to a company in the recycle bin.
        umbrella = cache.mapper.company_mapping("101")
        assert umbrella is not None
        bin_id = umbrella.psa_company_id
        assert cache.mapper.deleted_company_ids([bin_id]) == {bin_id}


def test_a_mapping_survives_a_sync_that_recomputes_everything(cache: Cache) -> None:
    """Without the emulator: the same guarantee from the auto-mapper's side."""
    mapper_book(cache)
    map_customer(cache, "1", "200")  # deliberately the deleted look-alike
    new = auto_mappings(cache.records.customers().values(), cache.records.companies().values(),
                        cache.records.mapping())
    assert all(m.ledger_customer_id != "1" for m in new)
    cache.records.add_mappings(new)
    refresh_reconciliation(cache)
    assert cache.records.mapping()["1"] == "200"
    assert cache.mapper.deleted_company_ids(["200", "100"]) == {"200"}


def test_cache_queue_counts_every_unmapped_customer(cache: Cache) -> None:
    mapper_book(cache)
    cache.records.upsert_customers([LedgerCustomer("nobody", "No Invoices Yet")])
    queue = cache.mapper.unmapped_customer_queue()
    assert len(queue) == cache.records.unmapped_customer_count() == 21
    assert queue[-1][0].id == "nobody" and queue[-1][1:] == (0, Decimal("0.00"))
    g1 = cache.mapper.company_mapping("G1")
    assert g1 == CompanyMapping("G1", company_id(19), MappingMethod.AUTO_EXACT, g1.created_at)
