"""``recon-tui find NUMBER``: one invoice's pair, payments, diagnosis and fix,
from the cache (offline, read-only)."""

from __future__ import annotations

import argparse
from decimal import Decimal

from recon_tui.cache import Cache, PairRow
from recon_tui.cli_common import CliError, common_options, load_settings, open_cache, say
from recon_tui.row_diagnosis import diagnose_row, system_names
from recon_tui.text import printable
from recon_tui.transactions import InvoiceTxn, Side


def find_parser(sub: argparse._SubParsersAction) -> None:
    find = sub.add_parser(
        "find", help="one invoice: both sides, its payments, the cause and the fix",
        description="Look an invoice up in the cache by PSA number or ledger doc number "
        "and print both sides, each side's payments and credits, the cause of any "
        "difference and its fix. Reads the cache only (works offline); `resync NUMBER` "
        "refetches it first. Exit 0 when found, 1 when the cache has no such invoice.")
    common_options(find, suppress=True)
    find.add_argument("number", help="PSA invoice number or ledger doc number")


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _txn_line(txn: InvoiceTxn) -> str:
    gone = (f"  [removed {txn.removed_at:%Y-%m-%d}: {txn.removed_how}]"
            if txn.removed_at else "")
    ref = f" ref {txn.reference}" if txn.reference and txn.kind.value == "payment" else ""
    return f"      {txn.date.isoformat()}  {txn.label:<28} {_money(txn.amount):>12}{ref}{gone}"


def describe_pair(cache: Cache, row: PairRow) -> list[str]:
    """The lines ``find`` prints for one row."""
    psa_name, ledger_name = system_names(cache)
    summary = cache.recon.client(row.client_key)
    name = summary.name if summary else row.client_key
    lines = [f"invoice {row.psa_number or row.ledger_number} ({row.kind.value}) - {name}",
             f"  status      {row.status.value}"]
    if row.psa_invoice_id:
        lines.append(f"  {psa_name:<11} total {_money(row.psa_total)}  owing "
                     f"{_money(row.psa_owing)}  (id {row.psa_invoice_id}, "
                     f"{row.invoice_date.isoformat()})")
        read = cache.txns.psa_payments_read([row.psa_invoice_id])
        txns = cache.txns.invoice_txns(Side.PSA, row.psa_invoice_id)
        lines += [_txn_line(t) for t in txns] or [
            "      (payments " + ("none listed" if read else "not read") + ")"]
    if row.ledger_invoice_id:
        held = row.status.value != "Ledger Invoice Expected but not Found"
        lines.append(f"  {ledger_name:<11} total {_money(row.ledger_total)}  balance "
                     f"{_money(row.ledger_owing)}  (id {row.ledger_invoice_id}"
                     + ("" if held else ", deleted") + ")")
        txns = cache.txns.invoice_txns(Side.LEDGER, row.ledger_invoice_id)
        lines += [_txn_line(t) for t in txns] or ["      (no payments applied)"]
    lines.append(f"  difference  {_money(row.difference_owing)} owing, "
                 f"{_money(row.difference_total)} total (ledger minus PSA)")
    found = diagnose_row(cache, row)
    if found is None:
        lines.append("  agrees      nothing to fix")
        return lines
    lines.append(f"  cause       {found.cause.value}: {found.summary}")
    lines += [f"              {line}" for line in found.evidence]
    lines.append(f"  fix         {found.fix_text}")
    lines.append(f"  meaning     {found.cause.meaning}")
    return lines


def cmd_find(args: argparse.Namespace) -> int:
    _config, _demo, cache_path = load_settings(args)
    number = args.number.strip()
    if not number:
        raise CliError("find: give an invoice number")
    cache = open_cache(cache_path, read_only=True)
    try:
        rows = cache.recon.pairs_for_number(number)
        if not rows:
            say(f"invoice {number} is not in the cache at {cache_path} "
                f"(`recon-tui resync {number}` reads both systems)")
            return 1
        for index, row in enumerate(rows):
            if index:
                print()
            for line in describe_pair(cache, row):
                print(printable(line))  # names from the books never drive the terminal
        return 0
    finally:
        cache.close()
