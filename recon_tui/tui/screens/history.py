"""Sync history: every recorded run; Enter opens its steps and changed records.

A run recorded "running" whose process is gone (no one holds the sync lock) reads
"interrupted" at once, not at the next sync; while a run shows as running the
screen checks the lock every second, so a sync killed elsewhere turns over live."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Static

from recon_tui.describe import change_detail, change_record, duration, run_title
from recon_tui.models import SyncRun, SyncStatus
from recon_tui.run_status import honest_run, status_label
from recon_tui.sync_safety import sync_in_progress
from recon_tui.text import printable
from recon_tui.tui.formatting import literal, when
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import ReconScreenMixin
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.tui.widgets.virtual_table import Column, ListRowSource, TableRow, VirtualTable

#: Narrow terminals (README, "Layout"): the run number is pinned, "what" and the
#: error shrink, the duration and the count of changes leave first.
RUN_COLUMNS = (
    Column("id", "Run", 6, align="right", pinned=True),
    Column("started", "Started", 16),
    Column("status", "Status", 11),
    Column("what", "What", 34, flex=True, min_width=14),
    Column("took", "Took", 7, align="right", drop_order=1),
    Column("changed", "Changed", 8, align="right", drop_order=2),
    Column("error", "Error", 40, flex=True, min_width=20),
)
STEP_COLUMNS = (
    Column("step", "Step", 24, pinned=True),
    Column("status", "Status", 10),
    Column("created", "New", 8, align="right"),
    Column("updated", "Updated", 8, align="right"),
    Column("unchanged", "Unchanged", 10, align="right"),
    Column("deleted", "Deleted", 8, align="right"),
    Column("error", "Error", 40, flex=True),
)
CHANGE_COLUMNS = (
    Column("record", "Record", 30, flex=True, min_width=16),
    Column("change", "Change", 60, flex=True),
)
STATUS_STYLE = {SyncStatus.FAILED: "bad", SyncStatus.CANCELLED: "warn",
                SyncStatus.RUNNING: "warn", SyncStatus.PENDING: "muted"}
#: How often a screen showing a running run asks whether its process still lives.
LIVE_CHECK_SECONDS = 1.0


def runs_as_they_are(screen: ReconScreenMixin, runs: list[SyncRun]) -> list[SyncRun]:
    """The runs with any unfinished one whose process is gone shown as interrupted
    (the lock is only looked at when a run claims to be running)."""
    if not any(run.status in (SyncStatus.RUNNING, SyncStatus.PENDING) for run in runs):
        return runs
    live = sync_in_progress(screen.recon_app.cache_path)
    return [honest_run(run, live) for run in runs]


class RunsTable(VirtualTable):
    BINDINGS = [Binding("enter", "select_cursor", "Open run", id="open_run")]


class HistoryScreen(ReconScreenMixin, Screen[None]):
    """Newest first; failed runs in red with the step and error that stopped them."""

    BINDINGS = [Binding("escape", "back", "Back", id="history_back")]
    #: Whether a run shows as running (then the lock is checked every second).
    running: bool = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("Sync history: newest first. Enter opens a run.", style="bold"),
                     classes="screen-title")
        yield RunsTable(RUN_COLUMNS, id="runs")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#runs", VirtualTable).empty_text = "No syncs recorded yet (s syncs)"
        self.load()
        self.set_interval(LIVE_CHECK_SECONDS, self._check_running)
        self.query_one("#runs", VirtualTable).focus()

    def _check_running(self) -> None:
        """While a run shows as running, see whether its process still holds the lock."""
        if self.running and not sync_in_progress(self.recon_app.cache_path):
            self.load()

    def load(self) -> None:
        cache = self.recon_app.cache
        assert cache is not None
        rows = []
        runs = runs_as_they_are(self, cache.history.sync_runs(500))
        self.running = any(run.status is SyncStatus.RUNNING for run in runs)
        for run in runs:
            changed = sum(s.created + s.updated + s.deleted for s in run.steps)
            rows.append(TableRow(
                key=str(run.id),
                cells=(Text(f"#{run.id}"), Text(when(run.started_at)), Text(status_label(run)),
                       literal(run_title(run)), Text(duration(run)), Text(f"{changed:,}"),
                       literal(run.error)),
                style=STATUS_STYLE.get(run.status, ""),
            ))
        self.query_one("#runs", VirtualTable).set_source(ListRowSource(rows))

    def on_cache_changed(self, _: CacheChanged) -> None:
        self.query_one("#runs", VirtualTable).reload()
        self.load()

    @on(VirtualTable.RowSelected, "#runs")
    def _open(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.app.push_screen(RunScreen(int(event.row.key)))

    def action_back(self) -> None:
        self.app.pop_screen()


class RunScreen(ReconScreenMixin, Screen[None]):
    """One run: its steps with counts, then every changed record (old -> new)."""

    BINDINGS = [Binding("escape", "back", "Back", id="run_back")]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="run-title", classes="screen-title")
        yield VirtualTable(STEP_COLUMNS, id="steps")
        yield Static("Changed records", classes="panel-title", id="changes-title")
        yield VirtualTable(CHANGE_COLUMNS, id="changes")
        yield KeyFooter()

    def on_mount(self) -> None:
        cache = self.recon_app.cache
        assert cache is not None
        found = cache.history.sync_run(self.run_id)
        if found is None:
            self.query_one("#run-title", Static).update(Text("This run no longer exists"))
            return
        run = runs_as_they_are(self, [found])[0]
        title = Text(f"Run #{run.id}: {printable(run_title(run))}, {status_label(run)}",
                     style="bold")
        took = duration(run)  # none for a run that never finished: no dangling "took —"
        title.append(f"   started {when(run.started_at)}" + (f", took {took}" if took else ""),
                     style="dim")
        if run.error:
            title.append(f"\n{printable(run.error)}", style="bold red")
        self.query_one("#run-title", Static).update(title)
        steps = [TableRow(
            key=str(i),
            cells=(literal(f"{s.system} {s.name}"), Text(s.status.value), Text(f"{s.created:,}"),
                   Text(f"{s.updated:,}"), Text(f"{s.unchanged:,}"), Text(f"{s.deleted:,}"),
                   literal(s.error)),
            style=STATUS_STYLE.get(s.status, ""),
        ) for i, s in enumerate(run.steps)]
        self.query_one("#steps", VirtualTable).set_source(ListRowSource(steps))
        changes = cache.history.sync_changes(self.run_id)
        self.query_one("#changes-title", Static).update(Text(
            f"Changes: {len(changes):,}" + (
                " (what a first load creates is mostly counted above, not listed)" if run.kind in (
                    "demo", "full") else "")))
        rows = [TableRow(key=str(i), cells=(literal(change_record(c)), literal(change_detail(c))))
                for i, c in enumerate(changes)]
        table = self.query_one("#changes", VirtualTable)
        table.empty_text = "No records changed"
        table.set_source(ListRowSource(rows))
        self.query_one("#steps", VirtualTable).focus()

    def action_back(self) -> None:
        self.app.pop_screen()
