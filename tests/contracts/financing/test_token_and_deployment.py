"""The settlement token, and how the three contracts are deployed and wired together."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from scf_chain.chain.deploy import SETTLEMENT_ROLE, Deployment
from scf_chain.domain import ledger_errors
from scf_chain.runtime import Runtime
from tests.contracts.financing.conftest import Desk


def test_the_manifest_records_the_token_and_the_desk(runtime: Runtime):
    deployment = runtime.deployment
    recorded = json.loads(runtime.settings.manifest_path.read_text())
    assert recorded["settlement_token"] == deployment.settlement_token
    assert recorded["settlement_desk"] == deployment.settlement_desk
    assert Deployment.load(runtime.settings.manifest_path) == deployment
    ledger = runtime.ledger.contract.functions
    assert ledger.settlementToken().call() == deployment.settlement_token
    assert runtime.ledger.desk.functions.settlementToken().call() == deployment.settlement_token
    assert runtime.ledger.desk.functions.ledger().call() == deployment.ledger
    assert ledger.hasRole(SETTLEMENT_ROLE, deployment.settlement_desk).call()
    assert not ledger.hasRole(SETTLEMENT_ROLE, deployment.operator).call()


def test_the_token_is_a_cny_deposit_in_fen(runtime: Runtime):
    token = runtime.ledger.token.functions
    assert (token.decimals().call(), token.symbol().call()) == (2, "CNYD")
    assert token.hasRole(token.MINTER_ROLE().call(), runtime.operator.address).call()


def test_deposits_and_withdrawals_are_exact(d: Desk):
    d.ledger.deposit(d.operator, d.t1.address, "1234.56")
    d.ledger.withdraw(d.operator, d.t1.address, "0.56")
    assert d.balance(d.t1) == Decimal("1234.00")
    assert d.token.functions.balanceOf(d.t1.address).call() == 123_400
    with pytest.raises(ledger_errors.ERC20InsufficientBalance) as error:
        d.ledger.withdraw(d.operator, d.t1.address, "1234.01")
    assert "Tier 1 Parts holds 1,234.00" in str(error.value)
    with pytest.raises(ValueError):
        d.ledger.deposit(d.operator, d.t1.address, "0.001")


def test_only_the_operator_mints_and_burns(d: Desk):
    with d.unchanged(), pytest.raises(ledger_errors.AccessControlUnauthorizedAccount):
        d.ledger.deposit(d.t1, d.t1.address, "1.00")
    d.ledger.deposit(d.operator, d.t1.address, "1.00")
    with pytest.raises(ledger_errors.AccessControlUnauthorizedAccount):
        d.ledger.withdraw(d.core, d.t1.address, "1.00")


def test_approving_the_desk(d: Desk):
    d.ledger.approve_desk(d.core, "500.00")
    assert d.ledger.allowance(d.core.address) == Decimal("500.00")
