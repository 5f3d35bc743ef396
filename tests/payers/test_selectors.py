"""``contract_for`` and ``expected_allowed``: what the contract says a payer should allow for a service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from payers.selectors import contract_for, expected_allowed
from tests.factories import ContractFactory, FeeScheduleEntryFactory, PayerFactory, PlanFactory

pytestmark = pytest.mark.django_db

ON = date(2026, 5, 4)
CHARGE = Decimal("200.00")


@pytest.fixture
def payer(org):
    return PayerFactory(organization=org)


@pytest.fixture
def plan(payer):
    return PlanFactory(payer=payer, organization=payer.organization)


@pytest.fixture
def payer_wide(payer):
    return ContractFactory(
        payer=payer,
        organization=payer.organization,
        effective_from=date(2026, 1, 1),
        default_percent_of_charges=Decimal("50"),
    )


def price(contract, code="99213", modifier="", amount=None, percent=None, start=date(2026, 1, 1), end=None):
    return FeeScheduleEntryFactory(
        contract=contract,
        organization=contract.organization,
        code=code,
        modifier=modifier,
        allowed_amount=amount,
        percent_of_charges=percent,
        effective_from=start,
        effective_to=end,
    )


def allowed(payer, plan=None, code="99213", modifier="", on=ON, charge=CHARGE):
    return expected_allowed(
        payer_id=payer.pk,
        plan_id=plan.pk if plan else None,
        code=code,
        modifier=modifier,
        on=on,
        charge_amount=charge,
    )


def test_code_with_modifier_beats_the_code_alone(payer, payer_wide):
    price(payer_wide, amount=Decimal("85.00"))
    price(payer_wide, modifier="25", amount=Decimal("95.00"))
    assert allowed(payer, modifier="25") == Decimal("95.00")
    assert allowed(payer) == Decimal("85.00")
    # A modifier without its own price falls back to the code's price.
    assert allowed(payer, modifier="59") == Decimal("85.00")


def test_codes_and_modifiers_are_matched_whatever_their_case(payer, payer_wide):
    price(payer_wide, code="J1885", modifier="JW", amount=Decimal("12.00"))
    assert allowed(payer, code=" j1885", modifier="jw") == Decimal("12.00")


def test_a_percent_of_charges_entry_is_rounded_to_cents(payer, payer_wide):
    price(payer_wide, code="80053", percent=Decimal("33.33"))
    assert allowed(payer, code="80053", charge=Decimal("100.05")) == Decimal("33.35")


def test_unlisted_codes_use_the_contracts_default_percent(payer, payer_wide):
    assert allowed(payer, code="70553") == Decimal("100.00")


def test_no_default_percent_and_no_entry_means_unknown(payer):
    ContractFactory(payer=payer, organization=payer.organization, effective_from=date(2026, 1, 1))
    assert allowed(payer, code="70553") is None


def test_no_contract_in_force_means_unknown(payer, payer_wide):
    price(payer_wide, amount=Decimal("85.00"))
    assert allowed(payer, on=date(2025, 12, 31)) is None
    assert allowed(PayerFactory(organization=payer.organization)) is None


def test_a_plan_specific_contract_beats_the_payer_wide_one(payer, plan, payer_wide):
    price(payer_wide, amount=Decimal("85.00"))
    plan_contract = ContractFactory(
        payer=payer, organization=payer.organization, plan=plan, effective_from=date(2026, 3, 1)
    )
    price(plan_contract, amount=Decimal("110.00"), start=date(2026, 3, 1))
    assert contract_for(payer_id=payer.pk, plan_id=plan.pk, on=ON) == plan_contract
    assert allowed(payer, plan) == Decimal("110.00")
    # Before the plan's contract starts, and for other plans, the payer-wide contract applies.
    assert allowed(payer, plan, on=date(2026, 2, 1)) == Decimal("85.00")
    other_plan = PlanFactory(payer=payer, organization=payer.organization)
    assert allowed(payer, other_plan) == Decimal("85.00")
    assert contract_for(payer_id=payer.pk, plan_id=None, on=ON) == payer_wide


def test_the_price_in_force_on_the_date_of_service_applies(payer, payer_wide):
    price(payer_wide, amount=Decimal("85.00"), start=date(2026, 1, 1), end=date(2026, 6, 30))
    price(payer_wide, amount=Decimal("88.00"), start=date(2026, 7, 1))
    assert allowed(payer, on=date(2026, 6, 30)) == Decimal("85.00")
    assert allowed(payer, on=date(2026, 7, 1)) == Decimal("88.00")


def test_an_ended_contract_gives_way_to_its_renewal(payer, payer_wide):
    payer_wide.effective_to = date(2026, 6, 30)
    payer_wide.save(update_fields=["effective_to"])
    renewal = ContractFactory(payer=payer, organization=payer.organization, effective_from=date(2026, 7, 1))
    price(renewal, amount=Decimal("91.00"), start=date(2026, 7, 1))
    price(payer_wide, amount=Decimal("85.00"))
    assert allowed(payer, on=date(2026, 6, 30)) == Decimal("85.00")
    assert allowed(payer, on=date(2026, 7, 2)) == Decimal("91.00")
