"""The Web Connector's SOAP envelopes and the .qwc file (recon_tui.qbwc.soap, .qwc)."""

from __future__ import annotations

import pytest
from defusedxml import ElementTree as safe_et

from recon_tui.qbwc.qwc import QwcError, QwcSettings, build_qwc, check_app_url, new_guid
from recon_tui.qbwc.soap import INTUIT_NS, SOAP_NS, SoapError, build_response, parse_call


def envelope(inner: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_NS}">'
            f"<soap:Body>{inner}</soap:Body></soap:Envelope>").encode()


def test_a_send_request_call_reads_every_parameter_by_its_wsdl_name() -> None:
    call = parse_call(envelope(
        f'<sendRequestXML xmlns="{INTUIT_NS}"><ticket>t-1</ticket>'
        "<strHCPResponse>&lt;QBXML/&gt;</strHCPResponse>"
        r"<strCompanyFileName>C:\Books\Acme.QBW</strCompanyFileName>"
        "<qbXMLCountry>US</qbXMLCountry><qbXMLMajorVers>13</qbXMLMajorVers>"
        "<qbXMLMinorVers>0</qbXMLMinorVers></sendRequestXML>"))
    assert call.method == "sendRequestXML"
    assert call.params == {"ticket": "t-1", "strHCPResponse": "<QBXML/>",
                           "strCompanyFileName": r"C:\Books\Acme.QBW", "qbXMLCountry": "US",
                           "qbXMLMajorVers": "13", "qbXMLMinorVers": "0"}


def test_an_absent_parameter_reads_empty() -> None:
    call = parse_call(envelope(f'<getLastError xmlns="{INTUIT_NS}"/>'))
    assert call.params == {"ticket": ""}


@pytest.mark.parametrize("body, reason", [
    (b"not xml", "not XML"),
    (b"<Envelope/>", "not a SOAP 1.1 envelope"),
    (envelope(""), "no Body element"),
    (envelope('<dropTables xmlns="http://developer.intuit.com/"/>'), "unknown method"),
    (envelope('<authenticate xmlns="urn:other"/>'), "unknown method"),
])
def test_what_is_not_a_qbwc_call_is_one_reason(body: bytes, reason: str) -> None:
    with pytest.raises(SoapError, match=reason):
        parse_call(body)


def test_entities_and_dtds_are_refused_before_expansion() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            b"<soap:Body>&lol2;</soap:Body></soap:Envelope>")
    with pytest.raises(SoapError, match="no DTDs or entities"):
        parse_call(bomb)


def result_of(xml: bytes, method: str):
    root = safe_et.fromstring(xml)
    return root.find(f"{{{SOAP_NS}}}Body/{{{INTUIT_NS}}}{method}Response/"
                     f"{{{INTUIT_NS}}}{method}Result")


def test_authenticate_answers_a_string_array_and_text_is_escaped() -> None:
    node = result_of(build_response("authenticate", ["tick<et>", "nvu"]), "authenticate")
    assert [s.text for s in node.findall(f"{{{INTUIT_NS}}}string")] == ["tick<et>", "nvu"]


def test_a_qbxml_request_travels_as_escaped_text_and_an_int_as_digits() -> None:
    request = '<?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"/></QBXML>'
    assert result_of(build_response("sendRequestXML", request), "sendRequestXML").text == request
    assert result_of(build_response("receiveResponseXML", -1),
                     "receiveResponseXML").text == "-1"


# --------------------------------------------------------------------------- .qwc
def settings(url: str = "https://recon.example.com/qbwc", **kw: object) -> QwcSettings:
    return QwcSettings(app_url=url, username="recon", owner_id=new_guid(),
                       file_id=new_guid(), **kw)  # type: ignore[arg-type]


def test_the_qwc_file_is_valid_xml_with_every_element_qbwc_reads() -> None:
    qwc = settings(run_every_minutes=60)
    text = build_qwc(qwc)
    assert "<AppID></AppID>" in text  # as Intuit's sample files write it
    root = safe_et.fromstring(text)
    assert root.tag == "QBWCXML"
    assert [child.tag for child in root] == [
        "AppName", "AppID", "AppURL", "AppDescription", "AppSupport", "UserName", "OwnerID",
        "FileID", "QBType", "Scheduler", "IsReadOnly"]
    assert root.findtext("AppURL") == "https://recon.example.com/qbwc"
    assert root.findtext("AppSupport") == "https://recon.example.com/"
    assert root.findtext("UserName") == "recon"
    assert root.findtext("OwnerID") == qwc.owner_id and root.findtext("FileID") == qwc.file_id
    assert root.findtext("QBType") == "QBFS" and root.findtext("IsReadOnly") == "false"
    assert root.findtext("Scheduler/RunEveryNMinutes") == "60"


def test_the_scheduler_is_left_out_unless_asked_for() -> None:
    root = safe_et.fromstring(build_qwc(settings("http://localhost:8080/qbwc")))
    assert root.find("Scheduler") is None
    assert root.findtext("AppURL") == "http://localhost:8080/qbwc"


@pytest.mark.parametrize("url", ["http://recon.example.com/qbwc", "http://192.168.1.5/qbwc",
                                 "ftp://localhost/qbwc", "localhost:8080"])
def test_a_url_qbwc_refuses_is_refused_in_one_line(url: str) -> None:
    with pytest.raises(QwcError) as caught:
        check_app_url(url)
    assert "\n" not in str(caught.value) and "[ledger] listen" in str(caught.value)


def test_ids_must_be_guids_in_braces() -> None:
    bad = QwcSettings(app_url="https://r.example.com/qbwc", username="u", owner_id="123",
                      file_id=new_guid())
    with pytest.raises(QwcError, match="owner_id"):
        build_qwc(bad)


def test_a_name_with_markup_is_written_literally() -> None:
    qwc = settings(app_name="Acme & <Sons>")
    assert safe_et.fromstring(build_qwc(qwc)).findtext("AppName") == "Acme & <Sons>"
