"""QuickBooks Online error envelopes: the ``Fault`` (or lowercase auth ``fault``)
body turned into (message, code) for the API client, and the token endpoint's
answers reduced to a safe error code for the token client."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx

from recon_tui.connectors.http import default_error_parser
from recon_tui.jsonio import JsonError, decode

__all__ = ["fault_parts", "is_qbo_fault", "qbo_error_parser", "safe_token_code",
           "token_error_parser"]

#: What an OAuth error code looks like (RFC 6749 section 5.2: ``invalid_grant``,
#: ``temporarily_unavailable``...). Anything else is not shown at all.
SAFE_CODE = re.compile(r"[a-z_]{1,40}")


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
        body = decode(response.content)
    except JsonError:
        return response.reason_phrase or "error", None
    parts = fault_parts(body)
    if parts is not None:
        return parts
    return default_error_parser(response)


def is_qbo_fault(response: httpx.Response) -> bool:
    try:
        body = decode(response.content)
    except JsonError:
        return False
    return fault_parts(body) is not None


def safe_token_code(body: object) -> str | None:
    """The ``error`` of an OAuth error body if it looks like an error code, else None.

    The token endpoint received our refresh token and client secret: a server (or
    a proxy) that echoes the request could put them into any other field, the
    reason phrase or an oversized ``error``, so nothing but a short code is shown.
    """
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, str) and SAFE_CODE.fullmatch(error):
        return error
    return None


def token_error_parser(response: httpx.Response) -> tuple[str, str | None]:
    """For the token endpoint: no message at all (never its body or reason phrase),
    only a safe error code, so errors read ``HTTP 503 [code temporarily_unavailable]``."""
    try:
        body = decode(response.content)
    except JsonError:
        return "", None
    return "", safe_token_code(body)
