"""ConnectWise's wire formats: ``Link`` headers, condition literals, error bodies.

Kept apart from the connector so that it reads as the paging and the records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx

from recon_tui.connectors.http import loads_exact

__all__ = ["cw_datetime", "cw_string", "next_link", "parse_cw_error"]

_LINK_PART = re.compile(r"<(?P<url>[^>]*)>(?P<params>[^<]*)")
_REL = re.compile(r"""rel\s*=\s*"?(?P<rel>[^";,]+)"?""", re.IGNORECASE)


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` URL of a Link header, or None (also for an empty header)."""
    if not header:
        return None
    for match in _LINK_PART.finditer(header):
        for rel in _REL.finditer(match.group("params")):
            if "next" in rel.group("rel").lower().split():
                url = match.group("url").strip()
                return url or None
    return None


def cw_datetime(moment: datetime) -> str:
    """A condition datetime literal: ``[2026-01-01T00:00:00Z]`` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return "[" + moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "]"


def cw_string(text: str) -> str:
    """A condition string literal in double quotes, quotes and backslashes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_cw_error(response: httpx.Response) -> tuple[str, str | None]:
    """``{"code", "message", "errors": [{"message", "field"}...]}`` -> (message, code).

    The body is the server's words about our request, never something we sent, so
    quoting it cannot leak a key.
    """
    try:
        body = loads_exact(response.content)
    except ValueError:
        return response.reason_phrase or "error", None
    if not isinstance(body, Mapping):
        return response.reason_phrase or "error", None
    message = str(body.get("message") or response.reason_phrase or "error")
    details = []
    for item in body.get("errors") or []:
        if isinstance(item, Mapping):
            text = item.get("message")
            field = item.get("field")
            if text:
                details.append(f"{field}: {text}" if field else str(text))
        elif item:
            details.append(str(item))
    if details:
        message = f"{message} ({'; '.join(details)})"
    code = body.get("code")
    return message, str(code) if code not in (None, "") else None
