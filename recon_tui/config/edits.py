"""What a settings screen may show and change: masked summaries, checked edits."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import date

from recon_tui.config.errors import ConfigError
from recon_tui.config.errors import config_key as _key
from recon_tui.config.files import config_to_dict, section_dict
from recon_tui.config.model import Config
from recon_tui.config.parser import parse_config
from recon_tui.config.schema import EDITABLE_KEYS, SCHEMA
from recon_tui.config.secret import Secret


def redacted_summary(config: Config) -> dict[str, dict[str, str]]:
    """What a settings screen may show: every value as text, secrets masked.

    Inline secrets become ``********``; env references are shown (``env:QBO_SECRET``)
    because naming a variable reveals nothing. Unconfigured sections are empty.
    """
    summary: dict[str, dict[str, str]] = {
        "config": {
            "path": str(config.path) if config.path is not None else "(none)",
            "mode": "demo" if config.is_demo else "live",
        }
    }
    for name in ("ledger", "psa"):
        section = getattr(config, name)
        values = section_dict(section, lambda s: s.display) if section is not None else {}
        summary[name] = {k: _text(v) for k, v in values.items()}
    summary["portal"] = {
        "client_admin_security_level": str(config.portal.client_admin_security_level)
    }
    return summary


def _text(value: object) -> str:
    """A value as a screen shows it; booleans the way TOML spells them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date) else str(value)


def _secrets(config: Config) -> Iterator[Secret]:
    for section in (config.ledger, config.psa):
        if section is None:
            continue
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if isinstance(value, Secret):
                yield value


def unresolved_secrets(
    config: Config, environ: Mapping[str, str] | None = None
) -> list[ConfigError]:
    """Every ``env:`` secret whose variable is missing, for a pre-flight check before a sync."""
    problems: list[ConfigError] = []
    for secret in _secrets(config):
        try:
            secret.reveal(environ)
        except ConfigError as exc:
            problems.append(exc)
    return problems


# --------------------------------------------------------------------------- settings edits
#: Edited as a switch (the text "true" or "false" here).
BOOLEAN_KEYS = frozenset(name for specs in SCHEMA.values() for name, spec in specs.items()
                         if spec.kind == "bool")


def editable_values(config: Config) -> dict[str, dict[str, str]]:
    """Current values of the editable keys, as text, for present sections only."""
    doc = config_to_dict(config)
    out: dict[str, dict[str, str]] = {}
    for section, keys in EDITABLE_KEYS.items():
        if section not in doc:
            continue
        values = {k: doc[section][k] for k in keys if k in doc[section]}
        out[section] = {k: _text(v) for k, v in values.items()}
    return out


def with_edits(config: Config, edits: Mapping[str, Mapping[str, str]]) -> Config:
    """A new Config with the edited values, validated exactly like a file (one
    ConfigError line naming the key on a bad value). Secrets keep their stored form."""
    doc = config_to_dict(config)
    for section, values in edits.items():
        for key, text in values.items():
            if key not in EDITABLE_KEYS.get(section, ()) or section not in doc:
                raise ConfigError(config.path, _key(section, key), "not editable here")
            text = text.strip()
            kind = SCHEMA[section][key].kind
            if kind == "int":
                try:
                    doc[section][key] = int(text)
                except ValueError:
                    doc[section][key] = text  # the parser reports the wrong type
            elif kind == "bool":
                flag = {"true": True, "false": False}.get(text.casefold())
                doc[section][key] = text if flag is None else flag
            elif text == "":
                doc[section].pop(key, None)
            else:
                doc[section][key] = text
    return parse_config(doc, config.path)
