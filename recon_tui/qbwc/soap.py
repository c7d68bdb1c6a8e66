"""The SOAP 1.1 envelopes the QuickBooks Web Connector sends and expects.

QBWC is a .NET SOAP 1.1 client of a fixed, document/literal service: every call
is one POST whose ``soap:Body`` holds one element named after the method in the
namespace ``http://developer.intuit.com/`` (the WSDL's targetNamespace), each
parameter a child element; the answer is ``<{method}Response>`` holding
``<{method}Result>`` (Intuit, "QuickBooks Web Connector Programmer's Guide",
version 2.0, chapter "How to build QBWC support into your web service"; the
QBWebConnectorSvc WSDL as published with the guide and as public servers serve
it, e.g. ``johnballantyne/qbws lib/qbws.wsdl`` and the ``qbwc/qbwc`` Ruby gem's
``lib/qbwc/controller.rb``). ``authenticate`` returns an ``ArrayOfString``:
``<authenticateResult><string>...</string>...</authenticateResult>``;
``receiveResponseXML`` returns an ``int``; every other method a string.

Parsed with defusedxml: what arrives is from the network, so a DTD, an entity
declaration or an external reference is refused before any of it is expanded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

__all__ = ["INTUIT_NS", "METHODS", "SOAP_NS", "SoapCall", "SoapError", "build_fault",
           "build_response", "parse_call"]

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
INTUIT_NS = "http://developer.intuit.com/"

#: The QBWebConnectorSvc methods and their parameters, in the WSDL's order.
METHODS: dict[str, tuple[str, ...]] = {
    "serverVersion": (),
    "clientVersion": ("strVersion",),
    "authenticate": ("strUserName", "strPassword"),
    "sendRequestXML": ("ticket", "strHCPResponse", "strCompanyFileName", "qbXMLCountry",
                       "qbXMLMajorVers", "qbXMLMinorVers"),
    "receiveResponseXML": ("ticket", "response", "hresult", "message"),
    "connectionError": ("ticket", "hresult", "message"),
    "getLastError": ("ticket",),
    "closeConnection": ("ticket",),
}

#: A SOAP request is a few kilobytes, a qbXML response a page of records; this
#: bounds what one call may make us parse.
MAX_BODY = 64 * 1024 * 1024

# The prefixes our answers use (any prefix bound to the namespace is the same XML).
ET.register_namespace("soap", SOAP_NS)
ET.register_namespace("tns", INTUIT_NS)


class SoapError(ValueError):
    """The request is not a QBWC SOAP call we can answer (a one-line reason)."""


@dataclass(frozen=True, slots=True)
class SoapCall:
    """One method call: its name and its parameters ("" for an absent one)."""

    method: str
    params: dict[str, str]


def _local(tag: str) -> tuple[str, str]:
    """``{ns}name`` -> (ns, name)."""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def parse_call(body: bytes) -> SoapCall:
    """The method and parameters of one SOAP 1.1 request envelope."""
    if len(body) > MAX_BODY:
        raise SoapError(f"request of {len(body):,} bytes is larger than we accept")
    try:
        root = safe_et.fromstring(body)
    except DefusedXmlException as exc:
        raise SoapError(f"refused: {type(exc).__name__} (no DTDs or entities)") from exc
    except ET.ParseError as exc:
        raise SoapError(f"not XML ({exc})") from exc
    if _local(root.tag) != (SOAP_NS, "Envelope"):
        raise SoapError("not a SOAP 1.1 envelope")
    soap_body = root.find(f"{{{SOAP_NS}}}Body")
    if soap_body is None or len(soap_body) == 0:
        raise SoapError("the envelope has no Body element")
    call = soap_body[0]
    ns, method = _local(call.tag)
    if ns != INTUIT_NS or method not in METHODS:
        raise SoapError(f"unknown method {method!r} (namespace {ns or 'none'})")
    params = {name: "" for name in METHODS[method]}
    for child in call:
        child_ns, name = _local(child.tag)
        if child_ns in (INTUIT_NS, "") and name in params:
            params[name] = child.text or ""
    return SoapCall(method, params)


def _envelope() -> tuple[ET.Element, ET.Element]:
    envelope = ET.Element(f"{{{SOAP_NS}}}Envelope")
    return envelope, ET.SubElement(envelope, f"{{{SOAP_NS}}}Body")


def _serialise(envelope: ET.Element) -> bytes:
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def build_response(method: str, result: str | int | Sequence[str]) -> bytes:
    """``<{method}Response><{method}Result>`` with a string, an int or a string
    array (``authenticate``), text escaped by ElementTree."""
    envelope, body = _envelope()
    response = ET.SubElement(body, f"{{{INTUIT_NS}}}{method}Response")
    node = ET.SubElement(response, f"{{{INTUIT_NS}}}{method}Result")
    if isinstance(result, (str, int)):
        node.text = str(result)
    else:
        for item in result:
            ET.SubElement(node, f"{{{INTUIT_NS}}}string").text = item
    return _serialise(envelope)


def build_fault(message: str, *, client: bool = True) -> bytes:
    """A SOAP 1.1 Fault (``soap:Client`` for a request we cannot read)."""
    envelope, body = _envelope()
    fault = ET.SubElement(body, f"{{{SOAP_NS}}}Fault")
    ET.SubElement(fault, "faultcode").text = "soap:Client" if client else "soap:Server"
    ET.SubElement(fault, "faultstring").text = message
    return _serialise(envelope)
