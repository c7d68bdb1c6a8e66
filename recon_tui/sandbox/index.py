"""Indexes over the emulator's collections, so a list page costs what the page
holds, not what the book holds.

Why: every list endpoint used to filter and sort the whole collection for each
page, so serving a 200,000-invoice book page by page was quadratic and cost far
more CPU than the client reading it. What is kept here, per collection:

* :class:`Ordered`: the collection's keys in id order (plus the ids as numbers
  where every id is one, for bisecting a keyset cursor), rebuilt whenever the
  key set changes. It is exact without any help from writers: it is checked
  against ``list(records)`` (a C-speed comparison) before every use, and it
  holds keys, not records, so a record edited or replaced in place is always
  served as it is now.
* :class:`Snapshots`: the matches of a filtered query (or of an order other than
  by id), for the later pages of one read (QBO ``STARTPOSITION`` above 1, a
  ConnectWise ``page`` above 1). A read's first page and every count compute
  afresh; a later page reuses the matches only while the key set and the book's
  write generation (:meth:`SandboxBook.changed`, bumped after every write the
  emulator answers) are unchanged. So the one thing a later page does not see is
  a field edited in place, behind the emulator's back, after the read began.

The index never changes what a page holds: the route modules fall back to the
plain scan whenever a collection's ids are not what the index expects.
"""

from __future__ import annotations

import bisect
import itertools
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BookIndex", "Ordered", "Snapshots"]

SNAPSHOTS_KEPT = 32


@dataclass
class Ordered:
    """The keys of one collection in sort order (see the module docstring)."""

    source: dict[Any, Any]
    keys: list[Any]  # list(source) when built: the validity check
    ordered: list[Any]
    numbers: list[int] | None  # int id per ordered key, when every id is a whole number

    def valid_for(self, records: dict[Any, Any]) -> bool:
        return (self.source is records and len(records) == len(self.keys)
                and list(records) == self.keys)

    def first_after(self, number: int, *, inclusive: bool = False) -> int:
        """Position of the first key whose id is above ``number`` (or equal to it
        when ``inclusive``); needs :attr:`numbers`."""
        assert self.numbers is not None
        if inclusive:
            return bisect.bisect_left(self.numbers, number)
        return bisect.bisect_right(self.numbers, number)

    def span(self, low: int | None, high: int | None) -> tuple[int, int]:
        """Positions [start, end) of the ids in ``low <= id <= high`` (None: open)."""
        assert self.numbers is not None
        start = 0 if low is None else bisect.bisect_left(self.numbers, low)
        end = len(self.numbers) if high is None else bisect.bisect_right(self.numbers, high)
        return start, max(start, end)

    def records(self, start: int = 0, end: int | None = None) -> Iterator[Any]:
        """The records at positions [start, end), as they are now (no copy of the
        key list: a page near the end costs the page)."""
        source, ordered = self.source, self.ordered
        for position in range(max(0, start), min(len(ordered), len(ordered) if end is None
                                                 else end)):
            yield source[ordered[position]]


@dataclass
class _Snapshot:
    source: dict[Any, Any]
    keys: list[Any]
    generation: int
    rows: list[Any]


@dataclass
class Snapshots:
    """Matches of recent filtered queries, for the later pages of a read."""

    entries: OrderedDict[Hashable, _Snapshot] = field(default_factory=OrderedDict)

    def get(self, name: Hashable, records: dict[Any, Any], generation: int
            ) -> list[Any] | None:
        """The kept matches for ``name`` while the book is as it was, else None."""
        kept = self.entries.get(name)
        if (kept is None or kept.source is not records or kept.generation != generation
                or len(records) != len(kept.keys) or list(records) != kept.keys):
            return None
        self.entries.move_to_end(name)
        return kept.rows

    def put(self, name: Hashable, records: dict[Any, Any], generation: int,
            rows: list[Any]) -> list[Any]:
        """Keep ``rows`` as the matches for ``name`` (the oldest kept go first)."""
        self.entries[name] = _Snapshot(records, list(records), generation, rows)
        self.entries.move_to_end(name)
        while len(self.entries) > SNAPSHOTS_KEPT:
            self.entries.popitem(last=False)
        return rows

    def rows(self, name: Hashable, records: dict[Any, Any], generation: int,
             compute: Callable[[], list[Any]], *, fresh: bool) -> list[Any]:
        """The matches for ``name``: computed now when ``fresh`` or when the book
        changed since they were kept, else the kept ones."""
        kept = None if fresh else self.get(name, records, generation)
        return kept if kept is not None else self.put(name, records, generation, compute())


@dataclass
class BookIndex:
    """Every index of one book (kept on :attr:`SandboxBook.index`)."""

    ordered: dict[Hashable, Ordered] = field(default_factory=dict)
    snapshots: Snapshots = field(default_factory=Snapshots)
    memos: dict[Hashable, tuple[Ordered, int, Any]] = field(default_factory=dict)
    keyed: dict[Hashable, tuple[dict[Any, Any], list[Any], Any]] = field(default_factory=dict)

    def per_key_set(self, name: Hashable, records: dict[Any, Any],
                    make: Callable[[], Any]) -> Any:
        """What ``make()`` built for ``name`` while ``records`` holds the same keys
        (checked as :class:`Ordered` checks them), else built again."""
        kept = self.keyed.get(name)
        if (kept is not None and kept[0] is records and len(records) == len(kept[1])
                and list(records) == kept[1]):
            return kept[2]
        value = make()
        self.keyed[name] = (records, list(records), value)
        return value

    def memo(self, name: Hashable, ordered: Ordered, generation: int,
             make: Callable[[], Any]) -> Any:
        """What ``make()`` built for ``name`` while ``ordered`` (the collection's key
        set) and the write generation are the same, else built again."""
        kept = self.memos.get(name)
        if kept is not None and kept[0] is ordered and kept[1] == generation:
            return kept[2]
        value = make()
        self.memos[name] = (ordered, generation, value)
        return value

    def order(self, name: Hashable, records: dict[Any, Any],
              sort_key: Callable[[Any], Any] | None, number: Callable[[Any], int] | None = None
              ) -> Ordered:
        """The keys of ``records`` sorted by ``sort_key(record)`` (stable: ties keep
        insertion order, as ``sorted`` over the values would), or by the keys
        themselves when ``sort_key`` is None (whole-number keys are then the ids to
        bisect on); rebuilt when the key set changed. ``number(record)`` gives the
        id to bisect on."""
        kept = self.ordered.get(name)
        if kept is not None and kept.valid_for(records):
            return kept
        keys = list(records)
        numbers: list[int] | None = None
        if sort_key is None:
            ordered = sorted(keys)
            if all(type(k) is int for k in ordered):
                numbers = ordered
        else:
            ordered = sorted(keys, key=lambda k: sort_key(records[k]))
        if number is not None:
            try:
                numbers = [number(records[k]) for k in ordered]
            except (TypeError, ValueError, KeyError):
                numbers = None
            if numbers is not None and any(a >= b for a, b in itertools.pairwise(numbers)):
                numbers = None  # not strictly increasing: no bisecting on it
        kept = Ordered(records, keys, ordered, numbers)
        self.ordered[name] = kept
        return kept
