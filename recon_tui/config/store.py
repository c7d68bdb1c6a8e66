"""Change a few keys of the user's config file and keep everything else as they wrote it.

A config file is hand-edited: comments say why a value is what it is, blank
lines group things, keys sit in an order someone chose. Rewriting the file from
a :class:`Config` (what ``save_config`` used to do with tomli_w) erased all of
that on every save from the settings screen. :func:`update_config` edits the
parsed document with tomlkit, which round-trips comments, blank lines, key
order and formatting, and touches only the keys named in *changes*.

What reaches the disk is checked first: the new text is read back with
``tomllib`` (the reader :func:`load_config` uses) and validated with
:func:`parse_config`, so a change that would not load is refused with that
ConfigError and the file stays as it was. The write is atomic and mode 0600
(:func:`recon_tui.atomic.write_private_file`).

Two writers at once (``recon-tui connect`` while the settings screen saves)
are not serialised: the later write wins whole, as with any editor.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recon_tui.atomic import write_private_file
from recon_tui.config.errors import ConfigError
from recon_tui.config.errors import config_key as _key
from recon_tui.config.model import Config
from recon_tui.config.parser import parse_config
from recon_tui.config.secret import Secret

if TYPE_CHECKING:
    import tomlkit

Changes = Mapping[str, Mapping[str, object | None]]


def config_file_target(path: Path | str) -> Path:
    """The file to write: ``~`` expanded, a dotfiles symlink followed to the real file."""
    path = Path(path).expanduser()
    return path.resolve() if path.is_symlink() else path


def read_document(path: Path, *, editing: bool = True) -> tuple[str | None, dict[str, Any]]:
    """The file's text (None when it does not exist) and its tomllib reading: the
    one reader of a config file, for loading it and for editing it (``editing``
    adds "nothing was changed" to a TOML error).

    Raises ConfigError for a file that cannot be read, is not UTF-8 or not TOML.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, {}
    except IsADirectoryError:
        raise ConfigError(path, None, "is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(path, None, "permission denied: cannot read the file") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: tolerate the byte-order mark some Windows editors add.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            path, None, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line})"
        ) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        tail = "; nothing was changed" if editing else ""
        raise ConfigError(path, None, f"invalid TOML: {exc}{tail}") from None


def update_config(path: Path | str, changes: Changes) -> Config:
    """Set (or, for None, remove) ``[section] key`` values in the config at *path*.

    Creates the file (0600, new parent folders 0700) or the section when
    missing; a section left with no keys by removals goes too (an empty
    ``[psa]`` would not load). Values are str, int, bool, date or a
    :class:`Secret` (written in its stored form). Returns the Config as it now
    loads. Raises ConfigError, with the file untouched, when the file is not
    TOML or the result would not load.
    """
    import tomlkit  # an edit only: loading a config (every launch) reads it with tomllib
    import tomlkit.exceptions

    path = config_file_target(path)
    text, _ = read_document(path)
    try:
        doc = tomlkit.parse(text) if text is not None else tomlkit.document()
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(path, None, f"invalid TOML: {exc}; nothing was changed") from None
    for section, values in changes.items():
        _apply_section(doc, section, values, path)
    payload = tomlkit.dumps(doc)
    if text and "\r\n" in text and "\n" not in text.replace("\r\n", ""):
        payload = re.sub(r"(?<!\r)\n", "\r\n", payload)  # a Windows file stays CRLF
    try:
        written = tomllib.loads(payload)
    except tomllib.TOMLDecodeError as exc:  # tomlkit wrote what tomllib cannot read
        raise ConfigError(path, None, f"the change would not be valid TOML ({exc}); "
                          "nothing was changed") from None
    if not written:
        raise ConfigError(path, None, "the change would leave no settings in the file; "
                          "nothing was changed")
    config = parse_config(written, path)
    _make_parents(path.parent)
    try:
        write_private_file(path, payload.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(path, None, f"cannot write the file: {exc.strerror or exc}") from None
    return config


def _apply_section(
    doc: tomlkit.TOMLDocument, section: str, values: Mapping[str, object | None], path: Path
) -> None:
    """Apply one section's changes in place, keeping each kept key's comment."""
    import tomlkit

    table = doc.get(section)
    if table is not None and not hasattr(table, "items"):
        raise ConfigError(path, _key(section), "is a value in the file, not a section; "
                          "nothing was changed")
    removed = False
    for key, value in values.items():
        if value is None:
            if table is not None and key in table:
                del table[key]
                removed = True
            continue
        if table is None:
            doc[section] = tomlkit.table()
            table = doc[section]
        _set(table, key, _toml_value(value, path, _key(section, key)))
    if removed and table is not None and len(table) == 0:
        del doc[section]


def _set(table: Any, key: str, value: object) -> None:
    """Set *key*; a new key goes where a reader looks for it, not at the table's end.

    tomlkit appends a new key after everything the table holds, and that
    includes the comment block introducing the *next* section, so a new
    ``allow_writes`` would land under the ``[psa]`` explanation. Instead it
    goes right below a commented-out ``# key = ...`` template if the section
    has one (config.example.toml documents optional keys that way), else right
    after the section's last key. An existing key keeps its place and its
    trailing comment (tomlkit replaces the value only).
    """
    import tomlkit
    from tomlkit.items import Comment, Table

    if key in table or not isinstance(table, Table):
        table[key] = value
        return
    body = table.value.body
    template = re.compile(rf"#\s*{re.escape(key)}\s*=")
    at = next((i + 1 for i, (k, item) in enumerate(body) if k is None
               and isinstance(item, Comment) and template.match(item.as_string().strip())),
              None)
    if at is None:
        at = next((i + 1 for i in range(len(body) - 1, -1, -1) if body[i][0] is not None), None)
    if at is None or at >= len(body):
        table[key] = value  # nothing after it: appending is the same place
        return
    # Container._insert_at is tomlkit's own positional insert (used by its
    # dotted-key handling); there is no public one. Covered by the tests.
    table.value._insert_at(at, key, tomlkit.item(value))


def _toml_value(value: object, path: Path, key: str) -> object:
    """What tomlkit should write for *value*; a Secret goes in its stored form."""
    if isinstance(value, Secret):
        return value.stored_form()
    if isinstance(value, bool | int | str | date):
        return value
    raise ConfigError(path, key, f"cannot write a {type(value).__name__} value; "
                      "nothing was changed")


def _make_parents(directory: Path) -> None:
    """Create missing parent folders one by one with mode 0700 (``mkdir(parents=True)``
    would give the upper ones the default mode); existing ones are left alone."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(folder, None,
                              f"cannot create the folder: {exc.strerror or exc}") from None
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask


def changes_between(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``update_config`` changes turning document *old* into *new*: keys that
    differ are set, keys only in *old* are removed (None)."""
    changes: dict[str, dict[str, Any]] = {}
    for section in [*old, *(s for s in new if s not in old)]:
        before = old.get(section, {})
        after = new.get(section, {})
        if not isinstance(before, Mapping) or not isinstance(after, Mapping):
            continue
        delta = {k: v for k, v in after.items() if k not in before or before[k] != v}
        delta.update({k: None for k in before if k not in after})
        if delta:
            changes[section] = delta
    return changes


__all__ = ["changes_between", "config_file_target", "read_document", "update_config"]
