"""QuickBooks Desktop failures as ConnectorErrors, each with its fix in one line.

Two kinds reach the connector (Intuit, "Status codes in response messages",
https://developer.intuit.com/app/developer/qbdesktop/docs/develop/exploring-the-quickbooks-desktop-sdk/status-codes-in-response-messages;
the SDK's HRESULTs as integrations log them, e.g. consolibyte quickbooks-php's
error handler list):

* a response's ``statusCode`` (0-499 info, 500-999 warning, 1000 and up error,
  no data returned): :func:`status_error`;
* an HRESULT the Web Connector reports instead of a response, when QuickBooks
  could not open the company file or process the request: :func:`hresult_error`
  (the Web Connector channel raises it; the fixes are seed 003's desktop traps:
  a file open in single-user mode elsewhere, an open window or dialog locking
  the sync, a damaged company file).

Messages never echo more of QuickBooks' text than its statusMessage (scrubbed by
ConnectorError like every other).
"""

from __future__ import annotations

from recon_tui.connectors.base import (
    AccessDenied,
    BadData,
    ConnectorError,
    NotFound,
    ServerError,
)

__all__ = ["SYSTEM", "QbdNameInUse", "QbdStale", "hresult_error", "status_error"]

SYSTEM = "QuickBooks Desktop"


class QbdStale(ConnectorError):
    """The record changed in QuickBooks since it was read (statusCode 3200, a stale
    EditSequence): read it again, then write."""


class QbdNameInUse(ConnectorError):
    """A list element's name is taken (statusCode 3100)."""


#: statusCode -> (error class, the fix in one line).
_STATUS_FIXES: dict[int, tuple[type[ConnectorError], str]] = {
    500: (NotFound, "a record asked for is not in the company file (deleted in QuickBooks?); "
                    "run a full sync"),
    1000: (ServerError, "QuickBooks failed processing the request; run File > Utilities > "
                        "Verify Data in QuickBooks, then sync again"),
    1030: (BadData, "this QuickBooks version does not support the request; update QuickBooks "
                    "Desktop"),
    3100: (QbdNameInUse, "the name is already used by another list entry in QuickBooks; rename "
                         "one of them (names must be unique across customers, vendors and "
                         "other names)"),
    3120: (NotFound, "the record named in the request is not in the company file; run a full "
                     "sync"),
    3200: (QbdStale, "the record was changed in QuickBooks after it was read; sync again, then "
                     "retry"),
    # 3260: "Insufficient permission level to perform this action."
    3260: (AccessDenied, "the QuickBooks user the Web Connector logs in as lacks permission; "
                         "give it access in Company > Users"),
}

#: HRESULT -> (error class, what happened, the fix).
_HRESULT_FIXES: dict[str, tuple[type[ConnectorError], str]] = {
    "0x80040400": (BadData, "QuickBooks could not parse recon-tui's request (a bug: please "
                            "report it with the support log)"),
    "0x80040408": (ServerError, "QuickBooks could not start; open QuickBooks and the company "
                                "file on the Web Connector's computer, then sync again"),
    "0x8004040A": (ConnectorError, "another company file is open in QuickBooks; open the one "
                                   "this book syncs with ([ledger] company_file), then sync again"),
    "0x80040410": (ConnectorError, "the company file is open in single-user mode elsewhere; "
                                   "switch to multi-user mode (File > Switch to Multi-user Mode) "
                                   "or close it on the other computer, then sync again"),
    "0x80040414": (ConnectorError, "a window or dialog is open in QuickBooks; close it (and any "
                                   "open invoice or payment screen), then sync again"),
    "0x8004041B": (ConnectorError, "QuickBooks could not lock the records the sync reads (an "
                                   "invoice or payment screen open on another computer?); close "
                                   "them, then sync again"),
    "0x8004041C": (ServerError, "QuickBooks could not read the company file (it may be "
                                "damaged); run File > Utilities > Verify Data, then Rebuild "
                                "Data, then sync again"),
    "0x8004041A": (AccessDenied, "recon-tui may not access this company file; allow it in "
                                 "QuickBooks (Edit > Preferences > Integrated Applications)"),
    "0x80040418": (AccessDenied, "recon-tui has not been given access to this company file; "
                                 "open it in QuickBooks as Admin in single-user mode and allow "
                                 "the application when asked"),
    "0x80040420": (AccessDenied, "the QuickBooks user denied recon-tui access; allow it in "
                                 "Edit > Preferences > Integrated Applications"),
    "0x80040422": (ConnectorError, "another application holds the company file in single-user "
                                   "mode; close it or switch QuickBooks to multi-user mode, then "
                                   "sync again"),
}


def status_error(code: int, severity: str, message: str, *, step: str,
                 request: str) -> ConnectorError:
    """The ConnectorError for a response whose statusCode is not 0 (nor an expected 1)."""
    kind, fix = _STATUS_FIXES.get(code, (None, None))
    if kind is None:
        kind = ServerError if code == 1000 else ConnectorError
        fix = "see the support log; sync again once QuickBooks is idle"
    text = message.strip() or f"status {code}"
    return kind(SYSTEM, f"{step}: {request} answered {code} ({severity}: {text}); fix: {fix}",
                code=str(code))


def hresult_error(hresult: str, message: str, *, step: str) -> ConnectorError:
    """The ConnectorError for an HRESULT the Web Connector reported instead of a response."""
    key = hresult.strip()
    if key.lower().startswith("0x"):
        key = "0x" + key[2:].upper()
    kind, fix = _HRESULT_FIXES.get(key, (ConnectorError, "see the Web Connector's log "
                                                         "(QWCLog.txt) and sync again"))
    text = message.strip() or "no message"
    return kind(SYSTEM, f"{step}: QuickBooks reported {key} ({text}); fix: {fix}", code=key)
