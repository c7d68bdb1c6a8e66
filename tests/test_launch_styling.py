"""Launching to the clients screen (issue 12): the first screen is built and styled
once, from the stylesheet of its own screens only (screens.tcss waits for the
others). What is composed, mounted and parsed is the behaviour held, not a time."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual.widgets._footer import FooterKey

from recon_tui.cache import Cache
from recon_tui.config import Config
from recon_tui.tui.app import ReconApp
from recon_tui.tui.screen_css import SCREENS_CSS
from recon_tui.tui.screens.client_detail import ClientDetailScreen
from recon_tui.tui.screens.clients import ClientsScreen
from recon_tui.tui.screens.help import HelpScreen
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


def screens_css_rules() -> list:
    """The rule sets of screens.tcss, parsed as the app parses them."""
    from textual.css.stylesheet import Stylesheet

    sheet = Stylesheet()
    sheet.add_source(SCREENS_CSS.read_text(encoding="utf-8"), read_from=(str(SCREENS_CSS), ""))
    sheet.set_variables(App().get_css_variables())
    return sheet.rules


async def test_the_launch_parses_no_other_screens_css(tmp_path: Path) -> None:
    """The clients screen's first frame is styled from app.tcss (and the widgets'
    own CSS) alone; screens.tcss is read when a screen it lays out opens."""
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)
        assert not app.stylesheet.has_source(str(SCREENS_CSS))
        await pilot.press("enter")  # a client: app.tcss lays it out too
        await pilot.pause()
        assert isinstance(app.screen, ClientDetailScreen)
        assert not app.stylesheet.has_source(str(SCREENS_CSS))
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.stylesheet.has_source(str(SCREENS_CSS))
        body = app.screen.query_one("#help-body")
        assert body.styles.border_top[0] == "thick"  # a rule of screens.tcss, applied
        assert body.styles.width is not None and body.styles.width.value == 130


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_no_rule_of_screens_css_matches_the_clients_or_client_screen(
        tmp_path: Path, size: tuple[int, int]) -> None:
    """So reading it later styles nothing already shown a second time (and the
    clients and client screens look as they did with one stylesheet)."""
    from textual.css.match import match

    rules = screens_css_rules()
    assert rules
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in ("", "enter"):
            if key:
                await pilot.press(key)
                await pilot.pause()
            nodes = list(app.screen.walk_children(with_self=True))
            assert len(nodes) > 10
            matched = [(rule.selectors, type(node).__name__) for rule in rules
                       for node in nodes if match(rule.selector_set, node)]
            assert matched == [], type(app.screen).__name__
