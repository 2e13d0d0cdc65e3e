"""Conservation: however an issuance is split and passed on, its live leaves sum to its face value.

The property test runs random sequences of splits, part transfers and whole transfers
among the four suppliers, each example in its own chain snapshot, and checks the
ledger against a model: the same leaves, holders, amounts and hops; a consistent tree
(children, ancestry, parents retired); and balances that match.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scf_chain.domain import ledger_errors
from scf_chain.domain.money import from_minor_units
from scf_chain.domain.types import CertificateStatusCode

# One step: (kind, which live leaf, receivers with weights). Indices are taken modulo what exists.
steps = st.lists(
    st.tuples(
        st.sampled_from(["split", "part", "whole"]),
        st.integers(min_value=0, max_value=63),
        st.lists(
            st.tuples(st.integers(min_value=0, max_value=3), st.integers(min_value=1, max_value=100)),
            min_size=2,
            max_size=4,
        ),
    ),
    min_size=2,
    max_size=6,
)
# Face values in minor units: from a single fen (which can only move whole) up to a large invoice.
face_values = st.integers(min_value=1, max_value=10**8)


@dataclass
class Leaf:
    holder: str
    amount: int  # minor units
    hops: int


def split_amounts(face: int, weights: list[int]) -> list[int]:
    """Positive amounts in proportion to ``weights`` that sum exactly to ``face`` (needs face >= len(weights))."""
    spare = face - len(weights)
    amounts = [1 + spare * w // sum(weights) for w in weights]
    amounts[-1] += face - sum(amounts)
    return amounts


class Model:
    def __init__(self, h, root: int, face: int) -> None:
        self.h = h
        self.root = root
        self.face = face
        self.leaves: dict[int, Leaf] = {root: Leaf(h.t1.address, face, 0)}
        self.signers = {s.address: s for s in h.suppliers}

    def apply(self, kind: str, pick: int, receivers: list[tuple[int, int]]) -> None:
        ledger, suppliers = self.h.ledger, self.h.suppliers
        leaf_id = sorted(self.leaves)[pick % len(self.leaves)]
        leaf = self.leaves[leaf_id]
        signer = self.signers[leaf.holder]
        targets = [suppliers[i].address for i, _ in receivers]
        # A leaf too small for the move asked for is passed on whole.
        if (kind == "split" and leaf.amount < len(receivers)) or (kind == "part" and leaf.amount < 2):
            kind = "whole"
        if kind != "split" and targets[0] == leaf.holder:
            # Passing a certificate (or a part of it) to its own holder is refused, and changes nothing.
            with pytest.raises(ledger_errors.TransferToHolder):
                if kind == "part":
                    ledger.transfer_part(signer, leaf_id, targets[0], from_minor_units(1))
                else:
                    ledger.transfer(signer, leaf_id, targets[0])
        elif kind == "split":
            amounts = split_amounts(leaf.amount, [w for _, w in receivers])
            parts = [(to, from_minor_units(a)) for to, a in zip(targets, amounts, strict=True)]
            ids = ledger.split(signer, leaf_id, parts).certificate_ids
            self._replace(leaf_id, ids, targets, amounts)
        elif kind == "part":
            amount = 1 + (leaf.amount - 1) * (receivers[0][1] - 1) // 100  # 1 <= amount < face
            ids = ledger.transfer_part(signer, leaf_id, targets[0], from_minor_units(amount)).certificate_ids
            self._replace(leaf_id, ids, [leaf.holder, targets[0]], [leaf.amount - amount, amount])
        else:
            ledger.transfer(signer, leaf_id, targets[0])
            leaf.hops += 1
            leaf.holder = targets[0]

    def _replace(self, parent_id: int, ids: tuple[int, ...], holders: list[str], amounts: list[int]) -> None:
        parent = self.leaves.pop(parent_id)
        for child_id, holder, amount in zip(ids, holders, amounts, strict=True):
            self.leaves[child_id] = Leaf(holder, amount, parent.hops + (holder != parent.holder))

    def check(self) -> None:
        ledger, h = self.h.ledger, self.h
        holdings = ledger.holdings(self.root)
        assert sum(c.face_value for c in holdings) == from_minor_units(self.face)
        assert {c.id: (c.holder, c.face_value, c.hops) for c in holdings} == {
            i: (leaf.holder, from_minor_units(leaf.amount), leaf.hops) for i, leaf in self.leaves.items()
        }
        for account in h.suppliers:
            assert h.balance(account) == sum(leaf.holder == account.address for leaf in self.leaves.values())
        assert ledger.credit_line(h.core.address).outstanding == from_minor_units(self.face)

        tree = {c.id: c for c in ledger.descendants(self.root)}  # parents first
        ancestry = {cert_id: ledger.ancestry(cert_id) for cert_id in tree}
        assert ancestry[self.root] == []
        for cert in tree.values():
            assert cert.root_id == self.root
            assert ledger.children(cert.id) == list(cert.child_ids)
            if cert.child_ids:
                assert (cert.status, cert.holder) == (CertificateStatusCode.SPLIT, None)
                assert sum(tree[c].face_value for c in cert.child_ids) == cert.face_value
            else:
                assert cert.status is CertificateStatusCode.ACTIVE
            if cert.parent_id is not None:
                assert cert.id in tree[cert.parent_id].child_ids
                assert ancestry[cert.id] == [cert.parent_id, *ancestry[cert.parent_id]]
        # Every certificate created since the issuance belongs to this tree.
        assert sorted(tree) == list(range(self.root, h.next_id()))


def snapshot(h) -> str:
    return h.w3.provider.make_request("evm_snapshot", [])["result"]


def revert(h, snapshot_id: str) -> None:
    assert h.w3.provider.make_request("evm_revert", [snapshot_id])["result"] is True
    # Nonces the sender handed out inside the snapshot are gone with it.
    h.sender.forget_nonces()


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(face=face_values, script=steps)
def test_live_leaves_always_sum_to_the_face_value(h, face, script):
    snapshot_id = snapshot(h)
    try:
        root = h.issue(h.t1, from_minor_units(face))
        model = Model(h, root, face)
        for kind, pick, receivers in script:
            model.apply(kind, pick, receivers)
        model.check()
    finally:
        revert(h, snapshot_id)


def test_split_amounts_are_positive_and_exact():
    assert split_amounts(3, [1, 1, 100]) == [1, 1, 1]
    assert split_amounts(100, [1, 3]) == [25, 75]
    assert split_amounts(10**8, [7, 7, 7]) == [33333333, 33333333, 33333334]


def test_a_deep_mixed_history_conserves_value(h):
    root = h.issue(h.t1, Decimal("1000.00"))
    model = Model(h, root, 100_000)
    script = [
        ("split", 0, [(1, 30), (2, 30), (0, 40)]),
        ("part", 1, [(3, 50)]),
        ("whole", 0, [(3, 1)]),
        ("split", 2, [(0, 1), (1, 1), (2, 1), (3, 1)]),
        ("part", 3, [(3, 1)]),
        ("whole", 4, [(0, 1)]),
    ]
    for kind, pick, receivers in script:
        model.apply(kind, pick, receivers)
    model.check()
    assert len(model.leaves) == 8
