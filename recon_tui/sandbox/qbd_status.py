"""What the sample company answers when it cannot answer a request with data:
qbXML status codes, and the HRESULT errors the Web Connector reports instead of
a response, with the switches a test uses to provoke them.

Status codes and their texts, from Intuit's "Status codes in response messages"
(https://developer.intuit.com/app/developer/qbdesktop/docs/develop/exploring-the-quickbooks-desktop-sdk/status-codes-in-response-messages,
and the OSR's QBD-errorcodes page): 0 "Status OK"; 1 no match ("A query request
did not find a matching object in QuickBooks", severity Info); 500 "The query
request has not been fully completed. There was a required element ... that
could not be found in QuickBooks" (Warn); codes from 1000 up are errors (no data
returned). 3100 (a list element's name already in use) and 3200 (the provided
edit sequence is out-of-date) are the write-side traps; their wording is the one
integrations log verbatim (e.g. ``The provided edit sequence "1416315972" is
out-of-date.``).

HRESULTs come from the SDK's request processor, not from a response, so the Web
Connector hands them to the web service in ``connectionError`` (the file could
not be opened) or in ``receiveResponseXML``'s hresult/message (the request could
not be processed). Their texts, as integrations log them (consolibyte
quickbooks-php's error handler list): 0x80040400 parse error, 0x80040408 "Could
not start QuickBooks.", 0x8004040A another company file open, 0x80040410 "The
QuickBooks company data file is currently open in a mode other than the one
specified by your application." (single-user mode), 0x80040414 a modal dialog
showing, 0x8004041B "Unable to lock the necessary information ... Try again
later.", 0x8004041C "An internal QuickBooks error occurred while trying to
access the QuickBooks company data file.", 0x80040422 "This application requires
Single User file access mode and there is already another application sharing
data with this QuickBooks company data file."
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["HRESULTS", "STATUS", "HResultError", "QbdFaults", "StatusAnswer"]

#: statusCode -> (statusSeverity, statusMessage) as the sample company words them.
STATUS: dict[int, tuple[str, str]] = {
    0: ("Info", "Status OK"),
    1: ("Info", "A query request did not find a matching object in QuickBooks"),
    500: ("Warn", "The query request has not been fully completed. There was a required "
                  'element ("{value}") that could not be found in QuickBooks.'),
    1000: ("Error", "There has been an internal error when processing the request."),
    1030: ("Error", "This request is not supported by this implementation."),
    3020: ("Error", 'There was an error when converting the date value "{value}".'),
    3100: ("Error", 'The name "{value}" of the list element is already in use.'),
    3120: ("Error", 'Object "{value}" specified in the request cannot be found.'),
    3200: ("Error", 'The provided edit sequence "{value}" is out-of-date.'),
}

#: HRESULT -> the message the SDK gives with it.
HRESULTS: dict[str, str] = {
    "0x80040400": "QuickBooks found an error when parsing the provided XML text stream.",
    "0x80040408": "Could not start QuickBooks.",
    "0x8004040A": "A QuickBooks company data file is already open and it is different from "
                  "the one requested.",
    "0x80040410": "The QuickBooks company data file is currently open in a mode other than "
                  "the one specified by your application.",
    "0x80040414": "A modal dialog box is showing in the QuickBooks user interface. Your "
                  "application cannot access QuickBooks until the user dismisses the dialog box.",
    "0x8004041B": "Unable to lock the necessary information to allow this application to "
                  "access this company data file. Try again later.",
    "0x8004041C": "An internal QuickBooks error occurred while trying to access the "
                  "QuickBooks company data file.",
    "0x80040422": "This application requires Single User file access mode and there is "
                  "already another application sharing data with this QuickBooks company "
                  "data file.",
}


class HResultError(Exception):
    """QuickBooks could not process the request at all: the Web Connector reports
    ``hresult`` and ``message`` instead of a response. ``at_open`` says it happened
    opening the company file (QBWC then calls ``connectionError``), else while
    processing a request (``receiveResponseXML`` with hresult and message)."""

    def __init__(self, hresult: str, message: str | None = None, *, at_open: bool = False):
        self.hresult = hresult
        self.message = message or HRESULTS.get(hresult, "QuickBooks could not process the request.")
        self.at_open = at_open
        super().__init__(f"{hresult}: {self.message}")


@dataclass(frozen=True)
class StatusAnswer:
    """A response carrying a status and no data."""

    code: int
    value: str = ""

    @property
    def severity(self) -> str:
        return STATUS.get(self.code, ("Error", ""))[0]

    @property
    def message(self) -> str:
        template = STATUS.get(self.code, ("Error", "QuickBooks reported status {code}."))[1]
        return template.format(value=self.value, code=self.code)


@dataclass
class _Rule:
    request: str | None
    answer: StatusAnswer | HResultError
    times: int | None  # None: until cleared


@dataclass
class QbdFaults:
    """Faults a test injects: the next matching requests answer a status code or
    fail with an HRESULT, ``times`` times (None: until :meth:`clear`)."""

    rules: list[_Rule] = field(default_factory=list)

    def status(self, code: int, *, request: str | None = None, value: str = "",
               times: int | None = 1) -> None:
        """Answer ``code`` to the next ``request`` (e.g. ``"InvoiceQueryRq"``; None: any)."""
        self.rules.append(_Rule(request, StatusAnswer(code, value), times))

    def hresult(self, hresult: str, *, request: str | None = None, at_open: bool = False,
                times: int | None = 1) -> None:
        """Fail the next ``request`` with ``hresult`` (the file in use, a dialog open...)."""
        self.rules.append(_Rule(request, HResultError(hresult, at_open=at_open), times))

    def clear(self) -> None:
        self.rules.clear()

    def take(self, request: str) -> StatusAnswer | HResultError | None:
        """The fault for this request, used up once; None when none applies."""
        for rule in self.rules:
            if rule.request in (None, request):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return rule.answer
        return None
