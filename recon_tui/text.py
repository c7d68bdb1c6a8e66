"""Data strings made safe to show a person: no byte of a name reaches a terminal as a
control.

A customer named ``ESC ] 0 ; title BEL`` would retitle the terminal, ``ESC [ 2 J``
clear it and U+202E reverse what follows, in the TUI, on the command line and in a
markdown report read with ``cat``. Rich's ``Text`` strips only BEL, BS, VT, FF and
CR, so every string that comes from the data passes through :func:`printable`
first. Controls are made visible rather than dropped, so a technician sees that the
name in the PSA really holds one.
"""

from __future__ import annotations

import re

__all__ = ["UNSAFE_CHARACTERS", "character_class", "is_printable", "printable"]


def _visible(code: int) -> str:
    """C0 as its Unicode Control Picture (ESC -> ␛), DEL as ␡, anything else by name."""
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"<U+{code:04X}>"


# C0 (newline and tab too: names are one line), DEL and C1 controls; the bidi
# embeddings, overrides, isolates and marks, which reorder the text after them on
# screen; the line and paragraph separators, which some viewers break lines at; and
# lone surrogates, which no terminal encoding can write.
UNSAFE_CHARACTERS: frozenset[int] = frozenset((
    *range(0x20), 0x7F, *range(0x80, 0xA0),
    0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
    0x2028, 0x2029,
    *range(0xD800, 0xE000),
))
_REPLACEMENTS = {code: _visible(code) for code in UNSAFE_CHARACTERS}


def character_class(codes: frozenset[int]) -> str:
    """A regex character class, runs of consecutive code points as ranges."""
    ordered = sorted(codes)
    parts = []
    start = previous = ordered[0]
    for code in [*ordered[1:], -1]:
        if code != previous + 1:
            parts.append(f"\\U{start:08x}" if start == previous
                         else f"\\U{start:08x}-\\U{previous:08x}")
            start = code
        previous = code
    return "[" + "".join(parts) + "]"


_UNSAFE = re.compile(character_class(UNSAFE_CHARACTERS))


def is_printable(text: str) -> bool:
    """True when ``text`` holds none of the characters :func:`printable` replaces."""
    return _UNSAFE.search(text) is None


def printable(value: object) -> str:
    """``value`` as text a terminal shows as typed; ``None`` is the empty string.

    Called for every table cell, so text with nothing to replace (nearly all of it)
    costs one regular-expression scan and comes back as the same object.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if _UNSAFE.search(text) is None:
        return text
    return text.translate(_REPLACEMENTS)
