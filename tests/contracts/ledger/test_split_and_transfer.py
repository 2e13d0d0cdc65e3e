"""Movement: splitting, paying a part, passing a whole certificate on; and every way each can be refused."""

from decimal import Decimal

import pytest
from eth_utils import keccak

from scf_chain.client.ledger import ZERO_ADDRESS
from scf_chain.domain import ledger_errors
from scf_chain.domain.errors import InvalidAmount
from scf_chain.domain.types import CertificateStatusCode, MemberRole

ERC721InvalidReceiver = ledger_errors.ERROR_CLASSES["ERC721InvalidReceiver"]
ERC721InsufficientApproval = ledger_errors.ERROR_CLASSES["ERC721InsufficientApproval"]
ReceiverNotEligible = ledger_errors.ReceiverNotEligible


# Split


def test_split_retires_the_parent_into_children(h):
    root = h.issue(amount="1000.00")
    next_id = h.next_id()
    result = h.ledger.split(
        h.t1, root, [(h.t2.address, "300.00"), (h.t1.address, "450.00"), (h.bank.address, Decimal("250.00"))]
    )

    assert result.certificate_ids == (next_id, next_id + 1, next_id + 2)
    assert h.next_id() == next_id + 3
    parent = h.ledger.certificate(root)
    assert (parent.status, parent.holder, parent.last_holder) == (CertificateStatusCode.SPLIT, None, h.t1.address)
    assert parent.child_ids == result.certificate_ids
    assert h.ledger.children(root) == list(result.certificate_ids)

    expected = [
        (h.t2.address, Decimal("300.00"), 1),
        (h.t1.address, Decimal("450.00"), 0),
        (h.bank.address, Decimal("250.00"), 1),
    ]
    for child_id, (holder, face, hops) in zip(result.certificate_ids, expected, strict=True):
        child = h.ledger.certificate(child_id)
        assert (child.holder, child.face_value, child.hops) == (holder, face, hops)
        assert (child.status, child.parent_id, child.root_id) == (CertificateStatusCode.ACTIVE, root, root)
        assert (child.obligor, child.maturity_date, child.document_hash) == (
            parent.obligor,
            parent.maturity_date,
            parent.document_hash,
        )
        assert child.child_ids == ()
        assert h.ledger.ancestry(child_id) == [root]
    assert (h.balance(h.t1), h.balance(h.t2), h.balance(h.bank)) == (1, 1, 1)
    assert h.ledger.credit_line(h.core.address).outstanding == Decimal("1000.00")
    assert sum(c.face_value for c in h.ledger.holdings(root)) == Decimal("1000.00")

    assert h.events(result, "CertificateSplit") == [
        {
            "parentId": root,
            "rootId": root,
            "holder": h.t1.address,
            "firstChildId": next_id,
            "amounts": [30000, 45000, 25000],
        }
    ]
    assert h.events(result, "Transfer") == [
        {"from": ZERO_ADDRESS, "to": h.t2.address, "tokenId": next_id},
        {"from": ZERO_ADDRESS, "to": h.t1.address, "tokenId": next_id + 1},
        {"from": ZERO_ADDRESS, "to": h.bank.address, "tokenId": next_id + 2},
        {"from": h.t1.address, "to": ZERO_ADDRESS, "tokenId": root},
    ]


def test_a_child_can_be_split_again(h):
    root = h.issue()
    first, _ = h.ledger.split(h.t1, root, [(h.t2.address, "600.00"), (h.t3.address, "400.00")]).certificate_ids
    grandchildren = h.ledger.split(h.t2, first, [(h.t4.address, "0.01"), (h.t2.address, "599.99")]).certificate_ids
    for grandchild in grandchildren:
        assert h.ledger.ancestry(grandchild) == [first, root]
        assert h.ledger.certificate(grandchild).root_id == root
    assert [c.face_value for c in h.ledger.holdings(root)] == [Decimal("400.00"), Decimal("0.01"), Decimal("599.99")]
    assert h.ledger.certificate(grandchildren[0]).hops == 2
    assert h.ledger.certificate(grandchildren[1]).hops == 1


def test_a_split_into_the_most_parts_allowed(h):
    root = h.issue(amount="100.00")
    ids = h.ledger.split(h.t1, root, [(h.suppliers[i % 4].address, "1.00") for i in range(100)]).certificate_ids
    assert len(ids) == 100
    assert h.ledger.children(root) == list(ids)
    assert [h.balance(s) for s in h.suppliers] == [25, 25, 25, 25]
    assert sum(c.face_value for c in h.ledger.holdings(root)) == Decimal("100.00")


@pytest.mark.parametrize("count", [0, 1, 101])
def test_a_split_needs_two_to_a_hundred_parts(h, count):
    root = h.issue(amount="1000.00")
    parts = [(h.t2.address, "1.00")] * (count - 1) + [(h.t2.address, str(1000 - (count - 1)) + ".00")] if count else []
    with h.unchanged(), pytest.raises(ledger_errors.InvalidPartCount) as error:
        h.ledger.split(h.t1, root, parts)
    assert error.value.fields == {"count": count}
    assert h.ledger.certificate(root).status is CertificateStatusCode.ACTIVE


@pytest.mark.parametrize(
    ("amounts", "reported_sum"),
    [(["300.00", "699.99"], 99999), (["300.00", "700.01"], 100001), (["0.01", "1000.01"], 100001)],
    ids=["short", "over", "part-above-face"],
)
def test_a_split_must_sum_to_the_face_value(h, amounts, reported_sum):
    root = h.issue(amount="1000.00")
    with h.unchanged(), pytest.raises(ledger_errors.SplitSumMismatch) as error:
        h.ledger.split(h.t1, root, [(h.t2.address, a) for a in amounts])
    assert error.value.fields == {"id": root, "faceValue": 100000, "sum": reported_sum}
    assert h.ledger.certificate(root).child_ids == ()


def test_a_zero_part_is_refused_before_sending(h):
    root = h.issue()
    with h.unchanged(), pytest.raises(InvalidAmount):
        h.ledger.split(h.t1, root, [(h.t2.address, "1000.00"), (h.t3.address, "0")])


def test_a_zero_part_is_refused_by_the_ledger(h):
    root = h.issue()
    with h.unchanged(), pytest.raises(ledger_errors.ZeroPartAmount) as error:
        h.send(h.t1, "split", root, [(h.t2.address, 100000), (h.t3.address, 0)])
    assert error.value.fields == {"index": 1}


def test_a_part_with_three_decimals_is_refused_before_sending(h):
    root = h.issue()
    with h.unchanged(), pytest.raises(InvalidAmount):
        h.ledger.split(h.t1, root, [(h.t2.address, "999.995"), (h.t3.address, "0.005")])


# Part transfer


def test_transfer_part_pays_a_part_and_keeps_the_remainder(h):
    root = h.issue(amount="1000.00")
    next_id = h.next_id()
    result = h.ledger.transfer_part(h.t1, root, h.t2.address, "0.01")
    remainder_id, part_id = result.certificate_ids
    assert (remainder_id, part_id) == (next_id, next_id + 1)
    remainder, part = h.ledger.certificate(remainder_id), h.ledger.certificate(part_id)
    assert (remainder.holder, remainder.face_value, remainder.hops) == (h.t1.address, Decimal("999.99"), 0)
    assert (part.holder, part.face_value, part.hops) == (h.t2.address, Decimal("0.01"), 1)
    assert h.ledger.certificate(root).status is CertificateStatusCode.SPLIT
    assert h.events(result, "CertificateSplit")[0]["amounts"] == [99999, 1]


def test_a_part_cannot_be_paid_to_its_own_holder(h):
    """Before: the certificate was split in two, both halves kept by the holder."""
    root = h.issue(amount="1000.00")
    with h.unchanged(), pytest.raises(ledger_errors.TransferToHolder) as error:
        h.ledger.transfer_part(h.t1, root, h.t1.address, "400.00")
    assert error.value.fields == {"id": root, "holder": h.t1.address}
    assert str(error.value) == f"TransferToHolder: Tier 1 Parts already holds certificate {root}"
    assert error.value.code == "transfer_to_holder"


def test_a_split_may_keep_parts_with_the_holder(h):
    # A split is how a holder cuts its own certificate for later; only a movement to oneself is refused.
    root = h.issue(amount="1000.00")
    ids = h.ledger.split(h.t1, root, [(h.t1.address, "400.00"), (h.t1.address, "600.00")]).certificate_ids
    assert [h.ledger.certificate(i).holder for i in ids] == [h.t1.address, h.t1.address]
    assert [h.ledger.certificate(i).hops for i in ids] == [0, 0]


@pytest.mark.parametrize("amount", ["1000.00", "1000.01", "5000.00"])
def test_a_part_must_be_less_than_the_face_value(h, amount):
    root = h.issue(amount="1000.00")
    with h.unchanged(), pytest.raises(ledger_errors.PartNotLessThanFace) as error:
        h.ledger.transfer_part(h.t1, root, h.t2.address, amount)
    assert error.value.fields["faceValue"] == 100000
    assert h.ledger.certificate(root).holder == h.t1.address


def test_a_zero_part_transfer_is_refused_before_sending_and_by_the_ledger(h):
    root = h.issue()
    with h.unchanged(), pytest.raises(InvalidAmount):
        h.ledger.transfer_part(h.t1, root, h.t2.address, "0.00")
    with h.unchanged(), pytest.raises(ledger_errors.ZeroPartAmount):
        h.send(h.t1, "transferPart", root, h.t2.address, 0)


def test_a_part_transfer_with_three_decimals_is_refused_before_sending(h):
    root = h.issue()
    with h.unchanged(), pytest.raises(InvalidAmount):
        h.ledger.transfer_part(h.t1, root, h.t2.address, "10.001")


# Whole transfer


def test_transfer_moves_the_whole_certificate(h):
    root = h.issue()
    result = h.ledger.transfer(h.t1, root, h.t2.address)
    cert = h.ledger.certificate(root)
    assert (cert.holder, cert.last_holder, cert.status, cert.hops) == (
        h.t2.address,
        h.t2.address,
        CertificateStatusCode.ACTIVE,
        1,
    )
    assert (h.balance(h.t1), h.balance(h.t2)) == (0, 1)
    assert h.events(result, "Transfer") == [{"from": h.t1.address, "to": h.t2.address, "tokenId": root}]
    h.ledger.transfer(h.t2, root, h.bank.address)
    assert h.ledger.certificate(root).hops == 2


@pytest.mark.parametrize("function", ["transferFrom", "safeTransferFrom"])
def test_a_certificate_cannot_be_transferred_to_its_own_holder(h, function):
    """Before: the transfer went through, a movement that moved nothing."""
    root = h.issue()
    with h.unchanged(), pytest.raises(ledger_errors.TransferToHolder) as error:
        h.send(h.t1, function, h.t1.address, h.t1.address, root)
    assert error.value.fields == {"id": root, "holder": h.t1.address}
    with h.unchanged(), pytest.raises(ledger_errors.TransferToHolder):
        h.ledger.transfer(h.t1, root, h.t1.address)


# Refusals every movement shares

SPLIT = "split"
PART = "transfer_part"
WHOLE = "transfer"
MOVES = [SPLIT, PART, WHOLE]


def move(h, kind, signer, cert_id, to):
    """One movement of ``cert_id`` (face 1000.00) by ``signer`` that sends value to ``to``."""
    if kind == SPLIT:
        return h.ledger.split(signer, cert_id, [(signer.address, "600.00"), (to, "400.00")])
    if kind == PART:
        return h.ledger.transfer_part(signer, cert_id, to, "400.00")
    return h.ledger.transfer(signer, cert_id, to)


@pytest.mark.parametrize("kind", MOVES)
def test_a_pending_certificate_cannot_move(h, kind):
    root = h.issue(accept=False)
    with h.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus) as error:
        move(h, kind, h.t1, root, h.t2.address)
    assert error.value.fields == {"id": root, "status": CertificateStatusCode.PENDING, "required": 2}


@pytest.mark.parametrize("kind", [SPLIT, PART])
def test_a_split_certificate_cannot_move_again(h, kind):
    root = h.issue()
    h.ledger.transfer_part(h.t1, root, h.t2.address, "1.00")
    with h.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus) as error:
        move(h, kind, h.t1, root, h.t2.address)
    assert error.value.fields["status"] == CertificateStatusCode.SPLIT


def test_a_split_certificate_cannot_be_transferred(h):
    root = h.issue()
    h.ledger.transfer_part(h.t1, root, h.t2.address, "1.00")
    with h.unchanged(), pytest.raises(ledger_errors.ERROR_CLASSES["ERC721NonexistentToken"]):
        h.ledger.transfer(h.t1, root, h.t2.address)


@pytest.mark.parametrize("kind", [SPLIT, PART])
def test_an_unknown_certificate_cannot_move(h, kind):
    with h.unchanged(), pytest.raises(ledger_errors.CertificateNotFound):
        move(h, kind, h.t1, 999, h.t2.address)


@pytest.mark.parametrize("kind", [SPLIT, PART])
@pytest.mark.parametrize("signer", ["t2", "core", "operator"])
def test_only_the_holder_splits(h, kind, signer):
    root = h.issue()
    account = getattr(h, signer)
    with h.unchanged(), pytest.raises(ledger_errors.NotCertificateHolder) as error:
        move(h, kind, account, root, h.t3.address)
    assert error.value.fields == {"id": root, "account": account.address}


def test_only_the_holder_transfers(h):
    root = h.issue()
    with h.unchanged(), pytest.raises(ERC721InsufficientApproval) as error:
        h.ledger.transfer(h.t2, root, h.t3.address)
    assert error.value.fields == {"operator": h.t2.address, "tokenId": root}


@pytest.mark.parametrize("kind", MOVES)
def test_a_frozen_holder_cannot_move(h, kind):
    root = h.issue()
    h.ledger.freeze_member(h.operator, h.t1.address)
    with h.unchanged(), pytest.raises(ledger_errors.MemberIsFrozen) as error:
        move(h, kind, h.t1, root, h.t2.address)
    assert error.value.fields == {"account": h.t1.address}


@pytest.mark.parametrize("kind", MOVES)
def test_a_frozen_receiver_cannot_receive(h, kind):
    root = h.issue()
    h.ledger.freeze_member(h.operator, h.t2.address)
    with h.unchanged(), pytest.raises(ledger_errors.MemberIsFrozen) as error:
        move(h, kind, h.t1, root, h.t2.address)
    assert error.value.fields == {"account": h.t2.address}


@pytest.mark.parametrize("kind", MOVES)
def test_an_auditor_cannot_receive(h, kind):
    root = h.issue()
    with h.unchanged(), pytest.raises(ReceiverNotEligible) as error:
        move(h, kind, h.t1, root, h.auditor.address)
    assert error.value.fields == {"account": h.auditor.address}
    assert "Audit Office is an auditor" in str(error.value)


@pytest.mark.parametrize("kind", MOVES)
def test_a_non_member_cannot_receive(h, kind):
    root = h.issue()
    with h.unchanged(), pytest.raises(ledger_errors.NotAMember) as error:
        move(h, kind, h.t1, root, h.outsider.address)
    assert error.value.fields == {"account": h.outsider.address}


@pytest.mark.parametrize("kind", MOVES)
def test_the_zero_address_cannot_receive(h, kind):
    root = h.issue()
    with h.unchanged(), pytest.raises(ERC721InvalidReceiver):
        move(h, kind, h.t1, root, ZERO_ADDRESS)


@pytest.mark.parametrize("kind", MOVES)
def test_a_frozen_certificate_cannot_move(h, kind):
    root = h.issue()
    h.ledger.freeze_certificate(h.operator, root)
    with h.unchanged(), pytest.raises(ledger_errors.CertificateIsFrozen) as error:
        move(h, kind, h.t1, root, h.t2.address)
    assert error.value.fields == {"id": root}


@pytest.mark.parametrize("kind", MOVES)
def test_core_enterprises_and_financiers_may_hold(h, kind):
    other_core = h.runtime.keystore.create()
    h.ledger.register_member(h.operator, other_core.address, MemberRole.CORE_ENTERPRISE, "Other Motors")
    root = h.issue()
    move(h, kind, h.t1, root, h.bank.address)
    assert h.balance(h.bank) == 1
    (held,) = [c for c in h.ledger.holdings(root) if c.holder == h.bank.address]
    move(h, WHOLE, h.bank, held.id, other_core.address)
    assert h.ledger.certificate(held.id).holder == other_core.address


@pytest.mark.parametrize("kind", MOVES)
def test_a_certificate_cannot_pass_to_its_obligor(h, kind):
    """Before: the obligor could hold its own payable, and at settlement paid itself."""
    root = h.issue()
    with h.unchanged(), pytest.raises(ledger_errors.TransferToObligor) as error:
        move(h, kind, h.t1, root, h.core.address)
    # The id is that of the certificate which would have reached the obligor: the root, or the new part.
    assert error.value.fields["obligor"] == h.core.address
    assert error.value.fields["id"] == (root if kind == WHOLE else h.next_id() + 1)
    assert error.value.code == "transfer_to_obligor"
    assert "Acme Motors owes certificate" in str(error.value)


def test_an_approved_member_cannot_pass_a_certificate_to_its_obligor(h):
    root = h.issue()
    h.send(h.t1, "setApprovalForAll", h.bank.address, True)
    with h.unchanged(), pytest.raises(ledger_errors.TransferToObligor):
        h.send(h.bank, "transferFrom", h.t1.address, h.core.address, root)


# The hop counter


def _set_hops(h, certificate_id: int, hops: int) -> None:
    """Writes a certificate's hop count straight into the ledger's storage, to stand for that many real hops.

    The slot of the certificates mapping is found by reading: the one whose entry for this id holds its face value.
    """
    face = int(h.ledger.certificate(certificate_id).face_value * 100)
    for mapping_slot in range(64):
        key = keccak(certificate_id.to_bytes(32, "big") + mapping_slot.to_bytes(32, "big"))
        word = int.from_bytes(h.w3.eth.get_storage_at(h.ledger.address, key), "big")
        if word and (word >> 32) & (2**64 - 1) == face and (word >> 96) & (2**40 - 1) == certificate_id:
            break
    else:
        raise AssertionError("the certificates mapping was not found in the ledger's storage")
    hops_shift = 8 * 26  # Certificate: holderIndex 4, faceValue 8, rootId 5, parentId 5, recourseSellerIndex 4, hops
    word = (word & ~((2**16 - 1) << hops_shift)) | (hops << hops_shift)
    h.w3.provider.make_request("anvil_setStorageAt", [h.ledger.address, "0x" + key.hex(), f"0x{word:064x}"])
    assert h.ledger.certificate(certificate_id).hops == hops


@pytest.mark.parametrize("kind", MOVES)
def test_without_a_hop_limit_the_counter_never_wraps(h, kind):
    """Before: with no limit set, the 65,536th hop wrapped the counter back to 0."""
    assert h.ledger.max_hops() == 0
    root = h.issue()
    _set_hops(h, root, 65_534)
    h.ledger.transfer(h.t1, root, h.t2.address)
    assert h.ledger.certificate(root).hops == 65_535
    with h.unchanged(), pytest.raises(ledger_errors.HopLimitExceeded) as error:
        move(h, kind, h.t2, root, h.t3.address)
    assert error.value.fields == {"id": root, "hops": 65_536, "maxHops": 65_535}
    # What stays with the holder makes no hop, so the holder can still split it for itself.
    ids = h.ledger.split(h.t2, root, [(h.t2.address, "600.00"), (h.t2.address, "400.00")]).certificate_ids
    assert [h.ledger.certificate(i).hops for i in ids] == [65_535, 65_535]
