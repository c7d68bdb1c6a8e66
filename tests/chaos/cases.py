"""Fault cases: one emulator fault aimed at one list page (or the token request)
of one sync, and the verdict on what the sync made of it."""

from __future__ import annotations

import logging
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from recon_tui.cache import Cache
from recon_tui.models import SyncStatus
from recon_tui.sandbox.faults import FaultRule, check_applies, counted_as
from recon_tui.sync import run_full_sync
from tests.chaos.checksum import checksum, run_errors
from tests.chaos.world import SCENARIOS, World, since_for

PAGE_FAULT_ROWS = ("empty", "short", "nokey", "repeat", "foreign")
SYSTEMS = ("qbo", "connectwise", "autotask")
#: (row label, fault, HTTP status of an echo, COUNT): an echoing 502 is retried,
#: so it is injected on every attempt; a 403 is not.
TOKEN_ROWS = (("echo 502", "echo", 502, 10), ("echo 403", "echo", 403, 1),
              ("truncated", "truncated", 0, 1))

RECOVERED, REPORTED, LOST, BROKEN = "recovered", "reported", "data lost", "broken"


@dataclass(frozen=True)
class Case:
    row: str  # the table's fault column
    fault: str
    system: str  # where the rule goes: qbo, connectwise, autotask, token
    psa: str
    scenario: str
    nth: int  # the N of FAULT@SYSTEM:N, counted as the fault counts
    count: int = 1
    echo_status: int = 502
    target: str = ""  # which page, for people

    @property
    def name(self) -> str:
        return f"{self.row}@{self.system}:{self.nth} ({self.target}) in a {self.scenario} sync" + (
            f" [{self.psa}]" if self.system in ("qbo", "token") else "")


@dataclass
class Verdict:
    case: Case
    outcome: str
    error: str = ""
    problems: list[str] = field(default_factory=list)
    #: The emulator saw the request the rule aims at (else the case tested nothing).
    fired: bool = False


def page_targets(world: World, scenario: str, psa: str, system: str,
                 later: bool) -> list[tuple[int, str]]:
    """(N, "Invoice p2") for every list page ``system`` served in a clean sync,
    N counted among its pages (or among its later pages)."""
    out: list[tuple[int, str]] = []
    nth = read_page = 0
    for page_system, is_later, what in world.pages[f"{scenario}/{psa}"]:
        if page_system != system:
            continue
        read_page = read_page + 1 if is_later else 1
        if is_later or not later:
            nth += 1
            out.append((nth, f"{what} p{read_page}"))
    return out


def all_cases(world: World, *, rng: random.Random | None = None) -> list[Case]:
    """Every fault on every system and page where it applies, in both scenarios;
    with ``rng``, one page drawn per fault, system and scenario (CI scale)."""
    cases: list[Case] = []
    for scenario in SCENARIOS:
        for fault in PAGE_FAULT_ROWS:
            for system in SYSTEMS:
                if check_applies(fault, system):
                    continue
                psa = "autotask" if system == "autotask" else "connectwise"
                targets = page_targets(world, scenario, psa, system, later=fault == "repeat")
                if rng is not None and targets:
                    targets = [rng.choice(targets)]
                cases += [Case(fault, fault, system, psa, scenario, nth, target=what)
                          for nth, what in targets]
        for row, fault, status, count in TOKEN_ROWS:
            cases.append(Case(row, fault, "token", "connectwise", scenario, 1, count,
                              status or 502, "the token refresh"))
    return cases


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def run_case(world: World, case: Case) -> Verdict:
    """Run one sync under the case's fault and judge it."""
    with tempfile.TemporaryDirectory(prefix="chaos-case-") as scratch:
        path = world.fresh_cache(case.scenario, case.psa, Path(scratch))
        before = checksum(path, strict=True)
        world.plan.reset()
        world.plan.echo_status = case.echo_status
        world.plan.rules.append(FaultRule(case.fault, case.system, case.nth, case.count))
        foreign_before = len(world.listener.requests)
        captured = _Captured()
        logger = logging.getLogger("recon_tui")
        logger.addHandler(captured)
        old_level = logger.level
        logger.setLevel(logging.INFO)
        cache = Cache(path)
        try:
            with world.connectors(case.psa) as (psa, ledger):
                run = run_full_sync(cache, psa, ledger, since=since_for(case.scenario))
        except Exception as exc:  # a traceback for the user: the worst outcome but loss
            run = None
            escaped = f"{type(exc).__name__}: {exc}"
        finally:
            cache.close()
            logger.removeHandler(captured)
            logger.setLevel(old_level)
            fired = world.plan.requests_seen(case.system, counted_as(case.fault)) >= case.nth
            world.plan.reset()
        verdict = judge(world, case, path, before, run, captured.lines)
        verdict.fired = fired
        if run is None:
            verdict.problems.insert(0, f"an exception escaped the sync: {escaped}")
            verdict.outcome = LOST if verdict.outcome == LOST else BROKEN
        foreign = world.listener.requests[foreign_before:]
        if foreign:
            creds = sorted({h for _, _, headers in foreign for h in headers})
            note = f"{len(foreign)} request(s) reached the foreign host"
            if creds:
                verdict.problems.append(f"{note} carrying {', '.join(creds)}")
            elif case.fault != "foreign":
                verdict.problems.append(note)
        if verdict.problems and verdict.outcome != LOST:
            verdict.outcome = BROKEN
        return verdict


def judge(world: World, case: Case, path: Path, before: str, run: object,
          log_lines: list[str]) -> Verdict:
    """Recovered (a clean sync's data), reported (failed in one line, cache as
    before) or data lost; plus any leak of a secret into an error or a log."""
    succeeded = run is not None and run.status is SyncStatus.SUCCEEDED  # type: ignore[attr-defined]
    error = "" if run is None or succeeded else str(run.error or "")  # type: ignore[attr-defined]
    verdict = Verdict(case, RECOVERED if succeeded else REPORTED, error)
    if succeeded:
        if checksum(path, strict=False) != world.refs[f"{case.scenario}/{case.psa}"]:
            verdict.outcome = LOST
            verdict.problems.append("the sync succeeded with data unlike a clean sync's")
    else:
        if checksum(path, strict=True) != before:
            verdict.outcome = LOST
            verdict.problems.append("the sync failed and the cache's data changed")
        if run is not None and (not error.strip() or "\n" in error):
            verdict.problems.append(f"the error is not one line: {error!r}")
    texts = [*run_errors(path), *log_lines]
    leaked = {secret for secret in world.secrets() for text in texts if secret in text}
    if leaked:
        verdict.problems.append(f"{len(leaked)} secret/token value(s) in an error or log line")
    return verdict

