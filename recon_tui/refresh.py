"""Recompute the materialised reconciliation in the cache.

The screens read pre-computed pairs and per-client summaries so they open
instantly on a big book; this module is what keeps those tables true. It reads
from the cache, runs the pure engine in ``reconcile`` and swaps the result in
with one transaction.
"""

from __future__ import annotations

from recon_tui.cache import Cache
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
