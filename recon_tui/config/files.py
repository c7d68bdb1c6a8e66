"""Where the config file lives, and reading and writing it safely."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import platformdirs

from recon_tui.atomic import write_private_file
from recon_tui.config.errors import ConfigError
from recon_tui.config.model import APP_NAME, CONFIG_ENV_VAR, Config
from recon_tui.config.parser import parse_config
from recon_tui.config.schema import SCHEMA, Spec, specs_for, specs_of
from recon_tui.config.secret import Secret
from recon_tui.config.store import read_document


def default_config_path() -> Path:
    """Where recon-tui looks for, and a settings screen should save, the user's config."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def resolve_config_path(
    cli_path: str | None, environ: Mapping[str, str] = os.environ
) -> Path | None:
    """Pick the config file: ``--config``, then ``$RECON_TUI_CONFIG``, then the user config dir.

    None means no file anywhere, i.e. demo mode. A path the user named
    explicitly must exist, since silently falling back to demo data would hide
    a typo.
    """
    for named, origin in ((cli_path, "--config"), (environ.get(CONFIG_ENV_VAR), CONFIG_ENV_VAR)):
        if named and named.strip():
            path = Path(named.strip()).expanduser()
            if not path.exists():
                raise ConfigError(path, None, f"file not found (named by {origin})")
            return path
    default = default_config_path()
    return default if default.is_file() else None


def load_config(path: Path | str | None) -> Config:
    """Read and validate the config file; None gives :meth:`Config.default` (demo mode)."""
    if path is None:
        return Config.default()
    path = Path(path)
    text, doc = read_document(path, editing=False)
    if text is None:
        raise ConfigError(path, None, "file not found")
    if not doc:
        # An empty file is a failed save or a full disk far more often than a wish
        # for the demo; running the demo would sync demo data into the real cache.
        raise ConfigError(path, None, "the file is empty (a failed save?); fill it in from "
                          "config.example.toml, or remove it to run the demo")
    return parse_config(doc, path)


def config_to_dict(config: Config) -> dict[str, Any]:
    """The TOML document for *config*; secrets in their stored form (inline or ``env:VAR``).

    Read off the model: a key is written when it is set and is the section's
    ``kind``, required, editable (the settings screen edits this document) or
    not its default; a table (``max_concurrency``) holds only what differs.
    Meant for :func:`save_config` only: the result holds secret values.
    """
    out: dict[str, Any] = {}
    for name in SCHEMA:
        section = getattr(config, name)
        values = _section_doc(section, specs_for(name, section)) if section is not None else {}
        if values:
            out[name] = values
    return out


def _section_doc(section: object, specs: Mapping[str, Spec]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, spec in sorted(specs.items(), key=lambda item: item[0] != "kind"):
        value = getattr(section, key)
        if value is None:
            continue
        if spec.kind == "table":
            value = _section_doc(value, specs_of(type(value)))
            if not value:
                continue
        elif not (key == "kind" or spec.required or spec.editable or value != spec.default):
            continue
        if isinstance(value, Secret):
            value = value.stored_form()
        out[key] = str(value) if isinstance(value, Path) else value
    return out


def section_dict(section: object, secret: Callable[[Secret], str]) -> dict[str, Any]:
    """Fields of a section dataclass, None dropped, kind first, secrets mapped by *secret*."""
    out: dict[str, Any] = {}
    fields = sorted(dataclasses.fields(cast(Any, section)), key=lambda f: f.name != "kind")
    for f in fields:
        value = getattr(section, f.name)
        if value is None:
            continue
        out[f.name] = secret(value) if isinstance(value, Secret) else value
    return out


def save_config(config: Config, path: Path | str) -> None:
    """Write *config* to *path* atomically with mode 0600.

    The config is validated first, so a file that would not load is never
    written. A temp file in the same directory is fsynced and renamed over the
    target, so a crash leaves the old file or the new one, never half of one
    (this matters when it holds a freshly rotated QBO refresh token).

    An existing file is edited, not rewritten (:func:`update_config`): only
    the keys whose value changed are touched, so the user's comments, blank
    lines and key order survive a save from the settings screen.
    """
    import tomli_w

    from recon_tui.config.store import changes_between, config_file_target, update_config

    path = config_file_target(path)  # a dotfiles symlink keeps pointing at the real file
    doc = config_to_dict(config)
    parse_config(doc, path)
    text, existing = read_document(path)
    if text is not None and existing:
        try:
            before = config_to_dict(parse_config(existing, path))
        except ConfigError:
            before = existing  # the file does not load today: diff against what it says
        update_config(path, changes_between(before, doc))
        return
    payload = tomli_w.dumps(doc).encode("utf-8")
    try:
        write_private_file(path, payload)
    except OSError as exc:
        raise ConfigError(path, None, f"cannot write the file: {exc.strerror or exc}") from None

