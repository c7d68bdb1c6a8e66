"""An ``Input`` that shows a control character in its value without sending it.

Textual's ``Input`` renders its value raw, so a pre-filled value (an invoice number
from the data, a path) or a pasted name holding ``ESC ] 0 ; ... BEL`` would reach
the terminal. The value itself stays exact (the search still finds the invoice);
only what is drawn changes, one character for one, so the cursor, the selection and
the scrolling still line up with the value.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input

from recon_tui.text import UNSAFE_CHARACTERS


def _one_for_one(code: int) -> str:
    """C0 as its Control Picture (ESC -> ␛), DEL as ␡, the rest as U+FFFD."""
    if code < 0x20:
        return chr(0x2400 + code)
    return "\u2421" if code == 0x7F else "\ufffd"


_SHOWN = {code: _one_for_one(code) for code in UNSAFE_CHARACTERS}


class PrintableInput(Input):
    """``Input`` whose drawn value never holds a terminal control."""

    @property
    def _value(self) -> Text:
        text = super()._value
        plain = text.plain
        shown = plain.translate(_SHOWN)
        if shown != plain:
            text.plain = shown  # same length: the highlighter's spans stay valid
        return text
