"""Data-hygiene checks (seed 003): the data problems that make syncs fail or
reconciliations drift before any number is wrong.

Each check is a rule with a stated source. Findings name the system, the record
and what to fix; a check that cannot be run on what the cache keeps says so
("not checked") instead of reporting a clean bill of health.

Rules and their sources
-----------------------
``name-chars``
    QuickBooks Online, Customer entity, business rules (developer.intuit.com, API
    reference, Accounting > Customer): "The DisplayName, Title, GivenName,
    MiddleName, FamilyName, Suffix, and PrintOnCheckName attributes must not
    contain colon (:), tab (\\t), or newline (\\n) characters." QBO answers such a
    name with error 2040 "Invalid String ... Element contains invalid characters";
    the colon is QBO's parent:sub-customer separator (``FullyQualifiedName``). A
    carriage return is treated as a newline. Other control characters cannot be
    carried in QBO's XML payloads either, so they are flagged under the same rule.
``name-length``
    Same reference: ``DisplayName`` max 500 characters (rejected), ``CompanyName``
    max 100 characters (a PSA company exported with its name as the QBO company
    name longer than that is rejected), ``PrintOnCheckName`` max 110 (defaulted
    from DisplayName).
``name-spaces``
    Leading or trailing spaces and runs of spaces: QBO stores names trimmed, so a
    name that differs only in spacing no longer matches its counterpart and shows
    up as a "Duplicate Name Exists" (6240) on export (integration vendors' support
    articles report exactly this). A warning, not a rejection.
``doc-number``
    QBO Invoice ``DocNumber``: "The maximum length for DocNumber is 21 characters"
    (Intuit .NET SDK reference, Transaction.DocNumber). A PSA invoice number longer
    than that cannot keep its number in the ledger and will only pair by a
    recorded link.
``duplicates``
    QBO ``DisplayName`` "must be unique across all Customer, Vendor and Employee
    objects" (error 6240), and seed 003 ("duplicate customers and missed invoices
    follow"): records of one system whose names are equal after
    :func:`recon_tui.matching.normalize_name`, or (when rapidfuzz is installed)
    whose normalised names score ``fuzz.ratio >= 92`` and carry the same numbers.
``line-types``
    Seed 003 "Unsupported invoice line items". The cache keeps invoice headers
    only, no lines, so this check is reported as not checked.
``voided-owing``
    GUIDE "Known traps: voided invoices (total and balance 0)": a ledger invoice
    voided while the PSA still shows money owing on it.
``currency``
    GUIDE "Known traps: multi-currency invoices": the report's totals add amounts
    as they are, so invoices in a currency other than the book's main one are
    listed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

from recon_tui.matching import normalize_name
from recon_tui.models import LedgerCustomer, PsaCompany

try:  # another engineer adds rapidfuzz to the dependencies; work without it too
    from rapidfuzz import fuzz as _fuzz
    from rapidfuzz import process as _process
except ImportError:  # pragma: no cover - exercised only where rapidfuzz is missing
    _fuzz = None
    _process = None

QBO_DISPLAY_NAME_MAX = 500
QBO_COMPANY_NAME_MAX = 100
QBO_DOC_NUMBER_MAX = 21
NEAR_DUPLICATE_SCORE = 92

ERROR = "error"
WARNING = "warning"

CHECKED = "checked"
NOT_CHECKED = "not checked"


@dataclass(frozen=True, slots=True)
class HygieneCheck:
    """One rule: what it checks, where the rule comes from, and whether it ran."""

    code: str
    title: str
    rule: str
    source: str
    status: str = CHECKED
    findings: int = 0
    note: str = ""


@dataclass(frozen=True, slots=True)
class HygieneFinding:
    """One record breaking one rule."""

    check: str
    severity: str
    system: str  # "psa" | "ledger"
    record_type: str  # "company" | "customer" | "invoice"
    record_id: str
    name: str
    detail: str


CHECKS: dict[str, HygieneCheck] = {
    c.code: c for c in (
        HygieneCheck(
            "name-chars", "Names with characters the ledger rejects",
            "no colon, tab, newline, carriage return or other control character in a "
            "customer/company name",
            "QuickBooks Online API reference, Customer: business rules (colon, tab, "
            "newline); error 2040 Invalid String"),
        HygieneCheck(
            "name-length", "Names longer than the ledger accepts",
            f"DisplayName at most {QBO_DISPLAY_NAME_MAX} characters, CompanyName at most "
            f"{QBO_COMPANY_NAME_MAX}",
            "QuickBooks Online API reference, Customer: DisplayName max 500, "
            "CompanyName max 100"),
        HygieneCheck(
            "name-spaces", "Names with stray spaces",
            "no leading or trailing spaces and no runs of spaces",
            "QBO stores names trimmed; spacing differences surface as Duplicate Name "
            "Exists (6240) on export"),
        HygieneCheck(
            "doc-number", "PSA invoice numbers too long for the ledger",
            f"invoice number at most {QBO_DOC_NUMBER_MAX} characters",
            "QuickBooks Online API reference: DocNumber maximum length 21"),
        HygieneCheck(
            "duplicates", "Duplicate or near-duplicate customers and companies",
            "names equal after normalising case, punctuation, spacing and legal "
            f"suffixes, or at least {NEAR_DUPLICATE_SCORE}% alike once normalised",
            "QBO DisplayName must be unique (error 6240); a duplicate customer splits a "
            "client's invoices between two names"),
        HygieneCheck(
            "line-types", "Invoices with line types the ledger cannot take",
            "every invoice line maps to an item type the ledger accepts",
            "invoice lines of a type the ledger has no item for cannot be exported"),
        HygieneCheck(
            "voided-owing", "Voided ledger invoices still owing in the PSA",
            "a ledger invoice that is voided has nothing owing in the PSA",
            "a voided invoice has total and balance 0 in QBO, so the PSA's owing "
            "amount is no longer owed anywhere"),
        HygieneCheck(
            "currency", "Invoices in another currency",
            "amounts in the report's totals share one currency",
            "the totals add amounts as they are, whatever their currency"),
    )
}

_DIGITS = re.compile(r"[0-9]+")
_REJECTED = {":": "colon", "\t": "tab", "\n": "newline", "\r": "carriage return"}


# --------------------------------------------------------------------------- single names
def name_problems(name: str, *, company_name_limit: bool = True) -> list[tuple[str, str, str]]:
    """(check, severity, detail) for every rule ``name`` breaks."""
    problems: list[tuple[str, str, str]] = []
    bad = sorted({_REJECTED[ch] for ch in name if ch in _REJECTED})
    controls = sorted({f"U+{ord(ch):04X}" for ch in name
                       if ch not in _REJECTED and unicodedata.category(ch) == "Cc"})
    if bad or controls:
        what = ", ".join(bad + [f"control character {c}" for c in controls])
        problems.append(("name-chars", ERROR, f"contains {what}: QBO rejects it"))
    length = len(name)
    if length > QBO_DISPLAY_NAME_MAX:
        problems.append(("name-length", ERROR,
                         f"{length} characters: QBO DisplayName takes at most "
                         f"{QBO_DISPLAY_NAME_MAX}"))
    elif company_name_limit and length > QBO_COMPANY_NAME_MAX:
        problems.append(("name-length", ERROR,
                         f"{length} characters: QBO CompanyName takes at most "
                         f"{QBO_COMPANY_NAME_MAX}"))
    if name != name.strip(" \u00a0"):
        problems.append(("name-spaces", WARNING, "leading or trailing spaces"))
    elif "  " in name:
        problems.append(("name-spaces", WARNING, "runs of spaces inside the name"))
    return problems


# --------------------------------------------------------------------------- duplicates
def duplicate_groups(names: Mapping[str, str]) -> list[list[str]]:
    """Ids whose names are equal after :func:`normalize_name`, groups of two or more."""
    groups: dict[str, list[str]] = defaultdict(list)
    for record_id, name in names.items():
        key = normalize_name(name)
        if key:
            groups[key].append(record_id)
    return sorted((sorted(ids) for ids in groups.values() if len(ids) > 1),
                  key=lambda ids: (normalize_name(names[ids[0]]), ids))


def near_duplicates(names: Mapping[str, str],
                    score_cutoff: int = NEAR_DUPLICATE_SCORE) -> list[tuple[str, str, int]]:
    """Pairs (id_a, id_b, score) whose normalised names differ but score at least
    ``score_cutoff`` with rapidfuzz's ``fuzz.ratio`` and carry the same numbers
    ("Store 12" and "Store 13" are two customers, not a typo). Names are compared within
    blocks sharing their first character (a typo in the very first letter is not
    caught), which keeps a 10,000-name book to a fraction of a second. Empty when
    rapidfuzz is not installed (see :func:`fuzzy_available`)."""
    if _process is None or _fuzz is None:
        return []
    by_norm: dict[str, list[str]] = defaultdict(list)
    for record_id, name in names.items():
        key = normalize_name(name)
        if key:
            by_norm[key].append(record_id)
    blocks: dict[str, list[str]] = defaultdict(list)
    for key in by_norm:
        blocks[key[0]].append(key)
    found: list[tuple[str, str, int]] = []
    for keys in blocks.values():
        if len(keys) < 2:
            continue
        keys.sort()
        for index, key in enumerate(keys[:-1]):
            rest = keys[index + 1:]
            numbers = _DIGITS.findall(key)
            for _match, score, position in _process.extract(
                    key, rest, scorer=_fuzz.ratio, score_cutoff=score_cutoff, limit=None):
                other = rest[position]
                if _DIGITS.findall(other) != numbers:
                    continue  # "Store 12" and "Store 13" are two places, not a typo
                for a in by_norm[key]:
                    for b in by_norm[other]:
                        first, second = sorted((a, b))
                        found.append((first, second, round(score)))
    found.sort(key=lambda t: (-t[2], t[0], t[1]))
    return found


def fuzzy_available() -> bool:
    return _process is not None


class InvoiceRow(Protocol):
    """What the invoice checks read of a report row (a side missing: its id None)."""

    psa_invoice_id: str | None
    psa_invoice_number: str | None
    psa_status: str | None
    psa_owing: Decimal | None
    ledger_invoice_id: str | None
    ledger_invoice_number: str | None
    ledger_total: Decimal | None
    ledger_voided: bool
    currency: str


# --------------------------------------------------------------------------- the run
def run_checks(
    *,
    companies: Mapping[str, PsaCompany],
    customers: Mapping[str, LedgerCustomer],
    pairs: Collection[InvoiceRow],
    company_scope: Iterable[str] | None = None,
    customer_scope: Iterable[str] | None = None,
    currencies: Mapping[str, int] | None = None,
) -> tuple[list[HygieneCheck], list[HygieneFinding]]:
    """Every check over the book's names and the report's rows (``pairs``: read
    once, twice when the book mixes currencies; a streamed view is enough).
    With ``currencies`` (rows per currency, in the order each first appears) the
    counting is done already and ``pairs`` may hold only the rows a check could
    flag, in report order: a number longer than QBO takes, a voided ledger side
    with PSA money owing, a currency other than the book's main one.

    Duplicates are looked for across the whole book (a client's duplicate lives
    elsewhere); with a scope, only findings touching the scoped companies and
    customers are kept.
    """
    companies_in = set(companies) if company_scope is None else set(company_scope)
    customers_in = set(customers) if customer_scope is None else set(customer_scope)
    findings = _name_findings(companies, customers, companies_in, customers_in)
    counted: Counter[str] = Counter(currencies or {})
    findings += _row_findings(pairs, counted if currencies is None else None)
    if len(counted) > 1:
        findings += _currency_findings(pairs, counted.most_common(1)[0][0])
    order = {code: index for index, code in enumerate(CHECKS)}
    findings.sort(key=lambda f: (order[f.check], f.severity != ERROR, f.system,
                                 f.name.casefold(), f.record_id))
    return _check_results(findings), findings


def _name_findings(companies: Mapping[str, PsaCompany], customers: Mapping[str, LedgerCustomer],
                   companies_in: set[str], customers_in: set[str]) -> list[HygieneFinding]:
    """Each scoped name's problems, then the duplicates across the whole book."""
    findings: list[HygieneFinding] = []
    for company_id in sorted(companies_in):
        company = companies.get(company_id)
        if company is None:
            continue
        for check, severity, detail in name_problems(company.name):
            findings.append(HygieneFinding(check, severity, "psa", "company", company.id,
                                           company.name, detail))
    for customer_id in sorted(customers_in):
        customer = customers.get(customer_id)
        if customer is None:
            continue
        for check, severity, detail in name_problems(customer.display_name,
                                                     company_name_limit=False):
            findings.append(HygieneFinding(check, severity, "ledger", "customer", customer.id,
                                           customer.display_name, detail))
    findings.extend(_duplicate_findings("psa", "company",
                                        {i: c.name for i, c in companies.items()},
                                        companies_in))
    findings.extend(_duplicate_findings("ledger", "customer",
                                        {i: c.display_name for i, c in customers.items()},
                                        customers_in))
    return findings


def _row_findings(pairs: Collection[InvoiceRow], counted: Counter[str] | None
                  ) -> list[HygieneFinding]:
    """Numbers too long for QBO and voided ledger sides with PSA money owing;
    each row's currency counted into ``counted`` when it is given."""
    findings: list[HygieneFinding] = []
    for row in pairs:
        psa = row.psa_invoice_id is not None
        number = row.psa_invoice_number or ""
        if psa and len(number) > QBO_DOC_NUMBER_MAX:
            findings.append(HygieneFinding(
                "doc-number", ERROR, "psa", "invoice", row.psa_invoice_id or "", number,
                f"{len(number)} characters: QBO DocNumber takes at most "
                f"{QBO_DOC_NUMBER_MAX}"))
        if (row.ledger_total is not None and row.ledger_voided and psa
                and row.psa_owing is not None and row.psa_owing != 0):
            findings.append(HygieneFinding(
                "voided-owing", ERROR, "psa", "invoice", row.psa_invoice_id or "", number,
                f"ledger invoice {row.ledger_invoice_number or row.ledger_invoice_id} is "
                f"voided but the PSA still shows {row.psa_owing:,.2f} owing (status "
                f"{row.psa_status or 'unknown'})"))
        if counted is not None:
            counted[row.currency] += 1
    return findings


def _currency_findings(pairs: Collection[InvoiceRow], main: str) -> list[HygieneFinding]:
    """Every row in a currency other than the book's main one."""
    findings = []
    for row in pairs:
        if row.currency != main:
            if row.ledger_total is not None:
                system, record = "ledger", row.ledger_invoice_id or ""
                number = row.ledger_invoice_number or ""
            else:
                system, record = "psa", row.psa_invoice_id or ""
                number = row.psa_invoice_number or ""
            findings.append(HygieneFinding(
                "currency", WARNING, system, "invoice", record, number,
                f"in {row.currency}, summed with {main} amounts as they are"))
    return findings


def _check_results(findings: list[HygieneFinding]) -> list[HygieneCheck]:
    """Each check with its count of findings, or why it was not (fully) run."""
    counts = Counter(f.check for f in findings)
    checks = []
    for code, check in CHECKS.items():
        if code == "line-types":
            checks.append(replace(check, status=NOT_CHECKED, note=(
                "not checked: the cache keeps invoice totals and balances only, no "
                "invoice lines, so line types cannot be checked from it")))
        elif code == "duplicates" and not fuzzy_available():
            checks.append(replace(check, findings=counts[code], note=(
                "exact normalised-name duplicates only: rapidfuzz is not installed, so "
                "near-duplicates were not looked for")))
        else:
            checks.append(replace(check, findings=counts[code]))
    return checks


def _duplicate_findings(system: str, record_type: str, names: Mapping[str, str],
                        scope: set[str]) -> list[HygieneFinding]:
    label = "company" if record_type == "company" else "customer"
    findings: list[HygieneFinding] = []
    for group in duplicate_groups(names):
        for record_id in group:
            if record_id not in scope:
                continue
            others = [f"{names[o]!r} (id {o})" for o in group if o != record_id]
            findings.append(HygieneFinding(
                "duplicates", WARNING, system, record_type, record_id, names[record_id],
                f"same normalised name as {label} {', '.join(others)}"))
    for a, b, score in near_duplicates(names):
        for record_id, other in ((a, b), (b, a)):
            if record_id in scope:
                findings.append(HygieneFinding(
                    "duplicates", WARNING, system, record_type, record_id, names[record_id],
                    f"near-duplicate of {label} {names[other]!r} (id {other}), "
                    f"{score}% alike"))
    return findings
