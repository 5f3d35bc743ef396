"""End-to-end tests of the accounts API under /api/v1/: patients, coverages, authorized contacts.

Every endpoint runs the persona matrix of ``tests.conftest.PERSONAS``: anonymous, an
outsider (admin of another organization) and each role in ``org``. The outsider must
never learn that ``org``'s records exist: their references answer 404 in URLs and "does
not exist" in request bodies, and their rows never appear in lists, filters included.

The helpers and fixtures at the top are shared with the other ``test_api_*`` modules.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AuthorizedContact, Coverage, Patient, PatientAccount
from core.models import TimelineEvent
from staff.models import PhiAccessLog, Role
from tests.conftest import PERSONAS
from tests.factories import (
    AccountFactory,
    AuthorizedContactFactory,
    CoverageFactory,
    MembershipFactory,
    PatientFactory,
    PlanFactory,
)

D = Decimal
ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
WORKERS = {"representative", "senior_representative", "posting_specialist", "supervisor", "admin"}
POSTERS = {"posting_specialist", "supervisor", "admin"}


def matrix(allowed: set[str], ok: int = 200, outsider: int = 404) -> dict[str, int]:
    """Expected status per persona: ``ok`` for the allowed roles, 403 for the other roles."""
    return {"outsider": outsider, **{role: ok if role in allowed else 403 for role in ROLES}}


MEMBERS_READ = matrix(set(ROLES))


# --- helpers ------------------------------------------------------------------------------


def client_for(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_status(response: Any, who: str, expected: dict[str, int]) -> None:
    if who == "anonymous":
        assert response.status_code in (401, 403), response.content
        assert response.data["detail"].code == "not_authenticated"
    else:
        assert response.status_code == expected[who], (who, response.status_code, response.content)


def refs(response: Any, key: str = "reference") -> set[str]:
    assert response.status_code == 200, response.content
    return {row[key] for row in response.json()["results"]}


def error_fields(response: Any) -> set[str]:
    """Fields named by an error: DRF validation errors and the domain error shape alike."""
    body = response.json()
    if isinstance(body.get("error"), dict):
        return {body["error"]["field"]}
    return set(body)


def phi_rows(subject: Any, user: Any = None) -> int:
    rows = PhiAccessLog.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk
    )
    return rows.filter(user=user).count() if user is not None else rows.count()


def last_event(organization: Any, kind: str) -> TimelineEvent:
    event = TimelineEvent.objects.filter(organization=organization, kind=kind).order_by("-id").first()
    assert event is not None, f"no {kind} event"
    return event


def charge_line(amount: str = "150.00", code: str = "99213", day: date = date(2026, 9, 1), **kw: Any):
    kw.setdefault("diagnoses", ("E119",))
    return services.ChargeInput(service_date=day, code_type="cpt", code=code, amount=D(amount), **kw)


def post_charges(account: PatientAccount, by: Any, *amounts: str, **kw: Any) -> list:
    return services.charge_post(account=account, items=[charge_line(a, **kw) for a in amounts], by=by)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def everyone(persona, other_rep):
    """All personas exist; returns the name → user resolver."""
    return persona


@pytest.fixture
def patient(org):
    return PatientFactory(
        organization=org,
        first_name="Maria",
        last_name="Gonzalez",
        date_of_birth=date(1980, 5, 17),
        mrn="MRN1001",
        phone="3125550199",
        ssn_last4="4321",
    )


@pytest.fixture
def other_patient(other_org):
    return PatientFactory(
        organization=other_org, first_name="Maria", last_name="Gonzales", date_of_birth=date(1980, 5, 17)
    )


@pytest.fixture
def primary(patient):
    return CoverageFactory(patient=patient, priority=Coverage.Priority.PRIMARY, member_id="XQZ100200")


@pytest.fixture
def account(patient):
    return AccountFactory(patient=patient, account_number="H100200")


@pytest.fixture
def other_account(other_patient):
    return AccountFactory(patient=other_patient, account_number="P900900")


@pytest.fixture
def plan(org):
    return PlanFactory(organization=org, payer__organization=org, name="Gold PPO")


@pytest.fixture
def other_plan(other_org):
    return PlanFactory(organization=other_org, payer__organization=other_org, name="Rx Basic")


# --- patients: reads ------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_patient_list_shows_only_the_callers_organizations(who, everyone, patient, other_patient):
    response = client_for(everyone(who)).get(reverse("api:patient-list"))
    if who == "anonymous":
        assert_status(response, who, {})
    elif who == "outsider":
        assert refs(response) == {str(other_patient.reference)}
    else:
        assert refs(response) == {str(patient.reference)}


def test_patient_list_rows_identify_a_person_and_no_more(rep, patient, org):
    (row,) = client_for(rep).get(reverse("api:patient-list")).json()["results"]
    assert row == {
        "reference": str(patient.reference),
        "organization": str(org.reference),
        "mrn": "MRN1001",
        "full_name": "Maria Gonzalez",
        "first_name": "Maria",
        "last_name": "Gonzalez",
        "date_of_birth": "1980-05-17",
    }


def test_reading_a_patient_list_writes_no_phi_log(rep, patient):
    assert client_for(rep).get(reverse("api:patient-list"), {"q": "Gonzalez"}).status_code == 200
    assert not PhiAccessLog.objects.exists()


def test_patient_search_and_filters(rep, outsider, patient, other_patient, account, primary, org):
    PatientFactory(organization=org, first_name="John", last_name="Smith", date_of_birth=date(1975, 1, 2))
    client = client_for(rep)
    url = reverse("api:patient-list")
    expected = {str(patient.reference)}
    assert refs(client.get(url, {"q": "Gonzales, Maria"})) == expected  # a typo finds her
    assert refs(client.get(url, {"q": "05/17/1980"})) == expected
    assert refs(client.get(url, {"q": "(312) 555-0199"})) == expected
    assert refs(client.get(url, {"q": "h100200"})) == expected  # account number
    assert refs(client.get(url, {"q": "XQZ100200"})) == expected  # member id
    assert refs(client.get(url, {"date_of_birth": "1980-05-17"})) == expected
    assert len(refs(client.get(url, {"organization": str(org.reference)}))) == 2
    # Another organization's patient with the same name and birthday stays invisible.
    assert refs(client_for(outsider).get(url, {"q": "Gonzalez, Maria"})) == {str(other_patient.reference)}
    assert refs(client.get(url, {"organization": str(other_patient.organization.reference)})) == set()
    assert client.get(url, {"date_of_birth": "yesterday"}).status_code == 400


def test_patient_list_query_count_does_not_grow_with_patients(rep, org, django_assert_max_num_queries):
    client = client_for(rep)
    url = reverse("api:patient-list")
    PatientFactory(organization=org)
    client.get(url)  # warm the content-type cache
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    PatientFactory.create_batch(8, organization=org)
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(url).json()["results"]) == 9


@pytest.mark.parametrize("who", PERSONAS)
def test_patient_detail_matrix_and_phi_log(who, everyone, patient, primary, account):
    user = everyone(who)
    response = client_for(user).get(reverse("api:patient-detail", args=[patient.reference]))
    assert_status(response, who, MEMBERS_READ)
    if response.status_code != 200:
        assert phi_rows(patient) == 0
        return
    assert response.json()["reference"] == str(patient.reference)
    entry = PhiAccessLog.objects.get()
    assert (entry.user, entry.subject_type.model_class(), entry.subject_id, entry.action) == (
        user,
        Patient,
        patient.pk,
        "view",
    )
    assert entry.organization == patient.organization
    assert entry.path == f"/api/v1/patients/{patient.reference}/"


def test_patient_detail_shows_coverages_in_order_contacts_and_accounts(
    rep, patient, primary, account, posting_specialist
):
    secondary = CoverageFactory(patient=patient, priority=Coverage.Priority.SECONDARY)
    ended = CoverageFactory(patient=patient, priority=Coverage.Priority.PRIMARY, is_active=False)
    services.coverage_verify(coverage=secondary, method="phone", result="active", reference="CALL-7", by=rep)
    current = AuthorizedContactFactory(patient=patient, name="Zoe Spouse")
    revoked = AuthorizedContactFactory(patient=patient, name="Adam Brother", end_date=date(2025, 6, 30))
    post_charges(account, posting_specialist, "150.00")

    body = client_for(rep).get(reverse("api:patient-detail", args=[patient.reference])).json()
    assert body["ssn_last4"] == "4321"
    assert body["phone"] == "3125550199"
    assert [c["reference"] for c in body["coverages"]] == [
        str(primary.reference),
        str(secondary.reference),
        str(ended.reference),
    ]
    verified = body["coverages"][1]
    assert (verified["priority"], verified["is_verified"], verified["verification_method"]) == (
        2,
        True,
        "phone",
    )
    assert verified["verified_by"]["reference"] == str(rep.reference)
    assert body["coverages"][0]["verification_method"] is None
    assert [(c["reference"], c["is_current"]) for c in body["authorized_contacts"]] == [
        (str(current.reference), True),
        (str(revoked.reference), False),
    ]
    (summary,) = body["accounts"]
    assert summary["account_number"] == "H100200"
    assert (summary["balance"], summary["insurance_balance"], summary["patient_balance"]) == (
        "150.00",
        "150.00",
        "0.00",
    )


def test_patient_detail_query_count_does_not_grow_with_coverages(rep, patient, primary, account):
    client = client_for(rep)
    url = reverse("api:patient-detail", args=[patient.reference])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    CoverageFactory.create_batch(3, patient=patient, is_active=False)
    AuthorizedContactFactory.create_batch(3, patient=patient)
    AccountFactory.create_batch(3, patient=patient)
    with CaptureQueriesContext(connection) as many:
        body = client.get(url).json()
    assert (len(body["coverages"]), len(body["authorized_contacts"]), len(body["accounts"])) == (4, 3, 4)
    assert len(many) == len(few)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_patients_offer_no_generic_writes(admin_user, patient, method):
    url = reverse("api:patient-detail", args=[patient.reference])
    response = getattr(client_for(admin_user), method)(url, {"first_name": "X"}, format="json")
    assert response.status_code == 405
    patient.refresh_from_db()
    assert patient.first_name == "Maria"


# --- patients: writes ------------------------------------------------------------------------------


NEW_PATIENT = {
    "first_name": "Ana",
    "last_name": "Lopez",
    "date_of_birth": "1991-03-04",
    "sex": "F",
    "phone": "3125550123",
    "preferred_language": "es",
    "ssn_last4": "0042",
}


@pytest.mark.parametrize("who", PERSONAS)
def test_patient_create_matrix(who, everyone, org):
    response = client_for(everyone(who)).post(
        reverse("api:patient-list"), {"organization": str(org.reference), **NEW_PATIENT}, format="json"
    )
    assert_status(response, who, matrix(WORKERS, ok=201))
    if response.status_code != 201:
        assert not Patient.objects.exists()
        return
    patient = Patient.objects.get(reference=response.json()["reference"])
    assert (patient.organization, patient.full_name, patient.ssn_last4) == (org, "Ana Lopez", "0042")
    assert patient.date_of_birth == date(1991, 3, 4)
    assert response.json()["preferred_language"] == "es"
    assert patient.history.first().history_user == everyone(who)
    assert last_event(org, "accounts.patient.created").actor == everyone(who)


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"ssn_last4": "12ab"}, "ssn_last4", 400),
        ({"ssn_last4": "123456789"}, "ssn_last4", 400),
        ({"last_name": ""}, "last_name", 400),
        ({"date_of_birth": "17/05/1980"}, "date_of_birth", 400),
        ({"sex": "Q"}, "sex", 400),
        ({"organization": "not-a-uuid"}, "organization", 400),
    ],
)
def test_patient_create_rejects_bad_input(rep, org, body, field, status):
    payload = {"organization": str(org.reference), **NEW_PATIENT, **body}
    response = client_for(rep).post(reverse("api:patient-list"), payload, format="json")
    assert response.status_code == status, response.content
    assert field in error_fields(response)
    assert not Patient.objects.exists()


def test_patient_create_in_another_organization_is_not_found(rep, other_org):
    payload = {"organization": str(other_org.reference), **NEW_PATIENT}
    assert client_for(rep).post(reverse("api:patient-list"), payload, format="json").status_code == 404
    assert not Patient.objects.exists()


def test_patient_create_refuses_a_duplicate_external_id(rep, org, patient):
    services.patient_update(patient=patient, changes={"external_id": "EHR-1"}, reason="linked", by=rep)
    payload = {"organization": str(org.reference), **NEW_PATIENT, "external_id": "EHR-1"}
    response = client_for(rep).post(reverse("api:patient-list"), payload, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "external_id"


def test_patient_create_is_refused_where_the_caller_is_only_an_appeals_coordinator(
    appeals_coordinator, other_org, org
):
    # Allowed to edit patients somewhere (admin of other_org), not in org.
    MembershipFactory(organization=other_org, user=appeals_coordinator, role=Role.ADMIN)
    payload = {"organization": str(org.reference), **NEW_PATIENT}
    response = client_for(appeals_coordinator).post(reverse("api:patient-list"), payload, format="json")
    assert response.status_code == 403
    assert not Patient.objects.exists()


@pytest.mark.parametrize("who", PERSONAS)
def test_patient_update_matrix(who, everyone, patient, org):
    history = patient.history.count()
    response = client_for(everyone(who)).post(
        reverse("api:patient-update", args=[patient.reference]),
        {"phone": "3125550777", "ok_to_text": True, "reason": "patient called with a new number"},
        format="json",
    )
    assert_status(response, who, matrix(WORKERS))
    patient.refresh_from_db()
    if response.status_code != 200:
        assert (patient.phone, patient.history.count()) == ("3125550199", history)
        return
    assert response.json()["phone"] == "3125550777"
    assert (patient.phone, patient.ok_to_text) == ("3125550777", True)
    assert patient.history.first().history_change_reason == "patient called with a new number"
    event = last_event(org, "accounts.patient.updated")
    # Field names only: the timeline never repeats PHI.
    assert event.data == {"fields": ["ok_to_text", "phone"], "reason": "patient called with a new number"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "3125550777"}, "reason"),
        ({"phone": "3125550777", "reason": " "}, "reason"),
        ({"organization": "x", "reason": "move"}, "organization"),
        ({"search_name": "X", "reason": "hack"}, "search_name"),
        ({"reason": "nothing to change"}, "non_field_errors"),
        ({"ssn_last4": "1", "reason": "typo"}, "ssn_last4"),
    ],
)
def test_patient_update_rejects_bad_input(rep, patient, body, field):
    history = patient.history.count()
    response = client_for(rep).post(
        reverse("api:patient-update", args=[patient.reference]), body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert patient.history.count() == history


# --- coverages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_coverage_list_matrix(who, everyone, primary, other_patient):
    other = CoverageFactory(patient=other_patient)
    response = client_for(everyone(who)).get(reverse("api:coverage-list"))
    if who == "anonymous":
        assert_status(response, who, {})
    else:
        assert refs(response) == {str(other.reference) if who == "outsider" else str(primary.reference)}


def test_coverage_filters(rep, patient, primary, org):
    ended = CoverageFactory(patient=patient, priority=2, effective_to=date(2025, 12, 31))
    inactive = CoverageFactory(patient=patient, priority=3, is_active=False)
    someone_else = CoverageFactory(patient=PatientFactory(organization=org))
    client = client_for(rep)
    url = reverse("api:coverage-list")
    mine = {str(c.reference) for c in (primary, ended, inactive)}
    assert refs(client.get(url, {"patient": str(patient.reference)})) == mine
    assert refs(client.get(url, {"active": "true"})) == {str(primary.reference), str(someone_else.reference)}
    assert refs(client.get(url, {"patient": str(patient.reference), "active": "false"})) == {
        str(ended.reference),
        str(inactive.reference),
    }


def test_coverage_list_query_count_does_not_grow(rep, patient, primary, django_assert_max_num_queries):
    client = client_for(rep)
    url = reverse("api:coverage-list")
    services.coverage_verify(coverage=primary, method="portal", result="active", by=rep)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(6):
        coverage = CoverageFactory(patient=PatientFactory(organization=patient.organization))
        services.coverage_verify(coverage=coverage, method="portal", result="active", by=rep)
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(url).json()["results"]) == 7


@pytest.mark.parametrize("who", PERSONAS)
def test_coverage_detail_matrix_logs_the_patient(who, everyone, primary, patient):
    response = client_for(everyone(who)).get(reverse("api:coverage-detail", args=[primary.reference]))
    assert_status(response, who, MEMBERS_READ)
    if response.status_code == 200:
        body = response.json()
        assert (body["patient"], body["plan"], body["member_id"]) == (
            str(patient.reference),
            str(primary.plan.reference),
            "XQZ100200",
        )
        assert body["payer_name"] == primary.plan.payer.name
    assert phi_rows(patient) == (1 if response.status_code == 200 else 0)


def coverage_payload(patient: Patient, coverage_plan: Any, **extra: Any) -> dict:
    return {
        "patient": str(patient.reference),
        "plan": str(coverage_plan.reference),
        "member_id": "W998877",
        "subscriber_name": "Maria Gonzalez",
        "effective_from": "2026-01-01",
        **extra,
    }


@pytest.mark.parametrize("who", PERSONAS)
def test_coverage_create_matrix(who, everyone, patient, primary, plan):
    response = client_for(everyone(who)).post(
        reverse("api:coverage-list"), coverage_payload(patient, plan, priority=1), format="json"
    )
    # For the outsider the patient named in the body does not exist.
    assert_status(response, who, matrix(WORKERS, ok=201, outsider=400))
    primary.refresh_from_db()
    if response.status_code != 201:
        assert Coverage.objects.count() == 1
        assert primary.priority == 1
        return
    body = response.json()
    assert (body["plan"], body["priority"], body["plan_name"]) == (str(plan.reference), 1, "Gold PPO")
    # The new primary pushed the old one down.
    assert primary.priority == 2


def test_coverage_create_refuses_a_plan_of_another_organization(rep, patient, other_plan):
    response = client_for(rep).post(
        reverse("api:coverage-list"), coverage_payload(patient, other_plan), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"plan": [f"Object with reference={other_plan.reference} does not exist."]}
    assert not Coverage.objects.exists()


def test_coverage_create_refuses_a_plan_of_the_callers_other_organization(
    rep, patient, other_org, other_plan
):
    # The caller works for both clients, so the plan is visible, but it is not the patient's.
    MembershipFactory(organization=other_org, user=rep, role=Role.REPRESENTATIVE)
    response = client_for(rep).post(
        reverse("api:coverage-list"), coverage_payload(patient, other_plan), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "plan"
    assert not Coverage.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"member_id": ""}, "member_id"),
        ({"priority": 4}, "priority"),
        ({"plan": "nope"}, "plan"),
        ({"effective_from": "2026-02-01", "effective_to": "2026-01-01"}, "effective_to"),
        ({"effective_to": "2020-01-01"}, "effective_to"),  # before the default start, today
    ],
)
def test_coverage_create_rejects_bad_input(rep, patient, plan, body, field):
    response = client_for(rep).post(
        reverse("api:coverage-list"), coverage_payload(patient, plan, **body), format="json"
    )
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert not Coverage.objects.exists()


@pytest.mark.parametrize("who", PERSONAS)
def test_coverage_update_matrix(who, everyone, primary, plan):
    response = client_for(everyone(who)).post(
        reverse("api:coverage-update", args=[primary.reference]),
        {"group_number": "G-77", "plan": str(plan.reference), "reason": "new card"},
        format="json",
    )
    assert_status(response, who, matrix(WORKERS))
    primary.refresh_from_db()
    if response.status_code != 200:
        assert primary.group_number == ""
        return
    assert (primary.group_number, primary.plan) == ("G-77", plan)
    assert response.json()["plan"] == str(plan.reference)
    assert primary.history.first().history_change_reason == "new card"


def test_coverage_update_needs_a_reason_and_refuses_foreign_plans(rep, primary, other_plan):
    url = reverse("api:coverage-update", args=[primary.reference])
    client = client_for(rep)
    assert error_fields(client.post(url, {"group_number": "G"}, format="json")) == {"reason"}
    response = client.post(url, {"plan": str(other_plan.reference), "reason": "x"}, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"plan"}
    assert error_fields(client.post(url, {"patient": "x", "reason": "x"}, format="json")) == {"patient"}
    # An end before the stored start is refused up front (the database would refuse it too).
    response = client.post(url, {"effective_to": "2024-12-31", "reason": "ended"}, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"effective_to"}


@pytest.mark.parametrize("who", PERSONAS)
def test_coverage_verify_matrix(who, everyone, primary, org):
    response = client_for(everyone(who)).post(
        reverse("api:coverage-verify", args=[primary.reference]),
        {"method": "eligibility", "result": "inactive", "reference": "TRN-55", "note": "terminated 10/31"},
        format="json",
    )
    assert_status(response, who, matrix(WORKERS))
    primary.refresh_from_db()
    if response.status_code != 200:
        assert primary.verified_at is None
        return
    body = response.json()
    assert (body["verification_method"], body["verification_result"], body["is_verified"]) == (
        "eligibility",
        "inactive",
        False,
    )
    assert body["verification_reference"] == "TRN-55"
    assert primary.verified_by == everyone(who)
    assert last_event(org, "accounts.coverage.verified").data["result"] == "inactive"


def test_coverage_verify_rejects_unknown_methods(rep, primary):
    response = client_for(rep).post(
        reverse("api:coverage-verify", args=[primary.reference]),
        {"method": "telepathy", "result": "active"},
        format="json",
    )
    assert response.status_code == 400
    assert error_fields(response) == {"method"}


# --- authorized contacts ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_authorized_contact_list_matrix_and_filters(who, everyone, patient, other_patient):
    current = AuthorizedContactFactory(patient=patient)
    ended = AuthorizedContactFactory(patient=patient, end_date=date(2025, 3, 1))
    other = AuthorizedContactFactory(patient=other_patient)
    client = client_for(everyone(who))
    url = reverse("api:authorized-contact-list")
    response = client.get(url)
    if who == "anonymous":
        assert_status(response, who, {})
        return
    if who == "outsider":
        assert refs(response) == {str(other.reference)}
        assert refs(client.get(url, {"patient": str(patient.reference)})) == set()
        return
    assert refs(response) == {str(current.reference), str(ended.reference)}
    assert refs(client.get(url, {"current": "true"})) == {str(current.reference)}
    assert refs(client.get(url, {"current": "false", "patient": str(patient.reference)})) == {
        str(ended.reference)
    }


def test_authorized_contact_list_query_count_does_not_grow(rep, patient, org, django_assert_max_num_queries):
    AuthorizedContactFactory(patient=patient)
    client = client_for(rep)
    url = reverse("api:authorized-contact-list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(6):
        AuthorizedContactFactory(patient=PatientFactory(organization=org))
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(url).json()["results"]) == 7


@pytest.mark.parametrize("who", PERSONAS)
def test_authorized_contact_create_matrix(who, everyone, patient, org):
    response = client_for(everyone(who)).post(
        reverse("api:authorized-contact-list"),
        {
            "patient": str(patient.reference),
            "name": "Luis Gonzalez",
            "relationship": "spouse",
            "scopes": ["balances", "payments"],
            "phone": "3125550100",
        },
        format="json",
    )
    assert_status(response, who, matrix(WORKERS, ok=201, outsider=400))
    if response.status_code != 201:
        assert not AuthorizedContact.objects.exists()
        return
    body = response.json()
    assert (body["relationship"], body["scopes"], body["is_current"]) == (
        "spouse",
        ["balances", "payments"],
        True,
    )
    assert body["scope_labels"] == ["Balances and statements", "Payments and payment plans"]
    assert last_event(org, "accounts.contact.added").data["contact"] == body["reference"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": []}, "scopes"),  # nothing they may be told
        ({"scopes": ["everything"]}, "scopes"),
        ({"relationship": "friend"}, "relationship"),
        ({"name": ""}, "name"),
    ],
)
def test_authorized_contact_create_rejects_bad_input(rep, patient, body, field):
    payload = {
        "patient": str(patient.reference),
        "name": "Luis",
        "relationship": "spouse",
        "scopes": ["balances"],
    }
    response = client_for(rep).post(
        reverse("api:authorized-contact-list"), {**payload, **body}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert not AuthorizedContact.objects.exists()


@pytest.mark.parametrize("who", PERSONAS)
def test_authorized_contact_end_matrix(who, everyone, patient):
    contact = AuthorizedContactFactory(patient=patient)
    yesterday = timezone.localdate() - timedelta(days=1)
    response = client_for(everyone(who)).post(
        reverse("api:authorized-contact-end", args=[contact.reference]),
        {"end_date": yesterday.isoformat(), "reason": "patient revoked the authorization"},
        format="json",
    )
    assert_status(response, who, matrix(WORKERS))
    contact.refresh_from_db()
    if response.status_code != 200:
        assert contact.end_date is None
        return
    assert (response.json()["is_current"], contact.end_date) == (False, yesterday)
    assert contact.history.first().history_change_reason == "patient revoked the authorization"


def test_authorized_contact_end_rejects_a_date_before_the_start(rep, patient):
    contact = AuthorizedContactFactory(patient=patient, start_date=date(2026, 1, 1))
    url = reverse("api:authorized-contact-end", args=[contact.reference])
    response = client_for(rep).post(url, {"end_date": "2025-12-31", "reason": "typo"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "end_date"
    assert error_fields(client_for(rep).post(url, {"end_date": "2026-02-01"}, format="json")) == {"reason"}


def test_authorized_contact_detail_logs_the_patient(rep, outsider, patient):
    contact = AuthorizedContactFactory(patient=patient)
    url = reverse("api:authorized-contact-detail", args=[contact.reference])
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(rep).get(url).status_code == 200
    assert (phi_rows(patient), phi_rows(patient, rep)) == (1, 1)
