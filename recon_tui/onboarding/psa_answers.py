"""What ``connect connectwise`` and ``connect autotask`` share: asking for what a
flag did not give (secrets without echo), where the config goes, and saving the
``[psa]`` section with its secrets stashed in the OS keyring when there is one.

Answers come from the terminal, or, when stdin is not one (a script, a test),
one line each from stdin in the order the prompts are printed, so a flow can be
driven end to end without a keyboard."""

from __future__ import annotations

import getpass
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from recon_tui.cli_common import CliError
from recon_tui.config import CONFIG_ENV_VAR, Config, ConfigError, default_config_path
from recon_tui.config.schema import keys_of_other_kinds
from recon_tui.connectors.base import ConnectorError

_NAME_PART = re.compile(r"[^A-Za-z0-9._@:+-]")


def _line(prompt: str, stdin: TextIO, what: str, flag: str) -> str:
    if stdin.isatty():
        try:
            return input(prompt)
        except EOFError:
            raise CliError(f"no answer for {what}; pass {flag}") from None
    print(prompt, flush=True, file=sys.stderr)  # no echo to end the line: end it here
    line = stdin.readline()
    if not line:
        raise CliError(f"no answer for {what} on stdin; pass {flag}")
    return line.rstrip("\r\n")


def ask(what: str, given: str | None, *, flag: str,
        check: Callable[[str], str | None] | None = None,
        stdin: TextIO | None = None) -> str:
    """``given`` (a flag's value) or the user's answer, stripped; ``check`` returns
    a problem (one line) or None. A bad flag fails at once; a bad answer too (the
    next line of a script would be an answer to the wrong question)."""
    stdin = stdin or sys.stdin
    value = given.strip() if given is not None else _line(f"{what}: ", stdin, what, flag).strip()
    if not value:
        raise CliError(f"{what} must not be empty ({flag})")
    problem = check(value) if check else None
    if problem:
        raise CliError(f"{flag} {value!r}: {problem}" if given is not None
                       else f"{what} {value!r}: {problem}")
    return value


def ask_secret(what: str, *, flag_hint: str, stdin: TextIO | None = None) -> str:
    """A secret, never echoed: getpass on a terminal, else one line of stdin."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        try:
            value = getpass.getpass(f"{what} (not shown): ")
        except EOFError:
            raise CliError(f"no answer for {what}; {flag_hint}") from None
    else:
        print(f"{what} (not shown): ", flush=True, file=sys.stderr)
        value = stdin.readline()
        if not value:
            raise CliError(f"no answer for {what} on stdin; {flag_hint}")
    value = value.strip()
    if not value:
        raise CliError(f"{what} must not be empty")
    from recon_tui.scrub import register

    register(value)
    return value


def config_target(config_arg: str | None) -> Path:
    """Where ``connect`` writes: ``--config``, ``$RECON_TUI_CONFIG``, else the user
    config file (created if need be, unlike the other commands, which must find it)."""
    for named in (config_arg, os.environ.get(CONFIG_ENV_VAR)):
        if named and named.strip():
            return Path(named.strip()).expanduser()
    return default_config_path()


def account_name(*parts: str) -> str:
    """A keyring account (``connectwise/<host>/<company>``) from any text: characters
    a keyring entry name does not take become ``_``."""
    return "/".join(_NAME_PART.sub("_", part) or "_" for part in parts)


def stash(key: str, value: str, account: str) -> tuple[str, str]:
    """(what to write into ``[psa] key``, where the value went, for the user)."""
    from recon_tui.secret_store import stash_secret

    result = stash_secret("psa", key, value, account=account)
    return result.stored_form, result.where


def save_psa(path: Path, kind: str, values: Mapping[str, object]) -> Config:
    """Write ``[psa]`` of ``kind`` into the config at ``path`` (comments kept): the
    given keys set, the other kind's keys removed (they would not load). Raises
    CliError with the config's own lines when the result would not load."""
    from recon_tui.config.store import update_config

    changes: dict[str, object | None] = dict.fromkeys(keys_of_other_kinds("psa", kind))
    changes.update({"kind": kind, **values})
    try:
        return update_config(path, {"psa": changes})
    except ConfigError as exc:
        lines = [str(e) for e in getattr(exc, "errors", None) or [exc]]
        raise CliError("\n".join(lines)) from exc


def refused(exc: ConnectorError, *, unauthorised: str, forbidden: str) -> CliError:
    """A check call the PSA refused, with what to fix for a 401 or a 403."""
    hint = {401: unauthorised, 403: forbidden}.get(exc.status or 0, "")
    return CliError(f"{exc}{'; ' + hint if hint else ''}", 1)
