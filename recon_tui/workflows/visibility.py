""""Why can't the client see invoice N?" (seed 002), answered in the seed's order.

The portal shows an invoice only when (1) it exists in the ledger, (2) the
ledger customer is mapped to the PSA company with certainty, (3) a contact has
a portal security level at or above the "considered client admin" minimum, and
(4) a sync has brought it into the cache. Each check is computed from the
cache and, when the systems can be reached, from a live lookup in both; the
first check that fails is the answer, and each failure carries the action that
fixes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from recon_tui.cache import Cache, PairRow
from recon_tui.config import ConfigError
from recon_tui.connectors.base import ConnectorError, LedgerConnector, PsaConnector
from recon_tui.models import LedgerInvoice, PsaCompany, PsaInvoice, ReconStatus


class Action(StrEnum):
    """What the operator can do next, offered by the screen."""

    NONE = ""
    OPEN_MAPPER = "open the company mapper"
    FULL_SYNC = "run a full sync"
    OPEN_CLIENT = "open the client"


@dataclass(frozen=True, slots=True)
class Check:
    title: str
    ok: bool | None  # None: could not be decided (e.g. the earlier check failed)
    detail: str


@dataclass(slots=True)
class Explanation:
    number: str
    checks: list[Check] = field(default_factory=list)
    verdict: str = ""
    action: Action = Action.NONE
    sync_since: date | None = None
    client_key: str | None = None
    live_error: str | None = None

    @property
    def visible(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


@dataclass(slots=True)
class _Found:
    """What each source knows about the number."""

    cached: list[PairRow]
    live_psa: PsaInvoice | None = None
    live_ledger: LedgerInvoice | None = None
    live_checked: bool = False
    cached_psa: PairRow | None = None  # a cached row with the PSA side
    cached_ledger: PairRow | None = None  # a cached row with the ledger side


@dataclass(frozen=True, slots=True)
class _Client:
    """The PSA company a mapped ledger customer belongs to, with the names shown."""

    customer_name: str
    company_id: str
    company: PsaCompany | None
    company_name: str


def _look_live(number: str, psa: PsaConnector | None, ledger: LedgerConnector | None,
               found: _Found) -> str | None:
    if psa is None or ledger is None:
        return "the systems were not consulted (offline); the cache alone was searched"
    try:
        found.live_psa = psa.invoice_by_number(number)
        found.live_ledger = ledger.invoice_by_doc_number(number)
        if found.live_ledger is None and found.live_psa and found.live_psa.ledger_invoice_id:
            found.live_ledger = ledger.invoice_by_id(found.live_psa.ledger_invoice_id)
    except (ConnectorError, ConfigError) as exc:
        return f"could not search the systems live ({exc}); the cache alone was searched"
    found.live_checked = True
    return None


def explain_invoice(cache: Cache, number: str, *, minimum_level: int,
                    psa: PsaConnector | None = None, ledger: LedgerConnector | None = None,
                    today: Callable[[], date] = date.today) -> Explanation:
    """Run the checks for invoice ``number`` (PSA number or ledger doc number), in the
    seed's order; the first that fails is the answer."""
    number = number.strip()
    result = Explanation(number)
    found = _Found(cached=cache.recon.pairs_for_number(number))
    result.live_error = _look_live(number, psa, ledger, found)
    found.cached_psa = next((r for r in found.cached if r.psa_invoice_id), None)
    found.cached_ledger = next((r for r in found.cached if r.status in (
        ReconStatus.MATCHED, ReconStatus.NOT_IN_PSA)), None)
    in_psa = found.live_psa is not None or found.cached_psa is not None
    in_ledger = (found.live_ledger is not None if found.live_checked
                 else found.cached_ledger is not None)

    if not in_psa and not in_ledger and not found.cached:
        result.verdict = (f"No invoice {number} in the PSA or the ledger"
                          + ("." if found.live_checked else " cache (systems not searched)."))
        result.checks.append(Check("Invoice exists", False, result.verdict))
        return result
    if not _in_ledger(cache, result, found, in_ledger):
        return result
    client = _mapped(cache, result, found)
    if client is None:
        return result
    names = _contacts_can_see(cache, result, client, minimum_level)
    if names is None or not _synced(result, found, today):
        return result
    result.verdict = (f"Invoice {number} is in both systems, {client.customer_name!r} is "
                      f"mapped to {client.company_name!r}, and {names} can see invoices: it "
                      "should be visible.")
    result.action = Action.OPEN_CLIENT
    return result


def _in_ledger(cache: Cache, result: Explanation, found: _Found, in_ledger: bool) -> bool:
    """1. In the ledger: the portal shows only invoices the accounting software has."""
    cached_psa, cached_ledger = found.cached_psa, found.cached_ledger
    if in_ledger:
        ledger_no = (found.live_ledger.doc_number if found.live_ledger
                     else cached_ledger.ledger_number if cached_ledger else result.number)
        result.checks.append(Check("In the ledger", True, f"ledger invoice {ledger_no}"))
        return True
    exported = cache.records.psa_invoice(cached_psa.psa_invoice_id) if (
        cached_psa and cached_psa.psa_invoice_id) else None
    if cached_psa and cached_psa.status is ReconStatus.EXPECTED_NOT_FOUND:
        why = ("it was paired with a ledger invoice the ledger no longer has (deleted "
               "or unlinked there)")
    elif exported is not None and exported.exported:
        why = ("the PSA says it was exported, but no ledger invoice carries its number "
               "(deleted in the ledger, or exported to another company file)")
    else:
        why = "it has not been exported to the ledger yet"
    result.checks.append(Check("In the ledger", False, f"not in the ledger: {why}"))
    result.verdict = (f"Invoice {result.number} is not in the ledger yet: the portal shows "
                      "invoices only once they exist in the accounting software. Export "
                      "it from the PSA (or re-link it), then sync.")
    return False


def _mapped(cache: Cache, result: Explanation, found: _Found) -> _Client | None:
    """2. The ledger customer is mapped to a PSA company with certainty."""
    cached_ledger = found.cached_ledger
    customer_id = (found.live_ledger.customer_id if found.live_ledger
                   else cached_ledger.ledger_customer_id if cached_ledger else None)
    customer = cache.records.customer(customer_id) if customer_id else None
    customer_name = customer.display_name if customer else (customer_id or "?")
    company_id = cache.recon.mapping_for_customers([customer_id]).get(customer_id) if (
        customer_id) else None
    if company_id is None:
        result.checks.append(Check("Customer mapped", False,
                                   f"ledger customer {customer_name!r} is not mapped to a PSA "
                                   "company"))
        result.verdict = (f"The ledger customer {customer_name!r} is not mapped to a PSA company "
                          "with certainty, so its invoices are set aside. Map it in the company "
                          "mapper.")
        result.action = Action.OPEN_MAPPER
        result.client_key = f"ledger:{customer_id}"
        return None
    company = cache.records.company(company_id)
    company_name = company.name if company else company_id
    result.client_key = f"psa:{company_id}"
    deleted = " (deleted in the PSA)" if company and company.deleted else ""
    result.checks.append(Check("Customer mapped", True,
                               f"{customer_name!r} -> PSA company {company_name!r}{deleted}"))
    return _Client(customer_name, company_id, company, company_name)


def _contacts_can_see(cache: Cache, result: Explanation, client: _Client,
                      minimum_level: int) -> str | None:
    """3. Some contact can log in to the portal at a level that shows invoices: their
    names, or None (and the verdict) when nobody can."""
    company = client.company
    contacts = [c for c in cache.recon.company_contacts(client.company_id) if not c.inactive]
    portal_off = company is not None and not company.portal_active
    login_off = [c for c in contacts if c.portal_login_disabled]
    allowed = [] if portal_off else [
        c for c in contacts
        if not c.portal_login_disabled and (c.portal_security_level or 0) >= minimum_level]
    if not allowed:
        detail, verdict = _nobody_can_see(client.company_name, contacts, login_off,
                                          minimum_level, portal_off)
        result.checks.append(Check("A contact can see invoices", False, detail))
        result.verdict = verdict
        result.action = Action.OPEN_CLIENT
        return None
    names = ", ".join(c.full_name or c.id for c in allowed)
    result.checks.append(Check("A contact can see invoices", True, names))
    return names


def _synced(result: Explanation, found: _Found, today: Callable[[], date]) -> bool:
    """4. The cache holds it, and current: otherwise an earlier sync missed it."""
    cached_ledger = found.cached_ledger
    in_cache = cached_ledger is not None
    invoice_date = (found.live_ledger.date if found.live_ledger
                    else cached_ledger.invoice_date if cached_ledger else today())
    stale = (found.live_ledger is not None and cached_ledger is not None
             and found.live_ledger.balance != cached_ledger.ledger_owing)
    if not in_cache or stale:
        result.sync_since = invoice_date - timedelta(days=1)
        what = "is not in the cache" if not in_cache else "is out of date in the cache"
        result.checks.append(Check("Synced", False,
                                   f"it {what}: an earlier sync missed it"))
        result.verdict = (f"Invoice {result.number} {what}: an earlier sync missed it. Run a "
                          f"full sync from {result.sync_since.isoformat()} (before the "
                          "invoice date).")
        result.action = Action.FULL_SYNC
        return False
    result.checks.append(Check("Synced", True, "in the cache and current"))
    return True


def _nobody_can_see(company: str, contacts: list, login_off: list, minimum_level: int,
                    portal_off: bool) -> tuple[str, str]:
    """(check detail, verdict) naming exactly why nobody at the company sees invoices."""
    if portal_off:
        return ("the client portal is switched off for the whole company",
                f"The client portal is switched off for {company!r} in the PSA (Autotask: "
                "the company's Client Portal is not active), so none of its contacts can "
                "log in. Switch it on for the company.")
    if not contacts:
        return ("no active contacts at all",
                f"{company!r} has no active contact in the PSA. Add or reactivate the "
                "client's contact and give it portal access.")
    if login_off and all((c.portal_security_level or 0) < minimum_level
                         for c in contacts if c not in login_off):
        names = ", ".join(f"{c.full_name or c.id} (level {c.portal_security_level or '—'})"
                          for c in login_off)
        return (f"portal login disabled: {names}",
                f"The portal login of {names} at {company!r} is disabled in the PSA, and no "
                f"other contact has level {minimum_level} or higher. Re-enable the login "
                "(ConnectWise: clear Disable Portal Login on the contact).")
    below = ", ".join(f"{c.full_name or c.id} (level {c.portal_security_level or '—'})"
                      for c in contacts)
    return (f"below level {minimum_level}: {below}",
            f"No contact of {company!r} has portal security level {minimum_level} or higher "
            f"({below}). Raise the right contact's level in the PSA.")
