"""Two ``recon-tui sync`` processes refreshing one QuickBooks token at once (a
cron sync while the TUI is open), against a token endpoint as slow as Intuit's.

The emulator rotates refresh tokens like Intuit: after a refresh the previous
refresh token is refused (``invalid_grant``). Both processes share one token
file holding the current rotated token; the config's own token is one the
server has long forgotten, so nothing can paper over a lost race. Nothing is
wrong with the credentials, so both syncs must complete and the file must end
up holding the newest refresh token."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from recon_tui.backend import SANDBOX_LEDGER, SANDBOX_REALM
from recon_tui.connectors.tokens import TokenState, TokenStore, token_fingerprint
from recon_tui.sandbox.faults import FaultRule
from recon_tui.sandbox.qbo import SEED_REFRESH_TOKEN
from tests.chaos.cases import BROKEN, LOST, RECOVERED
from tests.chaos.checksum import checksum
from tests.chaos.kills import isolated_env, recon_tui_command
from tests.chaos.world import World
from tests.emulator import config_file_for

ROW = "2 processes, 1 token"
TOKEN_DELAY_MS = 500
#: A refresh token Intuit invalidated long ago: the config's, as after months of use.
FORGOTTEN = "chaos-forgotten-refresh-token"


def race_trial(world: World) -> tuple[str, str, list[str]]:
    """(row, outcome, problems) of one race."""
    auth = world.book.qbo_state.auth  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(prefix="chaos-race-") as scratch:
        home = Path(scratch)
        config = config_file_for(world.server, home)
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace(f'refresh_token = "{SANDBOX_LEDGER["refresh_token"]}"',
                                       f'refresh_token = "{FORGOTTEN}"'), encoding="utf-8")
        store = TokenStore(home / "data" / "recon-tui" / "tokens" / f"qbo-{SANDBOX_REALM}.json")
        current = auth.grant(SEED_REFRESH_TOKEN)["refresh_token"]
        store.save(TokenState(refresh_token=current, seeded_from=token_fingerprint(FORGOTTEN)))
        caches = []
        for name in ("a", "b"):
            (home / name).mkdir()
            caches.append(world.fresh_cache("first", "connectwise", home / name))
        before = checksum(caches[0], strict=True)
        world.plan.reset()
        world.plan.slow_ms = TOKEN_DELAY_MS
        world.plan.rules.append(FaultRule("slow", "token", 1, 1_000))
        procs = [subprocess.Popen([*recon_tui_command(), "--config", str(config), "--db",
                                   str(path), "sync"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=isolated_env(home)) for path in caches]
        results = [(proc.wait(timeout=120), proc.communicate()[1].decode("utf-8", "replace"))
                   for proc in procs]
        world.plan.reset()
        stored = store.load()
        outcome, problems = RECOVERED, []
        for path, (status, stderr) in zip(caches, results, strict=True):
            if status != 0:
                outcome = BROKEN
                last = stderr.strip().splitlines()[-1] if stderr.strip() else "(no message)"
                problems.append(f"a sync failed needlessly: {last}")
                if checksum(path, strict=True) != before:
                    outcome = LOST
            elif checksum(path, strict=False) != world.refs["first/connectwise"]:
                outcome = LOST
                problems.append("a sync succeeded with data unlike a clean sync's")
            if any(secret in stderr for secret in world.secrets()):
                problems.append("a secret on stderr")
        if stored is None or stored.refresh_token != auth.current_refresh:
            problems.append("the token file does not hold the newest refresh token")
    if problems and outcome == RECOVERED:
        outcome = BROKEN
    return ROW, outcome, problems
