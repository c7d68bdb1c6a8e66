"""The ``.qwc`` file the user adds to the QuickBooks Web Connector.

A ``QBWCXML`` document naming the application and where its service is
(Intuit, QBWC Programmer's Guide 2.0, "How to build a QWC file"; the same
elements in public generators, e.g. the ``qbwc/qbwc`` gem's ``qwc`` action and
``johnballantyne/qbws`` ``webservice.qwc``):

* ``AppName`` (shown in QBWC and given to QuickBooks), ``AppID`` (may be empty),
  ``AppURL`` (the SOAP endpoint), ``AppDescription``, ``AppSupport`` (a page on
  the same host as AppURL);
* ``UserName`` (the user QBWC signs in as; the password is typed into QBWC,
  never in the file);
* ``OwnerID`` and ``FileID``: GUIDs in braces, the application's identity and
  the company-file tag QBWC writes into the file so this application keeps
  talking to the same company file;
* ``QBType`` ``QBFS`` (QuickBooks financial software, not Point of Sale),
  ``IsReadOnly`` (false: the credit checklist may write), and optionally
  ``Scheduler/RunEveryNMinutes`` for the automatic poll.

QBWC refuses an ``AppURL`` that is not ``https://`` unless the host is
``localhost`` (the guide; /n software's QWCFileInfo reference says the same:
"The URL provided in AppURL must be a https:// URL. The only exception to this
is when using localhost"), so :func:`check_app_url` refuses it here first.
The references name the host ``localhost``; whether QBWC also takes
``127.0.0.1`` they do not say, so the conservative reading refuses it here
(the config accepts it for ``serve``, which only binds).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

__all__ = ["QwcError", "QwcSettings", "build_qwc", "check_app_url", "new_guid"]

_GUID = re.compile(r"^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}"
                   r"-[0-9A-Fa-f]{12}\}$")


class QwcError(ValueError):
    """A setting the Web Connector would refuse (one line, with the fix)."""


def new_guid() -> str:
    """``{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}``, the form QBWC's ids take."""
    return "{" + str(uuid.uuid4()).upper() + "}"


def check_app_url(url: str) -> str:
    """``url`` if QBWC accepts it: https, or http on localhost only."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise QwcError(f"[ledger] listen {url!r} is not an http(s) URL "
                       "(e.g. https://recon.example.com/qbwc)")
    if parts.scheme == "http" and parts.hostname != "localhost":
        raise QwcError(f"[ledger] listen {url!r}: the Web Connector only accepts https, "
                       "or plain http to the host named localhost; use "
                       "http://localhost:PORT/... on the QuickBooks computer, or an https "
                       "proxy's https:// address")
    return url.strip()


@dataclass(frozen=True, slots=True)
class QwcSettings:
    """What the ``.qwc`` file says."""

    app_url: str
    username: str
    owner_id: str
    file_id: str
    app_name: str = "recon-tui"
    app_description: str = "recon-tui: reconcile PSA invoices with QuickBooks Desktop"
    #: Minutes between automatic polls; None leaves the schedule to the user.
    run_every_minutes: int | None = None

    def check(self) -> None:
        check_app_url(self.app_url)
        if not self.username.strip():
            raise QwcError("[ledger] qbwc_username is empty")
        for name, value in (("owner_id", self.owner_id), ("file_id", self.file_id)):
            if not _GUID.match(value):
                raise QwcError(f"[ledger] {name} {value!r} is not a GUID in braces "
                               "({XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX})")
        if self.run_every_minutes is not None and self.run_every_minutes < 1:
            raise QwcError("--every must be at least 1 minute")


def _support_url(app_url: str) -> str:
    """The service's own host root: AppSupport must share AppURL's host."""
    parts = urlsplit(app_url)
    return f"{parts.scheme}://{parts.netloc}/"


def build_qwc(settings: QwcSettings) -> str:
    """The ``.qwc`` document (text escaped by ElementTree)."""
    settings.check()
    root = ET.Element("QBWCXML")
    for tag, text in (("AppName", settings.app_name), ("AppID", ""),
                      ("AppURL", settings.app_url),
                      ("AppDescription", settings.app_description),
                      ("AppSupport", _support_url(settings.app_url)),
                      ("UserName", settings.username), ("OwnerID", settings.owner_id),
                      ("FileID", settings.file_id), ("QBType", "QBFS")):
        ET.SubElement(root, tag).text = text
    if settings.run_every_minutes is not None:
        scheduler = ET.SubElement(root, "Scheduler")
        ET.SubElement(scheduler, "RunEveryNMinutes").text = str(settings.run_every_minutes)
    ET.SubElement(root, "IsReadOnly").text = "false"
    ET.indent(root)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            + ET.tostring(root, encoding="unicode", short_empty_elements=False) + "\n")
