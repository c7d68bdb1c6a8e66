"""Which keys each section takes, of what type, for which kind: read off the model.

Nothing here is declared a second time: :data:`SCHEMA` is built from the type
hints and ``Annotated`` metadata of the dataclasses in :mod:`.model`, so adding
a field there adds the key to the parser, the settings screen (when editable),
the save path and the test that the example file documents every key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import msgspec

from recon_tui.config.checks import PSA_URL_SUFFIX
from recon_tui.config.model import (
    LEDGER_KINDS,
    PSA_KINDS,
    Concurrency,
    Config,
)
from recon_tui.config.secret import Secret

SpecKind = Literal["str", "int", "bool", "secret", "url", "date", "choice", "table", "path"]


@dataclass(frozen=True)
class Spec:
    """How one key is checked: its type and, for PSA keys, which kind it belongs to.

    ``hint`` is the field's type without ``None`` (what ``msgspec.convert``
    checks a value against, constraints included); ``ge``/``le`` are its
    ``msgspec.Meta`` bounds, ``choices`` a Literal's values.
    """

    kind: SpecKind
    for_kind: str | None = None  # None: shared by every kind of the section
    required: bool = False
    editable: bool = False
    label: str | None = None
    choices: tuple[str, ...] = ()
    ge: int | None = None
    le: int | None = None
    check: Callable[[Any, str | None], str | None] | None = None
    accept_int: bool = False
    prompt: str | None = None
    hint: Any = None
    default: Any = None


def _strip_none(hint: Any) -> Any:
    """``X | None`` -> ``X`` (keeping X's Annotated metadata)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return hint


def _split(hint: Any) -> tuple[Any, list[msgspec.Meta]]:
    """The bare type and the msgspec.Meta objects around it (outer and inner Annotated)."""
    metas: list[msgspec.Meta] = []
    hint = _strip_none(hint)
    while typing.get_origin(hint) is typing.Annotated:
        base, *extras = typing.get_args(hint)
        metas += [m for m in extras if isinstance(m, msgspec.Meta)]
        hint = _strip_none(base)
    return hint, metas


def _kind_of(base: Any, url: bool) -> SpecKind:
    if typing.get_origin(base) is Literal:
        return "choice"
    simple: dict[Any, SpecKind] = {bool: "bool", int: "int", Secret: "secret", date: "date",
                                   Path: "path", str: "url" if url else "str"}
    if base in simple:
        return simple[base]
    if dataclasses.is_dataclass(base):
        return "table"
    raise TypeError(f"no spec kind for {base!r}")


def spec_of(hint: Any, default: Any = None) -> Spec:
    """The Spec of one field from its type hint."""
    base, metas = _split(hint)
    extra: dict[str, Any] = {}
    bounds: dict[str, int | None] = {"ge": None, "le": None}
    for meta in metas:
        extra.update(meta.extra or {})
        for bound in bounds:
            if getattr(meta, bound) is not None:
                bounds[bound] = getattr(meta, bound)
    choices = typing.get_args(base) if typing.get_origin(base) is Literal else ()
    return Spec(kind=_kind_of(base, bool(extra.get("url"))), for_kind=extra.get("for_kind"),
                required=bool(extra.get("required")), editable=bool(extra.get("editable")),
                label=extra.get("label"), choices=tuple(choices), check=extra.get("check"),
                accept_int=bool(extra.get("accept_int")), prompt=extra.get("prompt"),
                hint=_strip_none(hint), default=default, **bounds)


def specs_of(cls: type) -> dict[str, Spec]:
    """Every field of a section dataclass as a Spec, in declaration order."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out: dict[str, Spec] = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        out[f.name] = spec_of(hints[f.name], default)
    return out


def _sections() -> dict[str, type]:
    hints = typing.get_type_hints(Config)
    return {f.name: _strip_none(hints[f.name]) for f in dataclasses.fields(Config)
            if dataclasses.is_dataclass(_strip_none(hints[f.name]))}


#: ``[section]`` name -> its dataclass, in the order of :class:`Config`.
SECTIONS: dict[str, type] = _sections()
SCHEMA: dict[str, dict[str, Spec]] = {name: specs_of(cls) for name, cls in SECTIONS.items()}
#: The kinds each tagged section takes.
KINDS: dict[str, tuple[str, ...]] = {"ledger": LEDGER_KINDS, "psa": PSA_KINDS}
#: ``[sync] max_concurrency``: system -> its Spec (bounds are the API's limit).
CONCURRENCY: dict[str, Spec] = specs_of(Concurrency)


def _required() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for section, kinds in KINDS.items():
        for kind in kinds:
            out[kind] = tuple(name for name, spec in SCHEMA[section].items()
                              if spec.required and spec.for_kind in (None, kind))
    return out


#: Keys a kind must have in the file: ``REQUIRED["autotask"]``.
REQUIRED: dict[str, tuple[str, ...]] = _required()
#: What the settings screen may edit, per section, in file order; secrets never.
EDITABLE_KEYS: dict[str, tuple[str, ...]] = {
    section: names for section, specs in SCHEMA.items()
    if (names := tuple(n for n, s in specs.items() if s.editable and s.kind != "secret"))}


def prompts(kind: str) -> tuple[tuple[str, Spec], ...]:
    """The ``[psa]`` keys a connect form asks for, for ``kind``, in file order:
    its required keys that have a prompt (``base_url`` is found, not typed)."""
    return tuple((name, SCHEMA["psa"][name]) for name in REQUIRED[kind]
                 if SCHEMA["psa"][name].prompt)


def label(section: str, name: str) -> str:
    """What a screen calls ``[section] name``: its model label, else the key."""
    return SCHEMA[section][name].label or name


__all__ = ["CONCURRENCY", "EDITABLE_KEYS", "KINDS", "PSA_URL_SUFFIX", "REQUIRED", "SCHEMA",
           "SECTIONS", "Spec", "label", "prompts", "spec_of",
           "specs_of"]
