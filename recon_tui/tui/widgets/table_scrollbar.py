"""A ``VirtualTable``'s vertical scrollbar: Textual's own, its lines kept while the
bar looks the same.

Every filter keystroke gives the clients table a new row count, so Textual draws
its scrollbar again through Rich (a few milliseconds for a screen's height) even
though, for any list longer than the table's height squared, the bar is the very
same: a one-cell thumb at the top. The lines are kept by what they are drawn
from (the bar's segments, the widget's size, styles and the region asked for),
so what is shown is exactly what Textual draws.
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.color import Color
from rich.style import Style
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

from recon_tui.tui.widgets.row_source import LRU

__all__ = ["TableScrollBar"]

#: Textual's fallbacks when the style has no colour (ScrollBarRender.__rich_console__).
_BACK = Color.parse("#555555")
_BAR = Color.parse("bright_magenta")


class TableScrollBar(ScrollBar):
    """A ``ScrollBar`` whose rendered lines are reused while its look is unchanged."""

    KEPT: int = 8
    """Looks kept (a few: a filter typed and cleared goes back and forth)."""

    def __init__(self, vertical: bool = True, name: str | None = None, *,
                 thickness: int = 1) -> None:
        super().__init__(vertical, name, thickness=thickness)
        self._kept: LRU[Hashable, list[Strip]] = LRU(self.KEPT)

    def render_lines(self, crop: Region) -> list[Strip]:
        look = self._look(crop)
        if look is None:
            return super().render_lines(crop)
        lines = self._kept.get(look)
        if lines is None:
            lines = super().render_lines(crop)
            self._kept.set(look, lines)
        return list(lines)

    def _look(self, crop: Region) -> Hashable | None:
        """Everything the lines are drawn from: the bar's segments as Textual's
        renderer makes them at this size, and the widget's styles."""
        bar = self.render()
        if not isinstance(bar, ScrollBarRender) or not isinstance(bar.style, Style):
            return None
        width, height = self.size
        style = bar.style
        segments = bar.render_bar(
            size=height if bar.vertical else width,
            virtual_size=bar.virtual_size,
            window_size=bar.window_size,
            position=bar.position,
            thickness=width if bar.vertical else height,
            vertical=bar.vertical,
            back_color=style.bgcolor or _BACK,
            bar_color=style.color or _BAR,
        )
        styles = self.styles
        return (crop, self.size, tuple(segments.segments), self.visual_style,
                self.background_colors, self.opacity, styles.tint, styles.text_opacity,
                self.app.ansi_theme)
