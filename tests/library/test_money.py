"""Amounts convert exactly at any size the ledger holds, and only in their one written form."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scf_chain.domain.errors import InvalidAmount
from scf_chain.domain.money import MAX_LEDGER_MINOR_UNITS, format_amount, from_minor_units, to_minor_units

minor_units = st.integers(min_value=0, max_value=MAX_LEDGER_MINOR_UNITS)


@given(minor_units)
def test_text_and_minor_units_round_trip_exactly(minor):
    # Before: Decimal's 28-digit context rounded 30 digits and more, silently or with InvalidOperation.
    text = f"{minor // 100}.{minor % 100:02d}"
    assert to_minor_units(text) == minor
    assert str(from_minor_units(minor)) == text
    assert to_minor_units(from_minor_units(minor)) == minor
    assert format_amount(minor).replace(",", "") == text


def test_thirty_digits_are_not_rounded():
    assert to_minor_units("1234567890123456789012345678.99") == 123456789012345678901234567899


@pytest.mark.parametrize(
    "text",
    ["1e6", "1E2", " 5", "5 ", "5.", ".5", "+5", "-5", "-0.00", "NaN", "Infinity", "1.000", "1.005", "", "\u0661"],
)
def test_only_the_documented_form_is_an_amount(text):
    with pytest.raises(InvalidAmount):
        to_minor_units(text)


@pytest.mark.parametrize("value", ["9" * 80, "9" * 5000, Decimal("1e400"), Decimal("NaN"), Decimal("1.005")])
def test_what_no_ledger_field_holds_is_refused_before_any_arithmetic(value):
    with pytest.raises(InvalidAmount):
        to_minor_units(value)


def test_decimals_convert_exactly_when_they_are_whole_fen():
    assert to_minor_units(Decimal("1.000")) == 100
    assert to_minor_units(Decimal("1E+6")) == 100_000_000
    assert to_minor_units(Decimal("0E-99999")) == 0
    assert to_minor_units(Decimal("-1.20")) == -120  # the library's own arithmetic may be negative
