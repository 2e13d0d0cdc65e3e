"""The operator's controls: freezing certificates, pausing the ledger, the hop (penetration) limit."""

from decimal import Decimal

import pytest

from scf_chain.client.ledger import invoice_key
from scf_chain.domain import ledger_errors
from scf_chain.domain.money import to_day
from scf_chain.domain.types import CertificateStatusCode, MemberRole
from tests.conftest import new_invoice_number

LedgerNotPaused = ledger_errors.ERROR_CLASSES["LedgerNotPaused"]
OPERATOR_ONLY = ["core", "t1", "bank", "auditor", "outsider"]


# Freezing certificates


def test_freezing_a_certificate_stops_it_until_unfrozen(h):
    root = h.issue()
    frozen = h.ledger.freeze_certificate(h.operator, root)
    assert h.ledger.certificate(root).frozen
    assert h.events(frozen, "CertificateFrozen") == [{"id": root}]
    with h.unchanged(), pytest.raises(ledger_errors.CertificateIsFrozen):
        h.ledger.transfer(h.t1, root, h.t2.address)

    unfrozen = h.ledger.unfreeze_certificate(h.operator, root)
    assert not h.ledger.certificate(root).frozen
    assert h.events(unfrozen, "CertificateUnfrozen") == [{"id": root}]
    h.ledger.transfer(h.t1, root, h.t2.address)
    assert h.ledger.certificate(root).holder == h.t2.address


def test_a_frozen_pending_certificate_can_be_accepted_once_unfrozen(h):
    root = h.issue(accept=False)
    h.ledger.freeze_certificate(h.operator, root)
    with h.unchanged(), pytest.raises(ledger_errors.CertificateIsFrozen):
        h.ledger.accept(h.t1, root)
    h.ledger.unfreeze_certificate(h.operator, root)
    h.ledger.accept(h.t1, root)
    assert h.ledger.certificate(root).status is CertificateStatusCode.ACTIVE


def test_freezing_a_child_leaves_its_siblings_free(h):
    root = h.issue()
    left, right = h.ledger.transfer_part(h.t1, root, h.t2.address, "100.00").certificate_ids
    h.ledger.freeze_certificate(h.operator, right)
    with h.unchanged(), pytest.raises(ledger_errors.CertificateIsFrozen):
        h.ledger.transfer_part(h.t2, right, h.t3.address, "1.00")
    h.ledger.transfer_part(h.t1, left, h.t3.address, "1.00")
    assert h.ledger.certificate(left).status is CertificateStatusCode.SPLIT


@pytest.mark.parametrize("action", ["freeze_certificate", "unfreeze_certificate"])
@pytest.mark.parametrize("caller", OPERATOR_ONLY)
def test_only_the_operator_freezes_certificates(h, action, caller):
    root = h.issue()
    if action == "unfreeze_certificate":
        h.ledger.freeze_certificate(h.operator, root)
    with h.unchanged(), pytest.raises(ledger_errors.AccessControlUnauthorizedAccount):
        getattr(h.ledger, action)(getattr(h, caller), root)
    assert h.ledger.certificate(root).frozen is (action == "unfreeze_certificate")


@pytest.mark.parametrize("action", ["freeze_certificate", "unfreeze_certificate"])
def test_an_unknown_certificate_cannot_be_frozen(h, action):
    with h.unchanged(), pytest.raises(ledger_errors.CertificateNotFound):
        getattr(h.ledger, action)(h.operator, h.next_id())


# Pausing


def test_pause_refuses_every_issuance_and_movement_and_unpause_restores_them(h):
    pending = h.issue(accept=False)
    to_reject = h.issue(accept=False)
    to_cancel = h.issue(accept=False)
    to_split, to_part, to_move = h.issue(), h.issue(), h.issue()
    document = h.new_document()
    paused = h.ledger.pause(h.operator)
    assert h.ledger.paused()
    assert h.events(paused, "Paused") == [{"account": h.operator.address}]

    refused = {
        "issue": lambda: h.ledger.issue(
            h.core, h.t1.address, "10.00", h.maturity, document, invoice_number=new_invoice_number()
        ),
        "accept": lambda: h.ledger.accept(h.t1, pending),
        "reject": lambda: h.ledger.reject(h.t1, to_reject),
        "cancel": lambda: h.ledger.cancel(h.core, to_cancel),
        "split": lambda: h.ledger.split(h.t1, to_split, [(h.t2.address, "500.00"), (h.t3.address, "500.00")]),
        "transfer_part": lambda: h.ledger.transfer_part(h.t1, to_part, h.t2.address, "1.00"),
        "transfer": lambda: h.ledger.transfer(h.t1, to_move, h.t2.address),
    }
    for name, action in refused.items():
        with h.unchanged(), pytest.raises(ledger_errors.LedgerPaused):
            action()
        assert h.ledger.paused(), name

    unpaused = h.ledger.unpause(h.operator)
    assert not h.ledger.paused()
    assert h.events(unpaused, "Unpaused") == [{"account": h.operator.address}]
    for action in refused.values():
        action()
    statuses = [h.ledger.certificate(i).status for i in (pending, to_reject, to_cancel, to_split, to_part, to_move)]
    assert statuses == [
        CertificateStatusCode.ACTIVE,
        CertificateStatusCode.CANCELLED,
        CertificateStatusCode.CANCELLED,
        CertificateStatusCode.SPLIT,
        CertificateStatusCode.SPLIT,
        CertificateStatusCode.ACTIVE,
    ]
    assert h.ledger.certificate(to_move).holder == h.t2.address
    assert h.ledger.certificate(h.ledger.issuance_of(document)).face_value == Decimal("10.00")


def test_the_operator_still_administers_a_paused_ledger(h):
    root = h.issue()
    h.ledger.pause(h.operator)
    h.ledger.freeze_certificate(h.operator, root)
    h.ledger.freeze_member(h.operator, h.t2.address)
    h.ledger.set_credit_limit(h.operator, h.core.address, Decimal("10.00"))
    h.ledger.set_max_hops(h.operator, 2)
    h.ledger.register_member(h.operator, "0x" + "12" * 20, MemberRole.SUPPLIER, "Late Joiner")
    assert h.ledger.certificate(root).frozen
    assert h.ledger.member(h.t2.address).frozen
    assert h.ledger.max_hops() == 2


def test_a_paused_ledger_cannot_be_paused_again(h):
    h.ledger.pause(h.operator)
    with h.unchanged(), pytest.raises(ledger_errors.LedgerPaused):
        h.ledger.pause(h.operator)


def test_a_running_ledger_cannot_be_unpaused(h):
    with h.unchanged(), pytest.raises(LedgerNotPaused):
        h.ledger.unpause(h.operator)


@pytest.mark.parametrize("caller", OPERATOR_ONLY)
def test_only_the_operator_pauses_and_unpauses(h, caller):
    with h.unchanged(), pytest.raises(ledger_errors.AccessControlUnauthorizedAccount):
        h.ledger.pause(getattr(h, caller))
    h.ledger.pause(h.operator)
    with h.unchanged(), pytest.raises(ledger_errors.AccessControlUnauthorizedAccount):
        h.ledger.unpause(getattr(h, caller))
    assert h.ledger.paused()


def test_a_mined_transaction_is_refused_on_chain_while_paused(h):
    h.ledger.pause(h.operator)
    with h.unchanged(include_chain=False), pytest.raises(ledger_errors.LedgerPaused):
        h.send(
            h.core,
            "issue",
            h.t1.address,
            100,
            to_day(h.maturity),
            h.new_document(),
            invoice_key(new_invoice_number()),
            gas=500_000,
        )


# Hop limit


def test_set_max_hops(h):
    assert h.ledger.max_hops() == 0
    result = h.ledger.set_max_hops(h.operator, 3)
    assert h.ledger.max_hops() == 3
    assert h.events(result, "HopLimitSet") == [{"maxHops": 3}]


@pytest.mark.parametrize("caller", OPERATOR_ONLY)
def test_only_the_operator_sets_the_hop_limit(h, caller):
    with h.unchanged(), pytest.raises(ledger_errors.AccessControlUnauthorizedAccount):
        h.ledger.set_max_hops(getattr(h, caller), 1)
    assert h.ledger.max_hops() == 0


def test_the_hop_limit_stops_a_whole_transfer(h):
    h.ledger.set_max_hops(h.operator, 2)
    root = h.issue()
    h.ledger.transfer(h.t1, root, h.t2.address)
    h.ledger.transfer(h.t2, root, h.t3.address)
    assert h.ledger.certificate(root).hops == 2
    with h.unchanged(), pytest.raises(ledger_errors.HopLimitExceeded) as error:
        h.ledger.transfer(h.t3, root, h.t4.address)
    assert error.value.fields == {"id": root, "hops": 3, "maxHops": 2}
    assert h.ledger.certificate(root).holder == h.t3.address


@pytest.mark.parametrize("kind", ["split", "transfer_part"])
def test_the_hop_limit_stops_a_part_leaving_the_holder(h, kind):
    h.ledger.set_max_hops(h.operator, 1)
    root = h.issue()
    h.ledger.transfer(h.t1, root, h.t2.address)
    with h.unchanged(), pytest.raises(ledger_errors.HopLimitExceeded) as error:
        if kind == "split":
            h.ledger.split(h.t2, root, [(h.t2.address, "900.00"), (h.t3.address, "100.00")])
        else:
            h.ledger.transfer_part(h.t2, root, h.t3.address, "100.00")
    assert error.value.fields == {"id": root, "hops": 2, "maxHops": 1}


def test_parts_a_split_keeps_with_the_holder_make_no_hop(h):
    h.ledger.set_max_hops(h.operator, 1)
    root = h.issue()
    h.ledger.transfer(h.t1, root, h.t2.address)
    ids = h.ledger.split(h.t2, root, [(h.t2.address, "600.00"), (h.t2.address, "400.00")]).certificate_ids
    assert [h.ledger.certificate(i).hops for i in ids] == [1, 1]
    assert [h.ledger.certificate(i).holder for i in ids] == [h.t2.address, h.t2.address]


def test_the_remainder_keeps_its_hops_and_can_still_travel(h):
    h.ledger.set_max_hops(h.operator, 1)
    root = h.issue()
    remainder, part = h.ledger.transfer_part(h.t1, root, h.t2.address, "100.00").certificate_ids
    assert (h.ledger.certificate(remainder).hops, h.ledger.certificate(part).hops) == (0, 1)
    h.ledger.transfer(h.t1, remainder, h.t3.address)
    with h.unchanged(), pytest.raises(ledger_errors.HopLimitExceeded):
        h.ledger.transfer(h.t2, part, h.t3.address)


def test_a_transfer_to_oneself_is_refused_before_the_hop_limit(h):
    h.ledger.set_max_hops(h.operator, 1)
    root = h.issue()
    h.ledger.transfer(h.t1, root, h.t2.address)
    with h.unchanged(), pytest.raises(ledger_errors.TransferToHolder):
        h.ledger.transfer(h.t2, root, h.t2.address)
    assert h.ledger.certificate(root).hops == 1


def test_zero_means_no_hop_limit(h):
    h.ledger.set_max_hops(h.operator, 1)
    root = h.issue()
    h.ledger.transfer(h.t1, root, h.t2.address)
    with pytest.raises(ledger_errors.HopLimitExceeded):
        h.ledger.transfer(h.t2, root, h.t3.address)
    h.ledger.set_max_hops(h.operator, 0)
    holders = [h.t3, h.t4, h.t1, h.t2, h.t3, h.t4, h.t1]
    current = h.t2
    for holder in holders:
        h.ledger.transfer(current, root, holder.address)
        current = holder
    assert h.ledger.certificate(root).hops == 1 + len(holders)
    assert h.ledger.certificate(root).holder == h.t1.address


def test_lowering_the_limit_stops_certificates_already_beyond_it(h):
    root = h.issue()
    h.ledger.transfer(h.t1, root, h.t2.address)
    h.ledger.transfer(h.t2, root, h.t3.address)
    h.ledger.set_max_hops(h.operator, 1)
    with h.unchanged(), pytest.raises(ledger_errors.HopLimitExceeded) as error:
        h.ledger.transfer(h.t3, root, h.t4.address)
    assert error.value.fields == {"id": root, "hops": 3, "maxHops": 1}
    # Parts that stay with the holder still move.
    ids = h.ledger.split(h.t3, root, [(h.t3.address, "999.00"), (h.t3.address, "1.00")]).certificate_ids
    assert [h.ledger.certificate(i).holder for i in ids] == [h.t3.address, h.t3.address]
