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
from recon_tui.config.model import Concurrency, Config
from recon_tui.config.secret import Secret

SpecKind = Literal["str", "int", "bool", "secret", "url", "date", "choice", "table", "path"]


@dataclass(frozen=True)
class Spec:
    """How one key is checked: its type and, for a tagged section's key, the kind it
    belongs to (``for_kind``, read off which class has it; None: every kind).

    ``hint`` is the field's type without ``None`` (what ``msgspec.convert``
    checks a value against, constraints included); ``ge``/``le`` are its
    ``msgspec.Meta`` bounds, ``choices`` a Literal's values.
    """

    kind: SpecKind
    for_kind: str | None = None
    required: bool = False
    editable: bool = False
    label: str | None = None
    choices: tuple[str, ...] = ()
    ge: int | None = None
    le: int | None = None
    check: Callable[[Any, str | None], str | None] | None = None
    accept_int: bool = False
    prompt: str | None = None
    empty_ok: bool = False
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
    return Spec(kind=_kind_of(base, bool(extra.get("url"))),
                required=bool(extra.get("required")), editable=bool(extra.get("editable")),
                label=extra.get("label"), choices=tuple(choices), check=extra.get("check"),
                accept_int=bool(extra.get("accept_int")), prompt=extra.get("prompt"),
                empty_ok=bool(extra.get("empty_ok")),
                hint=_strip_none(hint), default=default, **bounds)


def specs_of(cls: type) -> dict[str, Spec]:
    """Every field of a section dataclass as a Spec, in declaration order."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out: dict[str, Spec] = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        out[f.name] = spec_of(hints[f.name], default)
    return out


def _members(hint: Any) -> tuple[type, ...]:
    """The section classes a Config field's type names: one, or a union's members."""
    base = _split(hint)[0]
    if typing.get_origin(base) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(base) if a is not type(None))
    return (base,) if dataclasses.is_dataclass(base) else ()


def _tag(hint: Any) -> dict[str, Any]:
    """The ``tagged()`` metadata of a Config field (empty for a plain section)."""
    extra: dict[str, Any] = {}
    for meta in _split(hint)[1]:
        extra.update(meta.extra or {})
    return extra


def _kind_of_class(cls: type) -> str:
    """The one value of a section class's ``kind: Literal[...]``."""
    (kind,) = typing.get_args(typing.get_type_hints(cls)["kind"])
    return str(kind)


_CONFIG_HINTS = typing.get_type_hints(Config, include_extras=True)
#: ``[section]`` name -> the class(es) it may be, in the order of :class:`Config`.
MODELS: dict[str, tuple[type, ...]] = {
    f.name: members for f in dataclasses.fields(Config)
    if (members := _members(_CONFIG_HINTS[f.name]))}
#: ``[section]`` name -> its dataclass, for the sections that are one class.
SECTIONS: dict[str, type] = {name: classes[0] for name, classes in MODELS.items()
                             if len(classes) == 1}
#: The tagged sections, and what one without ``kind`` is (None: ``kind`` is required).
DEFAULT_KIND: dict[str, str | None] = {
    name: _tag(_CONFIG_HINTS[name])["default_kind"] for name in MODELS
    if "default_kind" in _tag(_CONFIG_HINTS[name])}
#: ``VARIANTS["ledger"]["qbd"]``: the class a tagged section of that kind is.
VARIANTS: dict[str, dict[str, type]] = {
    name: {_kind_of_class(cls): cls for cls in MODELS[name]} for name in DEFAULT_KIND}
#: The kinds each tagged section takes.
KINDS: dict[str, tuple[str, ...]] = {name: tuple(v) for name, v in VARIANTS.items()}


#: Each kind's own keys, in file order: ``KIND_SCHEMA["qbd"]``.
KIND_SCHEMA: dict[str, dict[str, Spec]] = {
    kind: specs_of(cls) for kinds in VARIANTS.values() for kind, cls in kinds.items()}


def _merged(section: str) -> dict[str, Spec]:
    """Every key a section may hold, each marked with the one kind it belongs to
    (``for_kind``; None when every kind has it), the kind defaulted as the model says."""
    kinds = KINDS[section]
    names = dict.fromkeys(f.name for cls in MODELS[section] for f in dataclasses.fields(cls))
    out: dict[str, Spec] = {}
    for name in names:
        owners = [k for k in kinds if name in KIND_SCHEMA[k]]
        spec = KIND_SCHEMA[owners[0]][name]
        if len(owners) not in (1, len(kinds)):
            raise TypeError(f"[{section}] {name}: in some kinds but not all: {owners}")
        for_kind = owners[0] if len(owners) < len(kinds) else None
        if name == "kind":
            spec = dataclasses.replace(spec, choices=kinds, default=DEFAULT_KIND[section])
        out[name] = dataclasses.replace(spec, for_kind=for_kind)
    return out


SCHEMA: dict[str, dict[str, Spec]] = {
    name: _merged(name) if name in VARIANTS else specs_of(classes[0])
    for name, classes in MODELS.items()}
#: ``[sync] max_concurrency``: system -> its Spec (bounds are the API's limit).
CONCURRENCY: dict[str, Spec] = specs_of(Concurrency)
#: Keys a kind must have in the file: ``REQUIRED["autotask"]``.
REQUIRED: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name, spec in specs.items() if spec.required)
    for kind, specs in KIND_SCHEMA.items()}
#: What the settings screen may edit, per section, in file order; secrets never.
EDITABLE_KEYS: dict[str, tuple[str, ...]] = {
    section: names for section, specs in SCHEMA.items()
    if (names := tuple(n for n, s in specs.items() if s.editable and s.kind != "secret"))}


def specs_for(section: str, value: object) -> dict[str, Spec]:
    """The keys of one loaded section: its kind's own for a tagged section."""
    kind = getattr(value, "kind", None) if section in VARIANTS else None
    return KIND_SCHEMA[kind] if kind in KIND_SCHEMA else SCHEMA[section]


def keys_of_other_kinds(section: str, kind: str) -> tuple[str, ...]:
    """The keys of ``[section]`` that ``kind`` does not have: what switching a
    section to ``kind`` removes (they would not load)."""
    return tuple(name for name in SCHEMA[section] if name not in KIND_SCHEMA[kind])


def prompts(kind: str) -> tuple[tuple[str, Spec], ...]:
    """The ``[psa]`` keys a connect form asks for, for ``kind``, in file order:
    its required keys that have a prompt (``base_url`` is found, not typed)."""
    return tuple((name, KIND_SCHEMA[kind][name]) for name in REQUIRED[kind]
                 if KIND_SCHEMA[kind][name].prompt)


def label(section: str, name: str) -> str:
    """What a screen calls ``[section] name``: its model label, else the key."""
    return SCHEMA[section][name].label or name


__all__ = ["CONCURRENCY", "DEFAULT_KIND", "EDITABLE_KEYS", "KINDS", "KIND_SCHEMA", "MODELS",
           "PSA_URL_SUFFIX", "REQUIRED", "SCHEMA", "SECTIONS", "VARIANTS", "Spec",
           "keys_of_other_kinds", "label", "prompts", "spec_of", "specs_for", "specs_of"]
