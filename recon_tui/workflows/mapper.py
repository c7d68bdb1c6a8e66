"""The company mapper (seed 002): a person maps what the automatic mapping could
not map with certainty.

A :class:`MapperSession` walks the queue of unmapped ledger customers (biggest
open balance first), offers PSA companies ranked by fuzzy similarity (rapidfuzz)
to the current customer's name or to what the operator typed, maps, skips and
undoes. It is pure over the cache and knows nothing of the UI, so the screen only
drives it and the tests can drive it directly.

Every mapping change re-rolls just the two clients involved (the customer's old
and new client), which keeps the materialised reconciliation exactly what a full
refresh would compute while staying instant on a 200,000-invoice book.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from rapidfuzz import fuzz, process

from recon_tui.cache import Cache
from recon_tui.matching import CertainMatch, normalize_name
from recon_tui.models import CompanyMapping, LedgerCustomer, MappingMethod, PsaCompany
from recon_tui.refresh import refresh_clients

CANDIDATE_LIMIT = 25
# What was typed must resemble a company this much to stay in the list, so the list
# narrows as the operator types instead of only re-ordering.
TYPED_CUTOFF = 70


# --------------------------------------------------------------------------- one mapping
def customer_client_key(customer_id: str, company_id: str | None) -> str:
    """Where a customer's ledger-only invoices show: its company, or a client of its own."""
    return f"psa:{company_id}" if company_id else f"ledger:{customer_id}"


def set_mapping(cache: Cache, customer_id: str, mapping: CompanyMapping | None) -> set[str]:
    """Map (or, with None, unmap) one ledger customer and move its invoices at once.

    The mapping row, the customer's ledger-only rows and the two client roll-ups
    change in one transaction, so the clients screen never shows the invoices in
    both places or in neither. Returns the client keys that changed.
    """
    new_key = customer_client_key(customer_id, mapping.psa_company_id if mapping else None)
    with cache.transaction():  # read the old mapping under the write lock too
        previous = cache.mapper.company_mapping(customer_id)
        old_key = customer_client_key(customer_id,
                                      previous.psa_company_id if previous else None)
        if mapping is None:
            cache.records.remove_mapping(customer_id)
        else:
            cache.records.add_mappings([mapping])
        cache.recon.move_ledger_only_pairs(customer_id, new_key)
        refresh_clients(cache, sorted({old_key, new_key}))
    return {old_key, new_key}


def map_customer(cache: Cache, customer_id: str, company_id: str,
                 method: MappingMethod = MappingMethod.MANUAL) -> set[str]:
    """A person's decision: this ledger customer is that PSA company."""
    return set_mapping(cache, customer_id,
                       CompanyMapping(customer_id, company_id, method, datetime.now(UTC)))


def unmap_customer(cache: Cache, customer_id: str) -> CompanyMapping | None:
    """Undo a wrong mapping: the customer's invoices go back to a client of its own.
    Returns the mapping that was removed (None when there was none)."""
    previous = cache.mapper.company_mapping(customer_id)
    if previous is not None:
        set_mapping(cache, customer_id, None)
    return previous


def mapped_customers(cache: Cache, company_id: str) -> list[tuple[LedgerCustomer,
                                                                  CompanyMapping]]:
    """The ledger customers mapped to a PSA company, by name, for the unmap dialog."""
    ids = sorted(cache.recon.mapping_for_companies([company_id]))
    customers = cache.recon.customers_by_id(ids)
    result = []
    for customer_id in ids:
        mapping = cache.mapper.company_mapping(customer_id)
        if mapping is not None and customer_id in customers:
            result.append((customers[customer_id], mapping))
    result.sort(key=lambda pair: (pair[0].display_name.casefold(), pair[0].id))
    return result


# --------------------------------------------------------------------------- the session
@dataclass(frozen=True, slots=True)
class QueueEntry:
    """An unmapped ledger customer waiting for a person."""

    customer: LedgerCustomer
    invoice_count: int
    balance: Decimal

    @property
    def client_key(self) -> str:
        return f"ledger:{self.customer.id}"


class Verdict(StrEnum):
    """How many keys a candidate costs: the mapper's safety rule."""

    CERTAIN = "certain"    # the certain match (matching.CertainMatch), clean: one Enter
    DOUBTFUL = "doubtful"  # anything else: Enter asks, a second Enter maps
    PROBLEM = "problem"    # deleted or already mapped: Enter refuses, ctrl+y maps anyway


@dataclass(frozen=True, slots=True)
class Candidate:
    """A PSA company offered for the current customer, scored 0-100.

    ``score`` ranks the list (similarity to what was typed, else to the customer);
    ``name_score`` is always the similarity to the customer's name; ``certain``
    says :class:`~recon_tui.matching.CertainMatch` names this company.
    """

    company: PsaCompany
    score: int
    mapped_to: tuple[str, ...] = ()  # ledger customers already mapped to it
    name_score: int = 0
    certain: bool = False

    @property
    def deleted(self) -> bool:
        return self.company.deleted

    @property
    def problems(self) -> tuple[str, ...]:
        """What must be confirmed by name before mapping to this company."""
        found = []
        if self.company.deleted:
            found.append("deleted in the PSA")
        if self.mapped_to:
            found.append("already mapped to " + ", ".join(self.mapped_to))
        return tuple(found)

    @property
    def verdict(self) -> Verdict:
        if self.problems:
            return Verdict.PROBLEM
        return Verdict.CERTAIN if self.certain else Verdict.DOUBTFUL

    @property
    def note(self) -> str:
        """Why a person might hesitate: deleted, inactive or already mapped."""
        parts = []
        if self.company.deleted:
            parts.append("deleted in PSA")
        elif self.company.status and self.company.status.casefold() != "active":
            parts.append(self.company.status.casefold())
        if self.mapped_to:
            parts.append("already mapped: " + ", ".join(self.mapped_to))
        return "; ".join(parts)


class StepKind(StrEnum):
    MAP = "map"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Step:
    """One undoable decision of the session."""

    kind: StepKind
    index: int
    customer: LedgerCustomer
    company: PsaCompany | None = None
    previous: CompanyMapping | None = None
    touched: frozenset[str] = frozenset()


class MapperSession:
    """The mapper's state: the queue, where we are in it, and what undo reverses.

    Skipped customers stay unmapped (a later session offers them again); undo
    reverses the last map or skip and returns to that customer.
    """

    def __init__(self, cache: Cache, *, start_customer_id: str | None = None,
                 limit: int = CANDIDATE_LIMIT) -> None:
        self.cache = cache
        self.limit = limit
        self.queue: list[QueueEntry] = [QueueEntry(c, n, b)
                                        for c, n, b in cache.mapper.unmapped_customer_queue()]
        if start_customer_id is not None:
            # Opened from one client: that customer first, the rest as usual.
            first = [e for e in self.queue if e.customer.id == start_customer_id]
            self.queue = first + [e for e in self.queue if e.customer.id != start_customer_id]
        self.position = 0
        self.history: list[Step] = []
        self.reload_companies()

    def reload_companies(self) -> None:
        """Read the PSA companies again (after a sync) and normalise their names once,
        so ranking per keystroke is only a few rapidfuzz passes (C++, milliseconds
        for 10,000 companies)."""
        self.companies: dict[str, PsaCompany] = self.cache.records.companies()
        self._names = {cid: normalize_name(c.name) for cid, c in self.companies.items()}
        self._identifiers = {cid: c.identifier.casefold()
                             for cid, c in self.companies.items() if c.identifier}
        self.certainty = CertainMatch(self.companies.values())
        self._scored_for: str | None = None
        self._customer_scores: dict[str, float] = {}
        self._settle()

    # -- where we are
    @property
    def current(self) -> QueueEntry | None:
        return self.queue[self.position] if self.position < len(self.queue) else None

    @property
    def done(self) -> bool:
        return self.current is None

    @property
    def mapped_count(self) -> int:
        return sum(1 for s in self.history if s.kind is StepKind.MAP)

    @property
    def skipped_count(self) -> int:
        return sum(1 for s in self.history if s.kind is StepKind.SKIP)

    def _settle(self) -> None:
        """Pass over customers someone mapped meanwhile (a sync, another screen)."""
        while self.current is not None and self.cache.mapper.company_mapping(
                self.current.customer.id) is not None:
            self.position += 1

    # -- ranking
    def candidates(self, query: str = "") -> list[Candidate]:
        """PSA companies ranked for the current customer, best first.

        Without a query: similarity of the normalised names (the customer's display
        name and, when different, its QBO company name), the mean of rapidfuzz's
        WRatio (overall likeness, forgiving a typo or a missing word) and
        token_set_ratio (one name holds the other's words, in any order, so
        "Meridian Wealth" prefers "Meridian Wealth Advisors" to "Meridian Health").
        With a query: the best of partial_ratio (the typed text anywhere in the
        name, whatever the name's length: "gr" finds "Riverbend Auto Group") and
        WRatio (words in another order) against every company's name, and
        partial_ratio against its identifier; only those scoring ``TYPED_CUTOFF``
        or more stay, ties broken by similarity to the customer, so typing narrows
        the list without losing the context. Scores are 0-100.
        """
        entry = self.current
        by_customer = self._score_customer(entry.customer) if entry is not None else {}
        typed = normalize_name(query) if query.strip() else ""
        if typed:
            scores: dict[str, float] = {}
            for text, choices, scorer in (
                    (typed, self._names, fuzz.partial_ratio),
                    (typed, self._names, fuzz.WRatio),
                    (query.strip().casefold(), self._identifiers, fuzz.partial_ratio)):
                for cid, score in self._best_of(text, choices, scorer,
                                                TYPED_CUTOFF - 0.5).items():
                    scores[cid] = max(scores.get(cid, 0.0), score)
            scores = {cid: v for cid, v in scores.items() if round(v) >= TYPED_CUTOFF}
        else:
            scores = by_customer
        ranked = sorted(
            scores,
            key=lambda cid: (-round(scores[cid]), -by_customer.get(cid, 0.0),
                             self.companies[cid].deleted, self._names[cid], cid),
        )[: self.limit]
        mapped_to = self._mapped_to(ranked)
        certain = self.certain_company_id()
        return [Candidate(self.companies[cid], round(scores[cid]), mapped_to.get(cid, ()),
                          round(by_customer.get(cid, 0.0)), cid == certain)
                for cid in ranked]

    def recheck(self, candidate: Candidate) -> Candidate:
        """The candidate as the cache has it now: a sync or another screen may have
        deleted or mapped the company since the list was drawn."""
        company = self.cache.records.company(candidate.company.id) or candidate.company
        mapped_to = self._mapped_to([company.id]).get(company.id, ())
        return Candidate(company, candidate.score, mapped_to, candidate.name_score,
                         company.id == self.certain_company_id())

    def _mapped_to(self, company_ids: list[str]) -> dict[str, tuple[str, ...]]:
        """The names of the ledger customers already mapped to each company."""
        taken = self.cache.recon.mapping_for_companies(company_ids)
        owners = self.cache.recon.customers_by_id(sorted(taken))
        mapped_to: dict[str, list[str]] = {}
        for customer_id, company_id in sorted(taken.items()):
            name = owners[customer_id].display_name if customer_id in owners else customer_id
            mapped_to.setdefault(company_id, []).append(name)
        return {cid: tuple(sorted(names, key=str.casefold)) for cid, names in mapped_to.items()}

    def certain_company_id(self) -> str | None:
        """The company :class:`CertainMatch` names for the current customer, if any."""
        entry = self.current
        found = self.certainty.company_for(entry.customer) if entry is not None else None
        return found[0].id if found is not None else None

    def _score_customer(self, customer: LedgerCustomer) -> dict[str, float]:
        """Every company's similarity to the customer, computed once per customer."""
        if self._scored_for == customer.id:
            return self._customer_scores
        names = {normalize_name(customer.display_name), normalize_name(customer.company_name)}
        scores: dict[str, float] = {}
        for name in filter(None, names):
            likeness = self._best_of(name, self._names, fuzz.WRatio)
            words = self._best_of(name, self._names, fuzz.token_set_ratio)
            for cid, score in likeness.items():
                scores[cid] = max(scores.get(cid, 0.0), (score + words[cid]) / 2)
        self._scored_for, self._customer_scores = customer.id, scores
        return scores

    @staticmethod
    def _best_of(query: str, choices: dict[str, str],
                 scorer: Callable[..., float] = fuzz.WRatio,
                 cutoff: float = 0) -> dict[str, float]:
        """Every choice's score against ``query`` (one C++ pass; a few ms for 10k),
        only those at ``cutoff`` or above."""
        if not query or not choices:
            return {}
        return {key: score for _, score, key in
                process.extract(query, choices, scorer=scorer, processor=None, limit=None,
                                score_cutoff=cutoff)}

    # -- decisions
    def map(self, company_id: str) -> Step:
        """Map the current customer to ``company_id`` and move on to the next."""
        entry = self._require_current()
        company = self.companies.get(company_id) or self.cache.records.company(company_id)
        if company is None:
            raise KeyError(f"no PSA company {company_id}")
        previous = self.cache.mapper.company_mapping(entry.customer.id)
        touched = map_customer(self.cache, entry.customer.id, company_id)
        step = Step(StepKind.MAP, self.position, entry.customer, company, previous,
                    frozenset(touched))
        self.history.append(step)
        self.position += 1
        self._settle()
        return step

    def skip(self) -> Step:
        """Leave the current customer unmapped for now and move on."""
        entry = self._require_current()
        step = Step(StepKind.SKIP, self.position, entry.customer)
        self.history.append(step)
        self.position += 1
        self._settle()
        return step

    def undo(self) -> Step | None:
        """Reverse the last map or skip and return to that customer (None: nothing to undo)."""
        if not self.history:
            return None
        step = self.history[-1]
        if step.kind is StepKind.MAP:
            set_mapping(self.cache, step.customer.id, step.previous)
        self.history.pop()  # only once the cache agrees, so a failed write can be retried
        self.position = step.index
        return step

    def _require_current(self) -> QueueEntry:
        entry = self.current
        if entry is None:
            raise LookupError("the queue is empty")
        return entry


def queue_summary(session: MapperSession) -> str:
    """'3 of 20 · 2 mapped · 1 skipped', for status lines."""
    total = len(session.queue)
    at = min(session.position + 1, total)
    return (f"{at} of {total} · {session.mapped_count} mapped · "
            f"{session.skipped_count} skipped")


__all__ = [
    "Candidate",
    "MapperSession",
    "QueueEntry",
    "Step",
    "StepKind",
    "Verdict",
    "map_customer",
    "mapped_customers",
    "queue_summary",
    "set_mapping",
    "unmap_customer",
]
