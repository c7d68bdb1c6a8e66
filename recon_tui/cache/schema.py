"""The cache schema: a version number and the migrations that reach it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from recon_tui.cache.pairing_sql import WHITESPACE

SCHEMA_VERSION = 8
CHUNK = 500
MAX_CHANGES_PER_RUN = 20_000


# --------------------------------------------------------------------------- schema
MIGRATIONS: list[Sequence[str]] = [
    # 1: the first schema
    (
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
        """CREATE TABLE psa_company (
            id TEXT PRIMARY KEY, identifier TEXT NOT NULL, name TEXT NOT NULL,
            status TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, updated_at TEXT)""",
        """CREATE TABLE psa_contact (
            id TEXT PRIMARY KEY, company_id TEXT NOT NULL, first_name TEXT NOT NULL,
            last_name TEXT NOT NULL, email TEXT, portal_security_level INTEGER,
            inactive INTEGER NOT NULL DEFAULT 0, updated_at TEXT)""",
        "CREATE INDEX idx_contact_company ON psa_contact(company_id)",
        """CREATE TABLE psa_invoice (
            id TEXT PRIMARY KEY, number TEXT NOT NULL, company_id TEXT NOT NULL,
            date TEXT NOT NULL, due_date TEXT, total_cents INTEGER NOT NULL,
            owing_cents INTEGER NOT NULL, status TEXT NOT NULL, ledger_invoice_id TEXT,
            exported INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL, updated_at TEXT)""",
        "CREATE INDEX idx_psa_invoice_number ON psa_invoice(number)",
        "CREATE INDEX idx_psa_invoice_company ON psa_invoice(company_id)",
        """CREATE TABLE ledger_customer (
            id TEXT PRIMARY KEY, display_name TEXT NOT NULL, company_name TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1, balance_cents INTEGER NOT NULL, updated_at TEXT)""",
        """CREATE TABLE ledger_invoice (
            id TEXT PRIMARY KEY, doc_number TEXT NOT NULL, customer_id TEXT NOT NULL,
            date TEXT NOT NULL, due_date TEXT, total_cents INTEGER NOT NULL,
            balance_cents INTEGER NOT NULL, voided INTEGER NOT NULL DEFAULT 0,
            currency TEXT NOT NULL, updated_at TEXT)""",
        "CREATE INDEX idx_ledger_invoice_doc ON ledger_invoice(doc_number)",
        "CREATE INDEX idx_ledger_invoice_customer ON ledger_invoice(customer_id)",
        """CREATE TABLE ledger_credit (
            id TEXT PRIMARY KEY, source_id TEXT NOT NULL, kind TEXT NOT NULL,
            customer_id TEXT NOT NULL, date TEXT NOT NULL, amount_cents INTEGER NOT NULL,
            total_cents INTEGER NOT NULL, doc_number TEXT NOT NULL, updated_at TEXT)""",
        "CREATE INDEX idx_credit_customer ON ledger_credit(customer_id, amount_cents)",
        """CREATE TABLE company_mapping (
            ledger_customer_id TEXT PRIMARY KEY
                REFERENCES ledger_customer(id) ON DELETE CASCADE,
            psa_company_id TEXT NOT NULL REFERENCES psa_company(id),
            method TEXT NOT NULL, created_at TEXT NOT NULL)""",
        "CREATE INDEX idx_mapping_company ON company_mapping(psa_company_id)",
        """CREATE TABLE invoice_pair (
            id INTEGER PRIMARY KEY, client_key TEXT NOT NULL, status TEXT NOT NULL,
            invoice_date TEXT NOT NULL, psa_invoice_id TEXT UNIQUE, ledger_invoice_id TEXT,
            psa_company_id TEXT, ledger_customer_id TEXT, psa_number TEXT, ledger_number TEXT,
            psa_status TEXT, psa_total_cents INTEGER, psa_owing_cents INTEGER,
            ledger_total_cents INTEGER, ledger_owing_cents INTEGER, ledger_voided INTEGER,
            diff_total_cents INTEGER NOT NULL, diff_owing_cents INTEGER NOT NULL,
            discrepant INTEGER NOT NULL)""",
        "CREATE INDEX idx_pair_client ON invoice_pair(client_key, discrepant)",
        "CREATE INDEX idx_pair_ledger ON invoice_pair(ledger_invoice_id)",
        "CREATE INDEX idx_pair_customer ON invoice_pair(ledger_customer_id)",
        "CREATE INDEX idx_pair_psa_number ON invoice_pair(psa_number)",
        "CREATE INDEX idx_pair_ledger_number ON invoice_pair(ledger_number)",
        """CREATE TABLE client_summary (
            client_key TEXT PRIMARY KEY, name TEXT NOT NULL, name_sort TEXT NOT NULL,
            psa_company_id TEXT, ledger_customer_ids TEXT NOT NULL, ledger_name TEXT NOT NULL,
            psa_owing_cents INTEGER NOT NULL, ledger_balance_cents INTEGER NOT NULL,
            difference_cents INTEGER NOT NULL, abs_difference_cents INTEGER NOT NULL,
            unapplied_credit_cents INTEGER NOT NULL, discrepant_count INTEGER NOT NULL,
            invoice_count INTEGER NOT NULL, mapped INTEGER NOT NULL,
            max_portal_level INTEGER, search TEXT NOT NULL)""",
        """CREATE INDEX idx_summary_worst ON client_summary(
            abs_difference_cents DESC, discrepant_count DESC, name_sort)""",
        """CREATE TABLE sync_run (
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, since TEXT,
            target TEXT, started_at TEXT, finished_at TEXT, error TEXT)""",
        """CREATE TABLE sync_step (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES sync_run(id) ON DELETE CASCADE,
            position INTEGER NOT NULL, name TEXT NOT NULL, system TEXT NOT NULL,
            status TEXT NOT NULL, created INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0, unchanged INTEGER NOT NULL DEFAULT 0,
            deleted INTEGER NOT NULL DEFAULT 0, error TEXT)""",
        "CREATE INDEX idx_step_run ON sync_step(run_id, position)",
        """CREATE TABLE sync_change (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES sync_run(id) ON DELETE CASCADE,
            step TEXT NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL,
            label TEXT NOT NULL, action TEXT NOT NULL, field TEXT, old TEXT, new TEXT)""",
        "CREATE INDEX idx_change_run ON sync_change(run_id)",
        """CREATE TABLE sync_state (
            system TEXT PRIMARY KEY, kind TEXT NOT NULL, last_synced_at TEXT NOT NULL)""",
    ),
    # 2: credit-application checklists (seed 001) and their audit trail. No foreign key
    # to ledger_invoice: a sync may delete an invoice, and the audit trail must stay.
    (
        """CREATE TABLE checklist (
            id INTEGER PRIMARY KEY, state TEXT NOT NULL,
            customer_id TEXT NOT NULL REFERENCES ledger_customer(id),
            customer_name TEXT NOT NULL, credit_kind TEXT NOT NULL, credit_id TEXT NOT NULL,
            credit_doc_number TEXT NOT NULL, credit_date TEXT NOT NULL,
            credit_cents INTEGER NOT NULL, invoice_id TEXT, invoice_number TEXT,
            invoice_total_cents INTEGER, invoice_balance_cents INTEGER, amount_cents INTEGER,
            method TEXT, request_id TEXT UNIQUE, applied_at TEXT, needs_full_sync INTEGER,
            sync_since TEXT, failed_step INTEGER, finding TEXT, note TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, closed_at TEXT,
            CHECK (amount_cents IS NULL OR amount_cents > 0))""",
        "CREATE INDEX idx_checklist_state ON checklist(state, updated_at)",
        "CREATE INDEX idx_checklist_customer ON checklist(customer_id, id)",
        "CREATE INDEX idx_checklist_credit ON checklist(credit_kind, credit_id, state)",
        """CREATE TABLE checklist_event (
            id INTEGER PRIMARY KEY,
            checklist_id INTEGER NOT NULL REFERENCES checklist(id) ON DELETE CASCADE,
            at TEXT NOT NULL, step INTEGER NOT NULL, outcome TEXT NOT NULL,
            state TEXT NOT NULL, message TEXT NOT NULL)""",
        "CREATE INDEX idx_checklist_event ON checklist_event(checklist_id, id)",
    ),
    # 3: real books. Credit memos on both sides (PSA ones beside the invoices, QBO
    # ones in a table of their own, since QBO numbers each entity separately); the
    # links the cache remembers between a PSA document and its ledger copy (real
    # integrations pair by number once and remember it); portal switches. The old
    # materialised pairs predate credit memos and links: with no meta
    # complete_through yet, the next sync reads everything and recomputes them.
    (
        "ALTER TABLE psa_invoice ADD COLUMN kind TEXT NOT NULL DEFAULT 'invoice'",
        "ALTER TABLE psa_contact ADD COLUMN portal_login_disabled INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE psa_company ADD COLUMN portal_active INTEGER NOT NULL DEFAULT 1",
        """CREATE TABLE ledger_credit_memo (
            id TEXT PRIMARY KEY, doc_number TEXT NOT NULL, customer_id TEXT NOT NULL,
            date TEXT NOT NULL, due_date TEXT, total_cents INTEGER NOT NULL,
            balance_cents INTEGER NOT NULL, voided INTEGER NOT NULL DEFAULT 0,
            currency TEXT NOT NULL, updated_at TEXT, kind TEXT NOT NULL DEFAULT 'credit memo')""",
        "CREATE INDEX idx_ledger_memo_doc ON ledger_credit_memo(doc_number)",
        "CREATE INDEX idx_ledger_memo_customer ON ledger_credit_memo(customer_id)",
        """CREATE TABLE invoice_link (
            psa_invoice_id TEXT PRIMARY KEY REFERENCES psa_invoice(id) ON DELETE CASCADE,
            ledger_id TEXT NOT NULL, first_seen TEXT NOT NULL, method TEXT NOT NULL)""",
        "CREATE INDEX idx_link_ledger ON invoice_link(ledger_id)",
        "CREATE INDEX idx_psa_invoice_link ON psa_invoice(ledger_invoice_id)",
        "ALTER TABLE invoice_pair ADD COLUMN kind TEXT NOT NULL DEFAULT 'invoice'",
        "CREATE INDEX idx_pair_kind_ledger ON invoice_pair(kind, ledger_invoice_id)",
        "ALTER TABLE ledger_invoice ADD COLUMN kind TEXT NOT NULL DEFAULT 'invoice'",
    ),
    # 4: each invoice's payments and credits on both sides (QBO Payment lines, the
    # PSA's invoice payments), kept when a system stops listing one (marked removed:
    # a payment reversed after a sync); when the PSA's payments of an invoice were
    # last read; each discrepant row's cause. The ledger's payments were read
    # before only for their unapplied amounts, so the next sync reads everything.
    (
        """CREATE TABLE invoice_txn (
            side TEXT NOT NULL, invoice_id TEXT NOT NULL, txn_id TEXT NOT NULL,
            kind TEXT NOT NULL, credit_id TEXT NOT NULL DEFAULT '', date TEXT NOT NULL,
            amount_cents INTEGER NOT NULL, reference TEXT NOT NULL DEFAULT '',
            method TEXT NOT NULL DEFAULT '', updated_at TEXT, removed_at TEXT,
            removed_how TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (side, txn_id, invoice_id, kind, credit_id))""",
        "CREATE INDEX idx_txn_invoice ON invoice_txn(side, invoice_id)",
        "ALTER TABLE psa_invoice ADD COLUMN payments_read_at TEXT",
        "ALTER TABLE invoice_pair ADD COLUMN cause TEXT",
        "CREATE INDEX idx_pair_cause ON invoice_pair(cause)",
        "DELETE FROM meta WHERE key = 'complete_through'",
        # Guided payment fixes (record a missing payment in the system that lacks
        # it, or a by-hand fix verified by a resync) and their audit trail. The
        # request id (QBO) or the PSA's payment ids before the first POST
        # (ConnectWise has no request id) are stored before any write is sent.
        """CREATE TABLE payment_fix (
            id INTEGER PRIMARY KEY, state TEXT NOT NULL, kind TEXT NOT NULL,
            target TEXT NOT NULL, cause TEXT NOT NULL, number TEXT NOT NULL,
            psa_invoice_id TEXT, ledger_invoice_id TEXT, ledger_customer_id TEXT,
            amount_cents INTEGER, txn_date TEXT, reference TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '', request_id TEXT UNIQUE, known_before TEXT,
            posted_id TEXT, method TEXT, finding TEXT, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, closed_at TEXT,
            CHECK (amount_cents IS NULL OR amount_cents > 0))""",
        "CREATE INDEX idx_fix_number ON payment_fix(number, state)",
        """CREATE TABLE payment_fix_event (
            id INTEGER PRIMARY KEY,
            fix_id INTEGER NOT NULL REFERENCES payment_fix(id) ON DELETE CASCADE,
            at TEXT NOT NULL, step INTEGER NOT NULL, outcome TEXT NOT NULL,
            state TEXT NOT NULL, message TEXT NOT NULL)""",
        "CREATE INDEX idx_fix_event ON payment_fix_event(fix_id, id)",
    ),
    # 5: which invoices a credit memo was applied to (a credit memo whose credit
    # left differs between the systems names the invoice it went to).
    (
        "CREATE INDEX idx_txn_credit ON invoice_txn(side, credit_id) WHERE credit_id != ''",
    ),
    # 6: the discrepant rows still waiting for their cause, in id order. The
    # diagnosis takes them a page at a time; through idx_pair_cause each page
    # walked every row without a cause (the agreeing rows too: most of the book),
    # so a full recompute's diagnosis grew with the square of the book.
    (
        "CREATE INDEX idx_pair_undiagnosed ON invoice_pair(id) "
        "WHERE discrepant AND cause IS NULL",
    ),
    # 7: the client index carries what a client's sums read (kind and both sides'
    # owing), so a full recompute sums every client from the index alone instead
    # of fetching each row of the book out of order (the client screen's lookups
    # by client key and kind use it as before).
    (
        "DROP INDEX idx_pair_client",
        "CREATE INDEX idx_pair_client ON invoice_pair(client_key, discrepant, kind, "
        "psa_owing_cents, ledger_owing_cents)",
    ),
    # 8: a daily sync's re-pair looks documents up by their trimmed number (as
    # pairing compares them): without these each lookup walked the whole table
    # (about 70 ms at 100,000 invoices, three or four a sync). And the screens':
    # the clients list's order with the filter's search text, so the filter counts
    # and pages from the index; a client's invoices in the screen's order, so its
    # first screenful comes without sorting all of them (10 -> 0.14 ms at 5,000).
    # IF NOT EXISTS: the screens' two were made at open for a while (1ef933b),
    # and a cache told it is older than it is (as tests do) migrates again.
    (
        "CREATE INDEX IF NOT EXISTS idx_psa_invoice_trimmed ON psa_invoice("
        f"trim(number, '{WHITESPACE}'))",
        "CREATE INDEX IF NOT EXISTS idx_ledger_invoice_trimmed ON ledger_invoice("
        f"trim(doc_number, '{WHITESPACE}'))",
        "CREATE INDEX IF NOT EXISTS idx_ledger_credit_memo_trimmed ON ledger_credit_memo("
        f"trim(doc_number, '{WHITESPACE}'))",
        "CREATE INDEX IF NOT EXISTS idx_summary_worst_search ON "
        "client_summary(abs_difference_cents DESC, discrepant_count DESC, name_sort, search)",
        "CREATE INDEX IF NOT EXISTS idx_pair_client_order ON "
        "invoice_pair(client_key, kind, discrepant DESC, abs(diff_owing_cents) DESC, "
        "abs(diff_total_cents) DESC, invoice_date DESC, id)",
    ),
]

#: Every table the current schema has (checked on open: a dropped one is damage).
TABLES: tuple[str, ...] = tuple(
    re.match(r"\s*CREATE TABLE (\w+)", statement).group(1)  # type: ignore[union-attr]
    for migration in MIGRATIONS for statement in migration
    if re.match(r"\s*CREATE TABLE ", statement))
