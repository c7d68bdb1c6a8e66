"""Client rows summed by SQLite from the stored pairs: every client after a full
recompute, or only the clients a daily sync or a mapping touched.

Both are one statement (the same rules, so an incremental refresh of a client
gives the row a full recompute gives it); the part refresh narrows it to a few
client keys through temporary tables, each source read through its index, so a
day's refresh reads a day's clients and not the book.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence

from recon_tui.models import DocKind

_INVOICE = DocKind.INVOICE.value

# One row per client key with its sums: the rows' (invoices only for the money and
# the count, every kind for discrepancies), a mapped company's (nothing yet), a
# kept checklist customer's, and the live credits' (counted where their customer is).
# The {...} holes narrow each source to the clients wanted (empty for every client).
_CLIENT_SUMS = f"""
SELECT client_key, sum(psa_owing), sum(ledger_owing), sum(credit), sum(discrepant),
       sum(invoices)
FROM (
    SELECT client_key,
           sum(CASE WHEN kind = '{_INVOICE}' THEN coalesce(psa_owing_cents, 0) ELSE 0 END)
               AS psa_owing,
           sum(CASE WHEN kind = '{_INVOICE}' THEN coalesce(ledger_owing_cents, 0) ELSE 0 END)
               AS ledger_owing,
           0 AS credit, sum(discrepant) AS discrepant, sum(kind = '{_INVOICE}') AS invoices
    FROM invoice_pair {{pairs}} GROUP BY client_key
    UNION ALL
    SELECT 'psa:' || psa_company_id, 0, 0, 0, 0, 0 FROM company_mapping
    WHERE psa_company_id != '' {{mapped}}
    UNION ALL
    SELECT DISTINCT 'ledger:' || k.customer_id, 0, 0, 0, 0, 0 FROM checklist k
    JOIN ledger_customer c ON c.id = k.customer_id
    LEFT JOIN company_mapping m ON m.ledger_customer_id = k.customer_id
    WHERE coalesce(m.psa_company_id, '') = '' {{kept}}
    UNION ALL
    SELECT CASE WHEN coalesce(m.psa_company_id, '') != '' THEN 'psa:' || m.psa_company_id
                ELSE 'ledger:' || cr.customer_id END, 0, 0, cr.amount_cents, 0, 0
    FROM ledger_credit cr LEFT JOIN company_mapping m ON m.ledger_customer_id = cr.customer_id
    WHERE cr.amount_cents > 0 {{credits}}
)
{{outer}} GROUP BY client_key
"""
_EVERY_CLIENT = _CLIENT_SUMS.format(pairs="", mapped="", kept="", credits="", outer="")

# The same sums for the client keys in temp._rc_key, their companies in
# temp._rc_company and their loose customers in temp._rc_customer. Each source is
# narrowed to a superset of what those clients hold (a credit of a customer mapped
# to a wanted company, or of a wanted loose customer), the outer filter to exactly
# the wanted keys.
_SOME_CLIENTS = _CLIENT_SUMS.format(
    pairs="WHERE client_key IN (SELECT client_key FROM temp._rc_key)",
    mapped="AND psa_company_id IN (SELECT id FROM temp._rc_company)",
    kept="AND k.customer_id IN (SELECT id FROM temp._rc_customer)",
    credits="AND cr.customer_id IN (SELECT ledger_customer_id FROM company_mapping "
            "WHERE psa_company_id IN (SELECT id FROM temp._rc_company) "
            "UNION SELECT id FROM temp._rc_customer)",
    outer="WHERE client_key IN (SELECT client_key FROM temp._rc_key)")

_KEY_TABLES = {"_rc_key": "client_key TEXT PRIMARY KEY", "_rc_company": "id TEXT PRIMARY KEY",
               "_rc_customer": "id TEXT PRIMARY KEY"}


#: The client_summary columns, in the order the rows below are built.
SUMMARY_COLUMNS = (
    "client_key, name, name_sort, psa_company_id, ledger_customer_ids, ledger_name, "
    "psa_owing_cents, ledger_balance_cents, difference_cents, abs_difference_cents, "
    "unapplied_credit_cents, discrepant_count, invoice_count, mapped, max_portal_level, search")

Levels = dict[str, int | None]


def client_rows(conn: sqlite3.Connection, levels: Levels) -> Iterator[tuple]:
    """Every client's client_summary row from the stored rows, as ``rollup_clients``
    makes the summary (names with their fallbacks, a company's mapped customers
    and their names); one pass over the clients, the rows summed by SQLite, the
    money kept in integer cents throughout."""
    companies = dict(conn.execute("SELECT id, name FROM psa_company"))
    customers = dict(conn.execute("SELECT id, display_name FROM ledger_customer"))
    customers_of: dict[str, list[str]] = {}
    for customer_id, company_id in conn.execute(
            "SELECT ledger_customer_id, psa_company_id FROM company_mapping "
            "WHERE psa_company_id != ''"):
        customers_of.setdefault(company_id, []).append(customer_id)
    yield from _rows(conn.execute(_EVERY_CLIENT), companies, customers, customers_of, levels)


def some_client_rows(conn: sqlite3.Connection, client_keys: Sequence[str],
                     levels: Levels) -> list[tuple]:
    """The rows of these clients only (a client with nothing left has none), as
    :func:`client_rows` gives them; reads only their rows, mappings, credits and
    names through the indexes. Runs inside the caller's transaction."""
    company_ids = sorted({k[4:] for k in client_keys if k.startswith("psa:")})
    loose = sorted({k[7:] for k in client_keys if k.startswith("ledger:")})
    for name, columns in _KEY_TABLES.items():
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns})")
        conn.execute(f"DELETE FROM temp.{name}")
    try:
        conn.executemany("INSERT OR IGNORE INTO temp._rc_key VALUES (?)",
                         ((k,) for k in client_keys))
        conn.executemany("INSERT INTO temp._rc_company VALUES (?)", ((c,) for c in company_ids))
        conn.executemany("INSERT INTO temp._rc_customer VALUES (?)", ((c,) for c in loose))
        sums = conn.execute(_SOME_CLIENTS).fetchall()
        customers_of: dict[str, list[str]] = {}
        for customer_id, company_id in conn.execute(
                "SELECT ledger_customer_id, psa_company_id FROM company_mapping "
                "WHERE psa_company_id IN (SELECT id FROM temp._rc_company)"):
            customers_of.setdefault(company_id, []).append(customer_id)
        companies = dict(conn.execute("SELECT id, name FROM psa_company "
                                      "WHERE id IN (SELECT id FROM temp._rc_company)"))
        conn.executemany("INSERT OR IGNORE INTO temp._rc_customer VALUES (?)",
                         ((c,) for ids in customers_of.values() for c in ids))
        customers = dict(conn.execute("SELECT id, display_name FROM ledger_customer "
                                      "WHERE id IN (SELECT id FROM temp._rc_customer)"))
    finally:
        for name in _KEY_TABLES:
            conn.execute(f"DELETE FROM temp.{name}")
    return list(_rows(sums, companies, customers, customers_of, levels))


def _rows(sums: Iterable[tuple], companies: dict[str, str], customers: dict[str, str],
          customers_of: dict[str, list[str]], levels: Levels) -> Iterator[tuple]:
    """Each (key, sums...) as a client_summary row (SUMMARY_COLUMNS), named as
    ``rollup_clients`` names; difference is ledger minus PSA."""

    def customer_name(customer_id: str) -> str:
        return customers.get(customer_id) or customer_id

    for key, psa_owing, ledger_owing, credit, discrepant, invoices in sums:
        kind, _, ident = key.partition(":")
        if kind == "psa":
            customer_ids = sorted(customers_of.get(ident, ()))
            name = companies.get(ident) or ident
            ledger_name = ", ".join(sorted(map(customer_name, customer_ids),
                                           key=lambda n: (n.casefold(), n)))
            company_id: str | None = ident
        else:
            customer_ids = [ident]
            name = ledger_name = customer_name(ident)
            company_id = None
        diff = ledger_owing - psa_owing
        yield (key, name, name.casefold(), company_id, "\x1f".join(customer_ids), ledger_name,
               psa_owing, ledger_owing, diff, abs(diff), credit, discrepant, invoices,
               int(kind == "psa" and bool(customer_ids)),
               levels.get(company_id) if company_id else None,
               f"{name}\x1f{ledger_name}".casefold())
