"""The doctor's checks that need no network: the config file and the cache.

The cache is looked at without changing it: opened read-only (a missing cache
is not created, an older schema is not migrated; the next sync does both), and
its folder's writability is asked of the OS, not tried by writing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from recon_tui.config import Config, ConfigError, load_config, resolve_config_path
from recon_tui.config import default_config_path as _default_config_path
from recon_tui.onboarding.doctor import FAIL, OK, WARN, Check

CONNECT_HINT = "run `recon-tui connect qbo` and `recon-tui connect connectwise` (or autotask)"


@dataclass
class ConfigOutcome:
    """The config checks, and what they found (None when it does not load)."""

    checks: list[Check] = field(default_factory=list)
    config: Config | None = None
    path: Path | None = None


def config_checks(config_arg: str | None, *, demo: bool) -> ConfigOutcome:
    """Found, valid, both sides configured, every secret resolvable."""
    out = ConfigOutcome()
    if demo:
        out.config = Config.default()
        out.checks.append(Check("config", OK, "--demo: this is the demo, on the bundled "
                                "sample book (no config read)"))
        return out
    try:
        path = resolve_config_path(config_arg)
    except ConfigError as exc:
        out.checks.append(Check("config", FAIL, str(exc),
                                "name an existing file with --config, or create it with "
                                "`recon-tui connect ...`"))
        return out
    if path is None:
        out.config = Config.default()
        out.checks.append(Check(
            "config", OK, f"no config file ({_default_config_path()} does not exist): this "
            "is the demo, on the bundled sample book", CONNECT_HINT))
        return out
    out.path = path
    try:
        config = load_config(path)
    except ConfigError as exc:
        for error in getattr(exc, "errors", None) or (exc,):
            out.checks.append(Check("config", FAIL, str(error),
                                    "correct the file (config.example.toml documents every "
                                    "key), or run `recon-tui connect ...` again"))
        return out
    out.config = config
    parts = [f"[{name}] {section.kind}" for name, section in
             (("ledger", config.ledger), ("psa", config.psa)) if section is not None]
    out.checks.append(Check("config", OK, f"{path}: valid ({', '.join(parts) or 'empty'})"))
    if config.ledger is None or config.psa is None:
        missing = "[ledger] (QuickBooks Online)" if config.ledger is None else "[psa]"
        command = ("recon-tui connect qbo" if config.ledger is None
                   else "recon-tui connect connectwise (or autotask)")
        out.checks.append(Check("config", FAIL if config.is_demo else WARN,
                                f"{missing} is not configured; a sync needs both sides",
                                f"run `{command}`"))
    from recon_tui.config import unresolved_secrets

    for problem in unresolved_secrets(config):
        out.checks.append(Check("config secrets", FAIL, str(problem),
                                "set the variable (or keyring entry) it names, or run "
                                "`recon-tui connect ...` again"))
    return out


def _writable(path: Path) -> tuple[bool, str]:
    """Whether ``path`` (an existing file, or one a sync would create) can be written."""
    if path.exists():
        if not path.is_file():
            return False, f"{path} is not a regular file"
        if not os.access(path, os.R_OK | os.W_OK):
            return False, f"{path} cannot be written (permissions)"
        if not os.access(path.parent, os.W_OK | os.X_OK):
            return False, f"its folder {path.parent} cannot be written (the -wal file goes there)"
        return True, f"{path}"
    folder = path.parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return False, f"{path} does not exist and {folder} cannot be written"
    return True, f"{path} (not created yet; the first sync creates it)"


def _sync_fix(config: Config | None, *, in_app: bool = False) -> str:
    """How this config's cache gets synced: a Desktop ledger only when the Web
    Connector polls ``recon-tui qbwc serve``."""
    if config is not None and getattr(config.ledger, "kind", None) == "qbd":
        return ("keep `recon-tui qbwc serve` running and run an update in the "
                "QuickBooks Web Connector")
    return "run `recon-tui sync` (or open recon-tui and press s)" if in_app else \
        "run `recon-tui sync`"


def cache_checks(path: Path, *, config: Config | None) -> list[Check]:
    """Writable, schema version (read-only open), counts on each side."""
    from recon_tui.cache import SCHEMA_VERSION, Cache, CacheError, CacheMissing

    writable, where = _writable(path)
    checks = [Check("cache path", OK if writable else FAIL, where,
                    "" if writable else "fix the permissions, or name another file with --db")]
    if not path.exists():
        checks.append(Check("cache", WARN, "no cache yet, so nothing to count",
                            _sync_fix(config, in_app=True)))
        return checks
    try:
        cache = Cache(path, read_only=True)
    except CacheMissing:
        checks.append(Check("cache", WARN, "no cache yet", _sync_fix(config)))
        return checks
    except CacheError as exc:
        text = str(exc)
        older = "needs upgrading" in text
        checks.append(Check("cache schema", WARN if older else FAIL, text,
                            "the next `recon-tui sync` upgrades it" if older else
                            "move the file aside and run `recon-tui sync --full`, or use "
                            "another --db"))
        return checks
    try:
        checks.append(Check("cache schema", OK, f"schema {cache.schema_version} "
                            f"(this recon-tui's: {SCHEMA_VERSION})"))
        checks.extend(_count_checks(cache, config))
    except CacheError as exc:
        checks.append(Check("cache", FAIL, str(exc), "move the file aside and run "
                            "`recon-tui sync --full`"))
    finally:
        cache.close()
    return checks


def _count_checks(cache: object, config: Config | None) -> list[Check]:
    counts = cache.records.counts()  # type: ignore[attr-defined]
    states = cache.history.sync_states()  # type: ignore[attr-defined]
    out: list[Check] = []
    sides = (("psa", "PSA", f"{counts['psa_company']:,} companies, "
              f"{counts['psa_contact']:,} contacts, {counts['psa_invoice']:,} invoices",
              counts["psa_invoice"]),
             ("ledger", "ledger", f"{counts['ledger_customer']:,} customers, "
              f"{counts['ledger_invoice']:,} invoices, {counts['ledger_credit_memo']:,} credit "
              f"memos, {counts['ledger_credit']:,} credits", counts["ledger_invoice"]))
    for key, label, text, documents in sides:
        state = states.get(key)
        when = (f" ({state.kind}, last synced {state.last_synced_at:%Y-%m-%d %H:%M} UTC)"
                if state else " (never synced)")
        if state is None or documents == 0:
            out.append(Check(f"{label} counts", WARN, f"{text}{when}", _sync_fix(config)))
        else:
            out.append(Check(f"{label} counts", OK, f"{text}{when}"))
    return out
