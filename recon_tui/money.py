"""Money helpers: exact Decimal amounts in Python, integer cents in SQLite.

Floats never touch money. JSON is parsed with ``parse_float=Decimal`` and every
amount is quantised to cents with banker-free ROUND_HALF_UP, the way ledgers round.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
#: The largest amount read from a system (100 billion). Far above any invoice an
#: MSP writes, and low enough that 200,000 of them still sum inside SQLite's
#: 64-bit integer cents: ``1e30`` in a payload is a fault, not money.
MAX_AMOUNT = Decimal("100000000000")  # checked where amounts enter: to_api_money


class MoneyError(ValueError):
    """An amount that cannot be read as money."""


def to_money(value: object) -> Decimal:
    """Read an amount from JSON (str, int or Decimal) as an exact two-place Decimal."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool):
        raise MoneyError(f"not an amount: {value!r}")
    if isinstance(value, float):
        # Floats are refused: callers must parse JSON with parse_float=Decimal.
        raise MoneyError(f"float amount {value!r}: parse JSON with parse_float=Decimal")
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise MoneyError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyError(f"not an amount: {value!r}")
    try:
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than Decimal's context holds (1e30)
        raise MoneyError("amount out of range (more digits than any amount has)") from None


def to_api_money(value: object) -> Decimal:
    """An amount read from a system: as :func:`to_money`, and within MAX_AMOUNT.

    Hot path (several amounts per record of a sync): a Decimal or an int well
    inside the range is quantised directly; anything else, or anything that
    fails, takes the checked way, which raises the precise error."""
    kind = type(value)
    if kind is Decimal or kind is int:
        try:
            exact = value if isinstance(value, Decimal) else Decimal(value)
            # The rounding positional: a keyword costs as much again as the quantize.
            amount = exact.quantize(CENT, ROUND_HALF_UP)
            if -MAX_AMOUNT < amount < MAX_AMOUNT:
                return amount
        except ArithmeticError:  # NaN, infinity, too many digits: the checked way says so
            pass
    amount = to_money(value)
    if abs(amount) >= MAX_AMOUNT:
        raise MoneyError(f"amount out of range (at most {MAX_AMOUNT:,} either way)")
    return amount


def to_cents(amount: Decimal) -> int:
    """Exact integer cents for storage (hot path: one quantize, no string round trip)."""
    if type(amount) is Decimal and amount.is_finite():
        return int(amount.quantize(CENT, rounding=ROUND_HALF_UP).scaleb(2))
    return int(to_money(amount).scaleb(2))


def from_cents(cents: int | None) -> Decimal:
    """Decimal amount from stored integer cents, always with two places."""
    if cents is None:
        return ZERO
    return Decimal(int(cents)).scaleb(-2)


def format_money(amount: Decimal | None, *, blank_none: bool = True, signed: bool = False) -> str:
    """Human display: thousands separators, two places, minus sign for negatives."""
    if amount is None:
        return "" if blank_none else "0.00"
    text = f"{to_money(amount):,.2f}"
    if signed and amount > 0:
        text = "+" + text
    return text


def money_str(amount: Decimal | None) -> str | None:
    """Machine form for JSON and CSV: "3717.00", "-3717.00", or None for a missing side."""
    if amount is None:
        return None
    return f"{to_money(amount):.2f}"
