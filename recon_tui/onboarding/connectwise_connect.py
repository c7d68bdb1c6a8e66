"""``recon-tui connect connectwise``: from a site, a company and an API member's
keys to a working ``[psa]`` section, proved by one authenticated call.

What ConnectWise documents (PSA Developer Guide, developer.connectwise.com; a
public copy: https://gitea.resolutionflow.com/chihlasm/resolutionflow/src/branch/main/docs/connectwise/Developer-Guide.md):

* every integration needs a ``clientId``, a GUID issued at
  https://developer.connectwise.com/ClientID, sent on every call;
* the recommended authentication is an API member's key pair:
  ``Authorization: Basic base64(companyid+publickey:privatekey)``;
* ``GET https://{site}/login/companyinfo/{company}`` (no authentication) answers
  ``{"CompanyName", "Codebase": "v2017_3/", "VersionCode": "v2017.3",
  "VersionNumber", "CompanyID", "IsCloud"}``, and the API is
  ``https://{site}/{codebase}apis/3.0``; a cloud site (a codebase other than
  ``v4_6_release/``) is reached through ``api-`` in front of the site
  (``api-na.myconnectwise.net``); on premises answers ``v4_6_release/``;
* 401 means the keys are wrong, 403 that the member's security role lacks access.

The proof is ``GET company/companies?pageSize=1&fields=id``: the cheapest call
that needs the keys, the clientId and the role's access to companies (the first
thing a sync reads). ``recon-tui doctor`` checks every other call the sync makes.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from recon_tui.cli_common import CliError
from recon_tui.config import ConnectWiseConfig, Secret
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.http import ApiClient, RetryPolicy, decode_json
from recon_tui.onboarding.psa_answers import (
    account_name,
    ask,
    ask_secret,
    config_target,
    refused,
    save_psa,
    stash,
)
from recon_tui.text import printable

HELP = "connect ConnectWise PSA: site, company, API member keys, clientId"
DESCRIPTION = (
    "Find the site's API root and version (login/companyinfo), check the API member's "
    "keys with one authenticated call, and save [psa] in the config (the private key in "
    "the OS keyring when one is available). Prompts for whatever a flag does not give; "
    "the private key is never echoed.")

SYSTEM = "connectwise"
ON_PREMISE_CODEBASE = "v4_6_release/"
_GUID = re.compile(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
_CODEBASE = re.compile(r"[A-Za-z0-9_.]+/?")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", metavar="S",
                        help="your ConnectWise site, as in the browser (na.myconnectwise.net, "
                        "eu.myconnectwise.net, your own server)")
    parser.add_argument("--company", metavar="C", help="the company id you log in with")
    parser.add_argument("--public-key", metavar="K", help="the API member's public key")
    parser.add_argument("--client-id", metavar="G",
                        help="your integration's clientId (a GUID from developer.connectwise.com)")


@dataclass(frozen=True, slots=True)
class CompanyInfo:
    """What ``login/companyinfo`` says about a company's site."""

    company_name: str
    codebase: str
    version: str
    is_cloud: bool


def site_origin(site: str) -> str:
    """``na.myconnectwise.net`` or ``https://na.myconnectwise.net/...`` ->
    ``https://na.myconnectwise.net`` (https unless a scheme is written)."""
    text = site.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"--site {site!r}: expected a host name like na.myconnectwise.net")
    if parts.username or parts.password:
        raise CliError("--site: must not contain a user name or password")
    return f"{parts.scheme}://{parts.netloc}"


def _is_guid(text: str) -> str | None:
    if _GUID.fullmatch(text):
        return None
    return ("expected a GUID like 00000000-0000-0000-0000-000000000000 "
            "(from developer.connectwise.com)")


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def company_info(origin: str, company: str, *,
                 transport: httpx.BaseTransport | None = None) -> CompanyInfo:
    """The site's answer for ``company`` (no credentials sent). Raises CliError."""
    client = ApiClient(SYSTEM, origin, transport=transport, timeout=15.0,
                       retry=RetryPolicy(max_attempts=3))
    operation = f"look up company {company!r} on {urlsplit(origin).netloc}"
    try:
        response = client.request("GET", f"login/companyinfo/{quote(company, safe='')}",
                                  operation=operation, ok_statuses=frozenset({404}))
        if response.status_code == 404:
            raise CliError(f"{operation}: the site knows no such company (HTTP 404); check "
                           "--company (the company id on the login screen) and --site", 1)
        data = decode_json(response, SYSTEM, operation)
    except ConnectorError as exc:
        raise CliError(f"{exc}; check --site", 1) from exc
    finally:
        if transport is None:  # a caller's transport is the caller's to close
            client.close()
    codebase = data.get("Codebase") if isinstance(data, dict) else None
    if not isinstance(codebase, str) or not _CODEBASE.fullmatch(codebase.strip()):
        raise CliError(f"{operation}: the answer holds no Codebase; is {origin} a "
                       f"ConnectWise site, and {company!r} its company id?", 1)
    codebase = codebase.strip().rstrip("/") + "/"
    return CompanyInfo(company_name=str(data.get("CompanyName") or company),
                       codebase=codebase,
                       version=str(data.get("VersionCode") or codebase.rstrip("/")),
                       is_cloud=_truthy(data.get("IsCloud")))


def api_root(origin: str, info: CompanyInfo) -> str:
    """``https://{site}/{codebase}apis/3.0``, through ``api-{site}`` on the cloud."""
    parts = urlsplit(origin)
    host = parts.hostname or ""
    cloud = info.is_cloud or info.codebase != ON_PREMISE_CODEBASE
    ip_address = host.replace(".", "").isdigit() or ":" in host
    netloc = parts.netloc
    if cloud and not ip_address and not host.lower().startswith("api-"):
        netloc = f"api-{netloc}"
    return f"{parts.scheme}://{netloc}/{info.codebase}apis/3.0"


def check_keys(config: ConnectWiseConfig, *, transport: httpx.BaseTransport | None = None) -> None:
    """One authenticated call; raises CliError naming what to fix."""
    from recon_tui.connectors.connectwise import ConnectWiseConnector

    connector = ConnectWiseConnector(config, transport=transport, timeout=20.0,
                                     retry=RetryPolicy(max_attempts=3))
    try:
        connector.api.get_json("company/companies", params={"pageSize": 1, "fields": "id"},
                               operation="check the API member's keys")
    except ConnectorError as exc:
        raise refused(exc, unauthorised=(
            "check --company, --public-key and the private key (System > Members > API "
            "Members > API Keys), and --client-id"), forbidden=(
            "give the API member's security role Inquire access to Companies (System > "
            "Security Roles)")) from exc
    finally:
        connector.close()


def run(args: argparse.Namespace, *, transport: httpx.BaseTransport | None = None) -> int:
    if args.client_id is not None and _is_guid(args.client_id.strip()):
        # Before any prompt or request: a flag known to be wrong wastes nothing.
        raise CliError(f"--client-id {args.client_id.strip()!r}: {_is_guid(args.client_id)}")
    if args.site is not None:
        site_origin(args.site)
    site = ask("ConnectWise site (e.g. na.myconnectwise.net)", args.site, flag="--site")
    origin = site_origin(site)
    company = ask("Company id (as on the login screen)", args.company, flag="--company")
    info = company_info(origin, company, transport=transport)
    public_key = ask("API member public key", args.public_key, flag="--public-key")
    private_key = ask_secret("API member private key",
                             flag_hint="type it at the prompt (it is never a flag)")
    client_id = ask("clientId (GUID from developer.connectwise.com)", args.client_id,
                    flag="--client-id", check=_is_guid)
    base_url = api_root(origin, info)
    config = ConnectWiseConfig(base_url=base_url, company_id=company,
                               public_key=public_key, private_key=Secret(private_key),
                               client_id=client_id)
    check_keys(config, transport=transport)
    host = urlsplit(base_url).netloc
    stored, where = stash("private_key", private_key,
                          account_name("connectwise", host, company))
    path = config_target(getattr(args, "config", None))
    save_psa(path, "connectwise", {"base_url": base_url, "company_id": company,
                                   "public_key": public_key, "private_key": stored,
                                   "client_id": client_id})
    shown = printable
    print(f"ConnectWise site {shown(urlsplit(origin).netloc)}, codebase "
          f"{shown(info.codebase.rstrip('/'))} ({shown(info.version)}), company "
          f"{shown(info.company_name)}: API member OK")
    print(f"saved [psa] (kind connectwise, base_url {shown(base_url)}) to {path}")
    print(f"private key: {where}")
    sys.stdout.flush()
    return 0
