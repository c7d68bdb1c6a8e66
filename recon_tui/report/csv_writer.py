"""The report as CSV: the invoice rows, one line each, under a header of the JSON
row keys (``cause`` last: empty for a row that agrees or one not diagnosed).
Text cells are made visible and inert (no control acts on a terminal, nothing
starts a formula); money is the exact two-place string."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import TextIO

from recon_tui.report.fields import ROW_FIELDS, TEXT_FIELDS, neutralise, row_dict
from recon_tui.report.snapshot import PROGRESS_EVERY, Snapshot
from recon_tui.text import printable

__all__ = ["write_csv"]


def write_csv(snapshot: Snapshot, out: TextIO,
              progress: Callable[[int], None] | None = None) -> None:
    """The rows, one line each, under a header of the JSON row keys, written as they
    are read from the snapshot's spool; ``progress(rows_written)`` now and then."""
    writer = csv.writer(out)
    writer.writerow(ROW_FIELDS)
    for count, row in enumerate(snapshot.rows, start=1):
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
        values = row_dict(row)
        writer.writerow([
            "" if values[key] is None else (
                neutralise(printable(values[key])) if key in TEXT_FIELDS else values[key])
            for key in ROW_FIELDS
        ])
