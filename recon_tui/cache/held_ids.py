"""The ids a cache holds of one kind of record, for a dated sync's deletion checks,
without loading them.

A daily sync asks each system which of the records the cache holds it deleted.
ConnectWise and Autotask first compare counts (only ``len`` is needed) and QBO's
change data capture names the few deleted (only membership is needed); only a
disagreeing count or a capped CDC answer compares every id. Loading 200,000 ids
into a Python set per check, every day, made the daily sync grow with the book;
:class:`HeldIds` answers ``len`` with a COUNT, ``in`` with an indexed lookup,
and reads the whole list only when it is iterated.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass

from recon_tui.cache.core import CacheCore
from recon_tui.cache.records import credit_key
from recon_tui.models import CreditKind


@dataclass(frozen=True, slots=True)
class _Source:
    """One table's share of the ids: all of them, and a lookup of one."""

    select_all: str  # one column, the id
    lookup: str  # one parameter; a row when the id is held
    key: Callable[[str], str] = str  # the id as the lookup's parameter


_PSA_INVOICES = (_Source("SELECT id FROM psa_invoice", "SELECT 1 FROM psa_invoice WHERE id = ?"),)
_LEDGER_INVOICES = (_Source("SELECT id FROM ledger_invoice",
                            "SELECT 1 FROM ledger_invoice WHERE id = ?"),)
_LEDGER_CREDIT_MEMOS = (_Source("SELECT id FROM ledger_credit_memo",
                                "SELECT 1 FROM ledger_credit_memo WHERE id = ?"),)
_UNAPPLIED = CreditKind.UNAPPLIED_PAYMENT.value
#: A payment is held as its unapplied credit or as live applications (a fully
#: applied payment leaves no credit behind): the union of
#: ``payment_credit_ids`` and ``ledger_payment_ids``.
_LEDGER_PAYMENTS = (
    _Source(f"SELECT source_id FROM ledger_credit WHERE kind = '{_UNAPPLIED}'",
            "SELECT 1 FROM ledger_credit WHERE id = ?",
            lambda i: credit_key(CreditKind.UNAPPLIED_PAYMENT, i)),
    _Source("SELECT txn_id FROM invoice_txn WHERE side = 'ledger' AND removed_at IS NULL",
            "SELECT 1 FROM invoice_txn WHERE side = 'ledger' AND txn_id = ? "
            "AND removed_at IS NULL LIMIT 1"),
)


class HeldIds(Set[str]):
    """What the cache holds of one kind, plus ``also`` (ids a sync just read):
    a read-only set whose size and membership are asked of SQLite."""

    def __init__(self, conn: sqlite3.Connection, sources: tuple[_Source, ...],
                 also: Iterable[str] = ()) -> None:
        self._conn = conn
        self._sources = sources
        self._also = set(also)
        self._all: set[str] | None = None
        self._size: int | None = None

    @classmethod
    def _from_iterable(cls, it: Iterable[str]) -> set[str]:  # type: ignore[override]
        """``&``, ``-`` and ``|`` give plain sets (of the few ids involved)."""
        return set(it)

    def _held(self, record_id: str) -> bool:
        return any(self._conn.execute(s.lookup, (s.key(record_id),)).fetchone() is not None
                   for s in self._sources)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        if self._all is not None:
            return value in self._all
        return value in self._also or self._held(value)

    def __bool__(self) -> bool:
        """Whether any id is held, without counting them: a deletion check asks
        ``if ids`` of each kind first, which through ``len`` cost a COUNT over the
        whole table and a lookup of every id just read (500 a daily sync)."""
        if self._all is not None:
            return bool(self._all)
        return bool(self._also) or any(
            self._conn.execute(f"{s.select_all} LIMIT 1").fetchone() is not None
            for s in self._sources)

    def __len__(self) -> int:
        if self._all is not None:
            return len(self._all)
        if self._size is None:
            union = " UNION ".join(s.select_all for s in self._sources)
            held = self._conn.execute(f"SELECT count(*) FROM ({union})").fetchone()[0]
            self._size = held + sum(1 for i in self._also if not self._held(i))
        return self._size

    def __iter__(self) -> Iterator[str]:
        if self._all is None:
            found = set(self._also)
            for source in self._sources:
                found.update(row[0] for row in self._conn.execute(source.select_all))
            self._all = found
        return iter(self._all)


#: Each kind of record a complete read's deletion check compares, by the name
#: the deletion steps give it (the PSA's invoices; QBO's entities).
_KINDS = {"psa invoices": _PSA_INVOICES, "Invoice": _LEDGER_INVOICES,
          "CreditMemo": _LEDGER_CREDIT_MEMOS, "Payment": _LEDGER_PAYMENTS}


def held_but_unlisted(cache: CacheCore, kind: str, listed: tuple[str, Sequence[str]]
                      ) -> list[str]:
    """The ids of ``kind`` the cache holds that ``listed`` (a SELECT of ids with
    its parameters, on the cache's connection: ``SyncStage.listed``) does not
    name, sorted: what a complete read no longer has, found in SQL rather than
    by loading both sides' ids into sets."""
    union = " UNION ".join(s.select_all for s in _KINDS[kind])
    select, params = listed
    return [r[0] for r in cache.conn.execute(
        f"SELECT * FROM ({union}) EXCEPT {select} ORDER BY 1", params)]


def held_psa_invoice_ids(cache: CacheCore, also: Iterable[str] = ()) -> HeldIds:
    """PSA invoices and credit memos (one id space), as ``psa_invoice_ids``."""
    return HeldIds(cache.conn, _PSA_INVOICES, also)


def held_ledger_ids(cache: CacheCore, also: Mapping[str, Iterable[str]]
                    ) -> dict[str, HeldIds]:
    """QBO invoices, credit memos and payments (entity name -> ids), as the
    deletion check asks QBO about them; ``also`` maps an entity to ids just read."""
    return {
        "Invoice": HeldIds(cache.conn, _LEDGER_INVOICES, also.get("Invoice", ())),
        "CreditMemo": HeldIds(cache.conn, _LEDGER_CREDIT_MEMOS, also.get("CreditMemo", ())),
        "Payment": HeldIds(cache.conn, _LEDGER_PAYMENTS, also.get("Payment", ())),
    }
