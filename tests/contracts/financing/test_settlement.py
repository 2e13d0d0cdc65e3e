"""Settlement at maturity: the obligor pays every holder its face value, in bounded batches."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from scf_chain.domain import ledger_errors
from scf_chain.domain.types import CertificateStatusCode
from tests.contracts.financing.conftest import Desk


def _two_hundred_leaves(d: Desk) -> tuple[int, list[int]]:
    """An issuance of 20,000.00 split into 200 live certificates across t1 … t4."""
    root = d.issue(d.t1, "20000.00", days=30)
    holders = [d.t1, d.t2, d.t3, d.t4]
    first = d.ledger.split(d.t1, root, [(holders[i % 4].address, "200.00") for i in range(100)]).certificate_ids
    # first[0] is t1's: split it in 100; first[1] is t2's: split it in 2 -> 98 + 100 + 2 = 200 leaves.
    hundred = d.ledger.split(d.t1, first[0], [(holders[i % 4].address, "2.00") for i in range(100)])
    two = d.ledger.split(d.t2, first[1], [(d.t2.address, "150.00"), (d.t3.address, "50.00")])
    leaves = list(first[2:]) + list(hundred.certificate_ids) + list(two.certificate_ids)
    assert len(leaves) == 200
    return root, leaves


def test_settlement_before_maturity_is_refused(d: Desk):
    certificate_id = d.issue(d.t1, "1000.00", days=2)
    d.fund(d.core, "1000.00")
    d.travel_to(d.today() + 1)
    with d.unchanged(), pytest.raises(ledger_errors.NotYetMatured) as error:
        d.send(d.core, d.desk.functions.settle(certificate_id, [certificate_id]))
    assert "cannot be settled before" in str(error.value)
    with d.unchanged(), pytest.raises(ledger_errors.NotYetMatured):
        d.send(d.t1, d.desk.functions.present(certificate_id))


def test_a_200_certificate_tree_settles_in_batches_and_pays_each_holder_its_face_values(d: Desk):
    root, leaves = _two_hundred_leaves(d)
    # Two leaves are sold to the bank first: financed certificates are paid to their new holder.
    d.fund(d.bank, "1000.00")
    accounts = {account.address: account for account in (d.t1, d.t2, d.t3, d.t4)}
    for leaf in leaves[:2]:
        d.ledger.accept_offer(accounts[d.ledger.certificate(leaf).holder], d.offer(leaf))
    owed: dict[str, Decimal] = defaultdict(Decimal)
    for certificate in d.ledger.unsettled(root):
        owed[certificate.holder or ""] += certificate.face_value
    assert sum(owed.values()) == Decimal("20000.00")
    before = {address: d.ledger.balance_of(address) for address in owed}
    d.fund(d.core, "20000.00")
    d.travel_to(d.today() + 30)

    with pytest.raises(ledger_errors.BatchTooLarge):
        d.ledger.settle(d.core, root, [*leaves, leaves[0]])
    results = d.ledger.settle_all(d.core, root, batch_size=50)

    assert [len(r.payments) for r in results] == [50, 50, 50, 50]
    assert sum(r.total for r in results) == Decimal("20000.00")
    for address, amount in owed.items():
        assert d.ledger.balance_of(address) - before[address] == amount
    assert d.balance(d.core) == 0
    assert d.ledger.settled_amount(root) == Decimal("20000.00")
    assert d.ledger.credit_line(d.core.address).outstanding == 0
    for leaf in leaves:
        certificate = d.ledger.certificate(leaf)
        assert (certificate.status, certificate.holder) == (CertificateStatusCode.SETTLED, None)
        assert certificate.last_holder is not None
    assert all(d.ledger.contract.functions.balanceOf(a.address).call() == 0 for a in (d.t1, d.t2, d.t3, d.t4))
    per_certificate = max(r.gas_used for r in results) / 50
    print(f"\nsettlement gas per certificate in a batch of 50: {per_certificate:,.0f}")


def test_a_second_settlement_pays_nothing(d: Desk):
    root = d.issue(d.t1, "1000.00", days=5)
    remainder, part = d.ledger.transfer_part(d.t1, root, d.t2.address, "400.00").certificate_ids
    d.fund(d.core, "2000.00")
    d.travel_to(d.today() + 5)
    first = d.ledger.settle(d.core, root, [remainder, part])
    assert first.total == Decimal("1000.00")
    with d.unchanged():
        again = d.ledger.settle(d.core, root, [remainder, part, part])
    assert again.payments == ()
    assert d.ledger.settled_amount(root) == Decimal("1000.00")
    assert (d.balance(d.t1), d.balance(d.t2), d.balance(d.core)) == (
        Decimal("600.00"),
        Decimal("400.00"),
        Decimal("1000.00"),
    )


def test_settling_some_certificates_then_the_rest(d: Desk):
    root = d.issue(d.t1, "900.00", days=5)
    ids = d.ledger.split(d.t1, root, [(d.t2.address, "300.00")] * 3).certificate_ids
    d.fund(d.core, "900.00")
    d.travel_to(d.today() + 6)
    d.ledger.settle(d.core, root, ids[:1])
    assert d.ledger.settled_amount(root) == Decimal("300.00")
    assert d.ledger.credit_line(d.core.address).outstanding == Decimal("600.00")
    d.ledger.settle(d.core, root, [ids[0], *ids[1:]])
    assert d.ledger.settled_amount(root) == Decimal("900.00")
    assert d.balance(d.t2) == Decimal("900.00")


def test_only_the_obligor_settles(d: Desk):
    root = d.issue(d.t1, "1000.00", days=5)
    d.fund(d.core, "1000.00")
    d.fund(d.t1, "1000.00")
    d.travel_to(d.today() + 5)
    for caller in (d.t1, d.bank):
        with d.unchanged(), pytest.raises(ledger_errors.NotCertificateObligor):
            d.send(caller, d.desk.functions.settle(root, [root]))


def test_certificates_of_another_issuance_are_refused(d: Desk):
    root = d.issue(d.t1, "1000.00", days=5)
    other = d.issue(d.t2, "1000.00", days=5)
    d.fund(d.core, "2000.00")
    d.travel_to(d.today() + 5)
    with d.unchanged(), pytest.raises(ledger_errors.CertificateNotInIssuance):
        d.send(d.core, d.desk.functions.settle(root, [root, other]))
    remainder, part = d.ledger.transfer_part(d.t1, root, d.t2.address, "1.00").certificate_ids
    with d.unchanged(), pytest.raises(ledger_errors.NotAnIssuanceRoot):
        d.send(d.core, d.desk.functions.settle(part, [part]))
    with d.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus):  # the split parent
        d.send(d.core, d.desk.functions.settle(root, [remainder, root]))


def test_an_obligor_short_of_allowance_pays_nobody(d: Desk):
    root = d.issue(d.t1, "1000.00", days=5)
    remainder, part = d.ledger.transfer_part(d.t1, root, d.t2.address, "400.00").certificate_ids
    d.fund(d.core, "1000.00", approve="999.99")
    d.travel_to(d.today() + 5)
    with d.unchanged(), pytest.raises(ledger_errors.ERC20InsufficientAllowance):
        d.send(d.core, d.desk.functions.settle(root, [remainder, part]))


def test_a_holder_presents_a_matured_certificate(d: Desk):
    root = d.issue(d.t1, "1000.00", days=5)
    remainder, part = d.ledger.transfer_part(d.t1, root, d.t2.address, "400.00").certificate_ids
    d.fund(d.core, "1000.00")
    d.travel_to(d.today() + 7)
    with d.unchanged(), pytest.raises(ledger_errors.NotCertificateHolder):
        d.send(d.t1, d.desk.functions.present(part))
    result = d.ledger.present(d.t2, part)
    assert result.payments == ((part, d.t2.address, Decimal("400.00"), False),)
    assert d.balance(d.t2) == Decimal("400.00")
    assert d.ledger.allowance(d.core.address) == Decimal("600.00")
    with pytest.raises(ledger_errors.NotCertificateHolder):
        d.ledger.present(d.t2, part)
    d.ledger.settle(d.core, root, [remainder, part])
    assert d.ledger.settled_amount(root) == Decimal("1000.00")
    assert d.balance(d.t1) == Decimal("600.00")


def test_a_frozen_certificate_is_not_paid(d: Desk):
    root = d.issue(d.t1, "1000.00", days=5)
    d.fund(d.core, "1000.00")
    d.ledger.freeze_certificate(d.operator, root)
    d.travel_to(d.today() + 5)
    with d.unchanged(), pytest.raises(ledger_errors.CertificateIsFrozen):
        d.send(d.core, d.desk.functions.settle(root, [root]))


def test_the_batch_limit_is_the_desks(d: Desk):
    assert d.ledger.max_batch() == d.desk.functions.MAX_BATCH().call() == 200


def test_a_paused_ledger_refuses_the_desk_to_finance_settle_or_mark_overdue(d: Desk):
    to_sell, to_settle, to_present, to_mark = (d.issue(d.t1, "1000.00", days=10) for _ in range(4))
    d.fund(d.bank, "1000.00")
    signed = d.offer(to_sell)
    d.ledger.pause(d.operator)
    with d.unchanged(), pytest.raises(ledger_errors.LedgerPaused):
        d.send(d.t1, d.accept_call(signed))
    d.ledger.unpause(d.operator)
    d.fund(d.core, "3000.00")
    d.travel_to(d.today() + 10 + 4)
    d.ledger.pause(d.operator)
    refused = [
        (d.core, d.desk.functions.settle(to_settle, [to_settle])),
        (d.t1, d.desk.functions.present(to_present)),
        (d.t3, d.desk.functions.markOverdue(to_mark, [to_mark])),
    ]
    for signer, call in refused:
        with d.unchanged(), pytest.raises(ledger_errors.LedgerPaused):
            d.send(signer, call)
    d.ledger.unpause(d.operator)
    for signer, call in refused:
        d.send(signer, call)
    statuses = [d.ledger.certificate(i).status for i in (to_settle, to_present, to_mark)]
    assert statuses == [CertificateStatusCode.SETTLED, CertificateStatusCode.SETTLED, CertificateStatusCode.OVERDUE]
