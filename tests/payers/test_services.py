"""Services of the payer master: every change writes row history with a reason and a timeline
event, only admins change anything, and effective-dated rows never overlap."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.errors import Conflict, InvalidInput, InvalidTransition, NotPermitted
from payers import services
from payers.models import AppealLevel, Contract, FeeScheduleEntry, Payer, PayerRule, Plan
from tests.factories import PayerFactory, PlanFactory
from tests.payers.conftest import RULES_FROM
from tests.payers.helpers import events, last_event, last_history, state

pytestmark = pytest.mark.django_db

NOT_ADMINS = [
    "representative",
    "senior_representative",
    "posting_specialist",
    "appeals_coordinator",
    "supervisor",
]


# --- payers ------------------------------------------------------------------------------------


def test_admin_adds_a_payer_with_history_and_a_timeline_event(org, admin_user):
    payer = services.payer_create(
        organization=org,
        name="  Prairie Mutual ",
        kind=Payer.Kind.COMMERCIAL,
        edi_payer_id="PM001",
        portal_url="https://providers.prairie.example",
        claims_address="PO Box 1\nSpringfield IL",
        by=admin_user,
    )
    assert payer.name == "Prairie Mutual"
    record = last_history(payer)
    assert (record.history_type, record.history_change_reason, record.history_user) == (
        "+",
        "payer added",
        admin_user,
    )
    event = last_event(org, "payers.payer.created")
    assert event.subject == payer
    assert event.actor == admin_user


@pytest.mark.parametrize("who", [*NOT_ADMINS, "outsider"])
def test_only_admins_of_the_organization_add_payers(who, persona, org):
    with pytest.raises(NotPermitted):
        services.payer_create(
            organization=org, name="Nope Health", kind=Payer.Kind.COMMERCIAL, by=persona(who)
        )
    assert not Payer.objects.filter(organization=org).exists()
    assert not events(org).exists()


def test_a_second_payer_with_the_same_name_is_a_conflict_whatever_the_case(payer, org, admin_user):
    with pytest.raises(Conflict) as caught:
        services.payer_create(
            organization=org, name="PRAIRIE MUTUAL", kind=Payer.Kind.MEDICAID, by=admin_user
        )
    assert caught.value.field == "name"


def test_the_same_name_is_fine_in_another_organization(payer, other_org, outsider):
    other = services.payer_create(
        organization=other_org, name=payer.name, kind=Payer.Kind.COMMERCIAL, by=outsider
    )
    assert other.organization == other_org


def test_a_pbm_needs_a_six_digit_bin(org, admin_user):
    with pytest.raises(InvalidInput) as caught:
        services.payer_create(organization=org, name="Rx Co", kind=Payer.Kind.PBM, by=admin_user)
    assert caught.value.field == "bin"
    with pytest.raises(InvalidInput) as caught:
        services.payer_create(
            organization=org, name="Rx Co", kind=Payer.Kind.PBM, bin="12345X", by=admin_user
        )
    assert caught.value.field == "bin"
    pbm = services.payer_create(
        organization=org, name="Rx Co", kind=Payer.Kind.PBM, bin="610014", pcn="ADV", by=admin_user
    )
    assert (pbm.bin, pbm.pcn) == ("610014", "ADV")


def test_updating_a_payer_records_old_and_new_values_and_the_reason(payer, org, admin_user):
    services.payer_update(
        payer=payer,
        changes={"phone": "8005550199", "fax": "8005550100"},
        reason="new provider line",
        by=admin_user,
    )
    payer.refresh_from_db()
    assert (payer.phone, payer.fax) == ("8005550199", "8005550100")
    record = last_history(payer)
    assert (record.history_type, record.history_change_reason, record.history_user) == (
        "~",
        "new provider line",
        admin_user,
    )
    event = last_event(org, "payers.payer.updated")
    assert event.subject == payer
    assert event.data["reason"] == "new provider line"
    assert event.data["changes"]["phone"] == {"old": "8005550111", "new": "8005550199"}


def test_an_update_needs_a_reason_and_an_unchanged_payer_writes_nothing(payer, admin_user):
    with pytest.raises(InvalidInput) as caught:
        services.payer_update(payer=payer, changes={"phone": "1"}, reason=" ", by=admin_user)
    assert caught.value.field == "reason"
    before = state(payer)
    services.payer_update(payer=payer, changes={"phone": payer.phone}, reason="no-op", by=admin_user)
    assert state(payer) == before


def test_an_update_cannot_touch_fields_outside_the_payer_details(payer, admin_user):
    with pytest.raises(InvalidInput) as caught:
        services.payer_update(payer=payer, changes={"organization_id": 99}, reason="sneaky", by=admin_user)
    assert caught.value.field == "organization_id"


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_non_admins_cannot_change_or_deactivate_payers(who, persona, payer):
    before = state(payer)
    with pytest.raises(NotPermitted):
        services.payer_update(payer=payer, changes={"phone": "1"}, reason="x", by=persona(who))
    with pytest.raises(NotPermitted):
        services.payer_set_active(payer=payer, active=False, reason="x", by=persona(who))
    assert state(payer) == before


def test_deactivating_and_reactivating_a_payer(payer, org, admin_user):
    services.payer_set_active(payer=payer, active=False, reason="contract terminated", by=admin_user)
    payer.refresh_from_db()
    assert not payer.is_active
    assert last_history(payer).history_change_reason == "contract terminated"
    assert last_event(org, "payers.payer.deactivated").data == {"reason": "contract terminated"}
    before = state(payer)
    services.payer_set_active(payer=payer, active=False, reason="again", by=admin_user)
    assert state(payer) == before  # already inactive: nothing written
    services.payer_set_active(payer=payer, active=True, reason="renewed", by=admin_user)
    payer.refresh_from_db()
    assert payer.is_active
    assert last_event(org, "payers.payer.reactivated").subject == payer


# --- plans -------------------------------------------------------------------------------------


def test_plans_are_added_changed_and_deactivated_with_history(payer, org, admin_user):
    plan = services.plan_create(
        payer=payer, name="Choice PPO", group_number="G100", plan_type=Plan.PlanType.PPO, by=admin_user
    )
    assert plan.organization == org
    assert last_history(plan).history_change_reason == "plan added"
    assert last_event(org, "payers.plan.created").subject == payer

    services.plan_update(
        plan=plan, changes={"network": "out_of_network"}, reason="left network", by=admin_user
    )
    plan.refresh_from_db()
    assert plan.network == Plan.Network.OUT_OF_NETWORK
    assert last_history(plan).history_change_reason == "left network"
    assert last_event(org, "payers.plan.updated").data["changes"]["network"]["new"] == "out_of_network"

    services.plan_set_active(plan=plan, active=False, reason="product retired", by=admin_user)
    plan.refresh_from_db()
    assert not plan.is_active
    assert last_event(org, "payers.plan.deactivated").data["reason"] == "product retired"


def test_a_plan_twice_with_the_same_group_is_a_conflict(plan, payer, admin_user):
    with pytest.raises(Conflict):
        services.plan_create(payer=payer, name="choice ppo", group_number="G100", by=admin_user)
    # Another group number is another plan.
    services.plan_create(payer=payer, name="Choice PPO", group_number="G200", by=admin_user)


def test_no_plans_are_added_to_an_inactive_payer(payer, admin_user):
    services.payer_set_active(payer=payer, active=False, reason="terminated", by=admin_user)
    with pytest.raises(InvalidTransition):
        services.plan_create(payer=payer, name="Late plan", by=admin_user)


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_non_admins_cannot_add_or_change_plans(who, persona, payer, plan):
    with pytest.raises(NotPermitted):
        services.plan_create(payer=payer, name="Other", by=persona(who))
    with pytest.raises(NotPermitted):
        services.plan_update(plan=plan, changes={"name": "X"}, reason="x", by=persona(who))


# --- payer rules and appeal levels --------------------------------------------------------------


def test_a_rule_is_added_with_its_appeal_levels(rule, payer, org, admin_user):
    assert rule.organization == org
    levels = list(rule.appeal_levels.order_by("level").values_list("level", "name", "organization_id"))
    assert levels == [(1, "First-level appeal", org.pk), (2, "Second-level appeal", org.pk)]
    assert last_history(rule).history_change_reason == "payer rule added"
    level = rule.appeal_levels.get(level=1)
    assert last_history(level).history_user == admin_user
    event = last_event(org, "payers.rule.created")
    assert event.subject == payer
    assert event.data["timely_filing_days"] == 180
    assert event.data["appeal_levels"] == [1, 2]


def test_an_overlapping_rule_is_refused_and_nothing_is_written(rule, payer, org, admin_user):
    before = (PayerRule.objects.count(), AppealLevel.objects.count(), events(org).count())
    with pytest.raises(Conflict) as caught:
        services.payer_rule_create(
            payer=payer,
            effective_from=date(2026, 7, 1),
            timely_filing_days=90,
            corrected_claim_days=90,
            follow_up_days=30,
            appeal_levels=[{"name": "Appeal", "filing_days": 60, "decision_days": 30}],
            by=admin_user,
        )
    assert caught.value.field == "effective_from"
    assert "2024-01-01 on (no end date)" in caught.value.message
    assert (PayerRule.objects.count(), AppealLevel.objects.count(), events(org).count()) == before


def test_end_previous_ends_the_rule_in_force_the_day_before(rule, payer, org, admin_user):
    new = services.payer_rule_create(
        payer=payer,
        effective_from=date(2026, 7, 1),
        timely_filing_days=90,
        corrected_claim_days=90,
        follow_up_days=30,
        end_previous=True,
        by=admin_user,
    )
    rule.refresh_from_db()
    assert rule.effective_to == date(2026, 6, 30)
    assert last_history(rule).history_change_reason == "ended: new rules from 2026-07-01"
    assert payer.rule_on(date(2026, 6, 30)) == rule
    assert payer.rule_on(date(2026, 7, 1)) == new
    event = last_event(org, "payers.rule.created")
    assert event.data["ended_rule"]["new_effective_to"] == "2026-06-30"


def test_end_previous_never_moves_a_later_rule(rule, payer, admin_user):
    services.payer_rule_create(
        payer=payer,
        effective_from=date(2026, 7, 1),
        timely_filing_days=90,
        corrected_claim_days=90,
        follow_up_days=30,
        end_previous=True,
        by=admin_user,
    )
    # Open-ended rules from 2025 would run into the 2026 rules, which begin later: refused.
    with pytest.raises(Conflict):
        services.payer_rule_create(
            payer=payer,
            effective_from=date(2025, 1, 1),
            timely_filing_days=120,
            corrected_claim_days=90,
            follow_up_days=30,
            end_previous=True,
            by=admin_user,
        )


def test_rules_of_another_payer_do_not_overlap_these(rule, org, admin_user):
    second = PayerFactory(organization=org)
    services.payer_rule_create(
        payer=second,
        effective_from=RULES_FROM,
        timely_filing_days=365,
        corrected_claim_days=365,
        follow_up_days=45,
        by=admin_user,
    )


def test_rule_limits_must_be_positive_and_dates_ordered(payer, admin_user):
    base = {"payer": payer, "effective_from": RULES_FROM, "corrected_claim_days": 90, "follow_up_days": 30}
    with pytest.raises(InvalidInput) as caught:
        services.payer_rule_create(**base, timely_filing_days=0, by=admin_user)
    assert caught.value.field == "timely_filing_days"
    with pytest.raises(InvalidInput) as caught:
        services.payer_rule_create(
            **base, timely_filing_days=90, effective_to=date(2023, 1, 1), by=admin_user
        )
    assert caught.value.field == "effective_to"
    with pytest.raises(InvalidInput) as caught:
        services.payer_rule_create(
            **base,
            timely_filing_days=90,
            appeal_levels=[
                {"name": "A", "filing_days": 1, "decision_days": 1},
                {"level": 1, "name": "B", "filing_days": 1, "decision_days": 1},
            ],
            by=admin_user,
        )
    assert caught.value.field == "level"


def test_updating_a_rule_records_the_reason_and_refuses_overlaps(rule, payer, org, admin_user):
    services.payer_rule_update(
        rule=rule, changes={"timely_filing_days": 365}, reason="payer bulletin 2024-07", by=admin_user
    )
    rule.refresh_from_db()
    assert rule.timely_filing_days == 365
    assert last_history(rule).history_change_reason == "payer bulletin 2024-07"
    assert last_event(org, "payers.rule.updated").data["changes"]["timely_filing_days"] == {
        "old": 180,
        "new": 365,
    }

    later = services.payer_rule_create(
        payer=payer,
        effective_from=date(2026, 1, 1),
        timely_filing_days=90,
        corrected_claim_days=90,
        follow_up_days=30,
        end_previous=True,
        by=admin_user,
    )
    with pytest.raises(Conflict):
        services.payer_rule_update(
            rule=later, changes={"effective_from": date(2025, 6, 1)}, reason="typo", by=admin_user
        )


def test_appeal_levels_are_added_changed_and_removed_with_history(rule, org, admin_user):
    third = services.appeal_level_add(
        rule=rule, name="External review", filing_days=120, decision_days=45, by=admin_user
    )
    assert third.level == 3
    assert last_event(org, "payers.appeal_level.added").data["level"] == 3

    with pytest.raises(Conflict):
        services.appeal_level_add(
            rule=rule, level=2, name="Dup", filing_days=1, decision_days=1, by=admin_user
        )

    services.appeal_level_update(
        appeal_level=third, changes={"decision_days": 60}, reason="state law changed", by=admin_user
    )
    third.refresh_from_db()
    assert third.decision_days == 60
    assert last_history(third).history_change_reason == "state law changed"

    with pytest.raises(Conflict):
        services.appeal_level_update(appeal_level=third, changes={"level": 1}, reason="x", by=admin_user)

    reference = third.reference
    services.appeal_level_remove(appeal_level=third, reason="entered by mistake", by=admin_user)
    assert not AppealLevel.objects.filter(reference=reference).exists()
    removal = AppealLevel.history.filter(reference=reference).order_by("-history_id").first()
    assert (removal.history_type, removal.history_change_reason, removal.history_user) == (
        "-",
        "entered by mistake",
        admin_user,
    )
    assert last_event(org, "payers.appeal_level.removed").data["reason"] == "entered by mistake"


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_non_admins_cannot_change_rules_or_appeal_levels(who, persona, rule, payer):
    user = persona(who)
    level = rule.appeal_levels.first()
    with pytest.raises(NotPermitted):
        services.payer_rule_create(
            payer=payer,
            effective_from=date(2030, 1, 1),
            timely_filing_days=1,
            corrected_claim_days=1,
            follow_up_days=1,
            by=user,
        )
    with pytest.raises(NotPermitted):
        services.payer_rule_update(rule=rule, changes={"follow_up_days": 5}, reason="x", by=user)
    with pytest.raises(NotPermitted):
        services.appeal_level_add(rule=rule, name="X", filing_days=1, decision_days=1, by=user)
    with pytest.raises(NotPermitted):
        services.appeal_level_remove(appeal_level=level, reason="x", by=user)


# --- contracts and fee schedule entries ------------------------------------------------------------


def test_contracts_are_added_and_changed_with_history(contract, payer, org, admin_user):
    assert contract.default_percent_of_charges == Decimal("60.00")
    assert last_history(contract).history_change_reason == "contract added"
    assert last_event(org, "payers.contract.created").subject == payer
    services.contract_update(
        contract=contract,
        changes={"variance_tolerance": "2.50", "default_percent_of_charges": "65%"},
        reason="amendment 1",
        by=admin_user,
    )
    contract.refresh_from_db()
    assert (contract.variance_tolerance, contract.default_percent_of_charges) == (
        Decimal("2.50"),
        Decimal("65.00"),
    )
    event = last_event(org, "payers.contract.updated")
    assert event.data["changes"]["variance_tolerance"] == {"old": "1.00", "new": "2.50"}
    assert event.data["reason"] == "amendment 1"


def test_contracts_of_the_same_scope_do_not_overlap_but_a_plan_contract_may_sit_inside_a_payer_wide_one(
    contract, payer, plan, admin_user
):
    with pytest.raises(Conflict):
        services.contract_create(
            payer=payer, name="Duplicate", effective_from=date(2025, 1, 1), by=admin_user
        )
    plan_contract = services.contract_create(
        payer=payer, plan=plan, name="Choice PPO carve-out", effective_from=date(2025, 1, 1), by=admin_user
    )
    assert plan_contract.plan == plan
    renewal = services.contract_create(
        payer=payer,
        name="Prairie Mutual 2026",
        effective_from=date(2026, 1, 1),
        end_previous=True,
        by=admin_user,
    )
    contract.refresh_from_db()
    assert contract.effective_to == date(2025, 12, 31)
    assert renewal.effective_to is None


def test_a_contract_cannot_name_another_payers_plan(payer, org, admin_user):
    foreign_plan = PlanFactory(organization=org, payer=PayerFactory(organization=org))
    with pytest.raises(InvalidInput) as caught:
        services.contract_create(
            payer=payer, plan=foreign_plan, name="Wrong", effective_from=RULES_FROM, by=admin_user
        )
    assert caught.value.field == "plan"


def test_a_fee_entry_has_exactly_one_price_and_normalized_codes(contract, org, admin_user):
    base = {"contract": contract, "effective_from": date(2024, 1, 1), "by": admin_user}
    with pytest.raises(InvalidInput) as caught:
        services.fee_schedule_entry_create(code="99213", **base)
    assert caught.value.field == "allowed_amount"
    with pytest.raises(InvalidInput):
        services.fee_schedule_entry_create(code="99213", allowed_amount="85", percent_of_charges="50", **base)
    with pytest.raises(InvalidInput) as caught:
        services.fee_schedule_entry_create(code="99213", allowed_amount="-1.00", **base)
    assert caught.value.field == "allowed_amount"
    with pytest.raises(InvalidInput) as caught:
        services.fee_schedule_entry_create(code="99213", percent_of_charges="120", **base)
    assert caught.value.field == "percent_of_charges"
    entry = services.fee_schedule_entry_create(
        code=" j1885 ", modifier="jw", allowed_amount="$1,250.5", **base
    )
    assert (entry.code, entry.modifier, entry.allowed_amount) == ("J1885", "JW", Decimal("1250.50"))
    assert last_history(entry).history_change_reason == "fee schedule entry added"
    assert last_event(org, "payers.fee_entry.created").summary.endswith("$1,250.50 from 2024-01-01")


def test_a_fee_entry_must_start_inside_its_contract(contract, admin_user):
    with pytest.raises(InvalidInput) as caught:
        services.fee_schedule_entry_create(
            contract=contract,
            code="99213",
            allowed_amount="85",
            effective_from=date(2023, 12, 31),
            by=admin_user,
        )
    assert caught.value.field == "effective_from"
    assert "before the contract starts" in caught.value.message


def test_prices_of_one_code_and_modifier_do_not_overlap(contract, admin_user):
    old = services.fee_schedule_entry_create(
        contract=contract, code="99213", allowed_amount="85", effective_from=date(2024, 1, 1), by=admin_user
    )
    with pytest.raises(Conflict):
        services.fee_schedule_entry_create(
            contract=contract,
            code="99213",
            allowed_amount="90",
            effective_from=date(2025, 1, 1),
            by=admin_user,
        )
    # The same code with a modifier is another price.
    services.fee_schedule_entry_create(
        contract=contract,
        code="99213",
        modifier="25",
        allowed_amount="95",
        effective_from=date(2025, 1, 1),
        by=admin_user,
    )
    services.fee_schedule_entry_create(
        contract=contract,
        code="99213",
        allowed_amount="90",
        effective_from=date(2025, 1, 1),
        end_previous=True,
        by=admin_user,
    )
    old.refresh_from_db()
    assert old.effective_to == date(2024, 12, 31)
    assert FeeScheduleEntry.objects.filter(contract=contract).count() == 3


def test_updating_a_fee_entry_records_the_old_and_new_price(contract, org, admin_user):
    entry = services.fee_schedule_entry_create(
        contract=contract, code="99213", allowed_amount="85", effective_from=date(2024, 1, 1), by=admin_user
    )
    services.fee_schedule_entry_update(
        entry=entry, changes={"allowed_amount": "87.25"}, reason="amendment 2", by=admin_user
    )
    entry.refresh_from_db()
    assert entry.allowed_amount == Decimal("87.25")
    assert last_history(entry).history_change_reason == "amendment 2"
    data = last_event(org, "payers.fee_entry.updated").data
    assert data["changes"]["allowed_amount"] == {"old": "85.00", "new": "87.25"}
    with pytest.raises(InvalidInput):
        services.fee_schedule_entry_update(entry=entry, changes={"code": "99214"}, reason="x", by=admin_user)


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_non_admins_cannot_change_contracts_or_prices(who, persona, payer, contract):
    user = persona(who)
    with pytest.raises(NotPermitted):
        services.contract_create(payer=payer, name="X", effective_from=date(2030, 1, 1), by=user)
    with pytest.raises(NotPermitted):
        services.contract_update(contract=contract, changes={"name": "Y"}, reason="x", by=user)
    with pytest.raises(NotPermitted):
        services.fee_schedule_entry_create(
            contract=contract, code="99213", allowed_amount="1", effective_from=date(2024, 1, 1), by=user
        )
    assert not Contract.objects.exclude(pk=contract.pk).exists()
