"""Choices a report run needs, validated the same way for the CLI and the TUI:
the period (default: the whole cache), the format, the output folder and path,
the client."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import platformdirs

from recon_tui.atomic import NotReplaceable, check_replaceable
from recon_tui.cache import Cache
from recon_tui.dates import parse_ymd
from recon_tui.models import ClientSummary
from recon_tui.report.writers import FORMATS, TEXT_FORMATS, format_from_path


class ReportOptionError(ValueError):
    """A choice that cannot be used; the message is one line for the user."""


def parse_report_date(text: str, what: str) -> date:
    """A strict YYYY-MM-DD date, the one rule of every command (``recon_tui.dates``);
    ``what`` names the field in the message."""
    value = parse_ymd(text)
    if value is None:
        raise ReportOptionError(f"{what}: expected a date YYYY-MM-DD, got {text!r}")
    return value


def months_back(end: date, months: int = 12) -> date:
    """The same day ``months`` months earlier (the month's last day when shorter)."""
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    month += 1
    for day in (end.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def default_period(span: tuple[date, date] | None, today: date) -> tuple[date, date]:
    """The whole cache: its first invoice date to today (or to its last invoice
    date, when that is later); the 12 months to today when the cache has none."""
    if span is None:
        return months_back(today), today
    return span[0], max(today, span[1])


def resolve_period(date_from: str | None, date_to: str | None, *,
                   today: date | None = None,
                   span: tuple[date, date] | None = None) -> tuple[date, date]:
    """--from/--to with their defaults: the whole cache (``span``, its first and last
    invoice dates) up to today; without a span, the 12 months before --to."""
    first, last = default_period(span, today or date.today())
    end = parse_report_date(date_to, "--to") if date_to else last
    if date_from:
        start = parse_report_date(date_from, "--from")
    else:
        start = first if span is not None and first <= end else months_back(end)
    if start > end:
        raise ReportOptionError(f"--from {start} is after --to {end}")
    return start, end


def default_folder(configured: Path | None = None) -> Path:
    """Where a report goes when no path is given: the ``[report] folder`` setting,
    else the user's Documents folder (when it exists), else the home folder."""
    if configured is not None:
        return configured.expanduser()
    documents = Path(platformdirs.user_documents_dir())
    try:
        if documents.is_dir():
            return documents
    except OSError:
        pass
    return Path.home()


def resolve_format(fmt: str | None, out: str | None) -> str:
    """--format, else the --out extension, else xlsx; refuse xlsx on stdout."""
    if fmt is not None and fmt not in FORMATS:
        raise ReportOptionError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt is None:
        if out and out != "-":
            fmt = format_from_path(out)
            if fmt is None:
                raise ReportOptionError(
                    f"--out {out}: cannot tell the format from the extension; add "
                    f"--format ({', '.join(FORMATS)})")
        else:
            fmt = "csv" if out == "-" else "xlsx"
    if out == "-" and fmt not in TEXT_FORMATS:
        raise ReportOptionError("--out -: xlsx cannot go to stdout; give a file name, or "
                                "use --format csv, json or md")
    return fmt


def check_writable(path: Path) -> Path:
    """Fail before any work if ``path`` cannot be written; the absolute path."""
    target = path.expanduser().absolute()
    directory = target.parent
    try:
        check_replaceable(target)
    except NotReplaceable as exc:
        raise ReportOptionError(f"{target}: {exc.strerror}") from None
    try:
        folder_ok = directory.is_dir()
    except OSError as exc:  # a parent folder that cannot be searched
        raise ReportOptionError(f"{target}: cannot reach folder {directory} "
                                f"({exc.strerror or exc})") from None
    if not folder_ok:
        raise ReportOptionError(f"{target}: folder {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ReportOptionError(f"{target}: folder {directory} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise ReportOptionError(f"{target}: file exists and is not writable")
    return target


def resolve_client(cache: Cache, text: str) -> ClientSummary:
    """A client by key (``psa:12``, ``ledger:58``), by exact name, or by a part of its
    name that only one client has."""
    wanted = text.strip()
    if not wanted:
        raise ReportOptionError("--client: empty name")
    found = cache.recon.client(wanted)
    if found is not None:
        return found
    candidates = cache.recon.client_page(wanted, 0, 200)
    folded = wanted.casefold()
    exact = [c for c in candidates
             if c.name.casefold() == folded or c.ledger_name.casefold() == folded]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1 or len(candidates) > 1:
        options = exact or candidates
        shown = ", ".join(f"{c.name} ({c.client_key})" for c in options[:5])
        more = f" and {len(options) - 5} more" if len(options) > 5 else ""
        raise ReportOptionError(f"--client {text!r} matches {len(options)} clients: "
                                f"{shown}{more}; give the key")
    if len(candidates) == 1:
        return candidates[0]
    raise ReportOptionError(f"--client {text!r}: no client has that name or key")
