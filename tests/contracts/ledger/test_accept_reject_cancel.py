"""The pending stage: the receiver accepts or rejects; the obligor may cancel until then."""

from decimal import Decimal

import pytest
from eth_account import Account

from scf_chain.client.ledger import ZERO_ADDRESS
from scf_chain.domain import ledger_errors
from scf_chain.domain.types import CertificateStatusCode, MemberRole

ERC721NonexistentToken = ledger_errors.ERROR_CLASSES["ERC721NonexistentToken"]


# Accept


def test_the_receiver_accepts(h):
    cert_id = h.issue(accept=False)
    result = h.ledger.accept(h.t1, cert_id)
    cert = h.ledger.certificate(cert_id)
    assert (cert.status, cert.holder) == (CertificateStatusCode.ACTIVE, h.t1.address)
    assert h.events(result, "CertificateAccepted") == [{"id": cert_id, "holder": h.t1.address}]
    assert h.events(result, "Transfer") == []
    assert h.ledger.credit_line(h.core.address).outstanding == Decimal("1000.00")


@pytest.mark.parametrize("caller", ["t2", "core", "bank", "operator"])
def test_only_the_receiver_accepts(h, caller):
    cert_id = h.issue(accept=False)
    account = getattr(h, caller)
    with h.unchanged(), pytest.raises(ledger_errors.NotCertificateHolder) as error:
        h.ledger.accept(account, cert_id)
    assert error.value.fields == {"id": cert_id, "account": account.address}
    assert h.ledger.certificate(cert_id).status is CertificateStatusCode.PENDING


def test_a_frozen_receiver_cannot_accept(h):
    cert_id = h.issue(accept=False)
    h.ledger.freeze_member(h.operator, h.t1.address)
    with h.unchanged(), pytest.raises(ledger_errors.MemberIsFrozen):
        h.ledger.accept(h.t1, cert_id)
    h.ledger.unfreeze_member(h.operator, h.t1.address)
    h.ledger.accept(h.t1, cert_id)
    assert h.ledger.certificate(cert_id).status is CertificateStatusCode.ACTIVE


def test_a_frozen_certificate_cannot_be_accepted(h):
    cert_id = h.issue(accept=False)
    h.ledger.freeze_certificate(h.operator, cert_id)
    with h.unchanged(), pytest.raises(ledger_errors.CertificateIsFrozen) as error:
        h.ledger.accept(h.t1, cert_id)
    assert error.value.fields == {"id": cert_id}
    assert h.ledger.certificate(cert_id).status is CertificateStatusCode.PENDING


def test_an_active_certificate_cannot_be_accepted_again(h):
    cert_id = h.issue()
    with h.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus) as error:
        h.ledger.accept(h.t1, cert_id)
    assert error.value.fields == {"id": cert_id, "status": CertificateStatusCode.ACTIVE, "required": 1}


def test_an_unknown_certificate_cannot_be_accepted(h):
    with h.unchanged(), pytest.raises(ledger_errors.CertificateNotFound) as error:
        h.ledger.accept(h.t1, h.next_id())
    assert error.value.fields == {"id": h.next_id()}


# Reject


def test_the_receiver_rejects_and_the_credit_comes_back(h):
    cert_id = h.issue(accept=False)
    balance = h.balance(h.t1)
    result = h.ledger.reject(h.t1, cert_id)
    cert = h.ledger.certificate(cert_id)
    assert (cert.status, cert.holder, cert.last_holder) == (CertificateStatusCode.CANCELLED, None, h.t1.address)
    assert h.ledger.credit_line(h.core.address).outstanding == Decimal("0.00")
    assert h.balance(h.t1) == balance - 1
    assert h.ledger.holdings(cert_id) == []
    assert h.events(result, "CertificateRejected") == [{"id": cert_id, "holder": h.t1.address}]
    assert h.events(result, "Transfer") == [{"from": h.t1.address, "to": ZERO_ADDRESS, "tokenId": cert_id}]
    with pytest.raises(ERC721NonexistentToken):
        h.call("ownerOf", cert_id)


@pytest.mark.parametrize("caller", ["t2", "core"])
def test_only_the_receiver_rejects(h, caller):
    cert_id = h.issue(accept=False)
    with h.unchanged(), pytest.raises(ledger_errors.NotCertificateHolder):
        h.ledger.reject(getattr(h, caller), cert_id)


def test_an_accepted_certificate_cannot_be_rejected(h):
    cert_id = h.issue()
    with h.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus):
        h.ledger.reject(h.t1, cert_id)
    assert h.ledger.credit_line(h.core.address).outstanding == Decimal("1000.00")


def test_a_frozen_certificate_cannot_be_rejected(h):
    cert_id = h.issue(accept=False)
    h.ledger.freeze_certificate(h.operator, cert_id)
    with h.unchanged(), pytest.raises(ledger_errors.CertificateIsFrozen):
        h.ledger.reject(h.t1, cert_id)


def test_a_frozen_receiver_cannot_reject(h):
    cert_id = h.issue(accept=False)
    h.ledger.freeze_member(h.operator, h.t1.address)
    with h.unchanged(), pytest.raises(ledger_errors.MemberIsFrozen):
        h.ledger.reject(h.t1, cert_id)


# Cancel


def test_the_obligor_cancels_a_pending_certificate(h):
    cert_id = h.issue(accept=False)
    result = h.ledger.cancel(h.core, cert_id)
    cert = h.ledger.certificate(cert_id)
    assert (cert.status, cert.holder, cert.last_holder) == (CertificateStatusCode.CANCELLED, None, h.t1.address)
    assert h.ledger.credit_line(h.core.address).outstanding == Decimal("0.00")
    assert h.balance(h.t1) == 0
    assert h.events(result, "CertificateCancelled") == [{"id": cert_id, "obligor": h.core.address}]
    assert h.events(result, "Transfer") == [{"from": h.t1.address, "to": ZERO_ADDRESS, "tokenId": cert_id}]


@pytest.mark.parametrize("caller", ["t1", "t2", "bank", "operator", "outsider"])
def test_only_the_obligor_cancels(h, caller):
    cert_id = h.issue(accept=False)
    account = getattr(h, caller)
    with h.unchanged(), pytest.raises(ledger_errors.NotCertificateObligor) as error:
        h.ledger.cancel(account, cert_id)
    assert error.value.fields == {"id": cert_id, "account": account.address}


def test_another_core_enterprise_cannot_cancel(h):
    other = Account.create()  # in memory: no key store, no scrypt
    h.ledger.register_member(h.operator, other.address, MemberRole.CORE_ENTERPRISE, "Beta Motors")
    cert_id = h.issue(accept=False)
    with h.unchanged(), pytest.raises(ledger_errors.NotCertificateObligor):
        h.ledger.cancel(other, cert_id)


def test_an_accepted_certificate_cannot_be_cancelled(h):
    cert_id = h.issue()
    with h.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus) as error:
        h.ledger.cancel(h.core, cert_id)
    assert error.value.fields == {"id": cert_id, "status": CertificateStatusCode.ACTIVE, "required": 1}


def test_a_frozen_certificate_cannot_be_cancelled(h):
    cert_id = h.issue(accept=False)
    h.ledger.freeze_certificate(h.operator, cert_id)
    with h.unchanged(), pytest.raises(ledger_errors.CertificateIsFrozen):
        h.ledger.cancel(h.core, cert_id)


def test_a_frozen_obligor_cannot_cancel(h):
    cert_id = h.issue(accept=False)
    h.ledger.freeze_member(h.operator, h.core.address)
    with h.unchanged(), pytest.raises(ledger_errors.MemberIsFrozen):
        h.ledger.cancel(h.core, cert_id)


# A rejected or cancelled certificate is finished


@pytest.fixture(params=["rejected", "cancelled"])
def finished(request, h):
    cert_id = h.issue(accept=False)
    if request.param == "rejected":
        h.ledger.reject(h.t1, cert_id)
    else:
        h.ledger.cancel(h.core, cert_id)
    return cert_id


@pytest.mark.parametrize(
    "action",
    [
        lambda h, i: h.ledger.accept(h.t1, i),
        lambda h, i: h.ledger.reject(h.t1, i),
        lambda h, i: h.ledger.cancel(h.core, i),
        lambda h, i: h.ledger.split(h.t1, i, [(h.t1.address, "500.00"), (h.t2.address, "500.00")]),
        lambda h, i: h.ledger.transfer_part(h.t1, i, h.t2.address, "100.00"),
    ],
    ids=["accept", "reject", "cancel", "split", "transfer_part"],
)
def test_a_finished_certificate_cannot_be_acted_on(h, finished, action):
    with h.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus) as error:
        action(h, finished)
    assert error.value.fields["status"] == CertificateStatusCode.CANCELLED


def test_a_finished_certificate_cannot_be_transferred(h, finished):
    with h.unchanged(), pytest.raises(ERC721NonexistentToken):
        h.ledger.transfer(h.t1, finished, h.t2.address)
