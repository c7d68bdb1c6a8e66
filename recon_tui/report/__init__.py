"""The reconciliation snapshot report (issue #5): build it from the cache, write it
as xlsx, csv, json or markdown. Domain code: no Textual here."""

from recon_tui.report.snapshot import Snapshot, build_snapshot
from recon_tui.report.writers import FORMATS, write_report

__all__ = ["FORMATS", "Snapshot", "build_snapshot", "write_report"]
