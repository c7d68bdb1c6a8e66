"""The demo's emulator world, kept across launches in ``<demo cache>.emulator.json``.

The demo cache remembers what the user did (a credit applied, a payment recorded)
and so must the systems it was done in, or the next launch would show the two
disagreeing for no reason. :class:`DemoWorld` holds the book the emulator
serves; it is saved (0600, atomically) after every write the emulator answers,
and loaded at the next start when it was made from the same sample files
(``demo.sample_fingerprint``). A stale or damaged file is replaced from the
sample files with one log line. It also records which of the sample book's
after-sync events (:mod:`events`) it has applied, so each happens once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recon_tui.atomic import write_private_file
from recon_tui.jsonio import decode, encode
from recon_tui.sandbox.book import CW_COLLECTIONS, QBO_ENTITIES, SandboxBook

__all__ = ["STATE_SUFFIX", "DemoWorld", "StateError", "state_path_for"]

log = logging.getLogger(__name__)

STATE_SUFFIX = ".emulator.json"
FORMAT = "recon-tui demo emulator state"
VERSION = 1


def state_path_for(cache_path: Path) -> Path:
    """Where the emulator world of the demo cache at ``cache_path`` is kept."""
    return Path(f"{cache_path}{STATE_SUFFIX}")


class StateError(ValueError):
    """A state file that cannot be used; the message says why, in a few words."""


@dataclass
class DemoWorld:
    """The emulator's book plus what the demo needs to keep it across launches."""

    book: SandboxBook
    data_dir: Path
    fingerprint: str
    path: Path | None = None
    #: Ids of the after-sync events already applied to this world, in order.
    events_applied: list[str] = field(default_factory=list)
    _save_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- opening
    @classmethod
    def open(cls, data_dir: Path, fingerprint: str, path: Path | None) -> DemoWorld:
        """The saved world at ``path`` when it belongs to these sample files, else a
        fresh one from ``data_dir`` (saved at once, replacing a stale or damaged file)."""
        if path is not None and path.exists():
            try:
                return cls._load(data_dir, fingerprint, path)
            except StateError as exc:
                log.warning("demo emulator state %s %s; starting again from the sample "
                            "files", path, exc)
        world = cls(SandboxBook.from_dir(data_dir), data_dir, fingerprint, path)
        if path is not None:
            world.save()
        return world

    @classmethod
    def _load(cls, data_dir: Path, fingerprint: str, path: Path) -> DemoWorld:
        try:
            data = decode(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise StateError(f"cannot be read ({exc.strerror or exc})") from None
        except (ValueError, UnicodeDecodeError):
            raise StateError("is damaged (not JSON)") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StateError("is not an emulator state file")
        if data.get("version") != VERSION:
            raise StateError(f"has version {data.get('version')!r}, not {VERSION}")
        if data.get("sample_fingerprint") != fingerprint:
            raise StateError("was made from other sample files")
        try:
            book, applied = _book_from(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(f"is damaged ({type(exc).__name__}: {exc})") from None
        return cls(book, data_dir, fingerprint, path, applied)

    # -- saving
    def save(self) -> None:
        """Write the whole world (a failure is logged, never raised: the emulator
        keeps answering; the next write tries again)."""
        if self.path is None:
            return
        with self._save_lock:
            with self.book.lock:
                payload = encode(self._snapshot())
            try:
                write_private_file(self.path, payload)
            except OSError as exc:
                log.warning("demo emulator state %s could not be saved: %s", self.path,
                            exc.strerror or exc)

    def _snapshot(self) -> dict[str, Any]:
        book = self.book
        writes = getattr(getattr(book, "qbo_state", None), "writes", {})
        return {
            "format": FORMAT,
            "version": VERSION,
            "sample_fingerprint": self.fingerprint,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "events_applied": list(self.events_applied),
            "qbo": {entity: list(book.qbo.get(entity, {}).values()) for entity in book.qbo},
            "qbo_deleted": [{"entity": e, "Id": i, "deletedAt": when}
                            for e, i, when in book.qbo_deleted],
            "connectwise": {name: list(records.values())
                            for name, records in book.connectwise.items()},
            "counters": dict(book.counters),
            "qbo_requestids": {key: {"status": status, "body": body.decode("utf-8")}
                               for key, (status, body) in writes.items()},
        }

    # -- events
    def apply_events(self) -> list[str]:
        """Apply the sample book's after-sync events this world has not had yet;
        their ids (none on a second launch)."""
        from recon_tui.sandbox.events import apply_event, load_events

        done: list[str] = []
        for event in load_events(self.data_dir):
            if event["id"] in self.events_applied:
                continue
            apply_event(self.book, event)
            self.events_applied.append(event["id"])
            done.append(event["id"])
        if done:
            self.save()
        return done


def _book_from(data: dict[str, Any]) -> tuple[SandboxBook, list[str]]:
    """The book a state file holds (raises KeyError/TypeError/ValueError when damaged)."""
    from recon_tui.sandbox.qbo import QboEmulatorState

    book = SandboxBook()
    qbo, connectwise = data["qbo"], data["connectwise"]
    for entity in QBO_ENTITIES:
        book.qbo[entity] = {str(r["Id"]): r for r in qbo.get(entity, [])}
    for name in CW_COLLECTIONS:
        book.connectwise[name] = {int(r["id"]): r for r in connectwise.get(name, [])}
    book.qbo_deleted = [(str(d["entity"]), str(d["Id"]), str(d["deletedAt"]))
                        for d in data["qbo_deleted"]]
    book.counters = {str(k): int(v) for k, v in data.get("counters", {}).items()}
    state = QboEmulatorState()
    state.writes = {str(k): (int(v["status"]), str(v["body"]).encode("utf-8"))
                    for k, v in data.get("qbo_requestids", {}).items()}
    book.qbo_state = state  # type: ignore[attr-defined]  # qbo.routes keeps its writes
    applied = data.get("events_applied", [])
    if not isinstance(applied, list) or not all(isinstance(a, str) for a in applied):
        raise ValueError("events_applied must be a list of ids")
    return book, list(applied)
