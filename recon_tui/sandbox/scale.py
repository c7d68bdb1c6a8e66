"""Books at scale for the emulator: ``recon-tui sandbox --scale CLIENTS:INVOICES``,
the benchmark's book (:func:`scaled_book`) and the paging tests' big ledger.

Why here: the benchmark measures recon-tui against a 10,000-client,
200,000-invoice book, and anyone can serve that same book to try the TUI at
size. Records are copies of the sample book's own (so they keep every field the
API references show), made by a generated expression per template (see
:func:`_cloner`), not ``copy.deepcopy``, so the 200,000-invoice book builds in
seconds.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.qbo_writes import _next_id

__all__ = ["MAX_CLIENTS", "MAX_INVOICES", "ScaleError", "freeze_for_serving",
           "make_big_ledger", "parse_scale", "scaled_book"]

#: Bounds on ``--scale``: far above the issue's 10,000 / 200,000, below what
#: would exhaust a laptop's memory (about 4 KB per invoice, both sides).
MAX_CLIENTS = 1_000_000
MAX_INVOICES = 2_000_000


class ScaleError(ValueError):
    """A ``--scale`` value that is not CLIENTS:INVOICES; the message says why."""


def parse_scale(text: str) -> tuple[int, int]:
    """``"10000:200000"`` -> (10000, 200000); raises ScaleError with one line."""
    match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", text or "")
    if match is None:
        raise ScaleError(f"{text!r} is not CLIENTS:INVOICES (two whole numbers, "
                         "like 10000:200000)")
    clients, invoices = int(match.group(1)), int(match.group(2))
    if not 1 <= clients <= MAX_CLIENTS:
        raise ScaleError(f"{text!r}: CLIENTS must be 1 to {MAX_CLIENTS:,}")
    if invoices > MAX_INVOICES:
        raise ScaleError(f"{text!r}: INVOICES must be 0 to {MAX_INVOICES:,}")
    return clients, invoices


def _cloner(template: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """A function returning a fresh deep copy of ``template`` (JSON-shaped: dicts
    with text keys, lists, immutable leaves), each call.

    It is one generated expression of dict and list displays, the leaves shared
    (they are immutable), so a copy costs about what writing the literal would:
    several times less than walking the template, far less than ``deepcopy``.
    Keys are written with ``repr`` (text only), leaves passed by position, so no
    value of the data is ever code.
    """
    leaves: list[Any] = []

    def display(node: Any) -> str:
        if type(node) is dict:
            if not all(type(key) is str for key in node):
                raise TypeError("JSON object keys are text")
            return "{" + ", ".join(f"{key!r}: {display(value)}"
                                   for key, value in node.items()) + "}"
        if type(node) is list:
            return "[" + ", ".join(display(value) for value in node) + "]"
        leaves.append(node)
        return f"c[{len(leaves) - 1}]"

    build = eval(f"lambda c: {display(template)}", {"__builtins__": {}})
    return lambda: build(leaves)  # type: ignore[no-any-return]


@contextlib.contextmanager
def _collector_paused() -> Any:
    """No cyclic garbage collection while millions of containers are made: each
    pass would walk every one made so far (half the build time), and none of them
    is garbage."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def freeze_for_serving() -> None:
    """Move every object alive now (the book) out of the garbage collector's
    passes, for a process that only serves it (``recon-tui sandbox --scale``, the
    benchmark's emulator): a full pass over a 200,000-invoice book costs seconds,
    and its records are never garbage."""
    gc.collect()
    gc.freeze()


def _first(records: dict[Any, dict[str, Any]], what: str, data_dir: Path) -> dict[str, Any]:
    for record in records.values():
        return record
    raise ScaleError(f"{data_dir} holds no {what} to copy")


def scaled_book(clients: int, invoices: int, data_dir: Path) -> SandboxBook:
    """The emulator's book at scale: QBO customers and ConnectWise companies one to
    one (same names, so auto-mapping maps them), three contacts each, each invoice
    on both sides; every 50th differs by a cent on the ledger, every 97th is
    missing there. Each record is a copy of the first of its kind in ``data_dir``
    (the sample book: ``connectors.sample.sample_data_dir()``)."""
    with _collector_paused():
        return _build(clients, invoices, data_dir)


def _build(clients: int, invoices: int, data_dir: Path) -> SandboxBook:
    sample = SandboxBook.from_dir(data_dir)
    cw, qbo = sample.connectwise, sample.qbo
    new_company = _cloner(_first(cw["companies"], "ConnectWise company", data_dir))
    new_contact = _cloner(_first(cw["contacts"], "ConnectWise contact", data_dir))
    new_cw_invoice = _cloner(_first(cw["invoices"], "ConnectWise invoice", data_dir))
    new_customer = _cloner(_first(qbo["Customer"], "QBO customer", data_dir))
    new_qbo_invoice = _cloner(_first(qbo["Invoice"], "QBO invoice", data_dir))
    book = SandboxBook()
    book.qbo = {key: {} for key in sample.qbo}
    book.connectwise = {key: {} for key in sample.connectwise}
    companies, customers = book.connectwise["companies"], book.qbo["Customer"]
    refs = []
    for i in range(1, clients + 1):
        name = f"Client {i:05d} Services"
        company = new_company()
        company.update(id=100_000 + i, identifier=f"C{i:05d}", name=name)
        companies[100_000 + i] = company
        customer = new_customer()
        customer.update(Id=str(50_000 + i), DisplayName=name, CompanyName=name,
                        FullyQualifiedName=name)
        customers[str(50_000 + i)] = customer
        refs.append((100_000 + i, f"C{i:05d}", name, str(50_000 + i)))
    contacts = book.connectwise["contacts"]
    for i in range(1, 3 * clients + 1):
        company_id, identifier, name, _ = refs[(i - 1) // 3]
        contact = new_contact()
        contact.update(id=3_000_000 + i, firstName=f"Contact{i}", lastName="Bench")
        contact["company"] = {"id": company_id, "identifier": identifier, "name": name}
        contact["communicationItems"] = []
        contacts[3_000_000 + i] = contact
    cw_invoices, qbo_invoices = book.connectwise["invoices"], book.qbo["Invoice"]
    cent = Decimal("0.01")
    for n in range(1, invoices + 1):
        company_id, identifier, name, customer_id = refs[n % clients]
        day = f"2026-{(n % 12) + 1:02d}-{(n % 28) + 1:02d}"
        total = Decimal(100 + n % 900) + Decimal(n % 100) / 100
        psa = new_cw_invoice()
        psa.update(id=1_000_000 + n, invoiceNumber=str(500_000 + n), date=f"{day}T00:00:00Z",
                  dueDate=f"{day}T00:00:00Z", total=total, subtotal=total, salesTax=0,
                  payments=Decimal(0), balance=total)
        psa["company"] = {"id": company_id, "identifier": identifier, "name": name}
        cw_invoices[1_000_000 + n] = psa
        if n % 97 == 0:
            continue
        ledger = new_qbo_invoice()
        ledger_total = total + (cent if n % 50 == 0 else 0)
        ledger.update(Id=str(2_000_000 + n), DocNumber=str(500_000 + n), TxnDate=day,
                   DueDate=day, TotalAmt=ledger_total, Balance=ledger_total)
        ledger["CustomerRef"] = {"value": customer_id, "name": name}
        ledger.pop("LinkedTxn", None)
        qbo_invoices[str(2_000_000 + n)] = ledger
    return book


def _load_customer(cid: str, n: int, base: datetime) -> dict[str, Any]:
    """Customer ``n`` of a big ledger (every tenth one inactive)."""
    stamp = (base + timedelta(minutes=n)).isoformat()
    return {
        "domain": "QBO",
        "sparse": False,
        "Id": cid,
        "SyncToken": "0",
        "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        "DisplayName": f"Load Test Customer {n + 1:05d}",
        "CompanyName": f"Load Test Customer {n + 1:05d}",
        "Active": n % 10 != 9,  # every tenth one inactive
        "Balance": Decimal("0.00"),
    }


def _load_invoice(iid: str, cid: str, n: int, base: datetime) -> dict[str, Any]:
    """Invoice ``n`` of a big ledger, one line, for customer ``cid`` (every third paid)."""
    day = date(2026, 1, 1) + timedelta(days=n % 300)
    stamp = (base + timedelta(hours=n)).isoformat()
    total = Decimal(100 + (n * 37) % 9000) + Decimal(n % 100) / 100
    balance = total if n % 3 else Decimal("0.00")
    return {
        "domain": "QBO",
        "sparse": False,
        "Id": iid,
        "SyncToken": "0",
        "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        "DocNumber": f"LT-{n + 1:06d}",
        "TxnDate": day.isoformat(),
        "DueDate": (day + timedelta(days=30)).isoformat(),
        "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        "LinkedTxn": [],
        "Line": [
            {
                "Id": "1",
                "LineNum": 1,
                "Amount": total,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "9"},
                    "Qty": 1,
                    "UnitPrice": total,
                },
            }
        ],
        "CustomerRef": {"value": cid},
        "TotalAmt": total,
        "Balance": balance,
    }


def make_big_ledger(book: SandboxBook, n_invoices: int, n_customers: int) -> list[str]:
    """Add ``n_customers`` customers and ``n_invoices`` invoices spread over them (ids
    above any in the book), for paging tests. Returns the new invoice ids in order."""
    if n_customers < 1 and n_invoices:
        raise ValueError("invoices need at least one customer")
    with book.lock:
        for entity in ("Customer", "Invoice", "Payment", "CreditMemo"):
            book.qbo.setdefault(entity, {})
        next_id = int(_next_id(book))
        base = datetime(2026, 1, 1, tzinfo=UTC)
        customer_ids = []
        for n in range(n_customers):
            cid = str(next_id + n)
            customer_ids.append(cid)
            book.qbo["Customer"][cid] = _load_customer(cid, n, base)
        next_id += n_customers
        ids = []
        for n in range(n_invoices):
            iid = str(next_id + n)
            ids.append(iid)
            cid = customer_ids[n % n_customers]
            invoice = _load_invoice(iid, cid, n, base)
            book.qbo["Invoice"][iid] = invoice
            customer = book.qbo["Customer"][cid]
            customer["Balance"] = customer["Balance"] + invoice["Balance"]
    return ids
