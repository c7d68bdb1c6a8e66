"""JSON with money in it: Decimals written as JSON numbers with their exact digits.

``json.dumps`` has no Decimal path (a ``default`` hook may only return another
object to encode, so a Decimal would become a string or go through a float).
One writer here serves the connectors' request bodies, the emulator's answers
and its saved world, so all three write the same digits.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_DECIMAL_MARK = "\u0000dec:"
_MARKED = re.compile(r'"\\u0000dec:(-?[0-9.]+)"')


def dumps_exact(body: Any, **kwargs: Any) -> str:
    """``json.dumps`` that writes each Decimal as a JSON number, digit for digit."""

    def mark(value: object) -> object:
        if isinstance(value, Decimal):
            return f"{_DECIMAL_MARK}{value:f}"
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    return _MARKED.sub(r"\1", json.dumps(body, default=mark, **kwargs))
