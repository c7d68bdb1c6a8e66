"""An exported CSV file read into rows of recon-tui's fields, or one line saying
exactly where it cannot be: the file, the line and the column.

Which list a file is comes from its header row (the tables in
``recon_tui.ledger_files.tables``), unless the command names it
(``sales=SALES.CSV``). A report export may open with a few title lines (the
report's name, the company, the dates): the header is the first of the first
``HEADER_SEARCH`` lines that names a table's required columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recon_tui.ledger_files.tables import ListKind, ListTable

__all__ = ["ExportError", "ExportFile", "Row", "read_export"]

#: Lines looked through for the header row (title lines a report export opens with).
HEADER_SEARCH = 10


class ExportError(ValueError):
    """A file recon-tui cannot read as it is; the message names the file, the line
    and the column, so the one line on stderr is enough to find the cell."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None,
                 column: str | None = None) -> None:
        where = str(path)
        if line is not None:
            where += f" line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.column = str(path), line, column


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its first physical line, and the text of each mapped field."""

    line: int
    cells: dict[str, str]


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One file read: what it is, the header each field was found under, its rows."""

    path: Path
    table: ListTable
    headers: dict[str, str]  # field -> the header as the file spells it
    rows: tuple[Row, ...]

    def error(self, row: Row | None, field: str | None, message: str) -> ExportError:
        """The one-line error for a cell (or a row, or the file)."""
        column = self.headers.get(field, field) if field else None
        return ExportError(self.path, message, line=row.line if row else None, column=column)


def _text(path: Path, encoding: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExportError(path, f"cannot read it ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ExportError(path, f"byte {exc.start + 1} is not {encoding} text; export it "
                          "again as UTF-8, or pass --encoding cp1252 (what Windows "
                          "programs often write)", line=line) from None
    except LookupError:
        raise ExportError(path, f"unknown encoding {encoding!r}") from None


def _records(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each CSV record, blank records skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ExportError(path, f"not readable as CSV ({exc})", line=reader.line_num) from None
        if any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def _key(header: str) -> str:
    return " ".join(header.split()).casefold()


def _match(table: ListTable, header: list[str]) -> dict[str, int] | None:
    """field -> column index when the header names every required column."""
    index = {}
    for position, name in enumerate(header):
        index.setdefault(_key(name), position)
    found: dict[str, int] = {}
    for column in table.columns:
        position = next((index[_key(h)] for h in column.headers if _key(h) in index), None)
        if position is not None:
            found[column.field] = position
        elif column.required:
            return None
    return found


def _score(table: ListTable, found: dict[str, int]) -> tuple[int, int]:
    return sum(c.required for c in table.columns), len(found)


def _find_header(path: Path, records: list[tuple[int, list[str]]],
                 tables: tuple[ListTable, ...]) -> tuple[int, ListTable, dict[str, int]]:
    """The header record, its table and the field positions; one table only."""
    for number, (_line, cells) in enumerate(records[:HEADER_SEARCH]):
        matches = [(t, m) for t in tables if (m := _match(t, cells)) is not None]
        if len(matches) > 1:  # the list that needs the most columns, then matches most
            best = max(_score(t, m) for t, m in matches)
            matches = [(t, m) for t, m in matches if _score(t, m) == best]
        if len(matches) == 1:
            return number, matches[0][0], matches[0][1]
        if matches:
            kinds = " or ".join(t.kind.value for t, _ in matches)
            raise ExportError(path, f"its header fits the {kinds} list; name it, e.g. "
                              f"{matches[0][0].kind.value}={path.name}", line=_line)
    wanted = "; ".join(f"{t.kind.value}: " + ", ".join(
        repr(c.headers[0]) for c in t.columns if c.required) for t in tables)
    raise ExportError(path, "no header row naming the columns of a list recon-tui reads "
                      f"(looked at the first {HEADER_SEARCH} lines; needed {wanted}). "
                      "Export with the heading row included", line=records[0][0]
                      if records else None)


def read_export(path: Path, tables: tuple[ListTable, ...], *, kind: ListKind | None = None,
                encoding: str = "utf-8") -> ExportFile:
    """One export file as rows of fields (the cells' text, trimmed); raises
    ExportError naming the file and line of anything it cannot read."""
    records = list(_records(path, _text(path, encoding)))
    if kind is not None:
        tables = tuple(t for t in tables if t.kind is kind)
    if not records:
        raise ExportError(path, "is empty; export the list with its heading row")
    header_at, table, positions = _find_header(path, records, tables)
    header = records[header_at][1]
    rows = []
    for line, cells in records[header_at + 1:]:
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            raise ExportError(path, f"has {len(cells)} cells, the header {len(header)}",
                              line=line)
        rows.append(Row(line, {field: cells[i].strip() if i < len(cells) else ""
                               for field, i in positions.items()}))
    headers = {field: header[i].strip() for field, i in positions.items()}
    return ExportFile(path, table, headers, tuple(rows))
