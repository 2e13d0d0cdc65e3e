"""Issuance: who may issue to whom, for how much, maturing when, against which document."""

from datetime import timedelta
from decimal import Decimal

import pytest
from eth_account import Account
from eth_utils import keccak

from scf_chain.client.ledger import ZERO_ADDRESS, invoice_key
from scf_chain.domain import ledger_errors
from scf_chain.domain.errors import InvalidAmount, ScfError
from scf_chain.domain.money import MAX_MINOR_UNITS, to_day, today_utc
from scf_chain.domain.types import CertificateStatusCode, MemberRole
from tests.conftest import new_invoice_number

ZeroFaceValue = ledger_errors.ZeroFaceValue
FaceValueTooLarge = ledger_errors.ERROR_CLASSES["FaceValueTooLarge"]
EmptyDocumentHash = ledger_errors.ERROR_CLASSES["EmptyDocumentHash"]


def test_issue_records_a_pending_certificate(h):
    document = h.new_document()
    next_id = h.next_id()
    balance = h.balance(h.t1)

    result = h.ledger.issue(
        h.core, h.t1.address, Decimal("1000.00"), h.maturity, document, invoice_number=new_invoice_number()
    )

    cert = h.ledger.certificate(result.certificate_id)
    assert result.certificate_id == next_id
    assert h.next_id() == next_id + 1
    assert cert.face_value == Decimal("1000.00")
    assert (cert.obligor, cert.holder, cert.last_holder) == (h.core.address, h.t1.address, h.t1.address)
    assert cert.maturity_date == h.maturity
    assert (cert.root_id, cert.parent_id, cert.hops, cert.child_ids) == (cert.id, None, 0, ())
    assert cert.document_hash == "0x" + document.hex()
    assert (cert.status, cert.frozen) == (CertificateStatusCode.PENDING, False)
    assert h.ledger.issuance_of(document) == cert.id
    assert h.ledger.issuance_of("0x" + document.hex()) == cert.id
    assert h.balance(h.t1) == balance + 1
    assert h.call("ownerOf", cert.id) == h.t1.address
    assert h.ledger.holdings(cert.id) == [cert]
    assert h.events(result, "CertificateIssued") == [
        {
            "id": cert.id,
            "obligor": h.core.address,
            "holder": h.t1.address,
            "faceValue": 100_000,
            "maturityDay": to_day(h.maturity),
            "documentHash": document,
        }
    ]
    assert h.events(result, "Transfer") == [{"from": ZERO_ADDRESS, "to": h.t1.address, "tokenId": cert.id}]


def test_an_unknown_document_has_no_issuance(h):
    assert h.ledger.issuance_of(h.new_document()) is None


def test_certificates_are_numbered_in_order(h):
    first = h.issue(accept=False)
    second = h.issue(h.t2, accept=False)
    assert second == first + 1


# Who issues, to whom


@pytest.mark.parametrize(
    ("issuer", "actual"), [("t1", MemberRole.SUPPLIER), ("bank", MemberRole.FINANCIER), ("auditor", MemberRole.AUDITOR)]
)
def test_only_a_core_enterprise_issues(h, issuer, actual):
    account = getattr(h, issuer)
    with h.unchanged(), pytest.raises(ledger_errors.WrongMemberRole) as error:
        h.ledger.issue(
            account, h.t2.address, "100.00", h.maturity, h.new_document(), invoice_number=new_invoice_number()
        )
    assert error.value.fields == {"account": account.address, "required": MemberRole.CORE_ENTERPRISE, "actual": actual}


def test_a_non_member_cannot_issue(h):
    with h.unchanged(), pytest.raises(ledger_errors.NotAMember):
        h.ledger.issue(
            h.outsider, h.t1.address, "100.00", h.maturity, h.new_document(), invoice_number=new_invoice_number()
        )


def test_a_frozen_obligor_cannot_issue(h):
    h.ledger.freeze_member(h.operator, h.core.address)
    with h.unchanged(), pytest.raises(ledger_errors.MemberIsFrozen) as error:
        h.ledger.issue(
            h.core, h.t1.address, "100.00", h.maturity, h.new_document(), invoice_number=new_invoice_number()
        )
    assert error.value.fields == {"account": h.core.address}
    h.ledger.unfreeze_member(h.operator, h.core.address)
    h.issue()


@pytest.mark.parametrize(
    ("receiver", "actual"),
    [("bank", MemberRole.FINANCIER), ("auditor", MemberRole.AUDITOR), ("core", MemberRole.CORE_ENTERPRISE)],
)
def test_certificates_are_issued_to_suppliers_only(h, receiver, actual):
    address = getattr(h, receiver).address
    with h.unchanged(), pytest.raises(ledger_errors.WrongMemberRole) as error:
        h.ledger.issue(h.core, address, "100.00", h.maturity, h.new_document(), invoice_number=new_invoice_number())
    assert error.value.fields == {"account": address, "required": MemberRole.SUPPLIER, "actual": actual}


def test_a_non_member_cannot_receive_an_issuance(h):
    with h.unchanged(), pytest.raises(ledger_errors.NotAMember):
        h.ledger.issue(
            h.core, h.outsider.address, "100.00", h.maturity, h.new_document(), invoice_number=new_invoice_number()
        )


def test_a_frozen_supplier_cannot_receive_an_issuance(h):
    h.ledger.freeze_member(h.operator, h.t2.address)
    with h.unchanged(), pytest.raises(ledger_errors.MemberIsFrozen) as error:
        h.ledger.issue(
            h.core, h.t2.address, "100.00", h.maturity, h.new_document(), invoice_number=new_invoice_number()
        )
    assert error.value.fields == {"account": h.t2.address}


# Face value


def test_zero_face_value_is_refused_before_sending(h):
    with h.unchanged(), pytest.raises(InvalidAmount):
        h.ledger.issue(h.core, h.t1.address, "0.00", h.maturity, h.new_document(), invoice_number=new_invoice_number())


def test_zero_face_value_is_refused_by_the_ledger(h):
    with h.unchanged(), pytest.raises(ZeroFaceValue):
        h.send(
            h.core, "issue", h.t1.address, 0, to_day(h.maturity), h.new_document(), invoice_key(new_invoice_number())
        )


@pytest.mark.parametrize("amount", ["100.001", "0.005", "-5.00", "1e-3", "not money"])
def test_an_amount_that_is_not_positive_whole_fen_is_refused_before_sending(h, amount):
    with h.unchanged(), pytest.raises(InvalidAmount):
        h.ledger.issue(h.core, h.t1.address, amount, h.maturity, h.new_document(), invoice_number=new_invoice_number())


def test_the_largest_face_value_is_accepted_and_one_more_is_refused(h):
    largest = Decimal(MAX_MINOR_UNITS) / 100
    h.ledger.set_credit_limit(h.operator, h.core.address, largest + 1)
    with h.unchanged(), pytest.raises(InvalidAmount):
        h.ledger.issue(
            h.core,
            h.t1.address,
            largest + Decimal("0.01"),
            h.maturity,
            h.new_document(),
            invoice_number=new_invoice_number(),
        )
    with h.unchanged(), pytest.raises(FaceValueTooLarge) as error:
        h.send(
            h.core,
            "issue",
            h.t1.address,
            MAX_MINOR_UNITS + 1,
            to_day(h.maturity),
            h.new_document(),
            invoice_key(new_invoice_number()),
        )
    assert error.value.fields == {"faceValue": MAX_MINOR_UNITS + 1, "max": MAX_MINOR_UNITS}

    cert_id = h.issue(amount=largest)
    assert h.ledger.certificate(cert_id).face_value == largest


# Maturity


@pytest.mark.parametrize("days", [0, 1, 364, 365])
def test_maturity_from_today_to_one_year_ahead_is_allowed(h, days):
    maturity = today_utc() + timedelta(days=days)
    cert_id = h.issue(maturity=maturity, accept=False)
    assert h.ledger.certificate(cert_id).maturity_date == maturity


@pytest.mark.parametrize("days", [1, 400])
def test_maturity_in_the_past_is_refused(h, days):
    maturity = today_utc() - timedelta(days=days)
    with h.unchanged(), pytest.raises(ledger_errors.MaturityInPast) as error:
        h.ledger.issue(h.core, h.t1.address, "100.00", maturity, h.new_document(), invoice_number=new_invoice_number())
    assert error.value.fields == {"maturityDay": to_day(maturity), "today": to_day(today_utc())}


@pytest.mark.parametrize("days", [366, 3650])
def test_maturity_more_than_a_year_ahead_is_refused(h, days):
    maturity = today_utc() + timedelta(days=days)
    with h.unchanged(), pytest.raises(ledger_errors.MaturityTooFar) as error:
        h.ledger.issue(h.core, h.t1.address, "100.00", maturity, h.new_document(), invoice_number=new_invoice_number())
    assert error.value.fields == {"maturityDay": to_day(maturity), "latest": to_day(today_utc()) + 365}


# Document hash


def test_one_document_backs_one_issuance(h):
    document = h.new_document()
    first = h.issue(document=document, accept=False)
    with h.unchanged(), pytest.raises(ledger_errors.DocumentAlreadyUsed) as error:
        h.ledger.issue(h.core, h.t2.address, "5.00", h.maturity, document, invoice_number=new_invoice_number())
    assert error.value.fields == {"documentHash": "0x" + document.hex(), "rootId": first}


def test_a_document_stays_used_after_its_certificate_is_rejected(h):
    document = h.new_document()
    first = h.issue(document=document, accept=False)
    h.ledger.reject(h.t1, first)
    with h.unchanged(), pytest.raises(ledger_errors.DocumentAlreadyUsed):
        h.ledger.issue(h.core, h.t1.address, "1000.00", h.maturity, document, invoice_number=new_invoice_number())
    assert h.ledger.issuance_of(document) == first


def test_an_empty_document_hash_is_refused(h):
    with h.unchanged(), pytest.raises(EmptyDocumentHash):
        h.ledger.issue(h.core, h.t1.address, "100.00", h.maturity, bytes(32), invoice_number=new_invoice_number())


@pytest.mark.parametrize("document", [b"\x01" * 31, "0x" + "ab" * 33])
def test_a_document_hash_must_be_32_bytes(h, document):
    with h.unchanged(), pytest.raises(ScfError, match="32 bytes"):
        h.ledger.issue(h.core, h.t1.address, "100.00", h.maturity, document, invoice_number=new_invoice_number())


# Invoice number


def test_one_invoice_number_backs_one_issuance_of_an_obligor(h):
    """Before: the same invoice, its file changed by one byte, was accepted as a second issuance."""
    invoice = b"INVOICE INV-2026-0042, CNY 1,000.00"
    first = h.issue(document=keccak(invoice), invoice_number="INV-2026-0042", accept=False)
    for number in ("INV-2026-0042", " inv-2026-0042 ", "ＩＮＶ-2026-0042"):
        with h.unchanged(), pytest.raises(ledger_errors.InvoiceAlreadyUsed) as error:
            h.ledger.issue(h.core, h.t1.address, "1000.00", h.maturity, keccak(invoice + b" "), invoice_number=number)
        assert error.value.fields == {
            "obligor": h.core.address,
            "invoiceKey": "0x" + invoice_key("INV-2026-0042").hex(),
            "rootId": first,
        }
    assert error.value.code == "invoice_already_used"
    assert str(error.value) == (
        f"InvoiceAlreadyUsed: Acme Motors already issued certificate {first} against this invoice number; "
        "one invoice backs one issuance"
    )
    assert h.ledger.issuance_of_invoice(h.core.address, "inv-2026-0042") == first


def test_invoice_numbers_are_compared_in_one_normal_form():
    assert invoice_key("INV-2026-0042") == invoice_key("  inv-2026-0042\t") == invoice_key("ＩＮＶ-2026-0042")
    assert invoice_key("INV 2026 0042") == invoice_key("INV  2026\n0042")
    assert invoice_key("INV-2026-0042") != invoice_key("INV-2026-0043")


def test_another_obligor_may_use_the_same_invoice_number(h):
    h.issue(invoice_number="INV-SHARED-1", accept=False)
    other = Account.create()
    h.ledger.register_member(h.operator, other.address, MemberRole.CORE_ENTERPRISE, "Beta Motors")
    h.ledger.set_credit_limit(h.operator, other.address, "100.00")
    issued = h.ledger.issue(other, h.t1.address, "100.00", h.maturity, h.new_document(), invoice_number="INV-SHARED-1")
    assert h.ledger.issuance_of_invoice(other.address, "INV-SHARED-1") == issued.certificate_id


@pytest.mark.parametrize("undo", ["reject", "cancel"])
def test_an_invoice_may_be_issued_again_once_its_issuance_is_undone(h, undo):
    # A rejected or cancelled issuance never became a payable: the invoice can back a corrected one.
    first = h.issue(invoice_number="INV-REDO-1", accept=False)
    if undo == "reject":
        h.ledger.reject(h.t1, first)
    else:
        h.ledger.cancel(h.core, first)
    again = h.issue(invoice_number="inv-redo-1", accept=False)
    assert h.ledger.issuance_of_invoice(h.core.address, "INV-REDO-1") == again
    with h.unchanged(), pytest.raises(ledger_errors.InvoiceAlreadyUsed) as error:
        h.issue(invoice_number="INV-REDO-1")
    assert error.value.fields["rootId"] == again


@pytest.mark.parametrize("status", ["pending", "active", "split"])
def test_an_invoice_stays_used_by_a_live_issuance(h, status):
    root = h.issue(invoice_number="INV-LIVE-1", accept=status != "pending")
    if status == "split":
        h.ledger.transfer_part(h.t1, root, h.t2.address, "1.00")
    with h.unchanged(), pytest.raises(ledger_errors.InvoiceAlreadyUsed):
        h.issue(invoice_number="INV-LIVE-1")


@pytest.mark.parametrize("number", ["", "   ", "\n\t"])
def test_an_issuance_needs_an_invoice_number(h, number):
    with h.unchanged(), pytest.raises(ScfError, match="the number of the invoice"):
        h.ledger.issue(h.core, h.t1.address, "100.00", h.maturity, h.new_document(), invoice_number=number)


def test_the_ledger_refuses_an_issuance_without_an_invoice(h):
    with h.unchanged(), pytest.raises(ledger_errors.EmptyInvoiceNumber):
        h.send(h.core, "issue", h.t1.address, 100, to_day(h.maturity), h.new_document(), bytes(32))


def test_the_invoice_number_is_not_on_chain_in_clear(h):
    number = "INV-SECRET-7781"
    result = h.ledger.issue(h.core, h.t1.address, "100.00", h.maturity, h.new_document(), invoice_number=number)
    transaction = h.w3.eth.get_transaction(result.tx_hash)
    receipt = h.receipt(result)
    for form in (number, number.lower()):
        assert form.encode() not in bytes(transaction["input"])
        assert all(form.encode() not in bytes(log["data"]) for log in receipt["logs"])
    assert invoice_key(number) in bytes(transaction["input"])


def test_a_revert_mined_on_chain_is_decoded_the_same(h):
    """With a fixed gas limit the client skips estimation: the transaction is mined, reverts, and is replayed."""
    document = h.new_document()
    h.issue(document=document, accept=False)
    with h.unchanged(include_chain=False), pytest.raises(ledger_errors.DocumentAlreadyUsed):
        h.send(
            h.core,
            "issue",
            h.t1.address,
            100,
            to_day(h.maturity),
            document,
            invoice_key(new_invoice_number()),
            gas=500_000,
        )
    failed = h.w3.eth.get_block("latest", full_transactions=True)["transactions"][0]
    assert h.w3.eth.get_transaction_receipt(failed["hash"])["status"] == 0
