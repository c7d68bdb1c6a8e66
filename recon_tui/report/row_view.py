"""The report's rows as a sequence read from the spool page by page: ``len`` and
the first rows are cheap, iterating streams, and nothing holds the whole book."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any, overload

from recon_tui.cache.report_spool import PAGE, ReportSpool
from recon_tui.models import ReconStatus
from recon_tui.money import from_cents
from recon_tui.report.fields import VALUE_COLUMNS

__all__ = ["RowView", "SuspectRows", "spooled_row"]

_STATUS = {status.value: status for status in ReconStatus}
_DAYS: dict[str, date] = {}


def _money(cents: int | None) -> Decimal | None:
    return None if cents is None else from_cents(cents)


def spooled_row(values: tuple) -> Any:
    """One spool row (``seq`` first) as a :class:`~recon_tui.report.snapshot.ReportRow`."""
    from recon_tui.report.snapshot import ReportRow

    (_seq, day_text, customer, company, psa_number, psa_status, psa_total, psa_owing,
     ledger_number, ledger_total, ledger_owing, diff_total, diff_owing, status, cause,
     client_key, psa_id, ledger_id, customer_id, voided, currency, contribution,
     _kind, _discrepant) = values
    day = _DAYS.get(day_text)
    if day is None:
        day = _DAYS[day_text] = date.fromisoformat(day_text)
        if len(_DAYS) > 50_000:
            _DAYS.clear()
    return ReportRow(
        invoice_date=day, customer=customer, psa_company=company,
        psa_invoice_number=psa_number, psa_status=psa_status,
        psa_total=_money(psa_total), psa_owing=_money(psa_owing),
        ledger_invoice_number=ledger_number, ledger_total=_money(ledger_total),
        ledger_owing=_money(ledger_owing), difference_total=from_cents(diff_total),
        difference_owing=from_cents(diff_owing), sync_status=_STATUS[status], cause=cause,
        client_key=client_key, psa_invoice_id=psa_id, ledger_invoice_id=ledger_id,
        ledger_customer_id=customer_id, ledger_voided=bool(voided), currency=currency,
        contribution=from_cents(contribution))


class RowView:
    """One table of the spool (every invoice, the credit memos, the Invoice
    Difference's rows, or only the discrepant ones) in report order."""

    def __init__(self, spool: ReportSpool, table: str, *, discrepant_only: bool = False,
                 page: int = PAGE) -> None:
        self._spool, self._table, self._discrepant = spool, table, discrepant_only
        self._page = page
        self._len = spool.count(table, discrepant_only)

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[Any]:
        after = 0
        while True:
            batch = self._spool.page(self._table, after, self._page, self._discrepant)
            if not batch:
                return
            for values in batch:
                yield spooled_row(values)
            after = batch[-1][0]

    def value_pages(self, size: int | None = None, *, quoted: bool = False
                    ) -> Iterator[list[tuple]]:
        """The rows as plain tuples of what the writers print, ``size`` at a time:
        the :data:`~recon_tui.report.fields.VALUE_COLUMNS`, ``seq`` last
        (:meth:`~recon_tui.cache.report_spool.ReportSpool.values_page`). No row
        object is made, which is most of what writing a row used to cost."""
        after, size = 0, size or self._page
        while batch := self._spool.values_page(self._table, VALUE_COLUMNS, after, size,
                                               self._discrepant, quoted=quoted):
            yield batch
            after = batch[-1][-1]

    def money_bounds(self, columns: tuple[str, ...]) -> list[tuple[int | None, int | None]]:
        """Least and greatest cents of each of the spool's money ``columns`` (for
        fitting widths)."""
        return self._spool.money_bounds(self._table, columns, self._discrepant)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._len)
            if step != 1:
                raise ValueError("a row view slices with step 1 only")
            return [spooled_row(v) for v in self._spool.slice(
                self._table, start, max(stop - start, 0), self._discrepant)]
        position = index + self._len if index < 0 else index
        if not 0 <= position < self._len:
            raise IndexError(index)
        return spooled_row(self._spool.slice(self._table, position, 1, self._discrepant)[0])

    def __repr__(self) -> str:
        return f"<RowView {self._table}{' discrepant' if self._discrepant else ''}: " \
               f"{self._len:,} rows>"


class SuspectRows:
    """The invoice rows a hygiene check could flag, in report order, read from the
    spool each time they are walked: the checks look at a handful of rows instead
    of making an object of every row (see
    :meth:`~recon_tui.cache.report_spool.ReportSpool.suspect_page`)."""

    def __init__(self, spool: ReportSpool, number_max: int, main: str | None,
                 page: int = PAGE) -> None:
        self._spool, self._max, self._main, self._page = spool, number_max, main, page

    def __len__(self) -> int:
        return sum(1 for _row in self)

    def __iter__(self) -> Iterator[Any]:
        after = 0
        while batch := self._spool.suspect_page(after, self._page, self._max, self._main):
            for values in batch:
                yield spooled_row(values)
            after = batch[-1][0]
