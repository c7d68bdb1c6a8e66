"""Which keys each section takes, of what type, for which kind; what a kind requires."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SpecKind = Literal["str", "int", "bool", "secret", "url", "date", "choice", "table"]


@dataclass(frozen=True)
class Spec:
    """How one key is checked: its type and, for PSA keys, which kind it belongs to."""

    kind: SpecKind
    for_kind: str | None = None  # None: shared by every kind of the section


SCHEMA: dict[str, dict[str, Spec]] = {
    "ledger": {
        "kind": Spec("choice"),
        "base_url": Spec("url"),
        "token_url": Spec("url"),
        "realm_id": Spec("str"),
        "client_id": Spec("str"),
        "client_secret": Spec("secret"),
        "refresh_token": Spec("secret"),
        "minor_version": Spec("int"),
        "allow_writes": Spec("bool"),
    },
    "psa": {
        "kind": Spec("choice"),
        "base_url": Spec("url"),
        "company_id": Spec("str", "connectwise"),
        "public_key": Spec("str", "connectwise"),
        "private_key": Spec("secret", "connectwise"),
        "client_id": Spec("str", "connectwise"),
        "username": Spec("str", "autotask"),
        "secret": Spec("secret", "autotask"),
        "integration_code": Spec("secret", "autotask"),
        "invoice_numbering": Spec("choice", "autotask"),
        "ledger_link_field": Spec("str", "connectwise"),
        "allow_writes": Spec("bool"),
    },
    "portal": {"client_admin_security_level": Spec("int")},
    "sync": {"default_since": Spec("date"), "max_delete_percent": Spec("int"),
             "max_concurrency": Spec("table")},
    "report": {"folder": Spec("str")},
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "qbo": ("realm_id", "client_id", "client_secret", "refresh_token"),
    "connectwise": ("base_url", "company_id", "public_key", "private_key", "client_id"),
    "autotask": ("base_url", "username", "secret", "integration_code"),
}

# What a PSA base_url must end with (compared case-insensitively; Autotask's own
# docs spell it ATServicesRest/V1.0). ConnectWise's release segment varies by
# codebase (v4_6_release, v2024_1, ...), so only the API part is checked.
PSA_URL_SUFFIX = {
    "connectwise": ("/apis/3.0", "https://api-na.myconnectwise.net/v4_6_release/apis/3.0"),
    "autotask": ("/atservicesrest/v1.0", "https://webservices5.autotask.net/atservicesrest/v1.0"),
}

