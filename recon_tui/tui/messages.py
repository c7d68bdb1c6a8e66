"""Messages the app broadcasts to its screens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # the sync engine is not imported at launch
    from recon_tui.sync import SyncProgress


class CacheChanged(Message):
    """The cache was written (load, sync, mapping): screens re-query."""

    bubble = False


class LoadProgress(Message):
    """Progress of the demo load or a sync, for status lines."""

    bubble = False

    def __init__(self, progress: SyncProgress) -> None:
        super().__init__()
        self.progress = progress
