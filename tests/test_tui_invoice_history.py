"""The invoice history view: both sides' timelines, the removed payment, the
running balances, where the sides part, and the diagnosis with its keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.diagnosis import DocFacts
from recon_tui.models import PsaCompany
from recon_tui.refresh import refresh_reconciliation
from recon_tui.row_diagnosis import diagnose_pending
from recon_tui.transactions import InvoiceTxn, Side, TxnKind
from recon_tui.tui.app import ReconApp
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.invoice_history import InvoiceHistoryScreen
from recon_tui.tui.screens.resync import ResyncScreen
from recon_tui.tui.timeline import aligned_days, invoice_history, side_timeline
from recon_tui.tui.widgets.virtual_table import VirtualTable
from tests.books import psa_invoice, seed_book
from tests.test_tui import SIZE, screen_text
from tests.tui_app import recon_app

REMOVED_AT = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
HOSTILE_NAME = "Evil [bold]Co[/] \x1b]0;pwned\x07"


def ledger_payment(txn_id: str = "9024", **kw) -> InvoiceTxn:
    return InvoiceTxn(Side.LEDGER, kw.pop("invoice_id", "l110273"), txn_id, TxnKind.PAYMENT,
                      kw.pop("day", date(2026, 3, 10)), Decimal(kw.pop("amount", "10.00")),
                      reference=kw.pop("reference", "CHK 77"), method="Check")


def reversed_payment_book(cache: Cache, *, psa_reference: str = "CHK 77") -> None:
    """Seed 000 as it happens: Northwind's invoice 110273 (50.00) paid 10.00 on both
    sides on 2026-03-10; the ledger's payment 9024 deleted afterwards (noticed by
    the sync of 2026-03-20), so the PSA owes 40.00 and the ledger 50.00."""
    seed_book(cache)
    cache.txns.replace_txns(Side.PSA, "invoice_id", ["p110273"], [InvoiceTxn(
        Side.PSA, "p110273", "501", TxnKind.PAYMENT, date(2026, 3, 10), Decimal("10.00"),
        reference=psa_reference)], removed_how="no longer listed in the PSA")
    cache.txns.replace_txns(Side.LEDGER, "txn_id", ["9024"], [ledger_payment()],
                            removed_how="deleted in the ledger",
                            now=datetime(2026, 3, 11, 12, 0, tzinfo=UTC))
    cache.txns.replace_txns(Side.LEDGER, "txn_id", ["9024"], [],
                            removed_how="deleted in the ledger", now=REMOVED_AT)
    refresh_reconciliation(cache)
    diagnose_pending(cache)


def make_app(tmp_path: Path, build=reversed_payment_book) -> ReconApp:
    path = tmp_path / "book.db"
    with Cache(path) as cache:
        build(cache)
    return recon_app(config=Config.default(), cache_path=path, demo=False)


async def open_history(app: ReconApp, pilot, number: str = "110273") -> None:
    """From the clients screen: / number Enter (the client at that row), Enter."""
    await pilot.press("slash", *number, "enter")
    await pilot.pause()
    assert isinstance(app.screen, ClientDetailScreen)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, InvoiceHistoryScreen)


def line_with(text: str, *needles: str) -> str:
    return next(line for line in text.splitlines() if all(n in line for n in needles))


def struck(app: ReconApp, needle: str) -> bool:
    """Whether the characters ``needle`` are drawn struck through."""
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            if needle in segment.text and segment.style is not None and segment.style.strike:
                return True
    return False


async def test_history_shows_both_timelines_side_by_side_and_where_they_part(
        tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_history(app, pilot)
        text = screen_text(app)
        assert "Invoice 110273 — Northwind Traders" in text
        # PSA left, ledger right, on the same lines.
        titles = line_with(text, "PSA · 110273", "Ledger · 110273")
        assert titles.index("PSA") < titles.index("Ledger")
        assert "balance 40.00" in titles and "balance 50.00" in titles
        issued = line_with(text, "issued")
        assert issued.count("issued total 50.00") == 2 and issued.count("50.00") >= 4
        paid = line_with(text, "2026-03-10", "payment 501", "payment 9024")
        assert paid.index("payment 501") < paid.index("payment 9024")
        assert paid.count("-10.00") == 2 and paid.count("40.00") == 2  # the running balance
        # The ledger's payment is struck through, with how and when it went.
        assert struck(app, "payment 9024") and not struck(app, "payment 501")
        assert "removed: deleted in the ledger, noticed" in text
        assert "2026-03-20 12:00" in text
        removal = line_with(text, "2026-03-20", "payment 9024 removed")
        assert "+10.00" in removal and removal.rstrip().endswith("50.00")
        # The first point where they part: the removal, not the payment both had.
        part_row = text.splitlines().index(removal) + 1
        assert "sides part here" in text.splitlines()[part_row] or "sides part here" in removal
        assert "sides part here" not in paid and "sides part here" not in issued
        assert "The sides part on 2026-03-20: the PSA balance 40.00, the ledger 50.00." in text
        # The diagnosis, the fix and its keys.
        assert "Cause: payment reversed" in text
        assert "deleted, voided or unapplied on one side" in text  # the cause's meaning
        assert "the ledger listed payment 9024 on 2026-03-10 at an earlier sync" in text
        assert "Fix: " in text and "record it again in the ledger" in text
        assert "f starts the fix · r resyncs the invoice · Esc goes back" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)


async def test_history_stacks_the_timelines_at_80_columns(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_history(app, pilot)
        lines = screen_text(app).splitlines()
        assert all(len(line) <= 80 for line in lines)
        psa = next(i for i, line in enumerate(lines) if "PSA · 110273" in line)
        ledger = next(i for i, line in enumerate(lines) if "Ledger · 110273" in line)
        assert psa < ledger and "Ledger" not in lines[psa]
        # Where they part stays in view above the scrolling timelines.
        assert any("The sides part on 2026-03-20" in line for line in lines[:psa])
        assert any("payment 9024 removed" in line for line in lines[ledger:])
        body = app.screen.query_one("#history-body")
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y > 0
        assert "Cause: payment reversed" in screen_text(app)


async def test_f_starts_the_guided_fix_and_r_resyncs(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(ReconApp, "start_fix", lambda self, pair_id: started.append(pair_id),
                        raising=False)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_history(app, pilot)
        screen = app.screen
        assert isinstance(screen, InvoiceHistoryScreen)
        await pilot.press("f")
        await pilot.pause()
        [row] = app.cache.recon.pairs_for_number("110273")
        assert started == [row.pair_id]
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ResyncScreen)
        assert app.screen.number == "110273"


async def test_history_follows_the_row_through_a_recompute(tmp_path: Path) -> None:
    """A resync re-inserts rows under new ids: the open view finds its invoice again
    and shows what the cache says now (here: the payment back in the ledger)."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_history(app, pilot)
        old_id = app.screen.pair_id
        with Cache(app.cache_path) as writer:
            writer.txns.replace_txns(Side.LEDGER, "txn_id", ["9024"], [ledger_payment()],
                                     removed_how="deleted in the ledger")
            from tests.books import ledger_invoice

            writer.records.upsert_ledger_invoices(
                [ledger_invoice("110273", "58", "50.00", "40.00")])
            writer.records.upsert_psa_invoices([psa_invoice("10050", "3", "99.00", "98.00")])
            writer.conn.execute("UPDATE invoice_pair SET id = id + 100")
            refresh_reconciliation(writer)
            diagnose_pending(writer)
        app.broadcast(CacheChanged)
        await pilot.pause()
        text = screen_text(app)
        assert "Invoice 110273 — Northwind Traders" in text
        assert "both sides agree" in text and "The two sides agree at every step." in text
        assert "removed:" not in text and "sides part here" not in text
        assert "nothing to fix" in text
        assert (app.screen.pair_id != old_id
                or app.cache.recon.pair_row(old_id).psa_number == "110273")


async def test_hostile_names_and_references_stay_literal(tmp_path: Path) -> None:
    def build(cache: Cache) -> None:
        reversed_payment_book(cache, psa_reference="[red]CHK[/] \x1b[2J")
        cache.records.upsert_companies([PsaCompany("1", "NORTH", HOSTILE_NAME)])
        refresh_reconciliation(cache)
        diagnose_pending(cache)

    app = make_app(tmp_path, build)
    async with app.run_test(size=SIZE) as pilot:
        await open_history(app, pilot)
        text = screen_text(app)
        assert "Evil [bold]Co[/] ␛]0;pwned␇" in text
        assert "payment 501 [red]CHK[/] ␛[2J" in text
        assert "\x1b" not in text and "\x07" not in text


async def test_enter_on_a_credit_memo_row_opens_its_history(tmp_path: Path) -> None:
    from tests.test_tui import add_credit_memos

    def build(cache: Cache) -> None:
        seed_book(cache)
        add_credit_memos(cache)
        refresh_reconciliation(cache)
        diagnose_pending(cache)

    app = make_app(tmp_path, build)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"CM-7", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        memos = app.screen.query_one("#memos", VirtualTable)
        assert memos.has_focus and memos.current_row.cells[1].plain == "CM-7"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, InvoiceHistoryScreen)
        text = screen_text(app)
        assert "Credit memo CM-7 — Northwind Traders" in text
        assert line_with(text, "issued").count("total 25.00") == 2


# -- the timeline itself (pure)
def doc(total: str, owing: str, **kw) -> DocFacts:
    return DocFacts("110273", Decimal(total), Decimal(owing), date=date(2026, 3, 1), **kw)


def test_sides_issued_at_different_totals_part_at_the_start() -> None:
    history = invoice_history(side_timeline(Side.PSA, "ConnectWise", doc("50.00", "50.00"), (),
                                            itemised=True),
                              side_timeline(Side.LEDGER, "QuickBooks", doc("55.00", "55.00"),
                                            (), itemised=True))
    assert history.parted == "issue"
    assert history.psa.events[0].parts and history.ledger.events[0].parts
    assert history.parting == ("The sides part at the start: ConnectWise bills 50.00, "
                               "QuickBooks 55.00.")


def test_payments_not_read_close_the_side_as_one_undated_step() -> None:
    psa = side_timeline(Side.PSA, "Autotask", doc("50.00", "40.00"), (), itemised=False)
    ledger = side_timeline(Side.LEDGER, "QuickBooks", doc("50.00", "50.00"), (), itemised=True)
    [_issued, gap] = psa.events
    assert (gap.day, gap.what, gap.change, gap.balance) == (
        None, "applied, not itemised", Decimal("-10.00"), Decimal("40.00"))
    history = invoice_history(psa, ledger)
    assert history.parted == "undated" and history.psa.events[1].parts
    assert not history.psa.events[0].parts


def test_the_same_payment_keyed_days_apart_keeps_the_sides_together() -> None:
    """The ledger recorded the payment on 03-10, the PSA on 03-12: one payment (as
    the diagnosis matches them), so the sides never part; their own dates show."""
    pay = ledger_payment(invoice_id="l1")
    psa_pay = InvoiceTxn(Side.PSA, "p1", "501", TxnKind.PAYMENT, date(2026, 3, 12),
                         Decimal("10.00"))
    aligned = aligned_days((psa_pay,), (pay,))
    history = invoice_history(
        side_timeline(Side.PSA, "ConnectWise", doc("50.00", "40.00"), (psa_pay,),
                      itemised=True, aligned=aligned),
        side_timeline(Side.LEDGER, "QuickBooks", doc("50.00", "40.00"), (pay,), itemised=True,
                      aligned=aligned))
    assert history.parted == "" and history.parting == "The two sides agree at every step."
    assert [e.day for e in history.psa.events] == [date(2026, 3, 1), date(2026, 3, 12)]
    assert [e.balance for e in history.ledger.events] == [Decimal("50.00"), Decimal("40.00")]
    # Unmatched (amounts differ), the same dates do part the sides on the first day.
    other = replace(psa_pay, amount=Decimal("9.00"))
    apart = invoice_history(
        side_timeline(Side.PSA, "ConnectWise", doc("50.00", "41.00"), (other,),
                      itemised=True, aligned=aligned_days((other,), (pay,))),
        side_timeline(Side.LEDGER, "QuickBooks", doc("50.00", "40.00"), (pay,), itemised=True))
    assert apart.parted == "dated"
    assert apart.parting.startswith("The sides part on 2026-03-10:")
    assert apart.ledger.events[1].parts and not apart.psa.events[1].parts


def test_a_side_not_itemised_is_compared_only_as_it_stands_now() -> None:
    """The demo's 110273 at the first sync: ConnectWise's payments not read, the
    ledger's payment dated. They agree now; no day can be called the parting."""
    psa = side_timeline(Side.PSA, "ConnectWise", doc("50.00", "40.00"), (), itemised=False)
    ledger = side_timeline(Side.LEDGER, "QuickBooks", doc("50.00", "40.00"),
                           (ledger_payment(invoice_id="l1", day=date(2026, 7, 2)),),
                           itemised=True)
    history = invoice_history(psa, ledger)
    assert history.parted == ""
    assert history.parting == ("The balances agree now (40.00); not every step is itemised, "
                               "so the days cannot be compared.")
    assert not any(e.parts for tl in (history.psa, history.ledger) for e in tl.events)
