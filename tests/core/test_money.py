from decimal import Decimal

import pytest

from core.errors import InvalidInput
from core.money import format_money, parse_money, quantize_cents


def test_quantize_rounds_half_up():
    assert quantize_cents(Decimal("2.345")) == Decimal("2.35")
    assert quantize_cents(Decimal("-2.345")) == Decimal("-2.35")
    assert quantize_cents(Decimal("2.344")) == Decimal("2.34")


def test_floats_are_refused():
    with pytest.raises(TypeError):
        quantize_cents(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_money(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"), [("12", "12.00"), ("$1,234.50", "1234.50"), (" -3.1 ", "-3.10"), (7, "7.00")]
)
def test_parse_money_accepts_common_forms(raw, expected):
    assert parse_money(raw) == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("abc", "not an amount"),
        ("1.234", "more than two decimal places"),
        ("NaN", "not an amount"),
        ("1e20", "too large"),
    ],
)
def test_parse_money_names_the_field(raw, fragment):
    with pytest.raises(InvalidInput) as excinfo:
        parse_money(raw, field="max_amount")
    assert excinfo.value.field == "max_amount"
    assert excinfo.value.message.startswith("max_amount:")
    assert fragment in excinfo.value.message


def test_format_money():
    assert format_money(Decimal("-1234.5")) == "-$1,234.50"
    assert format_money(Decimal("0")) == "$0.00"
    assert format_money(None) == ""
