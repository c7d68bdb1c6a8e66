"""Load, validate and save recon-tui's TOML configuration.

The file holds API credentials, so two rules run through this module:

* a secret's value never reaches a ``repr``, an error message or a summary:
  it lives in a :class:`Secret` that prints as ``********`` and is only read
  through :meth:`Secret.reveal`, at the moment a connector needs it;
* every problem is reported as one :class:`ConfigError` line naming the file,
  the ``[section] key`` and what is wrong, so a user can fix it without
  reading a traceback.

No configuration at all is valid: recon-tui then runs on its sample book
(demo mode), see :attr:`Config.is_demo`.

The package is split by job: ``errors`` (ConfigError), ``secret`` (Secret),
``model`` (the typed sections: the one declaration of every key, its type,
default and bounds), ``checks`` (what a type cannot say), ``schema`` (the keys
read off the model), ``values`` (one value against its key), ``parser`` (one
validation pass), ``files`` (find, load, save) and ``edits`` (what a settings
screen shows and changes). Import from ``recon_tui.config``.
"""

from __future__ import annotations

import platformdirs  # noqa: F401  (tests patch platformdirs through this module)

from recon_tui.config.edits import (
    BOOLEAN_KEYS,
    editable_values,
    redacted_summary,
    unresolved_secrets,
    with_edits,
)
from recon_tui.config.errors import ConfigError
from recon_tui.config.files import (
    config_to_dict,
    default_config_path,
    load_config,
    resolve_config_path,
    save_config,
)
from recon_tui.config.model import (
    APP_NAME,
    CONFIG_ENV_VAR,
    DEFAULT_MINOR_VERSION,
    DEFAULT_PORTAL_LEVEL,
    DEFAULT_QBO_BASE_URL,
    DEFAULT_QBO_TOKEN_URL,
    DEFAULT_QBWC_LISTEN,
    INVOICE_NUMBERINGS,
    KIND_TITLES,
    LEDGER_KINDS,
    MAX_CONCURRENCY_DEFAULTS,
    PSA_KIND_TITLES,
    PSA_KINDS,
    AutotaskConfig,
    Concurrency,
    Config,
    ConnectWiseConfig,
    LedgerConfig,
    LedgerSection,
    PortalConfig,
    PsaConfig,
    PsaSection,
    QbdLedgerConfig,
    QboLedgerConfig,
    ReportConfig,
    SyncConfig,
)
from recon_tui.config.parser import parse_config
from recon_tui.config.schema import EDITABLE_KEYS, SCHEMA, label
from recon_tui.config.secret import MASK, Secret

__all__ = [
    "APP_NAME",
    "BOOLEAN_KEYS",
    "CONFIG_ENV_VAR",
    "DEFAULT_MINOR_VERSION",
    "DEFAULT_PORTAL_LEVEL",
    "DEFAULT_QBO_BASE_URL",
    "DEFAULT_QBO_TOKEN_URL",
    "DEFAULT_QBWC_LISTEN",
    "EDITABLE_KEYS",
    "INVOICE_NUMBERINGS",
    "KIND_TITLES",
    "LEDGER_KINDS",
    "MASK",
    "MAX_CONCURRENCY_DEFAULTS",
    "PSA_KINDS",
    "PSA_KIND_TITLES",
    "SCHEMA",
    "AutotaskConfig",
    "Concurrency",
    "Config",
    "ConfigError",
    "ConnectWiseConfig",
    "LedgerConfig",
    "LedgerSection",
    "PortalConfig",
    "PsaConfig",
    "PsaSection",
    "QbdLedgerConfig",
    "QboLedgerConfig",
    "ReportConfig",
    "Secret",
    "SyncConfig",
    "config_to_dict",
    "default_config_path",
    "editable_values",
    "label",
    "load_config",
    "parse_config",
    "redacted_summary",
    "resolve_config_path",
    "save_config",
    "unresolved_secrets",
    "with_edits",
]
