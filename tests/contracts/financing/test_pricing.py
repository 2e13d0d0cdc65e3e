"""Python's financing price is the desk's, to the fen, on random terms."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scf_chain.domain.money import MAX_MINOR_UNITS, from_minor_units
from scf_chain.domain.pricing import (
    RATE_SCALE,
    InvalidTerms,
    discount_interest_minor,
    financing_price,
    from_rate_units,
    to_rate_units,
)
from scf_chain.runtime import Runtime
from tests.contracts.financing.conftest import Desk

FACES = st.one_of(st.integers(1, 10_000), st.integers(1, 10**12), st.integers(1, MAX_MINOR_UNITS))
RATES = st.integers(0, RATE_SCALE)
BASES = st.sampled_from([360, 365])
DAYS = st.integers(1, 366)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(face=FACES, rate=RATES, basis=BASES, days=DAYS)
def test_python_and_the_desk_price_alike(runtime: Runtime, face: int, rate: int, basis: int, days: int):
    desk = runtime.ledger.desk
    try:
        interest = discount_interest_minor(face, rate, basis, days)
    except InvalidTerms:
        # The interest would eat the face value; the desk refuses the same terms.
        with pytest.raises(Exception, match="InterestNotBelowFace"):
            runtime.ledger.quote(from_minor_units(face), from_rate_units(rate), basis, days)
        return
    assert desk.functions.quote(face, rate, basis, days).call() == [interest, face - interest]
    assert financing_price(from_minor_units(face), from_rate_units(rate), basis, days) == (
        from_minor_units(interest),
        from_minor_units(face - interest),
    )


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    face=st.integers(1, 2 * 10**8),  # within the session consortium's credit line
    rate=st.integers(1, 20_000_000),
    basis=BASES,
    days=st.integers(1, 365),
    part=st.floats(0.1, 1.0),
)
def test_an_accepted_offer_pays_the_python_price(d: Desk, face: int, rate: int, basis: int, days: int, part: float):
    """On chain, through a real acceptance: the event's price and the money moved match Python's."""
    snapshot = d.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        certificate_id = d.issue(d.t1, from_minor_units(face), days=days)
        amount = max(1, int(face * part))
        d.fund(d.bank, from_minor_units(amount))
        result = d.ledger.accept_offer(
            d.t1, d.offer(certificate_id, rate=from_rate_units(rate), day_count=basis), from_minor_units(amount)
        )
        interest, price = financing_price(from_minor_units(amount), from_rate_units(rate), basis, days)
        assert (result.days, result.interest, result.price) == (days, interest, price)
        assert d.balance(d.t1) == price
    finally:
        d.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        d.runtime.sender.forget_nonces()


@pytest.mark.parametrize(
    ("rate", "units"),
    [("0.0385", 3_850_000), ("0", 0), ("1", 100_000_000), ("0.00000001", 1), (Decimal("0.12345678"), 12_345_678)],
)
def test_rates_convert_exactly(rate: str | Decimal, units: int):
    assert to_rate_units(rate) == units
    assert from_rate_units(units) == Decimal(rate)


@pytest.mark.parametrize("rate", ["0.123456789", "-0.01", "1.00000001", "NaN", "abc"])
def test_rates_out_of_range_or_too_precise_are_errors(rate: str):
    with pytest.raises(InvalidTerms):
        to_rate_units(rate)


@pytest.mark.parametrize(
    ("face", "day_count", "days"),
    [("100.00", 364, 30), ("100.00", 365, -1), ("0.00", 365, 30), ("100.001", 365, 30)],
)
def test_other_terms_out_of_range_are_errors(face: str, day_count: int, days: int):
    with pytest.raises(ValueError):
        financing_price(Decimal(face), Decimal("0.0385"), day_count, days)


def test_a_worked_example():
    # 1,000,000.00 at 3.85% on 365 for 90 days: 9,493.150684… -> 9,493.15
    assert financing_price(Decimal("1000000.00"), Decimal("0.0385"), 365, 90) == (
        Decimal("9493.15"),
        Decimal("990506.85"),
    )
