"""``connect connectwise`` and ``connect autotask`` as functions of their answers,
for a screen (the terminal commands ask for the same answers at prompts).

Each looks the site or zone up, makes one authenticated call, then stores the
secret (OS keyring when there is one) and writes ``[psa]``; nothing is saved
before the call has proved the answers. Both block on the network: run them in a
worker. Failures are one line (:class:`~recon_tui.cli_common.CliError`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx

from recon_tui.cli_common import CliError
from recon_tui.config import AutotaskConfig, ConnectWiseConfig, Secret
from recon_tui.connectors.autotask_zone import ZONE_LOOKUP_URL, lookup_zone
from recon_tui.connectors.base import ConnectorError
from recon_tui.onboarding.autotask_connect import check_user
from recon_tui.onboarding.connectwise_connect import (
    api_root,
    check_keys,
    company_info,
    site_origin,
)
from recon_tui.onboarding.psa_answers import account_name, save_psa, stash
from recon_tui.scrub import register
from recon_tui.text import printable


def connect_connectwise(path: Path, *, site: str, company: str, public_key: str,
                        private_key: str, client_id: str,
                        transport: httpx.BaseTransport | None = None) -> list[str]:
    """Site lookup, one call with the keys, then save: the lines to show."""
    for what, value in (("site", site), ("company id", company), ("public key", public_key),
                        ("private key", private_key), ("clientId", client_id)):
        if not value.strip():
            raise CliError(f"the {what} is missing")
    register(private_key.strip())
    origin = site_origin(site)
    info = company_info(origin, company.strip(), transport=transport)
    base_url = api_root(origin, info)
    config = ConnectWiseConfig(base_url=base_url, company_id=company.strip(),
                               public_key=public_key.strip(),
                               private_key=Secret(private_key.strip()),
                               client_id=client_id.strip())
    check_keys(config, transport=transport)
    stored, where = stash("private_key", private_key.strip(),
                          account_name("connectwise", urlsplit(base_url).netloc,
                                       company.strip()))
    save_psa(path, "connectwise", {"base_url": base_url, "company_id": company.strip(),
                                   "public_key": public_key.strip(), "private_key": stored,
                                   "client_id": client_id.strip()})
    return [f"ConnectWise company {printable(info.company_name)} on "
            f"{printable(urlsplit(origin).netloc)} ({printable(info.version)}): API member OK",
            f"saved [psa] to {path}", f"private key: {where}"]


def connect_autotask(path: Path, *, user: str, secret: str, integration_code: str,
                     lookup_url: str = ZONE_LOOKUP_URL,
                     transport: httpx.BaseTransport | None = None) -> list[str]:
    """Zone lookup, one call as the API user, then save: the lines to show."""
    for what, value in (("API user name", user), ("secret", secret),
                        ("integration code", integration_code)):
        if not value.strip():
            raise CliError(f"the {what} is missing")
    user, secret, code = user.strip(), secret.strip(), integration_code.strip()
    register(secret)
    register(code)
    try:
        zone = lookup_zone(user, lookup_url, transport=transport)
    except ConnectorError as exc:
        raise CliError(f"{exc}; check the API user's user name") from exc
    config = AutotaskConfig(base_url=zone.api_url, username=user,
                            secret=Secret(secret), integration_code=Secret(code))
    zone = check_user(config, lookup_url, transport=transport) or zone
    account = account_name("autotask", user)
    secret_stored, secret_where = stash("secret", secret, account)
    code_stored, code_where = stash("integration_code", code, account)
    save_psa(path, "autotask", {"base_url": zone.api_url, "username": user,
                                "secret": secret_stored, "integration_code": code_stored})
    return [f"Autotask zone {printable(zone.name)}, API user {printable(user)}: OK",
            f"saved [psa] to {path}", f"secret: {secret_where}",
            f"integration code: {code_where}"]
