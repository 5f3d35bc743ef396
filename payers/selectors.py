"""Reads that combine payer data for other apps: the contract price of a service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Q

from core.money import quantize_cents
from payers.models import Contract, FeeScheduleEntry


def contract_for(*, payer_id: int, plan_id: int | None, on: date) -> Contract | None:
    """The contract in force on ``on``: one for the plan wins over one for the whole payer."""
    return (
        Contract.objects.filter(payer_id=payer_id)
        .filter(Q(plan_id=plan_id) | Q(plan__isnull=True))
        .effective_on(on)
        .order_by("plan_id", "-effective_from")  # NULLS LAST in ascending order: plan-specific first
        .first()
    )


def expected_allowed(
    *, payer_id: int, plan_id: int | None, code: str, modifier: str, on: date, charge_amount: Decimal
) -> Decimal | None:
    """What the contract says the payer should allow for a service, or None when no contract says.

    The fee schedule entry for code + modifier wins, then the code without a modifier,
    then the contract's percentage of charges.
    """
    contract = contract_for(payer_id=payer_id, plan_id=plan_id, on=on)
    if contract is None:
        return None
    entries = {
        entry.modifier: entry
        for entry in FeeScheduleEntry.objects.filter(
            contract=contract, code=code, modifier__in={modifier, ""}
        )
        .effective_on(on)
        .order_by("effective_from")
    }
    entry = entries.get(modifier) or entries.get("")
    if entry is not None:
        if entry.allowed_amount is not None:
            return entry.allowed_amount
        return quantize_cents(charge_amount * entry.percent_of_charges / Decimal(100))
    if contract.default_percent_of_charges is not None:
        return quantize_cents(charge_amount * contract.default_percent_of_charges / Decimal(100))
    return None
