"""The export dialog's format choice: one line, one key per format.

A ``Select`` opened its drop-down on Enter (the dialog's hint said "Enter exports")
and took four keys to reach md. Here ←/→ step through the formats, the first
letter (x, c, j, m) picks one at once, and Enter is left to the dialog: it exports.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class FormatPicker(Widget, can_focus=True):
    """The formats side by side, the chosen one highlighted, its meaning beside."""

    DEFAULT_CSS = """
    FormatPicker {
        height: 1;
        width: 100%;
    }
    FormatPicker:focus {
        background: $boost;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1)", "Previous format", show=False),
        Binding("right", "step(1)", "Next format", show=False),
    ]

    value: reactive[str] = reactive("")

    class Changed(Message):
        """The chosen format changed."""

        def __init__(self, picker: FormatPicker, value: str) -> None:
            super().__init__()
            self.picker = picker
            self.value = value

        @property
        def control(self) -> FormatPicker:
            return self.picker

    def __init__(self, formats: dict[str, str], value: str, *, id: str | None = None) -> None:
        """``formats``: each format's name and a few words on what it is for."""
        super().__init__(id=id)
        self.formats = formats
        self.set_reactive(FormatPicker.value, value)

    def watch_value(self, old: str, new: str) -> None:
        if old != new:
            self.post_message(self.Changed(self, new))

    def validate_value(self, value: str) -> str:
        return value if value in self.formats else next(iter(self.formats))

    def action_step(self, delta: int) -> None:
        names = list(self.formats)
        self.value = names[(names.index(self.value) + delta) % len(names)]

    def on_key(self, event: events.Key) -> None:
        """The first letter of a format picks it (x, c, j, m)."""
        for name in self.formats:
            if event.character and event.character.lower() == name[0]:
                event.stop()
                event.prevent_default()
                self.value = name
                return

    def render(self) -> Text:
        text = Text()
        for name in self.formats:
            chosen = name == self.value
            text.append(" ")
            text.append(name[0], style="bold underline reverse" if chosen else "underline")
            text.append(name[1:] + " ", style="bold reverse" if chosen else "")
        text.append("  " + self.formats.get(self.value, ""), style="dim")
        return text
