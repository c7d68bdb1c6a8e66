"""The configuration as typed, frozen sections, with the defaults a missing key takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from recon_tui.config.secret import Secret

APP_NAME = "recon-tui"
CONFIG_ENV_VAR = "RECON_TUI_CONFIG"

DEFAULT_QBO_BASE_URL = "https://quickbooks.api.intuit.com"
DEFAULT_QBO_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
# Intuit stopped serving minor versions 1-74 on 2025-08-01; 75 is the floor.
DEFAULT_MINOR_VERSION = 75
# ConnectBooster's default "Portal Security Level Considered Client Admin".
DEFAULT_PORTAL_LEVEL = 6
#: Autotask invoice numbering as the accounting integration wrote it to QBO.
INVOICE_NUMBERINGS: tuple[str, ...] = ("number", "id")

LedgerKind = Literal["qbo"]
PsaKind = Literal["connectwise", "autotask"]
LEDGER_KINDS: tuple[str, ...] = ("qbo",)
PSA_KINDS: tuple[str, ...] = ("connectwise", "autotask")


@dataclass(frozen=True)
class LedgerConfig:
    """QuickBooks Online credentials.

    ``base_url`` is the host root: connectors append ``/v3/company/{realm_id}/``.
    """

    realm_id: str
    client_id: str
    client_secret: Secret
    refresh_token: Secret
    kind: LedgerKind = "qbo"
    base_url: str = DEFAULT_QBO_BASE_URL
    token_url: str = DEFAULT_QBO_TOKEN_URL
    minor_version: int = DEFAULT_MINOR_VERSION
    #: Off unless the file says so: recon-tui then only reads QuickBooks, and every
    #: fix (the credit checklist's "apply via the API" included) is done by hand.
    allow_writes: bool = False


@dataclass(frozen=True)
class PsaConfig:
    """ConnectWise PSA or Autotask credentials; only the fields of ``kind`` are set."""

    kind: PsaKind
    base_url: str
    # connectwise
    company_id: str | None = None
    public_key: str | None = None
    private_key: Secret | None = None
    client_id: str | None = None
    # autotask
    username: str | None = None
    secret: Secret | None = None
    integration_code: Secret | None = None
    #: Autotask: which Autotask field the QBO DocNumber carries ("number" or "id").
    invoice_numbering: str | None = None
    #: ConnectWise: caption of an invoice custom field holding the QBO invoice id.
    ledger_link_field: str | None = None
    #: Off unless the file says so: recon-tui then only reads the PSA.
    allow_writes: bool = False


@dataclass(frozen=True)
class PortalConfig:
    """Client-portal rules: contacts below this security level cannot see invoices."""

    client_admin_security_level: int = DEFAULT_PORTAL_LEVEL


#: Pages of one read fetched at once, per system, at each API's documented limit:
#: QBO allows 10 concurrent requests per realm and app (and 500 a minute, which
#: the connector's rate limiter keeps), see
#: https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
#: and https://developer.intuit.com/hub/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon.
#: ConnectWise publishes no concurrency figure (it throttles with 429 and
#: Retry-After, which the connector honours): 4 is a polite default, 10 the most
#: accepted. Autotask is not listed: its pages are a cursor chain (each page's
#: ``nextPageUrl`` comes from the one before), so they are read one at a time.
MAX_CONCURRENCY_DEFAULTS: dict[str, int] = {"qbo": 10, "connectwise": 4}
MAX_CONCURRENCY_LIMITS: dict[str, int] = {"qbo": 10, "connectwise": 10}


@dataclass(frozen=True)
class Concurrency:
    """``[sync] max_concurrency``: requests in flight at once, per system (all its steps)."""

    qbo: int = MAX_CONCURRENCY_DEFAULTS["qbo"]
    connectwise: int = MAX_CONCURRENCY_DEFAULTS["connectwise"]

    def for_system(self, system: str) -> int:
        """The window for ``system`` (``qbo``, ``connectwise``); 1 for any other."""
        return int(getattr(self, system, 1))


@dataclass(frozen=True)
class SyncConfig:
    """Sync settings. ``default_since`` is accepted so older files still load, but
    no longer used: the first sync of a cache reads every record whatever its date
    (a dated first sync missed last year's unpaid invoices)."""

    default_since: date | None = None
    #: A sync that would delete more than this share (percent) of one side's
    #: records stops and asks first: a read that silently came back short must
    #: never empty the cache.
    max_delete_percent: int = 5
    #: Pages fetched concurrently per system (see MAX_CONCURRENCY_DEFAULTS).
    max_concurrency: Concurrency = field(default_factory=Concurrency)


@dataclass(frozen=True)
class ReportConfig:
    """Report settings. ``folder``: where the export dialog and ``recon-tui report``
    write files when no path is given (None: the user's Documents folder, else home)."""

    folder: Path | None = None


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``path`` is the file it came from (None in demo mode)."""

    ledger: LedgerConfig | None = None
    psa: PsaConfig | None = None
    portal: PortalConfig = field(default_factory=PortalConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    path: Path | None = None

    @property
    def is_demo(self) -> bool:
        """True when no live system is configured, so the sample book is used."""
        return self.ledger is None and self.psa is None

    @classmethod
    def default(cls) -> Config:
        """The configuration used when no file exists: demo mode with default settings."""
        return cls()
