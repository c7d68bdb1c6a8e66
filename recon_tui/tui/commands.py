"""Command palette providers: open a client by typing part of its name, or open
it at an invoice (or credit) by typing the number the articles start from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import SystemCommand
from textual.command import Hit, Hits, Provider
from textual.screen import Screen

from recon_tui.text import printable
from recon_tui.tui.sources import hit_details, hit_title
from recon_tui.wording import noun

if TYPE_CHECKING:
    from recon_tui.tui.app import ReconApp


class ClientCommands(Provider):
    """"Open client: <name>" for the clients whose names contain the query."""

    async def search(self, query: str) -> Hits:
        app: ReconApp = self.app  # type: ignore[assignment]
        if app.cache is None or not query.strip():
            return
        matcher = self.matcher(query)
        for summary in app.cache.recon.client_page(query, 0, 20):
            name = printable(summary.name)  # an escape sequence shows, never runs
            label = Text("Open client: ")
            label.append(name)  # appended as plain text: names never parse as markup
            score = matcher.match(name)
            yield Hit(
                score=max(score, 0.5),
                match_display=label,
                command=lambda key=summary.client_key: app.open_client(key),
                text=f"Open client: {name}",
                # Hit.help is parsed as markup: only numbers go in it.
                help=f"difference {summary.difference:,.2f}, "
                     f"{summary.discrepant_count:,} discrepant "
                     f"{noun(summary.discrepant_count, 'invoice')}",
            )


class NumberCommands(Provider):
    """"Open invoice 110273 — Redwood Family Law (difference 10.00, payment
    reversed)" for each invoice, ledger document or credit of that number (exact,
    or starting with it from four characters); it opens the client at that row."""

    async def search(self, query: str) -> Hits:
        app: ReconApp = self.app  # type: ignore[assignment]
        if app.cache is None or not query.strip():
            return
        for hit in app.cache.lookup.find_number(query):
            title = f"Open {hit_title(hit)} — "
            label = Text(title)
            label.append(printable(hit.client_name or hit.client_key))  # plain, never markup
            label.append(f" ({hit_details(hit)})")
            yield Hit(
                # Above a fuzzy name match: the number was typed to the character.
                score=1.0 if hit.exact else 0.9,
                match_display=label,
                command=lambda h=hit: app.open_client(h.client_key, pair_id=h.pair_id,
                                                      credit_key=h.credit_key),
                text=label.plain,
            )


def binding_commands(app: ReconApp, screen: Screen[object]) -> Iterator[SystemCommand]:
    """Every key with a description on ``screen``, as a palette command (the
    palette's own key left out), titled with its tooltip."""
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or binding.action in seen:
            continue
        if binding.action in ("command_palette",):
            continue
        seen.add(binding.action)
        key = binding.key_display or app.get_key_display(binding)
        title = binding.description
        if binding.tooltip:
            title = f"{binding.description}: {binding.tooltip}"
        yield SystemCommand(
            title,
            f"key: {key}",
            lambda node=active.node, action=binding.action: app.run_action(action, node),
        )
