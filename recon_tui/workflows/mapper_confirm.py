"""The company mapper's safety: which Enter maps, and why a candidate ranks.

A person maps hundreds of customers with Enter, so Enter must never map a wrong
company quietly. The rule (:class:`~recon_tui.workflows.mapper.Verdict`):

* a **certain** candidate (the one :class:`~recon_tui.matching.CertainMatch`
  names: exact normalised name or exact identifier, alone) that is neither deleted
  nor already mapped maps on one Enter;
* any other candidate is **doubtful**: the first Enter asks, with the evidence on
  screen, and a second Enter on the same candidate maps (two keys);
* a **deleted** or **already-mapped** company is a **problem**: Enter never maps
  it; it names the problem and ``ctrl+y`` maps anyway.

:class:`Confirmation` holds the one question asked; :func:`evidence_for` and
:func:`tie_differences` say what the cache knows of each candidate (name score,
identifier, contacts' e-mail domains, shared invoice numbers, open balances) and,
for candidates tied on score, what tells them apart. Pure over the cache; the
screen only renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from recon_tui.cache.mapper import CompanyFacts, MappingReads
from recon_tui.matching import normalize_name
from recon_tui.models import LedgerCustomer
from recon_tui.money import format_money
from recon_tui.workflows.mapper import Candidate, MapperSession, Step, Verdict

#: Other candidates compared with the highlighted one when they tie on score.
TIE_SHOWN = 3


# --------------------------------------------------------------------------- the question
class Answer(StrEnum):
    MAPPED = "mapped"      # the mapping was written
    ASKED = "asked"        # doubtful: Enter again on it maps
    REFUSED = "refused"    # a problem: only ctrl+y maps it


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one key did, and the sentence that says so."""

    answer: Answer
    candidate: Candidate
    message: str
    step: Step | None = None


@dataclass(frozen=True, slots=True)
class _Asked:
    customer_id: str
    company_id: str


class Confirmation:
    """The question pending for one (customer, candidate): at most one at a time,
    forgotten as soon as the cursor, the search or the customer changes."""

    def __init__(self, session: MapperSession) -> None:
        self.session = session
        self._asked: _Asked | None = None

    @property
    def pending(self) -> bool:
        """A question is waiting for its answer."""
        return self._asked is not None

    def asked_about(self, company_id: str) -> bool:
        entry = self.session.current
        return (self._asked is not None and entry is not None
                and self._asked == _Asked(entry.customer.id, company_id))

    def forget(self, unless_company_id: str | None = None) -> None:
        """Drop the question (kept when it is about ``unless_company_id``)."""
        if unless_company_id is None or not self.asked_about(unless_company_id):
            self._asked = None

    def enter(self, candidate: Candidate) -> Outcome:
        """Enter on ``candidate``: map a certain one; ask once about a doubtful one
        and map it on the second Enter; refuse a problem one, naming the problem."""
        name = candidate.company.name
        if candidate.verdict is Verdict.PROBLEM:
            self._ask(candidate)
            return Outcome(Answer.REFUSED, candidate,
                           f"Not mapped: {name} is {' and '.join(candidate.problems)}. "
                           f"ctrl+y maps anyway; ↑↓ or typing picks another.")
        if candidate.verdict is Verdict.CERTAIN or self.asked_about(candidate.company.id):
            return self._map(candidate)
        self._ask(candidate)
        why = why_doubtful(self.session, candidate)
        return Outcome(Answer.ASKED, candidate,
                       f"{name} is not a certain match (name score {candidate.name_score}: "
                       f"{why}). "
                       f"Enter again maps it; ↑↓ or typing picks another.")

    def map_anyway(self, candidate: Candidate) -> Outcome:
        """ctrl+y: the explicit confirm, only for the candidate Enter just asked about."""
        if not self.asked_about(candidate.company.id):
            return Outcome(Answer.REFUSED, candidate,
                           f"Press Enter on {candidate.company.name} first: it says what "
                           f"ctrl+y would confirm.")
        return self._map(candidate)

    def _ask(self, candidate: Candidate) -> None:
        entry = self.session.current
        assert entry is not None
        self._asked = _Asked(entry.customer.id, candidate.company.id)

    def _map(self, candidate: Candidate) -> Outcome:
        step = self.session.map(candidate.company.id)  # may raise: nothing changed then
        self._asked = None
        return Outcome(Answer.MAPPED, candidate, f"Mapped to {candidate.company.name}", step)


def same_name(customer: LedgerCustomer, candidate: Candidate) -> bool:
    """The customer's display name and the company's are equal once normalised."""
    return bool(normalize_name(customer.display_name)) and \
        normalize_name(customer.display_name) == normalize_name(candidate.company.name)


def why_doubtful(session: MapperSession, candidate: Candidate) -> str:
    """The short reason a candidate is not certain (see CertainMatch)."""
    entry = session.current
    assert entry is not None
    customer = entry.customer
    if same_name(customer, candidate):
        twins = session.certainty.named(candidate.company.name)
        if len(twins) > 1:
            return f"{len(twins)} PSA companies have this name once normalised"
        owners = session.certainty.identified(customer.company_name)
        if len(owners) == 1 and owners[0].id != candidate.company.id:
            return f"the ledger's company name is the identifier of {owners[0].name}"
    return "the names differ"


# --------------------------------------------------------------------------- the evidence
@dataclass(frozen=True, slots=True)
class Evidence:
    """Why one candidate ranks: labelled facts, in the order a person reads them."""

    candidate: Candidate
    facts: CompanyFacts
    rows: tuple[tuple[str, str], ...]

    def value(self, label: str) -> str:
        return dict(self.rows).get(label, "")


def evidence_for(mapper: MappingReads, session: MapperSession,
                 candidates: Sequence[Candidate]) -> dict[str, Evidence]:
    """The evidence of every candidate given (a few on screen), by company id."""
    entry = session.current
    if entry is None or not candidates:
        return {}
    customer = entry.customer
    facts = mapper.company_facts([c.company.id for c in candidates], customer.id)
    result = {}
    for candidate in candidates:
        known = facts.get(candidate.company.id, CompanyFacts(candidate.company.id))
        result[candidate.company.id] = Evidence(
            candidate, known, _rows(session, candidate, known, customer))
    return result


def _rows(session: MapperSession, candidate: Candidate, facts: CompanyFacts,
          customer: LedgerCustomer) -> tuple[tuple[str, str], ...]:
    company = candidate.company
    by_identifier = bool(company.identifier.strip()) and \
        company.identifier.strip() == customer.company_name.strip()
    if candidate.certain:
        match = ("certain, the ledger's company name is its identifier" if by_identifier
                 and not same_name(customer, candidate)
                 else "certain, the same name once normalised")
    else:
        match = "not certain, " + why_doubtful(session, candidate)
    match = f"name score {candidate.name_score}, {match}"
    identifier = company.identifier or "none"
    if by_identifier:
        identifier += " (= the ledger's company name)"
    domains = ", ".join("@" + d for d in facts.email_domains[:3]) or "none on file"
    if len(facts.email_domains) > 3:
        domains += f" and {len(facts.email_domains) - 3} more"
    if facts.shared_count:
        shown = ", ".join(facts.shared_numbers)
        more = "…" if facts.shared_count > len(facts.shared_numbers) else ""
        shared = f"{facts.shared_count} ({shown}{', ' + more if more else ''})"
    else:
        shared = "none"
    status = "deleted" if company.deleted else (company.status or "Active")
    return (
        ("match", match),
        ("identifier", identifier),
        ("contacts' e-mail", domains),
        ("invoice numbers shared", shared),
        ("PSA owes", _owes(facts.psa_owing, facts.psa_invoice_count)),
        ("status", status),
        ("mapped to", ", ".join(candidate.mapped_to) or "nobody yet"),
    )


def _owes(amount: Decimal, count: int) -> str:
    return f"{format_money(amount)} on {count:,} invoice{'s' if count != 1 else ''}"


def tied_with(candidate: Candidate, candidates: Sequence[Candidate]) -> list[Candidate]:
    """The other candidates on the same score, which a person must tell apart."""
    return [c for c in candidates
            if c.company.id != candidate.company.id and c.score == candidate.score][:TIE_SHOWN]


def tie_differences(chosen: Evidence, others: Sequence[Evidence]) -> list[tuple[str, list[str]]]:
    """For a tie: each fact whose value is not the same for all, with every value
    (the chosen candidate's first). Empty when nothing in the cache tells them apart."""
    differing = []
    for label, value in chosen.rows:
        if label == "match":
            continue
        values = [value] + [other.value(label) for other in others]
        if len(set(values)) > 1:
            differing.append((label, values))
    return differing


__all__ = [
    "Answer",
    "Confirmation",
    "Evidence",
    "Outcome",
    "evidence_for",
    "same_name",
    "tie_differences",
    "tied_with",
    "why_doubtful",
]
