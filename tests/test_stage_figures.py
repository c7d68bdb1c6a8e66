"""The PSA-payments choice's figures of invoices staged as rows (integer cents
in the stage) come back as the exact amounts, whether the two sides state an
amount alike (one Decimal shared) or not."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.cache.stage import DocFigures, SyncStage
from recon_tui.cache.stage_rows import STAGED_LEDGER_INVOICES, STAGED_PSA_INVOICES
from recon_tui.models import DocKind, LedgerInvoice, PsaInvoice

_DAY = date(2026, 3, 1)
_AT = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _psa(n: int, total: str, owing: str, link: str | None = None) -> PsaInvoice:
    return PsaInvoice(id=f"P{n}", number=f"INV-{n}", company_id="c", date=_DAY,
                      total=Decimal(total), owing=Decimal(owing), ledger_invoice_id=link,
                      updated_at=_AT)


def _ledger(n: int, total: str, balance: str, number: str | None = None) -> LedgerInvoice:
    return LedgerInvoice(id=f"L{n}", doc_number=number or f"INV-{n}", customer_id="k",
                         date=_DAY, total=Decimal(total), balance=Decimal(balance),
                         updated_at=_AT)


def test_staged_invoices_figures_are_exact_on_both_sides(tmp_path: Path) -> None:
    psa = [_psa(1, "10.00", "10.00"), _psa(2, "-3.05", "0.00"), _psa(3, "7.10", "7.10", "L9"),
           _psa(4, "99999999999.99", "0.01"),
           PsaInvoice(id="P5", number="INV-5", company_id="c", date=_DAY, total=Decimal(1),
                      owing=Decimal(1), kind=DocKind.CREDIT_MEMO)]
    ledger = [_ledger(1, "10.00", "0.00"), _ledger(2, "-3.05", "0.00"),
              _ledger(9, "7.10", "7.1"), _ledger(4, "99999999999.98", "0.01"),
              _ledger(3, "7.10", "1.00")]
    cache = Cache(tmp_path / "c.db")
    try:
        with SyncStage(cache) as stage:
            stage.declare_table("psa invoices", STAGED_PSA_INVOICES)
            stage.declare_table("ledger invoices", STAGED_LEDGER_INVOICES)
            stage.add_page("psa invoices", psa)
            stage.add_page("ledger invoices", ledger)
            rows = [row for page in stage.matched_pages("psa invoices", "ledger invoices")
                    for row in page]
    finally:
        cache.close()

    def psa_figures(i: PsaInvoice) -> DocFigures:
        return DocFigures(i.id, i.number, i.ledger_invoice_id, i.total, i.owing)

    def ledger_figures(i: LedgerInvoice) -> DocFigures:
        return DocFigures(i.id, i.doc_number, None, i.total, i.balance)

    assert rows == [
        (psa_figures(psa[0]), None, ledger_figures(ledger[0])),
        (psa_figures(psa[1]), None, ledger_figures(ledger[1])),
        (psa_figures(psa[2]), ledger_figures(ledger[2]), ledger_figures(ledger[4])),
        (psa_figures(psa[3]), None, ledger_figures(ledger[3])),
    ]  # the credit memo is no figure
    for psa_side, *ledger_sides in rows:
        for other in ledger_sides:
            if other is not None:  # exact to the cent, two places, as from_cents gives
                assert other.total.as_tuple().exponent == -2
                assert (other.total == psa_side.total) is (other.total is psa_side.total)
    assert rows[0][2].total is rows[0][0].total  # stated alike: one Decimal
    assert str(rows[2][1].owing) == "7.10"
