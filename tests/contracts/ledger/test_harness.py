"""The harness's state probe must see every kind of change, or the "nothing changed" checks would prove nothing."""

from decimal import Decimal

import pytest

from scf_chain.domain.types import CertificateStatusCode, MemberRole


def test_the_probe_is_stable_when_nothing_happens(h):
    h.issue()
    assert h.state() == h.state()


def test_the_probe_sees_issuance_acceptance_and_movement(h):
    start = h.state()
    cert_id = h.issue(accept=False)
    issued = h.state()
    assert issued["nextCertificateId"] == start["nextCertificateId"] + 1
    assert issued["creditLine"][1] == start["creditLine"][1] + 100_000
    assert issued["balanceOf"]["t1"] == start["balanceOf"]["t1"] + 1
    assert issued["certificates"][cert_id]["status"] == CertificateStatusCode.PENDING
    assert issued["nonces"]["core"] == start["nonces"]["core"] + 1
    assert issued["block"] == start["block"] + 1

    h.ledger.accept(h.t1, cert_id)
    accepted = h.state()
    assert accepted["certificates"][cert_id]["status"] == CertificateStatusCode.ACTIVE

    h.ledger.transfer(h.t1, cert_id, h.t2.address)
    moved = h.state()
    assert moved["certificates"][cert_id]["holder"] == "t2"
    assert moved["balanceOf"]["t1"] == start["balanceOf"]["t1"]
    assert moved["balanceOf"]["t2"] == start["balanceOf"]["t2"] + 1


def test_the_probe_sees_operator_switches_and_members(h):
    start = h.state()
    h.ledger.freeze_member(h.operator, h.t3.address)
    h.ledger.set_max_hops(h.operator, 3)
    h.ledger.pause(h.operator)
    h.ledger.set_credit_limit(h.operator, h.core.address, Decimal("5.00"))
    after = h.state()
    assert after["members"]["t3"] == (MemberRole.SUPPLIER, True, "Tier 3 Parts")
    assert start["members"]["t3"] == (MemberRole.SUPPLIER, False, "Tier 3 Parts")
    assert (after["maxHops"], after["paused"]) == (3, True)
    assert after["creditLine"] == (500, 0)


def test_unchanged_fails_when_something_changes(h):
    with pytest.raises(AssertionError), h.unchanged():
        h.issue(accept=False)
