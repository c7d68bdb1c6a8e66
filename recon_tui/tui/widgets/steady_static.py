"""A ``Static`` whose new size does not lay the screen out a second time.

Textual sets a widget's virtual size from each layout; for a widget without
children that is its own size, and the virtual size is a reactive that asks for a
layout. So a ``width: auto`` Static whose text grows (the count beside the clients
filter, whose text names the filter) costs every keystroke a second layout of the
whole screen, and a second frame, for a size that changes nothing: a Static does
not scroll. This one takes the new virtual size without asking.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widgets import Static


class SteadyStatic(Static):
    """A ``Static`` laid out once per change of its text, not twice."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size,
                      layout: bool = True) -> bool:
        # (Textual's own call for scrolling passes layout=False, the same reasoning)
        return super()._size_updated(size, virtual_size, container_size, layout=False)
