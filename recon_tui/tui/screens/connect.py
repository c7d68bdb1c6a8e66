"""Connect my accounts, from the TUI: the same flows as ``recon-tui connect``.

QuickBooks Online: the consent address is shown as text (and opened in a
browser where there is one); the answer comes back on the loopback redirect, or
the tech pastes the address the browser ended on. ConnectWise or Autotask: the
answers in a form, one authenticated call, then saved. Every network step runs
in a worker thread and posts its outcome back, so the screen never blocks.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Header, Input, Select, Static
from textual.worker import get_current_worker

from recon_tui.config import PSA_KIND_TITLES, PSA_KINDS, ConfigError, load_config
from recon_tui.config.schema import prompts
from recon_tui.text import printable
from recon_tui.tui.screens.base import TYPING_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.path_line import PathLine
from recon_tui.tui.widgets.printable_input import PrintableInput

#: How long the screen waits for the browser before it gives up (the code expires).
WAIT_SECONDS = 600.0
#: The app's short-screen breakpoint (ReconApp.VERTICAL_BREAKPOINTS).
SHORT_ROWS = 32
#: The PSA kinds to choose from, as the model names them.
KIND_CHOICES = [(PSA_KIND_TITLES[kind], kind) for kind in PSA_KINDS]
#: Each kind's fields: the container, then per ``[psa]`` key its widget id and the
#: connect flow's answer name. Which keys, their prompts and which are typed
#: hidden (secrets) come from the config model.
FORM = {"connectwise": "cw", "autotask": "at"}
ANSWERS = {"company_id": ("cw-company", "company"), "public_key": ("cw-public", "public_key"),
           "private_key": ("cw-private", "private_key"),
           "client_id": ("cw-client-id", "client_id"), "username": ("at-user", "user"),
           "secret": ("at-secret", "secret"),
           "integration_code": ("at-code", "integration_code")}


def _has_display() -> bool:
    """A browser can open here (not a text browser taking over this terminal)."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class ConnectScreen(ReconScreenMixin, Screen[None]):
    """QuickBooks first, then the PSA; ctrl+o opens the book once both are saved."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="connect_back"),
        Binding("ctrl+o", "open_book", "Open my book", id="connect_open"),
        *TYPING_HELP_QUIT,
    ]

    DEFAULT_CSS = """
    #connect-body { padding: 0 1; }
    .connect-section { margin-top: 1; text-style: bold; }
    .connect-hint { color: $text-muted; }
    #cw-fields, #at-fields { height: auto; }
    ConnectScreen Input { margin: 0; }
    ConnectScreen Button { margin-top: 1; }
    .connect-status { margin-top: 1; height: auto; }
    """

    def __init__(self, config_path: Path, *, qbo_urls: dict[str, str] | None = None,
                 zone_lookup_url: str | None = None) -> None:
        super().__init__()
        self.config_path = config_path
        #: auth_url / token_url / api_url (the emulator's, in tests and the sandbox)
        self.qbo_urls = qbo_urls or {}
        self.zone_lookup_url = zone_lookup_url
        self.flow = None
        self.busy: set[str] = set()

    def compose(self) -> ComposeResult:
        from recon_tui.onboarding.qbo_connect import DEFAULT_DEV_REDIRECT

        yield Header()
        with VerticalScroll(id="connect-body"):
            yield Static(Text("Connect your accounts: 1. QuickBooks Online here, then 2. the "
                              "PSA further down (Tab walks down to it, PgDn scrolls).",
                              style="bold"), id="connect-title")
            yield PathLine(self.config_path, prefix="each connection is saved in ",
                           id="connect-path")
            yield Static("Secrets go to the OS keyring when there is one. QuickBooks Desktop "
                         "or Sage 50: see recon-tui qbwc and recon-tui import.",
                         classes="connect-hint")
            yield Static("1. QuickBooks Online", classes="connect-section")
            yield Static("Your Intuit app (developer.intuit.com > Keys and credentials). With "
                         "development keys, register the redirect URI below; production "
                         "keys need your https redirect URI, and you paste back the address "
                         "the browser ends on.", classes="connect-hint")
            yield PrintableInput(placeholder="Client ID", id="qbo-client-id")
            yield Input(placeholder="Client secret (not shown)", password=True,
                        id="qbo-secret")
            yield PrintableInput(DEFAULT_DEV_REDIRECT, placeholder="Redirect URI",
                                 id="qbo-redirect")
            yield Checkbox("Production keys", id="qbo-production")
            yield Button("Connect QuickBooks", id="qbo-go", variant="primary")
            yield Static(id="qbo-status", classes="connect-status")
            yield PrintableInput(placeholder="or paste the address the browser ended on, Enter",
                                 id="qbo-paste")
            yield Static("2. The PSA", classes="connect-section")
            yield Select(KIND_CHOICES, value="connectwise", allow_blank=False, id="psa-kind")
            for kind, prefix in FORM.items():
                with Vertical(id=f"{prefix}-fields"):
                    if kind == "connectwise":
                        yield PrintableInput(placeholder="Site, e.g. na.myconnectwise.net",
                                             id="cw-site")
                    for name, spec in prompts(kind):
                        if spec.kind == "secret":
                            yield Input(placeholder=f"{spec.prompt} (not shown)",
                                        password=True, id=ANSWERS[name][0])
                        else:
                            yield PrintableInput(placeholder=spec.prompt, id=ANSWERS[name][0])
            yield Button("Connect the PSA", id="psa-go", variant="primary")
            yield Static(id="psa-status", classes="connect-status")
            yield Static(id="connect-next", classes="connect-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#at-fields").display = False
        self._fit(self.app.size.height)
        self.query_one("#qbo-client-id", Input).focus()
        self._show_next()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        """Below 32 rows the fields drop their borders (one line each, not three), so
        the PSA section starts on the first screenful."""
        short = height < SHORT_ROWS
        for widget in self.query("Input, Button, Checkbox, Select"):
            if hasattr(widget, "compact") and widget.compact != short:
                widget.compact = short

    # -- helpers
    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    def _status(self, which: str, text: Text | str, style: str = "") -> None:
        shown = text if isinstance(text, Text) else Text(printable(text), style=style)
        self.query_one(f"#{which}-status", Static).update(shown)

    def _saved_config(self):
        try:
            return load_config(self.config_path) if self.config_path.exists() else None
        except ConfigError:
            return None

    def _show_next(self) -> None:
        config = self._saved_config()
        have = [name for name, section in (("QuickBooks", config and config.ledger),
                                           ("the PSA", config and config.psa)) if section]
        if len(have) == 2:
            text = Text("Both connected. ctrl+o opens your book (its first sync reads "
                        "everything).", style="bold green")
        elif have:
            text = Text(f"{have[0]} is connected; connect the other to open your book.",
                        style="yellow")
        else:
            text = Text("Nothing connected yet.", style="dim")
        self.query_one("#connect-next", Static).update(text)

    # -- QuickBooks
    @on(Button.Pressed, "#qbo-go")
    def _start_qbo(self) -> None:
        from recon_tui.onboarding.qbo_flow import QboConnectError, QboFlow

        if "qbo" in self.busy:
            return
        try:
            flow = QboFlow(self.config_path, self._value("#qbo-client-id"),
                           self._value("#qbo-secret"), self._value("#qbo-redirect"),
                           production=self.query_one("#qbo-production", Checkbox).value,
                           **self.qbo_urls)
        except QboConnectError as exc:
            self._status("qbo", str(exc), "bold red")
            return
        self.busy.add("qbo")
        self.flow = flow
        self._status("qbo", "Starting…", "dim")
        self._qbo_worker(flow)

    @on(Input.Submitted, "#qbo-paste")
    def _pasted(self, event: Input.Submitted) -> None:
        if self.flow is None:
            self._status("qbo", "Press Connect QuickBooks first; then paste the address the "
                         "browser ends on.", "yellow")
            return
        self.flow.offer(event.value)
        event.input.value = ""

    @work(thread=True, exclusive=True, group="connect-qbo", name="connect QuickBooks")
    def _qbo_worker(self, flow) -> None:
        worker = get_current_worker()
        lines: list[str] | None = None
        error: str | None = None
        try:
            request = flow.start()
            self.app.call_from_thread(self._show_url, request.url(), flow.listens)
            if _has_display():
                import webbrowser

                with contextlib.suppress(webbrowser.Error):
                    webbrowser.open(request.url(), new=2)
            answer = flow.wait(WAIT_SECONDS, lambda: worker.is_cancelled)
            if answer is None:
                error = ("no answer from the browser in time; nothing saved: press Connect "
                         "QuickBooks again")
            else:
                lines = flow.finish(answer)
        except Exception as exc:  # every failure is one line on the screen
            error = _one_line(exc)
        finally:
            flow.close()
        if not worker.is_cancelled:
            self.app.call_from_thread(self._qbo_done, lines, error)

    def _show_url(self, url: str, listening: bool) -> None:
        text = Text("Open this address to sign in to QuickBooks and connect recon-tui:\n",
                    style="bold")
        text.append(printable(url) + "\n", style="underline cyan")
        text.append("Waiting for the browser to come back… (if it ran elsewhere, paste the "
                    "address it ended on below)" if listening else
                    "After Connect, copy the whole address the browser ends on and paste it "
                    "below.", style="dim")
        self._status("qbo", text)

    def _qbo_done(self, lines: list[str] | None, error: str | None) -> None:
        self.busy.discard("qbo")
        self.flow = None
        if error:
            self._status("qbo", error, "bold red")
        else:
            self._status("qbo", Text("\n".join(printable(line) for line in lines or []),
                                     style="green"))
        self._show_next()

    # -- the PSA
    @on(Select.Changed, "#psa-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self.query_one("#cw-fields").display = event.value == "connectwise"
        self.query_one("#at-fields").display = event.value == "autotask"

    @on(Button.Pressed, "#psa-go")
    def _start_psa(self) -> None:
        if "psa" in self.busy:
            return
        self.busy.add("psa")
        kind = self.query_one("#psa-kind", Select).value
        answers = {ANSWERS[name][1]: self._value(f"#{ANSWERS[name][0]}")
                   for name, _spec in prompts(str(kind))}
        if kind == "autotask" and self.zone_lookup_url:
            answers["lookup_url"] = self.zone_lookup_url
        if kind == "connectwise":
            answers["site"] = self._value("#cw-site")
        self._status("psa", "Checking…", "dim")
        self._psa_worker(str(kind), answers)

    @work(thread=True, exclusive=True, group="connect-psa", name="connect the PSA")
    def _psa_worker(self, kind: str, answers: dict[str, str]) -> None:
        from recon_tui.onboarding.psa_flows import connect_autotask, connect_connectwise

        lines: list[str] | None = None
        error: str | None = None
        try:
            connect = connect_autotask if kind == "autotask" else connect_connectwise
            lines = connect(self.config_path, **answers)
        except Exception as exc:  # every failure is one line on the screen
            error = _one_line(exc)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._psa_done, lines, error)

    def _psa_done(self, lines: list[str] | None, error: str | None) -> None:
        self.busy.discard("psa")
        if error:
            self._status("psa", error, "bold red")
        else:
            self._status("psa", Text("\n".join(printable(line) for line in lines or []),
                                     style="green"))
        self._show_next()

    # -- keys
    def action_open_book(self) -> None:
        config = self._saved_config()
        if config is None or config.ledger is None or config.psa is None:
            self.notify("Connect QuickBooks and the PSA first.", severity="warning")
            return
        self.recon_app.use_live_config(config)

    def action_back(self) -> None:
        self.workers.cancel_group(self, "connect-qbo")
        self.app.pop_screen()


def _one_line(exc: BaseException) -> str:
    """A failure as the tech reads it: the first line, no secret."""
    from recon_tui.scrub import scrub

    text = str(exc).strip().splitlines()
    return scrub(text[0]) if text else type(exc).__name__
