"""What every recon-tui screen reaches for: the app, typed, and its cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

from recon_tui.cache import Cache

if TYPE_CHECKING:
    from recon_tui.tui.app import ReconApp


class ReconScreenMixin:
    """Mixed into Screen/ModalScreen subclasses (listed before them)."""

    @property
    def recon_app(self) -> ReconApp:
        return self.app  # type: ignore[attr-defined,no-any-return]

    @property
    def cache(self) -> Cache:
        """The UI thread's cache connection (workers open their own)."""
        assert self.recon_app.cache is not None
        return self.recon_app.cache
