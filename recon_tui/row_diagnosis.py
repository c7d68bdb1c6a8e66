"""The diagnosis applied to the cache's rows: the facts of one row gathered from
the cache, and every discrepant row's cause kept current after a sync or a
resync (screens, the report and ``recon-tui find`` read it from there)."""

from __future__ import annotations

from recon_tui.cache import Cache, PairRow
from recon_tui.diagnosis import Cause, Diagnosis, DocFacts, RowFacts, diagnose
from recon_tui.models import DocKind, LedgerInvoice, PsaInvoice
from recon_tui.transactions import Side

#: How each system is named in findings (the connectors' ``kind``).
SYSTEM_NAMES = {"connectwise": "ConnectWise", "autotask": "Autotask", "qbo": "QuickBooks",
                "qbd": "QuickBooks Desktop"}


def system_names(cache: Cache) -> tuple[str, str]:
    """(PSA name, ledger name) of the systems this cache was synced from."""
    states = cache.sync_states()
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
    psa_name, ledger_name = names or system_names(cache)
    psa = cache.psa_invoice(row.psa_invoice_id) if row.psa_invoice_id else None
    ledger: LedgerInvoice | None = None
    if row.ledger_invoice_id and row.status.value != "Ledger Invoice Expected but not Found":
        # A credit memo lives in its own table; a ledger that lists credit memos
        # among its invoices has them in the invoice table: look in both.
        ledger = (cache.ledger_credit_memo(row.ledger_invoice_id)
                  if row.kind is DocKind.CREDIT_MEMO else None) \
            or cache.ledger_invoice(row.ledger_invoice_id)
    mapped = True
    if row.ledger_customer_id:
        mapped = bool(cache.mapping_for_customers([row.ledger_customer_id]))
    return RowFacts(
        status=row.status,
        psa=_psa_facts(psa) if psa else None,
        ledger=_ledger_facts(ledger) if ledger else None,
        psa_txns=tuple(cache.invoice_txns(Side.PSA, psa.id)) if psa else (),
        ledger_txns=tuple(cache.invoice_txns(Side.LEDGER, ledger.id)) if ledger else (),
        psa_txns_known=bool(psa) and bool(cache.psa_payments_read([psa.id])),
        psa_exported=psa.exported if psa else True,
        customer_mapped=mapped,
        psa_name=psa_name,
        ledger_name=ledger_name,
        credit_memo=row.kind is DocKind.CREDIT_MEMO,
        credit_applied_to=(tuple(cache.credit_applied_to(Side.LEDGER, ledger.id))
                           if ledger and row.kind is DocKind.CREDIT_MEMO else ()),
    )


def diagnose_row(cache: Cache, row: PairRow,
                 names: tuple[str, str] | None = None) -> Diagnosis | None:
    """The row's diagnosis now, from the cache (None for a row that agrees)."""
    if not row.discrepant:
        return None
    facts = row_facts(cache, row, names)
    if facts.psa is None and facts.ledger is None:
        return Diagnosis(Cause.UNKNOWN, "neither document is in the cache any more",
                         ("resync the invoice to read both systems",))
    return diagnose(facts) or Diagnosis(
        Cause.UNKNOWN, "the row differs but its documents agree now",
        ("resync the invoice to refresh the row",))


def diagnose_pending(cache: Cache) -> int:
    """Give every discrepant row without a cause its cause; returns how many.
    Runs inside the caller's transaction (a sync's, a resync's)."""
    names = system_names(cache)
    done = 0
    while True:
        ids = cache.undiagnosed_pair_ids()
        if not ids:
            return done
        causes: list[tuple[int, str | None]] = []
        for pair_id in ids:
            row = cache.pair_row(pair_id)
            found = diagnose_row(cache, row, names) if row else None
            causes.append((pair_id, (found.cause if found else Cause.UNKNOWN).value))
        cache.set_causes(causes)
        done += len(causes)
