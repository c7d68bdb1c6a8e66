"""Keep the materialised reconciliation in the cache true.

The screens read pre-computed pairs and per-client summaries so they open
instantly on a big book. After a first load or a big change everything is
recomputed, by SQLite over the indexed tables (``cache/pairing_sql.py``: the
books are never loaded into Python); after a daily sync, a single-invoice resync
or a mapping change only the rows involved are (re-paired by the pure engine in
``reconcile``, updated in place where they keep their place, their clients
re-summed in SQL), so those stay instant at 200,000 invoices too. Both paths apply
the same rules and give the same rows (property tests hold them to it: the SQL
against the engine on random books, incremental against full). Every pair a
refresh confirms is remembered as a link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from recon_tui.cache import ApplyResult, Cache
from recon_tui.models import (
    ClientSummary,
    CompanyMapping,
    DocKind,
    LedgerInvoice,
    PsaInvoice,
)
from recon_tui.reconcile import client_key_for, pair_invoices
from recon_tui.row_diagnosis import diagnose_pending


def refresh_reconciliation(cache: Cache) -> int:
    """Re-pair every document and rebuild every client row; returns the pair count.

    Done by SQLite where the data is (``Cache.recompute_reconciliation``, the rules
    of ``reconcile.pair_invoices`` in set-based SQL), so a 200,000-invoice book is
    never loaded into Python; then every discrepant row gets its cause: in the same
    SQL where the cache alone decides it (``cache/diagnosis_sql``), a page at a
    time in Python for the rows whose two sides both list payments."""
    with cache.transaction():
        count = cache.recon.recompute_reconciliation()
        diagnose_pending(cache)
    return count


@dataclass(slots=True)
class _Closure:
    """The documents of one kind connected to a starting set (ledger documents by
    position, the order the full recompute meets them in)."""

    psa: dict[str, PsaInvoice] = field(default_factory=dict)
    ledger: dict[int, LedgerInvoice] = field(default_factory=dict)
    psa_ids: set[str] = field(default_factory=set)
    ledger_ids: set[str] = field(default_factory=set)


def _close(cache: Cache, kind: DocKind, psa_ids: Iterable[str], ledger_ids: Iterable[str],
           numbers: Iterable[str]) -> _Closure:
    """Everything that can compete with these documents for a pair.

    Pairing relates documents through links (custom field or remembered) and
    numbers, and the stored rows relate whatever they paired last time; the set
    closed under all three pairs exactly as it would in a full refresh, and
    re-pairing it drops no stored row's other side (a deleted or renumbered
    ledger invoice used to take its PSA invoice out of the reconciliation).
    Each round looks up only what the last one found (each relation is a union
    over single ids and numbers, so the closure is the same).
    """
    found = _Closure()
    psa_set, ledger_set, number_set = set(), set(), set()
    new_psa, new_ledger, new_numbers = set(psa_ids), set(ledger_ids), set(numbers)
    while new_psa or new_ledger or new_numbers:
        psa_set |= new_psa
        ledger_set |= new_ledger
        number_set |= new_numbers
        partner_psa, partner_ledger = cache.recon.pair_partners(
            kind, psa_ids=sorted(new_psa), ledger_ids=sorted(new_ledger))
        psa_found = cache.recon.psa_documents_related(
            kind, ids=sorted(new_psa | partner_psa), numbers=sorted(new_numbers),
            ledger_ids=sorted(new_ledger))
        ledger_found = cache.recon.ledger_documents_of(
            kind, ids=sorted(new_ledger | partner_ledger), numbers=sorted(new_numbers))
        found.psa.update((i.id, i) for i in psa_found)
        found.ledger.update(ledger_found)
        new_psa = ({i.id for i in psa_found} | partner_psa) - psa_set
        new_ledger = ({i.ledger_invoice_id for i in psa_found if i.ledger_invoice_id}
                      | {i.id for i in ledger_found.values()} | partner_ledger) - ledger_set
        new_numbers = ({i.number.strip() for i in psa_found}
                       | {i.doc_number.strip() for i in ledger_found.values()}) - number_set
    found.psa_ids, found.ledger_ids = psa_set, ledger_set
    return found


def _repair(cache: Cache, kind: DocKind, psa_ids: Iterable[str], ledger_ids: Iterable[str],
            numbers: Iterable[str], customer_ids: Iterable[str]) -> set[str]:
    """Re-pair the documents of ``kind`` connected to these ids and numbers and
    remember the links; returns the client keys whose rows changed (their
    summaries still need a re-roll)."""
    closure = _close(cache, kind, psa_ids, ledger_ids, numbers)
    before = cache.recon.pair_client_keys(kind, psa_ids=sorted(closure.psa_ids),
                                          ledger_ids=sorted(closure.ledger_ids))
    pairs = pair_invoices(closure.psa.values(),
                          [closure.ledger[pos] for pos in sorted(closure.ledger)])
    company_ids = {i.company_id for i in closure.psa.values()}
    ledger_customer_ids = {i.customer_id for i in closure.ledger.values()} | set(customer_ids)
    mapping = cache.recon.mapping_for_customers(sorted(ledger_customer_ids))
    keyed = [(client_key_for(pair, mapping), pair) for pair in pairs]
    with cache.transaction():
        cache.recon.replace_pairs_for(kind, sorted(closure.psa_ids),
                                      sorted(closure.ledger_ids), keyed)
        cache.recon.remember_links(pairs)
    return before | {key for key, _ in keyed} | {
        f"psa:{mapping[c]}" if c in mapping else f"ledger:{c}" for c in ledger_customer_ids
    } | {f"psa:{c}" for c in company_ids}


def refresh_documents(cache: Cache, *, psa_ids: Iterable[str] = (),
                      ledger_ids: Mapping[DocKind, Iterable[str]] | None = None,
                      numbers: Iterable[str] = (), customer_ids: Iterable[str] = (),
                      clients: Iterable[str] = ()) -> set[str]:
    """Re-pair the documents of every kind connected to these ids and numbers, then
    re-roll the clients they touch (and ``clients``); returns those client keys.

    Every kind is re-paired before any client is re-rolled: a client's roll-up
    reads all its rows, and a stale row of another kind must not be among them.
    """
    psa_ids, numbers, customer_ids = list(psa_ids), list(numbers), list(customer_ids)
    touched = set(clients)
    with cache.transaction():
        for kind in DocKind:
            touched |= _repair(cache, kind, psa_ids, (ledger_ids or {}).get(kind, ()),
                               numbers, customer_ids)
        refresh_clients(cache, sorted(touched))
    return touched


def refresh_invoices(cache: Cache, *, psa_ids: Iterable[str] = (),
                     ledger_ids: Iterable[str] = (), numbers: Iterable[str] = (),
                     customer_ids: Iterable[str] = ()) -> set[str]:
    """Re-pair the invoices (and credit memos sharing these numbers) connected to
    these ids and numbers, then re-roll the clients they touch."""
    return refresh_documents(cache, psa_ids=psa_ids, ledger_ids={DocKind.INVOICE: ledger_ids},
                             numbers=numbers, customer_ids=customer_ids)


def refresh_clients(cache: Cache, client_keys: Sequence[str]) -> list[ClientSummary]:
    """Recompute the summary rows of these clients from their stored pairs: in SQL,
    by the full recompute's own statement narrowed to them (``cache/client_sql``),
    so a day's clients cost a day's rows."""
    if not client_keys:
        return []
    summaries = cache.recon.refresh_client_rows(client_keys)
    diagnose_pending(cache)  # rows re-paired or moved since the last diagnosis
    return summaries


#: Above this many touched documents a sync recomputes everything (it is then
#: cheaper than many small re-pairs).
INCREMENTAL_LIMIT = 5_000


@dataclass(frozen=True, slots=True)
class SyncChanges:
    """What a sync wrote, as the refresh needs it: the PSA documents (one id space
    for invoices and credit memos) and the ledger documents of each kind it
    created, changed or deleted, the master data, and new mappings."""

    companies: ApplyResult
    contacts: ApplyResult
    customers: ApplyResult
    credits: ApplyResult
    psa_documents: set[str]
    ledger_documents: dict[DocKind, set[str]]
    new_mappings: Sequence[CompanyMapping] = ()


def refresh_after_sync(cache: Cache, changes: SyncChanges, *, full: bool = False) -> str:
    """Bring the materialised reconciliation up to date after a sync: only the
    rows the sync touched when it touched few (a daily sync of a 200,000-invoice
    book), everything on a first load, a complete reload or a big change.
    Returns "full" or "incremental"."""
    touched = len(changes.psa_documents) + sum(
        len(ids) for ids in changes.ledger_documents.values())
    if full or touched > INCREMENTAL_LIMIT or cache.recon.count_pairs() == 0:
        refresh_reconciliation(cache)
        return "full"
    for mapping in changes.new_mappings:
        cache.recon.move_ledger_only_pairs(mapping.ledger_customer_id,
                                           f"psa:{mapping.psa_company_id}")
    customers = (changes.customers.touched | changes.credits.owners
                 | {m.ledger_customer_id for m in changes.new_mappings})
    # Renamed or deleted companies, contacts whose portal level changed, and both
    # ends of a new mapping: their client rows, whatever their invoices did.
    keys = {f"psa:{c}" for c in changes.companies.touched | changes.contacts.owners}
    keys |= {f"psa:{m.psa_company_id}" for m in changes.new_mappings}
    keys |= {f"ledger:{m.ledger_customer_id}" for m in changes.new_mappings}
    refresh_documents(cache, psa_ids=sorted(changes.psa_documents),
                      ledger_ids={kind: sorted(ids)
                                  for kind, ids in changes.ledger_documents.items()},
                      customer_ids=sorted(customers), clients=keys)
    return "incremental"
