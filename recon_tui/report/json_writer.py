"""The report as JSON: the contract's keys (period, generated_at, systems, rows,
totals, credits, unmapped_customers, hygiene) and more beside them. Money as
exact two-place strings; every string exact, a character that would act on a
terminal written as its ``\\uXXXX`` escape."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from json.encoder import encode_basestring as encode_string  # type: ignore[attr-defined]
from typing import Any, TextIO

from recon_tui.cache.report_spool import QUOTED_COLUMNS
from recon_tui.report.causes import CauseLine, CauseSummary, causes_agree
from recon_tui.report.fields import (
    CONTRIBUTION,
    ROW_COLUMNS,
    TOTAL_FIELDS,
    VALUE_COLUMNS,
    iso_moment,
    money,
    row_columns,
    row_dict,
)
from recon_tui.report.snapshot import RowView, Snapshot
from recon_tui.text import UNSAFE_CHARACTERS, character_class

__all__ = ["causes_dict", "snapshot_dict", "write_json"]

#: Rows per page read, written, and between two progress reports.
PROGRESS_EVERY = 2_000


def _cause_sums(line: CauseLine | CauseSummary) -> dict[str, Any]:
    return {"count": line.count, "difference_total": money(line.difference_total),
            "difference_owing": money(line.difference_owing),
            "contribution": money(line.contribution)}


def causes_dict(causes: CauseSummary, discrepant: int,
                invoice_difference: Decimal) -> dict[str, Any]:
    """The causes block: every cause of the closed set (0 rows where none has it),
    the rows not diagnosed yet, their sum, and whether the sum checks out."""
    return {
        "note": "discrepant rows per the cause stored with each row; contribution is "
                "what they add to the Invoice Difference; holds: the counts add up to "
                "the discrepant rows and the contributions to the Invoice Difference",
        "by_cause": {line.label: _cause_sums(line) | {"meaning": line.meaning}
                     for line in causes.every_cause()},
        "not_diagnosed": _cause_sums(causes.not_diagnosed)
        | {"meaning": causes.not_diagnosed.meaning},
        "total": _cause_sums(causes),
        "holds": causes_agree(causes, discrepant, invoice_difference),
    }


class _Rows:
    """A list of row objects written as it is read (the spool's pages), with the
    layout ``json.dumps(..., indent=2)`` gives a list."""

    def __init__(self, view: RowView, contribution: bool = False) -> None:
        self.view, self.contribution = view, contribution

    def __len__(self) -> int:
        return len(self.view)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.view:
            item = row_dict(row)
            if self.contribution:
                item[CONTRIBUTION.key] = money(row.contribution)
            yield item

    def pages(self, level: int, size: int) -> Iterator[tuple[str, int]]:
        """Each page of rows as the text ``json.dumps(..., indent=2)`` gives its items
        at ``level`` (joined by ",\\n", the unsafe characters escaped: only the
        encoded strings can hold one, so only they are scanned), with its row count.
        Date, money and status come from the spool as JSON tokens; the other
        strings go through ``json``'s own C string encoder, the one
        ``json.dumps(ensure_ascii=False)`` calls: the same bytes, without building a
        dict per row. (msgspec would be no faster here and refuses the lone
        surrogates a name may hold, which ``json`` writes.)"""
        keys = [c.key for c in row_columns(self.contribution)]
        width = len(keys)
        pad = "  " * level
        template = pad + "{\n" + ",\n".join(
            f"{pad}  {encode_string(key)}: %s" for key in keys) + "\n" + pad + "}"
        for page in self.view.value_pages(size, quoted=True):
            columns = list(zip(*page, strict=True))[:width]
            for index in _ENCODED_AT:
                encoded = ["null" if value is None else encode_string(value)
                           for value in columns[index]]
                if _JSON_UNSAFE.search("".join(encoded)) is not None:
                    encoded = [_JSON_UNSAFE.sub(_json_escape, text) for text in encoded]
                columns[index] = encoded
            yield ",\n".join([template % row for row in zip(*columns, strict=True)]), len(page)


#: The string fields a value page holds raw (the others come as JSON tokens).
_ENCODED_AT = tuple(VALUE_COLUMNS.index(c.spool) for c in ROW_COLUMNS
                    if c.kind == "text" and c.spool not in QUOTED_COLUMNS)


def snapshot_dict(snapshot: Snapshot) -> dict[str, Any]:
    """Everything in the snapshot, in the JSON contract's shape (extra keys beside
    the contract's: as_of, scope, reconciliation_id, row_count, status_counts,
    discrepant_count, self_check, difference_rows, causes, portal). Every row in
    memory: :func:`write_json` streams the same document instead."""
    return _materialise(_document(snapshot))


def _materialise(value: Any) -> Any:
    if isinstance(value, _Rows):
        return list(value)
    if isinstance(value, dict):
        return {key: _materialise(item) for key, item in value.items()}
    return value


def _document(snapshot: Snapshot) -> dict[str, Any]:
    """The whole document, its row lists as :class:`_Rows` (written as read)."""
    t = snapshot.totals
    return {
        **_head(snapshot),
        "rows": _Rows(snapshot.rows),
        "totals": _totals(t),
        "self_check": {
            "matched_difference": money(t.matched_difference),
            "expected_not_found": money(t.expected_not_found),
            "accounted_for": money(t.explained_difference),
            "invoice_difference": money(t.invoice_difference),
            "not_accounted_for": money(t.residual),
            "holds": t.residual == 0,
            "text": snapshot.self_check,
        },
        "difference_rows": _Rows(snapshot.difference_rows, contribution=True),
        "causes": causes_dict(snapshot.causes, len(snapshot.discrepant_rows),
                              t.invoice_difference),
        "credit_memos": _credit_memos(snapshot),
        **_sections(snapshot),
    }


def _head(snapshot: Snapshot) -> dict[str, Any]:
    """What the snapshot is: period, when, which systems, its id and its counts."""
    h = snapshot.header
    return {
        "period": {"from": h.period_from.isoformat(), "to": h.period_to.isoformat()},
        "generated_at": iso_moment(h.generated_at),
        "systems": {"psa": h.psa_kind, "ledger": h.ledger_kind},
        "as_of": {"psa": iso_moment(h.psa_as_of), "ledger": iso_moment(h.ledger_as_of)},
        "scope": {"client_key": h.client_key, "client": h.client_name},
        "reconciliation_id": h.reconciliation_id,
        "row_count": h.row_count,
        "status_counts": {s.value: n for s, n in snapshot.status_counts.items()},
        "discrepant_count": len(snapshot.discrepant_rows),
    }


def _totals(totals: Any) -> dict[str, str | None]:
    return {key: money(getattr(totals, key)) for key, _label in TOTAL_FIELDS}


def _credit_memos(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "note": "PSA credit memos paired with the ledger's by number; amounts are the "
                "credit and what is left of it (owing), positive on both sides",
        "status_counts": {s.value: n for s, n in snapshot.credit_memo_status_counts.items()},
        "rows": _Rows(snapshot.credit_memo_rows),
        "totals": _totals(snapshot.credit_memo_totals),
        "causes": causes_dict(
            snapshot.credit_memo_causes,
            snapshot.credit_memo_discrepant,
            snapshot.credit_memo_totals.invoice_difference),
    }


def _sections(snapshot: Snapshot) -> dict[str, Any]:
    """The sections after the rows: credits, unmapped customers, portal, hygiene."""
    h = snapshot.header
    return {
        "credits": [{
            "customer_id": c.customer_id, "customer": c.customer,
            "psa_company": c.psa_company, "source": c.source, "credit_id": c.credit_id,
            "doc_number": c.doc_number, "date": c.date.isoformat(),
            "amount": money(c.amount), "total": money(c.total),
        } for c in snapshot.credits],
        "unmapped_customers": [{
            "customer_id": u.customer_id, "name": u.name, "active": u.active,
            "invoice_count": u.invoice_count, "invoices_in_period": u.invoices_in_period,
            "balance": money(u.balance), "unapplied_credits": money(u.unapplied_credits),
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


def write_json(snapshot: Snapshot, out: TextIO,
               progress: Callable[[int], None] | None = None) -> None:
    """Strings exact, accents as themselves; a character that would act on a
    terminal (or cannot be encoded) as its ``\\uXXXX`` escape: the same string.
    The rows are written as they are read, a page at a time; the bytes are those of
    ``json.dumps(snapshot_dict(snapshot), ensure_ascii=False, indent=2)``.
    ``progress(rows_written)`` after each page of rows."""
    def write(text: str) -> None:
        out.write(_JSON_UNSAFE.sub(_json_escape, text))

    written = 0

    def emit(value: Any, level: int) -> None:
        nonlocal written
        pad = "  " * (level + 1)
        if isinstance(value, dict) and value:
            write("{\n")
            for index, (key, item) in enumerate(value.items()):
                write(f"{pad}{json.dumps(key, ensure_ascii=False)}: ")
                emit(item, level + 1)
                write(",\n" if index < len(value) - 1 else "\n")
            write("  " * level + "}")
        elif isinstance(value, _Rows) and len(value):
            write("[\n")
            for index, (text, count) in enumerate(value.pages(level + 1, PROGRESS_EVERY)):
                if index:
                    out.write(",\n")
                out.write(text)  # escaped already
                written += count
                if progress is not None:
                    progress(written)
            write("\n" + "  " * level + "]")
        elif isinstance(value, list) and value and all(
                isinstance(item, dict) and item for item in value):
            # credits, findings...: thousands of flat objects on a big book
            write("[\n" + ",\n".join([pad + _item(item, level + 1) for item in value])
                  + "\n" + "  " * level + "]")
        else:
            write(_dumps([] if isinstance(value, _Rows) else value, level))

    emit(_document(snapshot), 0)
    out.write("\n")


def _dumps(value: Any, level: int) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + "  " * level)


_SCALARS = {str: encode_string, int: int.__repr__, type(None): lambda _value: "null",
            bool: lambda value: "true" if value else "false"}


def _item(item: dict[str, Any], level: int) -> str:
    """``_dumps(item, level)`` for a flat object (keys and scalar values, as json
    writes them); anything else goes through ``json`` itself. ``json.dumps`` with an
    indent runs its pure-Python encoder, several times slower than this."""
    pad = "\n" + "  " * (level + 1)
    try:
        lines = [encode_string(key) + ": " + _SCALARS[value.__class__](value)
                 for key, value in item.items()]
    except (KeyError, TypeError):  # a nested or float value, or a key not a string
        return _dumps(item, level)
    return "{" + pad + ("," + pad).join(lines) + "\n" + "  " * level + "}"
