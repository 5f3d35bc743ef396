"""A patient's out-of-pocket estimate from a benefit investigation.

For each service, in the order given:

1. the deductible still to meet is paid first, up to the service's amount;
2. of what is left, the patient pays the coinsurance percentage;
3. then the per-service copay, never more than what is left after coinsurance;
4. the patient's share is capped at what remains of the out-of-pocket maximum, which
   each service uses up (the cap takes off the copay first, then coinsurance, then
   deductible, so the parts always add up to the share).

A plan that is not active pays nothing: the patient owes every amount, uncapped.
Money is ``Decimal`` throughout, rounded to cents once per part (``core.money``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.money import ZERO, quantize_cents

HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Service:
    description: str
    amount: Decimal
    code: str = ""


@dataclass(frozen=True)
class LineSplit:
    service: Service
    deductible: Decimal
    coinsurance: Decimal
    copay: Decimal

    @property
    def patient(self) -> Decimal:
        return self.deductible + self.coinsurance + self.copay


@dataclass(frozen=True)
class Estimate:
    lines: list[LineSplit]
    capped: bool

    @property
    def total(self) -> Decimal:
        return sum((line.service.amount for line in self.lines), ZERO)

    @property
    def deductible(self) -> Decimal:
        return sum((line.deductible for line in self.lines), ZERO)

    @property
    def coinsurance(self) -> Decimal:
        return sum((line.coinsurance for line in self.lines), ZERO)

    @property
    def copay(self) -> Decimal:
        return sum((line.copay for line in self.lines), ZERO)

    @property
    def patient(self) -> Decimal:
        return sum((line.patient for line in self.lines), ZERO)

    @property
    def plan_pays(self) -> Decimal:
        return self.total - self.patient


def _cap(parts: list[Decimal], room: Decimal) -> list[Decimal]:
    """Take the excess over ``room`` off the parts from the last (copay) to the first (deductible)."""
    excess = sum(parts, ZERO) - room
    capped = list(parts)
    for index in reversed(range(len(capped))):
        if excess <= ZERO:
            break
        cut = min(capped[index], excess)
        capped[index] -= cut
        excess -= cut
    return capped


def estimate_out_of_pocket(
    *,
    services: list[Service],
    plan_active: bool,
    deductible_remaining: Decimal,
    coinsurance_percent: Decimal,
    copay: Decimal,
    out_of_pocket_remaining: Decimal,
) -> Estimate:
    if not services:
        raise ValueError("an estimate needs at least one service")
    if not plan_active:
        return Estimate([LineSplit(s, quantize_cents(s.amount), ZERO, ZERO) for s in services], capped=False)
    deductible_left = max(deductible_remaining, ZERO)
    room = max(out_of_pocket_remaining, ZERO)
    lines = []
    capped = False
    for service in services:
        amount = quantize_cents(service.amount)
        deductible = min(amount, deductible_left)
        rest = amount - deductible
        coinsurance = quantize_cents(rest * coinsurance_percent / HUNDRED)
        copay_part = min(max(copay, ZERO), rest - coinsurance)
        parts = [deductible, coinsurance, copay_part]
        if sum(parts, ZERO) > room:
            parts = _cap(parts, room)
            capped = True
        line = LineSplit(service, *parts)
        deductible_left -= deductible  # the deductible met counts even when the cap then applies
        room -= line.patient
        lines.append(line)
    return Estimate(lines, capped)
