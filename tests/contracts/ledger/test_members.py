"""The member registry: onboarding, roles, freezing, and who may do it."""

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from scf_chain.domain import ledger_errors
from scf_chain.domain.types import MemberRole
from tests.conftest import new_invoice_number

EmptyMemberName = ledger_errors.ERROR_CLASSES["EmptyMemberName"]

NEW_ADDRESS = to_checksum_address("0x00000000000000000000000000000000000a11ce")


@pytest.mark.parametrize(
    "role", [MemberRole.CORE_ENTERPRISE, MemberRole.SUPPLIER, MemberRole.FINANCIER, MemberRole.AUDITOR]
)
def test_operator_registers_a_member_in_each_role(h, role):
    count = h.call("memberCount")
    result = h.ledger.register_member(h.operator, NEW_ADDRESS, role, "Newco Ltd")

    member = h.ledger.member(NEW_ADDRESS)
    assert (member.role, member.name, member.frozen, member.active) == (role, "Newco Ltd", False, True)
    assert h.call("memberCount") == count + 1
    assert h.events(result, "MemberRegistered") == [{"account": NEW_ADDRESS, "role": role, "name": "Newco Ltd"}]
    assert h.ledger.members()[-1] == member


def test_members_lists_the_consortium_in_order_of_registration(h):
    listed = [(m.address, m.role, m.name) for m in h.ledger.members()]
    assert listed == [
        (h.core.address, MemberRole.CORE_ENTERPRISE, "Acme Motors"),
        (h.t1.address, MemberRole.SUPPLIER, "Tier 1 Parts"),
        (h.t2.address, MemberRole.SUPPLIER, "Tier 2 Parts"),
        (h.t3.address, MemberRole.SUPPLIER, "Tier 3 Parts"),
        (h.t4.address, MemberRole.SUPPLIER, "Tier 4 Parts"),
        (h.bank.address, MemberRole.FINANCIER, "First Bank"),
        (h.auditor.address, MemberRole.AUDITOR, "Audit Office"),
    ]
    assert h.call("memberCount") == len(listed)


def test_a_non_member_reads_as_role_none(h):
    member = h.ledger.member(h.outsider.address)
    assert (member.role, member.name, member.frozen, member.active) == (MemberRole.NONE, "", False, False)


@pytest.mark.parametrize("caller", ["core", "t1", "bank", "auditor", "outsider"])
def test_only_the_operator_registers(h, caller):
    with h.unchanged(), pytest.raises(ledger_errors.AccessControlUnauthorizedAccount) as error:
        h.ledger.register_member(getattr(h, caller), NEW_ADDRESS, MemberRole.SUPPLIER, "Newco Ltd")
    assert error.value.fields["account"] == getattr(h, caller).address
    assert h.ledger.member(NEW_ADDRESS).role is MemberRole.NONE


def test_the_zero_address_cannot_be_registered(h):
    with h.unchanged(), pytest.raises(ledger_errors.InvalidMemberAddress):
        h.ledger.register_member(h.operator, "0x" + "00" * 20, MemberRole.SUPPLIER, "Nobody")


@pytest.mark.parametrize("which", ["operator", "ledger", "settlement_desk", "settlement_token"])
def test_the_operator_and_the_contracts_cannot_be_registered(h, which):
    """Before: the operator registered as a supplier could then be frozen, and its keys rotated, as a member."""
    deployment = h.runtime.deployment
    address = {
        "operator": h.operator.address,
        "ledger": h.ledger.address,
        "settlement_desk": deployment.settlement_desk,
        "settlement_token": deployment.settlement_token,
    }[which]
    with h.unchanged(), pytest.raises(ledger_errors.InvalidMemberAddress) as error:
        h.ledger.register_member(h.operator, address, MemberRole.SUPPLIER, "Sneaky Supplies")
    assert error.value.fields == {"account": to_checksum_address(address)}
    assert error.value.code == "invalid_member_address"
    assert "the zero address, a contract or the operator" in str(error.value)


def test_a_member_cannot_be_made_an_operator(h):
    operator_role = h.call("OPERATOR_ROLE")
    with h.unchanged(), pytest.raises(ledger_errors.MemberCannotHoldRole) as error:
        h.send(h.operator, "grantRole", operator_role, h.t1.address)
    assert error.value.fields == {"account": h.t1.address, "role": "0x" + operator_role.hex()}
    assert not h.call("hasRole", operator_role, h.t1.address)


@pytest.mark.parametrize("name", ["Tier 1 Parts", "TIER 1 PARTS", "tier 1 parts"])
def test_a_name_is_registered_once(h, name):
    """Before: a second "Tier 1 Parts" was registered, and the CLI could no longer tell them apart."""
    with h.unchanged(), pytest.raises(ledger_errors.MemberNameTaken) as error:
        h.ledger.register_member(h.operator, NEW_ADDRESS, MemberRole.SUPPLIER, name)
    assert error.value.fields == {"name": "Tier 1 Parts", "account": h.t1.address}
    assert error.value.code == "member_name_taken"
    assert str(error.value) == "MemberNameTaken: Tier 1 Parts is already named 'Tier 1 Parts'; member names are unique"


def test_names_that_differ_are_registered(h):
    h.ledger.register_member(h.operator, NEW_ADDRESS, MemberRole.SUPPLIER, "Tier 1 Parts (Shenzhen)")
    assert h.ledger.member(NEW_ADDRESS).name == "Tier 1 Parts (Shenzhen)"


@pytest.mark.parametrize("role", [MemberRole.SUPPLIER, MemberRole.FINANCIER])
def test_an_address_holds_one_role_for_good(h, role):
    with h.unchanged(), pytest.raises(ledger_errors.MemberAlreadyRegistered) as error:
        h.ledger.register_member(h.operator, h.t1.address, role, "Tier 1 again")
    assert "Tier 1 Parts" in str(error.value)
    assert h.ledger.member(h.t1.address).name == "Tier 1 Parts"


def test_role_none_cannot_be_registered(h):
    with h.unchanged(), pytest.raises(ledger_errors.WrongMemberRole):
        h.ledger.register_member(h.operator, NEW_ADDRESS, MemberRole.NONE, "Newco Ltd")


def test_a_member_needs_a_name(h):
    with h.unchanged(), pytest.raises(EmptyMemberName):
        h.ledger.register_member(h.operator, NEW_ADDRESS, MemberRole.SUPPLIER, "")


def test_operator_freezes_and_unfreezes_a_member(h):
    frozen = h.ledger.freeze_member(h.operator, h.t2.address)
    member = h.ledger.member(h.t2.address)
    assert member.frozen and not member.active
    assert h.events(frozen, "MemberFrozen") == [{"account": h.t2.address}]

    unfrozen = h.ledger.unfreeze_member(h.operator, h.t2.address)
    member = h.ledger.member(h.t2.address)
    assert not member.frozen and member.active
    assert h.events(unfrozen, "MemberUnfrozen") == [{"account": h.t2.address}]


@pytest.mark.parametrize("action", ["freeze_member", "unfreeze_member"])
@pytest.mark.parametrize("caller", ["core", "t1", "outsider"])
def test_only_the_operator_freezes_or_unfreezes(h, action, caller):
    if action == "unfreeze_member":
        h.ledger.freeze_member(h.operator, h.t2.address)
    with h.unchanged(), pytest.raises(ledger_errors.AccessControlUnauthorizedAccount):
        getattr(h.ledger, action)(getattr(h, caller), h.t2.address)
    assert h.ledger.member(h.t2.address).frozen is (action == "unfreeze_member")


@pytest.mark.parametrize("action", ["freeze_member", "unfreeze_member"])
def test_a_non_member_cannot_be_frozen_or_unfrozen(h, action):
    with h.unchanged(), pytest.raises(ledger_errors.NotAMember):
        getattr(h.ledger, action)(h.operator, h.outsider.address)


def test_a_new_member_can_act_at_once(h):
    # A signing account made in memory: no key store, no scrypt.
    second_core = Account.create()
    h.ledger.register_member(h.operator, second_core.address, MemberRole.CORE_ENTERPRISE, "Beta Motors")
    h.ledger.set_credit_limit(h.operator, second_core.address, "100.00")
    issued = h.ledger.issue(
        second_core, h.t1.address, "100.00", h.maturity, h.new_document(), invoice_number=new_invoice_number()
    )
    assert h.ledger.certificate(issued.certificate_id).obligor == second_core.address


def test_errors_name_members_and_have_a_stable_code(h):
    h.ledger.freeze_member(h.operator, h.t2.address)
    cert_id = h.issue()
    with pytest.raises(ledger_errors.MemberIsFrozen) as error:
        h.ledger.transfer(h.t1, cert_id, h.t2.address)
    assert error.value.code == "member_is_frozen"
    assert error.value.fields == {"account": h.t2.address}
    assert str(error.value) == "MemberIsFrozen: Tier 2 Parts is frozen and can neither act, send nor receive"
