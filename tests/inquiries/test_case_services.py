"""Case services: opening, every transition allowed and refused, contacts, callbacks, and the audit rows
(row history with a reason, and the case timeline) each one writes."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

import pytest

from core.errors import InvalidInput, InvalidTransition, NotPermitted
from core.timeline import timeline_for
from inquiries import servicelevels
from inquiries.models import Callback, Case, Interaction, Referral, ServiceLevel
from inquiries.services import cases as services
from staff.calendar import calendar_for
from staff.models import OrganizationClosure
from tests.factories import AccountFactory
from tests.factories.inquiries import CaseFactory, DepartmentFactory, ScriptFactory

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
# A Wednesday morning in the organization's zone.
NOW = datetime(2026, 11, 4, 9, 30, tzinfo=CHICAGO)


def kinds(case: Case) -> list[str]:
    return list(timeline_for(case).order_by("occurred_at", "id").values_list("kind", flat=True))


def last_reason(obj) -> str:
    return obj.history.order_by("-history_id").first().history_change_reason


@pytest.fixture
def account(org):
    return AccountFactory(patient__organization=org)


@pytest.fixture
def case(account, rep):
    return services.case_open(
        organization=account.organization,
        by=rep,
        channel=Case.Channel.PHONE_INBOUND,
        category=Case.Category.BILLING_QUESTION,
        caller_type=Case.CallerType.PATIENT,
        summary="Asks why the bill went up",
        account=account,
        now=NOW,
    )


# --- opening ---------------------------------------------------------------------------------------


def test_it_opens_a_case_on_an_account_with_a_number_due_times_history_and_timeline(case, account, rep):
    assert len(case.number) == 6 and case.status == Case.Status.NEW
    assert case.patient == account.patient and case.assigned_to == rep
    # Default normal priority: 24 business hours to first response, 120 to resolution.
    assert case.first_response_due_at == datetime(2026, 11, 5, 9, 30, tzinfo=CHICAGO)
    assert case.due_at == datetime(2026, 11, 12, 9, 30, tzinfo=CHICAGO)  # Veterans Day (11/11) skipped
    assert kinds(case) == ["inquiries.case.opened"]
    assert last_reason(case) == "case opened"
    assert case.subject_token == f"[Case #{case.number}]"


def test_the_most_specific_service_level_sets_the_due_times(org, account, rep):
    ServiceLevel.objects.create(organization=org, first_response_hours=8, resolution_hours=40)
    ServiceLevel.objects.create(
        organization=org, category="payment_plan", priority="", first_response_hours=2, resolution_hours=16
    )
    opened = services.case_open(
        organization=org,
        by=rep,
        channel="phone_inbound",
        category="payment_plan",
        caller_type="patient",
        summary="Wants a plan",
        account=account,
        now=NOW,
    )
    assert opened.first_response_due_at == NOW + timedelta(hours=2)
    assert opened.due_at == datetime(2026, 11, 5, 1, 30, tzinfo=CHICAGO)
    other = services.case_open(
        organization=org,
        by=rep,
        channel="phone_inbound",
        category="payment",
        caller_type="patient",
        summary="Paid twice",
        account=account,
        now=NOW,
    )
    assert other.first_response_due_at == NOW + timedelta(hours=8)


def test_service_hours_skip_weekends_holidays_and_closures(org):
    OrganizationClosure.objects.create(
        organization=org, date=date(2026, 11, 27), reason="Day after Thanksgiving"
    )
    calendar = calendar_for(org, around=date(2026, 11, 20))
    friday = datetime(2026, 11, 20, 15, 0, tzinfo=CHICAGO)
    assert servicelevels.add_business_hours(friday, 24, calendar, CHICAGO) == datetime(
        2026, 11, 23, 15, 0, tzinfo=CHICAGO
    )
    wednesday = datetime(2026, 11, 25, 15, 0, tzinfo=CHICAGO)
    # Thanksgiving (federal) and the organization's closure the day after are skipped.
    assert servicelevels.add_business_hours(wednesday, 24, calendar, CHICAGO) == datetime(
        2026, 11, 30, 15, 0, tzinfo=CHICAGO
    )
    saturday = datetime(2026, 11, 21, 10, 0, tzinfo=CHICAGO)
    assert servicelevels.add_business_hours(saturday, 4, calendar, CHICAGO) == datetime(
        2026, 11, 23, 4, 0, tzinfo=CHICAGO
    )


def test_a_complaint_is_referred_to_appeals_and_grievances_at_once(org, account, rep):
    case = services.case_open(
        organization=org,
        by=rep,
        channel="phone_inbound",
        category=Case.Category.COMPLAINT_GRIEVANCE,
        caller_type="patient",
        summary="Rude front desk and a wrong bill",
        account=account,
        now=NOW,
    )
    referral = Referral.objects.get(case=case)
    assert referral.kind == Referral.Kind.GRIEVANCE and referral.status == Referral.Status.OPEN
    assert kinds(case) == ["inquiries.case.opened", "inquiries.case.referred"]


def test_changing_a_case_to_a_grievance_refers_it(case, rep):
    services.case_update(
        case=case, changes={"category": "complaint_grievance"}, reason="Caller wants to complain", by=rep
    )
    assert Referral.objects.filter(case=case, kind="grievance").count() == 1
    assert kinds(case)[-2:] == ["inquiries.case.updated", "inquiries.case.referred"]
    assert last_reason(case) == "Caller wants to complain"


@pytest.mark.parametrize("who", ["posting_specialist", "outsider"])
def test_only_case_workers_of_the_organization_open_cases(who, persona, org, account):
    with pytest.raises(NotPermitted):
        services.case_open(
            organization=org,
            by=persona(who),
            channel="phone_inbound",
            category="other",
            caller_type="patient",
            summary="x",
            account=account,
        )


def test_it_refuses_a_subject_whose_parts_disagree_or_belong_elsewhere(org, other_org, account, rep):
    stranger = AccountFactory(patient__organization=org)
    with pytest.raises(InvalidInput) as exc:
        services.case_open(
            organization=org,
            by=rep,
            channel="phone_inbound",
            category="other",
            caller_type="patient",
            summary="x",
            patient=account.patient,
            account=stranger,
        )
    assert exc.value.field == "account"
    elsewhere = AccountFactory(patient__organization=other_org)
    with pytest.raises(InvalidInput) as exc:
        services.case_open(
            organization=org,
            by=rep,
            channel="phone_inbound",
            category="other",
            caller_type="patient",
            summary="x",
            account=elsewhere,
        )
    assert "another organization" in exc.value.message
    assert not Case.objects.exists()


def test_a_blank_summary_is_refused_and_nothing_is_written(org, rep):
    with pytest.raises(InvalidInput) as exc:
        services.case_open(
            organization=org,
            by=rep,
            channel="phone_inbound",
            category="other",
            caller_type="other",
            summary=" ",
        )
    assert exc.value.field == "summary"
    assert not Case.objects.exists()


# --- transitions ---------------------------------------------------------------------------------


def test_pend_needs_a_future_business_day_and_a_reason(case, rep):
    with pytest.raises(InvalidInput) as exc:
        services.case_pend(case=case, follow_up_on=date(2026, 11, 10), reason=" ", by=rep, now=NOW)
    assert exc.value.field == "pend_reason"
    with pytest.raises(InvalidInput) as exc:
        services.case_pend(case=case, follow_up_on=date(2026, 11, 4), reason="Waiting", by=rep, now=NOW)
    assert "after today" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        services.case_pend(case=case, follow_up_on=date(2026, 11, 7), reason="Waiting", by=rep, now=NOW)
    assert "11/07/2026 is not a business day (weekend); the next one is 11/09/2026" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        services.case_pend(case=case, follow_up_on=date(2026, 11, 11), reason="Waiting", by=rep, now=NOW)
    assert "Veterans Day" in exc.value.message
    case.refresh_from_db()
    assert case.status == Case.Status.NEW


def test_pend_records_the_follow_up_date_and_reason(case, rep):
    services.case_pend(
        case=case, follow_up_on=date(2026, 11, 10), reason="Waiting for the EOB", by=rep, now=NOW
    )
    case.refresh_from_db()
    assert case.status == Case.Status.PENDED
    assert case.follow_up_on == date(2026, 11, 10) and case.pend_reason == "Waiting for the EOB"
    assert kinds(case)[-1] == "inquiries.case.pended"
    assert last_reason(case) == "Waiting for the EOB"
    event = timeline_for(case).get(kind="inquiries.case.pended")
    assert event.data["old"] == "new" and event.data["follow_up_on"] == "2026-11-10"


def test_resolve_then_close_then_only_a_supervisor_reopens(case, rep, supervisor):
    with pytest.raises(InvalidTransition):
        services.case_close(case=case, by=rep)
    with pytest.raises(InvalidInput):
        services.case_resolve(case=case, resolution="", by=rep)
    services.case_resolve(case=case, resolution="Explained the coinsurance", by=rep)
    with pytest.raises(InvalidTransition):
        services.case_pend(case=case, follow_up_on=date(2026, 11, 10), reason="x", by=rep, now=NOW)
    services.case_close(case=case, by=rep)
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.closed_at is not None
    with pytest.raises(NotPermitted):
        services.case_reopen(case=case, reason="Caller called back", by=rep)
    services.case_reopen(case=case, reason="Caller called back", by=supervisor)
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS and case.closed_at is None and case.resolved_at is None
    assert kinds(case)[-3:] == ["inquiries.case.resolved", "inquiries.case.closed", "inquiries.case.reopened"]


def test_a_resolved_case_is_reopened_by_a_representative(case, rep):
    services.case_resolve(case=case, resolution="Done", by=rep)
    with pytest.raises(InvalidInput):
        services.case_reopen(case=case, reason="", by=rep)
    services.case_reopen(case=case, reason="Bill still wrong", by=rep)
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS
    with pytest.raises(InvalidTransition):
        services.case_reopen(case=case, reason="again", by=rep)


def test_transfer_needs_an_active_department_of_the_organization(case, rep, org, other_org):
    elsewhere = DepartmentFactory(organization=other_org)
    with pytest.raises(InvalidInput):
        services.case_transfer(case=case, department=elsewhere, reason="UM question", by=rep)
    closed = DepartmentFactory(organization=org, is_active=False)
    with pytest.raises(InvalidInput):
        services.case_transfer(case=case, department=closed, reason="UM question", by=rep)
    um = DepartmentFactory(organization=org, name="Utilization management")
    with pytest.raises(InvalidInput):
        services.case_transfer(case=case, department=um, reason="", by=rep)
    services.case_transfer(case=case, department=um, reason="Provider asks about an authorization", by=rep)
    case.refresh_from_db()
    assert case.status == Case.Status.TRANSFERRED and case.department == um
    event = timeline_for(case).get(kind="inquiries.case.transferred")
    assert event.summary == "Transferred to Utilization management: Provider asks about an authorization"
    assert last_reason(case) == "Provider asks about an authorization"


def test_escalate_records_the_reason_and_unassigns(case, rep, supervisor):
    services.case_escalate(case=case, reason="Caller asks for a supervisor", by=rep)
    case.refresh_from_db()
    assert case.status == Case.Status.ESCALATED and case.assigned_to is None
    with pytest.raises(InvalidTransition):
        services.case_escalate(case=case, reason="again", by=rep)
    services.case_start(case=case, by=supervisor)
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS and case.assigned_to == supervisor
    assert kinds(case)[-2:] == ["inquiries.case.escalated", "inquiries.case.started"]


def test_refer_puts_an_appeal_request_in_the_queue_once(case, rep):
    referral = services.case_refer(case=case, kind="appeal", reason="Wants to appeal the denial", by=rep)
    assert referral.status == "open"
    with pytest.raises(InvalidInput):
        services.case_refer(case=case, kind="appeal", reason="again", by=rep)
    assert kinds(case)[-1] == "inquiries.case.referred"


@pytest.mark.parametrize("who", ["posting_specialist", "outsider"])
def test_non_case_workers_cannot_move_a_case(who, persona, case):
    user = persona(who)
    for call in (
        lambda: services.case_resolve(case=case, resolution="x", by=user),
        lambda: services.case_escalate(case=case, reason="x", by=user),
        lambda: services.case_pend(case=case, follow_up_on=date(2026, 11, 10), reason="x", by=user, now=NOW),
    ):
        with pytest.raises(NotPermitted):
            call()
    case.refresh_from_db()
    assert case.status == Case.Status.NEW


def test_a_transition_rechecks_the_state_under_the_lock(case, rep, monkeypatch):
    # Someone else resolves the case after this caller loaded it; the stale object must not win.
    stale = Case.objects.get(pk=case.pk)
    services.case_resolve(case=case, resolution="Done", by=rep)
    with pytest.raises(InvalidTransition):
        services.case_escalate(case=stale, reason="too late", by=rep)


# --- contacts ------------------------------------------------------------------------------------


def test_logging_a_call_starts_the_case_and_names_who_took_the_message(case, rep):
    with pytest.raises(InvalidInput) as exc:
        services.interaction_log(
            case=case,
            by=rep,
            direction="outbound",
            channel="phone_outbound",
            relationship="spouse",
            outcome="left_message",
            now=NOW,
        )
    assert exc.value.field == "message_left_with"
    interaction = services.interaction_log(
        case=case,
        by=rep,
        direction="outbound",
        channel="phone_outbound",
        relationship="spouse",
        outcome="left_message",
        message_left_with="spouse",
        person_contacted="Ann Smith",
        contact_point="(312) 555-0100",
        notes="Asked her to call back",
        now=NOW,
    )
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS and case.first_responded_at == NOW
    assert interaction.outcome_text == "Left message with spouse"
    event = timeline_for(case).get(kind="inquiries.interaction.logged")
    assert event.summary == "Phone, outbound: Left message with spouse"
    assert last_reason(interaction) == "contact logged"


def test_an_interpreter_must_be_named(case, rep):
    with pytest.raises(InvalidInput) as exc:
        services.interaction_log(
            case=case,
            by=rep,
            direction="inbound",
            channel="phone_inbound",
            relationship="self",
            outcome="reached",
            person_contacted="Patient",
            interpreter_used=True,
            interpreter_language="es",
        )
    assert exc.value.field == "interpreter_kind"
    interaction = services.interaction_log(
        case=case,
        by=rep,
        direction="inbound",
        channel="phone_inbound",
        relationship="self",
        outcome="reached",
        person_contacted="Patient",
        interpreter_used=True,
        interpreter_language="ase",
        interpreter_kind="vrs",
        interpreter_reference="VRS operator 4471",
    )
    assert interaction.interpreter_kind == "vrs"


def test_a_required_disclosure_not_read_is_flagged(case, rep, org):
    script = ScriptFactory(organization=org)
    version = script.current_version
    with pytest.raises(InvalidInput):
        services.interaction_log(
            case=case,
            by=rep,
            direction="inbound",
            channel="phone_inbound",
            relationship="self",
            outcome="reached",
            person_contacted="Patient",
            script_version=version,
            steps_completed=[9],
        )
    interaction = services.interaction_log(
        case=case,
        by=rep,
        direction="inbound",
        channel="phone_inbound",
        relationship="self",
        outcome="reached",
        person_contacted="Patient",
        script_version=version,
        steps_completed=[1, 3],
    )
    assert interaction.steps_completed == [1, 3] and interaction.disclosures_missed == [2]
    assert "inquiries.interaction.disclosure_missed" in kinds(case)
    complete = services.interaction_log(
        case=case,
        by=rep,
        direction="inbound",
        channel="phone_inbound",
        relationship="self",
        outcome="reached",
        person_contacted="Patient",
        script_version=version,
        steps_completed=[1, 2, 3],
    )
    assert complete.disclosures_missed == []


def test_no_contact_is_logged_on_a_closed_case(case, rep):
    services.case_resolve(case=case, resolution="Done", by=rep)
    services.case_close(case=case, by=rep)
    with pytest.raises(InvalidTransition):
        services.interaction_log(
            case=case,
            by=rep,
            direction="inbound",
            channel="phone_inbound",
            relationship="self",
            outcome="no_answer",
        )
    assert not Interaction.objects.exists()


def test_a_callback_is_owed_then_done_by_the_call_that_makes_it(case, rep):
    with pytest.raises(InvalidInput):
        services.callback_request(
            case=case, requested_for=NOW + timedelta(hours=2), phone="555", by=rep, now=NOW
        )
    with pytest.raises(InvalidInput):
        services.callback_request(
            case=case, requested_for=NOW - timedelta(hours=2), phone="3125550100", by=rep, now=NOW
        )
    callback = services.callback_request(
        case=case, requested_for=NOW + timedelta(hours=2), phone="(312) 555-0100", by=rep, now=NOW
    )
    assert callback.phone == "3125550100" and callback.status == Callback.Status.OPEN
    interaction = services.interaction_log(
        case=case,
        by=rep,
        direction="outbound",
        channel="phone_outbound",
        relationship="self",
        outcome="reached",
        person_contacted="Patient",
        completes_callback=callback,
    )
    callback.refresh_from_db()
    assert callback.status == Callback.Status.DONE and callback.interaction == interaction
    with pytest.raises(InvalidTransition):
        services.callback_cancel(callback=callback, reason="no longer needed", by=rep)
    assert kinds(case)[-2:] == ["inquiries.interaction.logged", "inquiries.callback.done"]


def test_a_callback_can_be_cancelled_with_a_reason(case, rep):
    callback = services.callback_request(
        case=case, requested_for=NOW + timedelta(hours=2), phone="3125550100", by=rep, now=NOW
    )
    services.callback_cancel(callback=callback, reason="Caller resolved it online", by=rep)
    callback.refresh_from_db()
    assert callback.status == Callback.Status.CANCELLED
    assert last_reason(callback) == "Caller resolved it online"


def test_linking_a_subject_later_cannot_switch_a_verified_case_to_another_patient(org, rep):
    from inquiries.services.disclosure import caller_verify

    first = AccountFactory(patient__organization=org)
    case = CaseFactory(account=first)
    caller_verify(case=case, caller_kind="patient", answers={"dob": first.patient.date_of_birth}, by=rep)
    other = AccountFactory(patient__organization=org)
    with pytest.raises(InvalidInput) as exc:
        services.case_link_subject(case=case, account=other, by=rep)
    assert "open a new case" in exc.value.message
    blank = CaseFactory(account=None, patient=None, organization=org)
    services.case_link_subject(case=blank, account=other, by=rep)
    blank.refresh_from_db()
    assert blank.patient == other.patient
    assert kinds(blank) == ["inquiries.case.subject_linked"]
