"""Checks a key's type cannot express, named in the model (``key(check=...)``).

Each takes the value already read as its type and the section's ``kind`` (None
when missing or unknown) and returns the problem, or None when the value is fine.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_ECHO_LIMIT = 60
_GUID = re.compile(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")

# What a PSA base_url must end with (compared case-insensitively; Autotask's own
# docs spell it ATServicesRest/V1.0). ConnectWise's release segment varies by
# codebase (v4_6_release, v2024_1, ...), so only the API part is checked.
PSA_URL_SUFFIX = {
    "connectwise": ("/apis/3.0", "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"),
    "autotask": ("/atservicesrest/v1.0", "https://webservices5.autotask.net/atservicesrest/v1.0"),
}


def quote(text: str) -> str:
    """A value echoed in a message: JSON-quoted, cut short when long."""
    import json  # only a message quotes: a launch with a valid config loads no json

    if len(text) > _ECHO_LIMIT:
        text = text[: _ECHO_LIMIT - 3] + "..."
    return json.dumps(text, ensure_ascii=False)


def qbo_host_root(url: str, kind: str | None) -> str | None:
    """``[ledger] base_url`` is the host root: connectors add the company path."""
    if "/v3/company" in url.lower():
        return ("expected the host root only (recon-tui appends /v3/company/{realm_id}/), "
                f"got {quote(url)}")
    return None


def qbo_realm_id(realm: str, kind: str | None) -> str | None:
    """The QuickBooks company ID is all digits."""
    if not realm.isdigit():
        return f"expected the numeric QuickBooks company ID, got {quote(realm)}"
    return None


def psa_api_root(url: str, kind: str | None) -> str | None:
    """``[psa] base_url`` ends in the API root of its kind (unchecked for a bad kind)."""
    if kind not in PSA_URL_SUFFIX:
        return None
    suffix, example = PSA_URL_SUFFIX[kind]
    if not url.lower().endswith(suffix):
        return f'expected a URL ending in "{suffix}" (like {example}), got {quote(url)}'
    return None


def guid(text: str, kind: str | None) -> str | None:
    """ConnectWise's clientId is a GUID from developer.connectwise.com."""
    if _GUID.fullmatch(text) is None:
        return ("expected a GUID like 00000000-0000-0000-0000-000000000000 "
                f"(from developer.connectwise.com), got {quote(text)}")
    return None


def braced_guid(text: str, kind: str | None) -> str | None:
    """The .qwc file's OwnerID and FileID: a GUID in braces, as ``qbwc qwc`` writes it."""
    if not (text.startswith("{") and text.endswith("}") and _GUID.fullmatch(text[1:-1])):
        return ("expected a GUID in braces like {00000000-0000-0000-0000-000000000000} "
                f"(recon-tui qbwc qwc writes it), got {quote(text)}")
    return None


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def qbwc_listen(url: str, kind: str | None) -> str | None:
    """``[ledger] listen``: the Web Connector only calls an https AppURL, except on
    this computer (the shared design's reading of the QBWC Programmer's Guide; plain
    http would also carry the company's books and the QBWC password in the clear)."""
    if url.lower().startswith("https://") or _loopback(urlsplit(url).hostname or ""):
        return None
    return ("expected https:// unless the host is this computer (localhost, 127.0.0.1 "
            f"or ::1), got {quote(url)}")
