"""An emulated QuickBooks Web Connector: it plays QBWC against our SOAP service
over real sockets and answers each qbXML request from a sample company.

What it does follows one update session as Intuit's QBWC Programmer's Guide 2.0
describes it (and as QBWC's own logs show it, e.g. the ``do_authenticate`` /
``do_sendRequestXML`` lines users post): ``serverVersion``, ``clientVersion``,
``authenticate`` (``"nvu"`` ends it: wrong user or password; ``"none"``: no
work), then ``sendRequestXML`` -> the company answers -> ``receiveResponseXML``
until the percent done is 100, and ``closeConnection``. A ``sendRequestXML``
answered ``""`` makes it call ``getLastError``: ``"NoOp"`` pauses and asks again
(QBWC pauses about five seconds; shorter here), anything else is the error that
ends the session. A negative percent is fetched with ``getLastError`` too.
``connectionError`` (QuickBooks could not open the company file) is answered
``"done"`` by the service and ends the session without ``closeConnection``.

Built on its own SOAP code, not ``recon_tui.qbwc`` (the emulator never reuses
what it tests: the import-linter "sandbox" contract), and parsing with
defusedxml like the service.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as safe_et
import httpx

from recon_tui.sandbox.qbd_status import HResultError

__all__ = ["SessionReport", "WebConnector", "WebConnectorError"]

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
INTUIT_NS = "http://developer.intuit.com/"
#: What QBWC 2.x reports itself as in clientVersion (a four-part version).
CLIENT_VERSION = "2.3.0.215"


class WebConnectorError(RuntimeError):
    """The service answered something QBWC could not take (not SOAP, a Fault)."""


@dataclass
class SessionReport:
    """How the emulated session went: what QBWC would show."""

    ticket: str = ""
    refused: bool = False
    requests: list[str] = field(default_factory=list)
    percents: list[int] = field(default_factory=list)
    last_error: str = ""
    #: getLastError answers of "NoOp": the service had nothing to send yet.
    noops: int = 0
    closed: str | None = None
    connection_error: str | None = None


def _envelope(method: str, params: dict[str, str | int]) -> bytes:
    envelope = ET.Element(f"{{{SOAP_NS}}}Envelope")
    body = ET.SubElement(envelope, f"{{{SOAP_NS}}}Body")
    call = ET.SubElement(body, f"{{{INTUIT_NS}}}{method}")
    for name, value in params.items():
        ET.SubElement(call, f"{{{INTUIT_NS}}}{name}").text = str(value)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


class WebConnector:
    """One emulated QBWC pointed at ``url`` (the ``.qwc`` file's AppURL).

    ``answer`` plays QuickBooks: a qbXML request document in, the response
    document out (``recon_tui.sandbox.qbd_company.SampleCompany.answer``)."""

    def __init__(self, url: str, answer: Callable[[str], str], *, username: str,
                 password: str, company_file: str = "", noop_wait: float = 0.05,
                 timeout: float = 60.0) -> None:
        self.url, self.answer = url, answer
        self.username, self.password = username, password
        self.company_file = company_file
        self.noop_wait = noop_wait
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WebConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, **params: str | int) -> str | int | list[str]:
        """One SOAP call, as QBWC's .NET client makes it."""
        reply = self._http.post(self.url, content=_envelope(method, params), headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{INTUIT_NS}{method}"'})
        root = safe_et.fromstring(reply.content)
        body = root.find(f"{{{SOAP_NS}}}Body")
        if body is None or len(body) == 0:
            raise WebConnectorError(f"{method}: no SOAP Body in the answer")
        fault = body.find(f"{{{SOAP_NS}}}Fault")
        if fault is not None:
            raise WebConnectorError(f"{method}: SOAP Fault: {fault.findtext('faultstring')}")
        result = body[0].find(f"{{{INTUIT_NS}}}{method}Result")
        if result is None:
            raise WebConnectorError(f"{method}: no {method}Result in the answer")
        if method == "authenticate":
            return [s.text or "" for s in result.findall(f"{{{INTUIT_NS}}}string")]
        if method == "receiveResponseXML":
            return int(result.text or "0")
        return result.text or ""

    def _start(self, report: SessionReport) -> bool:
        """serverVersion, clientVersion, authenticate: may the session go on?"""
        self.call("serverVersion")
        self.call("clientVersion", strVersion=CLIENT_VERSION)
        ticket, answer, *_ = self.call("authenticate", strUserName=self.username,
                                       strPassword=self.password)
        report.ticket = ticket
        report.refused = answer == "nvu"
        return answer not in ("nvu", "none")

    def run(self, *, drop_after: int | None = None,
            connection_error: tuple[str, str] | None = None) -> SessionReport:
        """One update session. ``drop_after=N``: go away (no closeConnection) after N
        requests, as a killed QBWC or a lost network does; ``connection_error``:
        report (hresult, message) instead of reaching the company file."""
        report = SessionReport()
        if not self._start(report):
            return report
        if connection_error is not None:
            hresult, message = connection_error
            report.connection_error = str(self.call(
                "connectionError", ticket=report.ticket, hresult=hresult, message=message))
            return report
        while drop_after is None or len(report.requests) < drop_after:
            request = self._next_request(report)
            if request is None:
                break
            report.requests.append(request)
            response, hresult, message = self._carry(request)
            if hresult and hresult.at_open:
                # QBWC could not open the company file: connectionError, no closeConnection.
                report.connection_error = str(self.call(
                    "connectionError", ticket=report.ticket, hresult=hresult.hresult,
                    message=message))
                return report
            percent = int(self.call("receiveResponseXML", ticket=report.ticket,
                                    response=response, hresult=hresult.hresult if hresult else "",
                                    message=message))
            report.percents.append(percent)
            if percent < 0:
                report.last_error = str(self.call("getLastError", ticket=report.ticket))
                break
            if percent >= 100:
                break
        else:
            return report  # dropped: no closeConnection
        report.closed = str(self.call("closeConnection", ticket=report.ticket))
        return report

    def _carry(self, request: str) -> tuple[str, HResultError | None, str]:
        """QuickBooks' response, or the HRESULT and message QBWC reports instead
        (the sample company raises ``HResultError``)."""
        try:
            return self.answer(request), None, ""
        except HResultError as exc:
            return "", exc, exc.message

    def _next_request(self, report: SessionReport) -> str | None:
        """sendRequestXML until a request comes; None when getLastError ends it."""
        while True:
            # strHCPResponse: real QBWC sends its HostQuery/CompanyQuery/PreferencesQuery
            # answers on a session's first call; the sample company has none to give.
            request = str(self.call(
                "sendRequestXML", ticket=report.ticket, strHCPResponse="",
                strCompanyFileName=self.company_file,
                qbXMLCountry="US", qbXMLMajorVers=13, qbXMLMinorVers=0))
            if request:
                return request
            error = str(self.call("getLastError", ticket=report.ticket))
            if error != "NoOp":
                report.last_error = error
                return None
            report.noops += 1
            time.sleep(self.noop_wait)
