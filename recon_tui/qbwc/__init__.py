"""QuickBooks Desktop through the QuickBooks Web Connector (QBWC).

QBWC, a Windows program beside QuickBooks, polls a SOAP web service named in a
``.qwc`` file and carries qbXML requests to the company file and the responses
back (Intuit, "QuickBooks Web Connector Programmer's Guide", version 2.0).
This package is that service:

* ``soap``: the SOAP 1.1 envelopes (parsed with defusedxml);
* ``channel``: one session's qbXML channel, bridging the sync's ``exchange()``
  to ``sendRequestXML`` / ``receiveResponseXML``;
* ``service``: the Web Connector's methods over per-ticket sessions;
* ``app``: the Starlette endpoint and the uvicorn server (why not spyne: see there);
* ``runner``: the full sync each session runs;
* ``qwc``: the ``.qwc`` file.
"""
