"""Dates as users type them: exactly YYYY-MM-DD, one rule for every command.

``date.fromisoformat`` alone also takes ``20260101`` and ``2026-W01-1`` (Python
3.11 reads the whole ISO 8601 calendar), which the other date fields refused: a
date a tech types means the same thing wherever it is typed.
"""

from __future__ import annotations

import re
from datetime import date

_YMD = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_ymd(text: str) -> date | None:
    """A real calendar date written exactly YYYY-MM-DD, else None."""
    value = text.strip()
    if _YMD.fullmatch(value) is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
