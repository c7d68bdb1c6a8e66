"""When the QuickBooks connection stops working, and the warning a month before.

Intuit's refresh tokens used to live as long as they were used every 100 days;
they now have a maximum validity, and each token answer says how long is left
in ``x_refresh_token_expires_in`` (announced in
https://blogs.a.intuit.com/2025/11/12/important-changes-to-refresh-token-policy).
The connector stores that as an absolute moment in the token file at connect
and at every refresh (:attr:`TokenState.refresh_expires_at`); ``sync`` and
``doctor`` read it here, so a user hears about it weeks before a sync fails with
``invalid_grant``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recon_tui.config import Config, ConfigError, QboLedgerConfig
from recon_tui.connectors.tokens import TokenStore, default_token_path, token_fingerprint

__all__ = [
    "WARN_WITHIN",
    "expiry_warning",
    "refresh_token_expiry",
    "token_store_for",
    "warning_for_config",
]

#: Warn this long before the refresh token expires.
WARN_WITHIN = timedelta(days=30)


def token_store_for(config: Config) -> TokenStore | None:
    """The token file the sync uses for the config's company (None without a
    ledger, or with a realm id that cannot name a file)."""
    if not isinstance(config.ledger, QboLedgerConfig):
        return None  # no ledger, or QuickBooks Desktop (no OAuth token)
    try:
        return TokenStore(default_token_path(config.ledger.realm_id))
    except ValueError:
        return None


def refresh_token_expiry(store: TokenStore, config_refresh_token: str | None = None
                         ) -> datetime | None:
    """When the stored refresh token expires; None when unknown (no file, an older
    file, a token endpoint that never said).

    With ``config_refresh_token``, a stored state that does not descend from it
    (the user pasted a new token since) says nothing about the token in use: None.
    """
    state = store.load()
    if state is None:
        return None
    if (config_refresh_token is not None
            and state.seeded_from != token_fingerprint(config_refresh_token)):
        return None
    return state.refresh_expires_at


def expiry_warning(expires_at: datetime | None, now: datetime | None = None,
                   within: timedelta = WARN_WITHIN) -> str | None:
    """The one line to show when the connection expires within ``within`` (or has
    expired); None when it is further off or unknown."""
    if expires_at is None:
        return None
    now = now or datetime.now(UTC)
    day = expires_at.astimezone(UTC).date().isoformat()
    if expires_at <= now:
        return (f"the QuickBooks connection expired on {day}: run `recon-tui connect qbo` "
                "to connect again")
    if expires_at - now < within:
        return (f"the QuickBooks connection expires on {day}: run `recon-tui connect qbo` "
                "before then")
    return None


def warning_for_config(config: Config, now: datetime | None = None) -> str | None:
    """:func:`expiry_warning` for the config's QuickBooks company, as ``sync`` and
    ``doctor`` show it. Never raises: a missing secret is another check's job."""
    store = token_store_for(config)
    if store is None or not isinstance(config.ledger, QboLedgerConfig):
        return None
    try:
        config_token: str | None = config.ledger.refresh_token.reveal()
    except ConfigError:
        config_token = None  # cannot tell which token is in use; the file's is the best guess
    return expiry_warning(refresh_token_expiry(store, config_token), now)
