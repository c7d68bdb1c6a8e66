"""The app's one JSON codec for data with money in it: msgspec, Decimals exact
both ways.

* :func:`encode` writes each ``Decimal`` as a JSON number with its own digits
  (``str(Decimal)``: ``1.50`` stays ``1.50``; only a value Python itself writes
  with an exponent, like ``1E+30``, keeps it, which is the same number), compact,
  UTF-8. ``json.dumps`` has no Decimal path (a ``default`` hook may only return
  another object to encode, so a Decimal would become a string or a float).
* :func:`decode` reads every number with a fraction or an exponent as a
  ``Decimal`` of the digits sent (integers stay ``int``): what
  ``json.loads(parse_float=Decimal)`` gave, several times faster. Anything that is
  not JSON raises :class:`JsonError` (a ``ValueError``), a nesting too deep too.
  Stricter than ``json``: ``NaN``, ``Infinity`` and lone-surrogate escapes are
  refused.

Users: the connectors' request bodies and the error bodies they read, the
sample files, the emulator's answers, the bodies it reads and its saved world.
Not here, on purpose: the report's JSON writer (money is strings by the report's
contract, and its bytes are ``json.dumps(..., indent=2, ensure_ascii=False)``'s,
lone surrogates in names included, which msgspec refuses to write) and the small
files that hold no money (tokens, settings).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

__all__ = ["JsonError", "decode", "dumps_exact", "encode"]

_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


class JsonError(ValueError):
    """The text is not JSON (or not UTF-8, or nested too deep to read)."""


def encode(value: object) -> bytes:
    """``value`` as compact UTF-8 JSON, each Decimal a number digit for digit."""
    return _ENCODER.encode(value)


def decode(data: bytes | bytearray | memoryview | str) -> Any:
    """JSON with Decimal numbers; :class:`JsonError` on anything else."""
    try:
        return _DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise JsonError(str(exc)) from None


def dumps_exact(body: Any) -> str:
    """:func:`encode` as text (the connectors' request bodies)."""
    return _ENCODER.encode(body).decode("utf-8")
