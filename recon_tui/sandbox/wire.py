"""The emulator's JSON writer: msgspec, Decimals as JSON numbers.

Why not ``jsonio.dumps_exact``: its ``default`` hook and the regex pass after it
cost more per served record than the client spends reading it, on a
200,000-invoice book. msgspec writes each Decimal's own digits as a JSON number
(``decimal_format="number"``: ``str(Decimal)``, so ``1.50`` stays ``1.50``; only a
value Python itself writes with an exponent, like ``1E+30``, keeps it, which is
the same number), compact, UTF-8. The demo's saved world still uses
``dumps_exact`` (a file people may read).
"""

from __future__ import annotations

import msgspec

__all__ = ["encode"]

_ENCODER = msgspec.json.Encoder(decimal_format="number")


def encode(body: object) -> bytes:
    """``body`` as JSON bytes, money exact."""
    return _ENCODER.encode(body)
