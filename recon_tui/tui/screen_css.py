"""The app's two stylesheets (issue 12, the launch).

``app.tcss`` (``ReconApp.CSS_PATH``) lays out the clients and client screens and
is read at launch; ``screens.tcss`` lays out every other screen and is read the
first time one of those is pushed, so the launch parses only the rules its first
frame uses (Textual parses every stylesheet it is given before the first frame;
measured, the other screens' rules were a tenth of the launch's styling). Both
are the app's own CSS (not a widget's DEFAULT_CSS): their rules keep their
precedence, and the second comes after the first as it did in one file.
Nothing already on screen is styled again: no rule of ``screens.tcss`` matches a
widget of the clients or client screens.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.screen import Screen

__all__ = ["SCREENS_CSS", "read_screens_css"]

SCREENS_CSS = Path(__file__).with_name("screens.tcss")

#: The modules of the screens app.tcss alone lays out (the cache error and the
#: welcome screens style themselves).
_APP_TCSS_SCREENS = frozenset({
    "recon_tui.tui.screens.clients", "recon_tui.tui.screens.client_detail",
    "recon_tui.tui.screens.cache_error", "recon_tui.tui.screens.welcome"})


def read_screens_css(app: App[object], screen: Screen[object]) -> None:
    """Before ``screen`` is mounted: add ``screens.tcss`` to the app's stylesheet
    if ``screen`` is one of recon-tui's that it lays out and it is not there yet
    (the stylesheet parses it when it next styles a widget: the screen's own)."""
    module = type(screen).__module__
    if not module.startswith("recon_tui.") or module in _APP_TCSS_SCREENS:
        return
    path = str(SCREENS_CSS)
    if not app.stylesheet.has_source(path):
        app.stylesheet.add_source(SCREENS_CSS.read_text(encoding="utf-8"),
                                  read_from=(path, ""), is_default_css=False)
