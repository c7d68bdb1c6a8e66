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
from recon_tui.report.fields import TOTAL_FIELDS, human_moment, rows_text, show
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


def _md_invoice_rows(rows: Sequence[ReportRow], *, contribution: bool = False) -> list[str]:
    headers = ["Date", "Customer", "PSA #", "PSA total", "PSA owing", "Ledger #",
               "Ledger total", "Ledger owing", "Diff. total", "Diff. owing", "Status", "Cause"]
    if contribution:
        headers.append("Adds to difference")
    body = []
    for r in rows:
        cells = [r.invoice_date.isoformat(), _md(r.customer or r.psa_company),
                 _md(r.psa_invoice_number), show(r.psa_total), show(r.psa_owing),
                 _md(r.ledger_invoice_number), show(r.ledger_total), show(r.ledger_owing),
                 show(r.difference_total), show(r.difference_owing), r.sync_status.value,
                 _md(r.cause)]
        if contribution:
            cells.append(show(r.contribution))
        body.append(cells)
    right = [3, 4, 6, 7, 8, 9] + ([12] if contribution else [])
    return _md_table(headers, body, right)


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
    discrepant = snapshot.discrepant_rows
    lines += ["Rows: " + ", ".join(f"{s.value} {counts[s]:,}" for s in STATUS_ORDER)
              + f"; discrepant {len(discrepant):,}.", ""]

    lines += ["## Causes of the discrepant invoices", ""]
    lines += _md_causes(snapshot)
    lines.append("")

    lines += ["## Rows that make up the Invoice Difference", ""]
    if snapshot.difference_rows:
        shown = snapshot.difference_rows[:MD_LIST_LIMIT]
        lines += _md_invoice_rows(shown, contribution=True)
        lines += _more(len(shown), len(snapshot.difference_rows))
        lines += ["", f"Together they add {show(t.explained_difference)}; the Invoice "
                      f"Difference is {show(t.invoice_difference)}."]
    else:
        lines.append("None: every matched invoice agrees on its total and no linked "
                     "ledger invoice is missing.")
    lines += ["", "## Discrepant invoices", ""]
    if discrepant:
        # The largest gaps, read as the rows stream (the same rows, in the same
        # order, as sorting every discrepant row and keeping the first ones).
        shown = heapq.nsmallest(MD_LIST_LIMIT, discrepant, key=lambda r: (
            -max(abs(r.difference_owing), abs(r.difference_total)), r.invoice_date))
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
                     f"{show(total)}.")
        lines.append("")
        shown_credits = snapshot.credits[:MD_LIST_LIMIT]
        lines += _md_table(["Customer", "PSA company", "Source", "Id", "Date", "Amount"], [
            [_md(c.customer), _md(c.psa_company), printable(c.source), _md(c.credit_id),
             c.date.isoformat(), show(c.amount)] for c in shown_credits], right=[5])
        lines += _more(len(shown_credits), len(snapshot.credits))
    else:
        lines.append("None.")

    lines += ["", "## Unmapped ledger customers", ""]
    if snapshot.unmapped_customers:
        shown_unmapped = snapshot.unmapped_customers[:MD_LIST_LIMIT]
        lines += _md_table(["Customer", "Id", "Invoices", "In period", "Open balance",
                            "Unapplied credits"], [
            [_md(u.name) + ("" if u.active else " (inactive)"), _md(u.customer_id),
             f"{u.invoice_count:,}", f"{u.invoices_in_period:,}", show(u.balance),
             show(u.unapplied_credits)] for u in shown_unmapped], right=[2, 3, 4, 5])
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
