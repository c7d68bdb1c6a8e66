"""`recon-tui find NUMBER` prints the pair, both sides' payments, the cause and
the fix, from the cache alone."""

from __future__ import annotations

from pathlib import Path

from recon_tui.cli import main
from recon_tui.models import PsaInvoice
from tests.test_sync_payments import books, sync  # noqa: F401


def test_find_prints_both_sides_the_cause_and_the_fix(books, tmp_path: Path, capsys):  # noqa: F811
    cache, psa, ledger = books
    sync(cache, psa, ledger)
    assert main(["find", "110273", "--db", str(cache.path)]) == 0
    out = capsys.readouterr().out
    assert "invoice 110273 (invoice)" in out
    assert "total 50.00  owing 50.00" in out and "total 50.00  balance 40.00" in out
    assert "payment 901" in out and "10.00" in out
    assert "cause       payment in ledger only: payment 901 of 10.00 on 2026-06-10" in out
    assert "fix         Record the payment of 10.00 on the invoice in the PSA" in out


def test_find_of_an_agreeing_invoice_and_of_an_unknown_number(books, capsys):  # noqa: F811
    cache, psa, ledger = books
    sync(cache, psa, ledger)
    assert main(["find", "100", "--db", str(cache.path)]) == 0
    assert "agrees      nothing to fix" in capsys.readouterr().out
    assert main(["find", "999999", "--db", str(cache.path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invoice 999999 is not in the cache" in err


def test_find_renders_hostile_names_literally(books, capsys):  # noqa: F811
    cache, psa, ledger = books
    company = psa.companies_by_id["1"]
    psa.companies_by_id["1"] = company.__class__("1", "ALPHA", "Alpha Co\x1b]0;pwned\x07")
    psa.touch(PsaInvoice("p9", "110274", "1", psa.documents["p2"].date,
                         psa.documents["p2"].total, psa.documents["p2"].owing))
    sync(cache, psa, ledger)
    main(["find", "110274", "--db", str(cache.path)])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out


def test_a_credit_memo_used_in_the_ledger_only_names_the_invoice_it_went_to(
        tmp_path: Path, capsys) -> None:
    """The demo's CM-1002: QuickBooks applied its 10.00 to invoice 10935, ConnectWise
    still holds the 10.00 as credit left. A credit, not a payment, and the fix says
    where it goes."""
    db = str(tmp_path / "demo.db")
    assert main(["sync", "--demo", "--db", db]) == 0
    capsys.readouterr()
    assert main(["find", "CM-1002", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "cause       credit in ledger only: credit memo CM-1002: 10.00 of it was applied " \
        "in QuickBooks only" in out
    assert "QuickBooks applied it to invoice 10935" in out
    assert "fix         Apply 10.00 of credit memo CM-1002 to invoice 10935 in ConnectWise" \
        in out
