"""The emulator's JSON writer: the app's one Decimal codec, :func:`recon_tui.jsonio.encode`
(msgspec, each Decimal a JSON number with its own digits, compact UTF-8).

Kept as a name only for ``qbo_writes``, which is being split now; new code imports
:mod:`recon_tui.jsonio` itself.
"""

from __future__ import annotations

from recon_tui.jsonio import encode

__all__ = ["encode"]
