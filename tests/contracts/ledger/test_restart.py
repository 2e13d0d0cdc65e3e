"""A restart of the local chain keeps every certificate: its own chain, stopped cleanly and started again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scf_chain.chain.local import rpc_answers
from scf_chain.domain import ledger_errors
from scf_chain.domain.errors import NotDeployed
from scf_chain.domain.types import CertificateStatusCode, MemberRole
from scf_chain.runtime import local_chain, open_runtime
from scf_chain.settings import Settings
from tests.conftest import new_invoice_number


@pytest.fixture
def own_chain(tmp_path):
    settings = Settings(data_dir=tmp_path, chain_port=0)
    chain = local_chain(settings)
    chain.start()
    yield settings, chain
    chain.stop()


def ledger_snapshot(ledger, accounts, last_id):
    certificates = {i: ledger.certificate(i) for i in range(1, last_id + 1)}
    return {
        "certificates": certificates,
        "balances": {a.address: ledger.contract.functions.balanceOf(a.address).call() for a in accounts},
        "next_id": ledger.contract.functions.nextCertificateId().call(),
        "members": [ledger.member(a.address) for a in accounts],
        "registered": [m.address for m in ledger.members()],
        "max_hops": ledger.max_hops(),
        "paused": ledger.paused(),
    }


def test_certificates_survive_a_restart(own_chain, consortium, maturity, new_document):
    settings, chain = own_chain
    runtime = open_runtime(settings, deploy_if_missing=True)
    ledger, operator = runtime.ledger, runtime.operator
    # The session's signing accounts, registered on this chain too: no new keys to make.
    core, (t1, t2, t3, _) = consortium.core, consortium.suppliers
    ledger.register_member(operator, core.address, MemberRole.CORE_ENTERPRISE, "Acme Motors")
    for number, supplier in enumerate((t1, t2, t3), start=1):
        ledger.register_member(operator, supplier.address, MemberRole.SUPPLIER, f"Tier {number} Parts")
    ledger.set_credit_limit(operator, core.address, Decimal("10000.00"))
    ledger.set_max_hops(operator, 5)

    def issue(holder, amount):
        return ledger.issue(
            core, holder.address, amount, maturity, new_document(), invoice_number=new_invoice_number()
        ).certificate_id

    pending = issue(t1, "100.00")
    active = issue(t2, "200.00")
    ledger.accept(t2, active)
    to_split = issue(t1, "1000.00")
    ledger.accept(t1, to_split)
    remainder, part = ledger.transfer_part(t1, to_split, t2.address, "250.00").certificate_ids
    ledger.transfer(t2, part, t3.address)
    rejected = issue(t3, "50.00")
    ledger.reject(t3, rejected)
    frozen = issue(t3, "75.00")
    ledger.accept(t3, frozen)
    ledger.freeze_certificate(operator, frozen)
    ledger.freeze_member(operator, t2.address)
    last_id = part
    accounts = [core, t1, t2, t3]
    before = ledger_snapshot(ledger, accounts, max(last_id, frozen))
    outstanding = ledger.credit_line(core.address)

    url = chain.url
    assert chain.stop()
    assert not rpc_answers(url)
    assert chain.record() is None
    assert chain.state_path.exists()
    chain.start()

    reopened = open_runtime(settings)  # no deployment: the ledger must still be there
    assert reopened.deployment == runtime.deployment
    ledger = reopened.ledger
    after = ledger_snapshot(ledger, accounts, max(last_id, frozen))
    assert after == before
    assert ledger.credit_line(core.address) == outstanding
    statuses = {i: c.status for i, c in after["certificates"].items()}
    assert statuses[pending] is CertificateStatusCode.PENDING
    assert statuses[active] is CertificateStatusCode.ACTIVE
    assert statuses[to_split] is CertificateStatusCode.SPLIT
    assert statuses[rejected] is CertificateStatusCode.CANCELLED
    assert after["certificates"][part].holder == t3.address
    assert after["certificates"][remainder].holder == t1.address
    assert after["certificates"][frozen].frozen
    assert sum(c.face_value for c in ledger.holdings(to_split)) == Decimal("1000.00")

    # The restarted chain takes new transactions, and the ledger's rules still hold.
    ledger.accept(t1, pending)
    assert ledger.certificate(pending).status is CertificateStatusCode.ACTIVE
    with pytest.raises(ledger_errors.MemberIsFrozen):
        ledger.transfer(t1, remainder, t2.address)
    with pytest.raises(ledger_errors.CertificateIsFrozen):
        ledger.transfer(t3, frozen, t1.address)


def test_a_fresh_chain_has_no_ledger(tmp_path):
    settings = Settings(data_dir=tmp_path, chain_port=0)
    chain = local_chain(settings)
    chain.start()
    try:
        with pytest.raises(NotDeployed):
            open_runtime(settings)
    finally:
        chain.stop()
