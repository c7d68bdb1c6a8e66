#!/usr/bin/env python3
"""Generate the bundled demo book: one MSP's year in ConnectWise and QuickBooks Online.

Deterministic (``random.Random(20261121)``), stdlib only, every amount a ``Decimal``.
Writes each API's own JSON shapes so the parsers and the sandbox emulator (and through
it the real connectors) read the same thing a live system would send:

    qbo/Customer.json  qbo/Invoice.json  qbo/Payment.json  qbo/CreditMemo.json
    qbo/deleted.json   (the emulator's record of QBO hard deletes, for CDC)
    connectwise/companies.json  connectwise/contacts.json  connectwise/invoices.json
    connectwise/unpostedinvoices.json  connectwise/payments.json
    events.json        (what happens in both systems after the demo's first sync)
    scenarios.json     (where every planted discrepancy lives, for tests)

Run ``python sample_data/generate.py`` to rewrite the files next to this script,
``--check`` to verify the checked-in files are what the script produces.

The book is consistent by construction: every regular invoice has its payments
synced to the PSA, so the only discrepancies are the ones planted for the scenarios
and listed in scenarios.json (its ``causes`` names one invoice per diagnosis cause).

ConnectWise's payment records (``finance/invoices/{id}/payments``) come from the
same applications as the invoices' ``payments`` and ``credits`` totals, so they
are generated here rather than derived from QBO at load time: the PSA knows of
payments the ledger never got (a portal card payment) and misses some it did.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

SEED = 20261121
START = date(2025, 11, 16)
END = date(2026, 11, 15)
AS_OF = datetime(2026, 11, 16, 18, 0, tzinfo=UTC)
FIRST_NUMBER = 10001
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ATOMAR_CREDIT_MEMO_ID = "11261"
FIRST_TXN_ID = 9001


def D(text: str | int) -> Decimal:
    """An exact two-place amount."""
    return Decimal(text).quantize(CENT)


def whole(amount: Decimal) -> Decimal:
    """Round to whole dollars, kept as a two-place amount (clients pay round sums)."""
    return amount.quantize(Decimal(1)).quantize(CENT)


def money(amount: Decimal) -> str:
    """Machine form for scenarios.json: "40.00"."""
    return f"{amount.quantize(CENT):.2f}"


# --------------------------------------------------------------------------- names
LEGAL_SUFFIXES = frozenset(
    {
        "llc", "inc", "incorporated", "ltd", "limited", "corp", "corporation", "co", "company",
        "gmbh", "aps", "plc", "lp", "llp", "pty", "ag", "sa", "bv", "kk",
    }
)  # fmt: skip
NORMALISATION_RULE = (
    "NFKC, casefold, every non-alphanumeric character becomes a space, whitespace "
    "collapsed, trailing legal suffixes dropped (" + ", ".join(sorted(LEGAL_SUFFIXES)) + ")"
)


def normalise(name: str) -> str:
    """The name-matching rule the book is built against (see NORMALISATION_RULE).

    An independent oracle, on purpose: the app's one rule is
    ``recon_tui.matching.normalize_name`` (this script is stdlib only and does not
    import the app). The two differ ("&" becomes "and" there, "_" a space, more
    legal forms are dropped) but put every name of this book in the same groups;
    ``test_the_generators_name_rule_groups_the_books_names_as_the_apps_does``
    (tests/test_sample_data.py) fails if a new name ever tells them apart."""
    text = unicodedata.normalize("NFKC", name).casefold()
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


# --------------------------------------------------------------------------- time
def _pacific_offset(moment: datetime) -> timedelta:
    """US Pacific offset (the QBO company's zone) with the post-2007 DST rule."""
    year = moment.year
    march = date(year, 3, 1)
    dst_start = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
    november = date(year, 11, 1)
    dst_end = november + timedelta(days=(6 - november.weekday()) % 7)
    start = datetime(year, 3, dst_start.day, 10, tzinfo=UTC)
    end = datetime(year, 11, dst_end.day, 9, tzinfo=UTC)
    return timedelta(hours=-7) if start <= moment < end else timedelta(hours=-8)


def qbo_time(moment: datetime) -> str:
    """QBO MetaData time: local Pacific time with its offset."""
    offset = _pacific_offset(moment)
    return moment.astimezone(timezone(offset)).isoformat()


def cw_time(moment: datetime) -> str:
    """ConnectWise ``_info`` time: UTC with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cw_date(day: date) -> str:
    """ConnectWise invoice dates are midnight UTC datetimes."""
    return f"{day.isoformat()}T00:00:00Z"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------- model
@dataclass(eq=False)
class CwCompany:
    name: str
    identifier: str
    status: str = "Active"
    deleted: bool = False
    id: int = 0
    entered: datetime | None = None
    updated: datetime | None = None


@dataclass(eq=False)
class QboCustomer:
    name: str
    active: bool = True
    currency: str = "USD"
    id: str = ""
    email: str = ""
    created: datetime | None = None


@dataclass(eq=False)
class Client:
    """A billing relationship: which PSA company bills, which ledger customer it exports to."""

    key: str
    cw: CwCompany | None
    qbo: QboCustomer | None
    users: int
    pay: str
    terms: int = 30
    servers: int = 0
    backup: Decimal = ZERO
    m365: Decimal = ZERO
    rate: Decimal = Decimal("125.00")
    monthly_from: date | None = date(2025, 12, 1)
    monthly_to: date | None = date(2026, 11, 1)
    project_weight: float = 1.0
    projects_until: date = END
    alt_qbo: QboCustomer | None = None
    domain: str = ""


@dataclass(eq=False)
class Line:
    description: str
    item: str
    qty: Decimal
    rate: Decimal

    @property
    def amount(self) -> Decimal:
        value = self.qty * self.rate
        assert value == value.quantize(CENT), (self.description, value)
        return value.quantize(CENT)


@dataclass(eq=False)
class App:
    """Money applied to an invoice: a payment line or a credit memo application."""

    amount: Decimal
    moment: datetime
    kind: str  # "payment" | "credit"
    in_ledger: bool = True
    in_psa: bool = True
    payment: Payment | None = None
    #: The ConnectWise side: who recorded it there (``appliedBy``), the credit
    #: memo of a credit applied in the PSA only, and its payment record's id.
    applied_by: str = "QBOSync"
    psa_memo: PsaCreditMemo | None = None
    cw_payment_id: int = 0


@dataclass(eq=False)
class Invoice:
    client: Client
    day: date
    lines: list[Line]
    kind: str
    number: str = ""
    doc_number: str | None = None
    customer: QboCustomer | None = None
    in_psa: bool = True
    in_ledger: bool = True
    exported: bool = True
    custom_link: bool = False
    ledger_deleted: bool = False
    ledger_voided_at: datetime | None = None
    psa_voided: bool = False
    #: Edited in the ledger after export: the QBO lines, and when.
    ledger_lines: list[Line] | None = None
    ledger_edited_at: datetime | None = None
    currency: str = "USD"
    #: Billed in another currency in the PSA than the ledger holds it in.
    psa_currency: str | None = None
    manual: bool = False
    apps: list[App] = field(default_factory=list)
    qbo_id: str = ""
    cw_id: int = 0
    entered: datetime | None = None
    export_at: datetime | None = None
    batch: tuple[int, str] | None = None
    seq: int = 0
    psa_deleted: bool = False

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def due(self) -> date:
        return self.day + timedelta(days=self.client.terms)

    @property
    def ledger_total(self) -> Decimal:
        if self.ledger_voided_at:
            return ZERO
        return sum((line.amount for line in self.ledger_lines or self.lines), ZERO)

    @property
    def ledger_balance(self) -> Decimal:
        applied = sum((a.amount for a in self.apps if a.in_ledger), ZERO)
        return self.ledger_total - applied

    @property
    def psa_total(self) -> Decimal:
        return ZERO if self.psa_voided else self.total

    def psa_applied(self, kind: str) -> Decimal:
        return sum((a.amount for a in self.apps if a.in_psa and a.kind == kind), ZERO)

    @property
    def psa_balance(self) -> Decimal:
        return self.psa_total - self.psa_applied("payment") - self.psa_applied("credit")


@dataclass(eq=False)
class CreditMemo:
    customer: QboCustomer
    day: date
    lines: list[Line]
    doc_number: str
    note: str
    id: str = ""
    applied: list[tuple[Decimal, datetime]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.total - sum((amount for amount, _ in self.applied), ZERO)


@dataclass(eq=False)
class PsaCreditMemo:
    """A ConnectWise credit memo: a ``finance/invoices`` record of type CreditMemo,
    negative amounts, numbered like the QBO CreditMemo it is exported as."""

    client: Client
    number: str
    day: date
    total: Decimal
    remaining: Decimal
    cw_id: int
    exported: bool = True
    entered: datetime | None = None
    memo: CreditMemo | None = None


@dataclass(eq=False)
class Payment:
    """A QBO Payment: lines link invoices (money in) and credit memos (money used)."""

    customer: QboCustomer
    day: date
    moment: datetime
    total: Decimal
    lines: list[tuple[Invoice | CreditMemo, Decimal]] = field(default_factory=list)
    ref: str = ""
    note: str = ""
    id: str = ""

    @property
    def unapplied(self) -> Decimal:
        invoices = sum((a for t, a in self.lines if isinstance(t, Invoice)), ZERO)
        credits = sum((a for t, a in self.lines if isinstance(t, CreditMemo)), ZERO)
        return self.total - (invoices - credits)


# --------------------------------------------------------------------------- catalog
ITEMS = {
    "per-user": ("1", "Managed Services:Per User"),
    "server": ("2", "Managed Services:Server"),
    "backup": ("3", "Managed Services:Backup & DR"),
    "m365": ("4", "Licensing:Microsoft 365"),
    "remote": ("5", "Labor:Remote Support"),
    "onsite": ("6", "Labor:Onsite Support"),
    "project": ("7", "Labor:Project"),
    "hardware": ("8", "Hardware"),
    "essentials": ("9", "Managed Services:Essentials"),
    "services": ("10", "Services"),
    "credit": ("11", "Credits:Service Credit"),
}
HARDWARE = [
    ("Dell OptiPlex 7020 desktop", "1049.00"),
    ("Lenovo ThinkPad T14 laptop", "1389.99"),
    ("Ubiquiti UniFi U7 Pro access point", "189.00"),
    ("FortiGate 60F firewall", "745.50"),
    ("APC Smart-UPS 1500VA", "689.95"),
    ('Dell 27" monitor P2725H', "259.99"),
    ("Yealink T54W desk phone", "214.00"),
    ("Synology DS923+ NAS", "629.99"),
    ("Cat6 patch cables (10-pack)", "34.99"),
    ("Logitech MX Keys combo", "119.99"),
    ("Samsung 1TB NVMe SSD", "89.99"),
    ("Cisco CBS350 24-port switch", "512.00"),
]
PROJECTS = [
    ("Project: server migration milestone", "4850.00"),
    ("Project: Microsoft 365 tenant migration", "3150.00"),
    ("Project: firewall replacement", "2400.00"),
    ("Project: Wi-Fi refresh", "6200.00"),
    ("Project: security assessment", "1250.00"),
    ("Project: office move", "8975.00"),
]
ONSITE_TASKS = [
    "printer replacement",
    "new hire workstation setup",
    "network closet cleanup",
    "conference room AV fix",
    "UPS battery swap",
    "switch firmware upgrade",
]
FIRST_NAMES = [
    "Maria", "James", "Priya", "Chen", "Olivia", "Marcus", "Sofia", "Daniel", "Aisha",
    "Liam", "Hannah", "Mateo", "Grace", "Noah", "Yuki", "Ethan", "Zoe", "Samuel",
    "Fatima", "Lucas", "Nora", "Owen", "Isabel", "Ravi",
]  # fmt: skip
LAST_NAMES = [
    "Garcia", "Okafor", "Nguyen", "Patel", "Kowalski", "Brennan", "Silva", "Larsen",
    "Haddad", "Fischer", "Moreau", "Tanaka", "Reyes", "Lindqvist", "Ahmed", "Novak",
    "Walsh", "Rossi", "Kim", "Adeyemi",
]  # fmt: skip
MONTH_NAMES = [
    "", "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
]  # fmt: skip


# --------------------------------------------------------------------------- the book
@dataclass(eq=False)
class Book:
    rng: random.Random
    clients: list[Client] = field(default_factory=list)
    companies: list[CwCompany] = field(default_factory=list)
    customers: list[QboCustomer] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    credit_memos: list[CreditMemo] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    scenarios: dict = field(default_factory=dict)
    by_key: dict[str, Client] = field(default_factory=dict)
    psa_credit_memos: list[PsaCreditMemo] = field(default_factory=list)
    qbo_deleted: list[tuple[str, str, datetime]] = field(default_factory=list)

    def client(self, key: str) -> Client:
        return self.by_key[key]


# key, CW name, QBO name, CW identifier, users, pay profile
REGULAR = [
    ("blueridge", "Blue Ridge Dental Group", None, "BlueRidge", 18, "prompt"),
    ("harbor", "Harbor Point Logistics", None, "HarborPt", 42, "normal"),
    ("cedar", "Cedar Valley Credit Union", None, "CedarCU", 65, "autopay"),
    ("summit", "Summit Orthopedics", None, "SummitOrtho", 38, "normal"),
    ("pinecrest", "Pinecrest Veterinary Clinic", None, "PinecrestVet", 12, "prompt"),
    ("lakeside", "Lakeside Montessori School", None, "LakesideMS", 22, "slow"),
    ("ironwood", "Ironwood Manufacturing", None, "Ironwood", 75, "normal"),
    ("brightline", "Brightline Architects", None, "Brightline", 16, "prompt"),
    ("redwood", "Redwood Family Law", None, "RedwoodLaw", 9, "normal"),
    ("coastal", "Coastal Breeze Hotels", None, "CoastalBrz", 55, "slow"),
    ("meridian", "Meridian Wealth Advisors", None, "MeridianWA", 14, "autopay"),
    ("granite", "Granite State Insurance Agency", None, "GraniteIns", 20, "normal"),
    ("silvercreek", "Silver Creek Winery", None, "SilverCrk", 11, "slow"),
    ("northstar", "Northstar Engineering", None, "NorthstarEng", 33, "normal"),
    ("willow", "Willow Creek Senior Living", None, "WillowCSL", 47, "slow"),
    ("pioneer", "Pioneer Title & Escrow", None, "PioneerTE", 15, "prompt"),
    ("evergreen", "Evergreen Landscaping", None, "Evergreen", 8, "normal"),
    ("oakhollow", "Oak Hollow Pediatrics", None, "OakHollow", 24, "autopay"),
    ("hudson", "Hudson Valley Brewing Co", None, "HudsonBrew", 19, "slow"),
    ("keller", "Keller & Associates CPA", None, "KellerCPA", 13, "prompt"),
    ("riverbend", "Riverbend Auto Group", None, "RiverbendAG", 58, "normal"),
    ("bayside", "Bayside Physical Therapy", None, "BaysidePT", 10, "normal"),
    ("copperline", "Copperline Electric", None, "Copperline", 27, "slow"),
    ("sterling", "Sterling Property Management", None, "SterlingPM", 21, "normal"),
    ("aspen", "Aspen Ridge Realty", None, "AspenRidge", 17, "prompt"),
    ("beacon", "Beacon Hill Chiropractic", None, "BeaconChiro", 7, "autopay"),
    ("trident", "Trident Marine Supply", None, "TridentMar", 29, "normal"),
    # names that carry markup, quotes, ampersands and non-ASCII, identical in both systems
    ("refund", "Refund [/] pending [bold]x", None, "RefundPend", 6, "normal"),
    ("acme", "[bold]ACME Corp", None, "ACME", 31, "normal"),
    ("foobar", "Foo [/] Bar Ltd", None, "FooBar", 9, "slow"),
    ("smith", "Smith & Sons", None, "SmithSons", 11, "prompt"),
    ("obrien", 'O\'Brien "Quality" Plumbing', None, "OBrienQP", 8, "normal"),
    ("cafe", "Café Zürich GmbH", None, "CafeZurich", 14, "normal"),
    ("aero", "Ærø Shipping ApS", None, "AeroShip", 23, "autopay"),
    ("tokyo", "東京テック株式会社", None, "TokyoTech", 26, "prompt"),
    # names that match only after normalisation: CW name, QBO name
    ("contoso", "Contoso Ltd", "Contoso, Ltd.", "Contoso", 36, "normal"),
    ("fabrikam", "Fabrikam, Inc.", "Fabrikam Inc", "Fabrikam", 28, "prompt"),
    ("tailspin", "Tailspin Toys", "tailspin  TOYS", "Tailspin", 19, "normal"),
    ("adventure", "Adventure Works Cycles", "Adventure-Works Cycles", "AdvWorks", 25, "slow"),
    # never auto-mapped: apostrophe becomes a space on one side, "LLC" on the other
    ("atomar", "Atomars Best Tackle LLC", "Atomar's Best Tackle", "AtomarsBT", 3, "slow"),
]


def build_clients(book: Book) -> None:
    rng = book.rng
    for key, cw_name, qbo_name, identifier, users, pay in REGULAR:
        cw = CwCompany(cw_name, identifier)
        qbo = QboCustomer(qbo_name or cw_name)
        client = Client(key, cw, qbo, users, pay)
        book.clients.append(client)
    # ambiguity: two PSA companies normalising to the same name, one ledger customer
    northwind_qbo = QboCustomer("Northwind Traders Inc")
    book.clients.append(
        Client(
            "northwind", CwCompany("Northwind Traders", "Northwind"), northwind_qbo, 34, "normal"
        )
    )
    book.clients.append(
        Client(
            "northwind-dup",
            CwCompany("Northwind Traders, LLC", "NorthwindLLC"),
            northwind_qbo,
            34,
            "normal",
            monthly_from=None,
            project_weight=0.3,
        )
    )
    # near-duplicate ledger customers: some invoices were exported to the duplicate
    book.clients.append(
        Client(
            "globex",
            CwCompany("Globex Corporation", "Globex"),
            QboCustomer("Globex Corporation"),
            44,
            "normal",
            alt_qbo=QboCustomer("Globex Corp."),
        )
    )
    # a PSA company in the recycle bin that still has old invoices
    book.clients.append(
        Client(
            "umbrella",
            CwCompany("Umbrella Health Partners", "UmbrellaHP", status="Inactive", deleted=True),
            QboCustomer("Umbrella Health Partners"),
            30,
            "prompt",
            monthly_to=date(2026, 2, 1),
            projects_until=date(2026, 2, 20),
        )
    )
    # a former client: inactive in the ledger, its invoices all paid
    book.clients.append(
        Client(
            "initech",
            CwCompany("Initech LLC", "Initech", status="Inactive"),
            QboCustomer("Initech LLC", active=False),
            26,
            "prompt",
            monthly_to=date(2026, 4, 1),
            projects_until=date(2026, 4, 10),
        )
    )
    # multi-currency: a Canadian client billed once, in CAD
    book.clients.append(
        Client(
            "mapleleaf",
            CwCompany("Maple Leaf Robotics Inc.", "MapleLeaf"),
            QboCustomer("Maple Leaf Robotics Inc.", currency="CAD"),
            12,
            "normal",
            monthly_from=None,
            project_weight=0,
        )
    )
    # a ledger customer with no PSA counterpart (invoices typed straight into QBO)
    book.clients.append(
        Client(
            "keystone",
            None,
            QboCustomer("Keystone Realty Partners"),
            5,
            "normal",
            monthly_from=None,
            project_weight=0,
        )
    )
    atomar = next(c for c in book.clients if c.key == "atomar")
    atomar.project_weight = 0

    for client in book.clients:
        book.by_key[client.key] = client
        ascii_name = (
            unicodedata.normalize("NFKD", client.cw.identifier if client.cw else client.qbo.name)
            .encode("ascii", "ignore")
            .decode()
        )
        client.domain = "".join(ch for ch in ascii_name.lower() if ch.isalnum()) + ".example.com"
        client.rate = D(rng.choice(["95", "110", "125", "145"]))
        client.servers = rng.choice([0, 0, 1, 2, 3, 4, 6]) if client.users > 8 else 0
        client.backup = D(rng.choice(["0", "150", "250", "400"]))
        client.m365 = D(rng.choice(["0", "22.00", "22.00", "36.00"]))
        client.terms = rng.choice([30, 30, 30, 15])
        for cust in (client.qbo, client.alt_qbo):
            if cust is not None and cust not in book.customers:
                cust.email = f"ap@{client.domain}"
                book.customers.append(cust)
        if client.cw is not None:
            book.companies.append(client.cw)
    book.client("atomar").terms = 30
    book.client("mapleleaf").terms = 30


# --------------------------------------------------------------------------- invoices
def monthly_lines(rng: random.Random, client: Client, month: date) -> list[Line]:
    label = f"({MONTH_NAMES[month.month]} {month.year})"
    if client.key == "atomar":
        return [Line(f"Managed Services - Essentials {label}", "essentials", D(1), D(120))]
    users = max(1, client.users + rng.choice([0, 0, 0, 0, 1, -1, 2]))
    lines = [Line(f"Managed Services - Per User {label}", "per-user", Decimal(users), client.rate)]
    if client.servers:
        lines.append(
            Line(f"Managed Server {label}", "server", Decimal(client.servers), D("175.00"))
        )
    if client.backup:
        lines.append(Line(f"Backup & Disaster Recovery {label}", "backup", D(1), client.backup))
    if client.m365:
        lines.append(
            Line(f"Microsoft 365 Business Premium {label}", "m365", Decimal(users), client.m365)
        )
    return lines


def project_lines(rng: random.Random) -> tuple[str, list[Line]]:
    roll = rng.random()
    if roll < 0.5:
        hours = Decimal(rng.randint(2, 64)) / 4
        if rng.random() < 0.6:
            ticket = rng.randint(48000, 61000)
            return "labor", [Line(f"Remote support - ticket #{ticket}", "remote", hours, D(165))]
        task = rng.choice(ONSITE_TASKS)
        return "labor", [Line(f"Onsite support - {task}", "onsite", hours, D(185))]
    if roll < 0.85:
        lines = []
        for description, price in rng.sample(HARDWARE, rng.randint(1, 3)):
            most = 10 if D(price) < 200 else 3
            lines.append(Line(description, "hardware", Decimal(rng.randint(1, most)), D(price)))
        return "hardware", lines
    description, price = rng.choice(PROJECTS)
    return "project", [Line(description, "project", D(1), D(price))]


def generate_invoices(book: Book) -> None:
    rng = book.rng
    seq = 0
    # monthly managed-services runs on the 1st
    month = date(2025, 12, 1)
    while month <= END:
        for client in book.clients:
            if client.monthly_from and client.monthly_from <= month <= client.monthly_to:
                seq += 1
                book.invoices.append(
                    Invoice(client, month, monthly_lines(rng, client, month), "monthly", seq=seq)
                )
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    # project, labour and hardware invoices on working days
    weighted = [c for c in book.clients if c.project_weight > 0 and c.cw is not None]
    weights = [c.project_weight * (c.users**0.5) for c in weighted]
    day = START
    while day <= END:
        count = rng.choice([1, 1, 2, 2, 2, 3, 3]) if day.weekday() < 5 else 0
        for _ in range(count):
            client = rng.choices(weighted, weights)[0]
            while day > client.projects_until:
                client = rng.choices(weighted, weights)[0]
            kind, lines = project_lines(rng)
            seq += 1
            invoice = Invoice(client, day, lines, kind, seq=seq)
            if client.alt_qbo is not None and kind != "monthly" and rng.random() < 0.35:
                invoice.customer = client.alt_qbo
            book.invoices.append(invoice)
        day += timedelta(days=1)
    for invoice in book.invoices:
        if invoice.customer is None:
            invoice.customer = invoice.client.qbo


def add(book: Book, invoice: Invoice) -> Invoice:
    invoice.manual = True
    invoice.seq = len(book.invoices) + 100000
    if invoice.customer is None:
        invoice.customer = invoice.client.qbo
    book.invoices.append(invoice)
    return invoice


def number_invoices(book: Book) -> None:
    """PSA numbers in date order from 10001; seed numbers keep their own."""
    atomar_dec = book.scenarios["seed_001_unapplied_credit"]["invoice"]
    ordered = sorted(
        (i for i in book.invoices if i.in_psa and not i.number), key=lambda i: (i.day, i.seq)
    )
    ordered.remove(atomar_dec)
    ordered.insert(39, atomar_dec)
    assert ordered[38].day <= atomar_dec.day <= ordered[40].day, "10040 must sit in date order"
    for index, invoice in enumerate(ordered):
        invoice.number = str(FIRST_NUMBER + index)
    assert atomar_dec.number == "10040"
    for invoice in book.invoices:
        if invoice.in_ledger and invoice.doc_number is None:
            invoice.doc_number = invoice.number


# --------------------------------------------------------------------------- payments
PAY_DAYS = {"autopay": (0, 0), "prompt": (8, 20), "normal": (14, 40), "slow": (28, 80)}


def pay(book: Book, invoice: Invoice, amount: Decimal, day: date, **app: object) -> Payment:
    """Record a cash payment against one invoice in the ledger (and, by default, the PSA)."""
    moment = at(day, book.rng.randint(15, 23), book.rng.choice([0, 10, 20, 30, 40, 50]))
    payment = Payment(invoice.customer, day, moment, amount, [(invoice, amount)])
    payment.ref = str(book.rng.randint(1000, 99999))
    book.payments.append(payment)
    invoice.apps.append(App(amount, moment, "payment", payment=payment, **app))
    return payment


def generate_payments(book: Book) -> None:
    rng = book.rng
    for invoice in sorted(book.invoices, key=lambda i: (i.day, i.seq)):
        if invoice.manual or not invoice.in_ledger:
            continue
        total = invoice.total
        low, high = PAY_DAYS[invoice.client.pay]
        days = invoice.client.terms if invoice.client.pay == "autopay" else rng.randint(low, high)
        first = invoice.day + timedelta(days=max(days, 8))
        if not invoice.customer.active or invoice.client.cw.deleted:
            pay(book, invoice, total, first)  # former clients settled up before leaving
            continue
        if invoice.client.pay == "slow" and rng.random() < 0.03:
            continue  # disputed, left open
        if at(first, 23, 59) >= AS_OF:
            continue
        if invoice.client.pay != "autopay" and rng.random() < 0.05 and total > D(200):
            part = whole(total * Decimal(rng.choice(["0.25", "0.5", "0.6"])))
            pay(book, invoice, part, first)
            second = first + timedelta(days=rng.randint(14, 45))
            if at(second, 23, 59) < AS_OF and rng.random() < 0.7:
                pay(book, invoice, total - part, second)
        else:
            pay(book, invoice, total, first)


# --------------------------------------------------------------------------- scenarios
def plant_scenarios(book: Book) -> None:
    """Every discrepancy the demo and the tests rely on, placed by rule, not by chance."""
    sc = book.scenarios
    c = book.client

    # seed 000: a $10 payment both systems show at the first sync; events.json then
    # deletes it in both after that sync (its QBO Payment is numbered with the
    # additions, in plant_real_book, so every other id stays as it was)
    inv = add(
        book,
        Invoice(
            c("redwood"),
            date(2026, 6, 10),
            [Line("After-hours support call", "remote", D(1), D(50))],
            "labor",
            number="110273",
        ),
    )
    inv.apps.append(App(D(10), at(date(2026, 7, 2), 18, 5), "payment"))
    sc["seed_000_payment_reversed"] = {"invoice": inv}

    # seed 001: Atomar's Best Tackle, 10040 open, an older open invoice, credit 11261
    older = add(
        book,
        Invoice(
            c("atomar"),
            date(2025, 11, 18),
            [Line("Rugged POS tablet", "hardware", D(1), D("245.00"))],
            "hardware",
        ),
    )
    memo = CreditMemo(
        c("atomar").qbo,
        date(2026, 10, 28),
        [Line("Service credit - POS outage 2026-10-22", "credit", D(1), D(10))],
        "CM-1004",
        "Goodwill credit for the October outage",
        id=ATOMAR_CREDIT_MEMO_ID,
    )
    book.credit_memos.append(memo)
    atomar_dec = pick(book, "atomar", "monthly", date(2025, 12, 1))
    sc["seed_001_unapplied_credit"] = {"invoice": atomar_dec, "older": older, "memo": memo}

    # credit applied in the ledger (zero payment linking invoice + credit memo), not synced
    inv = add(
        book,
        Invoice(
            c("harbor"),
            date(2026, 10, 6),
            [Line("Onsite support - dock scanner fix", "onsite", D(1), D(120))],
            "labor",
        ),
    )
    memo = CreditMemo(
        c("harbor").qbo,
        date(2026, 10, 20),
        [Line("Service credit - scanner downtime", "credit", D(1), D(10))],
        "CM-1002",
        "Credit for scanner downtime",
    )
    book.credit_memos.append(memo)
    apply_credit(book, inv, memo, D(10), date(2026, 11, 2), in_psa=False)
    sc["credit_applied_not_synced"] = {"invoice": inv, "memo": memo}

    # seed 004: 3717.00 paid in the ledger only; 7030.80 unpaid on both sides
    inv = add(
        book,
        Invoice(
            c("summit"),
            date(2026, 9, 8),
            [Line("Project: imaging server replacement", "project", D(1), D("3717.00"))],
            "project",
            number="220499-1",
        ),
    )
    pay(book, inv, D("3717.00"), date(2026, 10, 5), in_psa=False)
    sc["payment_applied_not_synced"] = {"invoice": inv}
    inv = add(
        book,
        Invoice(
            c("ironwood"),
            date(2026, 10, 20),
            [
                Line("Project: plant-floor network labor", "project", D(24), D("185.00")),
                Line("Cisco CBS350 24-port switch", "hardware", D(4), D("512.00")),
                Line("FortiGate 60F firewall", "hardware", D(1), D("542.80")),
            ],
            "project",
            number="220477-4",
        ),
    )
    assert inv.total == D("7030.80")
    sc["matched_unpaid"] = {"invoice": inv}

    # seed 004: linked by id although the numbers differ. Real ConnectWise keeps no
    # ledger id, so this pairs only through the optional custom field (off by default:
    # then it is Not in Ledger, and the QBO copy Not in PSA).
    inv = add(
        book,
        Invoice(
            c("brightline"),
            date(2026, 4, 14),
            [Line("Project: plotter and CAD workstation rollout", "project", D(1), D("2912.50"))],
            "project",
            number="220399-1",
            doc_number="220370-5",
        ),
    )
    pay(book, inv, inv.total, date(2026, 4, 30))
    inv.custom_link = True
    sc["linked_by_id"] = {"invoice": inv}

    # the PSA missed the second part of a partial payment
    inv = add(
        book,
        Invoice(
            c("coastal"),
            date(2026, 8, 17),
            [Line("Project: guest Wi-Fi upgrade", "project", D(1), D("1850.00"))],
            "project",
        ),
    )
    pay(book, inv, D("1000.00"), date(2026, 9, 10))
    pay(book, inv, D("500.00"), date(2026, 10, 15), in_psa=False)
    sc["partial_payment_psa_missed"] = {"invoice": inv}

    # invoices typed straight into the ledger
    keystone = c("keystone")
    ledger_only = []
    for doc, client, day, description, amount, paid in [
        ("QB-1001", keystone, date(2026, 3, 12), "Network assessment", "1500.00", True),
        ("QB-1002", keystone, date(2026, 9, 21), "Consulting - lease renewal IT", "850.00", False),
        ("QB-1003", c("blueridge"), date(2026, 7, 7), "Late fee", "35.00", False),
    ]:
        inv = add(
            book,
            Invoice(
                client,
                day,
                [Line(description, "services", D(1), D(amount))],
                "ledger-only",
                doc_number=doc,
                in_psa=False,
                exported=False,
            ),
        )
        if paid:
            pay(book, inv, inv.total, day + timedelta(days=20))
        ledger_only.append(inv)
    sc["not_in_psa"] = ledger_only

    # one CAD invoice
    inv = add(
        book,
        Invoice(
            c("mapleleaf"),
            date(2026, 5, 19),
            [Line("Project: robot cell network segmentation", "project", D(1), D("2450.00"))],
            "project",
            currency="CAD",
        ),
    )
    pay(book, inv, inv.total, date(2026, 6, 12))
    sc["multi_currency"] = {"invoice": inv}

    # unapplied payments and credit memos with remaining credit
    meridian_oct = pick(book, "meridian", "monthly", date(2026, 10, 1))
    overpay = pay(book, meridian_oct, meridian_oct.total, date(2026, 10, 30))
    overpay.total += D(250)
    prepay = Payment(c("cedar").qbo, date(2026, 11, 5), at(date(2026, 11, 5), 19, 12), D(400))
    prepay.ref = "ACH-88213"
    prepay.note = "Prepayment for December services"
    book.payments.append(prepay)
    sc["unapplied_payments"] = [overpay, prepay]

    memo_silver = CreditMemo(
        c("silvercreek").qbo,
        date(2026, 9, 30),
        [Line("Credit - returned Yealink phones", "credit", D(3), D("25.00"))],
        "CM-1001",
        "Returned hardware",
    )
    book.credit_memos.append(memo_silver)
    northstar_sep = pick(book, "northstar", "monthly", date(2026, 9, 1))
    memo_north = CreditMemo(
        c("northstar").qbo,
        date(2026, 8, 25),
        [Line("Service credit - SLA breach August", "credit", D(1), D("200.00"))],
        "CM-1003",
        "SLA credit, apply over several months",
    )
    book.credit_memos.append(memo_north)
    apply_credit(book, northstar_sep, memo_north, D(50), date(2026, 9, 10))
    pay(book, northstar_sep, northstar_sep.total - D(50), date(2026, 9, 28))
    sc["credit_memos_remaining"] = [
        memo_silver,
        memo_north,
        sc["seed_001_unapplied_credit"]["memo"],
    ]

    # partial payments matched on both sides
    partial = []
    for key in ("granite", "sterling", "willow"):
        inv = pick(book, key, "monthly", date(2026, 10, 1))
        pay(book, inv, whole(inv.total / 2), date(2026, 10, 24))
        partial.append(inv)
    sc["partial_payments_matched"] = partial

    # picks from the regular stream, by rule
    projects = sorted(
        (i for i in book.invoices if not i.manual and i.kind != "monthly"),
        key=lambda i: (i.day, i.seq),
    )
    plain = [i for i in projects if i.client.key in {k for k, *_ in REGULAR[:27]}]

    unexported = projects[-5:]
    for inv in unexported:
        inv.manual = True
        inv.exported = inv.in_ledger = False
    sc["not_in_ledger"] = unexported

    deleted = distinct_clients([i for i in plain if i.day.month == 6 and i.day.year == 2026], 2)
    for inv in deleted:
        inv.manual = True
        inv.ledger_deleted = True
        inv.custom_link = True  # with [psa] ledger_link_field on: Expected but not Found
    sc["expected_not_found"] = deleted

    voided = distinct_clients([i for i in plain if i.day.month == 4 and i.day.year == 2026], 3)
    for inv in voided:
        inv.manual = True
        inv.ledger_voided_at = at(inv.day + timedelta(days=12), 21, 5)
    voided[2].psa_voided = True
    sc["voided_psa_owing"] = voided[:2]
    sc["voided_both_zero"] = voided[2]

    # Draws kept from when some early invoices lacked a recorded link: they hold the
    # random sequence, so every later amount and date stays what it was.
    early = [i for i in book.invoices if i.in_psa and i.in_ledger and i.day < date(2026, 1, 1)]
    for inv in early:
        if not inv.manual:
            book.rng.random()


def pick(book: Book, key: str, kind: str, day: date) -> Invoice:
    inv = next(
        i
        for i in book.invoices
        if i.client.key == key and i.kind == kind and i.day == day and not i.manual
    )
    inv.manual = True
    return inv


def distinct_clients(candidates: list[Invoice], count: int) -> list[Invoice]:
    chosen: list[Invoice] = []
    for inv in candidates:
        if all(inv.client is not other.client for other in chosen):
            chosen.append(inv)
        if len(chosen) == count:
            return chosen
    raise AssertionError("not enough candidates")


def apply_credit(
    book: Book, inv: Invoice, memo: CreditMemo, amount: Decimal, day: date, *, in_psa: bool = True
) -> Payment:
    """How QBO records a credit memo application: a Payment of 0 linking both."""
    moment = at(day, 20, 15)
    payment = Payment(inv.customer, day, moment, ZERO, [(inv, amount), (memo, amount)])
    payment.note = f"Applied credit memo {memo.doc_number}"
    book.payments.append(payment)
    memo.applied.append((amount, moment))
    inv.apps.append(App(amount, moment, "credit", in_psa=in_psa, payment=payment))
    return payment


# --------------------------------------------------------------------------- ids and times
def assign_ids(book: Book) -> None:
    rng = book.rng
    # PSA companies and ledger customers exist before the period
    next_company = 250
    for company in book.companies:
        next_company += rng.randint(1, 9)
        company.id = next_company
        company.entered = at(date(2018, 1, 1) + timedelta(days=rng.randint(0, 2800)), 16, 20)
        company.updated = at(date(2025, 6, 1) + timedelta(days=rng.randint(0, 520)), 15, 45)
        if company.deleted:
            company.updated = at(date(2026, 3, 5), 22, 14)
    for index, customer in enumerate(book.customers, start=1):
        customer.id = str(index + 57)
        customer.created = at(date(2018, 3, 1) + timedelta(days=rng.randint(0, 2700)), 18, 2)

    # export: a nightly GL batch the day after the invoice date
    batches: dict[date, tuple[int, str]] = {}
    for inv in sorted(book.invoices, key=lambda i: (i.day, i.seq)):
        inv.entered = at(inv.day, rng.randint(14, 22), rng.choice([0, 5, 15, 30, 45]))
        if inv.exported:
            export_day = inv.day + timedelta(days=1)
            if export_day not in batches:
                batches[export_day] = (len(batches) + 1, f"GL{export_day:%Y%m%d}")
            inv.batch = batches[export_day]
            inv.export_at = at(export_day, 17, 30)
        elif inv.in_ledger:  # typed straight into the ledger
            inv.export_at = inv.entered

    # one transaction id sequence in creation order, like a QBO realm
    txns: list[tuple[datetime, int, object]] = []
    for order, inv in enumerate(book.invoices):
        if inv.in_ledger:
            txns.append((inv.export_at, order, inv))
    for order, payment in enumerate(book.payments):
        txns.append((payment.moment, order, payment))
    for order, memo in enumerate(book.credit_memos):
        txns.append((at(memo.day, 16, 0), order, memo))
    txns.sort(key=lambda t: (t[0], type(t[2]).__name__, t[1]))
    next_id = FIRST_TXN_ID
    for _, _, txn in txns:
        if getattr(txn, "id", "") == ATOMAR_CREDIT_MEMO_ID:
            continue
        if str(next_id) == ATOMAR_CREDIT_MEMO_ID:
            next_id += 1
        if isinstance(txn, Invoice):
            txn.qbo_id = str(next_id)
        else:
            txn.id = str(next_id)
        next_id += 1

    for index, inv in enumerate(
        sorted((i for i in book.invoices if i.in_psa), key=lambda i: (i.entered, i.seq))
    ):
        inv.cw_id = 4501 + index


# --------------------------------------------------------------------------- contacts
def build_contacts(book: Book) -> None:
    """1-4 contacts a company; a few companies where nobody can see invoices."""
    rng = book.rng
    below_five = {"pinecrest", "smith", "trident"}
    admin_inactive = {"aspen"}
    next_id = 1201
    for client in book.clients:
        company = client.cw
        if company is None:
            continue
        count = rng.randint(1, 4)
        levels = [rng.choice([1, 2, 3, 3, 4, 4, 5, 6]) for _ in range(count)]
        inactive = [rng.random() < 0.1 or company.deleted for _ in range(count)]
        if client.key in below_five:
            levels = [min(level, 4) for level in levels] + [rng.choice([1, 2, 3, 4])]
            inactive += [False]
        elif client.key in admin_inactive:
            levels = [min(level, 4) for level in levels] + [6]
            inactive += [True]
        elif not company.deleted and not any(
            level >= 5 and not off for level, off in zip(levels, inactive, strict=True)
        ):
            levels.append(rng.choice([5, 6]))
            inactive.append(False)
        for level, off in zip(levels, inactive, strict=True):
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            if client.key == "cafe":
                first, last = rng.choice(
                    [("Jürgen", "Weiß"), ("Zoë", "Müller"), ("Anaïs", "Brändli")]
                )
            if client.key == "tokyo":
                first, last = rng.choice([("Haruto", "Sato"), ("Yui", "Suzuki")])
            email = f"{first}.{last}@{client.domain}"
            email = unicodedata.normalize("NFKD", email).encode("ascii", "ignore").decode().lower()
            items = [
                {
                    "id": next_id * 10 + 1,
                    "type": {"id": 1, "name": "Email"},
                    "value": email,
                    "defaultFlag": True,
                    "communicationType": "Email",
                }
            ]
            if rng.random() < 0.6:
                items.append(
                    {
                        "id": next_id * 10 + 2,
                        "type": {"id": 2, "name": "Direct"},
                        "value": f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                        "defaultFlag": True,
                        "communicationType": "Phone",
                    }
                )
            updated = at(date(2025, 3, 1) + timedelta(days=rng.randint(0, 620)), 13, 37)
            book.contacts.append(
                {
                    "id": next_id,
                    "firstName": first,
                    "lastName": last,
                    "company": {
                        "id": company.id,
                        "identifier": company.identifier,
                        "name": company.name,
                    },
                    "portalSecurityLevel": level,
                    "inactiveFlag": off,
                    "communicationItems": items,
                    "_info": {"lastUpdated": cw_time(updated), "updatedBy": "jmorales"},
                }
            )
            next_id += 1
    present = {c["portalSecurityLevel"] for c in book.contacts}
    assert present == {1, 2, 3, 4, 5, 6}, present


# --------------------------------------------------------------------------- what real books hold
# Added after the ids are assigned, with ids of their own (QBO 12001+, ConnectWise
# 6001+), so every earlier record keeps its id, amount and date.
PSA_MEMO_FIRST_ID = 6001
EXTRA_QBO_FIRST_ID = 12001
UNPOSTED_FIRST_ID = 70001
PORTAL_LEVEL_CLIENT_ADMIN = 6  # ConnectBooster's default "considered client admin"
PORTAL_LOGIN_DISABLED = "pioneer"  # its only client admin cannot log in
LEVEL_FIVE_AT_MOST = "keller"  # could see invoices under a level-5 rule, not at 6
NO_LEVEL_SIX = {"pinecrest", "smith", "trident", "aspen", PORTAL_LOGIN_DISABLED,
                LEVEL_FIVE_AT_MOST}


def _memo_applied_in_psa(book: Book, memo: CreditMemo) -> Decimal:
    """What of ``memo`` the PSA knows was applied: credit applications whose invoice
    the PSA heard about."""
    applied = ZERO
    for inv in book.invoices:
        for app in inv.apps:
            if app.kind == "credit" and app.in_psa and app.payment is not None and any(
                target is memo for target, _ in app.payment.lines
            ):
                applied += app.amount
    return applied


def plant_real_book(book: Book) -> None:
    """Credit memos in the PSA, an invoice deleted in the PSA after export, a
    payment and a credit memo deleted in QBO, and portal logins as ConnectWise
    switches them (level 6 is the default client-admin line)."""
    sc = book.scenarios
    c = book.client
    next_cw = PSA_MEMO_FIRST_ID
    for memo in sorted(book.credit_memos, key=lambda m: m.doc_number):
        client = next(cl for cl in book.clients if cl.qbo is memo.customer or (
            cl.key == "atomar" and memo.id == ATOMAR_CREDIT_MEMO_ID))
        remaining = memo.total - _memo_applied_in_psa(book, memo)
        book.psa_credit_memos.append(PsaCreditMemo(
            client, memo.doc_number, memo.day, memo.total, remaining, next_cw,
            entered=at(memo.day, 15, 10), memo=memo))
        next_cw += 1
    fresh = PsaCreditMemo(c("blueridge"), "CM-1005", date(2026, 11, 13), D("45.00"),
                          D("45.00"), next_cw, exported=False,
                          entered=at(date(2026, 11, 13), 17, 25))
    book.psa_credit_memos.append(fresh)
    sc["credit_memos"] = book.psa_credit_memos

    # A duplicate invoice the billing team deleted in ConnectWise after the export:
    # QBO still has it (Not in PSA).
    numbers = [int(i.number) for i in book.invoices if i.in_psa and i.number.isdigit()
               and int(i.number) < 100000]
    duplicate = Invoice(c("harbor"), date(2026, 10, 14),
                        [Line("Remote support block (duplicate)", "remote", D(2), D(125))],
                        "labor", number=str(max(numbers) + 1), in_psa=False, psa_deleted=True)
    duplicate.doc_number = duplicate.number
    duplicate.customer = duplicate.client.qbo
    duplicate.manual = True
    duplicate.seq = len(book.invoices) + 200000
    duplicate.entered = at(duplicate.day, 16, 40)
    duplicate.export_at = at(duplicate.day + timedelta(days=1), 17, 30)
    duplicate.qbo_id = str(EXTRA_QBO_FIRST_ID)
    book.invoices.append(duplicate)
    sc["deleted_in_psa"] = [duplicate]

    # Seed 000's $10 payment, in QBO as in the PSA (events.json deletes it in both
    # after the first sync); a mistaken credit memo deleted in QBO (CDC reports it).
    redwood = sc["seed_000_payment_reversed"]["invoice"]
    [ten] = redwood.apps
    ten.payment = Payment(redwood.customer, ten.moment.date(), ten.moment, ten.amount,
                          [(redwood, ten.amount)], ref="4417",
                          id=str(EXTRA_QBO_FIRST_ID + 1))
    book.payments.append(ten.payment)
    book.qbo_deleted.append(("CreditMemo", str(EXTRA_QBO_FIRST_ID + 2),
                             at(date(2026, 11, 10), 18, 45)))

    # Portal access: a real client admin is level 6 by default. Every company but
    # the planted ones gets an active level-6 contact; one has its admin's portal
    # login disabled.
    by_company: dict[int, list[dict]] = {}
    for contact in book.contacts:
        contact["disablePortalLoginFlag"] = False
        by_company.setdefault(contact["company"]["id"], []).append(contact)
    for client in book.clients:
        company = client.cw
        if company is None or company.deleted or client.key in NO_LEVEL_SIX:
            continue
        people = by_company[company.id]
        if not any(p["portalSecurityLevel"] >= PORTAL_LEVEL_CLIENT_ADMIN and not p["inactiveFlag"]
                   for p in people):
            best = max((p for p in people if not p["inactiveFlag"]),
                       key=lambda p: (p["portalSecurityLevel"], -p["id"]))
            best["portalSecurityLevel"] = PORTAL_LEVEL_CLIENT_ADMIN
    for key, top in ((PORTAL_LOGIN_DISABLED, PORTAL_LEVEL_CLIENT_ADMIN), (LEVEL_FIVE_AT_MOST, 5)):
        company = c(key).cw
        assert company is not None
        people = by_company[company.id]
        admin = max(people,
                    key=lambda p: (not p["inactiveFlag"], p["portalSecurityLevel"], -p["id"]))
        admin["portalSecurityLevel"], admin["inactiveFlag"] = top, False
        for other in people:
            if other is not admin:
                other["portalSecurityLevel"] = min(other["portalSecurityLevel"], top - 1)
        if key == PORTAL_LOGIN_DISABLED:
            admin["disablePortalLoginFlag"] = True
            sc["portal_login_disabled"] = admin


# --------------------------------------------------------------------------- causes
# One discrepant invoice per cause the diagnosis names, planted after the ids, by
# rule and without the random stream, so every other record stays as it was.
CW_PAYMENT_FIRST_ID = 30001
CAD_TO_USD = Decimal("0.7300")  # the rate the currency-mismatch story exports at
CAUSES = (  # the diagnosis's cause names (recon_tui.diagnosis.Cause values)
    "payment in ledger only", "payment in PSA only", "credit in ledger only",
    "credit in PSA only", "payment reversed", "amount edited", "voided on one side",
    "rounding", "currency mismatch", "never exported", "exported, not in ledger",
    "deleted in ledger", "created in ledger", "customer unmapped",
)


def regular(book: Book, key: str, kind: str, day: date) -> Invoice:
    """A regular invoice of the stream, taken for a story (the draws are done)."""
    inv = next(i for i in book.invoices if i.client.key == key and i.kind == kind
               and i.day == day and not i.manual)
    inv.manual = True
    return inv


def plant_causes(book: Book) -> None:
    """The causes the planted scenarios lacked: a portal card payment the ledger
    never got (seed 000's second half), an amount edited in the ledger after
    export, a cent of rounding, a credit applied in the PSA before its memo was
    exported; and, for events.json, a payment the ledger deletes after the demo's
    first sync and an invoice it deletes after that sync linked it."""
    sc = book.scenarios
    portal = regular(book, "redwood", "labor", date(2026, 11, 4))
    assert not portal.apps and portal.total == D("1237.50")
    portal.apps.append(App(portal.total, at(date(2026, 11, 12), 16, 42), "payment",
                           in_ledger=False, applied_by="portal"))
    sc["seed_000_portal_payment"] = portal

    edited = regular(book, "hudson", "labor", date(2026, 10, 21))
    [hours] = edited.lines
    assert not edited.apps and hours.qty == D("10.25")
    edited.ledger_lines = [Line(hours.description, hours.item, Decimal("9.75"), hours.rate)]
    edited.ledger_edited_at = at(date(2026, 11, 3), 19, 20)
    sc["amount_edited_in_ledger"] = edited

    cent = regular(book, "evergreen", "hardware", date(2026, 11, 4))
    [laptop] = cent.lines
    assert not cent.apps and laptop.qty == 1
    cent.ledger_lines = [Line(laptop.description, laptop.item, laptop.qty,
                              laptop.rate + CENT)]
    sc["rounding_cent"] = cent

    memo = next(m for m in book.psa_credit_memos if not m.exported)
    target = regular(book, memo.client.key, "monthly", date(2026, 11, 1))
    assert not target.apps and memo.remaining == memo.total
    target.apps.append(App(memo.total, at(date(2026, 11, 14), 18, 10), "credit",
                           in_ledger=False, applied_by="billing", psa_memo=memo))
    memo.remaining = ZERO
    sc["credit_applied_in_psa_only"] = {"invoice": target, "memo": memo}

    reversed_ = regular(book, "bayside", "monthly", date(2026, 10, 1))
    [paid] = reversed_.apps
    assert paid.payment is not None and len(paid.payment.lines) == 1
    sc["payment_deleted_in_ledger_after_sync"] = reversed_

    linked = regular(book, "sterling", "labor", date(2026, 11, 10))
    assert not linked.apps
    sc["ledger_invoice_deleted_after_sync"] = linked

    # Billed in CAD in the PSA (work for its Canadian branch), exported to the USD
    # customer in the ledger at the day's rate: the same invoice in two currencies.
    converted = regular(book, "copperline", "monthly", date(2026, 11, 1))
    assert not converted.apps
    converted.psa_currency = "CAD"
    converted.ledger_lines = [Line(line.description, line.item, line.qty,
                                   (line.rate * CAD_TO_USD).quantize(CENT))
                              for line in converted.lines]
    sc["currency_mismatch"] = converted


def number_psa_payments(book: Book) -> None:
    """ConnectWise payment ids, in the order the payments reached the PSA."""
    apps = sorted(((a.moment, inv.cw_id, n, a) for inv in book.invoices if inv.in_psa
                   for n, a in enumerate(inv.apps) if a.in_psa), key=lambda t: t[:3])
    for offset, (_, _, _, app) in enumerate(apps):
        app.cw_payment_id = CW_PAYMENT_FIRST_ID + offset


def _psa_memo_of(book: Book, app: App) -> PsaCreditMemo:
    if app.psa_memo is not None:
        return app.psa_memo
    assert app.payment is not None
    memo = next(t for t, _ in app.payment.lines if isinstance(t, CreditMemo))
    return next(m for m in book.psa_credit_memos if m.memo is memo)


def emit_cw_payments(book: Book) -> list[dict]:
    """``finance/invoices/{id}/payments`` records: one per application the PSA
    knows of, summing to the invoice's ``payments`` and ``credits``; a credit memo
    applied carries ``credit``. ``type`` is never written: no published source
    lists its values (see recon_tui/sandbox/cw_payments.py)."""
    records = []
    for inv in book.invoices:
        for app in (a for a in inv.apps if a.in_psa) if inv.in_psa else ():
            record: dict = {"id": app.cw_payment_id,
                            "invoice": {"id": inv.cw_id, "identifier": inv.number}}
            if app.kind == "credit":
                memo = _psa_memo_of(book, app)
                record["credit"] = {"id": memo.cw_id, "identifier": memo.number}
            stamp = cw_time(app.moment + timedelta(hours=3))
            record |= {"amount": app.amount, "paymentDate": cw_date(app.moment.date()),
                       "appliedBy": app.applied_by,
                       "_info": {"lastUpdated": stamp, "updatedBy": app.applied_by,
                                 "dateEntered": stamp, "enteredBy": app.applied_by}}
            records.append(record)
    return sorted(records, key=lambda r: r["id"])


def events(book: Book) -> list[dict]:
    """What happens in both systems after the demo's first sync, in order."""
    sc = book.scenarios
    seed = sc["seed_000_payment_reversed"]["invoice"]
    [ten] = seed.apps
    bayside = sc["payment_deleted_in_ledger_after_sync"]
    [paid] = bayside.apps
    sterling = sc["ledger_invoice_deleted_after_sync"]
    assert ten.payment is not None and paid.payment is not None
    return [
        {"id": "seed-000-ledger-payment-deleted", "story": "seed_000_payment_reversed",
         "system": "qbo", "action": "delete_payment", "payment_id": ten.payment.id,
         "invoice_number": seed.number,
         "note": "the $10 payment is deleted in QuickBooks Online after the last sync"},
        {"id": "seed-000-psa-payment-removed", "story": "seed_000_payment_reversed",
         "system": "connectwise", "action": "delete_payment", "invoice_id": seed.cw_id,
         "payment_id": ten.cw_payment_id, "invoice_number": seed.number,
         "note": "and removed from the invoice in ConnectWise: both systems owe 50.00"},
        {"id": "ledger-payment-deleted", "story": "payment_deleted_in_ledger_after_sync",
         "system": "qbo", "action": "delete_payment", "payment_id": paid.payment.id,
         "invoice_number": bayside.number,
         "note": "a payment deleted in QuickBooks Online only; ConnectWise still counts it"},
        {"id": "ledger-invoice-deleted", "story": "ledger_invoice_deleted_after_sync",
         "system": "qbo", "action": "delete_invoice", "invoice_id": sterling.qbo_id,
         "invoice_number": sterling.number,
         "note": "the QBO copy of an invoice the cache has linked is deleted"},
    ]


def emit_psa_credit_memo(memo: PsaCreditMemo) -> dict:
    """A ConnectWise credit memo: ``type`` CreditMemo, amounts negative."""
    company = memo.client.cw
    assert company is not None and memo.entered is not None
    status = "Paid" if memo.remaining == 0 else "Sent" if memo.exported else "New"
    return {
        "id": memo.cw_id,
        "invoiceNumber": memo.number,
        "type": "CreditMemo",
        "status": {"id": CW_STATUS[status], "name": status},
        "company": company_ref(company),
        "applyToType": "All",
        "date": cw_date(memo.day),
        "dueDate": cw_date(memo.day),
        "billingTerms": {"id": 1, "name": "Net 30 days"},
        "subtotal": -memo.total,
        "salesTax": ZERO,
        "total": -memo.total,
        "payments": ZERO,
        "credits": -(memo.total - memo.remaining),
        "balance": -memo.remaining,
        "currency": {"id": 1, "currencyCode": "USD", "name": "US Dollars"},
        "_info": {
            "lastUpdated": cw_time(memo.entered + timedelta(days=1)),
            "updatedBy": "billing",
            "dateEntered": cw_time(memo.entered),
            "enteredBy": "billing",
        },
    }


def emit_unposted(book: Book) -> list[dict]:
    """``finance/accounting/unpostedinvoices``: what the accounting interface has
    not yet exported (invoices closed in the PSA but not in a GL batch)."""
    records = []
    documents: list[tuple[int, str, str, CwCompany | None, date, Decimal]] = [
        (i.cw_id, i.number, "Standard", i.client.cw, i.day, i.psa_total)
        for i in book.invoices if i.in_psa and not i.exported
    ] + [
        (m.cw_id, m.number, "CreditMemo", m.client.cw, m.day, -m.total)
        for m in book.psa_credit_memos if not m.exported
    ]
    for offset, (cw_id, number, kind, company, day, total) in enumerate(sorted(documents)):
        assert company is not None
        records.append({
            "id": UNPOSTED_FIRST_ID + offset,
            "billingLogId": cw_id,
            "invoiceNumber": number,
            "invoiceType": kind,
            "company": company_ref(company),
            "invoiceDate": cw_date(day),
            "total": total,
            "currency": {"id": 1, "currencyCode": "USD", "name": "US Dollars"},
        })
    return records


def emit_qbo_deleted(book: Book) -> list[dict]:
    """The emulator's record of QBO hard deletes, which its CDC reports as
    ``status: "Deleted"`` (not an API payload: the emulator's own state)."""
    return [{"entity": entity, "Id": record_id, "deletedAt": qbo_time(moment)}
            for entity, record_id, moment in book.qbo_deleted]


# --------------------------------------------------------------------------- emit QBO
CURRENCIES = {"USD": "United States Dollar", "CAD": "Canadian Dollar"}
TERMS = {30: ("3", "Net 30"), 15: ("2", "Net 15")}


def ref(customer: QboCustomer) -> dict:
    return {"value": customer.id, "name": customer.name}


def qbo_lines(lines: list[Line], *, zero: bool = False) -> list[dict]:
    out: list[dict] = []
    total = ZERO
    for number, line in enumerate(lines, start=1):
        item_id, item_name = ITEMS[line.item]
        amount = ZERO if zero else line.amount
        total += amount
        qty = line.qty
        out.append(
            {
                "Id": str(number),
                "LineNum": number,
                "Description": line.description,
                "Amount": amount,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": item_id, "name": item_name},
                    "UnitPrice": ZERO if zero else line.rate,
                    "Qty": 0 if zero else (int(qty) if qty == qty.to_integral_value() else qty),
                    "TaxCodeRef": {"value": "NON"},
                },
            }
        )
    out.append({"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    return out


def meta(created: datetime, updated: datetime) -> dict:
    return {"CreateTime": qbo_time(created), "LastUpdatedTime": qbo_time(max(created, updated))}


def emit_qbo_invoice(inv: Invoice) -> dict:
    cust = inv.customer
    assert cust is not None and inv.export_at is not None
    ledger_apps = [a for a in inv.apps if a.in_ledger]
    updated = max([inv.export_at] + [a.moment for a in ledger_apps])
    token = len(ledger_apps)
    note = f"ConnectWise invoice {inv.number}" if inv.in_psa or inv.psa_deleted else ""
    if inv.ledger_voided_at:
        updated = max(updated, inv.ledger_voided_at)
        token += 1
        note = "Voided"
    if inv.ledger_edited_at:
        updated = max(updated, inv.ledger_edited_at)
        token += 1
    linked = []
    for app in ledger_apps:
        assert app.payment is not None
        if not any(t["TxnId"] == app.payment.id for t in linked):
            linked.append({"TxnId": app.payment.id, "TxnType": "Payment"})
    terms_id, terms_name = TERMS[inv.client.terms]
    record: dict = {
        "AllowOnlineCreditCardPayment": False,
        "AllowOnlineACHPayment": True,
        "domain": "QBO",
        "sparse": False,
        "Id": inv.qbo_id,
        "SyncToken": str(token),
        "MetaData": meta(inv.export_at, updated),
        "DocNumber": inv.doc_number,
        "TxnDate": inv.day.isoformat(),
        "CurrencyRef": {"value": inv.currency, "name": CURRENCIES[inv.currency]},
    }
    if inv.currency != "USD":
        record["ExchangeRate"] = Decimal("0.7291")
    if note:
        record["PrivateNote"] = note
    record.update(
        {
            "LinkedTxn": linked,
            "Line": qbo_lines(inv.ledger_lines or inv.lines,
                              zero=inv.ledger_voided_at is not None),
            "TxnTaxDetail": {"TotalTax": ZERO},
            "CustomerRef": ref(cust),
            "BillEmail": {"Address": cust.email},
            "SalesTermRef": {"value": terms_id, "name": terms_name},
            "DueDate": inv.due.isoformat(),
            "TotalAmt": inv.ledger_total,
            "ApplyTaxAfterDiscount": False,
            "PrintStatus": "NotSet",
            "EmailStatus": "EmailSent",
            "Balance": inv.ledger_balance,
        }
    )
    return record


def emit_payment(payment: Payment) -> dict:
    lines = []
    for target, amount in payment.lines:
        if isinstance(target, Invoice):
            linked = {"TxnId": target.qbo_id, "TxnType": "Invoice"}
        else:
            linked = {"TxnId": target.id, "TxnType": "CreditMemo"}
        lines.append({"Amount": amount, "LinkedTxn": [linked]})
    record: dict = {
        "CustomerRef": ref(payment.customer),
        "DepositToAccountRef": {"value": "35"},
        "TotalAmt": payment.total,
        "UnappliedAmt": payment.unapplied,
        "ProcessPayment": False,
        "domain": "QBO",
        "sparse": False,
        "Id": payment.id,
        "SyncToken": "0",
        "MetaData": meta(payment.moment, payment.moment),
        "TxnDate": payment.day.isoformat(),
        "CurrencyRef": {
            "value": payment.customer.currency,
            "name": CURRENCIES[payment.customer.currency],
        },
    }
    if payment.ref:
        record["PaymentRefNum"] = payment.ref
    if payment.note:
        record["PrivateNote"] = payment.note
    record["Line"] = lines
    return record


def emit_credit_memo(memo: CreditMemo) -> dict:
    created = at(memo.day, 16, 0)
    updated = max([created] + [moment for _, moment in memo.applied])
    return {
        "RemainingCredit": memo.remaining,
        "domain": "QBO",
        "sparse": False,
        "Id": memo.id,
        "SyncToken": str(len(memo.applied)),
        "MetaData": meta(created, updated),
        "CustomField": [],
        "DocNumber": memo.doc_number,
        "TxnDate": memo.day.isoformat(),
        "CurrencyRef": {
            "value": memo.customer.currency,
            "name": CURRENCIES[memo.customer.currency],
        },
        "PrivateNote": memo.note,
        "Line": qbo_lines(memo.lines),
        "TxnTaxDetail": {"TotalTax": ZERO},
        "CustomerRef": ref(memo.customer),
        "TotalAmt": memo.total,
        "ApplyTaxAfterDiscount": False,
        "PrintStatus": "NotSet",
        "EmailStatus": "NotSet",
        "Balance": memo.remaining,
    }


def emit_customer(book: Book, cust: QboCustomer) -> dict:
    invoices = [
        i for i in book.invoices if i.customer is cust and i.in_ledger and not i.ledger_deleted
    ]
    balance = sum((i.ledger_balance for i in invoices), ZERO)
    assert cust.created is not None
    touched = [cust.created]
    for inv in invoices:
        touched.append(inv.export_at)
        touched.extend(a.moment for a in inv.apps if a.in_ledger)
    updated = max(touched)
    if not cust.active:
        assert balance == 0, cust.name
        updated = max(updated, at(date(2026, 5, 4), 18, 30))
    return {
        "Taxable": False,
        "Job": False,
        "BillWithParent": False,
        "Balance": balance,
        "BalanceWithJobs": balance,
        "CurrencyRef": {"value": cust.currency, "name": CURRENCIES[cust.currency]},
        "PreferredDeliveryMethod": "Email",
        "IsProject": False,
        "domain": "QBO",
        "sparse": False,
        "Id": cust.id,
        "SyncToken": str(len(invoices) % 17),
        "MetaData": meta(cust.created, updated),
        "FullyQualifiedName": cust.name,
        "CompanyName": cust.name,
        "DisplayName": cust.name,
        "PrintOnCheckName": cust.name,
        "Active": cust.active,
        "PrimaryEmailAddr": {"Address": cust.email},
    }


# --------------------------------------------------------------------------- emit ConnectWise
CW_STATUS = {"New": 1, "Sent": 2, "Partially Paid": 3, "Paid": 4, "Void": 5}
CW_CURRENCY = {"USD": (1, "US Dollars"), "CAD": (2, "Canadian Dollars")}


def psa_status(inv: Invoice) -> str:
    if inv.psa_voided:
        return "Void"
    if not inv.exported:
        return "New"
    if inv.psa_balance == 0:
        return "Paid"
    if inv.psa_balance < inv.psa_total:
        return "Partially Paid"
    return "Sent"


def company_ref(company: CwCompany) -> dict:
    return {"id": company.id, "identifier": company.identifier, "name": company.name}


LINK_FIELD_CAPTION = "Ledger Invoice Id"
"""An MSP-defined invoice custom field some integrations fill with the QBO invoice
id. Real ConnectWise has no such field of its own; the book keeps it on a few
invoices only, to exercise recon-tui's optional ``[psa] ledger_link_field``."""


def emit_cw_invoice(inv: Invoice) -> dict:
    """A ``finance/invoices`` record as API version 2022.1 returns it: no
    ``glBatch`` (whether it was exported comes from the accounting interface's
    unposted list) and no ledger id unless the optional custom field holds one."""
    company = inv.client.cw
    assert company is not None and inv.entered is not None
    psa_apps = [a for a in inv.apps if a.in_psa]
    updated = max([inv.entered] + [a.moment + timedelta(hours=3) for a in psa_apps])
    if inv.export_at is not None:
        updated = max(updated, inv.export_at)
    status = psa_status(inv)
    currency_id, currency_name = CW_CURRENCY[inv.psa_currency or inv.currency]
    record: dict = {
        "id": inv.cw_id,
        "invoiceNumber": inv.number,
        "type": "Standard",
        "status": {"id": CW_STATUS[status], "name": status},
        "company": company_ref(company),
        "applyToType": "All",
        "date": cw_date(inv.day),
        "dueDate": cw_date(inv.due),
        "billingTerms": {
            "id": 1 if inv.client.terms == 30 else 2,
            "name": f"Net {inv.client.terms} days",
        },
        "subtotal": inv.psa_total,
        "salesTax": ZERO,
        "total": inv.psa_total,
        "payments": inv.psa_applied("payment"),
        "credits": inv.psa_applied("credit"),
        "balance": inv.psa_balance,
        "currency": {
            "id": currency_id,
            "currencyCode": inv.psa_currency or inv.currency,
            "name": currency_name,
        },
    }
    if inv.custom_link:
        record["customFields"] = [
            {
                "id": 7,
                "caption": LINK_FIELD_CAPTION,
                "type": "Text",
                "entryMethod": "EntryField",
                "numberOfDecimals": 0,
                "value": inv.qbo_id,
            }
        ]
    record["_info"] = {
        "lastUpdated": cw_time(updated),
        "updatedBy": "QBOSync" if psa_apps else "billing",
        "dateEntered": cw_time(inv.entered),
        "enteredBy": "billing",
    }
    return record


def emit_company(company: CwCompany) -> dict:
    assert company.entered is not None and company.updated is not None
    return {
        "id": company.id,
        "identifier": company.identifier,
        "name": company.name,
        "status": {"id": 1 if company.status == "Active" else 2, "name": company.status},
        "deletedFlag": company.deleted,
        "types": [{"id": 1, "name": "Client"}],
        "_info": {"lastUpdated": cw_time(company.updated), "dateEntered": cw_time(company.entered)},
    }


# --------------------------------------------------------------------------- JSON writing
def _number(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    else:
        text += ".0"
    return text


def dump(value: object) -> str:
    """Compact JSON with Decimals written as exact JSON numbers (never via float)."""
    if isinstance(value, dict):
        items = (json.dumps(k, ensure_ascii=False) + ":" + dump(v) for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, float):
        raise TypeError("floats never reach the book")
    return json.dumps(value, ensure_ascii=False)


def dump_array(records: list[dict]) -> str:
    """One entity per line: small diffs, easy grep."""
    if not records:
        return "[]\n"
    return "[\n" + ",\n".join(dump(r) for r in records) + "\n]\n"


# --------------------------------------------------------------------------- scenarios.json
def psa_view(inv: Invoice) -> dict:
    company = inv.client.cw
    assert company is not None
    return {
        "invoice_number": inv.number,
        "psa_invoice_id": str(inv.cw_id),
        "cw_company_id": str(company.id),
        "cw_company_name": company.name,
        "date": inv.day.isoformat(),
        "psa_total": money(inv.psa_total),
        "psa_balance": money(inv.psa_balance),
    }


def ledger_view(inv: Invoice) -> dict:
    cust = inv.customer
    assert cust is not None
    return {
        "qbo_invoice_id": inv.qbo_id,
        "doc_number": inv.doc_number,
        "qbo_customer_id": cust.id,
        "qbo_customer_name": cust.name,
        "ledger_total": money(inv.ledger_total),
        "ledger_balance": money(inv.ledger_balance),
    }


def both(inv: Invoice) -> dict:
    return psa_view(inv) | ledger_view(inv)


def memo_view(memo: CreditMemo) -> dict:
    return {
        "credit_memo_id": memo.id,
        "doc_number": memo.doc_number,
        "qbo_customer_id": memo.customer.id,
        "qbo_customer_name": memo.customer.name,
        "total": money(memo.total),
        "remaining_credit": money(memo.remaining),
    }


def payment_view(payment: Payment) -> dict:
    return {
        "payment_id": payment.id,
        "qbo_customer_id": payment.customer.id,
        "qbo_customer_name": payment.customer.name,
        "total": money(payment.total),
        "unapplied": money(payment.unapplied),
        "applied_to_qbo_invoice_ids": [
            t.qbo_id for t, _ in payment.lines if isinstance(t, Invoice)
        ],
    }


def psa_payment_view(inv: Invoice) -> dict:
    """The ConnectWise payment records of ``inv`` the ledger lacks."""
    return {"psa_only_payments": [
        {"cw_payment_id": str(a.cw_payment_id), "amount": money(a.amount),
         "payment_date": a.moment.date().isoformat(), "applied_by": a.applied_by}
        for a in inv.apps if a.in_psa and not a.in_ledger]}


def seed_000_view(book: Book) -> dict:
    inv = book.scenarios["seed_000_payment_reversed"]["invoice"]
    [ten] = inv.apps
    assert ten.payment is not None
    return both(inv) | {
        "qbo_payment_id": ten.payment.id,
        "cw_payment_id": str(ten.cw_payment_id),
        "payment_amount": money(ten.amount),
        "payment_date": ten.payment.day.isoformat(),
        "events": [e["id"] for e in events(book) if e["story"] == "seed_000_payment_reversed"],
        "after_events": {"psa_balance": money(inv.psa_total), "ledger_balance":
                         money(inv.ledger_total)},
        "note": "both systems show the $10 payment at the demo's first sync (40.00 owing "
        "each); events.json then deletes it in QBO and removes it in ConnectWise, so the "
        "cache says 40.00 while both systems hold 50.00 until a resync of 110273",
    }


def after_sync_view(book: Book, inv: Invoice, event_id: str, *,
                    ledger_balance: Decimal | None = None, status: str = "Matched") -> dict:
    """An invoice whose story happens after the demo's first sync (events.json)."""
    after: dict = {"status": status}
    if ledger_balance is not None:
        after["ledger_balance"] = money(ledger_balance)
    return both(inv) | {"event": event_id, "after_events": after}


def sc_contacts_below(book: Book) -> dict:
    company = book.client("pinecrest").cw
    assert company is not None
    return {"cw_company_id": str(company.id), "cw_company_name": company.name}


def causes(book: Book) -> dict[str, str]:
    """Each diagnosis cause -> one invoice number of the book that shows it."""
    sc = book.scenarios
    found = {
        "payment in ledger only": sc["payment_applied_not_synced"]["invoice"].number,
        "payment in PSA only": sc["seed_000_portal_payment"].number,
        "credit in ledger only": sc["credit_applied_not_synced"]["invoice"].number,
        "credit in PSA only": sc["credit_applied_in_psa_only"]["invoice"].number,
        "payment reversed": sc["payment_deleted_in_ledger_after_sync"].number,
        "amount edited": sc["amount_edited_in_ledger"].number,
        "voided on one side": sc["voided_psa_owing"][0].number,
        "rounding": sc["rounding_cent"].number,
        "currency mismatch": sc["currency_mismatch"].number,
        "never exported": sc["not_in_ledger"][0].number,
        "exported, not in ledger": sc["expected_not_found"][0].number,
        "deleted in ledger": sc["ledger_invoice_deleted_after_sync"].number,
        "created in ledger": next(i.doc_number for i in sc["not_in_psa"]
                                  if i.client.key != "keystone"),
        "customer unmapped": next(i.doc_number for i in sc["not_in_psa"]
                                  if i.client.key == "keystone" and i.ledger_balance),
    }
    assert set(found) == set(CAUSES)
    return {cause: found[cause] for cause in CAUSES if cause in found}


def expected_mapping(book: Book) -> dict:
    """What auto-mapping by exact name, then by normalised name, must produce."""
    auto, unmapped = [], []
    for cust in book.customers:
        exact = [c for c in book.companies if c.name == cust.name]
        close = [c for c in book.companies if normalise(c.name) == normalise(cust.name)]
        row = {"qbo_customer_id": cust.id, "qbo_customer_name": cust.name}
        if len(exact) == 1:
            auto.append(
                row
                | {
                    "cw_company_id": str(exact[0].id),
                    "cw_company_name": exact[0].name,
                    "method": "exact",
                }
            )
        elif len(close) == 1:
            auto.append(
                row
                | {
                    "cw_company_id": str(close[0].id),
                    "cw_company_name": close[0].name,
                    "method": "normalised",
                }
            )
        else:
            reason = "ambiguous" if close else "no counterpart"
            unmapped.append(
                row | {"reason": reason, "candidate_cw_company_ids": [str(c.id) for c in close]}
            )
    return {"rule": NORMALISATION_RULE, "auto": auto, "unmapped": unmapped}


def _report_rows(psa: list, ledger: list, number: callable, doc: callable,
                 psa_total: callable, ledger_total: callable) -> dict:
    """The statuses a first sync gives, by the rule real integrations use: a PSA
    document pairs with the unclaimed ledger document of the same number (lowest
    QBO id first); the rest of the PSA is Not in Ledger, the rest of the ledger
    Not in PSA. No link is remembered yet, so nothing is Expected but not Found."""
    by_doc: dict[str, list] = {}
    for item in sorted(ledger, key=lambda q: int(q.qbo_id if hasattr(q, "qbo_id") else q.id)):
        by_doc.setdefault(doc(item), []).append(item)
    claimed: set[int] = set()
    rows: dict[str, list] = {
        "Matched": [],
        "Not in Ledger": [],
        "Not in PSA": [],
        "Ledger Invoice Expected but not Found": [],
    }
    for item in sorted(psa, key=lambda p: (number(p), p.cw_id)):
        target = next((q for q in by_doc.get(number(item), []) if id(q) not in claimed), None)
        if target is None:
            rows["Not in Ledger"].append((item, None))
        else:
            claimed.add(id(target))
            rows["Matched"].append((item, target))
    for item in ledger:
        if id(item) not in claimed:
            rows["Not in PSA"].append((None, item))
    return rows


def _report_summary(rows: dict, psa_total: callable, psa_owing: callable,
                    ledger_total: callable, ledger_owing: callable, number: callable,
                    doc: callable) -> dict:
    total_psa = sum((psa_total(p) for status in rows for p, _ in rows[status] if p), ZERO)
    total_ledger = sum((ledger_total(q) for status in rows for _, q in rows[status] if q), ZERO)
    not_down = sum((psa_total(p) for p, _ in rows["Not in Ledger"]), ZERO)
    not_psa = sum((ledger_total(q) for _, q in rows["Not in PSA"]), ZERO)
    matched_diff = sum((ledger_total(q) - psa_total(p) for p, q in rows["Matched"]), ZERO)
    expected_nf = sum((psa_total(p) for p, _ in rows["Ledger Invoice Expected but not Found"]),
                      ZERO)
    invoice_difference = (total_ledger - not_psa) - (total_psa - not_down)
    assert invoice_difference == matched_diff - expected_nf, "report identity"
    discrepant = []
    for status, pairs in rows.items():
        for p, q in pairs:
            pt = psa_total(p) if p else ZERO
            po = psa_owing(p) if p else ZERO
            lt = ledger_total(q) if q else ZERO
            lo = ledger_owing(q) if q else ZERO
            if status != "Matched" or pt != lt or po != lo:
                discrepant.append(
                    {
                        "status": status,
                        "invoice_number": number(p) if p else None,
                        "doc_number": doc(q) if q else None,
                        "difference_total": money(lt - pt),
                        "difference_owing": money(lo - po),
                    }
                )
    return {
        "counts": {status: len(pairs) for status, pairs in rows.items()},
        "total_psa": money(total_psa),
        "total_ledger": money(total_ledger),
        "not_downloaded_to_ledger": money(not_down),
        "not_in_psa": money(not_psa),
        "matched_difference": money(matched_diff),
        "expected_not_found": money(expected_nf),
        "invoice_difference": money(invoice_difference),
        "discrepant": discrepant,
    }


def expected_report(book: Book) -> dict:
    """Invoice statuses and totals after a first sync with the default settings."""
    ledger = [i for i in book.invoices if i.in_ledger and not i.ledger_deleted]
    psa = [i for i in book.invoices if i.in_psa]
    rows = _report_rows(psa, ledger, lambda i: i.number, lambda i: i.doc_number,
                        lambda i: i.psa_total, lambda i: i.ledger_total)
    return {
        "rule": "invoiceNumber == DocNumber among unclaimed QBO invoices, lowest QBO id "
        "first (the optional Ledger Invoice Id custom field is off by default); unclaimed "
        "QBO invoices are Not in PSA. Amounts summed across currencies as-is.",
        **_report_summary(rows, lambda i: i.psa_total, lambda i: i.psa_balance,
                          lambda i: i.ledger_total, lambda i: i.ledger_balance,
                          lambda i: i.number, lambda i: i.doc_number),
    }


def expected_credit_memo_report(book: Book) -> dict:
    """Credit memos pair by number like invoices; amounts are the credit and what
    is left of it, positive on both sides."""
    rows = _report_rows(book.psa_credit_memos, book.credit_memos, lambda m: m.number,
                        lambda m: m.doc_number, None, None)
    return _report_summary(rows, lambda m: m.total, lambda m: m.remaining,
                           lambda m: m.total, lambda m: m.remaining,
                           lambda m: m.number, lambda m: m.doc_number)


def build_manifest(book: Book) -> dict:
    sc = book.scenarios
    c = book.client
    s001 = sc["seed_001_unapplied_credit"]
    atomar_10040 = s001["invoice"]
    assert atomar_10040.number == "10040"
    assert atomar_10040.client.key == "atomar" and atomar_10040.total == D(120)
    older = s001["older"]
    assert older.day < atomar_10040.day and older.ledger_balance > 0

    def company_view(key: str) -> dict:
        client = c(key)
        out: dict = {}
        if client.cw is not None:
            out |= {"cw_company_id": str(client.cw.id), "cw_company_name": client.cw.name}
        if client.qbo is not None:
            out |= {"qbo_customer_id": client.qbo.id, "qbo_customer_name": client.qbo.name}
        return out

    contacts_by_company: dict[int, list[dict]] = {}
    for contact in book.contacts:
        contacts_by_company.setdefault(contact["company"]["id"], []).append(contact)
    all_below = [
        company_view(cl.key)
        for cl in book.clients
        if cl.cw and all(x["portalSecurityLevel"] < 5 for x in contacts_by_company[cl.cw.id])
    ]
    no_active_viewer = [
        company_view(cl.key)
        for cl in book.clients
        if cl.cw
        and not any(
            x["portalSecurityLevel"] >= 5 and not x["inactiveFlag"]
            for x in contacts_by_company[cl.cw.id]
        )
    ]
    psa_invoices = [i for i in book.invoices if i.in_psa]
    ledger_invoices = [i for i in book.invoices if i.in_ledger and not i.ledger_deleted]
    markup = [
        "Refund [/] pending [bold]x",
        "[bold]ACME Corp",
        "Foo [/] Bar Ltd",
        "Smith & Sons",
        'O\'Brien "Quality" Plumbing',
        "Café Zürich GmbH",
        "Ærø Shipping ApS",
        "東京テック株式会社",
    ]
    return {
        "generator": {
            "script": "sample_data/generate.py",
            "seed": SEED,
            "period_start": START.isoformat(),
            "period_end": END.isoformat(),
            "as_of": AS_OF.isoformat(),
            "amounts": "strings with two decimals; JSON files carry exact numbers, "
            "read them with json.load(f, parse_float=Decimal)",
        },
        "counts": {
            "cw_companies": len(book.companies),
            "cw_contacts": len(book.contacts),
            "cw_invoices": len(psa_invoices),
            "cw_credit_memos": len(book.psa_credit_memos),
            "qbo_customers": len(book.customers),
            "qbo_invoices": len(ledger_invoices),
            "qbo_payments": len(book.payments),
            "qbo_credit_memos": len(book.credit_memos),
            "cw_unposted": sum(1 for i in psa_invoices if not i.exported)
            + sum(1 for m in book.psa_credit_memos if not m.exported),
            "qbo_deleted": len(book.qbo_deleted),
            "psa_total_sum": money(sum((i.psa_total for i in psa_invoices), ZERO)),
            "psa_balance_sum": money(sum((i.psa_balance for i in psa_invoices), ZERO)),
            "ledger_total_sum": money(sum((i.ledger_total for i in ledger_invoices), ZERO)),
            "ledger_balance_sum": money(sum((i.ledger_balance for i in ledger_invoices), ZERO)),
        },
        "seed_000_payment_reversed": seed_000_view(book),
        "seed_000_portal_payment": both(sc["seed_000_portal_payment"])
        | psa_payment_view(sc["seed_000_portal_payment"])
        | {"note": "systems really disagree: a portal card payment ConnectWise recorded "
           "and QuickBooks Online never got (PSA owing 0.00, ledger balance the total); "
           "recording it in the ledger resolves it"},
        "seed_001_unapplied_credit": {
            **company_view("atomar"),
            "invoice": both(atomar_10040),
            "credit_memo": memo_view(s001["memo"]),
            "older_open_invoice": both(older),
            "note": "names differ after normalisation: customer stays unmapped",
        },
        "credit_applied_not_synced": both(sc["credit_applied_not_synced"]["invoice"])
        | {
            "credit_memo": memo_view(sc["credit_applied_not_synced"]["memo"]),
            "zero_payment_id": sc["credit_applied_not_synced"]["invoice"].apps[0].payment.id,
        },
        "payment_applied_not_synced": both(sc["payment_applied_not_synced"]["invoice"]),
        "matched_unpaid": both(sc["matched_unpaid"]["invoice"]),
        "linked_by_id": both(sc["linked_by_id"]["invoice"]),
        "not_in_ledger": [psa_view(i) for i in sc["not_in_ledger"]],
        "not_in_psa": [ledger_view(i) | {"date": i.day.isoformat()} for i in sc["not_in_psa"]],
        "expected_not_found": [
            psa_view(i) | {"ledger_invoice_id": i.qbo_id} for i in sc["expected_not_found"]
        ],
        "voided_psa_owing": [both(i) for i in sc["voided_psa_owing"]],
        "voided_both_zero": both(sc["voided_both_zero"]),
        "partial_payments_matched": [both(i) for i in sc["partial_payments_matched"]],
        "partial_payment_psa_missed": both(sc["partial_payment_psa_missed"]["invoice"]),
        "unapplied_payments": [payment_view(p) for p in sc["unapplied_payments"]],
        "credit_memos_remaining": [memo_view(m) for m in sc["credit_memos_remaining"]],
        "multi_currency": both(sc["multi_currency"]["invoice"]) | {"currency": "CAD"},
        "amount_edited_in_ledger": both(sc["amount_edited_in_ledger"])
        | {"edited_at": qbo_time(sc["amount_edited_in_ledger"].ledger_edited_at),
           "note": "hours cut from 10.25 to 9.75 in QuickBooks Online after export"},
        "rounding_cent": both(sc["rounding_cent"])
        | {"note": "the ledger's line is a cent above the PSA's"},
        "currency_mismatch": both(sc["currency_mismatch"])
        | {"psa_currency": "CAD", "ledger_currency": "USD",
           "note": f"billed in CAD in ConnectWise, exported to the USD customer at "
                   f"{CAD_TO_USD} USD per CAD"},
        "credit_applied_in_psa_only": both(sc["credit_applied_in_psa_only"]["invoice"])
        | psa_payment_view(sc["credit_applied_in_psa_only"]["invoice"])
        | {"credit_memo_number": sc["credit_applied_in_psa_only"]["memo"].number,
           "credit_memo_psa_id": str(sc["credit_applied_in_psa_only"]["memo"].cw_id),
           "note": "a credit memo not yet exported, applied in ConnectWise only"},
        "payment_deleted_in_ledger_after_sync": after_sync_view(
            book, sc["payment_deleted_in_ledger_after_sync"], "ledger-payment-deleted",
            ledger_balance=sc["payment_deleted_in_ledger_after_sync"].total)
        | {"qbo_payment_id": sc["payment_deleted_in_ledger_after_sync"].apps[0].payment.id},
        "ledger_invoice_deleted_after_sync": after_sync_view(
            book, sc["ledger_invoice_deleted_after_sync"], "ledger-invoice-deleted",
            status="Ledger Invoice Expected but not Found"),
        "seed_002": {
            "contact_below_portal_level": sc_contacts_below(book),
            "unmapped_customer": company_view("atomar"),
            "missed_by_a_dated_sync": "updated_before_2026",
            "note": "a contact below the portal level, a customer not mapped with certainty, "
            "invoices a sync dated 2026-01-01 misses (see updated_before_2026)",
        },
        "causes": causes(book),
        "causes_staged": {
            "payment reversed": "events.json: after the demo's first sync; the next sync or "
            "resync shows it",
            "deleted in ledger": "events.json: after the demo's first sync; the next sync "
            "shows it (on a first sync with [psa] ledger_link_field, expected_not_found too)",
        },
        "credit_memos": [
            {
                "number": m.number,
                "psa_invoice_id": str(m.cw_id),
                "cw_company_id": str(m.client.cw.id),
                "psa_total": money(m.total),
                "psa_remaining": money(m.remaining),
                "exported": m.exported,
            }
            | ({"qbo_credit_memo_id": m.memo.id, "ledger_total": money(m.memo.total),
                "ledger_remaining": money(m.memo.remaining)} if m.memo else {})
            for m in sc["credit_memos"]
        ],
        "deleted_in_psa": [ledger_view(i) | {"date": i.day.isoformat()}
                           for i in sc["deleted_in_psa"]],
        "deleted_in_qbo": [{"entity": e, "id": i} for e, i, _ in book.qbo_deleted],
        "events": [e["id"] for e in events(book)],
        "portal_login_disabled": {
            "contact_id": str(sc["portal_login_disabled"]["id"]),
            "cw_company_id": str(sc["portal_login_disabled"]["company"]["id"]),
            "cw_company_name": sc["portal_login_disabled"]["company"]["name"],
        },
        "updated_before_2026": {
            "note": "records a first sync dated 2026-01-01 would miss",
            "psa_invoices": sorted(
                (i.number for i in psa_invoices if emit_cw_invoice(i)["_info"]["lastUpdated"]
                 < "2026-01-01"), key=lambda n: (len(n), n)),
            "open_psa_invoices": sorted(
                (i.number for i in psa_invoices if i.psa_balance != 0
                 and emit_cw_invoice(i)["_info"]["lastUpdated"] < "2026-01-01"),
                key=lambda n: (len(n), n)),
        },
        "contacts": {
            "levels_present": sorted({x["portalSecurityLevel"] for x in book.contacts}),
            "all_contacts_below_level_5": all_below,
            "no_active_contact_at_level_5_or_more": no_active_viewer,
            "no_contact_who_can_log_in_at_level_6": [
                company_view(cl.key)
                for cl in book.clients
                if cl.cw
                and not any(
                    x["portalSecurityLevel"] >= 6 and not x["inactiveFlag"]
                    and not x["disablePortalLoginFlag"]
                    for x in contacts_by_company[cl.cw.id]
                )
            ],
            "portal_login_disabled_ids": [
                str(x["id"]) for x in book.contacts if x["disablePortalLoginFlag"]
            ],
            "inactive_contact_ids": [str(x["id"]) for x in book.contacts if x["inactiveFlag"]],
        },
        "names": {
            "markup_and_unicode": markup,
            "normalised_pairs": [
                {"qbo": c(k).qbo.name, "cw": c(k).cw.name} | company_view(k)
                for k in ("contoso", "fabrikam", "tailspin", "adventure")
            ],
            "must_not_match": company_view("atomar"),
        },
        "ambiguous_companies": {
            "qbo_customer_id": c("northwind").qbo.id,
            "qbo_customer_name": c("northwind").qbo.name,
            "cw_companies": [company_view("northwind"), company_view("northwind-dup")],
        },
        "ledger_only_customer": company_view("keystone"),
        "near_duplicate_customers": {
            "cw_company_id": str(c("globex").cw.id),
            "cw_company_name": c("globex").cw.name,
            "qbo_customers": [
                {"qbo_customer_id": q.id, "qbo_customer_name": q.name}
                for q in (c("globex").qbo, c("globex").alt_qbo)
            ],
        },
        "inactive_customer": company_view("initech")
        | {"invoice_count": sum(1 for i in ledger_invoices if i.client.key == "initech")},
        "deleted_company": company_view("umbrella")
        | {"invoice_count": sum(1 for i in psa_invoices if i.client.key == "umbrella")},
        "expected_mapping": expected_mapping(book),
        "expected_report": expected_report(book),
        "expected_credit_memo_report": expected_credit_memo_report(book),
    }


# --------------------------------------------------------------------------- checks
def check(book: Book) -> None:
    """Internal consistency the tests also verify from the emitted files."""
    for inv in book.invoices:
        assert inv.ledger_balance >= 0, inv.number
        assert inv.psa_balance >= 0, inv.number
        if not inv.manual:
            assert inv.ledger_balance == inv.psa_balance, inv.number
    for memo in book.credit_memos:
        assert memo.remaining >= 0
    for payment in book.payments:
        assert payment.unapplied >= 0
    # normalisation: only the planted collisions
    seen: dict[str, list[str]] = {}
    for company in book.companies:
        seen.setdefault(normalise(company.name), []).append(company.name)
    assert [v for v in seen.values() if len(v) > 1] == [
        ["Northwind Traders", "Northwind Traders, LLC"]
    ]
    seen = {}
    for cust in book.customers:
        seen.setdefault(normalise(cust.name), []).append(cust.name)
    assert [v for v in seen.values() if len(v) > 1] == [["Globex Corporation", "Globex Corp."]]
    assert normalise("Atomar's Best Tackle") != normalise("Atomars Best Tackle LLC")
    numbers = [i.number for i in book.invoices if i.in_psa]
    assert len(numbers) == len(set(numbers))
    docs = [i.doc_number for i in book.invoices if i.in_ledger]
    assert len(docs) == len(set(docs))
    assert all(i.doc_number not in set(numbers) for i in book.scenarios["not_in_psa"])


# --------------------------------------------------------------------------- main
EVENTS_NOTE = ("What happens in both systems after the demo's first sync: the demo's "
               "emulator applies each event once to its world (recon_tui/sandbox/events.py)"
               ", so the cache is one sync behind until the user resyncs.")


def build() -> dict[str, str]:
    """The whole book as {relative path: file text}."""
    book = Book(random.Random(SEED))
    build_clients(book)
    generate_invoices(book)
    plant_scenarios(book)
    number_invoices(book)
    generate_payments(book)
    assign_ids(book)
    build_contacts(book)
    plant_real_book(book)
    plant_causes(book)
    number_psa_payments(book)
    check(book)

    ledger = sorted(
        (i for i in book.invoices if i.in_ledger and not i.ledger_deleted),
        key=lambda i: int(i.qbo_id),
    )
    psa = sorted((i for i in book.invoices if i.in_psa), key=lambda i: i.cw_id)
    files = {
        "qbo/Customer.json": dump_array([emit_customer(book, c) for c in book.customers]),
        "qbo/Invoice.json": dump_array([emit_qbo_invoice(i) for i in ledger]),
        "qbo/Payment.json": dump_array(
            [emit_payment(p) for p in sorted(book.payments, key=lambda p: int(p.id))]
        ),
        "qbo/CreditMemo.json": dump_array(
            [emit_credit_memo(m) for m in sorted(book.credit_memos, key=lambda m: int(m.id))]
        ),
        "connectwise/companies.json": dump_array([emit_company(c) for c in book.companies]),
        "connectwise/contacts.json": dump_array(book.contacts),
        "connectwise/invoices.json": dump_array(
            [emit_cw_invoice(i) for i in psa]
            + [emit_psa_credit_memo(m) for m in book.psa_credit_memos]
        ),
        "connectwise/unpostedinvoices.json": dump_array(emit_unposted(book)),
        "connectwise/payments.json": dump_array(emit_cw_payments(book)),
        "events.json": json.dumps({"note": EVENTS_NOTE, "events": events(book)}, indent=1,
                                  ensure_ascii=False) + "\n",
        "qbo/deleted.json": dump_array(emit_qbo_deleted(book)),
        "scenarios.json": json.dumps(build_manifest(book), indent=1, ensure_ascii=False) + "\n",
    }
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    files = build()
    stale = []
    for name, text in files.items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
