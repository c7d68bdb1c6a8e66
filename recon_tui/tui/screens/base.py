"""What every recon-tui screen reaches for: the app, typed, and its cache; and the
help and quit keys of the screens the app's own ``?`` and ``q`` do not reach."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import messages
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker

from recon_tui.cache import Cache

if TYPE_CHECKING:
    from recon_tui.tui.app import ReconApp

#: Help and quit on a modal dialog: Textual gives a modal none of the app's keys, so
#: the dialog binds them itself (the actions are named ``help`` and ``quit`` so the
#: footer pins them at its right end, as on every other screen).
MODAL_HELP_QUIT = [
    Binding("question_mark", "help", "Help", key_display="?", id="modal_help"),
    Binding("q", "quit", "Quit", id="modal_quit"),
]
#: Help and quit on a screen whose focused field types ``?`` and ``q`` (an Input
#: consumes printable keys, and Textual then drops those bindings): F1 and ctrl+q.
TYPING_HELP_QUIT = [
    Binding("f1", "help", "Help", key_display="F1", id="typing_help"),
    # priority, as Textual's own ctrl+q is (it would otherwise stand in, unshown)
    Binding("ctrl+q", "quit", "Quit", key_display="^q", id="typing_quit", priority=True),
]


def typing_keys_shown(screen: Screen, action: str) -> bool | None:
    """check_action for a screen that types only now and then (a filter, an amount)
    and binds TYPING_HELP_QUIT: its F1 and ctrl+q show, and work, only while a text
    field has the keyboard; elsewhere the app's ``?`` and ``q`` do. None for any
    other action (the screen decides)."""
    if action in ("help", "quit"):
        return isinstance(screen.focused, Input)
    return None


class ReconScreenMixin:
    """Mixed into Screen/ModalScreen subclasses (listed before them)."""

    @property
    def recon_app(self) -> ReconApp:
        return self.app  # type: ignore[attr-defined,no-any-return]

    @property
    def cache(self) -> Cache:
        """The UI thread's cache connection (workers open their own)."""
        assert self.recon_app.cache is not None
        return self.recon_app.cache

    def _compositor_refresh(self) -> None:
        """Not drawn while an opaque screen covers it. Textual draws the screen
        under the top one for a top screen that lets it show through, and then
        repaints the whole top screen over it: pushing a client's screen (which
        repaints the clients screen below) cost its first frame a second, full one."""
        top = self.app.screen
        if top is not self and top.styles.background.a == 1:
            self._compositor._dirty_regions.clear()  # type: ignore[attr-defined]
            self._dirty_widgets.clear()  # type: ignore[attr-defined]
            return
        super()._compositor_refresh()  # type: ignore[misc]

    #: Whether the last frame tick waited for a queued layout (``_on_timer_update``).
    _frame_waited = False

    def _on_timer_update(self) -> None:
        """One frame per change. A widget asks for its repaint and its layout in two
        messages; Textual's frame timer, a task of its own, drew a frame between them
        (a filter keystroke's list, without its new length) and another once the
        layout had run, so a tick with a layout queued waits for it, once: the next
        tick draws. And a layout and a whole repaint both due (a screen shown again,
        its data changed) are one whole frame, not the layout's changes and then
        the whole screen again."""
        if not self._frame_waited and any(
                isinstance(message, messages.Layout)
                for message in self._message_queue.values):  # type: ignore[attr-defined]
            self._frame_waited = True
            return
        self._frame_waited = False
        if self._layout_required and self._repaint_required:  # type: ignore[attr-defined]
            self._repaint_required = False
            self._dirty_widgets.add(self)  # type: ignore[attr-defined]
        super()._on_timer_update()  # type: ignore[misc]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A screen's workers report to the screen alone (the message does not
        bubble): the app's one handler shows and logs their failures."""
        self.recon_app.on_worker_state_changed(event)

    def action_help(self) -> None:
        """The help screen of this screen (MODAL_HELP_QUIT, TYPING_HELP_QUIT)."""
        self.recon_app.action_help()

    async def action_quit(self) -> None:
        """Quit the app, as ``q`` does on the main screens."""
        await self.recon_app.action_quit()
