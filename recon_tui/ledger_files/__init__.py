"""Ledgers recon-tui reaches by their exports: Sage 50 (US and Canada editions)
and QuickBooks Desktop's report exports, read from CSV files.

``tables`` declares each export's column mapping; ``reader`` and ``values`` read
a file strictly (every failure one line naming the file, the line and the
column); ``book`` and ``receipts`` turn the files into one ledger book;
``connector.FileLedger`` serves it to the real sync as a LedgerConnector;
``importer`` runs that sync for real or as a dry run against a copy of the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from recon_tui.ledger_files.book import LedgerBook, assemble, refuse_missing
from recon_tui.ledger_files.cells import ReadOptions
from recon_tui.ledger_files.connector import FileLedger
from recon_tui.ledger_files.reader import ExportError, read_export
from recon_tui.ledger_files.tables import FORMATS, SYSTEM_NAMES, ListKind, with_headers
from recon_tui.ledger_files.values import DateOrder

__all__ = ["FORMATS", "DateOrder", "ExportError", "FileLedger", "LedgerBook", "ListKind",
           "ReadOptions", "open_ledger", "read_book"]


def read_book(format_name: str, files: Sequence[tuple[ListKind | None, Path]],
              options: ReadOptions, headers: dict[tuple[ListKind, str], str] | None = None
              ) -> LedgerBook:
    """Every file read and checked, then put together; ExportError on the first
    thing that cannot be read (before anything is written anywhere). ``headers``
    adds the user's header names (``with_headers``)."""
    tables = with_headers(FORMATS[format_name], headers or {})
    read = [read_export(path, tables, kind=kind, encoding=options.encoding)
            for kind, path in files]
    refuse_missing(SYSTEM_NAMES[format_name], read, dict.fromkeys(t.kind for t in tables))
    return assemble(read, options)


def open_ledger(format_name: str, company: str, files: Sequence[tuple[ListKind | None, Path]],
                options: ReadOptions, headers: dict[tuple[ListKind, str], str] | None = None
                ) -> FileLedger:
    """The files as a ledger connector of the book ``<format>:<company>``."""
    book = read_book(format_name, files, options, headers)
    return FileLedger(format_name, SYSTEM_NAMES[format_name], company, book)
