"""A file path on a line of its own that reads at any width.

Wrapped like prose, a path breaks mid-word (``.../recon-tui/con`` / ``fig.toml``);
cut at the end, it loses the file's name. This one keeps both ends and drops the
middle (``/tmp/recon-tui-…/recon-tui/config.toml``), recomputed at every width.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from recon_tui.text import printable

ELLIPSIS = "…"


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` in ``width`` cells: whole if it fits, else its head and tail
    around an ellipsis, the tail (the file's name) given the larger half."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    if width == 1:
        return ELLIPSIS
    room = width - 1
    head_room = room // 2
    tail_room = room - head_room
    head, tail = "", ""
    for char in text:
        if cell_len(head + char) > head_room:
            break
        head += char
    for char in reversed(text):
        if cell_len(char + tail) > tail_room:
            break
        tail = char + tail
    return head + ELLIPSIS + tail


class PathLine(Static):
    """One line: ``prefix`` then the path, shortened in its middle to fit."""

    DEFAULT_CSS = """
    PathLine { height: 1; width: 1fr; }
    """

    def __init__(self, path: object, *, prefix: str = "", style: str = "",
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.path = printable(str(path))
        self.prefix = prefix
        self.path_style = style

    def render(self) -> Text:
        width = self.content_size.width or cell_len(self.prefix + self.path)
        shown = middle_ellipsis(self.path, width - cell_len(self.prefix))
        text = Text(self.prefix, style="dim", no_wrap=True, overflow="ellipsis")
        text.append(shown, style=self.path_style)
        return text
