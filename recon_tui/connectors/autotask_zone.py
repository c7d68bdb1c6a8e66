"""Autotask's zone: which ``webservicesN`` host serves a tenant, and finding it
again when the tenant has moved.

Facts, from Autotask's (Datto's) own documentation:

* Autotask runs several zones; a client can be in any of them, so the zone is
  looked up first and its URL used for every later call. The lookup needs no
  authentication (SOAP ``getZoneInfo``:
  https://ww1.autotask.net/help/DeveloperHelp/Content/APIs/SOAP/APICalls/GetZoneInfoCall.htm).
  The REST form is ``GET https://webservices.autotask.net/atservicesrest/v1.0/
  zoneInformation?user=<api user>``, answering ``{"zoneName", "url", "webUrl",
  "ci"}`` (Datto's REST OpenAPI, ``ZoneInformationResultModel``). ``url`` is the
  REST root without the version (``https://webservices5.autotask.net/
  ATServicesRest/``); clients append ``V1.0`` (apigrate/autotask-restapi
  ``index.js``).
* A failed authentication answers 401
  (https://ww1.autotask.net/help/DeveloperHelp/Content/APIs/REST/General_Topics/REST_Security_Auth.htm);
  a tenant moved to another zone is no longer known on the old one, so its
  credentials are refused there too: one 401 is reason enough to ask the zone
  again, once.

The lookup is sent with the user name only, never the secret or the integration
code: it needs neither, and the lookup host is not the configured ``base_url``.
A zone answer is only followed to Autotask's own hosts (``https://*.autotask.net``)
or to the lookup's own origin (a sandbox serving the same API), so a rogue
answer cannot make recon-tui send credentials elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from recon_tui.connectors.base import BadData, ConnectorError
from recon_tui.connectors.http import ApiClient, RetryPolicy, decode_json, origin

__all__ = ["ZONE_LOOKUP_URL", "Zone", "ZoneAwareClient", "lookup_url_for", "lookup_zone",
           "rest_root"]

log = logging.getLogger(__name__)

SYSTEM = "autotask"
ZONE_LOOKUP_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
_VERSION = "v1.0"


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone answer: its name and the REST root (up to ``/v1.0``) to use."""

    name: str
    api_url: str
    web_url: str | None = None


def rest_root(url: str) -> str:
    """``https://webservices5.autotask.net/ATServicesRest/`` -> ``.../ATServicesRest/v1.0``
    (a URL already ending in the version is kept)."""
    url = url.strip().rstrip("/")
    if url.lower().endswith("/" + _VERSION):
        return url
    return f"{url}/{_VERSION}"


def lookup_url_for(base_url: str) -> str:
    """Where to ask for the zone of a tenant configured at ``base_url``: Autotask's
    global lookup for an Autotask host, else the same origin's (a sandbox)."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host == "autotask.net" or host.endswith(".autotask.net"):
        return ZONE_LOOKUP_URL
    return f"{parts.scheme}://{parts.netloc}/atservicesrest/{_VERSION}/zoneInformation"


def _trusted(zone_url: str, lookup_url: str) -> bool:
    """Autotask's own https hosts, or the lookup's own origin."""
    target = httpx.URL(zone_url)
    host = target.host.lower()
    if target.scheme == "https" and (host == "autotask.net" or host.endswith(".autotask.net")):
        return True
    return origin(target) == origin(httpx.URL(lookup_url))


def _zone_from(data: Any, lookup_url: str, user: str) -> Zone:
    url = data.get("url") if isinstance(data, Mapping) else None
    if not isinstance(url, str) or not url.strip().lower().startswith(("http://", "https://")):
        raise BadData(SYSTEM, f"zone lookup: no zone URL for user {user!r} "
                             "(is it an API user of an Autotask tenant?)")
    if not _trusted(url, lookup_url):
        raise BadData(SYSTEM, f"zone lookup: the answer points at {httpx.URL(url).host}, "
                             "which is not an Autotask host; not followed")
    name = data.get("zoneName")
    web = data.get("webUrl")
    return Zone(name=str(name) if name else httpx.URL(url).host, api_url=rest_root(url),
                web_url=str(web) if isinstance(web, str) and web else None)


def lookup_zone(user: str, lookup_url: str = ZONE_LOOKUP_URL, *,
                transport: httpx.BaseTransport | None = None,
                timeout: httpx.Timeout | float | None = 15.0,
                retry: RetryPolicy | None = None) -> Zone:
    """The zone serving ``user`` (one GET, the user name only). Raises ConnectorError."""
    parts = urlsplit(lookup_url)
    client = ApiClient(SYSTEM, f"{parts.scheme}://{parts.netloc}", transport=transport,
                       timeout=timeout, retry=retry or RetryPolicy(max_attempts=3))
    try:
        response = client.request("GET", parts.path, params={"user": user},
                                  operation="zone lookup")
        return _zone_from(decode_json(response, SYSTEM, "zone lookup"), lookup_url, user)
    finally:
        if transport is None:  # a caller's transport is the caller's to close
            client.close()


class ZoneAwareClient(ApiClient):
    """The Autotask API client: on the first 401 it asks the zone again; when the
    tenant has moved it switches to the new zone's root, says so (``on_move``, a
    warning in the log) and sends the request once more there. When the zone is
    the same, the 401 stands as the usual one line."""

    def __init__(self, system: str, base_url: str, *, username: str,
                 lookup_url: str | None = None,
                 on_move: Callable[[Zone], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(system, base_url, **kwargs)
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._lookup_url = lookup_url or lookup_url_for(base_url)
        self._on_move = on_move
        self._transport = kwargs.get("transport")
        self._timeout = kwargs.get("timeout")
        self.zone_checked = False
        #: The zone the tenant moved to, once a re-lookup found one.
        self.moved_to: Zone | None = None

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return super().request(method, url, **kwargs)
        except ConnectorError as exc:
            if exc.status != 401 or self.zone_checked:
                raise
            zone = self._relookup()
            if zone is None:
                raise
        return super().request(method, url, **kwargs)

    def _relookup(self) -> Zone | None:
        """The new zone when the tenant moved, else None (the lookup failed, or the
        zone is the one in use)."""
        self.zone_checked = True
        try:
            zone = lookup_zone(self._username, self._lookup_url, transport=self._transport,
                               timeout=self._timeout, retry=self.retry)
        except ConnectorError as exc:
            log.warning("autotask: 401, and the zone lookup failed too: %s", exc)
            return None
        if zone.api_url.rstrip("/").lower() == self.base_url.lower():
            return None
        log.warning("autotask: the tenant has moved to zone %s (%s); update [psa] base_url "
                    "(recon-tui doctor or connect autotask saves it)", zone.name, zone.api_url)
        self._switch(zone.api_url)
        self.moved_to = zone
        if self._on_move is not None:
            self._on_move(zone)
        return zone

    def _switch(self, base_url: str) -> None:
        """Send everything from now on to ``base_url`` (the new zone's root)."""
        self.base_url = base_url.rstrip("/")
        self._client.base_url = httpx.URL(self.base_url + "/")
        self._origin = origin(httpx.URL(self.base_url))
