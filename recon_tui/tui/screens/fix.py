"""A guided fix of one invoice row: the cause, what will be written and where,
the by-hand steps, the audit trail; Enter writes (when allowed), h reports the
by-hand steps done, v verifies. Every step runs in a worker."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import var
from textual.screen import ModalScreen
from textual.widgets import Static

from recon_tui.cache import Cache
from recon_tui.cache.fixes import PaymentFixes
from recon_tui.fixes import FixKind, FixState, PaymentFix
from recon_tui.row_diagnosis import diagnose_row
from recon_tui.text import printable
from recon_tui.tui.failures import reason
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import MODAL_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.workflows import payment_fix as wf
from recon_tui.workflows.verify import Verifier
from recon_tui.workflows.write_policy import WritePolicy

log = logging.getLogger(__name__)


class FixScreen(ReconScreenMixin, ModalScreen[None]):
    """One row's fix, planned from its diagnosis, resumable."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="fix_close"),
        Binding("enter", "apply", "Write it", id="fix_apply"),
        Binding("h", "by_hand", "Done by hand", id="fix_hand"),
        Binding("v", "verify", "Verify", id="fix_verify"),
        Binding("x", "cancel_fix", "Cancel fix", id="fix_cancel"),
        *MODAL_HELP_QUIT,
    ]

    DEFAULT_CSS = """
    FixScreen { align: center middle; }
    #fix-dialog {
        width: 96%; max-width: 120; height: auto; max-height: 95%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    #fix-title { margin-bottom: 1; }
    #fix-trail { margin-top: 1; }
    """

    #: A step runs in a worker: the keys wait, the status line says "Working…".
    busy: var[bool] = var(False, init=False)

    def __init__(self, pair_id: int) -> None:
        super().__init__()
        self.pair_id = pair_id
        self.plan: wf.FixPlan | None = None
        self.fix: PaymentFix | None = None
        self.message: Text | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="fix-dialog"):
            yield Static(id="fix-title")
            yield Static(id="fix-body")
            yield Static(id="fix-trail")
            yield Static(id="fix-status")
        yield KeyFooter()

    @property
    def policy(self) -> WritePolicy:
        app = self.recon_app
        return WritePolicy.from_config(app.config, demo=app.demo)

    def on_mount(self) -> None:
        row = self.cache.recon.pair_row(self.pair_id)
        diagnosis = diagnose_row(self.cache, row) if row else None
        if row is None or diagnosis is None:
            self._title("Nothing to fix: this row agrees (or is gone after a sync)")
            return
        self.plan = wf.plan_fix(self.cache, row, diagnosis, self.policy)
        if self.plan is None:
            self._title(f"{diagnosis.cause.value}: {diagnosis.fix_text}")
            return
        self.fix = self.cache.fixes.open_fix_for(self.plan.number)
        self._draw()

    def _title(self, text: str) -> None:
        self.query_one("#fix-title", Static).update(Text(printable(text), style="bold"))

    def _draw(self) -> None:
        plan = self.plan
        assert plan is not None
        self._title(f"Fix invoice {plan.number}: {plan.diagnosis.cause.value}")
        body = Text()
        body.append(printable(plan.diagnosis.summary) + "\n")
        for line in plan.diagnosis.evidence:
            body.append("  " + printable(line) + "\n", style="dim")
        body.append("\n")
        body.append(printable(plan.writes) + "\n", style="bold")
        finished = self.fix is not None and not self.fix.state.is_open
        if finished:
            pass
        elif plan.kind is not FixKind.BY_HAND:
            if plan.api_blocked:
                body.append(f"Enter is off: {printable(plan.api_blocked)}\n", style="yellow")
            else:
                body.append("Enter writes it; or do it by hand and press h:\n", style="green")
        body.append("By hand:\n", style="bold")
        for index, step in enumerate(plan.steps, 1):
            body.append(f"  {index}. {printable(step)}\n")
        self.query_one("#fix-body", Static).update(body)
        trail = Text()
        if self.fix is not None:
            trail.append(f"Fix #{self.fix.id}: {self.fix.state.value}\n", style="bold")
            for event in self.cache.fixes.fix_events(self.fix.id):
                mark = {"ok": "✓", "fail": "✗"}.get(event.outcome, "·")
                trail.append(f"  {mark} {event.at:%H:%M:%S} {printable(event.message)}\n",
                             style="red" if event.outcome == "fail" else "")
        self.query_one("#fix-trail", Static).update(trail)
        hint = ("Esc closes." if finished else
                "Esc closes; the fix is kept and resumes here. Keys: Enter write · h done by "
                "hand · v verify · x cancel the fix")
        status = Text()
        if self.message is not None:
            status.append_text(self.message)
            status.append("\n")
        status.append("Working…" if self.busy else hint, style="dim")
        self.query_one("#fix-status", Static).update(status)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("close",):
            return True
        if self.plan is None or self.busy:
            return False
        done = self.fix is not None and not self.fix.state.is_open
        if done:
            return action == "close"
        if action == "apply":
            return self.plan.kind is not FixKind.BY_HAND and not self.plan.api_blocked
        if action == "cancel_fix":
            return self.fix is not None and self.fix.state not in (FixState.SENDING,
                                                                   FixState.SENT)
        return True

    # -- actions
    def action_close(self) -> None:
        self.dismiss(None)

    def action_apply(self) -> None:
        self._run("Writing…", lambda c, b: wf.apply_via_api(
            c, self._fix_id(c.fixes), b.psa, b.ledger, self.policy, self._verifier(c)))

    def action_by_hand(self) -> None:
        self._run("Verifying the by-hand fix (resync)…",
                  lambda c, b: wf.done_by_hand(c, self._fix_id(c.fixes), self._verifier(c)))

    def action_verify(self) -> None:
        self._run("Verifying (resync)…",
                  lambda c, b: wf.verify(c, self._fix_id(c.fixes), self._verifier(c)))

    def action_cancel_fix(self) -> None:
        self._run("Cancelling…", lambda c, b: wf.cancel(c.fixes, self._fix_id(c.fixes)),
                  backend=False)

    def _verifier(self, cache: Cache) -> Verifier:
        """The session's resync of this thread's cache: how a fix is verified."""
        return self.recon_app.session.verifier(cache)

    def _fix_id(self, fixes: PaymentFixes) -> int:
        """The stored fix, created on first use (the plan is what the tech saw)."""
        assert self.plan is not None
        return (self.fix or wf.start_fix(fixes, self.plan)).id

    def _run(self, label: str, job: Callable[[Cache, object], PaymentFix],
             backend: bool = True) -> None:
        if self.busy:
            return
        self.message = Text(label, style="dim")
        self.busy = True
        self._worker(job, backend)

    def watch_busy(self) -> None:
        """A step starts or ends: the dialog (and its keys) follow."""
        if self.is_attached and self.plan is not None:
            self._draw()

    @work(thread=True, group="fix", name="fix step")
    def _worker(self, job: Callable[[Cache, object], PaymentFix], backend: bool) -> None:
        app = self.recon_app
        cache = Cache(app.cache_path)
        fix: PaymentFix | None = None
        error: str | None = None
        try:
            fix = job(cache, app.get_backend() if backend else None)
        except wf.FixError as exc:
            error = str(exc)
        except Exception as exc:  # shown to the operator, never swallowed
            log.exception("a payment fix step failed")
            error = reason(exc)
        finally:
            if self.plan is not None:
                fix = cache.fixes.open_fix_for(self.plan.number) or fix
                if fix is None and self.fix is not None:
                    fix = cache.fixes.fix(self.fix.id)
            cache.close()
        app.call_from_thread(self._finished, fix, error)

    def _finished(self, fix: PaymentFix | None, error: str | None) -> None:
        if fix is not None:
            self.fix = self.cache.fixes.fix(fix.id) or fix
        if error:
            self.message = Text(printable(error), style="bold red")
        elif self.fix is not None and self.fix.state is FixState.DONE:
            self.message = Text("Verified: both sides agree.", style="bold green")
        elif self.fix is not None:
            self.message = Text(self.fix.state.value, style="bold")
        self.busy = False  # watch_busy draws the outcome
        self.recon_app.broadcast(CacheChanged)
        if self.is_attached:
            # The outcome is the last line: on a short terminal, bring it into view.
            self.query_one("#fix-dialog", VerticalScroll).scroll_end(animate=False)
