"""The report as an xlsx workbook: a Summary sheet (header, totals, self-check,
counts), the Causes sheet, then one sheet per section, each a filtered table.

Money cells are numbers whose digits in the file are the ``Decimal``'s own (see
:func:`~recon_tui.report.xlsx_cells.put_money`); text cells are always strings,
made visible and inert. With a path the workbook streams its rows to disk
(XlsxWriter's ``constant_memory``), so each sheet is written top to bottom.
"""

from __future__ import annotations

import os
from typing import IO, Any

from recon_tui.money import ZERO
from recon_tui.report.causes import causes_check_text
from recon_tui.report.fields import ROW_FIELDS, TOTAL_FIELDS, human_moment, neutralise
from recon_tui.report.hygiene import NOT_CHECKED
from recon_tui.report.snapshot import ProgressCallback, Snapshot, invoice_label
from recon_tui.report.xlsx_cells import DATE_FORMAT, Formats, put, put_money, table
from recon_tui.report.xlsx_rows import row_table
from recon_tui.text import printable

__all__ = ["SUMMARY_LIST_LIMIT", "write_xlsx"]

#: The invoices making up the difference listed on the Summary (all on their sheet).
SUMMARY_LIST_LIMIT = 20


def _summary(fmt: Formats, snapshot: Snapshot) -> None:
    """The Summary sheet: what the snapshot is, its totals and self-check, the rows
    by status, then one line per section sheet."""
    h = snapshot.header
    ws = fmt.wb.add_worksheet("Summary")
    ws.set_column(0, 0, 46)
    ws.set_column(1, 1, 22)
    ws.set_column(2, 2, 60)
    ws.write_string(0, 0, f"Reconciliation snapshot {h.period_from} to {h.period_to}",
                    fmt.title)
    r = _summary_info(ws, fmt, snapshot, 2) + 1
    for part in (_summary_totals, _summary_self_check, _summary_counts, _summary_sections):
        ws.write_string(r, 0, _SUMMARY_PARTS[part], fmt.section)
        ws.write_blank(r, 1, None, fmt.section)
        r = part(ws, fmt, snapshot, r + 1)


def _summary_info(ws: Any, fmt: Formats, snapshot: Snapshot, r: int) -> int:
    h = snapshot.header
    info: list[tuple[str, object, str]] = [
        ("Period from", h.period_from, "date"),
        ("Period to", h.period_to, "date"),
        ("Scope", h.scope, "text"),
        ("PSA", h.psa_kind, "text"),
        ("Ledger", h.ledger_kind, "text"),
        ("PSA as of (last sync)", human_moment(h.psa_as_of), "text"),
        ("Ledger as of (last sync)", human_moment(h.ledger_as_of), "text"),
        ("Generated at", human_moment(h.generated_at), "text"),
        ("Reconciliation id", h.reconciliation_id, "text"),
        ("Rows", h.row_count, "int"),
        ("Portal level that can see invoices", h.portal_level, "int"),
    ]
    for label, value, kind in info:
        ws.write_string(r, 0, label, fmt.label)
        put(ws, fmt, r, 1, kind, value)
        r += 1
    return r


def _summary_totals(ws: Any, fmt: Formats, snapshot: Snapshot, r: int) -> int:
    for key, label in TOTAL_FIELDS:
        amount = getattr(snapshot.totals, key)
        if key == "invoice_difference":
            ws.write_string(r, 0, label, fmt.grand_label)
            put_money(ws, r, 1, amount, fmt.grand_money if amount == 0 else fmt.bad_money)
            ws.write_string(r, 2, "must read 0.00 when every matched invoice agrees",
                            fmt.note)
        else:
            label_format = fmt.total_label if key.startswith("total_expected") else fmt.label
            money_format = fmt.total_money if key.startswith("total_expected") \
                else fmt.cell("money")
            ws.write_string(r, 0, label, label_format)
            put_money(ws, r, 1, amount, money_format)
        r += 1
    return r + 1


def _summary_self_check(ws: Any, fmt: Formats, snapshot: Snapshot, r: int) -> int:
    t = snapshot.totals
    check = [
        ("Matched invoices whose totals differ (ledger − PSA)", t.matched_difference, ""),
        ("Linked invoices the ledger no longer has (their PSA totals)",
         ZERO - t.expected_not_found, "taken away: the ledger is missing them"),
        ("Accounted for by these invoices", t.explained_difference,
         "the Contribution column of the Difference rows sheet, added up"),
        ("Invoice Difference (from the totals above)", t.invoice_difference, ""),
        ("Not accounted for (must be 0.00)", t.residual, "0.00: every amount is accounted for"
         if t.residual == 0 else "NOT 0.00: a bug in recon-tui, please report it"),
    ]
    for label, amount, note in check:
        last = label.startswith("Not accounted")
        ws.write_string(r, 0, label, fmt.total_label if last else fmt.label)
        put_money(ws, r, 1, amount, fmt.total_money if last else fmt.cell("money"))
        if note:
            ws.write_string(r, 2, note, fmt.note)
        r += 1
    ws.write_string(r, 0, snapshot.self_check, fmt.note)
    r += 1
    listed = snapshot.difference_rows[:SUMMARY_LIST_LIMIT]
    if t.invoice_difference != 0 or not snapshot.accounted_for:
        for row in listed:
            ws.write_string(r, 0, neutralise(printable(invoice_label(row))))
            r += 1
        if len(snapshot.difference_rows) > len(listed):
            ws.write_string(r, 0, f"… and {len(snapshot.difference_rows) - len(listed):,} "
                            "more on the Difference rows sheet", fmt.note)
            r += 1
    return r + 1


def _summary_counts(ws: Any, fmt: Formats, snapshot: Snapshot, r: int) -> int:
    for status, n in snapshot.status_counts.items():
        ws.write_string(r, 0, status.value)
        ws.write_number(r, 1, n)
        r += 1
    ws.write_string(r, 0, "Discrepant rows (status or amounts differ)", fmt.label)
    ws.write_number(r, 1, len(snapshot.discrepant_rows))
    return r + 2


def _summary_sections(ws: Any, fmt: Formats, snapshot: Snapshot, r: int) -> int:
    sections = [
        ("Causes", len(snapshot.causes.lines), "discrepant invoices by cause, and what each "
         "cause means"),
        ("Difference rows", len(snapshot.difference_rows),
         "rows that make up the Invoice Difference"),
        ("Discrepant", len(snapshot.discrepant_rows), "every row needing a look"),
        ("Credit memos", len(snapshot.credit_memo_rows),
         "PSA credit memos paired with the ledger's, by number"),
        ("Credits", len(snapshot.credits), "organizational credits on account"),
        ("Unmapped customers", len(snapshot.unmapped_customers),
         "ledger customers mapped to no PSA company"),
        ("Portal contacts", len(snapshot.portal_contacts),
         f"active contacts below portal level {snapshot.header.portal_level}"),
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
    return r


#: The Summary's parts after its header, each under its section title.
_SUMMARY_PARTS = {
    _summary_totals: "Totals",
    _summary_self_check: "Self-check",
    _summary_counts: "Rows by sync status",
    _summary_sections: "Sections (one sheet each)",
}


def _causes(fmt: Formats, snapshot: Snapshot) -> None:
    """The Causes sheet: discrepant invoices per cause with their sums and meaning,
    a total row, and the line that checks it against the rows and the totals."""
    causes, t = snapshot.causes, snapshot.totals
    ws, r = table(
        fmt, "Causes",
        ["Cause", "Rows", "Difference total (ledger − PSA)",
         "Difference owing (ledger − PSA)", "Adds to Invoice Difference", "What it means"],
        ["text", "int", "money", "money", "money", "text"],
        (([c.label, c.count, c.difference_total, c.difference_owing, c.contribution,
           c.meaning], "warn" if c.cause is None else "") for c in causes.lines),
        total=("Total", {1: causes.count, 2: causes.difference_total,
                         3: causes.difference_owing, 4: causes.contribution}))
    discrepant = len(snapshot.discrepant_rows)
    check = causes_check_text(causes, discrepant, t.invoice_difference)
    ws.write_string(r + 1, 0, check, fmt.note)


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
    fmt = Formats(workbook)
    total = len(snapshot.rows)

    def rows_progress(done: int) -> None:
        if progress is not None:
            progress("writing", done, total)

    _summary(fmt, snapshot)
    _causes(fmt, snapshot)
    row_table(fmt, "Invoices", snapshot.rows, progress=rows_progress)
    row_table(fmt, "Difference rows", snapshot.difference_rows, contribution=True,
              total=("Invoice Difference (sum of contributions)",
                     {len(ROW_FIELDS): snapshot.totals.explained_difference}))
    row_table(fmt, "Discrepant", snapshot.discrepant_rows)
    row_table(fmt, "Credit memos", snapshot.credit_memo_rows)
    _section_sheets(fmt, snapshot)
    workbook.close()
    if progress is not None:
        progress("writing", total, total)


def _section_sheets(fmt: Formats, snapshot: Snapshot) -> None:
    """The sheets after the rows: credits, unmapped customers, portal, hygiene."""
    table(fmt, "Credits",
           ["Customer", "Customer id", "PSA company", "Source", "Credit id", "Doc number",
            "Date", "Amount on account", "Original total"],
           ["text", "text", "text", "text", "text", "text", "date", "money", "money"],
           (([c.customer, c.customer_id, c.psa_company, c.source, c.credit_id,
              c.doc_number or None, c.date, c.amount, c.total], "")
            for c in snapshot.credits),
           total=("Total on account",
                  {7: sum((c.amount for c in snapshot.credits), start=ZERO)}))
    table(fmt, "Unmapped customers",
           ["Customer", "Customer id", "Active", "Invoices", "Invoices in period",
            "Open balance", "Unapplied credits"],
           ["text", "text", "bool", "int", "int", "money", "money"],
           (([u.name, u.customer_id, u.active, u.invoice_count, u.invoices_in_period,
              u.balance, u.unapplied_credits], "") for u in snapshot.unmapped_customers))
    table(fmt, "Portal contacts",
           ["Company", "Company id", "Contact", "Contact id", "Email", "Portal level"],
           ["text", "text", "text", "text", "text", "int"],
           (([c.company, c.company_id, c.name, c.contact_id, c.email, c.level], "")
            for c in snapshot.portal_contacts))
    table(fmt, "Portal clients",
           ["Company", "Company id", "Active contacts", "Highest level", "Deleted in PSA",
            "Why nobody sees invoices"],
           ["text", "text", "int", "int", "bool", "text"],
           (([c.company, c.company_id, c.active_contacts, c.highest_level, c.deleted,
              c.reason], "bad") for c in snapshot.portal_clients))
    table(fmt, "Hygiene",
           ["Check", "Severity", "System", "Record", "Record id", "Name", "Detail"],
           ["text"] * 7,
           (([f.check, f.severity, f.system, f.record_type, f.record_id, f.name, f.detail],
             "bad" if f.severity == "error" else "warn") for f in snapshot.hygiene_findings))
    table(fmt, "Hygiene checks",
           ["Check", "What", "Status", "Findings", "Rule", "Source", "Note"],
           ["text", "text", "text", "int", "text", "text", "text"],
           (([c.code, c.title, c.status, c.findings, c.rule, c.source, c.note or None],
             "warn" if c.status == NOT_CHECKED else "") for c in snapshot.hygiene_checks))
