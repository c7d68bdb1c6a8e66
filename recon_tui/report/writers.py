"""Write a :class:`~recon_tui.report.snapshot.Snapshot` as xlsx, csv, json or
markdown.

Two rules hold in every format:

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
import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TextIO

from recon_tui.atomic import check_replaceable
from recon_tui.money import ZERO, format_money, money_str
from recon_tui.report.hygiene import NOT_CHECKED
from recon_tui.report.snapshot import (
    STATUS_ORDER,
    ProgressCallback,
    ReportRow,
    Snapshot,
)
from recon_tui.text import UNSAFE_CHARACTERS, character_class, printable

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "ROW_FIELDS",
    "TEXT_FORMATS",
    "TOTAL_FIELDS",
    "default_report_name",
    "format_from_path",
    "neutralise",
    "render_text",
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

ROW_FIELDS = (
    "invoice_date", "customer", "psa_company", "psa_invoice_number", "psa_status",
    "psa_total", "psa_owing", "ledger_invoice_number", "ledger_total", "ledger_owing",
    "difference_total", "difference_owing", "sync_status",
)
MONEY_FIELDS = frozenset({"psa_total", "psa_owing", "ledger_total", "ledger_owing",
                          "difference_total", "difference_owing"})
TEXT_FIELDS = frozenset({"customer", "psa_company", "psa_invoice_number", "psa_status",
                         "ledger_invoice_number", "sync_status"})
ROW_TITLES = {
    "invoice_date": "Invoice date", "customer": "Customer", "psa_company": "PSA company",
    "psa_invoice_number": "PSA invoice #", "psa_status": "PSA status",
    "psa_total": "PSA total", "psa_owing": "PSA owing",
    "ledger_invoice_number": "Ledger invoice #", "ledger_total": "Ledger total",
    "ledger_owing": "Ledger owing", "difference_total": "Difference total (ledger − PSA)",
    "difference_owing": "Difference owing (ledger − PSA)", "sync_status": "Sync status",
}

TOTAL_FIELDS = (
    ("total_psa", "Total PSA"),
    ("total_ledger", "Total Ledger"),
    ("not_downloaded_to_ledger", "Not Downloaded to Ledger"),
    ("not_in_psa", "Not in PSA"),
    ("total_expected_in_ledger", "Total Expected in Ledger"),
    ("total_expected_in_psa", "Total Expected in PSA"),
    ("invoice_difference", "Invoice Difference"),
)

MONEY_FORMAT = "#,##0.00;-#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
EXACT_NUMBER_LIMIT = Decimal(10) ** 13
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- helpers
def neutralise(text: str) -> str:
    """A data string a spreadsheet could run as a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text


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


def _amount(value: Decimal | None) -> Decimal | None:
    """Two places, and never a negative zero ("-0.00" would read as a discrepancy)."""
    if value is None:
        return None
    return ZERO if value == 0 else value


def _money(value: Decimal | None) -> str | None:
    return money_str(_amount(value))


def _show(value: Decimal | None) -> str:
    return format_money(_amount(value))


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def _iso_moment(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _human_moment(moment: datetime | None) -> str:
    if moment is None:
        return "never synced"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --------------------------------------------------------------------------- json
def row_dict(row: ReportRow) -> dict[str, Any]:
    """One row exactly as the JSON contract has it."""
    return {
        "invoice_date": row.invoice_date.isoformat(),
        "customer": row.customer,
        "psa_company": row.psa_company,
        "psa_invoice_number": row.psa_invoice_number,
        "psa_status": row.psa_status,
        "psa_total": _money(row.psa_total),
        "psa_owing": _money(row.psa_owing),
        "ledger_invoice_number": row.ledger_invoice_number,
        "ledger_total": _money(row.ledger_total),
        "ledger_owing": _money(row.ledger_owing),
        "difference_total": _money(row.difference_total),
        "difference_owing": _money(row.difference_owing),
        "sync_status": row.sync_status.value,
    }


def snapshot_dict(snapshot: Snapshot) -> dict[str, Any]:
    """Everything in the snapshot, in the JSON contract's shape (extra keys beside
    the contract's: as_of, scope, reconciliation_id, row_count, status_counts,
    discrepant_count, identity, difference_rows, portal)."""
    h, t = snapshot.header, snapshot.totals
    return {
        "period": {"from": h.period_from.isoformat(), "to": h.period_to.isoformat()},
        "generated_at": _iso_moment(h.generated_at),
        "systems": {"psa": h.psa_kind, "ledger": h.ledger_kind},
        "as_of": {"psa": _iso_moment(h.psa_as_of), "ledger": _iso_moment(h.ledger_as_of)},
        "scope": {"client_key": h.client_key, "client": h.client_name},
        "reconciliation_id": h.reconciliation_id,
        "row_count": h.row_count,
        "status_counts": {s.value: n for s, n in snapshot.status_counts.items()},
        "discrepant_count": len(snapshot.discrepant_rows),
        "rows": [row_dict(row) for row in snapshot.rows],
        "totals": {key: _money(getattr(t, key)) for key, _label in TOTAL_FIELDS},
        "identity": {
            "matched_difference": _money(t.matched_difference),
            "expected_not_found": _money(t.expected_not_found),
            "explained_difference": _money(t.explained_difference),
            "invoice_difference": _money(t.invoice_difference),
            "residual": _money(t.residual),
            "holds": t.residual == 0,
            "text": snapshot.identity,
        },
        "difference_rows": [row_dict(row) | {"contribution": _money(row.contribution)}
                            for row in snapshot.difference_rows],
        "credit_memos": {
            "note": "PSA credit memos paired with the ledger's by number; amounts are the "
                    "credit and what is left of it (owing), positive on both sides",
            "status_counts": {s.value: n for s, n in snapshot.credit_memo_status_counts.items()},
            "rows": [row_dict(row) for row in snapshot.credit_memo_rows],
            "totals": {key: _money(getattr(snapshot.credit_memo_totals, key))
                       for key, _label in TOTAL_FIELDS},
        },
        "credits": [{
            "customer_id": c.customer_id, "customer": c.customer,
            "psa_company": c.psa_company, "source": c.source, "credit_id": c.credit_id,
            "doc_number": c.doc_number, "date": c.date.isoformat(),
            "amount": _money(c.amount), "total": _money(c.total),
        } for c in snapshot.credits],
        "unmapped_customers": [{
            "customer_id": u.customer_id, "name": u.name, "active": u.active,
            "invoice_count": u.invoice_count, "invoices_in_period": u.invoices_in_period,
            "balance": _money(u.balance), "unapplied_credits": _money(u.unapplied_credits),
        } for u in snapshot.unmapped_customers],
        "portal": {
            "client_admin_security_level": h.portal_level,
            "contacts_below_level": [{
                "company_id": c.company_id, "company": c.company, "contact_id": c.contact_id,
                "name": c.name, "email": c.email, "level": c.level,
            } for c in snapshot.portal_contacts],
            "clients_without_portal_access": [{
                "company_id": c.company_id, "company": c.company,
                "active_contacts": c.active_contacts, "highest_level": c.highest_level,
                "deleted": c.deleted, "reason": c.reason,
            } for c in snapshot.portal_clients],
        },
        "hygiene": {
            "checks": [{
                "code": c.code, "title": c.title, "status": c.status, "findings": c.findings,
                "rule": c.rule, "source": c.source, "note": c.note,
            } for c in snapshot.hygiene_checks],
            "findings": [{
                "check": f.check, "severity": f.severity, "system": f.system,
                "record_type": f.record_type, "record_id": f.record_id, "name": f.name,
                "detail": f.detail,
            } for f in snapshot.hygiene_findings],
        },
    }


# json.dumps escapes C0 controls itself (and the layout's newlines must stay); with
# ensure_ascii=False it writes C1 controls, bidi overrides and lone surrogates raw.
_JSON_UNSAFE = re.compile(character_class(UNSAFE_CHARACTERS - frozenset(range(0x20))))


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def write_json(snapshot: Snapshot, out: TextIO) -> None:
    """Strings exact, accents as themselves; a character that would act on a
    terminal (or cannot be encoded) as its ``\\uXXXX`` escape: the same string."""
    text = json.dumps(snapshot_dict(snapshot), ensure_ascii=False, indent=2)
    out.write(_JSON_UNSAFE.sub(_json_escape, text))
    out.write("\n")


# --------------------------------------------------------------------------- csv
def write_csv(snapshot: Snapshot, out: TextIO) -> None:
    """The rows, one line each, under a header of the JSON row keys."""
    writer = csv.writer(out)
    writer.writerow(ROW_FIELDS)
    for row in snapshot.rows:
        values = row_dict(row)
        writer.writerow([
            "" if values[key] is None else (
                neutralise(printable(values[key])) if key in TEXT_FIELDS else values[key])
            for key in ROW_FIELDS
        ])


# --------------------------------------------------------------------------- markdown
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
MD_LIST_LIMIT = 50


def _md(text: object) -> str:
    """Data text inert in a ticket: lines joined, controls made visible, then markdown
    punctuation escaped (the ``<`` of ``<U+202E>`` too, or it would read as a tag)."""
    if text is None:
        return ""
    value = printable(" ".join(str(text).split()))
    return _MD_SPECIAL.sub(r"\\\1", value)


def _md_code(text: str) -> str:
    """A name shown exactly (spaces kept, tabs and newlines visible) as inline code."""
    value = printable(text.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n"))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[str]],
              right: Iterable[int] = ()) -> list[str]:
    right = set(right)
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    lines.extend("| " + " | ".join(cells) + " |" for cells in rows)
    return lines


def _md_invoice_rows(rows: Sequence[ReportRow], *, contribution: bool = False) -> list[str]:
    headers = ["Date", "Customer", "PSA #", "PSA total", "PSA owing", "Ledger #",
               "Ledger total", "Ledger owing", "Δ total", "Δ owing", "Status"]
    if contribution:
        headers.append("Adds to difference")
    body = []
    for r in rows:
        cells = [r.invoice_date.isoformat(), _md(r.customer or r.psa_company),
                 _md(r.psa_invoice_number), _show(r.psa_total), _show(r.psa_owing),
                 _md(r.ledger_invoice_number), _show(r.ledger_total), _show(r.ledger_owing),
                 _show(r.difference_total), _show(r.difference_owing), r.sync_status.value]
        if contribution:
            cells.append(_show(r.contribution))
        body.append(cells)
    right = [3, 4, 6, 7, 8, 9] + ([11] if contribution else [])
    return _md_table(headers, body, right)


def _more(shown: int, total: int, where: str = "the xlsx, csv or json report") -> list[str]:
    return ["", f"… and {total - shown:,} more (see {where})."] if total > shown else []


def write_markdown(snapshot: Snapshot, out: TextIO) -> None:
    h, t = snapshot.header, snapshot.totals
    lines = [f"# Reconciliation snapshot {h.period_from} to {h.period_to}", ""]
    lines += _md_table(["", ""], [
        ["Scope", _md(h.scope)],
        ["Systems", f"PSA {_md(h.psa_kind)}, ledger {_md(h.ledger_kind)}"],
        ["PSA as of", _human_moment(h.psa_as_of)],
        ["Ledger as of", _human_moment(h.ledger_as_of)],
        ["Generated", _human_moment(h.generated_at)],
        ["Reconciliation id", f"`{printable(h.reconciliation_id)}` ({_rows(h.row_count)})"],
    ])
    lines += ["", "## Totals", ""]
    lines += _md_table(["", "Amount"], [
        [f"**{label}**" if key == "invoice_difference" else label,
         f"**{_show(getattr(t, key))}**" if key == "invoice_difference"
         else _show(getattr(t, key))]
        for key, label in TOTAL_FIELDS], right=[1])
    lines += ["", f"**Identity:** {printable(snapshot.identity)}", ""]
    counts = snapshot.status_counts
    discrepant = snapshot.discrepant_rows
    lines += ["Rows: " + ", ".join(f"{s.value} {counts[s]:,}" for s in STATUS_ORDER)
              + f"; discrepant {len(discrepant):,}.", ""]

    lines += ["## Rows that make up the Invoice Difference", ""]
    if snapshot.difference_rows:
        shown = snapshot.difference_rows[:MD_LIST_LIMIT]
        lines += _md_invoice_rows(shown, contribution=True)
        lines += _more(len(shown), len(snapshot.difference_rows))
        lines += ["", f"Sum of the contributions: {_show(t.explained_difference)} = "
                      f"Invoice Difference {_show(t.invoice_difference)}."]
    else:
        lines.append("None: every matched invoice agrees on its total and no linked "
                     "ledger invoice is missing.")
    lines += ["", "## Discrepant invoices", ""]
    if discrepant:
        ordered = sorted(discrepant, key=lambda r: (
            -max(abs(r.difference_owing), abs(r.difference_total)), r.invoice_date))
        shown = ordered[:MD_LIST_LIMIT]
        lines.append("Every row whose status is not Matched or whose amounts differ, "
                     "largest gap first.")
        lines.append("")
        lines += _md_invoice_rows(shown)
        lines += _more(len(shown), len(discrepant))
    else:
        lines.append("None.")

    lines += ["", "## Credit memos", ""]
    if snapshot.credit_memo_rows:
        memo_counts = snapshot.credit_memo_status_counts
        lines.append("PSA credit memos paired with the ledger's by number; amounts are the "
                     "credit and what is left of it. " + ", ".join(
                         f"{s.value} {memo_counts[s]:,}" for s in STATUS_ORDER) + ".")
        lines.append("")
        shown_memos = snapshot.credit_memo_rows[:MD_LIST_LIMIT]
        lines += _md_invoice_rows(shown_memos)
        lines += _more(len(shown_memos), len(snapshot.credit_memo_rows))
    else:
        lines.append("None.")

    lines += ["", "## Organizational credits", ""]
    if snapshot.credits:
        total = sum((c.amount for c in snapshot.credits), start=ZERO)
        lines.append(f"Credits on account: {len(snapshot.credits):,}, totalling "
                     f"{_show(total)}.")
        lines.append("")
        shown_credits = snapshot.credits[:MD_LIST_LIMIT]
        lines += _md_table(["Customer", "PSA company", "Source", "Id", "Date", "Amount"], [
            [_md(c.customer), _md(c.psa_company), printable(c.source), _md(c.credit_id),
             c.date.isoformat(), _show(c.amount)] for c in shown_credits], right=[5])
        lines += _more(len(shown_credits), len(snapshot.credits))
    else:
        lines.append("None.")

    lines += ["", "## Unmapped ledger customers", ""]
    if snapshot.unmapped_customers:
        shown_unmapped = snapshot.unmapped_customers[:MD_LIST_LIMIT]
        lines += _md_table(["Customer", "Id", "Invoices", "In period", "Open balance",
                            "Unapplied credits"], [
            [_md(u.name) + ("" if u.active else " (inactive)"), _md(u.customer_id),
             f"{u.invoice_count:,}", f"{u.invoices_in_period:,}", _show(u.balance),
             _show(u.unapplied_credits)] for u in shown_unmapped], right=[2, 3, 4, 5])
        lines += _more(len(shown_unmapped), len(snapshot.unmapped_customers))
    else:
        lines.append("None.")

    lines += ["", "## Portal access", ""]
    lines.append(f"Active contacts below portal level {h.portal_level} (they cannot see "
                 f"invoices): {len(snapshot.portal_contacts):,}.")
    if snapshot.portal_clients:
        lines += ["", "Clients none of whose contacts can see invoices:", ""]
        lines += [f"- {_md(c.company)} (id {_md(c.company_id)}): {_md(c.reason)}"
                  + (" — deleted in the PSA" if c.deleted else "")
                  for c in snapshot.portal_clients[:MD_LIST_LIMIT]]
        lines += _more(min(len(snapshot.portal_clients), MD_LIST_LIMIT),
                       len(snapshot.portal_clients))

    lines += ["", "## Data hygiene", ""]
    lines += _md_table(["Check", "Result"], [
        [printable(c.title), printable(c.note) if c.status == NOT_CHECKED else (
            _count(c.findings, "finding") + (f" ({printable(c.note)})" if c.note else ""))]
        for c in snapshot.hygiene_checks])
    if snapshot.hygiene_findings:
        lines.append("")
        shown_findings = snapshot.hygiene_findings[:MD_LIST_LIMIT]
        lines += [f"- **{printable(f.severity)}** {printable(f.system)} "
                  f"{printable(f.record_type)} {_md_code(f.name)} "
                  f"(id {_md(f.record_id)}): {_md(f.detail)}" for f in shown_findings]
        lines += _more(len(shown_findings), len(snapshot.hygiene_findings))
    out.write("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- xlsx
@dataclass
class _Sheet:
    """Column kinds and widths for one table sheet."""

    titles: Sequence[str]
    kinds: Sequence[str]  # "text" | "money" | "date" | "int" | "bool"
    widths: list[int]

    @classmethod
    def of(cls, titles: Sequence[str], kinds: Sequence[str]) -> _Sheet:
        return cls(titles, kinds, [len(t) + 3 for t in titles])  # room for the filter arrow

    def fit(self, col: int, value: object) -> None:
        kind = self.kinds[col]
        if value is None:
            return
        if kind == "money":
            width = len(_show(value)) + 1  # type: ignore[arg-type]
        elif kind == "date":
            width = 11
        else:
            width = len(str(value)) + 1
        self.widths[col] = min(max(self.widths[col], width), 60)


class _Xlsx:
    """Formats for one workbook: cell kind x row fill."""

    FILLS = {"": None, "bad": "#FCE4E4", "warn": "#FFF4CC"}

    def __init__(self, workbook: Any) -> None:
        self.wb = workbook
        self._formats: dict[tuple[str, str], Any] = {}
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.section = workbook.add_format({"bold": True, "font_size": 12, "bottom": 1})
        self.header = workbook.add_format({"bold": True, "bg_color": "#DDE5F0", "bottom": 1,
                                           "valign": "top"})
        self.label = workbook.add_format({"bold": True})
        self.total_label = workbook.add_format({"bold": True, "top": 1})
        self.total_money = workbook.add_format({"bold": True, "top": 1,
                                                "num_format": MONEY_FORMAT})
        self.grand_label = workbook.add_format({"bold": True, "top": 1, "bottom": 6,
                                                "bg_color": "#E2EFDA"})
        self.grand_money = workbook.add_format({"bold": True, "top": 1, "bottom": 6,
                                                "bg_color": "#E2EFDA",
                                                "num_format": MONEY_FORMAT})
        self.bad_money = workbook.add_format({"bold": True, "top": 1, "bottom": 6,
                                              "bg_color": "#FCE4E4",
                                              "num_format": MONEY_FORMAT})
        self.note = workbook.add_format({"italic": True, "font_color": "#555555"})

    def cell(self, kind: str, fill: str = "") -> Any:
        key = (kind, fill)
        if key not in self._formats:
            props: dict[str, Any] = {}
            if kind == "money":
                props["num_format"] = MONEY_FORMAT
            elif kind == "date":
                props["num_format"] = DATE_FORMAT
                props["align"] = "left"
            if self.FILLS.get(fill):
                props["bg_color"] = self.FILLS[fill]
            self._formats[key] = self.wb.add_format(props)
        return self._formats[key]


def _put(ws: Any, fmt: _Xlsx, row: int, col: int, kind: str, value: object,
         fill: str = "") -> None:
    cell_format = fmt.cell(kind, fill)
    if value is None:
        ws.write_blank(row, col, None, cell_format)
    elif kind == "money":
        _put_money(ws, row, col, value, cell_format)  # type: ignore[arg-type]
    elif kind == "date":
        ws.write_datetime(row, col, value, cell_format)
    elif kind == "int":
        ws.write_number(row, col, value, cell_format)
    elif kind == "bool":
        ws.write_string(row, col, "yes" if value else "no", cell_format)
    else:
        # XlsxWriter would write C0 controls as _xHHHH_ escapes and C1 and bidi ones
        # raw; a lone surrogate could not be encoded at all: all made visible.
        ws.write_string(row, col, neutralise(printable(value)), cell_format)


def _put_money(ws: Any, row: int, col: int, value: Decimal, cell_format: Any) -> None:
    amount = _amount(value)
    assert amount is not None
    if abs(amount) < EXACT_NUMBER_LIMIT:
        ws.write_number(row, col, amount, cell_format)  # the Decimal's digits, exactly
    else:
        ws.write_string(row, col, money_str(amount), cell_format)


def _table(fmt: _Xlsx, name: str, titles: Sequence[str], kinds: Sequence[str],
           rows: Iterable[tuple[Sequence[object], str]], *,
           total: tuple[str, int, Decimal] | None = None,
           progress: Callable[[int], None] | None = None) -> None:
    """A sheet holding one table: header row frozen, autofilter over the data,
    fitted widths, an optional styled total row under the filtered range."""
    ws = fmt.wb.add_worksheet(name)
    sheet = _Sheet.of(titles, kinds)
    for col, title in enumerate(titles):
        ws.write_string(0, col, title, fmt.header)
    count = 0
    for count, (values, fill) in enumerate(rows, start=1):
        for col, value in enumerate(values):
            _put(ws, fmt, count, col, kinds[col], value, fill)
            sheet.fit(col, value)
        if progress is not None and count % 2_000 == 0:
            progress(count)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(count, 1), len(titles) - 1)
    if total is not None:
        label, col, amount = total
        ws.write_string(count + 1, 0, label, fmt.total_label)
        for c in range(1, len(titles)):
            if c == col:
                _put_money(ws, count + 1, c, amount, fmt.total_money)
            else:
                ws.write_blank(count + 1, c, None, fmt.total_label)
        sheet.fit(0, label)
    for col, width in enumerate(sheet.widths):
        ws.set_column(col, col, width)


def _fill(row: ReportRow) -> str:
    if row.sync_status.value != "Matched":
        return "bad"
    return "warn" if row.discrepant else ""


ROW_KINDS = tuple("date" if key == "invoice_date" else "money" if key in MONEY_FIELDS
                  else "text" for key in ROW_FIELDS)


def _row_values(row: ReportRow) -> list[object]:
    return [row.invoice_date, row.customer, row.psa_company, row.psa_invoice_number,
            row.psa_status, row.psa_total, row.psa_owing, row.ledger_invoice_number,
            row.ledger_total, row.ledger_owing, row.difference_total, row.difference_owing,
            row.sync_status.value]


def _summary(fmt: _Xlsx, snapshot: Snapshot) -> None:
    h, t = snapshot.header, snapshot.totals
    ws = fmt.wb.add_worksheet("Summary")
    ws.set_column(0, 0, 46)
    ws.set_column(1, 1, 22)
    ws.set_column(2, 2, 60)
    r = 0
    ws.write_string(r, 0, f"Reconciliation snapshot {h.period_from} to {h.period_to}",
                    fmt.title)
    r += 2
    info: list[tuple[str, object, str]] = [
        ("Period from", h.period_from, "date"),
        ("Period to", h.period_to, "date"),
        ("Scope", h.scope, "text"),
        ("PSA", h.psa_kind, "text"),
        ("Ledger", h.ledger_kind, "text"),
        ("PSA as of (last sync)", _human_moment(h.psa_as_of), "text"),
        ("Ledger as of (last sync)", _human_moment(h.ledger_as_of), "text"),
        ("Generated at", _human_moment(h.generated_at), "text"),
        ("Reconciliation id", h.reconciliation_id, "text"),
        ("Rows", h.row_count, "int"),
        ("Portal level that can see invoices", h.portal_level, "int"),
    ]
    for label, value, kind in info:
        ws.write_string(r, 0, label, fmt.label)
        _put(ws, fmt, r, 1, kind, value)
        r += 1

    r += 1
    ws.write_string(r, 0, "Totals", fmt.section)
    ws.write_blank(r, 1, None, fmt.section)
    r += 1
    for key, label in TOTAL_FIELDS:
        amount = getattr(t, key)
        if key == "invoice_difference":
            ws.write_string(r, 0, label, fmt.grand_label)
            _put_money(ws, r, 1, amount, fmt.grand_money if amount == 0 else fmt.bad_money)
            ws.write_string(r, 2, "must read 0.00 when every matched invoice agrees",
                            fmt.note)
        else:
            label_format = fmt.total_label if key.startswith("total_expected") else fmt.label
            money_format = fmt.total_money if key.startswith("total_expected") \
                else fmt.cell("money")
            ws.write_string(r, 0, label, label_format)
            _put_money(ws, r, 1, amount, money_format)
        r += 1

    r += 1
    ws.write_string(r, 0, "Identity", fmt.section)
    ws.write_blank(r, 1, None, fmt.section)
    r += 1
    identity = [
        ("Σ total differences of Matched rows", t.matched_difference, ""),
        ("Σ PSA totals of Expected-but-not-Found rows", t.expected_not_found, ""),
        ("Explained difference (first minus second)", t.explained_difference,
         "sum of the Contribution column on the Difference rows sheet"),
        ("Invoice Difference (from the totals above)", t.invoice_difference, ""),
        ("Residual (must be 0.00)", t.residual, "0.00: the report proves itself"
         if t.residual == 0 else "NOT 0.00: the report is unsound, please report a bug"),
    ]
    for label, amount, note in identity:
        last = label.startswith("Residual")
        ws.write_string(r, 0, label, fmt.total_label if last else fmt.label)
        _put_money(ws, r, 1, amount, fmt.total_money if last else fmt.cell("money"))
        if note:
            ws.write_string(r, 2, note, fmt.note)
        r += 1
    ws.write_string(r, 0, snapshot.identity, fmt.note)
    r += 2

    ws.write_string(r, 0, "Rows by sync status", fmt.section)
    ws.write_blank(r, 1, None, fmt.section)
    r += 1
    for status, n in snapshot.status_counts.items():
        ws.write_string(r, 0, status.value)
        ws.write_number(r, 1, n)
        r += 1
    ws.write_string(r, 0, "Discrepant rows (status or amounts differ)", fmt.label)
    ws.write_number(r, 1, len(snapshot.discrepant_rows))
    r += 2

    ws.write_string(r, 0, "Sections (one sheet each)", fmt.section)
    ws.write_blank(r, 1, None, fmt.section)
    r += 1
    sections = [
        ("Difference rows", len(snapshot.difference_rows),
         "rows that make up the Invoice Difference"),
        ("Discrepant", len(snapshot.discrepant_rows), "every row needing a look"),
        ("Credit memos", len(snapshot.credit_memo_rows),
         "PSA credit memos paired with the ledger's, by number"),
        ("Credits", len(snapshot.credits), "organizational credits on account"),
        ("Unmapped customers", len(snapshot.unmapped_customers),
         "ledger customers mapped to no PSA company"),
        ("Portal contacts", len(snapshot.portal_contacts),
         f"active contacts below portal level {h.portal_level}"),
        ("Portal clients", len(snapshot.portal_clients),
         "clients none of whose contacts can see invoices"),
        ("Hygiene", len(snapshot.hygiene_findings), "data-hygiene findings"),
    ]
    for name, n, what in sections:
        ws.write_string(r, 0, name)
        ws.write_number(r, 1, n)
        ws.write_string(r, 2, what, fmt.note)
        r += 1
    for check in snapshot.hygiene_checks:
        if check.status == NOT_CHECKED:
            ws.write_string(r, 0, check.title)
            ws.write_string(r, 1, "not checked")
            ws.write_string(r, 2, check.note, fmt.note)
            r += 1


def write_xlsx(snapshot: Snapshot, target: str | os.PathLike[str] | IO[bytes],
               progress: ProgressCallback | None = None) -> None:
    """The workbook: Summary first, then one sheet per section."""
    import xlsxwriter

    options = {"strings_to_numbers": False, "strings_to_formulas": False,
               "strings_to_urls": False, "constant_memory": True,
               "default_date_format": DATE_FORMAT}
    if not isinstance(target, (str, os.PathLike)):
        options["in_memory"] = True
        options["constant_memory"] = False
    workbook = xlsxwriter.Workbook(target, options)
    fmt = _Xlsx(workbook)
    total = len(snapshot.rows)

    def rows_progress(done: int) -> None:
        if progress is not None:
            progress("writing", done, total)

    _summary(fmt, snapshot)
    _table(fmt, "Invoices", [ROW_TITLES[k] for k in ROW_FIELDS], ROW_KINDS,
           ((_row_values(r), _fill(r)) for r in snapshot.rows), progress=rows_progress)
    _table(fmt, "Difference rows", [*(ROW_TITLES[k] for k in ROW_FIELDS), "Contribution"],
           (*ROW_KINDS, "money"),
           (([*_row_values(r), r.contribution], _fill(r)) for r in snapshot.difference_rows),
           total=("Invoice Difference (sum of contributions)", len(ROW_FIELDS),
                  snapshot.totals.explained_difference))
    _table(fmt, "Discrepant", [ROW_TITLES[k] for k in ROW_FIELDS], ROW_KINDS,
           ((_row_values(r), _fill(r)) for r in snapshot.discrepant_rows))
    _table(fmt, "Credit memos", [ROW_TITLES[k] for k in ROW_FIELDS], ROW_KINDS,
           ((_row_values(r), _fill(r)) for r in snapshot.credit_memo_rows))
    _table(fmt, "Credits",
           ["Customer", "Customer id", "PSA company", "Source", "Credit id", "Doc number",
            "Date", "Amount on account", "Original total"],
           ["text", "text", "text", "text", "text", "text", "date", "money", "money"],
           (([c.customer, c.customer_id, c.psa_company, c.source, c.credit_id,
              c.doc_number or None, c.date, c.amount, c.total], "")
            for c in snapshot.credits),
           total=("Total on account", 7,
                  sum((c.amount for c in snapshot.credits), start=ZERO)))
    _table(fmt, "Unmapped customers",
           ["Customer", "Customer id", "Active", "Invoices", "Invoices in period",
            "Open balance", "Unapplied credits"],
           ["text", "text", "bool", "int", "int", "money", "money"],
           (([u.name, u.customer_id, u.active, u.invoice_count, u.invoices_in_period,
              u.balance, u.unapplied_credits], "") for u in snapshot.unmapped_customers))
    _table(fmt, "Portal contacts",
           ["Company", "Company id", "Contact", "Contact id", "Email", "Portal level"],
           ["text", "text", "text", "text", "text", "int"],
           (([c.company, c.company_id, c.name, c.contact_id, c.email, c.level], "")
            for c in snapshot.portal_contacts))
    _table(fmt, "Portal clients",
           ["Company", "Company id", "Active contacts", "Highest level", "Deleted in PSA",
            "Why nobody sees invoices"],
           ["text", "text", "int", "int", "bool", "text"],
           (([c.company, c.company_id, c.active_contacts, c.highest_level, c.deleted,
              c.reason], "bad") for c in snapshot.portal_clients))
    _table(fmt, "Hygiene",
           ["Check", "Severity", "System", "Record", "Record id", "Name", "Detail"],
           ["text"] * 7,
           (([f.check, f.severity, f.system, f.record_type, f.record_id, f.name, f.detail],
             "bad" if f.severity == "error" else "warn") for f in snapshot.hygiene_findings))
    _table(fmt, "Hygiene checks",
           ["Check", "What", "Status", "Findings", "Rule", "Source", "Note"],
           ["text", "text", "text", "int", "text", "text", "text"],
           (([c.code, c.title, c.status, c.findings, c.rule, c.source, c.note or None],
             "warn" if c.status == NOT_CHECKED else "") for c in snapshot.hygiene_checks))
    workbook.close()
    if progress is not None:
        progress("writing", total, total)


# --------------------------------------------------------------------------- entry points
def render_text(snapshot: Snapshot, fmt: str) -> str:
    """csv, json or md as one string (for stdout)."""
    buffer = io.StringIO(newline="")
    _write_text(snapshot, fmt, buffer)
    return buffer.getvalue()


def _write_text(snapshot: Snapshot, fmt: str, out: TextIO) -> None:
    if fmt == "csv":
        write_csv(snapshot, out)
    elif fmt == "json":
        write_json(snapshot, out)
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
            encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
            with open(fd, "w", encoding=encoding, newline="") as handle:
                _write_text(snapshot, fmt, handle)
        check_replaceable(target)  # again: it may have changed while we wrote
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target
