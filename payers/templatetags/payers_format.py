"""Display filters for the payer pages: money and fee schedule prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from core.money import format_money
from payers.fee_import import percent_text, price_text

register = template.Library()


@register.filter
def money(value: Decimal | None) -> str:
    """``Decimal("1250.5")`` → ``"$1,250.50"``; empty for None."""
    return format_money(value)


@register.filter
def percent(value: Decimal | None) -> str:
    """``Decimal("60.00")`` → ``"60%"``, ``Decimal("33.50")`` → ``"33.5%"``; empty for None."""
    return percent_text(value)


@register.filter
def fee_price(entry: Any) -> str:
    """A fee schedule entry's price: ``"$85.00"`` or ``"80.00% of charges"``."""
    return price_text(entry.allowed_amount, entry.percent_of_charges)
