"""Name normalisation and certain-only automatic mapping (seed 002).

Automatic mapping happens only with certainty: a ledger customer maps to a PSA
company when their normalised names are equal and exactly one PSA company
has that normalised name, or when the customer's QBO ``CompanyName`` is exactly
one PSA company's identifier (ConnectWise ``identifier``, Autotask
``companyNumber``): a shared identifier someone typed on purpose. Everything else
waits in the unmapped queue for a person (the company mapper).
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


def auto_mappings(
    customers: Iterable[LedgerCustomer],
    companies: Iterable[PsaCompany],
    existing: Mapping[str, str],
    *,
    now: datetime | None = None,
) -> list[CompanyMapping]:
    """New certain mappings for customers not mapped yet: the normalised name
    matches exactly one PSA company, or the customer's ``company_name`` equals
    exactly one PSA company's identifier. When both rules answer and disagree
    nothing is certain, so the customer waits for a person. Duplicate customers
    ("Globex Corp." and "Globex Corporation") may both map to one company; the
    report flags the duplicate. Existing mappings, manual or automatic, are never
    touched."""
    by_norm_company: dict[str, list[PsaCompany]] = defaultdict(list)
    by_identifier: dict[str, list[PsaCompany]] = defaultdict(list)
    for company in companies:
        # Deleted (recycle-bin) companies still own their old invoices: an exact
        # match to one is still certain, and the client screen flags the deletion.
        by_norm_company[normalize_name(company.name)].append(company)
        if identifier := company.identifier.strip():
            by_identifier[identifier].append(company)

    stamp = now or datetime.now(UTC)
    result = []
    for customer in customers:
        if customer.id in existing:
            continue
        key = normalize_name(customer.display_name)
        named = by_norm_company.get(key, []) if key else []
        by_name = named[0] if len(named) == 1 else None
        shared = customer.company_name.strip()
        identified = by_identifier.get(shared, []) if shared else []
        by_id = identified[0] if len(identified) == 1 else None
        if by_name is not None and by_id is not None and by_name.id != by_id.id:
            continue  # the two rules disagree: not certain
        if by_name is not None:
            result.append(CompanyMapping(customer.id, by_name.id, MappingMethod.AUTO_EXACT,
                                         stamp))
        elif by_id is not None:
            result.append(CompanyMapping(customer.id, by_id.id, MappingMethod.AUTO_IDENTIFIER,
                                         stamp))
    return result
