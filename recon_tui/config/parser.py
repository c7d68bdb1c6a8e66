"""One validation pass over a parsed TOML document, collecting every problem it finds.

Each problem becomes a :class:`ConfigError` naming the ``[section] key``; values
are echoed only when they are not secrets, and cut short when long.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from recon_tui.config.errors import ConfigError
from recon_tui.config.errors import config_key as _key
from recon_tui.config.model import (
    INVOICE_NUMBERINGS,
    LEDGER_KINDS,
    MAX_CONCURRENCY_LIMITS,
    PSA_KINDS,
    Concurrency,
    Config,
    LedgerConfig,
    PortalConfig,
    PsaConfig,
    ReportConfig,
    SyncConfig,
)
from recon_tui.config.schema import PSA_URL_SUFFIX, REQUIRED, SCHEMA, Spec
from recon_tui.config.secret import ENV_PREFIX, KEYRING_PREFIX, Secret

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ECHO_LIMIT = 60
# Same rule as recon_tui.secret_store.parse_reference (kept here so loading a
# config never imports the keyring library).
_KEYRING_REF = re.compile(r"keyring:[A-Za-z0-9._@:+-]+(/[A-Za-z0-9._@:+-]+)+")


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, time):
        return "time"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _quote(text: str) -> str:
    if len(text) > _ECHO_LIMIT:
        text = text[: _ECHO_LIMIT - 3] + "..."
    return json.dumps(text, ensure_ascii=False)


def _describe(value: object, *, secret: bool = False) -> str:
    """``string "abc"``, ``integer 7``, ``table``; only the type for a secret."""
    name = _type_name(value)
    if secret or isinstance(value, dict | list):
        return name
    if isinstance(value, str):
        return f"{name} {_quote(value)}"
    if isinstance(value, bool):
        return f"{name} {'true' if value else 'false'}"
    if isinstance(value, datetime | date | time):
        return f"{name} {value.isoformat()}"
    return f"{name} {value!r}"


def _suggest(name: str, known: list[str]) -> str:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


class _Parser:
    """One validation pass over a parsed TOML document, collecting every problem."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.errors: list[ConfigError] = []

    def fail(self, key: str | None, problem: str) -> None:
        self.errors.append(ConfigError(self.file, key, problem))

    # -- values
    def value(self, section: str, name: str, raw: object, spec: Spec) -> Any:
        """Check one value against its spec; return the cleaned value or None if bad."""
        key = _key(section, name)
        if spec.kind == "bool":
            if not isinstance(raw, bool):
                quoted = " (unquoted)" if isinstance(raw, str) else ""
                self.fail(key, f"expected true or false{quoted}, got {_describe(raw)}")
                return None
            return raw
        if spec.kind == "table":
            if not isinstance(raw, dict):
                self.fail(key, f"expected a table like {{ qbo = 10 }}, got {_describe(raw)}")
                return None
            return raw
        if spec.kind == "int":
            if isinstance(raw, bool) or not isinstance(raw, int):
                self.fail(key, f"expected an integer, got {_describe(raw)}")
                return None
            return raw
        if spec.kind == "date":
            if isinstance(raw, date) and not isinstance(raw, datetime):
                return raw
            if isinstance(raw, str):
                parsed = _parse_ymd(raw.strip())
                if parsed is None:
                    self.fail(key, f"expected a date YYYY-MM-DD, got {_quote(raw)}")
                return parsed
            self.fail(key, f"expected a date YYYY-MM-DD, got {_describe(raw)}")
            return None
        if spec.kind == "secret":
            if not isinstance(raw, str):
                self.fail(key, f"expected a string, got {_describe(raw, secret=True)}")
                return None
            text = raw.strip()
            if text.startswith(ENV_PREFIX):
                var = text[len(ENV_PREFIX) :].strip()
                if not _ENV_NAME.fullmatch(var):
                    self.fail(
                        key,
                        'expected "env:VAR_NAME" with a valid environment variable name '
                        "(letters, digits and _)",
                    )
                    return None
                text = ENV_PREFIX + var
            elif text.startswith(KEYRING_PREFIX) and not _KEYRING_REF.fullmatch(text):
                self.fail(
                    key,
                    'expected "keyring:SERVICE/NAME" (like keyring:recon-tui/qbo/123/'
                    "client_secret; letters, digits and ._@:+- in each part)",
                )
                return None
            if not text:
                self.fail(key, "must not be empty")
                return None
            return Secret(text, key=key, file=self.file)
        # str, url, choice
        if section == "ledger" and name == "realm_id" and type(raw) is int:
            raw = str(raw)  # realm ids are numeric; accept them unquoted
        if not isinstance(raw, str):
            self.fail(key, f"expected a string, got {_describe(raw)}")
            return None
        text = raw.strip()
        if not text:
            self.fail(key, "must not be empty")
            return None
        if spec.kind == "url":
            return self.url(key, text)
        return text

    def url(self, key: str, text: str) -> str | None:
        """An http(s) URL with a host and no credentials, trailing slash removed."""
        if not text.lower().startswith(("http://", "https://")):
            self.fail(key, f"expected a URL starting with http:// or https://, got {_quote(text)}")
            return None
        try:
            parts = urlsplit(text)
            _ = parts.port  # raises on a malformed port
        except ValueError:
            self.fail(key, f"not a valid URL: {_quote(text)}")
            return None
        if parts.username is not None or parts.password is not None:
            # Do not echo: the URL itself carries a credential.
            self.fail(key, "must not contain a user name or password; use the credential keys")
            return None
        if not parts.hostname or any(c.isspace() for c in text):
            self.fail(key, f"not a valid URL: {_quote(text)}")
            return None
        if parts.query or parts.fragment:
            self.fail(key, f"must not contain a query string or fragment, got {_quote(text)}")
            return None
        return text.rstrip("/")

    # -- sections
    def section(self, doc: Mapping[str, Any], section: str) -> dict[str, Any] | None:
        """Validate one section's keys and types; None when absent or not a table."""
        if section not in doc:
            return None
        table = doc[section]
        if not isinstance(table, dict):
            self.fail(_key(section), f"expected a table, got {_describe(table)}")
            return None
        schema = SCHEMA[section]
        kind = table.get("kind") if isinstance(table.get("kind"), str) else None
        kind = kind.strip() if kind else None
        out: dict[str, Any] = {}
        for name, raw in table.items():
            spec = schema.get(name)
            if spec is None:
                self.fail(_key(section, name), self.unknown_key(section, name))
                continue
            if spec.for_kind and kind in PSA_KINDS and spec.for_kind != kind:
                self.fail(
                    _key(section, name),
                    f'only applies when kind = "{spec.for_kind}" '
                    f'(this section has kind = "{kind}")',
                )
                continue
            value = self.value(section, name, raw, spec)
            if value is not None:
                out[name] = value
        return out

    def unknown_key(self, section: str, name: str) -> str:
        known = list(SCHEMA[section])
        hint = _suggest(name, known)
        if not hint:
            homes = [s for s, keys in SCHEMA.items() if s != section and name in keys]
            if homes:
                hint = f" (it belongs in [{homes[0]}])"
        return f"unknown key '{name}'{hint}"

    def kind(self, section: str, values: dict[str, Any], allowed: tuple[str, ...]) -> str | None:
        kind = values.get("kind")
        if kind is None:
            return None
        if kind not in allowed:
            options = ", ".join(f'"{k}"' for k in allowed)
            hint = difflib.get_close_matches(kind.lower(), list(allowed), n=1, cutoff=0.6)
            tail = f' (did you mean "{hint[0]}"?)' if hint else ""
            self.fail(_key(section, "kind"), f"expected one of {options}, got {_quote(kind)}{tail}")
            return None
        return kind

    def require(self, section: str, kind: str, table: Mapping[str, Any], values: dict) -> bool:
        """Report required keys that are absent from the file (bad ones were already reported)."""
        ok = True
        for name in REQUIRED[kind]:
            if name not in table:
                self.fail(_key(section, name), f'missing (required when kind = "{kind}")')
                ok = False
            elif name not in values:
                ok = False
        return ok

    # -- the document
    def document(self, doc: Mapping[str, Any]) -> Config:
        """Validate every section in file order, so problems are listed top to bottom."""
        handlers: dict[str, Callable[[Mapping[str, Any]], Any]] = {
            "ledger": self.ledger,
            "psa": self.psa,
            "portal": self.portal,
            "sync": self.sync,
            "report": self.report,
        }
        parsed: dict[str, Any] = {}
        for name, value in doc.items():
            if name in handlers:
                parsed[name] = handlers[name](doc)
            elif isinstance(value, dict):
                match = difflib.get_close_matches(name, list(SCHEMA), n=1, cutoff=0.6)
                hint = f" (did you mean [{match[0]}]?)" if match else ""
                known = ", ".join(f"[{s}]" for s in SCHEMA)
                self.fail(_key(name), f"unknown section [{name}]{hint}; known sections: {known}")
            else:
                homes = [f"[{s}]" for s, keys in SCHEMA.items() if name in keys]
                where = " or ".join(homes) if homes else "a section such as [ledger]"
                self.fail(name, f"unknown top-level key '{name}'; it belongs in {where}")
        if self.errors:
            first = self.errors[0]
            first.errors = tuple(self.errors)
            raise first
        return Config(
            ledger=parsed.get("ledger"),
            psa=parsed.get("psa"),
            portal=parsed.get("portal") or PortalConfig(),
            sync=parsed.get("sync") or SyncConfig(),
            report=parsed.get("report") or ReportConfig(),
            path=self.file,
        )

    def ledger(self, doc: Mapping[str, Any]) -> LedgerConfig | None:
        values = self.section(doc, "ledger")
        if values is None:
            return None
        if "kind" not in doc["ledger"]:
            values["kind"] = "qbo"  # the only ledger so far
        kind = self.kind("ledger", values, LEDGER_KINDS)
        if kind is None:
            return None
        complete = self.require("ledger", kind, doc["ledger"], values)
        base_url = values.get("base_url")
        if base_url and "/v3/company" in base_url.lower():
            self.fail(
                _key("ledger", "base_url"),
                "expected the host root only (recon-tui appends /v3/company/{realm_id}/), "
                f"got {_quote(base_url)}",
            )
            complete = False
        realm = values.get("realm_id")
        if realm is not None and not realm.isdigit():
            self.fail(
                _key("ledger", "realm_id"),
                f"expected the numeric QuickBooks company ID, got {_quote(realm)}",
            )
            complete = False
        minor = values.get("minor_version")
        if minor is not None and minor < 1:
            self.fail(_key("ledger", "minor_version"), f"expected a positive integer, got {minor}")
            complete = False
        if not complete:
            return None
        return LedgerConfig(**values)

    def psa(self, doc: Mapping[str, Any]) -> PsaConfig | None:
        values = self.section(doc, "psa")
        if values is None:
            return None
        if "kind" not in doc["psa"]:
            options = ", ".join(f'"{k}"' for k in PSA_KINDS)
            self.fail(_key("psa", "kind"), f"missing (one of {options})")
            return None
        kind = self.kind("psa", values, PSA_KINDS)
        if kind is None:
            return None
        complete = self.require("psa", kind, doc["psa"], values)
        base_url = values.get("base_url")
        suffix, example = PSA_URL_SUFFIX[kind]
        if base_url and not base_url.lower().endswith(suffix):
            self.fail(
                _key("psa", "base_url"),
                f'expected a URL ending in "{suffix}" (like {example}), got {_quote(base_url)}',
            )
            complete = False
        numbering = values.get("invoice_numbering")
        if numbering is not None and numbering not in INVOICE_NUMBERINGS:
            options = " or ".join(f'"{n}"' for n in INVOICE_NUMBERINGS)
            self.fail(_key("psa", "invoice_numbering"),
                      f"expected {options}, got {_quote(numbering)}")
            complete = False
        client_id = values.get("client_id")
        if client_id is not None and not _is_guid(client_id):
            self.fail(
                _key("psa", "client_id"),
                "expected a GUID like 00000000-0000-0000-0000-000000000000 "
                f"(from developer.connectwise.com), got {_quote(client_id)}",
            )
            complete = False
        if not complete:
            return None
        return PsaConfig(**values)

    def portal(self, doc: Mapping[str, Any]) -> PortalConfig:
        values = self.section(doc, "portal") or {}
        level = values.get("client_admin_security_level")
        if level is not None and not 1 <= level <= 6:
            self.fail(
                _key("portal", "client_admin_security_level"),
                f"expected an integer from 1 to 6, got {level}",
            )
            return PortalConfig()
        return PortalConfig(**values)

    def sync(self, doc: Mapping[str, Any]) -> SyncConfig:
        values = self.section(doc, "sync") or {}
        percent = values.get("max_delete_percent")
        if percent is not None and not 0 <= percent <= 100:
            self.fail(_key("sync", "max_delete_percent"),
                      f"expected an integer from 0 to 100, got {percent}")
            values.pop("max_delete_percent")
        if "max_concurrency" in values:
            values["max_concurrency"] = self.concurrency(values["max_concurrency"])
        return SyncConfig(**values)

    def concurrency(self, table: Mapping[str, Any]) -> Concurrency:
        """``max_concurrency = { qbo = 10, connectwise = 4 }``: each 1..the API's limit;
        a system left out keeps its default, a bad value is reported and defaulted."""
        values: dict[str, int] = {}
        for name, raw in table.items():
            key = _key("sync", f"max_concurrency.{name}")
            limit = MAX_CONCURRENCY_LIMITS.get(name)
            if limit is None:
                if name == "autotask":
                    self.fail(key, "Autotask pages are read one after another (each page's "
                              "link comes from the one before); remove autotask")
                else:
                    known = ", ".join(MAX_CONCURRENCY_LIMITS)
                    self.fail(key, f"unknown system '{name}'"
                              f"{_suggest(name, list(MAX_CONCURRENCY_LIMITS))}; known: {known}")
                continue
            if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= limit:
                self.fail(key, f"expected an integer from 1 to {limit}, got {_describe(raw)}")
                continue
            values[name] = raw
        return Concurrency(**values)


    def report(self, doc: Mapping[str, Any]) -> ReportConfig:
        """``folder``: ``~`` expanded; whether it exists is checked when a report is
        written (one line naming the folder), not on every start."""
        folder = (self.section(doc, "report") or {}).get("folder")
        return ReportConfig(folder=Path(folder).expanduser() if folder else None)


def _parse_ymd(text: str) -> date | None:
    """A real calendar date written exactly YYYY-MM-DD, else None.

    date.fromisoformat alone would also take 20260101 and 2026-W01-1.
    """
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


_GUID = re.compile(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")


def _is_guid(text: str) -> bool:
    return _GUID.fullmatch(text) is not None



def parse_config(data: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate an already-parsed TOML document; *path* is only used in messages.

    Raises ConfigError (the first problem; ``.errors`` has all of them).
    """
    return _Parser(path).document(data)
