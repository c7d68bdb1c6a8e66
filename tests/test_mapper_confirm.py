"""The mapper's safety rule without the UI: which Enter maps (certain: one key;
doubtful: two; deleted or already mapped: never Enter, ctrl+y after it), and the
evidence the cache gives for each candidate and for a tie."""

from __future__ import annotations

from decimal import Decimal

from recon_tui.cache import Cache
from recon_tui.models import Contact, LedgerCustomer, LedgerInvoice, PsaCompany, PsaInvoice
from recon_tui.refresh import refresh_reconciliation
from recon_tui.workflows.mapper import MapperSession, Verdict, map_customer
from recon_tui.workflows.mapper_confirm import (
    Answer,
    Confirmation,
    evidence_for,
    tie_differences,
    tied_with,
)
from tests.test_mapper import DAY, company_id, customer_id, mapper_book


def add_unmapped(cache: Cache, *customers: LedgerCustomer) -> None:
    """Customers added after the book's automatic mapping ran: they wait for a person."""
    cache.records.upsert_customers(list(customers))
    refresh_reconciliation(cache)


def session_on(cache: Cache, customer: str) -> tuple[MapperSession, Confirmation]:
    session = MapperSession(cache, start_customer_id=customer)
    assert session.current is not None and session.current.customer.id == customer
    return session, Confirmation(session)


# --------------------------------------------------------------------------- the verdicts
def test_an_exact_normalised_name_is_certain_and_maps_on_one_enter(cache: Cache) -> None:
    mapper_book(cache)
    add_unmapped(cache, LedgerCustomer("X1", "HARBOR FREIGHT MOVERS, Inc."))
    session, confirm = session_on(cache, "X1")
    top = session.candidates()[0]
    assert (top.company.name, top.certain, top.verdict) == \
        ("Harbor Freight Movers", True, Verdict.CERTAIN)
    assert [c for c in session.candidates() if c.certain] == [top]  # one certain at most
    outcome = confirm.enter(top)
    assert outcome.answer is Answer.MAPPED and cache.records.mapping()["X1"] == "208"


def test_the_identifier_in_the_company_name_is_certain(cache: Cache) -> None:
    mapper_book(cache)
    add_unmapped(cache, LedgerCustomer("X2", "Summit (billing)", company_name="C110"))
    session, confirm = session_on(cache, "X2")
    [certain] = [c for c in session.candidates("summit") if c.certain]
    assert certain.company.id == company_id(10) and certain.verdict is Verdict.CERTAIN
    evidence = evidence_for(cache.mapper, session, [certain])[certain.company.id]
    assert evidence.value("identifier") == "C110 (= the ledger's company name)"
    assert "the ledger's company name is its identifier" in evidence.value("match")
    assert confirm.enter(certain).answer is Answer.MAPPED


def test_a_near_match_asks_once_and_the_second_enter_maps(cache: Cache) -> None:
    mapper_book(cache)
    session, confirm = session_on(cache, customer_id(0))  # Atomar's Best Tackle
    top = session.candidates()[0]
    assert top.company.name == "Atomars Best Tackle LLC" and top.verdict is Verdict.DOUBTFUL
    asked = confirm.enter(top)
    assert asked.answer is Answer.ASKED and customer_id(0) not in cache.records.mapping()
    assert "name score" in asked.message and "the names differ" in asked.message
    assert "Enter again maps it" in asked.message
    mapped = confirm.enter(top)
    assert mapped.answer is Answer.MAPPED and mapped.step is not None
    assert cache.records.mapping()[customer_id(0)] == company_id(0)
    assert not confirm.pending  # the next customer starts with no question


def test_a_question_is_about_one_candidate_and_is_forgotten(cache: Cache) -> None:
    mapper_book(cache)
    session, confirm = session_on(cache, customer_id(2))  # Cedar Valley CU
    first, second, *_ = session.candidates()
    assert confirm.enter(first).answer is Answer.ASKED
    assert confirm.enter(second).answer is Answer.ASKED  # another: asked anew
    assert confirm.asked_about(second.company.id) and not confirm.asked_about(
        first.company.id)
    confirm.forget(unless_company_id=second.company.id)  # kept: still about it
    assert confirm.pending
    confirm.forget()  # the cursor moved away
    assert confirm.enter(second).answer is Answer.ASKED
    assert customer_id(2) not in cache.records.mapping()


def test_a_deleted_company_refuses_enter_and_names_why(cache: Cache) -> None:
    mapper_book(cache)
    session, confirm = session_on(cache, customer_id(0))
    deleted = session.candidates()[1]
    assert deleted.company.name == "Atomic Bait & Tackle" and deleted.verdict is Verdict.PROBLEM
    early = confirm.map_anyway(deleted)  # ctrl+y before Enter said what it confirms
    assert early.answer is Answer.REFUSED and "Press Enter" in early.message
    for _ in range(2):  # Enter never maps it, however often
        refused = confirm.enter(deleted)
        assert refused.answer is Answer.REFUSED
        assert "Atomic Bait & Tackle is deleted in the PSA" in refused.message
        assert "ctrl+y maps anyway" in refused.message
    assert customer_id(0) not in cache.records.mapping()
    assert confirm.map_anyway(deleted).answer is Answer.MAPPED
    assert cache.records.mapping()[customer_id(0)] == "200"


def test_an_exact_name_of_a_deleted_company_is_still_not_one_key(cache: Cache) -> None:
    mapper_book(cache)
    add_unmapped(cache, LedgerCustomer("X3", "Atomic Bait and Tackle"))
    session, confirm = session_on(cache, "X3")
    top = session.candidates()[0]
    assert top.certain and top.verdict is Verdict.PROBLEM
    assert confirm.enter(top).answer is Answer.REFUSED


def test_an_already_mapped_company_names_its_customer(cache: Cache) -> None:
    mapper_book(cache)
    session, confirm = session_on(cache, customer_id(19))  # Globex Corp East
    top = session.candidates()[0]
    assert top.problems == ("already mapped to Globex Corporation",)
    refused = confirm.enter(top)
    assert refused.answer is Answer.REFUSED
    assert "is already mapped to Globex Corporation" in refused.message
    assert confirm.map_anyway(top).answer is Answer.MAPPED


def test_a_company_mapped_after_the_list_was_drawn_is_refused(cache: Cache) -> None:
    mapper_book(cache)
    add_unmapped(cache, LedgerCustomer("X4", "Harbor Freight Movers"))
    session, confirm = session_on(cache, "X4")
    shown = session.candidates()[0]
    assert shown.verdict is Verdict.CERTAIN
    map_customer(cache, customer_id(6), shown.company.id)  # another screen, meanwhile
    now = session.recheck(shown)
    assert now.problems == ("already mapped to The Harbor Group",)
    assert confirm.enter(now).answer is Answer.REFUSED
    assert "X4" not in cache.records.mapping()


# --------------------------------------------------------------------------- the evidence
def test_the_evidence_reads_the_cache(cache: Cache) -> None:
    mapper_book(cache)
    cache.records.upsert_contacts([
        Contact("k1", company_id(0), "Ann", "A", email="ann@AtomarsBT.example.com"),
        Contact("k2", company_id(0), "Bob", "B", email="bob@atomarsbt.example.com"),
        Contact("k3", company_id(0), "Cy", "C", email="cy@gmail.example.com"),
        Contact("k4", company_id(0), "Di", "D", email="no at sign"),
        Contact("k5", company_id(0), "Ed", "E", email=None),
    ])
    cache.records.upsert_psa_invoices([PsaInvoice("px", "10", company_id(0), DAY, Decimal("5.00"),
                                                  Decimal("2.50"))])
    cache.records.upsert_ledger_invoices([LedgerInvoice("lx", "10", customer_id(0), DAY,
                                                        Decimal("5.00"), Decimal("5.00"))])
    session, _ = session_on(cache, customer_id(0))
    top, deleted, *_ = session.candidates()
    evidence = evidence_for(cache.mapper, session, [top, deleted])
    mine = evidence[top.company.id]
    assert mine.facts.email_domains == ("atomarsbt.example.com", "gmail.example.com")
    assert mine.value("contacts' e-mail") == "@atomarsbt.example.com, @gmail.example.com"
    # Its PSA invoice 5000 is also the customer's ledger invoice 5000, and now 10 too.
    assert mine.facts.shared_numbers == ("10", "5000") and mine.facts.shared_count == 2
    assert mine.value("invoice numbers shared") == "2 (10, 5000)"
    assert mine.value("PSA owes") == "102.50 on 2 invoices"
    assert mine.value("match").startswith(f"name score {top.name_score}, not certain")
    other = evidence[deleted.company.id]
    assert other.value("invoice numbers shared") == "none"
    assert other.value("contacts' e-mail") == "none on file"
    assert other.value("PSA owes") == "0.00 on 0 invoices"
    assert other.value("status") == "deleted"


def test_many_shared_numbers_are_counted_and_a_few_shown(cache: Cache) -> None:
    mapper_book(cache)
    numbers = ["INV-2", "11", "9", "100"]
    cache.records.upsert_psa_invoices([PsaInvoice(f"q{n}", n, company_id(0), DAY, Decimal("1.00"),
                                                  Decimal("1.00")) for n in numbers])
    cache.records.upsert_ledger_invoices([LedgerInvoice(f"r{n}", n, customer_id(0), DAY,
                                                        Decimal("1.00"), Decimal("1.00"))
                                          for n in numbers])
    session, _ = session_on(cache, customer_id(0))
    top = session.candidates()[0]
    facts = evidence_for(cache.mapper, session, [top])[top.company.id].facts
    assert facts.shared_count == 5  # the four and the book's own 5000
    assert facts.shared_numbers == ("9", "11", "100")  # natural order, the first three
    assert evidence_for(cache.mapper, session, [top])[top.company.id].value(
        "invoice numbers shared") == "5 (9, 11, 100, …)"


def test_a_tie_shows_what_differs(cache: Cache) -> None:
    mapper_book(cache)
    session, _ = session_on(cache, customer_id(8))  # Riverbend Auto
    candidates = session.candidates()
    body, group = candidates[:2]
    assert body.score == group.score
    assert tied_with(body, candidates) == [group]
    evidence = evidence_for(cache.mapper, session, [body, group])
    differing = dict(tie_differences(evidence[body.company.id], [evidence[group.company.id]]))
    assert differing["identifier"] == ["D204", "C108"]
    assert differing["invoice numbers shared"] == ["none", "1 (5008)"]
    assert differing["PSA owes"] == ["0.00 on 0 invoices", "100.00 on 1 invoice"]
    assert "status" not in differing and "match" not in differing


def test_a_tie_nothing_tells_apart_says_so(cache: Cache) -> None:
    cache.records.upsert_companies([PsaCompany("1", "", "Twin Peaks Ltd"),
                                    PsaCompany("2", "", "Twin Peaks LLC")])
    cache.records.upsert_customers([LedgerCustomer("c", "Twin Peaks")])
    refresh_reconciliation(cache)
    session, confirm = session_on(cache, "c")
    one, two = session.candidates()
    assert one.score == two.score == 100 and not one.certain and not two.certain
    evidence = evidence_for(cache.mapper, session, [one, two])
    assert tie_differences(evidence["1"], [evidence["2"]]) == []
    asked = confirm.enter(one)
    assert asked.answer is Answer.ASKED
    assert "2 PSA companies have this name once normalised" in asked.message
