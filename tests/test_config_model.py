"""The config model is the one declaration: what is derived from it agrees with it.

The parser's key table, the required keys, the settings screen's fields and the
example file's documented defaults are all read off (or checked against)
``recon_tui.config.model``; these tests pin that they say the same thing.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import tomli_w

from recon_tui.config import model
from recon_tui.config.schema import (
    DEFAULT_KIND,
    EDITABLE_KEYS,
    KIND_SCHEMA,
    KINDS,
    MODELS,
    REQUIRED,
    SCHEMA,
    SECTIONS,
    VARIANTS,
    keys_of_other_kinds,
    label,
    prompts,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
_KEY_LINE = re.compile(r"^(?:#\s?)?(\w+) = (.+?)(?:\s+#.*)?$")


def _toml(value: object) -> str:
    return tomli_w.dumps({"v": value}).split(" = ", 1)[1].strip()


def _section_lines(section: str) -> list[str]:
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index(f"\n[{section}]\n") + 1
    rest = text[start + 1:]
    end = re.search(r"^\[\w+\]$", rest, re.MULTILINE)
    return text[start: start + 1 + (end.start() if end else len(rest))].splitlines()


def _documented(section: str, name: str) -> list[tuple[str, str]]:
    """(value on the key's line, the comment block above it) for each time it appears."""
    lines = _section_lines(section)
    out = []
    for at, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        if not match or match.group(1) != name:
            continue
        block: list[str] = []
        for above in reversed(lines[:at]):
            if not above.strip() or _KEY_LINE.match(above) or not above.startswith("#"):
                break
            block.append(above)
        out.append((match.group(2), " ".join(reversed(block))))
    return out


# A tagged section's kind defaults to the section's default kind, not the class's own.
DEFAULTS = list(dict.fromkeys(
    [(section, f.name, f.default) for section, classes in MODELS.items() for cls in classes
     for f in dataclasses.fields(cls)
     if f.default not in (dataclasses.MISSING, None) and f.name != "kind"]
    + [(section, "kind", kind) for section, kind in DEFAULT_KIND.items() if kind]))


def test_the_schema_is_the_model_fields() -> None:
    for section, cls in SECTIONS.items():
        if section not in VARIANTS:
            assert list(SCHEMA[section]) == [f.name for f in dataclasses.fields(cls)]
    for section, kinds in VARIANTS.items():
        for kind, cls in kinds.items():
            names = [f.name for f in dataclasses.fields(cls)]
            assert set(KIND_SCHEMA[kind]) <= set(names) <= set(SCHEMA[section])
    assert [f.name for f in dataclasses.fields(model.Config)] == [*MODELS, "path"]


def test_ledger_is_one_class_per_kind() -> None:
    assert VARIANTS["ledger"] == {"qbo": model.QboLedgerConfig, "qbd": model.QbdLedgerConfig}
    assert model.LedgerConfig is model.QboLedgerConfig  # the old name, kept for now
    assert list(KIND_SCHEMA["qbd"]) == ["kind", "qbwc_username", "qbwc_password", "listen",
                                        "company_file", "owner_id", "file_id", "allow_writes"]
    assert SCHEMA["ledger"]["realm_id"].for_kind == "qbo"
    assert SCHEMA["ledger"]["listen"].for_kind == "qbd"
    assert SCHEMA["ledger"]["allow_writes"].for_kind is None
    assert SCHEMA["ledger"]["kind"].default == "qbo"


def test_psa_is_one_class_per_kind_and_kind_is_required() -> None:
    assert VARIANTS["psa"] == {"connectwise": model.ConnectWiseConfig,
                               "autotask": model.AutotaskConfig}
    assert SCHEMA["psa"]["kind"].default is None  # a [psa] without kind is an error
    assert SCHEMA["psa"]["company_id"].for_kind == "connectwise"
    assert SCHEMA["psa"]["invoice_numbering"].for_kind == "autotask"
    assert SCHEMA["psa"]["base_url"].for_kind is None
    # the Literal aliases the rest of the app imports agree with the classes
    assert KINDS == {"ledger": model.LEDGER_KINDS, "psa": model.PSA_KINDS}


def test_the_old_psa_constructor_builds_the_kinds_class() -> None:
    cw = model.PsaConfig(kind="connectwise", base_url="https://x/apis/3.0", company_id="a",
                         public_key="p", private_key=model.Secret("k"),
                         client_id="00000000-0000-0000-0000-000000000000", username=None)
    assert isinstance(cw, model.ConnectWiseConfig) and not hasattr(cw, "username")
    with pytest.raises(TypeError):  # a required key cannot be left out any more
        model.ConnectWiseConfig(base_url="https://x/apis/3.0", company_id="a")


def test_switching_a_section_kind_removes_the_other_kinds_keys() -> None:
    assert keys_of_other_kinds("ledger", "qbo") == (
        "qbwc_username", "qbwc_password", "listen", "company_file", "owner_id", "file_id")
    assert keys_of_other_kinds("psa", "autotask") == (
        "company_id", "public_key", "private_key", "client_id", "ledger_link_field")


@pytest.mark.parametrize(("section", "name", "default"), DEFAULTS)
def test_the_example_documents_each_models_default(section: str, name: str,
                                                   default: object) -> None:
    places = _documented(section, name)
    assert places, f"[{section}] {name} is not in config.example.toml"
    for value, comment in places:
        assert value == _toml(default) or f"Default: {_toml(default)}" in comment, (
            f"[{section}] {name}: the example says {value!r} / {comment!r}, "
            f"the model's default is {default!r}")


def test_the_example_shows_the_concurrency_defaults() -> None:
    ((value, _comment),) = _documented("sync", "max_concurrency")
    for f in dataclasses.fields(model.Concurrency):
        assert f"{f.name} = {f.default}" in value


def test_required_keys_are_read_off_the_model() -> None:
    assert REQUIRED["qbo"] == ("realm_id", "client_id", "client_secret", "refresh_token")
    assert REQUIRED["qbd"] == ("qbwc_username", "qbwc_password")
    assert REQUIRED["connectwise"] == ("base_url", "company_id", "public_key", "private_key",
                                       "client_id")
    assert REQUIRED["autotask"] == ("base_url", "username", "secret", "integration_code")
    # a required key has no default in its kind's dataclass
    for kinds in VARIANTS.values():
        for kind, cls in kinds.items():
            fields = {f.name: f for f in dataclasses.fields(cls)}
            assert all(fields[n].default is dataclasses.MISSING for n in REQUIRED[kind])


def test_settings_fields_come_from_the_model() -> None:
    assert EDITABLE_KEYS["portal"] == ("client_admin_security_level",)
    assert "client_secret" not in EDITABLE_KEYS["ledger"]  # secrets are never editable
    assert all(SCHEMA[s][k].kind != "secret" for s, keys in EDITABLE_KEYS.items() for k in keys)
    assert label("psa", "allow_writes").startswith("Allow writes to the PSA")
    assert label("ledger", "realm_id") == "realm_id"


def test_the_connect_form_asks_for_each_kinds_required_keys() -> None:
    for kind in model.PSA_KINDS:
        asked = [name for name, _spec in prompts(kind)]
        assert asked == [n for n in REQUIRED[kind] if n != "base_url"]
    hidden = {name for kind in model.PSA_KINDS for name, spec in prompts(kind)
              if spec.kind == "secret"}
    assert hidden == {"private_key", "secret", "integration_code"}
