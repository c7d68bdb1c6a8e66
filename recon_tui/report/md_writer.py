"""The report as markdown, for a ticket or a chat: readable tables, long lists cut
short (the other formats carry every row). Data text is inert: lines joined,
controls made visible, markdown punctuation escaped."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from typing import TextIO

from recon_tui.money import ZERO
from recon_tui.report.causes import causes_check_text
from recon_tui.report.fields import (
    TOTAL_FIELDS,
    Column,
    human_moment,
    row_columns,
    rows_text,
    show,
)
from recon_tui.report.hygiene import NOT_CHECKED
from recon_tui.report.snapshot import STATUS_ORDER, ReportRow, Snapshot, invoice_label
from recon_tui.text import printable

__all__ = ["MD_LIST_LIMIT", "write_markdown"]

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


def _md_cell(row: ReportRow, column: Column) -> str:
    """One cell of a row table, as the column's kind shows it to people."""
    value = getattr(row, column.key)
    if column.kind == "money":
        return show(value)
    if column.kind == "date":
        return value.isoformat()
    if not value and column.md_else is not None:
        value = getattr(row, column.md_else)
    return _md(value)


def _md_invoice_rows(rows: Sequence[ReportRow], *, contribution: bool = False) -> list[str]:
    """The markdown table of rows: the columns the table gives a markdown header."""
    shown = [c for c in row_columns(contribution) if c.md is not None]
    body = [[_md_cell(row, column) for column in shown] for row in rows]
    right = [index for index, column in enumerate(shown) if column.kind == "money"]
    return _md_table([c.md for c in shown if c.md is not None], body, right)


def _more(shown: int, total: int, where: str = "the xlsx, csv or json report") -> list[str]:
    return ["", f"… and {total - shown:,} more (see {where})."] if total > shown else []


def _md_causes(snapshot: Snapshot) -> list[str]:
    """Discrepant invoices per cause with what each adds to the Invoice Difference,
    and the check that the block accounts for every discrepant row and the whole
    difference."""
    causes, t = snapshot.causes, snapshot.totals
    discrepant = len(snapshot.discrepant_rows)
    if not causes.lines and discrepant == 0:
        return ["None: no invoice is discrepant."]
    body = [[_md(c.label), f"{c.count:,}", show(c.difference_total), show(c.difference_owing),
             show(c.contribution), _md(c.meaning)] for c in causes.lines]
    body.append(["**Total**", f"**{causes.count:,}**", f"**{show(causes.difference_total)}**",
                 f"**{show(causes.difference_owing)}**", f"**{show(causes.contribution)}**",
                 ""])
    lines = _md_table(["Cause", "Rows", "Diff. total", "Diff. owing", "Adds to difference",
                       "What it means"], body, right=[1, 2, 3, 4])
    check = causes_check_text(causes, discrepant, t.invoice_difference)
    return [*lines, "", check]


def _md_self_check_list(snapshot: Snapshot) -> list[str]:
    """The invoices that make up a non-zero Invoice Difference, one bullet each
    (the first ``MD_LIST_LIMIT``; the table below has their columns)."""
    if snapshot.totals.invoice_difference == 0 and snapshot.accounted_for:
        return []
    shown = snapshot.difference_rows[:MD_LIST_LIMIT]
    lines = [f"- {_md(invoice_label(row))}" for row in shown]
    lines += _more(len(shown), len(snapshot.difference_rows))
    return [*lines, ""] if lines else []


def write_markdown(snapshot: Snapshot, out: TextIO) -> None:
    """The report for a ticket or a chat: header, totals with their self-check, the
    causes, then each section (long lists cut at ``MD_LIST_LIMIT``)."""
    lines = _md_head(snapshot)
    lines += ["## Causes of the discrepant invoices", ""]
    lines += _md_causes(snapshot)
    lines.append("")
    for title, section in (
            ("Rows that make up the Invoice Difference", _md_difference_rows),
            ("Discrepant invoices", _md_discrepant),
            ("Credit memos", _md_credit_memos),
            ("Organizational credits", _md_credits),
            ("Unmapped ledger customers", _md_unmapped),
            ("Portal access", _md_portal),
            ("Data hygiene", _md_hygiene)):
        lines += [f"## {title}", "", *section(snapshot), ""]
    out.write("\n".join(lines[:-1]) + "\n")


def _md_head(snapshot: Snapshot) -> list[str]:
    """The title, what the snapshot is, the totals, the self-check, the counts."""
    h, t = snapshot.header, snapshot.totals
    lines = [f"# Reconciliation snapshot {h.period_from} to {h.period_to}", ""]
    lines += _md_table(["", ""], [
        ["Scope", _md(h.scope)],
        ["Systems", f"PSA {_md(h.psa_kind)}, ledger {_md(h.ledger_kind)}"],
        ["PSA as of", human_moment(h.psa_as_of)],
        ["Ledger as of", human_moment(h.ledger_as_of)],
        ["Generated", human_moment(h.generated_at)],
        ["Reconciliation id", f"`{printable(h.reconciliation_id)}` ({rows_text(h.row_count)})"],
    ])
    lines += ["", "## Totals", ""]
    lines += _md_table(["", "Amount"], [
        [f"**{label}**" if key == "invoice_difference" else label,
         f"**{show(getattr(t, key))}**" if key == "invoice_difference"
         else show(getattr(t, key))]
        for key, label in TOTAL_FIELDS], right=[1])
    lines += ["", f"**Self-check:** {printable(snapshot.self_check)}", ""]
    lines += _md_self_check_list(snapshot)
    counts = snapshot.status_counts
    lines += ["Rows: " + ", ".join(f"{s.value} {counts[s]:,}" for s in STATUS_ORDER)
              + f"; discrepant {len(snapshot.discrepant_rows):,}.", ""]
    return lines


def _md_difference_rows(snapshot: Snapshot) -> list[str]:
    t = snapshot.totals
    if not snapshot.difference_rows:
        return ["None: every matched invoice agrees on its total and no linked "
                "ledger invoice is missing."]
    shown = snapshot.difference_rows[:MD_LIST_LIMIT]
    return [*_md_invoice_rows(shown, contribution=True),
            *_more(len(shown), len(snapshot.difference_rows)),
            "", f"Together they add {show(t.explained_difference)}; the Invoice "
                f"Difference is {show(t.invoice_difference)}."]


def _md_discrepant(snapshot: Snapshot) -> list[str]:
    discrepant = snapshot.discrepant_rows
    if not discrepant:
        return ["None."]
    # The largest gaps, read as the rows stream (the same rows, in the same
    # order, as sorting every discrepant row and keeping the first ones).
    shown = heapq.nsmallest(MD_LIST_LIMIT, discrepant, key=lambda r: (
        -max(abs(r.difference_owing), abs(r.difference_total)), r.invoice_date))
    return ["Every row whose status is not Matched or whose amounts differ, "
            "largest gap first.", "", *_md_invoice_rows(shown),
            *_more(len(shown), len(discrepant))]


def _md_credit_memos(snapshot: Snapshot) -> list[str]:
    if not snapshot.credit_memo_rows:
        return ["None."]
    memo_counts = snapshot.credit_memo_status_counts
    shown = snapshot.credit_memo_rows[:MD_LIST_LIMIT]
    return ["PSA credit memos paired with the ledger's by number; amounts are the "
            "credit and what is left of it. " + ", ".join(
                f"{s.value} {memo_counts[s]:,}" for s in STATUS_ORDER) + ".", "",
            *_md_invoice_rows(shown), *_more(len(shown), len(snapshot.credit_memo_rows))]


def _md_credits(snapshot: Snapshot) -> list[str]:
    if not snapshot.credits:
        return ["None."]
    total = sum((c.amount for c in snapshot.credits), start=ZERO)
    shown = snapshot.credits[:MD_LIST_LIMIT]
    return [f"Credits on account: {len(snapshot.credits):,}, totalling {show(total)}.", "",
            *_md_table(["Customer", "PSA company", "Source", "Id", "Date", "Amount"], [
                [_md(c.customer), _md(c.psa_company), printable(c.source), _md(c.credit_id),
                 c.date.isoformat(), show(c.amount)] for c in shown], right=[5]),
            *_more(len(shown), len(snapshot.credits))]


def _md_unmapped(snapshot: Snapshot) -> list[str]:
    if not snapshot.unmapped_customers:
        return ["None."]
    shown = snapshot.unmapped_customers[:MD_LIST_LIMIT]
    return [*_md_table(["Customer", "Id", "Invoices", "In period", "Open balance",
                        "Unapplied credits"], [
        [_md(u.name) + ("" if u.active else " (inactive)"), _md(u.customer_id),
         f"{u.invoice_count:,}", f"{u.invoices_in_period:,}", show(u.balance),
         show(u.unapplied_credits)] for u in shown], right=[2, 3, 4, 5]),
        *_more(len(shown), len(snapshot.unmapped_customers))]


def _md_portal(snapshot: Snapshot) -> list[str]:
    h = snapshot.header
    lines = [f"Active contacts below portal level {h.portal_level} (they cannot see "
             f"invoices): {len(snapshot.portal_contacts):,}."]
    if snapshot.portal_clients:
        lines += ["", "Clients none of whose contacts can see invoices:", ""]
        lines += [f"- {_md(c.company)} (id {_md(c.company_id)}): {_md(c.reason)}"
                  + (" — deleted in the PSA" if c.deleted else "")
                  for c in snapshot.portal_clients[:MD_LIST_LIMIT]]
        lines += _more(min(len(snapshot.portal_clients), MD_LIST_LIMIT),
                       len(snapshot.portal_clients))
    return lines


def _md_hygiene(snapshot: Snapshot) -> list[str]:
    lines = _md_table(["Check", "Result"], [
        [printable(c.title), printable(c.note) if c.status == NOT_CHECKED else (
            _count(c.findings, "finding") + (f" ({printable(c.note)})" if c.note else ""))]
        for c in snapshot.hygiene_checks])
    if snapshot.hygiene_findings:
        lines.append("")
        shown = snapshot.hygiene_findings[:MD_LIST_LIMIT]
        lines += [f"- **{printable(f.severity)}** {printable(f.system)} "
                  f"{printable(f.record_type)} {_md_code(f.name)} "
                  f"(id {_md(f.record_id)}): {_md(f.detail)}" for f in shown]
        lines += _more(len(shown), len(snapshot.hygiene_findings))
    return lines
