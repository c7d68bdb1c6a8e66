"""Domain records shared by every layer.

Frozen records, money as ``Decimal``. The records a sync reads by the
hundred thousand (companies, contacts, invoices, customers, credits) are frozen
``msgspec.Struct``s: built about twenty times faster than a frozen dataclass
(whose ``__init__`` goes through ``object.__setattr__`` per field), equal,
hashable and immutable all the same, and ``gc=False``: they hold only strings,
numbers, dates and enums, so none can be part of a reference cycle and the
garbage collector need not track (and walk) the 200,000 a sync builds; the rest
are frozen dataclasses. Ids are strings because each
system owns its own id space (QBO ids are numeric strings, ConnectWise ids are
integers, Autotask ids are integers) and the cache keys every record on its
system's own id.

The records live in ``models.documents`` (what both systems hold),
``models.recon`` (pairs, clients, totals) and ``models.history`` (sync runs,
credit checklists); every name is importable from ``recon_tui.models`` as before.
"""

from recon_tui.models.documents import (
    Contact,
    CreditKind,
    DocKind,
    LedgerCustomer,
    LedgerInvoice,
    OrganizationalCredit,
    PsaCompany,
    PsaInvoice,
)
from recon_tui.models.history import (
    ApplyMethod,
    ChecklistEvent,
    ChecklistState,
    CreditChecklist,
    SyncRun,
    SyncStatus,
    SyncStep,
)
from recon_tui.models.recon import (
    ClientSummary,
    CompanyMapping,
    InvoicePair,
    MappingMethod,
    ReconStatus,
    ReportTotals,
)

__all__ = [
    "ApplyMethod",
    "ChecklistEvent",
    "ChecklistState",
    "ClientSummary",
    "CompanyMapping",
    "Contact",
    "CreditChecklist",
    "CreditKind",
    "DocKind",
    "InvoicePair",
    "LedgerCustomer",
    "LedgerInvoice",
    "MappingMethod",
    "OrganizationalCredit",
    "PsaCompany",
    "PsaInvoice",
    "ReconStatus",
    "ReportTotals",
    "SyncRun",
    "SyncStatus",
    "SyncStep",
]
