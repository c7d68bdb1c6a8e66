"""One validation pass over a parsed TOML document, collecting every problem it finds.

Which keys exist, their types, bounds, kinds and checks all come from the model
(through :data:`SCHEMA`); this module only walks the document in file order
and turns each problem into a :class:`ConfigError` naming the ``[section] key``.
Values are echoed only when they are not secrets, and cut short when long.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recon_tui.config.checks import quote
from recon_tui.config.errors import ConfigError
from recon_tui.config.errors import config_key as _key
from recon_tui.config.model import Concurrency, Config
from recon_tui.config.schema import (
    CONCURRENCY,
    DEFAULT_KIND,
    KIND_SCHEMA,
    KINDS,
    MODELS,
    REQUIRED,
    SCHEMA,
    SECTIONS,
    VARIANTS,
)
from recon_tui.config.secret import Secret
from recon_tui.config.values import Invalid, bounds_problem, check_value, describe, text


def _suggest(name: str, known: list[str]) -> str:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _kind_in(table: Mapping[str, Any]) -> str | None:
    kind = table.get("kind")
    return kind.strip() or None if isinstance(kind, str) else None


class _Parser:
    """One validation pass over a parsed TOML document, collecting every problem."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.errors: list[ConfigError] = []

    def fail(self, key: str | None, problem: str) -> None:
        self.errors.append(ConfigError(self.file, key, problem))

    # -- keys
    def section(self, doc: Mapping[str, Any], section: str) -> dict[str, Any] | None:
        """Check one section's keys and values; None when absent or not a table."""
        if section not in doc:
            return None
        table = doc[section]
        if not isinstance(table, dict):
            self.fail(_key(section), f"expected a table, got {describe(table)}")
            return None
        schema = SCHEMA[section]
        kind = _kind_in(table) if "kind" in table else DEFAULT_KIND.get(section)
        own = KIND_SCHEMA[kind] if kind in KINDS.get(section, ()) else schema
        out: dict[str, Any] = {}
        for name, raw in table.items():
            key = _key(section, name)
            spec = schema.get(name)
            if spec is None:
                self.fail(key, self.unknown_key(section, name))
                continue
            if spec.for_kind and kind in KINDS.get(section, ()) and spec.for_kind != kind:
                self.fail(key, f'only applies when kind = "{spec.for_kind}" '
                          f'(this section has kind = "{kind}")')
                continue
            spec = own[name]
            try:
                value = text(raw, spec) if name == "kind" else check_value(raw, spec, kind)
            except Invalid as bad:
                self.fail(key, bad.problem)
                continue
            out[name] = Secret(value, key=key, file=self.file) if spec.kind == "secret" else value
        return out

    def unknown_key(self, section: str, name: str) -> str:
        hint = _suggest(name, list(SCHEMA[section]))
        if not hint:
            homes = [s for s, keys in SCHEMA.items() if s != section and name in keys]
            if homes:
                hint = f" (it belongs in [{homes[0]}])"
        return f"unknown key '{name}'{hint}"

    def kind(self, section: str, values: dict[str, Any]) -> str | None:
        """The section's ``kind``, one of the model's; its default when the file has none."""
        allowed = KINDS[section]
        if "kind" not in values:
            default = SCHEMA[section]["kind"].default
            if default is None:
                options = ", ".join(f'"{k}"' for k in allowed)
                self.fail(_key(section, "kind"), f"missing (one of {options})")
            values["kind"] = default
            return default
        kind = values["kind"]
        if kind not in allowed:
            options = ", ".join(f'"{k}"' for k in allowed)
            hint = difflib.get_close_matches(kind.lower(), list(allowed), n=1, cutoff=0.6)
            tail = f' (did you mean "{hint[0]}"?)' if hint else ""
            self.fail(_key(section, "kind"), f"expected one of {options}, got {quote(kind)}{tail}")
            return None
        return kind

    # -- sections
    def tagged(self, doc: Mapping[str, Any], section: str) -> Any:
        """``[ledger]`` or ``[psa]``: checked keys, a known kind, its required keys."""
        values = self.section(doc, section)
        if values is None:
            return None
        if "kind" in doc[section] and "kind" not in values:
            return None  # a bad kind value, already reported
        kind = self.kind(section, values)
        if kind is None:
            return None
        complete = True
        for name in REQUIRED[kind]:
            if name not in doc[section]:
                self.fail(_key(section, name), f'missing (required when kind = "{kind}")')
            complete = complete and name in values
        return VARIANTS[section][kind](**values) if complete else None

    def plain(self, doc: Mapping[str, Any], section: str) -> Any:
        """``[portal]``, ``[sync]``, ``[report]``: every key optional."""
        values = self.section(doc, section) or {}
        if "max_concurrency" in values:
            values["max_concurrency"] = self.concurrency(values["max_concurrency"])
        return SECTIONS[section](**values)

    def concurrency(self, table: Mapping[str, Any]) -> Concurrency:
        """``max_concurrency = { qbo = 10, connectwise = 4 }``: each 1..the API's limit;
        a system left out keeps its default, a bad value is reported and defaulted."""
        values: dict[str, int] = {}
        for name, raw in table.items():
            key = _key("sync", f"max_concurrency.{name}")
            spec = CONCURRENCY.get(name)
            if spec is None:
                if name == "autotask":
                    self.fail(key, "Autotask pages are read one after another (each page's "
                              "link comes from the one before); remove autotask")
                else:
                    known = ", ".join(CONCURRENCY)
                    self.fail(key, f"unknown system '{name}'"
                              f"{_suggest(name, list(CONCURRENCY))}; known: {known}")
                continue
            try:
                values[name] = check_value(raw, spec, None)
            except Invalid:
                self.fail(key, bounds_problem(spec, describe(raw)))
        return Concurrency(**values)

    # -- the document
    def document(self, doc: Mapping[str, Any]) -> Config:
        """Check every section in file order, so problems are listed top to bottom."""
        parsed: dict[str, Any] = {}
        for name, value in doc.items():
            if name in MODELS:
                read = self.tagged if name in KINDS else self.plain
                parsed[name] = read(doc, name)
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
        present = {name: section for name, section in parsed.items() if section is not None}
        return Config(**present, path=self.file)


def parse_config(data: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate an already-parsed TOML document; *path* is only used in messages.

    Raises ConfigError (the first problem; ``.errors`` has all of them).
    """
    return _Parser(path).document(data)
