"""The report's causes block: the discrepant rows counted and summed per cause.

Each discrepant row of the cache carries the cause the diagnosis gave it
(:class:`recon_tui.diagnosis.Cause`); the block says, per cause, how many rows,
what their differences add up to, what they add to the Invoice Difference, and
what the cause means. It is folded from one GROUP BY of the cache (never from
the rows in memory), so the report checks the two against each other: the
rows counted here are the discrepant rows, and what they add to the Invoice
Difference is the Invoice Difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from recon_tui.cache.report import CauseGroup
from recon_tui.diagnosis import Cause
from recon_tui.models import DocKind, ReconStatus
from recon_tui.money import ZERO, format_money

__all__ = ["NOT_DIAGNOSED", "CauseLine", "CauseSummary", "cause_meaning", "causes_agree",
           "causes_check_text", "summarise_causes"]

#: How the block names the rows no diagnosis has named yet.
NOT_DIAGNOSED = "not diagnosed"
NOT_DIAGNOSED_MEANING = ("Not diagnosed yet: the row changed after the last sync or resync "
                         "named its cause; a sync or a resync of the invoice names it.")
_KNOWN = {cause.value: cause for cause in Cause}


def cause_meaning(cause: str | None) -> str:
    """The one-line meaning of a stored cause value (None: not diagnosed yet)."""
    if cause is None:
        return NOT_DIAGNOSED_MEANING
    known = _KNOWN.get(cause)
    return known.meaning if known is not None else (
        "A cause this version of recon-tui does not know (written by another version).")


@dataclass(frozen=True, slots=True)
class CauseLine:
    """The discrepant rows of one cause (``cause`` None: not diagnosed yet)."""

    cause: str | None
    count: int
    difference_total: Decimal
    difference_owing: Decimal
    #: What these rows add to the Invoice Difference (the Contribution column's sum).
    contribution: Decimal

    @property
    def label(self) -> str:
        return self.cause if self.cause is not None else NOT_DIAGNOSED

    @property
    def meaning(self) -> str:
        return cause_meaning(self.cause)


@dataclass(frozen=True, slots=True)
class CauseSummary:
    """Every cause present, most rows first (not diagnosed last), and their sum."""

    lines: tuple[CauseLine, ...] = ()

    @property
    def count(self) -> int:
        return sum(line.count for line in self.lines)

    @property
    def difference_total(self) -> Decimal:
        return sum((line.difference_total for line in self.lines), start=ZERO)

    @property
    def difference_owing(self) -> Decimal:
        return sum((line.difference_owing for line in self.lines), start=ZERO)

    @property
    def contribution(self) -> Decimal:
        return sum((line.contribution for line in self.lines), start=ZERO)

    @property
    def not_diagnosed(self) -> CauseLine:
        """The rows without a cause yet (a line of 0 rows when every row has one)."""
        for line in self.lines:
            if line.cause is None:
                return line
        return CauseLine(None, 0, ZERO, ZERO, ZERO)

    def line(self, cause: str) -> CauseLine:
        """One cause's line; 0 rows when no row has that cause."""
        for line in self.lines:
            if line.cause == cause:
                return line
        return CauseLine(cause, 0, ZERO, ZERO, ZERO)

    def every_cause(self) -> list[CauseLine]:
        """Each cause of the closed set (0 rows where none has it), then any other
        stored value, in the block's order: for a reader that wants stable keys."""
        present = [line for line in self.lines if line.cause is not None]
        missing = [CauseLine(c.value, 0, ZERO, ZERO, ZERO) for c in Cause
                   if all(line.cause != c.value for line in present)]
        return present + missing


def causes_agree(causes: CauseSummary, discrepant: int, invoice_difference: Decimal) -> bool:
    """The block checks itself against the rows: it counts each of the ``discrepant``
    rows once, and what they add to the Invoice Difference is the Invoice
    Difference (every row that adds to it is discrepant)."""
    return causes.count == discrepant and causes.contribution == invoice_difference


def causes_check_text(causes: CauseSummary, discrepant: int,
                      invoice_difference: Decimal) -> str:
    """The line under the causes block, in plain words: it covers every discrepant
    invoice and the whole Invoice Difference, or (a bug) it does not."""
    difference = format_money(invoice_difference)
    if causes_agree(causes, discrepant, invoice_difference):
        return (f"The causes account for all {discrepant:,} discrepant invoice"
                f"{'' if discrepant == 1 else 's'} and add up to the Invoice Difference "
                f"{difference}.")
    return (f"The causes do not add up: they cover {causes.count:,} of {discrepant:,} "
            f"discrepant invoices and add {format_money(causes.contribution)} against the "
            f"Invoice Difference {difference}. That is a bug in recon-tui; please report it.")


def _contribution(status: ReconStatus, group: CauseGroup) -> Decimal:
    """What a group adds to the Invoice Difference, the rule of
    :func:`recon_tui.reconcile.difference_contribution` applied to its sums."""
    if status is ReconStatus.MATCHED:
        return group.difference_total
    if status is ReconStatus.EXPECTED_NOT_FOUND:
        return -group.psa_total
    return ZERO


def summarise_causes(groups: Iterable[CauseGroup], kind: DocKind) -> CauseSummary:
    """Fold the cache's (kind, cause, status) groups of one kind into one line per
    cause."""
    sums: dict[str | None, list] = {}
    for group in groups:
        if group.kind is not kind:
            continue
        acc = sums.setdefault(group.cause, [0, ZERO, ZERO, ZERO])
        acc[0] += group.count
        acc[1] += group.difference_total
        acc[2] += group.difference_owing
        acc[3] += _contribution(group.status, group)
    lines = [CauseLine(cause, n, total, owing, contribution)
             for cause, (n, total, owing, contribution) in sums.items()]
    order = list(_KNOWN)
    lines.sort(key=lambda line: (line.cause is None, -line.count,
                                 order.index(line.cause) if line.cause in _KNOWN
                                 else len(order), line.cause or ""))
    return CauseSummary(tuple(lines))
