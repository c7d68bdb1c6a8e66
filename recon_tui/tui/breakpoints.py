"""The breakpoint classes a screen gets at the app's size, computed before it is
pushed (split from :mod:`recon_tui.tui.app`, which explains why in ``push_screen``)."""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen

__all__ = ["breakpoint_classes"]


def breakpoint_classes(app: App[object], screen: Screen[object]) -> dict[str, bool]:
    """The classes Textual's ``Screen._on_resize`` gives ``screen`` at this
    size: per axis the class of the largest breakpoint reached."""
    width, height = app.size
    classes: dict[str, bool] = {}
    for dimension, breakpoints in (
            (width, screen.HORIZONTAL_BREAKPOINTS if screen.HORIZONTAL_BREAKPOINTS
             is not None else app.HORIZONTAL_BREAKPOINTS),
            (height, screen.VERTICAL_BREAKPOINTS if screen.VERTICAL_BREAKPOINTS
             is not None else app.VERTICAL_BREAKPOINTS)):
        reached = [name for edge, name in sorted(breakpoints or [], reverse=True)
                   if dimension >= edge][:1]
        classes.update({name: name in reached for _, name in breakpoints or []})
    return classes
