"""Name normalisation and certain-only automatic mapping (seed 002).

Automatic mapping happens only with certainty: a ledger customer maps to a PSA
company when their normalised names are equal and exactly one PSA company
has that normalised name, or when the customer's QBO ``CompanyName`` is exactly
one PSA company's identifier (ConnectWise ``identifier``, Autotask
``companyNumber``): a shared identifier someone typed on purpose. Everything else
waits in the unmapped queue for a person (the company mapper). The rule is
:class:`CertainMatch`; the mapper uses the same class to decide which candidate
maps on one Enter.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from recon_tui.models import CompanyMapping, LedgerCustomer, MappingMethod, PsaCompany

# Legal-form words dropped from the end of a name ("Contoso, Ltd." == "Contoso Ltd").
LEGAL_SUFFIXES = frozenset({
    "llc", "l l c", "inc", "incorporated", "ltd", "limited", "co", "company", "corp",
    "corporation", "plc", "llp", "lp", "gmbh", "ag", "sa", "sarl", "bv", "nv", "pty", "pte",
    "aps", "ab", "oy", "srl", "spa", "kg",
})
_PUNCTUATION = re.compile(r"[^\w]+", re.UNICODE)


def normalize_name(name: str) -> str:
    """Casefold, punctuation to spaces, collapse spacing, drop trailing legal forms.

    Punctuation becomes a space rather than vanishing, so "Atomar's" stays distinct
    from "Atomars": a near match is a person's call, not ours.
    """
    text = unicodedata.normalize("NFKC", name).casefold().replace("&", " and ")
    words = _PUNCTUATION.sub(" ", text).replace("_", " ").split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    # "l l c" written with dots ("L.L.C.") arrives as three words.
    while len(words) > 3 and " ".join(words[-3:]) in LEGAL_SUFFIXES:
        del words[-3:]
    return " ".join(words)


class CertainMatch:
    """The one definition of a *certain* match between a ledger customer and a PSA
    company, used by the automatic mapping (every sync) and by the company mapper
    (where only a certain candidate maps on a single Enter).

    A company is certain for a customer when either rule names it alone:

    * **name**: the customer's normalised display name (:func:`normalize_name`)
      equals the company's, and no other PSA company has that normalised name;
    * **identifier**: the customer's QBO ``CompanyName`` (stripped) equals the
      company's identifier (ConnectWise ``identifier``, Autotask ``companyNumber``)
      exactly, and no other company has that identifier.

    When both rules answer and name different companies, nothing is certain.
    Deleted (recycle-bin) companies take part: they still own their old invoices.
    """

    def __init__(self, companies: Iterable[PsaCompany]) -> None:
        self._by_name: dict[str, list[PsaCompany]] = defaultdict(list)
        self._by_identifier: dict[str, list[PsaCompany]] = defaultdict(list)
        for company in companies:
            self._by_name[normalize_name(company.name)].append(company)
            if identifier := company.identifier.strip():
                self._by_identifier[identifier].append(company)

    def named(self, name: str) -> list[PsaCompany]:
        """Every company whose normalised name equals ``name``'s."""
        key = normalize_name(name)
        return list(self._by_name.get(key, [])) if key else []

    def identified(self, identifier: str) -> list[PsaCompany]:
        """Every company with exactly this identifier."""
        key = identifier.strip()
        return list(self._by_identifier.get(key, [])) if key else []

    def company_for(self, customer: LedgerCustomer) -> tuple[PsaCompany, MappingMethod] | None:
        """The certain company for ``customer`` and the rule that found it, or None."""
        key = normalize_name(customer.display_name)
        named = self._by_name.get(key, []) if key else []
        by_name = named[0] if len(named) == 1 else None
        shared = customer.company_name.strip()
        identified = self._by_identifier.get(shared, []) if shared else []
        by_id = identified[0] if len(identified) == 1 else None
        if by_name is not None and by_id is not None and by_name.id != by_id.id:
            return None  # the two rules disagree: not certain
        if by_name is not None:
            return by_name, MappingMethod.AUTO_EXACT
        if by_id is not None:
            return by_id, MappingMethod.AUTO_IDENTIFIER
        return None


def auto_mappings(
    customers: Iterable[LedgerCustomer],
    companies: Iterable[PsaCompany],
    existing: Mapping[str, str],
    *,
    now: datetime | None = None,
) -> list[CompanyMapping]:
    """New certain mappings (:class:`CertainMatch`) for customers not mapped yet.
    Duplicate customers ("Globex Corp." and "Globex Corporation") may both map to
    one company; the report flags the duplicate. Existing mappings, manual or
    automatic, are never touched."""
    # A daily sync of a mapped book has no customer to map: the company index is
    # only built when one is left.
    pending = [customer for customer in customers if customer.id not in existing]
    if not pending:
        return []
    rule = CertainMatch(companies)
    stamp = now or datetime.now(UTC)
    result = []
    for customer in pending:
        found = rule.company_for(customer)
        if found is not None:
            company, method = found
            result.append(CompanyMapping(customer.id, company.id, method, stamp))
    return result
