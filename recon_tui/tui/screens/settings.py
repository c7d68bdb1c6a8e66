"""Settings: portal level, endpoints and account ids, and whether recon-tui may
write to each system (``allow_writes``, a switch).

Secrets are shown masked (or as their ``env:VAR`` reference) and are never
editable here. Saving validates like loading a file, writes atomically with
mode 0600 and takes effect at once: the next sync uses the new endpoints.
Which keys are shown, under which label, as a switch or masked, comes from the
config model (``recon_tui.config.SCHEMA``); only the section headings are here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Header, Input, Label, Static

from recon_tui.config import (
    KIND_TITLES,
    SCHEMA,
    ConfigError,
    default_config_path,
    editable_values,
    label,
    redacted_summary,
    save_config,
    with_edits,
)
from recon_tui.text import printable
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import TYPING_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.path_line import PathLine
from recon_tui.tui.widgets.printable_input import PrintableInput

#: The sections the screen shows, in its order, and their headings (the keys,
#: their labels and which are switches come from the config model).
SECTION_TITLES = {"portal": "Portal", "ledger": "Ledger", "psa": "PSA"}


def field_id(section: str, key: str) -> str:
    return f"set-{section}-{key}"


class SettingsScreen(ReconScreenMixin, Screen[None]):
    """ctrl+s saves; Escape leaves without saving."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="settings_save"),
        Binding("escape", "back", "Back", id="settings_back"),
        *TYPING_HELP_QUIT,
    ]

    @property
    def target(self) -> Path:
        return self.recon_app.config.path or default_config_path()

    def compose(self) -> ComposeResult:
        config = self.recon_app.config
        yield Header()
        with VerticalScroll(id="settings-body"):
            yield Static(Text("Settings (Escape leaves without saving)",
                              style="bold"))
            yield PathLine(self.target, prefix="ctrl+s saves them to ", id="settings-path")
            yield Static(id="settings-status")
            values = editable_values(config)
            summary = redacted_summary(config)
            for section in (s for s in SECTION_TITLES if s in values):
                keys = values[section]
                section_config = getattr(config, section)
                kind = getattr(section_config, "kind", None)
                title = SECTION_TITLES[section]
                if kind in KIND_TITLES:
                    title = f"{title} ({KIND_TITLES[kind]})"
                yield Static(Text(title, style="bold underline"), classes="settings-section")
                if kind:
                    yield Static(Text(f"kind: {printable(kind)} (change it in the file)",
                                      style="dim"))
                for key, value in keys.items():
                    with Horizontal(classes="settings-row"):
                        yield Label(label(section, key), classes="settings-label")
                        if SCHEMA[section][key].kind == "bool":
                            yield Checkbox("on", value=value == "true",
                                           id=field_id(section, key))
                            continue
                        # Shown safely, kept exact: saving rewrites what the file said.
                        yield PrintableInput(value=value, id=field_id(section, key))
                for key, shown in summary.get(section, {}).items():
                    if SCHEMA[section][key].kind == "secret":
                        with Horizontal(classes="settings-row"):
                            yield Label(f"{key} (secret)", classes="settings-label")
                            yield Static(Text(printable(shown), style="dim"),
                                         classes="settings-secret")
            if config.is_demo:
                yield Static(Text("Demo mode: connect real accounts by writing [ledger] and "
                                  "[psa] in the file (see config.example.toml).", style="dim"))
        yield KeyFooter()

    def on_mount(self) -> None:
        first = self.query(Input).first()
        first.focus()

    def _edits(self) -> dict[str, dict[str, str]]:
        edits: dict[str, dict[str, str]] = {}
        for section, keys in editable_values(self.recon_app.config).items():
            for key in keys:
                if SCHEMA[section][key].kind == "bool":
                    on = self.query_one(f"#{field_id(section, key)}", Checkbox).value
                    edits.setdefault(section, {})[key] = "true" if on else "false"
                    continue
                edits.setdefault(section, {})[key] = self.query_one(
                    f"#{field_id(section, key)}", Input).value
        return edits

    def action_save(self) -> None:
        status = self.query_one("#settings-status", Static)
        app = self.recon_app
        try:
            new = with_edits(app.config, self._edits())
            save_config(new, self.target)
        except ConfigError as exc:
            status.update(Text(printable(exc), style="bold red"))
            return
        endpoints_changed = (new.ledger, new.psa) != (app.config.ledger, app.config.psa)
        app.apply_config(dataclasses.replace(new, path=self.target),
                         reconnect=endpoints_changed)
        status.update(Text("Saved to the file above (mode 0600); in effect now.",
                           style="bold green"))
        app.broadcast(CacheChanged)

    def action_back(self) -> None:
        self.app.pop_screen()
