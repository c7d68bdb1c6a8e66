"""The systems a session talks to: real accounts from the config, or, for the
demo, the bundled emulator started in-process on a free loopback port and
reached through the very same connectors."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from recon_tui.config import (
    Concurrency,
    Config,
    LedgerConfig,
    PsaConfig,
    Secret,
    unresolved_secrets,
)
from recon_tui.connectors.base import LedgerConnector, PsaConnector
from recon_tui.paths import data_dir

# What the emulator accepts (config.example.toml uses the same values); here for
# the callers that build configs pointing at it.
from recon_tui.sandbox.accounts import SANDBOX_CONNECTWISE, SANDBOX_LEDGER, SANDBOX_REALM

__all__ = ["DESKTOP_SYNCS", "SANDBOX_CONNECTWISE", "SANDBOX_LEDGER", "SANDBOX_REALM",
           "Backend", "BackendError", "connect", "connect_psa", "open_backend",
           "sandbox_configs"]

log = logging.getLogger(__name__)


@dataclass
class Backend:
    """Open connectors (and the demo's emulator); close them together."""

    psa: PsaConnector
    ledger: LedgerConnector
    description: str
    _closers: list = field(default_factory=list)
    #: The demo's emulator: what happens in its systems after the demo's first
    #: sync (the sample book's events, applied once); None for real accounts.
    _after_demo_load: Callable[[], list[str]] | None = None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def after_demo_load(self) -> list[str]:
        """Let the demo world move on after its first sync (the ids of the events
        applied; none for real accounts or when they already happened)."""
        return self._after_demo_load() if self._after_demo_load is not None else []

    def close(self) -> None:
        for close in (self.psa.close, self.ledger.close, *self._closers):
            # Closing must never mask the real outcome of the session.
            with contextlib.suppress(Exception):
                close()


def sandbox_configs(url: str) -> tuple[LedgerConfig, PsaConfig]:
    """Configs pointing at an emulator at ``url``."""
    ledger = LedgerConfig(
        realm_id=SANDBOX_REALM,
        client_id=SANDBOX_LEDGER["client_id"],
        client_secret=Secret(SANDBOX_LEDGER["client_secret"]),
        refresh_token=Secret(SANDBOX_LEDGER["refresh_token"]),
        base_url=url,
        token_url=f"{url}/oauth2/v1/tokens/bearer",
    )
    psa = PsaConfig(
        kind="connectwise",
        base_url=f"{url}/v4_6_release/apis/3.0",
        company_id=SANDBOX_CONNECTWISE["company_id"],
        public_key=SANDBOX_CONNECTWISE["public_key"],
        private_key=Secret(SANDBOX_CONNECTWISE["private_key"]),
        client_id=SANDBOX_CONNECTWISE["client_id"],
    )
    return ledger, psa


def connect(ledger_config: LedgerConfig, psa_config: PsaConfig, *,
            token_path: Path | None = None, config_path: Path | None = None,
            concurrency: Concurrency | None = None,
            ) -> tuple[PsaConnector, LedgerConnector]:
    """Build the connectors a config names. With ``config_path``, an Autotask
    tenant found in a new zone mid-sync has its new ``base_url`` saved there
    (comments kept), so the next run starts in the right zone. ``concurrency`` is
    ``[sync] max_concurrency``: how many pages of one read each fetches at once."""
    from recon_tui.connectors.qbo import QboConnector
    from recon_tui.connectors.tokens import TokenStore, default_token_path

    store = TokenStore(token_path or default_token_path(ledger_config.realm_id))
    windows = concurrency or Concurrency()
    ledger = QboConnector(ledger_config, token_store=store, max_concurrency=windows.qbo)
    return connect_psa(psa_config, config_path=config_path, concurrency=windows), ledger


def connect_psa(psa_config: PsaConfig, *, config_path: Path | None = None,
                concurrency: Concurrency | None = None) -> PsaConnector:
    """The PSA connector a config names, alone (a Web Connector session pairs it
    with the QuickBooks Desktop connector; see :func:`connect`)."""
    windows = concurrency or Concurrency()
    if psa_config.kind == "autotask":
        from recon_tui.connectors.autotask import AutotaskConnector

        return AutotaskConnector(psa_config, on_zone_move=_zone_saver(config_path))
    from recon_tui.connectors.connectwise import ConnectWiseConnector

    return ConnectWiseConnector(psa_config, max_concurrency=windows.connectwise)


def _zone_saver(config_path: Path | None) -> Callable[[object], None] | None:
    if config_path is None:
        return None

    def save(zone) -> None:
        from recon_tui.config import ConfigError
        from recon_tui.config.store import update_config

        try:
            update_config(config_path, {"psa": {"base_url": zone.api_url}})
        except (ConfigError, OSError) as exc:  # the sync goes on in the new zone
            log.warning("Autotask moved zones; could not save the new base_url: %s", exc)

    return save


class BackendError(RuntimeError):
    """The configuration cannot reach anything (e.g. only one side configured)."""

    #: The message is written for the operator: shown as it is, without the class.
    explains_itself = True


#: Why a sync cannot be started from here with ``[ledger] kind = "qbd"``: QuickBooks
#: Desktop is reached only when the Web Connector polls (recon_tui.qbwc).
DESKTOP_SYNCS = ("[ledger] kind = \"qbd\": QuickBooks Desktop syncs run when the Web "
                 "Connector polls; keep `recon-tui qbwc serve` running and add the file "
                 "from `recon-tui qbwc qwc` to the Web Connector")


def open_backend(config: Config, *, demo: bool, sample_dir: Path | None = None,
                 demo_state: Path | None = None) -> Backend:
    """Real accounts, or the demo's in-process emulator.

    For the demo, ``demo_state`` is the file its world is kept in across launches
    (``sandbox.state.state_path_for(<demo cache>)``); None keeps it in memory."""
    if demo:
        from recon_tui.connectors.sample import sample_data_dir
        from recon_tui.demo import sample_fingerprint
        from recon_tui.sandbox.app import create_app
        from recon_tui.sandbox.server import SandboxServer
        from recon_tui.sandbox.state import DemoWorld

        data = sample_dir or sample_data_dir()
        world = DemoWorld.open(data, sample_fingerprint(data), demo_state)
        server = SandboxServer(create_app(data, book=world.book,
                                          after_write=world.save)).start()
        tokens = tempfile.TemporaryDirectory(prefix="recon-demo-tokens-")
        ledger_config, psa_config = sandbox_configs(server.url)
        psa, ledger = connect(ledger_config, psa_config,
                              token_path=Path(tokens.name) / "qbo.json",
                              concurrency=config.sync.max_concurrency)
        return Backend(psa, ledger, f"demo emulator at {server.url}",
                       [server.stop, tokens.cleanup], world.apply_events)
    if config.ledger is None or config.psa is None:
        missing = "[ledger]" if config.ledger is None else "[psa]"
        where = config.path or "the configuration"
        raise BackendError(f"{where}: {missing} is not configured; both the PSA and the "
                           "ledger are needed to sync (see config.example.toml)")
    if getattr(config.ledger, "kind", "qbo") == "qbd":
        raise BackendError(DESKTOP_SYNCS)
    # Every secret now, before any connector exists: an unset env: variable found
    # only when the ledger step first needs it would cost a whole PSA read.
    problems = unresolved_secrets(config)
    if problems:
        others = "".join(f"; {p.key}: {p.problem}" for p in problems[1:])
        raise BackendError(f"{problems[0]}{others}")
    psa, ledger = connect(config.ledger, config.psa,
                          token_path=data_dir() / "tokens" / f"qbo-{config.ledger.realm_id}.json",
                          config_path=config.path, concurrency=config.sync.max_concurrency)
    return Backend(psa, ledger, f"{config.psa.kind} + {config.ledger.kind}")
