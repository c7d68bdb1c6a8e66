"""The configuration as typed, frozen sections: the one declaration of every key.

Each field's type says how its value is checked and its default what a missing
key takes; its ``Annotated`` metadata (``msgspec.Meta`` constraints plus
:func:`key` for what a type cannot say: whether it is required, whether the
settings screen edits it and under which label) is read by
:mod:`recon_tui.config.schema`, from which the parser, the settings screen, the
save path and the documentation test all take their key lists.

``[ledger]`` and ``[psa]`` are tagged unions: one class per kind
(:class:`QboLedgerConfig` | :class:`QbdLedgerConfig`, :class:`ConnectWiseConfig`
| :class:`AutotaskConfig`), each with its own keys only and a ``kind: Literal``
that names it; the schema reads the kind -> class table off those Literals.

They are frozen dataclasses, not msgspec's tagged ``Struct`` unions: msgspec
converts a union of at most one dataclass, its tagged unions need ``Struct``
classes whose tag is not an attribute (``config.psa.kind`` is read everywhere),
and it stops at the first problem in its own words, where the parser reports
every problem of a file in ours. ``msgspec.convert`` still checks each value
against its field's type and ``Meta`` bounds (:mod:`.values`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from msgspec import Meta

from recon_tui.config import checks
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
InvoiceNumbering = Literal["number", "id"]
INVOICE_NUMBERINGS: tuple[str, ...] = get_args(InvoiceNumbering)
#: How a screen names each PSA kind.
PSA_KIND_TITLES: dict[str, str] = {"connectwise": "ConnectWise PSA", "autotask": "Autotask"}
#: How a screen names each kind of either tagged section.
KIND_TITLES: dict[str, str] = {"qbo": "QuickBooks Online", "qbd": "QuickBooks Desktop",
                               **PSA_KIND_TITLES}


def key(
    *,
    required: bool = False,
    label: str | None = None,
    editable: bool = False,
    url: bool = False,
    check: Callable[..., str | None] | None = None,
    accept_int: bool = False,
    prompt: str | None = None,
    empty_ok: bool = False,
) -> Meta:
    """What a key's type cannot say, kept beside it (read by ``config.schema``).

    ``required``: must be in the file (the field then has no default);
    ``editable``/``label``: shown in the settings screen (label defaults to the key);
    ``url``: an http(s) URL; ``check``: ``check(value, kind) -> problem or None``;
    ``accept_int``: an unquoted integer is read as its digits (QBO realm ids);
    ``prompt``: what the connect screen asks for (a secret is typed hidden);
    ``empty_ok``: ``""`` is a value (it is the default), not a mistake.
    """
    return Meta(extra={"required": required, "label": label,
                       "editable": editable, "url": url, "check": check,
                       "accept_int": accept_int, "prompt": prompt, "empty_ok": empty_ok})


def tagged(*, default_kind: str | None = None) -> Meta:
    """A ``[section]`` that is one of several classes, told apart by its ``kind`` key;
    ``default_kind``: what a section without ``kind`` is (None: the key is required)."""
    return Meta(extra={"default_kind": default_kind})


#: ``[ledger] allow_writes``, either kind. Off unless the file says so: recon-tui then
#: only reads QuickBooks, and every fix (the credit checklist's "apply via the API"
#: included) is done by hand.
LedgerAllowWrites = Annotated[bool, key(editable=True, label=(
    "Allow writes to QuickBooks (fixes you confirm; off: by hand only)"))]


@dataclass(frozen=True, kw_only=True)
class QboLedgerConfig:
    """QuickBooks Online credentials.

    ``base_url`` is the host root: connectors append ``/v3/company/{realm_id}/``.
    """

    kind: Literal["qbo"] = "qbo"
    base_url: Annotated[str, key(url=True, editable=True, check=checks.qbo_host_root)] = (
        DEFAULT_QBO_BASE_URL)
    token_url: Annotated[str, key(url=True, editable=True)] = DEFAULT_QBO_TOKEN_URL
    realm_id: Annotated[str, key(required=True, editable=True, accept_int=True,
                                 check=checks.qbo_realm_id)]
    client_id: Annotated[str, key(required=True, editable=True)]
    client_secret: Annotated[Secret, key(required=True)]
    refresh_token: Annotated[Secret, key(required=True)]
    minor_version: Annotated[int, Meta(ge=1), key(editable=True)] = DEFAULT_MINOR_VERSION
    allow_writes: LedgerAllowWrites = False


#: The old name of the QuickBooks Online section, kept while callers move to
#: QboLedgerConfig (``[ledger]`` may now also be a :class:`QbdLedgerConfig`).
LedgerConfig = QboLedgerConfig

DEFAULT_QBWC_LISTEN = "http://localhost:8080/qbwc"


@dataclass(frozen=True, kw_only=True)
class QbdLedgerConfig:
    """QuickBooks Desktop through the Web Connector (QBWC), which polls our SOAP
    service at ``listen``: its user name and password are what the .qwc file names
    and what the Web Connector's ``authenticate`` call sends. ``owner_id`` and
    ``file_id`` are generated once by ``recon-tui qbwc qwc`` and saved here."""

    kind: Literal["qbd"] = "qbd"
    qbwc_username: Annotated[str, key(required=True, editable=True,
                                      label="Web Connector user name")]
    qbwc_password: Annotated[Secret, key(required=True)]
    listen: Annotated[str, key(url=True, editable=True, check=checks.qbwc_listen,
                               label="Listen on (the .qwc file's AppURL)")] = (
        DEFAULT_QBWC_LISTEN)
    company_file: Annotated[str, key(editable=True, empty_ok=True, label=(
        "Company file (empty: the one open in QuickBooks)"))] = ""
    owner_id: Annotated[str | None, key(check=checks.braced_guid)] = None
    file_id: Annotated[str | None, key(check=checks.braced_guid)] = None
    allow_writes: LedgerAllowWrites = False


#: ``[psa] base_url`` and ``allow_writes``: the keys every PSA kind has, declared once.
PsaBaseUrl = Annotated[str, key(url=True, required=True, editable=True,
                                check=checks.psa_api_root)]
#: Off unless the file says so: recon-tui then only reads the PSA.
PsaAllowWrites = Annotated[bool, key(editable=True, label=(
    "Allow writes to the PSA (off: by hand only)"))]


@dataclass(frozen=True, kw_only=True)
class ConnectWiseConfig:
    """ConnectWise PSA (Manage) REST API credentials: an API member's key pair."""

    kind: Literal["connectwise"] = "connectwise"
    base_url: PsaBaseUrl
    company_id: Annotated[str, key(required=True, editable=True,
                                   prompt="Company id (as on the login screen)")]
    public_key: Annotated[str, key(required=True, editable=True,
                                   prompt="API member public key")]
    private_key: Annotated[Secret, key(required=True, prompt="API member private key")]
    client_id: Annotated[str, key(required=True, editable=True, check=checks.guid,
                                  prompt="clientId (a GUID from developer.connectwise.com)")]
    #: Caption of an invoice custom field holding the QBO invoice id.
    ledger_link_field: str | None = None
    allow_writes: PsaAllowWrites = False


@dataclass(frozen=True, kw_only=True)
class AutotaskConfig:
    """Autotask PSA REST API credentials: an API-only user and its integration code."""

    kind: Literal["autotask"] = "autotask"
    base_url: PsaBaseUrl
    username: Annotated[str, key(required=True, editable=True,
                                 prompt="API user name (e-mail)")]
    secret: Annotated[Secret, key(required=True, prompt="Secret")]
    integration_code: Annotated[Secret, key(required=True, prompt="Integration code")]
    #: Which Autotask field the QBO DocNumber carries ("number" or "id").
    invoice_numbering: InvoiceNumbering = "number"
    allow_writes: PsaAllowWrites = False


#: ``[psa]``: one class per kind, told apart by ``kind`` (see the module docstring).
PsaSection = ConnectWiseConfig | AutotaskConfig
#: ``[ledger]``: QuickBooks Online, or QuickBooks Desktop through the Web Connector.
LedgerSection = QboLedgerConfig | QbdLedgerConfig
#: kind -> class (a dataclass keeps a field's default as its class attribute).
PSA_CLASSES: dict[str, type[PsaSection]] = {c.kind: c for c in (ConnectWiseConfig,
                                                                 AutotaskConfig)}
LEDGER_KINDS: tuple[str, ...] = (QboLedgerConfig.kind, QbdLedgerConfig.kind)
PSA_KINDS: tuple[str, ...] = tuple(PSA_CLASSES)


def PsaConfig(*, kind: str, **keys: Any) -> PsaSection:
    """The old one-class constructor, kept while its last callers (backend.py) move
    to :class:`ConnectWiseConfig` / :class:`AutotaskConfig`: builds ``kind``'s
    class, dropping the other kind's keys when they are None."""
    cls = PSA_CLASSES[kind]
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in keys.items() if k in names or v is not None})


@dataclass(frozen=True)
class PortalConfig:
    """Client-portal rules: contacts below this security level cannot see invoices."""

    client_admin_security_level: Annotated[int, Meta(ge=1, le=6), key(editable=True, label=(
        "Portal security level considered client admin (1-6): contacts below it cannot "
        "see invoices"))] = DEFAULT_PORTAL_LEVEL


#: Pages of one read fetched at once, per system, at each API's documented limit:
#: QBO allows 10 concurrent requests per realm and app (and 500 a minute, which
#: the connector's rate limiter keeps), see
#: https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
#: and https://developer.intuit.com/hub/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon.
#: ConnectWise publishes no concurrency figure (it throttles with 429 and
#: Retry-After, which the connector honours): 4 is a polite default, 10 the most
#: accepted. Autotask is not listed: its pages are a cursor chain (each page's
#: ``nextPageUrl`` comes from the one before), so they are read one at a time.
@dataclass(frozen=True)
class Concurrency:
    """``[sync] max_concurrency``: requests in flight at once, per system (all its steps)."""

    qbo: Annotated[int, Meta(ge=1, le=10)] = 10
    connectwise: Annotated[int, Meta(ge=1, le=10)] = 4

    def for_system(self, system: str) -> int:
        """The window for ``system`` (``qbo``, ``connectwise``); 1 for any other."""
        return int(getattr(self, system, 1))


MAX_CONCURRENCY_DEFAULTS: dict[str, int] = {"qbo": Concurrency.qbo,
                                            "connectwise": Concurrency.connectwise}


@dataclass(frozen=True)
class SyncConfig:
    """Sync settings. ``default_since`` is accepted so older files still load, but
    no longer used: the first sync of a cache reads every record whatever its date
    (a dated first sync missed last year's unpaid invoices)."""

    default_since: date | None = None
    #: A sync that would delete more than this share (percent) of one side's
    #: records stops and asks first: a read that silently came back short must
    #: never empty the cache.
    max_delete_percent: Annotated[int, Meta(ge=0, le=100)] = 5
    #: Pages fetched concurrently per system (see Concurrency).
    max_concurrency: Concurrency = field(default_factory=Concurrency)


@dataclass(frozen=True)
class ReportConfig:
    """Report settings. ``folder``: where the export dialog and ``recon-tui report``
    write files when no path is given (None: the user's Documents folder, else home).
    ``~`` is expanded; whether it exists is checked when a report is written."""

    folder: Path | None = None


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``path`` is the file it came from (None in demo mode).

    Every field but ``path`` is a ``[section]`` of the file, in the order the
    sections are known.
    """

    ledger: Annotated[LedgerSection | None, tagged(default_kind="qbo")] = None
    psa: Annotated[PsaSection | None, tagged()] = None
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
