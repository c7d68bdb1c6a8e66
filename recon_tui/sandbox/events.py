"""What happens in the demo's systems after its first sync: ``sample_data/events.json``.

Some of the seeds' stories start after the last sync: a payment is deleted in the
ledger, an invoice the cache had linked is deleted there. The sample files hold
the world as the demo's first sync reads it; these events then change the
emulator's book once, as the real systems would (through the same bookkeeping as
the emulated API calls: a deleted QBO payment reopens what it paid and change
data capture reports it; a deleted ConnectWise payment gives its amount back to
the invoice), so the cache is one sync behind until the user resyncs.

Each event: ``{"id", "story", "system": "qbo"|"connectwise", "action", ...}``:

* ``qbo`` ``delete_payment`` ``{"payment_id"}``;
* ``qbo`` ``delete_invoice`` ``{"invoice_id"}``;
* ``connectwise`` ``delete_payment`` ``{"invoice_id", "payment_id"}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from recon_tui.jsonio import decode
from recon_tui.sandbox import cw_payments, qbo
from recon_tui.sandbox.book import SandboxBook

__all__ = ["EVENTS_FILE", "EventError", "apply_event", "load_events"]

EVENTS_FILE = "events.json"


class EventError(ValueError):
    """An event the book cannot take (the sample files and events.json disagree)."""


def load_events(data_dir: Path) -> list[dict[str, Any]]:
    """The events beside the sample files, in order (none when there is no file)."""
    path = data_dir / EVENTS_FILE
    if not path.exists():
        return []
    data = decode(path.read_text(encoding="utf-8"))
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list) or not all(
            isinstance(e, dict) and isinstance(e.get("id"), str) for e in events):
        raise EventError(f"{path}: expected {{\"events\": [{{\"id\": ...}}, ...]}}")
    return events


def apply_event(book: SandboxBook, event: dict[str, Any], *,
                now: datetime | None = None) -> None:
    """Change the book as ``event`` says (raises EventError if it cannot)."""
    moment = now or datetime.now(UTC)
    kind = (event.get("system"), event.get("action"))
    if kind == ("qbo", "delete_payment"):
        _qbo_delete("Payment", str(event["payment_id"]), book, moment)
    elif kind == ("qbo", "delete_invoice"):
        _qbo_delete("Invoice", str(event["invoice_id"]), book, moment)
    elif kind == ("connectwise", "delete_payment"):
        removed = cw_payments.remove_payment(book, int(event["invoice_id"]),
                                             int(event["payment_id"]), now=moment)
        if removed is None:
            raise EventError(f"event {event['id']}: ConnectWise invoice "
                             f"{event['invoice_id']} has no payment {event['payment_id']}")
    else:
        raise EventError(f"event {event.get('id')}: unknown action {kind}")
    book.changed()


def _qbo_delete(entity: str, record_id: str, book: SandboxBook, moment: datetime) -> None:
    """A QBO hard delete, as ``POST {entity}?operation=delete`` does it."""
    with book.lock:
        record = book.qbo.get(entity, {}).get(record_id)
        if record is None:
            raise EventError(f"QBO has no {entity} {record_id}")
        if entity == "Payment":
            # Unwind the lines: its invoices reopen, the credit memos it used regain it.
            qbo._save_payment(book, {"TotalAmt": 0, "Line": []}, record)
        else:
            ref = str((record.get("CustomerRef") or {}).get("value", ""))
            customer = book.qbo.get("Customer", {}).get(ref)
            if customer is not None:
                customer["Balance"] = (Decimal(customer.get("Balance", 0))
                                       - Decimal(record.get("Balance", 0)))
        del book.qbo[entity][record_id]
        book.qbo_deleted.append((entity, record_id, moment.isoformat(timespec="seconds")))
