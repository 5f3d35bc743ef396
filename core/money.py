"""Money helpers. Money is ``Decimal`` end to end; rounding happens here and nowhere else."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

from core.errors import InvalidInput

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_DIGITS = 14
DECIMAL_PLACES = 2


def quantize_cents(value: Decimal) -> Decimal:
    """Round to cents, half up (the one rounding rule of the project)."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(raw: str | int | Decimal, *, field: str = "amount") -> Decimal:
    """Parse user or file input into cents. Raises ``InvalidInput`` naming ``field``."""
    if isinstance(raw, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    text = str(raw).strip().replace(",", "").replace("$", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{field}: {str(raw)!r} is not an amount of money", field=field) from None
    if not value.is_finite():
        raise InvalidInput(f"{field}: {str(raw)!r} is not an amount of money", field=field)
    if value.as_tuple().exponent < -DECIMAL_PLACES:  # type: ignore[operator]
        raise InvalidInput(f"{field}: {str(raw)!r} has more than two decimal places", field=field)
    if abs(value) >= Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES):
        raise InvalidInput(f"{field}: {str(raw)!r} is too large", field=field)
    return quantize_cents(value)


def format_money(value: Decimal | None) -> str:
    """``Decimal("-1234.5")`` → ``"-$1,234.50"``."""
    if value is None:
        return ""
    value = quantize_cents(value)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


class MoneyField(models.DecimalField):
    """``DecimalField(max_digits=14, decimal_places=2)``, the one money column type."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        super().__init__(*args, **kwargs)
