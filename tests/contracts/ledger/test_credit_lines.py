"""Credit lines: the operator sets them; issuing draws on them; rejecting and cancelling give credit back."""

from decimal import Decimal

import pytest

from scf_chain.domain import ledger_errors
from scf_chain.domain.errors import InvalidAmount
from scf_chain.domain.types import MemberRole
from tests.conftest import new_invoice_number


def line(h):
    return h.ledger.credit_line(h.core.address)


def test_the_operator_sets_a_limit(h):
    result = h.ledger.set_credit_limit(h.operator, h.core.address, Decimal("1234.56"))
    assert line(h).limit == Decimal("1234.56")
    assert line(h).outstanding == Decimal("0.00")
    assert line(h).available == Decimal("1234.56")
    assert h.events(result, "CreditLimitSet") == [{"obligor": h.core.address, "limit": 123456}]


def test_a_member_without_a_line_reads_as_zero(h):
    assert h.ledger.credit_line(h.t1.address).limit == Decimal("0.00")
    assert h.ledger.credit_line(h.t1.address).available == Decimal("0.00")


@pytest.mark.parametrize("caller", ["core", "t1", "bank", "outsider"])
def test_only_the_operator_sets_limits(h, caller):
    with h.unchanged(), pytest.raises(ledger_errors.AccessControlUnauthorizedAccount):
        h.ledger.set_credit_limit(getattr(h, caller), h.core.address, Decimal("9999999.00"))
    assert line(h).limit == Decimal("2000000.00")


@pytest.mark.parametrize(
    ("who", "actual"),
    [("t1", MemberRole.SUPPLIER), ("bank", MemberRole.FINANCIER), ("auditor", MemberRole.AUDITOR), ("outsider", 0)],
)
def test_only_a_core_enterprise_has_a_credit_line(h, who, actual):
    address = getattr(h, who).address
    with h.unchanged(), pytest.raises(ledger_errors.WrongMemberRole) as error:
        h.ledger.set_credit_limit(h.operator, address, Decimal("100.00"))
    assert error.value.fields == {"account": address, "required": MemberRole.CORE_ENTERPRISE, "actual": actual}
    assert h.ledger.credit_line(address).limit == Decimal("0.00")


@pytest.mark.parametrize("limit", ["-0.01", "10.001"])
def test_a_limit_must_be_whole_fen_and_not_negative(h, limit):
    with h.unchanged(), pytest.raises(InvalidAmount):
        h.ledger.set_credit_limit(h.operator, h.core.address, limit)


def test_issuing_draws_and_moving_keeps_the_credit_drawn(h):
    cert_id = h.issue(amount="300.00")
    assert line(h).outstanding == Decimal("300.00")
    assert line(h).available == Decimal("1999700.00")
    h.ledger.transfer_part(h.t1, cert_id, h.t2.address, "100.00")
    assert line(h).outstanding == Decimal("300.00")


def test_issuing_up_to_the_limit_exactly_is_allowed(h):
    h.ledger.set_credit_limit(h.operator, h.core.address, Decimal("500.00"))
    h.issue(amount="200.00")
    h.issue(amount="300.00")
    assert line(h).outstanding == Decimal("500.00")
    assert line(h).available == Decimal("0.00")


def test_one_fen_over_the_limit_is_refused(h):
    h.ledger.set_credit_limit(h.operator, h.core.address, Decimal("500.00"))
    h.issue(amount="200.00")
    with h.unchanged(), pytest.raises(ledger_errors.CreditLineExceeded) as error:
        h.ledger.issue(
            h.core, h.t1.address, "300.01", h.maturity, h.new_document(), invoice_number=new_invoice_number()
        )
    assert error.value.fields == {"obligor": h.core.address, "limit": 50000, "outstanding": 20000, "amount": 30001}
    assert line(h).outstanding == Decimal("200.00")


def test_a_limit_below_what_is_outstanding_blocks_issuance_until_credit_comes_back(h):
    pending = h.issue(amount="400.00", accept=False)
    h.ledger.set_credit_limit(h.operator, h.core.address, Decimal("300.00"))
    assert line(h).available == Decimal("0.00")
    with h.unchanged(), pytest.raises(ledger_errors.CreditLineExceeded):
        h.ledger.issue(h.core, h.t1.address, "0.01", h.maturity, h.new_document(), invoice_number=new_invoice_number())
    h.ledger.cancel(h.core, pending)
    assert line(h).outstanding == Decimal("0.00")
    h.issue(amount="300.00")
    assert line(h).outstanding == Decimal("300.00")


def test_rejecting_gives_the_credit_back(h):
    cert_id = h.issue(amount="750.00", accept=False)
    h.issue(amount="250.00")
    h.ledger.reject(h.t1, cert_id)
    assert line(h).outstanding == Decimal("250.00")


def test_cancelling_gives_the_credit_back(h):
    cert_id = h.issue(amount="750.00", accept=False)
    h.ledger.cancel(h.core, cert_id)
    assert line(h).outstanding == Decimal("0.00")
