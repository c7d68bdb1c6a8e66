"""The QuickBooks Desktop connector reading qbXML shaped like the public examples.

The emulator is written by the same hands as the connector, so these documents
follow published examples instead: the same elements, nesting, order and kinds
of values, with the values re-keyed by us (the search tool these were found with
forbids verbatim copies; Tidewater Dental Group is the story's customer):

* ``CUSTOMERS``: consolibyte wiki, "Querying for a Customer by Name"
  (http://www.consolibyte.com/wiki/doku.php/quickbooks_qbxml_customerquery_by_name):
  a CustomerQueryRs with statusCode/statusSeverity/statusMessage and a CustomerRet
  holding ListID, TimeCreated, TimeModified, EditSequence, Name, FullName,
  IsActive, Sublevel, FirstName, LastName, BillAddress, ShipAddress, Phone, Fax,
  Email, Balance, TotalBalance, SalesTaxCodeRef, ItemSalesTaxRef, JobStatus (with
  the iterator attributes added: the connector always reads through an iterator);
* ``ITERATOR_*``: a public Web Connector test fixture answering CustomerQueryRs
  with ``iteratorRemainingCount="18" iteratorID="{eb05f701-...}"`` (search index id
  5790763759, repository not named); the second page ends at 0;
* ``INVOICES``: a public test fixture's InvoiceQueryRs (search index id
  48182840973): TxnNumber, ARAccountRef, TemplateRef, BillAddressBlock,
  IsPending, PONumber, TermsRef, DueDate, SalesRepRef, ShipDate, Subtotal,
  SalesTaxPercentage, SalesTaxTotal, AppliedAmount (negative), BalanceRemaining,
  IsPaid, CustomerMsgRef, IsToBePrinted, IsToBeEmailed;
* ``PAYMENT``: consolibyte/quickbooks-php ``docs/`` example of a ReceivePaymentRet
  (search index id 1909666123): TotalAmount, PaymentMethodRef,
  DepositToAccountRef, UnusedPayment, UnusedCredits and three AppliedToTxnRet,
  the second with a LinkedTxn of another ReceivePayment (LinkType AMTTYPE,
  negative Amount) that is not this payment's money;
* ``NO_MATCH``: statusCode 1 with no records (Intuit's status code table: "A query
  request did not find a matching object in QuickBooks").
"""

from __future__ import annotations

import re
from decimal import Decimal

from recon_tui.connectors.qbd import QbdConnector
from recon_tui.connectors.qbd_records import parse_responses, payment_from_qbd
from recon_tui.transactions import TxnKind

CUSTOMERS = """<?xml version="1.0" ?>
<QBXML>
\t<QBXMLMsgsRs>
\t\t<CustomerQueryRs requestID="{rid}" statusCode="0" statusSeverity="Info"
\t\t statusMessage="Status OK" iteratorRemainingCount="0"
\t\t iteratorID="{6f1d2c3a-0b8e-4e57-9f7c-2a1b3c4d5e6f}">
\t\t\t<CustomerRet>
\t\t\t\t<ListID>80000058-1523451722</ListID>
\t\t\t\t<TimeCreated>2018-03-11T11:02:00-07:00</TimeCreated>
\t\t\t\t<TimeModified>2026-11-06T13:00:00-08:00</TimeModified>
\t\t\t\t<EditSequence>1794009600</EditSequence>
\t\t\t\t<Name>Tidewater Dental Group</Name>
\t\t\t\t<FullName>Tidewater Dental Group</FullName>
\t\t\t\t<IsActive>true</IsActive>
\t\t\t\t<Sublevel>0</Sublevel>
\t\t\t\t<FirstName>Dana</FirstName>
\t\t\t\t<LastName>Whitcombe</LastName>
\t\t\t\t<BillAddress>
\t\t\t\t\t<Addr1>41 Harbor Lane</Addr1>
\t\t\t\t\t<Addr2>Suite 3</Addr2>
\t\t\t\t\t<City>Norfolk</City>
\t\t\t\t\t<State>VA</State>
\t\t\t\t\t<PostalCode>23510</PostalCode>
\t\t\t\t\t<Country>USA</Country>
\t\t\t\t</BillAddress>
\t\t\t\t<ShipAddress>
\t\t\t\t\t<Addr1>41 Harbor Lane</Addr1>
\t\t\t\t\t<City>Norfolk</City>
\t\t\t\t\t<State>VA</State>
\t\t\t\t\t<PostalCode>23510</PostalCode>
\t\t\t\t\t<Country>USA</Country>
\t\t\t\t</ShipAddress>
\t\t\t\t<Phone>(757) 555-0142</Phone>
\t\t\t\t<Fax>(757) 555-0143</Fax>
\t\t\t\t<Email>ap@tidewater.example.com</Email>
\t\t\t\t<Balance>2440.00</Balance>
\t\t\t\t<TotalBalance>2440.00</TotalBalance>
\t\t\t\t<SalesTaxCodeRef>
\t\t\t\t\t<ListID>20000-1211065841</ListID>
\t\t\t\t\t<FullName>Non</FullName>
\t\t\t\t</SalesTaxCodeRef>
\t\t\t\t<ItemSalesTaxRef>
\t\t\t\t\t<ListID>10000-1211066051</ListID>
\t\t\t\t\t<FullName>Out of State</FullName>
\t\t\t\t</ItemSalesTaxRef>
\t\t\t\t<JobStatus>None</JobStatus>
\t\t\t</CustomerRet>
\t\t</CustomerQueryRs>
\t</QBXMLMsgsRs>
</QBXML>
"""

_ITERATOR_HEAD = ('<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerQueryRs requestID="{rid}" '
                  'statusCode="0" statusSeverity="Info" statusMessage="Status OK" '
                  'iteratorRemainingCount="{left}" '
                  'iteratorID="{{a3c0e7d2-5b1f-4c6e-8d9a-0f1e2d3c4b5a}}">')
_ITERATOR_CUSTOMER = ("<CustomerRet><ListID>{lid}</ListID>"
                      "<TimeCreated>2009-01-23T03:00:02-05:00</TimeCreated>"
                      "<TimeModified>2009-01-23T03:00:02-05:00</TimeModified>"
                      "<EditSequence>1232697602</EditSequence><Name>{name}</Name>"
                      "<FullName>{name}</FullName><IsActive>{active}</IsActive>"
                      "<Sublevel>0</Sublevel><Balance>0.00</Balance>"
                      "<TotalBalance>0.00</TotalBalance><JobStatus>None</JobStatus></CustomerRet>")
_ITERATOR_TAIL = "</CustomerQueryRs></QBXMLMsgsRs></QBXML>"

INVOICES = """<?xml version="1.0" ?>
<QBXML>
<QBXMLMsgsRs>
<InvoiceQueryRs requestID="{rid}" statusCode="0" iterator="Start" statusSeverity="Info"
 statusMessage="Status OK" iteratorRemainingCount="0"
 iteratorID="{c2f6b9e1-7d3a-4e08-a5b4-9e8d7c6b5a41}">
<InvoiceRet>
<TxnID>2A1F-1763416200</TxnID>
<TimeCreated>2025-11-18T09:30:00-08:00</TimeCreated>
<TimeModified>2025-12-29T10:20:00-08:00</TimeModified>
<EditSequence>1767032400</EditSequence>
<TxnNumber>412</TxnNumber>
<CustomerRef>
<ListID>80000058-1523451722</ListID>
<FullName>Tidewater Dental Group</FullName>
</CustomerRef>
<ARAccountRef>
<ListID>80000001-1523450000</ListID>
<FullName>Accounts Receivable</FullName>
</ARAccountRef>
<TemplateRef>
<ListID>80000003-1523450001</ListID>
<FullName>Intuit Service Invoice</FullName>
</TemplateRef>
<TxnDate>2025-11-17</TxnDate>
<RefNumber>10001</RefNumber>
<BillAddress>
<Addr1>Tidewater Dental Group</Addr1>
<Addr2></Addr2>
<Addr3>41 Harbor Lane</Addr3>
<City>Norfolk</City>
<State>VA</State>
<PostalCode>23510</PostalCode>
</BillAddress>
<BillAddressBlock>
<Addr1>Tidewater Dental Group</Addr1>
<Addr2></Addr2>
<Addr3>41 Harbor Lane</Addr3>
<Addr4>Norfolk, VA 23510</Addr4>
</BillAddressBlock>
<IsPending>false</IsPending>
<IsFinanceCharge>false</IsFinanceCharge>
<PONumber>PO-7781</PONumber>
<TermsRef>
<ListID>80000002-1523450002</ListID>
<FullName>Net 15</FullName>
</TermsRef>
<DueDate>2025-12-02</DueDate>
<SalesRepRef>
<ListID>80000004-1523450003</ListID>
<FullName>JR</FullName>
</SalesRepRef>
<ShipDate>2025-11-17</ShipDate>
<Subtotal>4126.47</Subtotal>
<SalesTaxPercentage>0.00</SalesTaxPercentage>
<SalesTaxTotal>0.00</SalesTaxTotal>
<AppliedAmount>-1000.00</AppliedAmount>
<BalanceRemaining>3126.47</BalanceRemaining>
<IsPaid>false</IsPaid>
<CustomerMsgRef>
<ListID>80000005-1523450004</ListID>
<FullName>Thank you for your business.</FullName>
</CustomerMsgRef>
<IsToBePrinted>false</IsToBePrinted>
<IsToBeEmailed>true</IsToBeEmailed>
</InvoiceRet>
</InvoiceQueryRs>
</QBXMLMsgsRs>
</QBXML>
"""

PAYMENT = """<QBXML><QBXMLMsgsRs>
<ReceivePaymentQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK">
<ReceivePaymentRet>
    <TxnID>3B7C-1764427800</TxnID>
    <TimeCreated>2025-11-29T09:50:00-08:00</TimeCreated>
    <TimeModified>2025-11-29T09:50:00-08:00</TimeModified>
    <EditSequence>1764438600</EditSequence>
    <TxnNumber>988</TxnNumber>
    <CustomerRef>
        <ListID>80000058-1523451722</ListID>
        <FullName>Tidewater Dental Group</FullName>
    </CustomerRef>
    <ARAccountRef>
        <ListID>80000001-1523450000</ListID>
        <FullName>Accounts Receivable</FullName>
    </ARAccountRef>
    <TxnDate>2025-11-29</TxnDate>
    <RefNumber>44891</RefNumber>
    <TotalAmount>1289.85</TotalAmount>
    <PaymentMethodRef>
        <ListID>80000006-1523450005</ListID>
        <FullName>Check</FullName>
    </PaymentMethodRef>
    <DepositToAccountRef>
        <ListID>80000007-1523450006</ListID>
        <FullName>Undeposited Funds</FullName>
    </DepositToAccountRef>
    <UnusedPayment>0.00</UnusedPayment>
    <UnusedCredits>0.00</UnusedCredits>
    <AppliedToTxnRet>
        <TxnID>2A20-1763502600</TxnID>
        <TxnType>Invoice</TxnType>
        <TxnDate>2025-11-18</TxnDate>
        <RefNumber>10002</RefNumber>
        <BalanceRemaining>0.00</BalanceRemaining>
        <Amount>500.00</Amount>
    </AppliedToTxnRet>
    <AppliedToTxnRet>
        <TxnID>2A21-1763589000</TxnID>
        <TxnType>Invoice</TxnType>
        <TxnDate>2025-11-19</TxnDate>
        <BalanceRemaining>0.00</BalanceRemaining>
        <Amount>500.00</Amount>
        <LinkedTxn>
            <TxnID>3B70-1763600000</TxnID>
            <TxnType>ReceivePayment</TxnType>
            <TxnDate>2025-11-19</TxnDate>
            <RefNumber>44870</RefNumber>
            <LinkType>AMTTYPE</LinkType>
            <Amount>-250.00</Amount>
        </LinkedTxn>
    </AppliedToTxnRet>
    <AppliedToTxnRet>
        <TxnID>2A22-1763675400</TxnID>
        <TxnType>Invoice</TxnType>
        <TxnDate>2025-11-20</TxnDate>
        <RefNumber>10004</RefNumber>
        <BalanceRemaining>0.00</BalanceRemaining>
        <Amount>289.85</Amount>
    </AppliedToTxnRet>
</ReceivePaymentRet>
</ReceivePaymentQueryRs></QBXMLMsgsRs></QBXML>
"""

NO_MATCH = ('<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><InvoiceQueryRs requestID="{rid}" '
            'statusCode="1" statusSeverity="Info" statusMessage="A query request did not find '
            'a matching object in QuickBooks" /></QBXMLMsgsRs></QBXML>')


class Canned:
    """A channel answering each request with the next document, its requestID
    filled in from the request."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.requests: list[str] = []

    def exchange(self, request: str, *, step: str) -> str:
        self.requests.append(request)
        found = re.search(r'requestID="([^"]+)"', request)
        return self.answers.pop(0).replace("{rid}", found.group(1) if found else "")


def test_the_customer_example_reads_as_a_ledger_customer() -> None:
    [customer] = QbdConnector(Canned(CUSTOMERS),
                              book="x").customers()
    assert (customer.id, customer.display_name, customer.active, customer.balance) == (
        "80000058-1523451722", "Tidewater Dental Group", True, Decimal("2440.00"))
    assert customer.updated_at is not None and customer.updated_at.isoformat() == \
        "2026-11-06T21:00:00+00:00"


def test_the_iterator_example_reads_every_page() -> None:
    def page(left: int, ids: range) -> str:
        body = "".join(_ITERATOR_CUSTOMER.format(lid=f"1{n:05d}-1232697602",
                                                 name=f"{n}th Customer",
                                                 active="false" if n == 3 else "true")
                       for n in ids)
        return _ITERATOR_HEAD.format(rid="{rid}", left=left) + body + _ITERATOR_TAIL
    channel = Canned(page(18, range(1, 11)), page(8, range(11, 21)), page(0, range(21, 29)))
    customers = list(QbdConnector(channel, book="x", page_size=10).customers())
    assert len(customers) == 28
    assert [c.active for c in customers].count(False) == 1
    assert 'iterator="Start"' in channel.requests[0]
    assert 'iterator="Continue"' in channel.requests[1]
    assert 'iteratorID="{a3c0e7d2-5b1f-4c6e-8d9a-0f1e2d3c4b5a}"' in channel.requests[2]
    assert "<ActiveStatus>All</ActiveStatus>" in channel.requests[0]


def test_the_invoice_example_reads_total_and_balance() -> None:
    [invoice] = QbdConnector(Canned(INVOICES),
                             book="x").invoices()
    assert (invoice.id, invoice.doc_number, invoice.customer_id) == (
        "2A1F-1763416200", "10001", "80000058-1523451722")
    assert (invoice.total, invoice.balance, invoice.voided, invoice.currency) == (
        Decimal("4126.47"), Decimal("3126.47"), False, "USD")
    assert str(invoice.due_date) == "2025-12-02"


def test_the_payment_example_applies_only_its_own_money() -> None:
    [response] = parse_responses(PAYMENT, step="test")
    payment = payment_from_qbd(response.records[0])
    assert payment.credit.total == Decimal("1289.85")
    assert payment.credit.amount == Decimal("0.00")
    assert [(t.invoice_id, t.kind, t.amount, t.reference, t.method)
            for t in payment.applications] == [
        ("2A20-1763502600", TxnKind.PAYMENT, Decimal("500.00"), "44891", "Check"),
        ("2A21-1763589000", TxnKind.PAYMENT, Decimal("500.00"), "44891", "Check"),
        ("2A22-1763675400", TxnKind.PAYMENT, Decimal("289.85"), "44891", "Check"),
    ]
    assert sum(t.amount for t in payment.applications) == payment.credit.total


def test_no_match_is_an_empty_read_not_an_error() -> None:
    assert QbdConnector(Canned(NO_MATCH), book="x").invoice_by_doc_number("none") is None
    # An iterator's first answer saying "no match" may carry no iterator attributes:
    # QuickBooks has said the list is empty, which is complete.
    assert list(QbdConnector(Canned(NO_MATCH), book="x").invoices()) == []
    with_bom = "\ufeff" + NO_MATCH
    assert list(QbdConnector(Canned(with_bom), book="x").invoices()) == []
