"""The department directory, the appeals & grievances queue, call scripts and case settings: services
with their audit rows, and the pages across roles."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.errors import Conflict, InvalidInput, InvalidTransition, NotPermitted
from core.timeline import timeline_for
from inquiries.models import Department, Referral, Script, ServiceLevel, VerificationPolicy
from inquiries.services import cases as case_services
from inquiries.services import routing, scripts, settings
from tests.conftest import PERSONAS
from tests.factories import AccountFactory
from tests.factories.inquiries import CaseFactory, DepartmentFactory, ScriptFactory

ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]


def url(name, *args):
    return reverse(f"inquiries:{name}", args=args)


@pytest.fixture
def grievance(org, rep):
    account = AccountFactory(patient__organization=org)
    case = case_services.case_open(
        organization=org,
        by=rep,
        channel="phone_inbound",
        category="complaint_grievance",
        caller_type="patient",
        summary="Billed twice and nobody calls back",
        account=account,
    )
    return case.referrals.get()


# --- departments ------------------------------------------------------------------------------------


def test_admins_keep_the_directory_with_history(org, admin_user, rep):
    with pytest.raises(NotPermitted):
        routing.department_create(organization=org, name="UM", kind="utilization_management", by=rep)
    um = routing.department_create(
        organization=org,
        name="Utilization management",
        kind="utilization_management",
        phone="8005550101",
        by=admin_user,
    )
    with pytest.raises(Conflict):
        routing.department_create(
            organization=org, name="utilization MANAGEMENT", kind="clinical", by=admin_user
        )
    routing.department_update(
        department=um, changes={"hours": "Mon-Fri 8-5", "is_active": False}, by=admin_user
    )
    um.refresh_from_db()
    assert um.hours == "Mon-Fri 8-5" and not um.is_active
    assert um.history.count() == 2
    assert timeline_for(org).filter(kind__startswith="inquiries.department").count() == 2


@pytest.mark.parametrize("who", PERSONAS)
def test_the_directory_page_across_roles(who, persona, client, org):
    DepartmentFactory(organization=org, name="North grievance desk", kind="appeals_grievances")
    user = persona(who)
    if user:
        client.force_login(user)
    response = client.get(url("department_list"))
    if who == "anonymous":
        assert response.status_code == 302
        return
    content = response.content.decode()
    assert response.status_code == 200
    assert ("North grievance desk" in content) == (who != "outsider")
    posted = client.post(url("department_list"), {"name": "Pharmacy", "kind": "pharmacy"})
    if who == "admin":
        assert posted.status_code == 302 and Department.objects.filter(name="Pharmacy").exists()
    else:
        # The outsider is an admin of their own organization: what they add lands there, not here.
        assert posted.status_code == (302 if who == "outsider" else 403)
        assert not Department.objects.filter(name="Pharmacy", organization=org).exists()


# --- referrals ----------------------------------------------------------------------------------------


def test_the_coordinator_acknowledges_then_closes_a_referral(grievance, appeals_coordinator, rep):
    with pytest.raises(NotPermitted):
        routing.referral_acknowledge(referral=grievance, by=rep)
    routing.referral_acknowledge(referral=grievance, by=appeals_coordinator)
    with pytest.raises(InvalidTransition):
        routing.referral_acknowledge(referral=grievance, by=appeals_coordinator)
    with pytest.raises(InvalidInput):
        routing.referral_close(referral=grievance, outcome=" ", by=appeals_coordinator)
    routing.referral_close(
        referral=grievance, outcome="Grievance answered in writing", by=appeals_coordinator
    )
    grievance.refresh_from_db()
    assert grievance.status == Referral.Status.CLOSED and grievance.closed_by == appeals_coordinator
    kinds = [e.kind for e in timeline_for(grievance.case).order_by("occurred_at", "id")]
    assert kinds[-2:] == ["inquiries.referral.acknowledged", "inquiries.referral.closed"]


@pytest.mark.parametrize("who", ROLES)
def test_the_appeals_queue_page_is_for_the_coordinator_and_supervisors(who, persona, client, grievance):
    client.force_login(persona(who))
    response = client.get(url("referral_list"))
    if who in ("appeals_coordinator", "supervisor", "admin"):
        assert response.status_code == 200
        assert f"#{grievance.case.number}" in response.content.decode()
    else:
        assert response.status_code == 403


def test_the_coordinator_works_the_queue_from_the_page(client, appeals_coordinator, grievance, other_org):
    client.force_login(appeals_coordinator)
    assert client.post(url("referral_acknowledge", grievance.reference)).status_code == 302
    assert client.post(url("referral_close", grievance.reference), {"outcome": ""}).status_code == 302
    grievance.refresh_from_db()
    assert grievance.status == "acknowledged"
    client.post(url("referral_close", grievance.reference), {"outcome": "Resolved with the patient"})
    grievance.refresh_from_db()
    assert grievance.status == "closed"
    elsewhere = CaseFactory(account__patient__organization=other_org)
    other = Referral.objects.create(
        organization=other_org,
        case=elsewhere,
        kind="grievance",
        reason="x",
        referred_by=appeals_coordinator,
        referred_at=grievance.referred_at,
    )
    assert client.post(url("referral_acknowledge", other.reference)).status_code == 404


# --- scripts --------------------------------------------------------------------------------------------


def test_a_script_is_written_and_versioned_by_admins(org, admin_user, rep):
    with pytest.raises(NotPermitted):
        scripts.script_create(organization=org, name="Billing", category="", steps="Hello", by=rep)
    with pytest.raises(InvalidInput) as exc:
        scripts.script_create(organization=org, name="Billing", category="", steps="\n!\n", by=admin_user)
    assert "line 2" in exc.value.message
    script = scripts.script_create(
        organization=org,
        name="Billing calls",
        category="billing_question",
        steps="Greet the caller\n!This call may be recorded\nVerify the caller",
        by=admin_user,
    )
    first = script.current_version
    assert first.number == 1 and first.required_positions() == [2]
    assert scripts.steps_text(first) == "Greet the caller\n!This call may be recorded\nVerify the caller"
    with pytest.raises(InvalidInput):
        scripts.script_publish(script=script, steps="Greet", note=" ", by=admin_user)
    second = scripts.script_publish(
        script=script, steps="Greet\n!Mini-Miranda", note="FDCPA notice", by=admin_user
    )
    script.refresh_from_db()
    assert script.current_version == second and second.number == 2
    # The first version is kept as it was, for the contacts that recorded it.
    assert [s.prompt for s in first.steps.all()] == [
        "Greet the caller",
        "This call may be recorded",
        "Verify the caller",
    ]
    scripts.script_update(script=script, is_active=False, by=admin_user)
    assert not Script.objects.get(pk=script.pk).is_active


def test_the_case_page_shows_the_script_of_its_category(client, rep, org):
    ScriptFactory(organization=org, name="General", steps=[("General greeting", False)])
    ScriptFactory(
        organization=org, name="Disputes", category="billing_dispute", steps=[("Dispute intro", True)]
    )
    case = CaseFactory(account__patient__organization=org, category="billing_dispute")
    client.force_login(rep)
    page = client.get(url("case_detail", case.reference)).content.decode()
    assert "Dispute intro" in page and "General greeting" not in page
    other = CaseFactory(account__patient__organization=org, category="payment")
    assert "General greeting" in client.get(url("case_detail", other.reference)).content.decode()


def test_the_scripts_pages(client, admin_user, rep, org):
    client.force_login(rep)
    assert client.get(url("script_list")).status_code == 200
    assert client.post(url("script_list"), {"name": "x", "steps": "y"}).status_code == 403
    client.force_login(admin_user)
    response = client.post(
        url("script_list"), {"name": "Self-pay", "category": "", "steps": "Hi\n!Disclosure"}
    )
    script = Script.objects.get(name="Self-pay")
    assert response.status_code == 302
    response = client.post(
        url("script_detail", script.reference),
        {"action": "publish", "steps": "Hi there\n!Disclosure", "note": "Friendlier"},
    )
    assert response.status_code == 302
    assert Script.objects.get(pk=script.pk).current_version.number == 2


# --- settings ---------------------------------------------------------------------------------------------


def test_service_levels_and_the_verification_policy_are_admin_settings(org, admin_user, supervisor):
    with pytest.raises(NotPermitted):
        settings.service_level_set(
            organization=org,
            category="",
            priority="urgent",
            first_response_hours=2,
            resolution_hours=8,
            by=supervisor,
        )
    with pytest.raises(InvalidInput):
        settings.service_level_set(
            organization=org,
            category="",
            priority="urgent",
            first_response_hours=8,
            resolution_hours=2,
            by=admin_user,
        )
    level = settings.service_level_set(
        organization=org,
        category="",
        priority="urgent",
        first_response_hours=2,
        resolution_hours=8,
        by=admin_user,
    )
    settings.service_level_set(
        organization=org,
        category="",
        priority="urgent",
        first_response_hours=1,
        resolution_hours=8,
        by=admin_user,
    )
    assert ServiceLevel.objects.get(pk=level.pk).first_response_hours == 1
    with pytest.raises(InvalidInput):
        settings.verification_policy_set(
            organization=org, identifiers=["dob"], required_count=2, valid_minutes=30, by=admin_user
        )
    policy = settings.verification_policy_set(
        organization=org, identifiers=["member_id", "dob"], required_count=2, valid_minutes=30, by=admin_user
    )
    assert policy.identifiers == ["dob", "member_id"]
    assert VerificationPolicy.of(org).valid_minutes == 30
    assert timeline_for(org).filter(kind="inquiries.verification_policy.set").exists()


@pytest.mark.parametrize("who", ROLES)
def test_the_settings_page_is_for_admins(who, persona, client):
    client.force_login(persona(who))
    response = client.get(url("case_settings"))
    assert response.status_code == (200 if who == "admin" else 403)


def test_the_settings_page_saves_a_policy(client, admin_user, org):
    client.force_login(admin_user)
    response = client.post(
        url("case_settings"),
        {
            "action": "policy",
            "policy-identifiers": ["dob", "ssn_last4", "member_id"],
            "policy-required_count": "3",
            "policy-valid_minutes": "45",
        },
    )
    assert response.status_code == 302
    assert VerificationPolicy.of(org).required_count == 3
    response = client.post(
        url("case_settings"),
        {
            "action": "level",
            "level-category": "payment",
            "level-first_response_hours": "4",
            "level-resolution_hours": "2",
        },
    )
    assert response.status_code == 400
