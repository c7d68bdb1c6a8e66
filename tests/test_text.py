"""``printable``: what a terminal could act on is shown instead, everything else
comes through untouched."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from recon_tui.text import UNSAFE_CHARACTERS, is_printable, printable

# Every character the brief names, one by one.
NAMED = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x200E, 0x200F, *range(0x202A, 0x202F),
         *range(0x2066, 0x206A), 0x061C]


def ordinary(ch: str) -> bool:
    return ord(ch) not in UNSAFE_CHARACTERS


ordinary_text = st.text(st.characters(codec="utf-8").filter(ordinary))


def test_each_named_control_is_replaced_by_something_visible() -> None:
    for code in NAMED:
        shown = printable(f"a{chr(code)}b")
        assert shown.startswith("a") and shown.endswith("b")
        middle = shown[1:-1]
        assert chr(code) not in shown and middle
        assert all(unicodedata.category(c) not in ("Cc", "Cf") for c in middle), hex(code)


def test_the_replacements_say_what_was_there() -> None:
    assert printable("\x1b]0;pwned\x07") == "␛]0;pwned␇"
    assert printable("\x00\t\n\r") == "␀␉␊␍"
    assert printable("\x7f") == "␡"
    assert printable("\x9b31m") == "<U+009B>31m"
    assert printable("abc\u202edef") == "abc<U+202E>def"
    assert printable("\ud800") == "<U+D800>"  # a lone surrogate no terminal can encode
    assert printable(None) == "" and printable(42) == "42"


def test_ordinary_text_is_returned_as_is() -> None:
    for text in ("Northwind Traders", "Société Générale", "株式会社テスト", "💰 ACME 👨‍👩‍👧",
                 "[bold]markup[/]", "O'Brien & Sons <ltd>", "", "עברית", "مرحبا"):
        assert printable(text) is text  # the fast path: the very same object
        assert is_printable(text)


@given(st.text())
def test_the_output_never_holds_an_unsafe_character(text: str) -> None:
    shown = printable(text)
    assert not any(ord(ch) in UNSAFE_CHARACTERS for ch in shown)
    assert is_printable(shown)
    assert printable(shown) == shown  # idempotent
    assert is_printable(text) == (shown == text)


@given(ordinary_text)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert printable(text) == text


@given(ordinary_text, st.sampled_from([chr(c) for c in NAMED]), ordinary_text)
def test_the_text_around_a_control_is_kept(before: str, control: str, after: str) -> None:
    shown = printable(before + control + after)
    assert shown.startswith(before) and shown.endswith(after)
    assert len(shown) > len(before) + len(after)
