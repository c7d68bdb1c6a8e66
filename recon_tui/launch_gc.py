"""The app's launch runs without the cyclic garbage collector (issue 12).

Launching imports recon-tui and Textual, parses the stylesheet and builds the
first screen: a few hundred thousand objects, nearly all of which live as long as
the process (modules, classes, functions, style rules, widgets). The collector
cannot free any of them, yet with its default thresholds it scans them again and
again while they are made: measured, a tenth of the launch's CPU time, for about
two thousand objects found to be garbage. So ``recon-tui`` pauses it
(:func:`pause`) before the app's imports and the app resumes it (:func:`resume`)
once its first frame is shown, first moving everything alive then into the
permanent generation (:func:`gc.freeze`), so later collections, during a keystroke,
do not walk the launch's objects either (the price: an object of the launch that
dies in a reference cycle later is never freed).

Only the command line pauses it, and whatever happens it collects again when the
command returns (without freezing: ``main`` is also called in-process). An app
built any other way (the tests) finds the collector as it was, and
:func:`resume` does nothing.
"""

from __future__ import annotations

import gc

__all__ = ["pause", "paused", "resume"]

_paused = False


def pause() -> None:
    """Stop automatic collection until :func:`resume` (nothing if it is already off)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def paused() -> bool:
    """Whether :func:`pause` stopped the collector and it has not resumed yet."""
    return _paused


def resume(*, freeze: bool = False) -> None:
    """Collect automatically again, only after :func:`pause` (a collector someone
    else turned off stays off); ``freeze``: first move every object alive into the
    permanent generation, which collections skip (the app, at its first frame)."""
    global _paused
    if not _paused:
        return
    _paused = False
    if freeze:
        gc.freeze()
    gc.enable()
