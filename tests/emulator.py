"""Test support: an emulator on a real loopback socket, and a backend of real
connectors pointed at it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recon_tui.backend import Backend, connect, sandbox_configs
from recon_tui.connectors.sample import sample_data_dir
from recon_tui.sandbox.app import create_app
from recon_tui.sandbox.book import SandboxBook
from recon_tui.sandbox.faults import FaultPlan
from recon_tui.sandbox.server import SandboxServer


@contextmanager
def running_emulator(book: SandboxBook | None = None, faults: FaultPlan | None = None
                     ) -> Iterator[tuple[SandboxServer, SandboxBook, FaultPlan]]:
    book = book or SandboxBook.from_dir(sample_data_dir())
    plan = faults or FaultPlan(retry_after_seconds=0)
    with SandboxServer(create_app(sample_data_dir(), book=book, faults=plan)) as server:
        yield server, book, plan


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
