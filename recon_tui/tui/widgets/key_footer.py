"""A footer that never loses ``?`` help and ``q`` quit on a narrow terminal.

Textual's ``Footer`` lays every binding out in a row and cuts off whatever is past
the right edge, which on 80 columns is help and quit. This one keeps them last and
always shown, puts the focused widget's and the screen's own keys before the
app-wide ones (sync, history, ...), and leaves out whole keys, never half a key,
when the row is full; what it leaves out is still on the help screen (``?``) and
in the command palette (``ctrl+p``).
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["PINNED_ACTIONS", "KeyFooter"]

#: Always in the footer, at its right end: help and quit.
PINNED_ACTIONS = ("help", "quit")
#: The command palette key Textual docks at the right ("^p Commands" and its rule).
_PALETTE_WIDTH = 13


class KeyFooter(Footer):
    """The footer of every recon-tui screen (see the module docstring)."""

    def __init__(self, *, compact: bool = True, id: str | None = None) -> None:
        super().__init__(compact=compact, id=id)
        #: What the keys on show were composed from (see ``bindings_changed``).
        self._composed: tuple[object, ...] | None = None
        #: A recompose is asked for and has not run yet: it composes the keys of
        #: the moment it runs, so another change before then needs no second one.
        self._recompose_pending = False

    def bindings_changed(self, screen: Screen) -> None:
        """Textual recomposes the whole footer whenever the focus moves or a screen
        resumes, mounting and styling every key again; when the keys it would show
        are the very ones on show, there is nothing to do."""
        if (self._bindings_ready and self.is_attached and screen is self.screen
                and self._composed is not None and self._composed == self._signature()):
            return
        if self._recompose_pending and screen is self.screen:
            self._bindings_ready = True
            return
        super().bindings_changed(screen)
        self._recompose_pending = self.is_attached and screen is self.screen and bool(
            screen.app.app_focus)

    async def recompose(self) -> None:
        """At launch the focus moves twice before the footer's first compose (to the
        filter box, then to the list) and each asked for one: composed twice, every
        key mounted and styled twice (with -compact below, measured: ~50 ms of a
        550 ms launch's CPU)."""
        self._recompose_pending = False
        await super().recompose()

    def _signature(self) -> tuple[object, ...]:
        """Everything compose() builds the keys from, in its order."""
        keys = tuple((binding.key, binding.action, binding.description,
                      self.app.get_key_display(binding), enabled, tooltip or binding.tooltip)
                     for binding, enabled, tooltip in self._candidates())
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            active = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
            if active is not None:
                _node, binding, enabled, _tooltip = active
                palette = (binding.key, binding.action, binding.description, enabled,
                           binding.tooltip)
        return (keys, palette, self.compact)

    def shown_bindings(self, width: int) -> list[tuple[Binding, bool, str]]:
        """The bindings that fit ``width``: the screen's first, help and quit last."""
        own: list[tuple[Binding, bool, str]] = []
        app_wide: list[tuple[Binding, bool, str]] = []
        pinned: dict[str, tuple[Binding, bool, str]] = {}
        seen: set[str] = set()
        for node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            if binding.action == "command_palette":
                continue
            seen.add(binding.action)
            entry = (binding, enabled, tooltip)
            if binding.action in PINNED_ACTIONS:
                pinned[binding.action] = entry
            elif node is self.app:
                app_wide.append(entry)
            else:
                own.append(entry)
        last = [pinned[action] for action in PINNED_ACTIONS if action in pinned]
        room = width - _PALETTE_WIDTH - sum(self._key_width(b) for b, _, _ in last)
        shown: list[tuple[Binding, bool, str]] = []
        for entry in own + app_wide:
            need = self._key_width(entry[0])
            if need <= room:
                shown.append(entry)
                room -= need
        return shown + last

    def _key_width(self, binding: Binding) -> int:
        """Cells one compact footer key takes: key, space, description, margin."""
        return cell_len(self.app.get_key_display(binding)) + 1 + cell_len(
            binding.description) + 1

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._composed = self._signature()
        width = self.size.width or self.app.size.width
        shown = {binding.action for binding, _, _ in self.shown_bindings(width)}
        for binding, enabled, tooltip in self._candidates():
            key = FooterKey(binding.key, self.app.get_key_display(binding),
                            binding.description, binding.action, disabled=not enabled,
                            tooltip=tooltip or binding.tooltip,
                            # -compact from the start: FooterKey's compact watcher
                            # would add it after the key is styled, and style it again
                            classes="-compact" if self.compact else "",
                            ).data_bind(compact=Footer.compact)
            if binding.action not in shown:
                key.display = False
            yield key
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            try:
                _node, binding, enabled, tooltip = self.screen.active_bindings[
                    self.app.COMMAND_PALETTE_BINDING]
            except KeyError:
                return
            yield FooterKey(binding.key, self.app.get_key_display(binding),
                            binding.description, binding.action,
                            classes="-command-palette -compact",  # its compact is True
                            disabled=not enabled,
                            tooltip=binding.tooltip or binding.description)

    def _candidates(self) -> list[tuple[Binding, bool, str]]:
        """Every key the footer may show, in its order (what fits at any width)."""
        return self.shown_bindings(1 << 20)

    def on_resize(self, event: events.Resize) -> None:
        """Show the keys that fit the new width (no recompose: the keys are there)."""
        shown = {binding.action for binding, _, _ in self.shown_bindings(event.size.width)}
        for key in self.query(FooterKey):
            if not key.has_class("-command-palette") and key.display != (key.action in shown):
                key.display = key.action in shown
