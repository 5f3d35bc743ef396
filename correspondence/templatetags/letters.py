"""Filters for letter templates, built into the letter engine: templates use them without a load tag."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from core.money import format_money

register = template.Library()


@register.filter
def money(value: Any) -> Any:
    """``Decimal("-1234.5")`` → ``-$1,234.50``; anything that is not an amount is left as it is."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return format_money(Decimal(value))
    return value
