"""qbXML documents for the sample company: read a request, write a response.

The sandbox may not import ``recon_tui.connectors`` (import-linter contract
"sandbox"), so it parses requests on its own, with defusedxml (no entity
expansion, no external entities: a request is input from the network).

Shapes, as Intuit documents them and public payloads show them:

* a request is ``<?xml ...?><?qbxml version="N.N"?><QBXML><QBXMLMsgsRq
  onError="stopOnError">`` holding one or more ``<XxxRq requestID=...>``;
  ``onError`` is required (``stopOnError`` or ``continueOnError``)
  (is2qb.com "QBXML Message Information", the QBXMLMsgs message set);
* a response is ``<QBXML><QBXMLMsgsRs>`` holding one ``<XxxRs>`` per request,
  carrying ``requestID`` back and the ``statusCode``/``statusSeverity``/
  ``statusMessage`` attributes, and for an iterator ``iteratorRemainingCount``
  and ``iteratorID`` (consolibyte wiki "quickbooks_qbxml_customerquery_by_name";
  the Intuit OSR ``CustomerQuery`` page, "iterator"/"iteratorID").

Text is written escaped (``&``, ``<``, ``>``; in attributes also quotes), and a
carriage return as ``&#13;`` so it survives a parser's line-end normalisation.
Characters XML 1.0 cannot carry at all (C0 controls other than tab, line feed
and carriage return) are written as they are: what QuickBooks does with them
is not documented, and a producer that passes them through is the harder case
for the connector reading the answer (it must cope, not crash).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

__all__ = ["Node", "QbxmlRequest", "RequestError", "document", "parse_request"]


class RequestError(Exception):
    """The request document is not qbXML QuickBooks can read: QuickBooks answers
    HRESULT 0x80040400, "QuickBooks found an error when parsing the provided XML
    text stream." (consolibyte wiki, QbXML FAQ), not a status code."""


@dataclass(frozen=True)
class QbxmlRequest:
    """One ``<XxxRq>`` of a request document."""

    name: str
    element: Element
    request_id: str | None

    def text(self, path: str) -> str | None:
        found = self.element.find(path)
        return None if found is None else (found.text or "")

    def texts(self, path: str) -> list[str]:
        return [found.text or "" for found in self.element.findall(path)]

    def attr(self, name: str) -> str | None:
        return self.element.get(name)


@dataclass(frozen=True)
class RequestSet:
    """The requests of one document and how QuickBooks is to go on after an error."""

    requests: list[QbxmlRequest]
    stop_on_error: bool
    version: str


def parse_request(document_text: str) -> RequestSet:
    """The requests in a qbXML request document; RequestError when it is not one."""
    try:
        root = SafeET.fromstring(document_text)
    except Exception as exc:  # defusedxml raises ParseError or its own DefusedXmlException
        raise RequestError(f"not XML: {exc}") from exc
    version = _qbxml_version(document_text)
    msgs = root.find("QBXMLMsgsRq") if root.tag == "QBXML" else None
    if msgs is None:
        raise RequestError("no <QBXML><QBXMLMsgsRq> element")
    on_error = msgs.get("onError")
    if on_error not in ("stopOnError", "continueOnError"):
        raise RequestError("QBXMLMsgsRq needs onError stopOnError or continueOnError")
    requests = [QbxmlRequest(child.tag, child, child.get("requestID")) for child in msgs]
    if not requests or any(not r.name.endswith("Rq") for r in requests):
        raise RequestError("QBXMLMsgsRq holds no request")
    return RequestSet(requests, on_error == "stopOnError", version)


_VERSION = re.compile(r"<\?qbxml\s+version\s*=\s*\"([0-9]+\.[0-9]+)\"\s*\?>")


def _qbxml_version(text: str) -> str:
    """The ``<?qbxml version="13.0"?>`` instruction a request must carry (the OSR
    shows it on every example)."""
    found = _VERSION.search(text)
    if found is None:
        raise RequestError('no <?qbxml version="..."?> instruction')
    return found.group(1)


@dataclass
class Node:
    """An element of a response: tag, attributes, text or children, in order."""

    tag: str
    text: str | None = None
    children: list[Node] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)

    def add(self, tag: str, text: object | None = None) -> Node:
        """A child ``<tag>text</tag>``; None text (an absent value) adds nothing."""
        child = Node(tag, None if text is None else str(text))
        if text is not None:
            self.children.append(child)
        return child

    def nest(self, tag: str) -> Node:
        child = Node(tag)
        self.children.append(child)
        return child

    def extend(self, nodes: Iterable[Node]) -> None:
        self.children.extend(nodes)


def _escape_text(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def _escape_attr(value: str) -> str:
    return (_escape_text(value).replace('"', "&quot;").replace("\n", "&#10;")
            .replace("\t", "&#9;"))


def _write(node: Node, out: list[str]) -> None:
    attrs = "".join(f' {name}="{_escape_attr(value)}"' for name, value in node.attrs.items())
    if node.children:
        out.append(f"<{node.tag}{attrs}>")
        for child in node.children:
            _write(child, out)
        out.append(f"</{node.tag}>")
    elif node.text is not None:
        out.append(f"<{node.tag}{attrs}>{_escape_text(node.text)}</{node.tag}>")
    else:
        out.append(f"<{node.tag}{attrs} />")


def document(responses: Iterable[Node]) -> str:
    """The response document: ``<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>...``,
    as the responses in the OSR and the consolibyte examples begin."""
    out = ['<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n']
    for response in responses:
        _write(response, out)
        out.append("\n")
    out.append("</QBXMLMsgsRs>\n</QBXML>\n")
    return "".join(out)
