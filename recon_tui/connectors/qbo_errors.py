"""QuickBooks Online error envelopes: the ``Fault`` (or lowercase auth ``fault``)
body turned into (message, code), shared by the API client and the token client."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

import httpx

from recon_tui.connectors.http import default_error_parser

__all__ = ["fault_parts", "is_qbo_fault", "qbo_error_parser"]


def fault_parts(body: object) -> tuple[str, str | None] | None:
    """(message, code) from a ``Fault`` (or the lowercase auth ``fault``) envelope."""
    if not isinstance(body, Mapping):
        return None
    fault = body.get("Fault")
    if fault is None:
        fault = body.get("fault")
    if not isinstance(fault, Mapping):
        return None
    errors = fault.get("Error")
    if errors is None:
        errors = fault.get("error")
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, Mapping):
        kind = fault.get("type")
        return (f"{kind} fault" if kind else "fault"), None
    message = str(first.get("Message") or first.get("message") or "error")
    detail = first.get("Detail") or first.get("detail")
    code = first.get("code")
    if detail and not str(detail).startswith(message):
        message = f"{message} ({detail})"
    return message, (str(code) if code is not None else None)


def qbo_error_parser(response: httpx.Response) -> tuple[str, str | None]:
    """QBO's ``Fault`` envelopes first, then OAuth-style ``{"error": ...}`` bodies."""
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or "error", None
    parts = fault_parts(body)
    if parts is not None:
        return parts
    return default_error_parser(response)


def is_qbo_fault(response: httpx.Response) -> bool:
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return fault_parts(body) is not None
