"""Test support: an emulator on a real loopback socket (:class:`Emulator`, the one
fixture every connector test module builds on), and a backend of real connectors
pointed at it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx
import pytest

from recon_tui.backend import Backend, connect, sandbox_configs
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.sandbox.app import create_app
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.faults import FaultPlan
from recon_tui.sandbox.server import SandboxServer


class Emulator:
    """The emulator serving its own book on a loopback port, with its fault plan.

    A connector test module subclasses it to add its system's config and
    connector; ``grow`` enlarges the book before it is served (paging tests),
    ``latency_ms`` slows every answer (concurrency tests)."""

    def __init__(self, book: SandboxBook | None = None, faults: FaultPlan | None = None, *,
                 grow: Callable[[SandboxBook], object] | None = None,
                 latency_ms: int = 0) -> None:
        self.book = book if book is not None else SandboxBook.from_dir(sample_data_dir())
        if grow is not None:
            grow(self.book)
        self.plan = faults or FaultPlan()
        self._plan_defaults = (self.plan.retry_after_seconds, self.plan.slow_ms)
        self._latency_ms = latency_ms
        self.server = self._serve()

    def _serve(self) -> SandboxServer:
        return SandboxServer(create_app(sample_data_dir(), book=self.book, faults=self.plan,
                                        latency_ms=self._latency_ms)).start()

    @property
    def url(self) -> str:
        return self.server.url

    def seen(self, system: str) -> int:
        """Requests ``system``'s routes have answered so far."""
        return self.plan.requests_seen(system)

    def clear_faults(self) -> None:
        """No fault left for the next test, the plan's timings as they started."""
        self.plan.rules.clear()
        self.plan.retry_after_seconds, self.plan.slow_ms = self._plan_defaults

    def restart(self) -> None:
        """A new emulator process over the same book: issued tokens are forgotten."""
        self.server.stop()
        self.server = self._serve()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


E = TypeVar("E", bound=Emulator)


def serve(make: Callable[[], E]) -> Iterator[E]:
    """The body of a module's emulator fixture: ``yield from serve(Sandbox)``."""
    with make() as emulator:
        yield emulator


def clear_faults_of(request: pytest.FixtureRequest, *names: str) -> None:
    """After a test, clear the faults of the emulator fixtures it used (the
    module-scoped ones outlive it)."""
    for name in names:
        if name in request.fixturenames:
            emulator: Emulator = request.getfixturevalue(name)
            emulator.clear_faults()


class Recorder(httpx.HTTPTransport):
    """A real HTTP transport that remembers what it sent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return super().handle_request(request)


@contextmanager
def running_emulator(book: SandboxBook | None = None, faults: FaultPlan | None = None
                     ) -> Iterator[tuple[SandboxServer, SandboxBook, FaultPlan]]:
    """An :class:`Emulator` as ``(server, book, plan)``; no Retry-After wait by default."""
    with Emulator(book, faults or FaultPlan(retry_after_seconds=0)) as emulator:
        yield emulator.server, emulator.book, emulator.plan


def backend_for(server: SandboxServer) -> Backend:
    """Real connectors against ``server``, as the demo builds them."""
    tokens = tempfile.TemporaryDirectory(prefix="recon-test-tokens-")
    ledger_config, psa_config = sandbox_configs(server.url)
    psa, ledger = connect(ledger_config, psa_config, token_path=Path(tokens.name) / "qbo.json")
    return Backend(psa, ledger, f"test emulator at {server.url}", [tokens.cleanup])


EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "config.example.toml"


def config_file_for(server: SandboxServer, directory: Path, *, psa: str = "connectwise",
                    private_key: str = "sandbox-private") -> Path:
    """config.example.toml, pointed at ``server`` (optionally at Autotask)."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("http://127.0.0.1:8765",
                                                              server.url)
    text = text.replace('private_key = "sandbox-private"', f'private_key = "{private_key}"')
    if psa == "autotask":
        start = text.index("\n[psa]\n") + 1
        end = text.index("\n[portal]\n") + 1
        text = text[:start] + (
            '[psa]\nkind = "autotask"\n'
            f'base_url = "{server.url}/atservicesrest/v1.0"\n'
            'username = "sandbox-api@example.com"\nsecret = "sandbox-secret"\n'
            'integration_code = "SANDBOXINTEGRATIONCODE00000"\n\n') + text[end:]
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path
