"""``recon-tui doctor``: is everything in place for a sync, and if not, what to do.

Every check is a :class:`Check` (name, ok/warn/FAIL, what was found, the fix);
:func:`run_checks` produces the list without printing anything, so the TUI can
call it in a worker and show the same lines when a sync fails on connection or
authentication. The command prints one line per check and exits 0 when nothing
FAILed (warnings allowed), else 1.

What is checked: the config file (found, valid, secrets resolvable); for each
configured system (:mod:`doctor_systems`) reachable, authenticated, permitted
(one cheap request per read the sync makes), clock skew, API version, QBO's
refresh-token expiry; the cache (:mod:`doctor_local`) writable, its schema, the
counts on each side. The demo says it is the demo and checks its cache.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

HELP = "check the config, each system's connection and the cache, one line each"
DESCRIPTION = (
    "Check that recon-tui can sync: the config file, each configured system (reachable, "
    "authenticated, permitted for every read the sync makes, clock skew, API version, "
    "QuickBooks refresh-token expiry) and the cache (writable, schema, counts). One line "
    "per check with its fix; exit 0 when nothing failed (warnings allowed), 1 otherwise.")

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``status`` is ok, warn or FAIL; ``fix`` says what to do (empty
    when nothing is to be done)."""

    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def line(self) -> str:
        """``FAIL connectwise authenticated: HTTP 401 ... -> fix: ...``."""
        text = f"{self.status:<4} {self.name}: {self.detail}"
        if self.fix and self.status != OK:
            text += f" -> fix: {self.fix}"
        return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-network", action="store_true",
                        help="check the config and the cache only (no request to any system)")


def run_checks(config_arg: str | None = None, db_arg: str | None = None, *,
               demo: bool = False, network: bool = True,
               transport: httpx.BaseTransport | None = None,
               now: datetime | None = None,
               progress: Callable[[Check], None] | None = None) -> list[Check]:
    """Every check, in order. Never raises for what it finds (each problem is a
    FAIL line); ``progress`` sees each check as it is made."""
    from recon_tui.onboarding.doctor_local import cache_checks, config_checks
    from recon_tui.onboarding.doctor_systems import system_checks
    from recon_tui.paths import resolve_cache_path

    checks: list[Check] = []

    def add(found: list[Check]) -> None:
        for check in found:
            checks.append(check)
            if progress is not None:
                progress(check)

    outcome = config_checks(config_arg, demo=demo)
    add(outcome.checks)
    config = outcome.config
    is_demo = demo or (config is not None and config.is_demo and outcome.path is None)
    if config is not None and not is_demo and network:
        add(system_checks(config, config_path=outcome.path, transport=transport, now=now))
    try:
        cache_path = resolve_cache_path(db_arg, demo=is_demo)
    except OSError as exc:  # pragma: no cover - a path that cannot even be named
        add([Check("cache", FAIL, str(exc), "name a cache file with --db")])
        return checks
    add(cache_checks(Path(cache_path), config=config))
    return checks


def run(args: argparse.Namespace) -> int:
    from recon_tui.scrub import scrub
    from recon_tui.text import printable

    def show(check: Check) -> None:
        print(printable(scrub(check.line())), flush=True)

    checks = run_checks(getattr(args, "config", None), getattr(args, "db", None),
                        demo=bool(getattr(args, "demo", False)),
                        network=not args.no_network, progress=show)
    failed = [c for c in checks if c.failed]
    warned = [c for c in checks if c.status == WARN]
    summary = (f"{len(checks)} checks: {len(failed)} failed, {len(warned)} warnings"
               if failed or warned else f"{len(checks)} checks: all ok")
    print(summary)
    sys.stdout.flush()
    return 1 if failed else 0
