"""How the QuickBooks Desktop connector reaches the company file: one qbXML
request out, its response back.

QuickBooks Desktop has no API of its own on the network. The QuickBooks Web
Connector (QBWC), a Windows program beside QuickBooks, polls our SOAP service
(``recon_tui.qbwc``): ``sendRequestXML`` asks for the next qbXML request,
``receiveResponseXML`` hands back what QuickBooks answered (Intuit, QBWC
Programmer's Guide, "The QBWC web service methods"). The connector does not see
any of that: it sees a channel it gives one request document and that returns
the response document, blocking until the Web Connector has carried both ways.
In tests the channel is the emulated Web Connector playing a sample company.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class QbxmlChannel(Protocol):
    """One qbXML exchange at a time with one company file."""

    def exchange(self, request: str, *, step: str) -> str:
        """Send one whole qbXML request document (``<?qbxml version=...?><QBXML>
        <QBXMLMsgsRq onError="stopOnError">...``) and return QuickBooks' response
        document. ``step`` names the sync step for progress and for errors. Raises
        a :class:`~recon_tui.connectors.base.ConnectorError` subclass when the
        Web Connector session ends, times out or reports an error instead."""
        ...
