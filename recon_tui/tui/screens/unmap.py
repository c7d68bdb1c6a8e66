"""The unmap confirmation (``x`` on a client screen): which ledger customer to take
off a PSA company. Split from the mapper screen, which re-exports it."""

from __future__ import annotations

import logging

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from recon_tui.cache import Cache
from recon_tui.models import ClientSummary
from recon_tui.text import printable
from recon_tui.tui.formatting import literal
from recon_tui.tui.messages import CacheChanged
from recon_tui.tui.screens.base import MODAL_HELP_QUIT, ReconScreenMixin
from recon_tui.tui.widgets.key_footer import KeyFooter
from recon_tui.workflows.mapper import mapped_customers, unmap_customer

log = logging.getLogger(__name__)


def tell_other_screens(screen: Screen) -> None:
    """Every other open screen re-queries; the mapper itself already shows the change."""
    for other in screen.app.screen_stack:
        if other is not screen:
            other.post_message(CacheChanged())


class UnmapScreen(ReconScreenMixin, ModalScreen[None]):
    """Confirm which ledger customer to unmap from a PSA company; Esc cancels."""

    DEFAULT_CSS = """
    UnmapScreen {
        align: center middle;
    }
    #unmap-dialog {
        width: 90;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    #unmap-dialog > Static {
        margin-bottom: 1;
    }
    #unmap-customers {
        height: auto;
        max-height: 12;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="unmap_cancel"), *MODAL_HELP_QUIT]

    def __init__(self, summary: ClientSummary) -> None:
        super().__init__()
        self.summary = summary

    @property
    def cache(self) -> Cache:
        cache = self.app.cache  # type: ignore[attr-defined]
        assert cache is not None
        return cache

    def compose(self) -> ComposeResult:
        assert self.summary.psa_company_id is not None
        options = []
        for customer, mapping in mapped_customers(self.cache, self.summary.psa_company_id):
            label = literal(customer.display_name, style="bold")
            stamp = mapping.created_at.date().isoformat() if mapping.created_at else ""
            label.append(f"   mapped {mapping.method.value} {stamp}".rstrip(), style="dim")
            options.append(Option(label, id=customer.id))
        title = Text("Unmap a ledger customer from ", style="bold")
        title.append(printable(self.summary.name), style="bold")
        with Vertical(id="unmap-dialog"):
            yield Static(title)
            yield Static(Text("Its invoices and credits go back to an unmapped client of their "
                              "own, until someone maps it again (m).", style="dim"))
            yield OptionList(*options, id="unmap-customers")
            yield Static(Text("Enter unmaps the highlighted customer. Esc cancels.",
                              style="dim"))
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#unmap-customers", OptionList).focus()

    @on(OptionList.OptionSelected, "#unmap-customers")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        customer_id = event.option.id
        assert customer_id is not None
        customer = self.cache.records.customer(customer_id)
        try:
            removed = unmap_customer(self.cache, customer_id)
        except Exception as exc:  # e.g. another process's sync holds the cache
            log.exception("unmapping a customer failed")
            self.notify(f"Nothing was unmapped: {printable(exc)}", severity="error",
                        markup=False)
            self.dismiss(None)
            return
        name = customer.display_name if customer else customer_id
        if removed is not None:
            self.notify(f"Unmapped {printable(name)} from {printable(self.summary.name)}.",
                        markup=False)
        tell_other_screens(self)
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
