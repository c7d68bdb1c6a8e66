"""The full-sync dialog: a date, then live progress per step, cancellable."""

from __future__ import annotations

import logging
import threading
from datetime import date

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import var
from textual.screen import ModalScreen
from textual.widgets import Input, Label, ProgressBar, Static
from textual.worker import get_current_worker

from recon_tui.cache import Cache, CacheError
from recon_tui.models import SyncRun, SyncStatus
from recon_tui.sync import (
    MassDeletion,
    SyncBusy,
    SyncProgress,
    default_since,
    parse_since,
    plan_step_names,
)
from recon_tui.text import printable
from recon_tui.tui.failures import reason
from recon_tui.tui.formatting import progress_text
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import TYPING_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.screens.confirm import ConfirmScreen
from recon_tui.tui.widgets.key_footer import KeyFooter

log = logging.getLogger(__name__)

STATUS_MARK = {
    SyncStatus.PENDING: ("·", "dim"),
    SyncStatus.RUNNING: ("▶", "bold cyan"),
    SyncStatus.SUCCEEDED: ("✓", "bold green"),
    SyncStatus.FAILED: ("✗", "bold red"),
    SyncStatus.CANCELLED: ("–", "yellow"),
}


#: What a sync's error says when the cause is a connection or a credential (the
#: connectors' one-line errors), so the doctor's checks are shown at once.
_CONNECTION_WORDS = ("HTTP 401", "HTTP 403", "invalid_grant", "cannot connect",
                     "could not connect", "connection", "timed out", "name resolution",
                     "certificate", "refused", "keyring", "environment variable")


def looks_like_connection(error: str) -> bool:
    """A failure the connection checks can explain (not a data problem)."""
    text = error.lower()
    return any(word.lower() in text for word in _CONNECTION_WORDS)


class SyncScreen(ReconScreenMixin, ModalScreen[SyncRun | None]):
    """Enter starts the sync; Escape cancels it (nothing is written) or closes."""

    BINDINGS = [
        Binding("escape", "cancel_or_close", "Cancel / close", id="sync_cancel"),
        Binding("h", "open_history", "History", id="sync_history", show=False),
        Binding("d", "doctor", "Check connections", id="sync_doctor", show=False),
        Binding("enter", "close_when_done", "Close", show=False),
        *TYPING_HELP_QUIT,
    ]

    #: A sync is reading or writing: the date is locked, Escape cancels.
    running: var[bool] = var(False, init=False)

    def __init__(self, since: date | None = None) -> None:
        super().__init__()
        self.proposed_since = since
        self.cancel_event = threading.Event()
        self.run: SyncRun | None = None
        self.step_names = plan_step_names()
        self.step_state: list[tuple[SyncStatus, str]] = [
            (SyncStatus.PENDING, "") for _ in self.step_names]
        self.fetched = [0 for _ in self.step_names]
        #: Steps that have reported reading (read, or still reading).
        self.reported: set[int] = set()

    def compose(self) -> ComposeResult:
        with Vertical(id="sync-dialog"):
            yield Static(Text("Full sync: the PSA first, then the ledger", style="bold"),
                         id="sync-title")
            yield Label("Documents changed since (YYYY-MM-DD); empty reads everything, "
                        "whatever its date:", id="since-label")
            yield Input(id="since", placeholder="empty: read everything")
            yield Static(id="since-error")
            yield Static(id="sync-steps")
            yield ProgressBar(total=len(self.step_names) * 2, show_eta=False, id="sync-bar")
            yield Static(Text("Enter starts the sync. Escape closes.", style="dim"),
                         id="sync-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        cache = self.recon_app.cache
        assert cache is not None
        since = self.proposed_since or default_since(cache)
        field = self.query_one("#since", Input)
        field.value = since.isoformat() if since else ""
        if since is None:
            self._status("First sync of this cache: every invoice, credit memo and payment is "
                         "read. Enter starts it; Escape closes.")
        field.focus()
        self._draw_steps()

    def _draw_steps(self) -> None:
        """The PSA's steps beside the ledger's, so ten steps take five lines (the
        dialog fits an 80x24 terminal)."""
        columns: dict[str, list[tuple[str, SyncStatus, str]]] = {"psa": [], "ledger": []}
        for (system, name), (status, detail) in zip(self.step_names, self.step_state,
                                                    strict=True):
            columns.setdefault(system, []).append((name, status, detail))
        table = Table.grid(padding=(0, 1), expand=True)
        for _ in range(2):
            table.add_column(width=1)
            table.add_column(no_wrap=True)
            table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        left, right = columns["psa"], columns["ledger"]
        for index in range(max(len(left), len(right))):
            cells: list[Text] = []
            for side, system in ((left, "psa"), (right, "ledger")):
                if index < len(side):
                    name, status, detail = side[index]
                    mark, style = STATUS_MARK[status]
                    cells += [Text(mark, style=style), Text(f"{system} {name}"),
                              Text(printable(detail), style="dim")]
                else:
                    cells += [Text(""), Text(""), Text("")]
            table.add_row(*cells)
        self.query_one("#sync-steps", Static).update(table)

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#sync-status", Static).update(Text(printable(text), style=style))

    # -- start
    @on(Input.Submitted, "#since")
    def _start(self, event: Input.Submitted) -> None:
        if self.running:
            return
        if self.run is not None:  # finished: Enter closes
            self.dismiss(self.run)
            return
        try:
            since = parse_since(event.value) if event.value.strip() else None
        except ValueError as exc:
            self.query_one("#since-error", Static).update(Text(printable(exc), style="bold red"))
            return
        self.query_one("#since-error", Static).update("")
        self.running = True
        self._status("Syncing… Escape cancels: nothing is written until every step is read.")
        self._sync(since)

    @work(thread=True, exclusive=True, group="sync", name="full sync")
    def _sync(self, since: date | None) -> None:
        from recon_tui.sync import run_full_sync

        worker = get_current_worker()
        app = self.recon_app
        cache = Cache(app.cache_path)
        try:
            backend = app.get_backend()
            run = run_full_sync(
                cache, backend.psa, backend.ledger, since=since, cancel=self.cancel_event,
                progress=lambda p: None if worker.is_cancelled
                else app.call_from_thread(self._progress, p),
                max_delete_percent=app.config.sync.max_delete_percent,
                confirm_mass_delete=self._confirm_mass_delete)
            app.call_from_thread(self._finished, run, None)
        except (SyncBusy, CacheError) as exc:
            app.call_from_thread(self._finished, None, str(exc))
        except Exception as exc:  # shown to the operator, never swallowed
            log.exception("the full sync failed")
            app.call_from_thread(self._finished, None, reason(exc))
        finally:
            cache.close()

    def _confirm_mass_delete(self, excess: list[MassDeletion]) -> bool:
        """From the sync's thread: ask on the screen, wait for the answer (Escape on
        the sync dialog meanwhile cancels, which is a no)."""
        answered = threading.Event()
        answer: list[bool] = []

        def ask() -> None:
            body = "\n".join(f"This sync {m.describe()}." for m in excess) + (
                "\n\nA read that came back short looks exactly like this. Nothing has "
                "been written yet. Delete them only if they really were deleted in the "
                "system; otherwise keep them and look at the history.")

            def done(result: bool | None) -> None:
                answer.append(bool(result))
                answered.set()

            self.app.push_screen(ConfirmScreen("Delete this many records?", body,
                                               yes="Delete them", no="Keep them"), done)
            self._status("Waiting for your answer: delete that many records?", "bold yellow")

        worker = get_current_worker()
        self.app.call_from_thread(ask)
        while not answered.wait(0.2):
            # Escape, or the app quitting with the question open: a no, and the
            # thread ends (a thread left waiting would keep the process alive).
            if self.cancel_event.is_set() or worker.is_cancelled:
                return False
        return answer[0]

    def on_unmount(self) -> None:
        """The dialog gone while a sync runs (the app quitting): cancel it, so the
        cache stays as it was and no thread is left waiting on this screen."""
        self.cancel_event.set()

    def _progress(self, progress: SyncProgress) -> None:
        """Fetch phase: the steps being read (the PSA and the ledger, and several
        steps of each, are read at once) and those read. Apply phase: earlier
        steps written, this one writing, later ones read and waiting."""
        i, count = progress.step_index, len(self.step_names)
        reading = set(progress.reading)
        if progress.phase == "fetch":
            self.fetched[i] = progress.fetched
            self.reported.add(i)
        for j in range(count):
            read = f"read {self.fetched[j]:,}"
            if progress.phase == "fetch":
                state = ((SyncStatus.RUNNING, f"reading… {self.fetched[j]:,}") if j in reading
                         else (SyncStatus.PENDING, read) if j in self.reported else
                         (SyncStatus.PENDING, ""))
            else:
                state = ((SyncStatus.SUCCEEDED, "written") if j < i else
                         (SyncStatus.RUNNING, f"writing {progress.fetched:,}") if j == i else
                         (SyncStatus.PENDING, read))
            self.step_state[j] = state
        done = len(self.reported - reading) if progress.phase == "fetch" else count + i
        self.query_one("#sync-bar", ProgressBar).update(progress=done)
        others = len(reading - {i}) if progress.phase == "fetch" else 0
        also = f" (and {others} more step{'s' if others > 1 else ''})" if others else ""
        self._status(progress_text(progress).capitalize() + also + "…   Escape cancels.")
        self._draw_steps()

    def watch_running(self, running: bool) -> None:
        """The date is locked while a sync runs and once one has finished (the
        dialog is then read-only); a sync that could not start frees it again."""
        self.query_one("#since", Input).disabled = running or self.run is not None

    def _finished(self, run: SyncRun | None, error: str | None) -> None:
        self.run = run
        self.running = False
        if run is None:
            self._status(f"Sync could not start: {error}", "bold red")
            return
        for position, step in enumerate(run.steps):
            counts = [f"{n:,} {word}" for n, word in ((step.created, "new"),
                                                      (step.updated, "updated"),
                                                      (step.deleted, "deleted")) if n]
            detail = ", ".join(counts) or "no changes"
            if step.error:
                detail = step.error
            elif step.status is not SyncStatus.SUCCEEDED:
                detail = "not applied"
            self.step_state[position] = (step.status, detail)
        self._draw_steps()
        bar = self.query_one("#sync-bar", ProgressBar)
        if run.status is SyncStatus.SUCCEEDED:
            bar.update(progress=bar.total)
            self._status(f"Sync #{run.id} succeeded. Enter or Escape closes; h opens the "
                         "history.", "bold green")
        else:
            self._status(f"Sync #{run.id} {run.status.value}: {run.error}. Enter or Escape "
                         "closes; h opens the history; d checks the connections.", "bold red")
            if run.status is SyncStatus.FAILED and looks_like_connection(run.error or ""):
                self.recon_app.action_doctor(run.error)
        # A finished dialog is read-only: Enter/Escape close it, h opens the history.
        self.set_focus(None)
        self.recon_app.broadcast(CacheChanged)

    # -- keys
    def action_cancel_or_close(self) -> None:
        if self.running:
            self.cancel_event.set()
            self._status("Cancelling… nothing will be written.", "yellow")
            return
        self.dismiss(self.run)

    def action_close_when_done(self) -> None:
        if self.run is not None and not self.running:
            self.dismiss(self.run)

    def action_doctor(self) -> None:
        if not self.running:
            self.recon_app.action_doctor(self.run.error if self.run else None)

    def action_open_history(self) -> None:
        if not self.running:
            self.dismiss(self.run)
            self.recon_app.action_history()
