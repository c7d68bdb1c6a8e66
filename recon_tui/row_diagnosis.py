"""The diagnosis applied to the cache's rows: the facts of one row gathered from
the cache, and every discrepant row's cause kept current after a sync or a
resync (screens, the report and ``recon-tui find`` read it from there)."""

from __future__ import annotations

from recon_tui.cache import Cache, PairRow
from recon_tui.diagnosis import Cause, Diagnosis, DocFacts, RowFacts, diagnose
from recon_tui.models import DocKind, LedgerInvoice, PsaInvoice, ReconStatus
from recon_tui.transactions import Side

#: How each system is named in findings (the connectors' ``kind``).
SYSTEM_NAMES = {"connectwise": "ConnectWise", "autotask": "Autotask", "qbo": "QuickBooks",
                "qbd": "QuickBooks Desktop"}


def system_names(cache: Cache) -> tuple[str, str]:
    """(PSA name, ledger name) of the systems this cache was synced from."""
    states = cache.history.sync_states()
    psa = states.get("psa")
    ledger = states.get("ledger")
    return (SYSTEM_NAMES.get(psa.kind, "the PSA") if psa else "the PSA",
            SYSTEM_NAMES.get(ledger.kind, "the ledger") if ledger else "the ledger")


def _psa_facts(invoice: PsaInvoice) -> DocFacts:
    return DocFacts(invoice.number, invoice.total, invoice.owing, invoice.currency,
                    voided=invoice.status.strip().lower() in ("voided", "void"),
                    date=invoice.date)


def _ledger_facts(invoice: LedgerInvoice) -> DocFacts:
    return DocFacts(invoice.doc_number, invoice.total, invoice.balance, invoice.currency,
                    voided=invoice.voided, date=invoice.date)


def row_facts(cache: Cache, row: PairRow, names: tuple[str, str] | None = None) -> RowFacts:
    """Everything the cache knows about one row, for the diagnosis."""
    return _PageFacts(cache, [row]).facts(row, names or system_names(cache))


class _PageFacts:
    """The documents, payments and mappings of a page of rows, read in a few
    queries for the whole page (not a handful per row): a full recompute of a
    200,000-invoice book diagnoses thousands of rows."""

    def __init__(self, cache: Cache, rows: list[PairRow]) -> None:
        self.cache = cache
        self.psa = cache.recon.psa_invoices_by_id(sorted({r.psa_invoice_id for r in rows
                                                    if r.psa_invoice_id}))
        wanted = [r for r in rows if r.ledger_invoice_id
                  and r.status is not ReconStatus.EXPECTED_NOT_FOUND]
        # A credit memo lives in its own table; a ledger that lists credit memos
        # among its invoices has them in the invoice table: look in both.
        self.memos = {i.id: i for i in cache.recon.ledger_documents_related(
            DocKind.CREDIT_MEMO, ids=sorted({r.ledger_invoice_id for r in wanted
                                             if r.kind is DocKind.CREDIT_MEMO}))}
        self.invoices = {i.id: i for i in cache.recon.ledger_documents_related(
            DocKind.INVOICE, ids=sorted({r.ledger_invoice_id for r in wanted}))}
        ledger_ids = sorted({*self.memos, *self.invoices})
        self.psa_txns = cache.txns.txns_for_invoices(Side.PSA, sorted(self.psa))
        self.ledger_txns = cache.txns.txns_for_invoices(Side.LEDGER, ledger_ids)
        self.read = cache.txns.psa_payments_read(sorted(self.psa))
        self.mapped = set(cache.recon.mapping_for_customers(sorted(
            {r.ledger_customer_id for r in rows if r.ledger_customer_id})))

    def ledger(self, row: PairRow) -> LedgerInvoice | None:
        if not row.ledger_invoice_id or row.status is ReconStatus.EXPECTED_NOT_FOUND:
            return None
        found = self.memos.get(row.ledger_invoice_id) if row.kind is DocKind.CREDIT_MEMO \
            else None
        return found or self.invoices.get(row.ledger_invoice_id)

    def facts(self, row: PairRow, names: tuple[str, str]) -> RowFacts:
        psa_name, ledger_name = names
        psa = self.psa.get(row.psa_invoice_id) if row.psa_invoice_id else None
        ledger = self.ledger(row)
        memo = row.kind is DocKind.CREDIT_MEMO
        return RowFacts(
            status=row.status,
            psa=_psa_facts(psa) if psa else None,
            ledger=_ledger_facts(ledger) if ledger else None,
            psa_txns=tuple(self.psa_txns.get(psa.id, ())) if psa else (),
            ledger_txns=tuple(self.ledger_txns.get(ledger.id, ())) if ledger else (),
            psa_txns_known=psa is not None and psa.id in self.read,
            psa_exported=psa.exported if psa else True,
            customer_mapped=(not row.ledger_customer_id
                             or row.ledger_customer_id in self.mapped),
            psa_name=psa_name,
            ledger_name=ledger_name,
            credit_memo=memo,
            credit_applied_to=(tuple(self.cache.txns.credit_applied_to(Side.LEDGER, ledger.id))
                               if ledger and memo else ()),
        )


def diagnose_row(cache: Cache, row: PairRow,
                 names: tuple[str, str] | None = None) -> Diagnosis | None:
    """The row's diagnosis now, from the cache (None for a row that agrees)."""
    if not row.discrepant:
        return None
    return _diagnose(row_facts(cache, row, names))


def _diagnose(facts: RowFacts) -> Diagnosis:
    if facts.psa is None and facts.ledger is None:
        return Diagnosis(Cause.UNKNOWN, "neither document is in the cache any more",
                         ("resync the invoice to read both systems",))
    return diagnose(facts) or Diagnosis(
        Cause.UNKNOWN, "the row differs but its documents agree now",
        ("resync the invoice to refresh the row",))


def diagnose_pending(cache: Cache) -> int:
    """Give every discrepant row without a cause its cause; returns how many.
    Runs inside the caller's transaction (a sync's, a resync's). Streams: a page
    of rows and their facts at a time, whatever the size of the book. The rows
    whose cause the cache alone decides are diagnosed in SQL first, in one
    statement (``cache/diagnosis_sql``: the same rules, held to the same causes
    by tests/test_diagnosis_sql.py); the pages are the rest, rows whose two sides
    both list payments."""
    cache.recon.diagnose_pending_in_sql()
    names = system_names(cache)
    done = 0
    while True:
        ids = cache.txns.undiagnosed_pair_ids()
        if not ids:
            return done
        rows = cache.recon.pair_rows(ids)
        page = _PageFacts(cache, list(rows.values()))
        causes: list[tuple[int, str | None]] = []
        for pair_id in ids:
            row = rows.get(pair_id)
            found = _diagnose(page.facts(row, names)) if row and row.discrepant else None
            causes.append((pair_id, (found.cause if found else Cause.UNKNOWN).value))
        cache.txns.set_causes(causes)
        done += len(causes)
