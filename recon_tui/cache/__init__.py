"""The local SQLite cache: the one place SQL lives.

Money is stored as integer cents, dates as ISO text, timestamps as ISO UTC text.
Connections run in autocommit mode and every write goes through
:meth:`Cache.transaction` (``BEGIN IMMEDIATE`` ... ``COMMIT``), so a write is
either wholly there or not at all. WAL mode lets the TUI read while a sync
writes from a worker thread on its own connection.

A cache of parts. A :class:`Cache` is one connection (``cache/core.py``) with
small parts hung on it, each the queries of one feature and reached by name, so
a caller says which part of the cache it uses and a reader finds a feature's
SQL in one module with its own tests:

- ``cache.history``    sync runs, steps, changes, last syncs (``history.py``)
- ``cache.checklists`` credit checklists and their trail (``checklists.py``)
- ``cache.fixes``      guided payment fixes and their trail (``fixes.py``)
- ``cache.mapper``     what the company mapper reads (``mapper.py``)
- ``cache.report``     what the report reads, in one view (``report.py``)
- ``cache.lookup``     finding a row by a typed number (``lookup.py``)
- ``cache.txns``       each invoice's payment and credit lines on both sides, and
  the rows' causes (``transactions.py``)
- ``cache.recon``      the materialised reconciliation: its recompute, whole or in
  part (``incremental.py``), and the clients, rows and totals the screens page
  through (``reconciliation.py``)

A part owns no connection and opens no transaction: its writes go through the
core's :meth:`~recon_tui.cache.core.CacheCore.transaction`, so a part's write
inside a sync's or a workflow's transaction is a savepoint of it and one
discipline holds for the file (``part.py``). A function that needs one part
takes that part (``evidence_for(cache.mapper, ...)``), not the whole Cache.

The records (the sync's hot path: ``sources.py``, ``record_writes.py``) are
still mixed into the Cache itself, pending their own split; the Cache also keeps
thin delegations to ``cache.recon`` and ``cache.txns`` for a few callers until
they call the parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from recon_tui.cache.checklists import Checklists
from recon_tui.cache.core import CacheCore
from recon_tui.cache.files import CacheBusy, CacheDamaged, CacheError, CacheMissing
from recon_tui.cache.fixes import PaymentFixes
from recon_tui.cache.history import SyncHistory
from recon_tui.cache.lookup import NumberLookup
from recon_tui.cache.mapper import MappingReads
from recon_tui.cache.reconciliation import Reconciliation
from recon_tui.cache.record_writes import RecordWrites
from recon_tui.cache.records import (
    ApplyResult,
    BookTotals,
    Change,
    PairRow,
    SystemSyncState,
    credit_key,
)
from recon_tui.cache.report import ReportReads
from recon_tui.cache.schema import SCHEMA_VERSION
from recon_tui.cache.sources import SourceQueries
from recon_tui.cache.transactions import InvoiceTxns
from recon_tui.models import (
    ClientSummary,
    Contact,
    DocKind,
    LedgerInvoice,
    OrganizationalCredit,
    PsaInvoice,
)
from recon_tui.transactions import InvoiceTxn, Side

__all__ = [
    "SCHEMA_VERSION",
    "ApplyResult",
    "BookTotals",
    "Cache",
    "CacheBusy",
    "CacheDamaged",
    "CacheError",
    "CacheMissing",
    "Change",
    "PairRow",
    "SystemSyncState",
    "credit_key",
]


class Cache(SourceQueries, RecordWrites, CacheCore):
    """One connection to one cache file: the record queries, and the parts
    (``history``, ``checklists``, ``fixes``, ``mapper``, ``report``, ``lookup``,
    ``recon``, ``txns``) over the same connection. Open one per thread."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        super().__init__(path, read_only=read_only)
        self.lookup = NumberLookup(self)
        self.mapper = MappingReads(self)
        self.fixes = PaymentFixes(self)
        self.history = SyncHistory(self)
        self.checklists = Checklists(self)
        self.report = ReportReads(self)
        self.recon = Reconciliation(self)
        self.txns = InvoiceTxns(self)

    # -- thin delegations to ``self.recon`` for callers other engineers are changing
    # today (workflows/credit_verification.py, qbwc/credits.py, psa_payments.py,
    # benchmarks/bench_book.py); they go once those call ``cache.recon`` themselves.
    def pairs_for_number(self, number: str) -> list[PairRow]:
        return self.recon.pairs_for_number(number)

    def psa_documents_related(self, kind: DocKind, *, ids: Sequence[str] = (),
                              numbers: Sequence[str] = (),
                              ledger_ids: Sequence[str] = ()) -> list[PsaInvoice]:
        return self.recon.psa_documents_related(kind, ids=ids, numbers=numbers,
                                                ledger_ids=ledger_ids)

    def ledger_documents_related(self, kind: DocKind, *, ids: Sequence[str] = (),
                                 numbers: Sequence[str] = ()) -> list[LedgerInvoice]:
        return self.recon.ledger_documents_related(kind, ids=ids, numbers=numbers)

    def count_clients(self, text: str = "") -> int:
        return self.recon.count_clients(text)

    def client_page(self, text: str = "", offset: int = 0, limit: int = 100
                    ) -> list[ClientSummary]:
        return self.recon.client_page(text, offset, limit)

    def client(self, client_key: str) -> ClientSummary | None:
        return self.recon.client(client_key)

    def book_totals(self) -> BookTotals:
        return self.recon.book_totals()

    def count_client_pairs(self, client_key: str, kind: DocKind = DocKind.INVOICE) -> int:
        return self.recon.count_client_pairs(client_key, kind)

    def client_pairs(self, client_key: str, offset: int = 0, limit: int = 100,
                     kind: DocKind = DocKind.INVOICE) -> list[PairRow]:
        return self.recon.client_pairs(client_key, offset, limit, kind)

    def client_credits(self, customer_ids: Sequence[str]) -> list[OrganizationalCredit]:
        return self.recon.client_credits(customer_ids)

    def company_contacts(self, company_id: str) -> list[Contact]:
        return self.recon.company_contacts(company_id)

    # -- thin delegations to ``self.txns`` for sync_plan.py and psa_payments.py
    # (changed elsewhere today); they go once those call ``cache.txns``.
    def replace_txns(self, side: Side, scope: str, scope_ids: Iterable[str],
                     txns: Iterable[InvoiceTxn], *, removed_how: str,
                     now: datetime | None = None,
                     first_read: bool | None = None) -> ApplyResult:
        return self.txns.replace_txns(side, scope, scope_ids, txns, removed_how=removed_how,
                                      now=now, first_read=first_read)

    def remove_txns(self, side: Side, txn_ids: Iterable[str], *, removed_how: str,
                    now: datetime | None = None) -> ApplyResult:
        return self.txns.remove_txns(side, txn_ids, removed_how=removed_how, now=now)

    def has_txns(self, side: Side) -> bool:
        return self.txns.has_txns(side)

    def clear_causes_for(self, side: Side, invoice_ids: Sequence[str]) -> None:
        self.txns.clear_causes_for(side, invoice_ids)

    def ledger_payment_ids(self) -> set[str]:
        return self.txns.ledger_payment_ids()

    def psa_invoices_with_live_payments(self, invoice_ids: Sequence[str]) -> set[str]:
        return self.txns.psa_invoices_with_live_payments(invoice_ids)

    def psa_payments_unread(self, limit: int = 10_000) -> list[str]:
        return self.txns.psa_payments_unread(limit)
