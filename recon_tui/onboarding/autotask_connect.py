"""``recon-tui connect autotask``: from an API user to a working ``[psa]``
section in the right zone, proved by one authenticated call.

What Autotask documents:

* the REST API needs an API user (security level *API User (API-only)*) and three
  headers on every call, ``ApiIntegrationCode`` (the API tracking identifier),
  ``UserName`` and ``Secret``; a bad combination answers 401
  (https://ww1.autotask.net/help/DeveloperHelp/Content/APIs/REST/General_Topics/REST_Security_Auth.htm,
  https://ww1.autotask.net/help/Content/4_Admin/1CompanySettings_Users/ResourcesUsersHR/Resources/API_Tracking_Identifier.htm);
* the tenant's zone comes from ``zoneInformation?user=...`` (see
  :mod:`recon_tui.connectors.autotask_zone`), and tenants can move zones;
* ``POST {Entity}/query`` takes ``MaxRecords`` (1 to 500)
  (https://autotask.net/help/developerhelp/content/apis/REST/API_Calls/REST_Advanced_Query_Features.htm).

The proof is ``POST Companies/query`` for one record: it needs the three
headers, the right zone and the user's access to companies, the first thing a
sync reads. ``recon-tui doctor`` checks the other entities the sync reads.
"""

from __future__ import annotations

import argparse
import os
import re

import httpx

from recon_tui.cli_common import CliError
from recon_tui.config import AutotaskConfig, Secret
from recon_tui.connectors.autotask_zone import ZONE_LOOKUP_URL, Zone, lookup_zone
from recon_tui.connectors.base import ConnectorError
from recon_tui.connectors.http import RetryPolicy
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

HELP = "connect Autotask PSA: API user, secret, integration code; finds the zone"
DESCRIPTION = (
    "Find the API user's zone (zoneInformation), check the user's secret and integration "
    "code with one authenticated call, and save [psa] in the config (secrets in the OS "
    "keyring when one is available, or the integration code as env:VAR). Prompts for "
    "whatever a flag does not give; secrets are never echoed.")

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ONE_COMPANY = {"filter": [{"op": "gte", "field": "id", "value": 0}], "MaxRecords": 1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", metavar="U", help="the API user's user name (an e-mail address)")
    parser.add_argument("--integration-code-env", metavar="VAR",
                        help="read the integration code (API tracking identifier) from this "
                        "environment variable and save it as env:VAR (else it is asked for)")
    parser.add_argument("--zone-lookup-url", metavar="URL", default=ZONE_LOOKUP_URL,
                        help=f"where to ask for the zone (default {ZONE_LOOKUP_URL})")


def _env_code(var: str) -> str:
    if not _ENV_NAME.fullmatch(var):
        raise CliError(f"--integration-code-env {var!r}: not an environment variable name")
    value = os.environ.get(var, "").strip()
    if not value:
        raise CliError(f"--integration-code-env: environment variable {var} is not set")
    from recon_tui.scrub import register

    register(value)
    return value


def check_user(config: AutotaskConfig, lookup_url: str, *,
               transport: httpx.BaseTransport | None = None) -> Zone | None:
    """One authenticated call; the zone the tenant moved to meanwhile, if it did.
    Raises CliError naming what to fix."""
    from recon_tui.connectors.autotask import AutotaskConnector

    connector = AutotaskConnector(config, transport=transport, timeout=20.0,
                                  retry=RetryPolicy(max_attempts=3), zone_lookup_url=lookup_url)
    try:
        connector.api.post_json("Companies/query", ONE_COMPANY,
                                operation="check the API user")
    except ConnectorError as exc:
        raise refused(exc, unauthorised=(
            "check the user name, the secret and the integration code (Admin > Resources "
            "(Users) > the API user), and that its security level is API User"),
            forbidden="give the API user's security level access to Companies") from exc
    finally:
        connector.close()
    return connector.api.moved_to


def run(args: argparse.Namespace, *, transport: httpx.BaseTransport | None = None) -> int:
    lookup_url = args.zone_lookup_url
    if not lookup_url.lower().startswith(("http://", "https://")):
        raise CliError(f"--zone-lookup-url {lookup_url!r}: expected an http(s) URL")
    if args.integration_code_env:
        _env_code(args.integration_code_env)  # an unset variable fails before any prompt
    user = ask("Autotask API user name (e-mail)", args.user, flag="--user")
    try:
        zone = lookup_zone(user, lookup_url, transport=transport)
    except ConnectorError as exc:
        raise CliError(f"{exc}; check --user (the API user's user name)", 1) from exc
    secret = ask_secret("API user secret", flag_hint="type it at the prompt (it is never a flag)")
    if args.integration_code_env:
        code = _env_code(args.integration_code_env)
        code_stored, code_where = f"env:{args.integration_code_env}", (
            f"environment variable {args.integration_code_env} (saved as "
            f"env:{args.integration_code_env})")
    else:
        code = ask_secret("Integration code (API tracking identifier)",
                          flag_hint="or pass --integration-code-env VAR")
        code_stored, code_where = "", ""
    config = AutotaskConfig(base_url=zone.api_url, username=user,
                            secret=Secret(secret), integration_code=Secret(code))
    moved = check_user(config, lookup_url, transport=transport)
    if moved is not None:
        zone = moved
        print(f"Autotask moved this tenant to zone {printable(zone.name)} while connecting; "
              "using it")
    account = account_name("autotask", user)
    secret_stored, secret_where = stash("secret", secret, account)
    if not code_stored:
        code_stored, code_where = stash("integration_code", code, account)
    path = config_target(getattr(args, "config", None))
    save_psa(path, "autotask", {"base_url": zone.api_url, "username": user,
                                "secret": secret_stored, "integration_code": code_stored})
    print(f"Autotask zone {printable(zone.name)} ({printable(zone.api_url)}), API user "
          f"{printable(user)}: OK")
    print(f"saved [psa] (kind autotask, base_url {printable(zone.api_url)}) to {path}")
    print(f"secret: {secret_where}")
    print(f"integration code: {code_where}")
    return 0
