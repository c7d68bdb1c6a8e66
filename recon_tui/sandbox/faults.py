"""Fault injection for the emulator: ``--faults SPEC``.

SPEC is a comma-separated list of ``FAULT@SYSTEM[:N][+COUNT]``: inject FAULT on
the N-th request (1-based, default 1) that SYSTEM receives, and on the COUNT-1
requests after it (default COUNT 1).

FAULT is one of ``429`` (throttled, with Retry-After), ``500``, ``503``,
``401`` (access token expired), ``slow`` (answer after ``--slow-ms``) or
``garbage`` (a 200 whose body is not JSON). SYSTEM is ``qbo``, ``token`` (the
OAuth endpoint), ``connectwise`` or ``autotask``.

Example: ``429@qbo:2,500@connectwise:1+2,401@qbo:5,garbage@autotask:3``
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

FAULTS = ("429", "500", "503", "401", "slow", "garbage")
SYSTEMS = ("qbo", "token", "connectwise", "autotask")


class FaultSpecError(ValueError):
    """A --faults value that cannot be read; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class FaultRule:
    fault: str
    system: str
    start: int = 1
    count: int = 1

    def applies(self, nth: int) -> bool:
        return self.start <= nth < self.start + self.count


@dataclass
class FaultPlan:
    """Rules plus per-system request counters (thread-safe)."""

    rules: list[FaultRule] = field(default_factory=list)
    retry_after_seconds: int = 1
    slow_ms: int = 2000
    _seen: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, system: str) -> str | None:
        """Count one request to ``system`` and say which fault, if any, it gets."""
        with self._lock:
            self._seen[system] += 1
            nth = self._seen[system]
        for rule in self.rules:
            if rule.system == system and rule.applies(nth):
                return rule.fault
        return None

    def requests_seen(self, system: str) -> int:
        with self._lock:
            return self._seen[system]

    def add(self, rule: FaultRule) -> None:
        """Tests add rules on a running emulator, relative to requests seen so far."""
        with self._lock:
            seen = self._seen[rule.system]
            self.rules.append(FaultRule(rule.fault, rule.system, seen + rule.start, rule.count))

    def reset(self) -> None:
        with self._lock:
            self.rules.clear()
            self._seen.clear()


def parse_faults(spec: str | None) -> FaultPlan:
    plan = FaultPlan()
    if not spec:
        return plan
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        fault, sep, rest = part.partition("@")
        if not sep:
            raise FaultSpecError(f"fault '{part}': expected FAULT@SYSTEM[:N][+COUNT]")
        if fault not in FAULTS:
            raise FaultSpecError(f"fault '{part}': unknown fault '{fault}' "
                                 f"(one of {', '.join(FAULTS)})")
        count = 1
        if "+" in rest:
            rest, _, count_text = rest.partition("+")
            count = _positive(count_text, part, "COUNT")
        system, _, start_text = rest.partition(":")
        if system not in SYSTEMS:
            raise FaultSpecError(f"fault '{part}': unknown system '{system}' "
                                 f"(one of {', '.join(SYSTEMS)})")
        start = _positive(start_text, part, "N") if start_text else 1
        plan.rules.append(FaultRule(fault, system, start, count))
    return plan


def _positive(text: str, part: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise FaultSpecError(f"fault '{part}': {name} must be a whole number") from None
    if value < 1:
        raise FaultSpecError(f"fault '{part}': {name} must be 1 or more")
    return value
