"""The emulator's in-memory book, seeded from ``sample_data/`` as it is.

QBO entities are kept in their API shape, keyed by type and Id; ConnectWise
records likewise (``unpostedinvoices`` is the accounting interface's list of
what it has not exported yet; ``payments`` holds every invoice's
``finance/invoices/{id}/payments`` records, keyed by payment id). ``qbo/deleted.json``
is the emulator's own record of QBO hard deletes, which its change data capture
reports. Autotask views are derived from the ConnectWise book by the Autotask
routes, so both PSAs serve the same clients. Every mutation holds the lock, so
concurrent requests see whole changes only. :attr:`SandboxBook.index` keeps the
list endpoints' indexes (:mod:`index`); :meth:`SandboxBook.changed` tells them a
write happened.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recon_tui.jsonio import decode
from recon_tui.sandbox.index import BookIndex

QBO_ENTITIES = ("Customer", "Invoice", "Payment", "CreditMemo")
CW_COLLECTIONS = ("companies", "contacts", "invoices", "unpostedinvoices", "payments")


def _load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return decode(handle.read())


@dataclass
class SandboxBook:
    qbo: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    connectwise: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    #: QBO deletions for CDC: (entity, Id, deleted at ISO time)
    qbo_deleted: list[tuple[str, str, str]] = field(default_factory=list)
    #: Identity counters that must never hand out an id twice, even after the
    #: record holding the highest one is deleted (ConnectWise payment ids).
    counters: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: The list endpoints' indexes; never part of the book's value.
    index: BookIndex = field(default_factory=BookIndex, repr=False, compare=False)
    #: Bumped by :meth:`changed` after every write (the index's snapshots check it).
    generation: int = field(default=0, repr=False, compare=False)

    @classmethod
    def from_dir(cls, data_dir: Path) -> SandboxBook:
        book = cls()
        for entity in QBO_ENTITIES:
            path = data_dir / "qbo" / f"{entity}.json"
            records = _load(path) if path.exists() else []
            book.qbo[entity] = {str(r["Id"]): r for r in records}
        for collection in CW_COLLECTIONS:
            path = data_dir / "connectwise" / f"{collection}.json"
            records = _load(path) if path.exists() else []
            book.connectwise[collection] = {int(r["id"]): r for r in records}
        deleted = data_dir / "qbo" / "deleted.json"
        for entry in _load(deleted) if deleted.exists() else []:
            book.qbo_deleted.append((str(entry["entity"]), str(entry["Id"]),
                                     str(entry["deletedAt"])))
        return book

    def changed(self) -> None:
        """Records were written: kept query matches must be computed again."""
        with self.lock:
            self.generation += 1

    def next_id(self, counter: str, records: dict[int, Any]) -> int:
        """The next identity value for ``counter`` (caller holds the lock)."""
        value = max(self.counters.get(counter, 0), max(records, default=0)) + 1
        self.counters[counter] = value
        return value

    def replace_with(self, other: SandboxBook) -> None:
        """Take ``other``'s records in place: the routes hold this object, so a
        reset demo world must change what it holds, not which book they see."""
        with self.lock:
            self.qbo = other.qbo
            self.connectwise = other.connectwise
            self.qbo_deleted = other.qbo_deleted
            self.counters = other.counters
            self.changed()
