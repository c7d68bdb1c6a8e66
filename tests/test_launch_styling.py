"""Launching to the clients screen (issue 12): the first screen is built and styled
once. What is composed, mounted and parsed is the behaviour held, not a time."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets._footer import FooterKey

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.widgets.key_footer import KeyFooter
from tests.books import seed_book
from tests.tui_app import recon_app

SIZE = (120, 36)


def make_app(tmp_path: Path) -> ReconApp:
    path = tmp_path / "book.db"
    with Cache(path) as cache:
        seed_book(cache)
    return recon_app(config=Config.default(), cache_path=path, demo=False)


async def test_the_footer_is_composed_once_at_launch(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The focus moves twice before the footer's first compose (Textual's auto focus,
    then the list): one recompose of the keys of that moment, not one per move."""
    composed: list[tuple[str, ...]] = []
    compose = KeyFooter.compose

    def counting(self: KeyFooter):  # type: ignore[no-untyped-def]
        if self._bindings_ready:
            composed.append(tuple(b.action for b, _, _ in self._candidates()))
        return compose(self)

    monkeypatch.setattr(KeyFooter, "compose", counting)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)
        assert len(composed) == 1
        # the filter box taking the keyboard changes the keys: composed again, once
        await pilot.press("slash")
        await pilot.pause()
        assert len(composed) == 2 and "select_cursor" not in composed[1]


async def test_footer_keys_are_compact_as_they_are_styled(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Each key carries -compact when it is first styled, so FooterKey's compact
    watcher finds nothing to change and the key is not styled a second time."""
    classes_at_mount: list[bool] = []
    post_register = FooterKey._post_register

    def watching(self: FooterKey, app):  # type: ignore[no-untyped-def]
        classes_at_mount.append(self.has_class("-compact"))
        return post_register(self, app)

    monkeypatch.setattr(FooterKey, "_post_register", watching)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert classes_at_mount and all(classes_at_mount)
        assert all(k.has_class("-compact") for k in app.screen.query(FooterKey))
