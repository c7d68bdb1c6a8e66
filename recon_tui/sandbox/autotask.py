"""Emulated autotask endpoints (filled in by the connector work)."""

from __future__ import annotations

from starlette.routing import Route

from recon_tui.sandbox.book import SandboxBook


def routes(book: SandboxBook) -> list[Route]:
    return []
