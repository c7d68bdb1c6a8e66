"""The report as CSV: the invoice rows, one line each, under a header of the JSON
row keys (``cause`` last: empty for a row that agrees or one not diagnosed).
Text cells are made visible and inert (no control acts on a terminal, nothing
starts a formula); money is the exact two-place string.

The rows go from the spool's pages (plain tuples, money already as its string)
to ``csv.writer.writerows`` a page at a time: no row object, no per-cell call."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from recon_tui.report.fields import ROW_FIELDS
from recon_tui.report.pages import CONTRACT_WIDTH, inert_columns
from recon_tui.report.snapshot import Snapshot

__all__ = ["write_csv"]

#: Rows per page read, written, and between two progress reports.
PROGRESS_EVERY = 2_000


def write_csv(snapshot: Snapshot, out: TextIO,
              progress: Callable[[int], None] | None = None) -> None:
    """The rows, one line each, under a header of the JSON row keys, written as they
    are read from the snapshot's spool; ``progress(rows_written)`` after each page."""
    import csv

    writer = csv.writer(out)
    writer.writerow(ROW_FIELDS)
    done = 0
    for page in snapshot.rows.value_pages(PROGRESS_EVERY):
        columns = list(zip(*page, strict=True))[:CONTRACT_WIDTH]
        inert_columns(columns)
        writer.writerows(zip(*columns, strict=True))  # None is written as the empty cell
        done += len(page)
        if progress is not None:
            progress(done)
