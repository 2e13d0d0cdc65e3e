"""ERC-721 compatibility: wallets and explorers see certificates as ordinary NFTs, behind the ledger's gate."""

import pytest

from scf_chain.client.ledger import ZERO_ADDRESS
from scf_chain.domain import ledger_errors
from scf_chain.domain.types import CertificateStatusCode

ERC721NonexistentToken = ledger_errors.ERROR_CLASSES["ERC721NonexistentToken"]
ERC721InsufficientApproval = ledger_errors.ERROR_CLASSES["ERC721InsufficientApproval"]
ERC721IncorrectOwner = ledger_errors.ERROR_CLASSES["ERC721IncorrectOwner"]


@pytest.mark.parametrize(
    ("interface", "supported"),
    [
        ("0x80ac58cd", True),  # ERC-721
        ("0x5b5e139f", True),  # ERC-721 metadata
        ("0x01ffc9a7", True),  # ERC-165
        ("0x7965db0b", True),  # AccessControl
        ("0x780e9d63", False),  # ERC-721 enumerable
        ("0xffffffff", False),  # never, by ERC-165
    ],
)
def test_supports_interface(h, interface, supported):
    assert h.call("supportsInterface", bytes.fromhex(interface[2:])) is supported


def test_name_and_symbol(h):
    assert h.call("name") == "scf-chain payable certificate"
    assert h.call("symbol") == "SCFC"


def test_owner_of_and_balance_of_follow_the_holder(h):
    root = h.issue(accept=False)
    assert h.call("ownerOf", root) == h.t1.address  # a pending certificate is held
    h.ledger.accept(h.t1, root)
    remainder, part = h.ledger.transfer_part(h.t1, root, h.t2.address, "250.00").certificate_ids
    assert (h.call("ownerOf", remainder), h.call("ownerOf", part)) == (h.t1.address, h.t2.address)
    assert (h.balance(h.t1), h.balance(h.t2), h.balance(h.t3)) == (1, 1, 0)
    h.ledger.transfer(h.t2, part, h.t3.address)
    assert h.call("ownerOf", part) == h.t3.address
    assert (h.balance(h.t1), h.balance(h.t2), h.balance(h.t3)) == (1, 0, 1)


def test_retired_and_unknown_certificates_have_no_owner(h):
    root = h.issue()
    h.ledger.transfer_part(h.t1, root, h.t2.address, "250.00")
    with pytest.raises(ERC721NonexistentToken) as error:
        h.call("ownerOf", root)
    assert error.value.fields == {"tokenId": root}
    with pytest.raises(ERC721NonexistentToken):
        h.call("ownerOf", h.next_id())
    with pytest.raises(ledger_errors.CertificateNotFound):
        h.ledger.certificate(h.next_id())


def test_a_plain_transfer_from_by_the_holder_works(h):
    root = h.issue()
    receipt = h.send(h.t1, "transferFrom", h.t1.address, h.t2.address, root)
    assert h.events(receipt, "Transfer") == [{"from": h.t1.address, "to": h.t2.address, "tokenId": root}]
    assert h.call("ownerOf", root) == h.t2.address
    assert h.ledger.certificate(root).hops == 1


def test_safe_transfer_from_to_a_member_works(h):
    root = h.issue()
    h.send(h.t1, "safeTransferFrom", h.t1.address, h.t2.address, root)
    assert h.call("ownerOf", root) == h.t2.address


@pytest.mark.parametrize("caller", ["t2", "core", "bank"])
def test_a_third_party_without_approval_cannot_transfer(h, caller):
    root = h.issue()
    account = getattr(h, caller)
    with h.unchanged(), pytest.raises(ERC721InsufficientApproval) as error:
        h.send(account, "transferFrom", h.t1.address, h.t3.address, root)
    assert error.value.fields == {"operator": account.address, "tokenId": root}
    assert h.call("ownerOf", root) == h.t1.address


def test_the_operator_cannot_take_a_certificate(h):
    root = h.issue()
    with h.unchanged(), pytest.raises(ledger_errors.NotAMember):
        h.send(h.operator, "transferFrom", h.t1.address, h.t2.address, root)


def test_transfer_from_names_the_holder(h):
    root = h.issue()
    with h.unchanged(), pytest.raises(ERC721IncorrectOwner):
        h.send(h.t1, "transferFrom", h.t2.address, h.t3.address, root)


def test_an_approved_member_moves_the_certificate_once(h):
    root = h.issue()
    approval = h.send(h.t1, "approve", h.bank.address, root)
    assert h.events(approval, "Approval") == [{"owner": h.t1.address, "approved": h.bank.address, "tokenId": root}]
    assert h.call("getApproved", root) == h.bank.address

    h.send(h.bank, "transferFrom", h.t1.address, h.t2.address, root)
    assert h.call("ownerOf", root) == h.t2.address
    assert h.call("getApproved", root) == ZERO_ADDRESS  # an approval ends with the move
    with h.unchanged(), pytest.raises(ERC721InsufficientApproval):
        h.send(h.bank, "transferFrom", h.t2.address, h.t3.address, root)


def test_an_operator_approved_for_all_moves_every_certificate(h):
    first, second = h.issue(), h.issue()
    h.send(h.t1, "setApprovalForAll", h.bank.address, True)
    assert h.call("isApprovedForAll", h.t1.address, h.bank.address)
    h.send(h.bank, "transferFrom", h.t1.address, h.bank.address, first)
    h.send(h.bank, "transferFrom", h.t1.address, h.t3.address, second)
    assert (h.call("ownerOf", first), h.call("ownerOf", second)) == (h.bank.address, h.t3.address)


@pytest.mark.parametrize("approval", ["approve", "setApprovalForAll"])
def test_a_frozen_approved_operator_cannot_move(h, approval):
    root = h.issue()
    if approval == "approve":
        h.send(h.t1, "approve", h.bank.address, root)
    else:
        h.send(h.t1, "setApprovalForAll", h.bank.address, True)
    h.ledger.freeze_member(h.operator, h.bank.address)
    with h.unchanged(), pytest.raises(ledger_errors.MemberIsFrozen) as error:
        h.send(h.bank, "transferFrom", h.t1.address, h.t2.address, root)
    assert error.value.fields == {"account": h.bank.address}
    h.ledger.unfreeze_member(h.operator, h.bank.address)
    h.send(h.bank, "transferFrom", h.t1.address, h.t2.address, root)
    assert h.call("ownerOf", root) == h.t2.address


# Only members who may hold certificates can be approved: a holder may let another holder move its
# certificates (as ERC-721 custody tools expect), never an auditor or an outsider. The desk needs no
# approval; it moves certificates under its own role.


def _approve(h, approval: str, account: str, certificate_id: int):
    args = (account, certificate_id) if approval == "approve" else (account, True)
    return h.send(h.t1, approval, *args)


@pytest.mark.parametrize("approval", ["approve", "setApprovalForAll"])
def test_an_auditor_cannot_be_approved_to_move_certificates(h, approval):
    """Before: t1 approved the auditor, and the auditor's transferFrom to t2 went through."""
    root = h.issue()
    with h.unchanged(), pytest.raises(ledger_errors.ReceiverNotEligible) as error:
        _approve(h, approval, h.auditor.address, root)
    assert error.value.fields == {"account": h.auditor.address}
    # The gate refuses the auditor as the mover too, before it looks for an approval.
    with h.unchanged(), pytest.raises(ledger_errors.ReceiverNotEligible):
        h.send(h.auditor, "transferFrom", h.t1.address, h.t2.address, root)
    assert (h.call("getApproved", root), h.call("isApprovedForAll", h.t1.address, h.auditor.address)) == (
        ZERO_ADDRESS,
        False,
    )


@pytest.mark.parametrize("approval", ["approve", "setApprovalForAll"])
@pytest.mark.parametrize(("who", "error_class"), [("outsider", ledger_errors.NotAMember), ("t2", None)])
def test_a_non_member_or_frozen_member_cannot_be_approved(h, approval, who, error_class):
    root = h.issue()
    account = getattr(h, who)
    if error_class is None:  # a member frozen at the time of approval
        h.ledger.freeze_member(h.operator, account.address)
        error_class = ledger_errors.MemberIsFrozen
    with h.unchanged(), pytest.raises(error_class) as error:
        _approve(h, approval, account.address, root)
    assert error.value.fields == {"account": account.address}


def test_an_approval_can_always_be_withdrawn(h):
    root = h.issue()
    h.send(h.t1, "approve", h.bank.address, root)
    h.send(h.t1, "setApprovalForAll", h.bank.address, True)
    h.ledger.freeze_member(h.operator, h.bank.address)
    h.send(h.t1, "approve", ZERO_ADDRESS, root)
    h.send(h.t1, "setApprovalForAll", h.bank.address, False)
    assert (h.call("getApproved", root), h.call("isApprovedForAll", h.t1.address, h.bank.address)) == (
        ZERO_ADDRESS,
        False,
    )


# Metadata: a URI that names the certificate on the gateway, and nothing of the business


def test_token_uri_names_the_certificate_on_the_gateway(h):
    """Before: tokenURI was an empty string for every certificate."""
    settings = h.runtime.settings
    root = h.issue()
    assert h.ledger.token_uri(root) == f"http://{settings.api_host}:{settings.api_port}/v1/certificates/{root}"
    result = h.ledger.set_token_uri_base(h.operator, "https://gateway.example/v1/certificates/")
    assert h.events(result, "TokenURIBaseSet") == [{"tokenURIBase": "https://gateway.example/v1/certificates/"}]
    assert h.call("tokenURI", root) == f"https://gateway.example/v1/certificates/{root}"
    # A retired certificate is still on the gateway, with its provenance.
    remainder, part = h.ledger.transfer_part(h.t1, root, h.t2.address, "1.00").certificate_ids
    assert [h.ledger.token_uri(i) for i in (root, remainder, part)] == [
        f"https://gateway.example/v1/certificates/{i}" for i in (root, remainder, part)
    ]


def test_token_uri_of_an_unknown_certificate_is_refused(h):
    with pytest.raises(ledger_errors.CertificateNotFound):
        h.ledger.token_uri(999)


@pytest.mark.parametrize("caller", ["core", "t1", "auditor"])
def test_only_the_operator_points_token_uris(h, caller):
    root = h.issue()
    before = h.ledger.token_uri(root)
    with h.unchanged(), pytest.raises(ledger_errors.AccessControlUnauthorizedAccount):
        h.ledger.set_token_uri_base(getattr(h, caller), "https://evil.example/")
    assert h.ledger.token_uri(root) == before


def test_an_approved_operator_cannot_move_for_a_frozen_holder(h):
    root = h.issue()
    h.send(h.t1, "setApprovalForAll", h.bank.address, True)
    h.ledger.freeze_member(h.operator, h.t1.address)
    with h.unchanged(), pytest.raises(ledger_errors.MemberIsFrozen) as error:
        h.send(h.bank, "transferFrom", h.t1.address, h.bank.address, root)
    assert error.value.fields == {"account": h.t1.address}


def test_an_approved_operator_passes_the_same_gate(h):
    h.ledger.set_max_hops(h.operator, 1)
    root = h.issue(accept=False)
    h.send(h.t1, "setApprovalForAll", h.bank.address, True)
    with h.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus):
        h.send(h.bank, "transferFrom", h.t1.address, h.t2.address, root)
    h.ledger.accept(h.t1, root)
    with h.unchanged(), pytest.raises(ledger_errors.ReceiverNotEligible):
        h.send(h.bank, "transferFrom", h.t1.address, h.auditor.address, root)
    h.send(h.bank, "transferFrom", h.t1.address, h.t2.address, root)
    h.send(h.t2, "setApprovalForAll", h.bank.address, True)
    with h.unchanged(), pytest.raises(ledger_errors.HopLimitExceeded):
        h.send(h.bank, "transferFrom", h.t2.address, h.t3.address, root)


def test_a_split_emits_transfers_that_rebuild_every_balance(h):
    """An indexer that only reads Transfer events must arrive at the same holdings as the ledger."""
    root = h.issue()
    results = [h.ledger.split(h.t1, root, [(h.t2.address, "500.00"), (h.t3.address, "500.00")])]
    left, right = results[0].certificate_ids
    results.append(h.ledger.transfer_part(h.t2, left, h.t4.address, "100.00"))
    results.append(h.ledger.transfer(h.t3, right, h.t1.address))
    owners: dict[int, str] = {root: h.t1.address}
    for result in results:
        for event in h.events(result, "Transfer"):
            assert owners.get(event["tokenId"], ZERO_ADDRESS) == event["from"]
            owners[event["tokenId"]] = event["to"]
    live = {token: owner for token, owner in owners.items() if owner != ZERO_ADDRESS}
    assert live == {c.id: c.holder for c in h.ledger.holdings(root)}
    for account in h.suppliers:
        assert h.balance(account) == sum(owner == account.address for owner in live.values())
    assert h.ledger.certificate(root).status is CertificateStatusCode.SPLIT
