"""Write a :class:`~recon_tui.report.snapshot.Snapshot` as xlsx, csv, json or
markdown: the entry points. Each format has its module (``json_writer``,
``csv_writer``, ``md_writer``, ``xlsx_writer``); what they share, the row
contract, is in ``fields``.

Three rules hold in every format:

* **Money stays exact.** JSON and CSV carry two-place decimal strings
  ("3717.00", "-3717.00"). The xlsx holds money cells as numbers whose digits in
  the file are the ``Decimal``'s own (XlsxWriter formats a ``Decimal`` straight
  into the cell XML; no ``float`` is ever made here). A spreadsheet reads them
  as IEEE doubles, and for every two-place amount below 10^13 (15 significant
  digits, Excel's precision) the shortest decimal form of that double is the
  amount itself, so reading a cell back gives the exact cents. A larger amount
  is written as exact text instead.
* **Data never becomes a formula.** A cell that came from the data (a name, an
  invoice number, a status) and starts with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return is written as text with a leading apostrophe (OWASP's advice
  for CSV injection), in csv and xlsx alike; xlsx text cells are always written
  as strings. Money cells are real numbers, so a negative amount stays a number.
* **Data never reaches a terminal as a control.** A name holding an escape
  sequence or a bidi override (``cat report.md``, a spreadsheet cell) shows it
  made visible by :func:`~recon_tui.text.printable` in md, csv and xlsx text
  cells; json keeps every string exact but writes such characters as ``\\uXXXX``
  escapes, which decode to the same string.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import TextIO

from recon_tui.atomic import check_replaceable
from recon_tui.report.csv_writer import write_csv
from recon_tui.report.fields import ROW_FIELDS, TOTAL_FIELDS, neutralise, row_dict
from recon_tui.report.json_writer import snapshot_dict, write_json
from recon_tui.report.md_writer import write_markdown
from recon_tui.report.snapshot import ProgressCallback, Snapshot
from recon_tui.report.xlsx_cells import MONEY_FORMAT
from recon_tui.report.xlsx_writer import write_xlsx

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "MONEY_FORMAT",
    "ROW_FIELDS",
    "TEXT_FORMATS",
    "TOTAL_FIELDS",
    "default_report_name",
    "format_from_path",
    "neutralise",
    "render_text",
    "row_dict",
    "snapshot_dict",
    "write_csv",
    "write_json",
    "write_markdown",
    "write_report",
    "write_xlsx",
]

FORMATS = ("xlsx", "csv", "json", "md")
TEXT_FORMATS = ("csv", "json", "md")
EXTENSIONS = {".xlsx": "xlsx", ".csv": "csv", ".json": "json", ".md": "md",
              ".markdown": "md"}


def format_from_path(path: str | os.PathLike[str]) -> str | None:
    """The format an output file name asks for by its extension, if any."""
    return EXTENSIONS.get(Path(path).suffix.lower())


def default_report_name(today: date, fmt: str, client_name: str | None = None) -> str:
    """``recon-2026-11-21.xlsx``, or ``recon-northwind-traders-2026-11-21.xlsx``."""
    slug = ""
    if client_name:
        slug = re.sub(r"[^a-z0-9]+", "-", client_name.casefold()).strip("-")[:40].strip("-")
    stem = f"recon-{slug}-{today.isoformat()}" if slug else f"recon-{today.isoformat()}"
    return f"{stem}.{fmt}"


def render_text(snapshot: Snapshot, fmt: str) -> str:
    """csv, json or md as one string (for stdout)."""
    buffer = io.StringIO(newline="")
    _write_text(snapshot, fmt, buffer)
    return buffer.getvalue()


def _write_text(snapshot: Snapshot, fmt: str, out: TextIO,
                progress: ProgressCallback | None = None) -> None:
    total = len(snapshot.rows)
    rows_written = None if progress is None else (
        lambda done: progress("writing", min(done, total), total))
    if fmt == "csv":
        write_csv(snapshot, out, rows_written)
    elif fmt == "json":
        write_json(snapshot, out, rows_written)
    elif fmt == "md":
        write_markdown(snapshot, out)
    else:
        raise ValueError(f"not a text format: {fmt}")


def write_report(snapshot: Snapshot, fmt: str, path: str | os.PathLike[str],
                 progress: ProgressCallback | None = None) -> Path:
    """Write the report to ``path`` atomically (a temporary file in the same folder,
    renamed over it), so a reader or a cron job never sees half a report. The
    folder must exist. Raises OSError. The file is private to its owner (mode
    0600, like the cache and the token store: it lists every client's money). CSV
    files start with a UTF-8 byte-order mark so spreadsheet programs read accented
    names correctly."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    target = Path(path).expanduser()
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(2, "no such directory", str(directory))
    check_replaceable(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        if fmt == "xlsx":
            os.close(fd)
            write_xlsx(snapshot, tmp, progress)
        else:
            with open(fd, "w", encoding="utf-8", newline="") as handle:
                if fmt == "csv":
                    # the byte-order mark utf-8-sig writes, without that codec's
                    # Python-level encoder on every row written
                    handle.write("\ufeff")
                _write_text(snapshot, fmt, handle, progress)
            if progress is not None:
                progress("writing", len(snapshot.rows), len(snapshot.rows))
        check_replaceable(target)  # again: it may have changed while we wrote
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target
