"""The messages a ``VirtualTable`` posts (``@on(VirtualTable.RowSelected, "#id")``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from recon_tui.tui.widgets.row_source import TableRow

if TYPE_CHECKING:
    from recon_tui.tui.widgets.virtual_table import VirtualTable


class _RowMessage(Message, namespace="virtual_table"):
    """A message about one row of a table."""

    def __init__(self, table: VirtualTable, row_index: int, row: TableRow) -> None:
        self.table = table
        self.row_index = row_index
        self.row = row
        super().__init__()

    @property
    def control(self) -> VirtualTable:
        """Alias so ``@on(VirtualTable.RowSelected, "#id")`` works."""
        return self.table

    @property
    def row_key(self) -> str:
        return self.row.key


class RowHighlighted(_RowMessage, namespace="virtual_table"):
    """The cursor moved to a row (also sent after ``set_source`` when rows exist)."""


class RowSelected(_RowMessage, namespace="virtual_table"):
    """The user pressed Enter on (or clicked the cursor) row."""
