"""One truth for both refresh paths, as a property.

Random sequences of changes on both sides (create, change, renumber, link,
unlink and delete invoices and credit memos; payments; customers; mappings made
and undone by hand) interleaved with incremental syncs, complete reloads and
single-invoice resyncs. After every step the pairs and client rows the cache
holds (kept up to date incrementally) must equal a full recompute from the same
cache, row for row, and every PSA and every ledger document must sit in exactly
one pair.

CI runs a bounded number of examples; ``HYPOTHESIS_PROFILE=long`` runs many more
(see the README).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from recon_tui.cache import Cache
from recon_tui.diagnosis import Cause
from recon_tui.models import (
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
    ReconStatus,
    SyncStatus,
)
from recon_tui.reconcile import client_key_for, pair_documents, rollup_clients
from recon_tui.resync import ResyncError, resync_invoice
from recon_tui.row_diagnosis import diagnose_row, system_names
from recon_tui.sync import default_since, run_full_sync
from recon_tui.workflows.mapper import map_customer, unmap_customer
from tests.fake_books import FakeLedger, FakePsa

# Few numbers and few customers, so documents collide, pair and un-pair often.
NUMBERS = {DocKind.INVOICE: ["100", "101", "102"], DocKind.CREDIT_MEMO: ["CM-1", "CM-2"]}
COMPANIES = {"1": "Alpha Co", "2": "Beta LLC", "3": "Gamma"}
CUSTOMER_NAMES = ["Alpha Co", "Beta", "Gamma", "Delta Partners"]
amounts = st.integers(min_value=0, max_value=50_000).map(lambda cents: Decimal(cents).scaleb(-2))
kinds = st.sampled_from(list(DocKind))


class RefreshAgrees(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="recon-prop-"))
        self.cache = Cache(self.directory / "cache.db")
        self.psa = FakePsa(companies_by_id={
            cid: PsaCompany(cid, f"C{cid}", name) for cid, name in COMPANIES.items()})
        self.ledger = FakeLedger(customers_by_id={
            "58": LedgerCustomer("58", "Alpha Co"), "59": LedgerCustomer("59", "Beta")})
        self.serial = 0

    def teardown(self) -> None:
        self.cache.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    # ----------------------------------------------------------------- the PSA
    @rule(kind=kinds, data=st.data(), total=amounts)
    def psa_create(self, kind: DocKind, data: st.DataObject, total: Decimal) -> None:
        owing = data.draw(st.sampled_from([total, Decimal(0), (total / 2).quantize(total)]))
        self.psa.touch(PsaInvoice(
            id=self.next_id("p"), number=data.draw(st.sampled_from(NUMBERS[kind])),
            company_id=data.draw(st.sampled_from(sorted(COMPANIES))),
            date=date(2026, 3, data.draw(st.integers(1, 28))), total=total, owing=owing,
            kind=kind))
        self.settle(data)

    @precondition(lambda self: self.psa.documents)
    @rule(data=st.data(), owing=amounts)
    def psa_change(self, data: st.DataObject, owing: Decimal) -> None:
        invoice = self.psa.documents[data.draw(st.sampled_from(sorted(self.psa.documents)))]
        self.psa.touch(PsaInvoice(**{**_fields(invoice), "owing": owing}))
        self.settle(data)

    @precondition(lambda self: self.psa.documents)
    @rule(data=st.data())
    def psa_renumber(self, data: st.DataObject) -> None:
        invoice = self.psa.documents[data.draw(st.sampled_from(sorted(self.psa.documents)))]
        number = data.draw(st.sampled_from(NUMBERS[invoice.kind]))
        self.psa.touch(PsaInvoice(**{**_fields(invoice), "number": number}))
        self.settle(data)

    @precondition(lambda self: self.psa.documents)
    @rule(data=st.data())
    def psa_link_or_unlink(self, data: st.DataObject) -> None:
        """The optional custom field: point it at a ledger invoice, or clear it."""
        invoice = self.psa.documents[data.draw(st.sampled_from(sorted(self.psa.documents)))]
        targets = [*sorted(self.ledger.table(invoice.kind)), "gone-1", None]
        link = data.draw(st.sampled_from(targets))
        self.psa.touch(PsaInvoice(**{**_fields(invoice), "ledger_invoice_id": link}))
        self.settle(data)

    @precondition(lambda self: self.psa.documents)
    @rule(data=st.data())
    def psa_export_flag(self, data: st.DataObject) -> None:
        invoice = self.psa.documents[data.draw(st.sampled_from(sorted(self.psa.documents)))]
        self.psa.unexported ^= {invoice.number}
        self.settle(data)

    @precondition(lambda self: self.psa.documents)
    @rule(data=st.data())
    def psa_delete(self, data: st.DataObject) -> None:
        del self.psa.documents[data.draw(st.sampled_from(sorted(self.psa.documents)))]

    # ----------------------------------------------------------------- the ledger
        self.settle(data)

    @rule(kind=kinds, data=st.data(), total=amounts)
    def ledger_create(self, kind: DocKind, data: st.DataObject, total: Decimal) -> None:
        self.ledger.touch(LedgerInvoice(
            id=self.next_id("m" if kind is DocKind.CREDIT_MEMO else "l"),
            doc_number=data.draw(st.sampled_from(NUMBERS[kind])),
            customer_id=data.draw(st.sampled_from(sorted(self.ledger.customers_by_id))),
            date=date(2026, 3, data.draw(st.integers(1, 28))), total=total,
            balance=data.draw(st.sampled_from([total, Decimal(0)])), kind=kind))

    def _ledger_pick(self, data: st.DataObject) -> LedgerInvoice:
        documents = [*self.ledger.invoices_by_id.values(), *self.ledger.memos_by_id.values()]
        return data.draw(st.sampled_from(sorted(documents, key=lambda d: (d.kind, d.id))))
        self.settle(data)

    @precondition(lambda self: self.ledger.invoices_by_id or self.ledger.memos_by_id)
    @rule(data=st.data(), balance=amounts)
    def ledger_change(self, data: st.DataObject, balance: Decimal) -> None:
        document = self._ledger_pick(data)
        self.ledger.touch(LedgerInvoice(**{**_fields(document), "balance": balance}))
        self.settle(data)

    @precondition(lambda self: self.ledger.invoices_by_id or self.ledger.memos_by_id)
    @rule(data=st.data())
    def ledger_renumber(self, data: st.DataObject) -> None:
        document = self._ledger_pick(data)
        number = data.draw(st.sampled_from([*NUMBERS[document.kind], f"{document.doc_number}-R",
                                            f" {document.doc_number.strip()} "]))
        self.ledger.touch(LedgerInvoice(**{**_fields(document), "doc_number": number}))
        self.settle(data)

    @precondition(lambda self: self.ledger.invoices_by_id or self.ledger.memos_by_id)
    @rule(data=st.data())
    def ledger_delete(self, data: st.DataObject) -> None:
        document = self._ledger_pick(data)
        entity = "CreditMemo" if document.kind is DocKind.CREDIT_MEMO else "Invoice"
        self.ledger.delete(entity, document.id)
        self.settle(data)

    @rule(data=st.data(), amount=amounts)
    def ledger_payment(self, data: st.DataObject, amount: Decimal) -> None:
        payment_id = data.draw(st.sampled_from([*sorted(self.ledger.payments_by_id), "new"]))
        if payment_id == "new":
            payment_id = self.next_id("pay")
        self.ledger.payments_by_id[payment_id] = OrganizationalCredit(
            payment_id, CreditKind.UNAPPLIED_PAYMENT,
            data.draw(st.sampled_from(sorted(self.ledger.customers_by_id))), date(2026, 4, 1),
            amount, amount, updated_at=datetime.now(UTC))
        self.settle(data)

    @precondition(lambda self: self.ledger.payments_by_id)
    @rule(data=st.data())
    def ledger_delete_payment(self, data: st.DataObject) -> None:
        self.ledger.delete("Payment",
                           data.draw(st.sampled_from(sorted(self.ledger.payments_by_id))))
        self.settle(data)

    @rule(data=st.data())
    def ledger_customer(self, data: st.DataObject) -> None:
        customer_id = data.draw(st.sampled_from(["58", "59", "60", "61"]))
        self.ledger.customers_by_id[customer_id] = LedgerCustomer(
            customer_id, data.draw(st.sampled_from(CUSTOMER_NAMES)))
        self.settle(data)

    # ----------------------------------------------------------------- recon-tui
    def settle(self, data: st.DataObject) -> None:
        """After a change, often a sync (the way a day's edits meet the next sync)."""
        if data.draw(st.booleans(), label="sync now"):
            self.sync()

    @rule()
    def sync(self) -> None:
        run = run_full_sync(self.cache, self.psa, self.ledger, since=default_since(self.cache))
        assert run.status is SyncStatus.SUCCEEDED, run.error

    @rule()
    def reload_everything(self) -> None:
        run = run_full_sync(self.cache, self.psa, self.ledger, since=None)
        assert run.status is SyncStatus.SUCCEEDED, run.error

    @precondition(lambda self: self.cache.recon.count_pairs())
    @rule(number=st.sampled_from([*NUMBERS[DocKind.INVOICE], *NUMBERS[DocKind.CREDIT_MEMO]]))
    def resync(self, number: str) -> None:
        with contextlib.suppress(ResyncError):  # in neither system: nothing written
            resync_invoice(self.cache, self.psa, self.ledger, number)

    @precondition(lambda self: self.cache.records.customers())
    @rule(data=st.data())
    def map_or_unmap(self, data: st.DataObject) -> None:
        customer_id = data.draw(st.sampled_from(sorted(self.cache.records.customers())))
        company_id = data.draw(st.sampled_from([*sorted(self.cache.records.companies()), None]))
        if company_id is None:
            unmap_customer(self.cache, customer_id)
        else:
            map_customer(self.cache, customer_id, company_id)

    # ----------------------------------------------------------------- the property
    @invariant()
    def incremental_equals_full(self) -> None:
        cache = self.cache
        if cache.get_meta("complete_through") is None:
            return  # nothing synced yet
        mapping = cache.records.mapping()
        fresh = pair_documents(cache.records.iter_psa_invoices(),
                               cache.records.iter_ledger_documents())
        expected_pairs = Counter(_pair_row(p, client_key_for(p, mapping)) for p in fresh)
        stored_pairs = Counter(tuple(r) for r in cache.conn.execute(
            "SELECT kind, status, psa_invoice_id, ledger_invoice_id, client_key, "
            "psa_total_cents, psa_owing_cents, ledger_total_cents, ledger_owing_cents, "
            "psa_number, ledger_number FROM invoice_pair"))
        assert stored_pairs == expected_pairs, (stored_pairs - expected_pairs,
                                                expected_pairs - stored_pairs)

        summaries = rollup_clients(fresh, companies=cache.records.companies(),
                                   customers=cache.records.customers(), mapping=mapping,
                                   credits=cache.records.credits())
        expected_clients = {_client_row(s) for s in summaries}
        stored_clients = {_client_row(s) for s in cache.recon.client_page(limit=10**6)}
        assert stored_clients == expected_clients, sorted(stored_clients ^ expected_clients)

    @invariant()
    def every_discrepant_row_has_its_cause_now(self) -> None:
        """The stored causes (set in SQL where the cache decides, by the Python
        diagnosis elsewhere; kept by neither path past a change) are the ones the
        diagnosis gives each row from the cache as it is; an agreeing row has none."""
        cache = self.cache
        names = system_names(cache)
        for (pair_id,) in cache.conn.execute("SELECT id FROM invoice_pair"):
            row = cache.recon.pair_row(pair_id)
            assert row is not None
            found = diagnose_row(cache, row, names)
            expected = None if not row.discrepant else (
                found.cause.value if found else Cause.UNKNOWN.value)
            assert row.cause == expected, (row, expected)

    @invariant()
    def every_document_in_exactly_one_pair(self) -> None:
        cache = self.cache
        if cache.get_meta("complete_through") is None:
            return
        psa = Counter(r[0] for r in cache.conn.execute(
            "SELECT psa_invoice_id FROM invoice_pair WHERE psa_invoice_id IS NOT NULL"))
        assert psa == Counter({i: 1 for i in cache.records.psa_invoice_ids()})
        for kind, ids in ((DocKind.INVOICE, cache.records.ledger_invoice_ids()),
                          (DocKind.CREDIT_MEMO, cache.records.ledger_credit_memo_ids())):
            ledger = Counter(r[0] for r in cache.conn.execute(
                "SELECT ledger_invoice_id FROM invoice_pair WHERE kind = ? AND status IN (?, ?)",
                (kind.value, ReconStatus.MATCHED.value, ReconStatus.NOT_IN_PSA.value)))
            assert ledger == Counter({i: 1 for i in ids})

    @invariant()
    def matched_pairs_are_remembered(self) -> None:
        links = self.cache.recon.links()
        for psa_id, ledger_id in self.cache.conn.execute(
                "SELECT psa_invoice_id, ledger_invoice_id FROM invoice_pair WHERE status = ?",
                (ReconStatus.MATCHED.value,)):
            assert links[psa_id][0] == ledger_id


def _fields(record: object) -> dict:
    return {name: getattr(record, name) for name in record.__slots__}  # type: ignore[attr-defined]


def _cents(value: Decimal | None) -> int | None:
    return None if value is None else int(value * 100)


def _pair_row(pair, client_key: str) -> tuple:
    psa, ledger = pair.psa, pair.ledger
    ledger_id = ledger.id if ledger else (psa.ledger_invoice_id if psa else None)
    return (pair.kind.value, pair.status.value, psa.id if psa else None, ledger_id, client_key,
            _cents(psa.total) if psa else None, _cents(psa.owing) if psa else None,
            _cents(ledger.total) if ledger else None, _cents(ledger.balance) if ledger else None,
            psa.number if psa else None, ledger.doc_number if ledger else None)


def _client_row(summary) -> tuple:
    return (summary.client_key, summary.name, summary.psa_company_id,
            summary.ledger_customer_ids, summary.ledger_name, summary.psa_owing,
            summary.ledger_balance, summary.unapplied_credits, summary.discrepant_count,
            summary.invoice_count, summary.mapped)


LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
TestRefreshAgrees = RefreshAgrees.TestCase
TestRefreshAgrees.settings = settings(
    max_examples=400 if LONG else 25,
    stateful_step_count=60 if LONG else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
