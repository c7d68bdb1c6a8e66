"""Keep the materialised reconciliation in the cache true.

The screens read pre-computed pairs and per-client summaries so they open
instantly on a big book. After a full sync everything is recomputed; after a
single-invoice resync or a mapping change only the rows involved are, so those
stay instant at 200,000 invoices too. Either way the pure engine in
``reconcile`` does the computing and the cache does the storing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from recon_tui.cache import ApplyResult, Cache
from recon_tui.models import ClientSummary, CompanyMapping
from recon_tui.reconcile import client_key_for, pair_invoices, rollup_clients


def refresh_reconciliation(cache: Cache) -> int:
    """Re-pair every invoice and rebuild every client row; returns the pair count."""
    pairs = pair_invoices(cache.iter_psa_invoices(), cache.iter_ledger_invoices())
    mapping = cache.mapping()
    keyed = [(client_key_for(pair, mapping), pair) for pair in pairs]
    summaries = rollup_clients(
        pairs,
        companies=cache.companies(),
        customers=cache.customers(),
        mapping=mapping,
        credits=cache.credits(),
    )
    cache.replace_reconciliation(keyed, summaries)
    return len(keyed)


def refresh_invoices(cache: Cache, *, psa_ids: Iterable[str] = (),
                     ledger_ids: Iterable[str] = (), numbers: Iterable[str] = (),
                     customer_ids: Iterable[str] = ()) -> set[str]:
    """Re-pair just the invoices connected to these ids and numbers, then re-roll
    the clients they touch; returns those client keys.

    Pairing only relates invoices through ledger-id links and numbers, so the set
    closed under those two relations pairs exactly as it would in a full refresh.
    """
    psa_set: set[str] = set(psa_ids)
    ledger_set: set[str] = set(ledger_ids)
    number_set: set[str] = set(numbers)
    psa_found: dict = {}
    ledger_found: dict = {}
    while True:
        for invoice in cache.psa_invoices_related(ids=sorted(psa_set), numbers=sorted(number_set),
                                                  ledger_ids=sorted(ledger_set)):
            psa_found[invoice.id] = invoice
        for invoice in cache.ledger_invoices_related(ids=sorted(ledger_set),
                                                     numbers=sorted(number_set)):
            ledger_found[invoice.id] = invoice
        grown_psa = set(psa_found) - psa_set
        grown_numbers = ({i.number for i in psa_found.values()}
                         | {i.doc_number for i in ledger_found.values()}) - number_set
        grown_ledger = ({i.ledger_invoice_id for i in psa_found.values()
                         if i.ledger_invoice_id} | set(ledger_found)) - ledger_set
        if not (grown_psa or grown_numbers or grown_ledger):
            break
        psa_set |= grown_psa
        number_set |= grown_numbers
        ledger_set |= grown_ledger

    before = cache.pair_client_keys(psa_ids=sorted(psa_set), ledger_ids=sorted(ledger_set))
    pairs = pair_invoices(psa_found.values(), ledger_found.values())
    company_ids = {i.company_id for i in psa_found.values()}
    ledger_customer_ids = {i.customer_id for i in ledger_found.values()} | set(customer_ids)
    mapping = cache.mapping_for_customers(sorted(ledger_customer_ids))
    keyed = [(client_key_for(pair, mapping), pair) for pair in pairs]
    cache.replace_pairs_for(sorted(psa_set), sorted(ledger_set), keyed)
    touched = before | {key for key, _ in keyed} | {
        f"psa:{mapping[c]}" if c in mapping else f"ledger:{c}" for c in ledger_customer_ids
    } | {f"psa:{c}" for c in company_ids}
    refresh_clients(cache, sorted(touched))
    return touched


def refresh_clients(cache: Cache, client_keys: Sequence[str]) -> list[ClientSummary]:
    """Recompute the summary rows of these clients from their stored pairs."""
    if not client_keys:
        return []
    pairs = [pair for key in client_keys for pair in cache.client_invoice_pairs(key)]
    company_ids = [k.partition(":")[2] for k in client_keys if k.startswith("psa:")]
    mapping = cache.mapping_for_companies(company_ids)
    loose_customers = [k.partition(":")[2] for k in client_keys if k.startswith("ledger:")]
    # A customer shown on its own may have just been mapped: mapping_for_customers
    # tells, and its client key then belongs to the company (also refreshed).
    mapping |= cache.mapping_for_customers(loose_customers)
    customer_ids = sorted(set(mapping) | set(loose_customers))
    wanted = set(client_keys)
    summaries = [
        s for s in rollup_clients(
            pairs,
            companies=cache.companies_by_id(sorted(set(company_ids) | set(mapping.values()))),
            customers=cache.customers_by_id(customer_ids),
            mapping=mapping,
            credits=cache.client_credits(customer_ids),
        )
        if s.client_key in wanted
    ]
    cache.replace_client_summaries(list(client_keys), summaries)
    return summaries


#: Above this many touched invoices a sync recomputes everything (it is then
#: cheaper than many small re-pairs).
INCREMENTAL_LIMIT = 5_000


@dataclass(frozen=True, slots=True)
class SyncChanges:
    """What a sync wrote, step by step, as the refresh needs it."""

    companies: ApplyResult
    contacts: ApplyResult
    psa_invoices: ApplyResult
    customers: ApplyResult
    ledger_invoices: ApplyResult
    credits: ApplyResult
    deleted_invoices: ApplyResult
    new_mappings: Sequence[CompanyMapping] = ()


def refresh_after_sync(cache: Cache, changes: SyncChanges) -> str:
    """Bring the materialised reconciliation up to date after a sync: only the
    rows the sync touched when it touched few (a daily sync of a 200,000-invoice
    book), everything on a first load or a big change. Returns "full" or
    "incremental"."""
    invoices = (changes.psa_invoices.touched | changes.ledger_invoices.touched
                | changes.deleted_invoices.touched)
    if len(invoices) > INCREMENTAL_LIMIT or cache.count_pairs() == 0:
        refresh_reconciliation(cache)
        return "full"
    for mapping in changes.new_mappings:
        cache.move_ledger_only_pairs(mapping.ledger_customer_id,
                                     f"psa:{mapping.psa_company_id}")
    customers = (changes.customers.touched | changes.credits.owners
                 | {m.ledger_customer_id for m in changes.new_mappings})
    done = refresh_invoices(
        cache,
        psa_ids=sorted(changes.psa_invoices.touched),
        ledger_ids=sorted(changes.ledger_invoices.touched | changes.deleted_invoices.touched),
        customer_ids=sorted(customers),
    )
    # Renamed or deleted companies, contacts whose portal level changed, and both
    # ends of a new mapping: their client rows, whatever their invoices did.
    keys = {f"psa:{c}" for c in changes.companies.touched | changes.contacts.owners}
    keys |= {f"psa:{m.psa_company_id}" for m in changes.new_mappings}
    keys |= {f"ledger:{m.ledger_customer_id}" for m in changes.new_mappings}
    refresh_clients(cache, sorted(keys - done))
    return "incremental"
