"""Command palette provider: open any client by typing part of its name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.command import Hit, Hits, Provider

from recon_tui.text import printable

if TYPE_CHECKING:
    from recon_tui.tui.app import ReconApp


class ClientCommands(Provider):
    """"Open client: <name>" for the clients whose names contain the query."""

    async def search(self, query: str) -> Hits:
        app: ReconApp = self.app  # type: ignore[assignment]
        if app.cache is None or not query.strip():
            return
        matcher = self.matcher(query)
        for summary in app.cache.client_page(query, 0, 20):
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
                     f"{summary.discrepant_count} discrepant invoices",
            )
