"""Where a ``VirtualTable``'s rows come from: the row type, the source protocols,
an in-memory source and the small LRU the table keeps its pages in."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

from rich.text import Text

__all__ = ["LRU", "KeyedRowSource", "ListRowSource", "RowPages", "RowSource", "TableRow"]


@dataclass(frozen=True)
class TableRow:
    """One row as delivered by a ``RowSource``.

    ``str`` cells are always literal text (never markup); ``Text`` cells keep their
    own styles. ``style`` selects a row colour: "" | "warn" | "bad" | "muted".
    """

    key: str
    cells: Sequence[str | Text]
    style: str = ""


@runtime_checkable
class RowSource(Protocol):
    """Where rows come from (typically a SQLite query with LIMIT/OFFSET)."""

    def count(self) -> int:
        """Total number of rows; called once per ``set_source``/``reload``."""
        ...

    def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
        """Rows ``offset .. offset+limit-1``; offset is always within ``[0, count)``."""
        ...


@runtime_checkable
class KeyedRowSource(RowSource, Protocol):
    """Optional extension: lets ``reload`` find a row key anywhere in O(1)/one query.

    Without it ``reload`` only searches a few pages around the old cursor position.
    """

    def index_of(self, key: str) -> int | None:
        """Index of the row with ``key``, or None when it is gone."""
        ...


class ListRowSource:
    """A ``RowSource`` over an in-memory list; handy for small tables and tests."""

    def __init__(self, rows: Sequence[TableRow]) -> None:
        self._rows = list(rows)
        self._index = {row.key: index for index, row in enumerate(self._rows)}

    def count(self) -> int:
        return len(self._rows)

    def rows(self, offset: int, limit: int) -> Sequence[TableRow]:
        return self._rows[offset : offset + limit]

    def index_of(self, key: str) -> int | None:
        return self._index.get(key)


_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class LRU(Generic[_K, _V]):
    """Minimal LRU mapping; bounded so memory stays flat however far the user scrolls."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[_K, _V] = OrderedDict()

    def get(self, key: _K) -> _V | None:
        try:
            value = self._data[key]
        except KeyError:
            return None
        self._data.move_to_end(key)
        return value

    def set(self, key: _K, value: _V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def items(self) -> list[tuple[_K, _V]]:
        """Oldest first; reading them does not change the order."""
        return list(self._data.items())

    def __len__(self) -> int:
        return len(self._data)


class RowPages:
    """A source's rows fetched a page at a time and kept in a bounded LRU, so the
    table's work is bounded by the screen, not by the row count."""

    def __init__(self, source: RowSource | None, page_size: int, cached_pages: int,
                 *, count: int | None = None) -> None:
        """``count`` when it is known already (the source is not asked again)."""
        self.source = source
        self.page_size = page_size
        if count is None:
            count = max(0, int(source.count())) if source is not None else 0
        self.count = count
        self._pages: LRU[int, Sequence[TableRow]] = LRU(cached_pages)

    def resized(self, page_size: int) -> RowPages:
        """The same rows in pages of ``page_size``: nothing counted or fetched again;
        the rows already here are kept wherever they fill a whole new page."""
        pages = RowPages(self.source, page_size, self._pages.maxsize, count=self.count)
        known: dict[int, TableRow] = {}
        for number, page in self._pages.items():
            start = number * self.page_size
            known.update((start + k, row) for k, row in enumerate(page))
        for number in sorted({index // page_size for index in known}):
            span = range(number * page_size, min((number + 1) * page_size, self.count))
            if all(index in known for index in span):
                pages._pages.set(number, [known[index] for index in span])
        return pages

    def get(self, index: int) -> TableRow | None:
        """The row at ``index`` (None outside ``[0, count)`` or when the source
        returned fewer rows than it counted)."""
        if self.source is None or not 0 <= index < self.count:
            return None
        page_number, offset_in_page = divmod(index, self.page_size)
        page = self.page(page_number)
        return page[offset_in_page] if offset_in_page < len(page) else None

    def page(self, page_number: int) -> Sequence[TableRow]:
        page = self._pages.get(page_number)
        if page is None:
            assert self.source is not None
            offset = page_number * self.page_size
            limit = min(self.page_size, self.count - offset)
            page = list(self.source.rows(offset, limit)) if limit > 0 else []
            self._pages.set(page_number, page)
        return page

    def find(self, key: str, near: int, search_pages: int) -> int | None:
        """Index of ``key``: through ``index_of`` when the source has it, else by
        scanning ``search_pages`` pages either side of ``near``."""
        source = self.source
        if source is None or self.count == 0:
            return None
        if isinstance(source, KeyedRowSource):
            found = source.index_of(key)
            return found if found is not None and 0 <= found < self.count else None
        last_page = (self.count - 1) // self.page_size
        centre = min(near // self.page_size, last_page)
        for distance in range(search_pages + 1):
            for page_number in {centre - distance, centre + distance}:
                if not 0 <= page_number <= last_page:
                    continue
                for offset, row in enumerate(self.page(page_number)):
                    if row.key == key:
                        return page_number * self.page_size + offset
        return None
