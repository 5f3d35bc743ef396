"""Case pages: the list, opening a case, the case page behind its disclosure guard, its actions, and the
role matrix (anonymous, outsider, every role)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from core.timeline import timeline_for
from inquiries.models import Case, DisclosureOverride, Interaction
from inquiries.services import cases as case_services
from staff.calendar import calendar_for
from staff.models import PhiAccessLog
from tests.conftest import PERSONAS
from tests.factories import AccountFactory, AuthorizedContactFactory
from tests.factories.claims import ClaimFactory
from tests.factories.inquiries import CaseFactory, ScriptFactory

ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
WORKERS = {"representative", "senior_representative", "appeals_coordinator", "supervisor", "admin"}


@pytest.fixture
def account(org, posting_specialist):
    account = AccountFactory(
        patient__organization=org,
        patient__first_name="Margaret",
        patient__last_name="Okonkwo",
        patient__date_of_birth=date(1961, 4, 9),
        patient__address_line1="418 Elm Street",
        patient__ssn_last4="4321",
        account_number="H2026-0417",
    )
    account_services.charge_post(
        account=account,
        items=[
            account_services.ChargeInput(
                date(2026, 9, 3), "cpt", "99214", Decimal("283.50"), diagnoses=("E119",)
            )
        ],
        by=posting_specialist,
    )
    return account


@pytest.fixture
def case(account):
    return CaseFactory(account=account, summary="Asks about the bill")


def url(name, *args):
    return reverse(f"inquiries:{name}", args=args)


def login(client, user):
    if user is not None:
        client.force_login(user)
    return client


# --- role matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_the_case_list_and_page_across_roles(who, persona, client, case):
    login(client, persona(who))
    listing = client.get(url("case_list"))
    detail = client.get(url("case_detail", case.reference))
    if who == "anonymous":
        for response in (listing, detail):
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif who == "outsider":
        # Their own organization's (empty) list; this organization's case does not exist for them.
        assert listing.status_code == 200 and case.number not in listing.content.decode()
        assert detail.status_code == 404
    else:
        assert listing.status_code == 200 and case.number in listing.content.decode()
        assert detail.status_code == 200


@pytest.mark.parametrize("who", PERSONAS)
def test_only_case_workers_open_cases(who, persona, client, account):
    login(client, persona(who))
    response = client.post(
        url("case_create"),
        {
            "account": account.reference,
            "channel": "phone_inbound",
            "caller_type": "patient",
            "category": "billing_question",
            "priority": "normal",
            "summary": "Why is the bill so high",
        },
    )
    if who == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif who in WORKERS:
        case = Case.objects.get()
        assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
        assert case.account == account and case.assigned_to == persona(who)
    else:
        assert response.status_code in (403, 404)
        assert not Case.objects.exists()


def test_another_organizations_case_is_404(client, rep, other_org):
    elsewhere = CaseFactory(account__patient__organization=other_org)
    login(client, rep)
    assert client.get(url("case_detail", elsewhere.reference)).status_code == 404
    assert (
        client.post(url("case_resolve", elsewhere.reference), {"resolve-resolution": "x"}).status_code == 404
    )


# --- the disclosure guard on the page ------------------------------------------------------------


def test_the_page_hides_balances_until_the_caller_is_verified(client, rep, case, account):
    login(client, rep)
    page = client.get(url("case_detail", case.reference)).content.decode()
    assert "283.50" not in page
    assert "Balances and claim details are hidden" in page
    assert "The caller has not been verified" in page
    # The account page (which shows balances) is not linked before verification.
    assert reverse("accounts:account_detail", args=[account.reference]) not in page
    assert PhiAccessLog.objects.filter(user=rep, subject_id=account.pk, action="view").count() == 1

    response = client.post(
        url("case_verify", case.reference),
        {"verify-caller_kind": "patient", "verify-dob": "1961-04-09", "verify-address": "418 elm st"},
    )
    assert response.status_code == 302
    page = client.get(url("case_detail", case.reference)).content.decode()
    assert 'data-testid="case-balance">$283.50' in page
    assert "Caller verified" in page


def test_a_failed_verification_says_why_on_the_page(client, rep, case):
    login(client, rep)
    client.post(
        url("case_verify", case.reference),
        {"verify-caller_kind": "patient", "verify-dob": "1961-04-10", "verify-address": "418 Elm Street"},
    )
    page = client.get(url("case_detail", case.reference)).content.decode()
    assert "283.50" not in page
    assert "date of birth did not match the record" in page


def test_a_spouse_without_the_balances_scope_sees_no_balance(client, rep, case, account):
    contact = AuthorizedContactFactory(patient=account.patient, name="Ann Okonkwo", scopes=["insurance"])
    ClaimFactory(account=account, patient_control_number="H2026-0417")
    login(client, rep)
    client.post(
        url("case_verify", case.reference),
        {
            "verify-caller_kind": "authorized_contact",
            "verify-authorized_contact": contact.reference,
            "verify-dob": "1961-04-09",
            "verify-ssn_last4": "4321",
        },
    )
    page = client.get(url("case_detail", case.reference)).content.decode()
    assert "283.50" not in page
    assert "not for balances and statements" in page
    assert 'data-testid="case-claims"' in page


def test_a_representative_cannot_override(client, rep, case):
    login(client, rep)
    assert client.get(url("case_override", case.reference)).status_code == 403
    assert (
        client.post(url("case_override", case.reference), {"reason": "Because I say so"}).status_code == 403
    )
    assert not DisclosureOverride.objects.exists()


def test_the_override_asks_for_a_reason_and_logs_it(client, supervisor, case, account):
    login(client, supervisor)
    assert 'data-testid="override-link"' in client.get(url("case_detail", case.reference)).content.decode()
    response = client.post(url("case_override", case.reference), {"reason": ""})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    response = client.post(url("case_override", case.reference), {"reason": "too short"})
    assert response.status_code == 400 and "at least 10 characters" in response.content.decode()
    response = client.post(url("case_override", case.reference), {"reason": "Guardianship papers on file"})
    assert response.status_code == 302
    page = client.get(url("case_detail", case.reference)).content.decode()
    assert "Disclosure guard overridden" in page and "Guardianship papers on file" in page
    assert "$283.50" in page
    assert PhiAccessLog.objects.filter(user=supervisor, action="disclose", subject_id=account.pk).exists()
    assert timeline_for(case).filter(kind="inquiries.disclosure.overridden").exists()


# --- actions ----------------------------------------------------------------------------------------


def next_business_day(org, days=1):
    calendar = calendar_for(org)
    return calendar.add_business_days(timezone.localdate(), days)


def test_pend_from_the_page_and_a_refusal_keeps_the_form(client, rep, case, org):
    login(client, rep)
    response = client.post(url("case_pend", case.reference), {"pend-follow_up_on": "", "pend-reason": "x"})
    assert response.status_code == 400
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = client.post(
        url("case_pend", case.reference), {"pend-follow_up_on": yesterday, "pend-reason": "Waiting for EOB"}
    )
    assert response.status_code == 400 and "Must be after today" in response.content.decode()
    follow_up = next_business_day(org)
    response = client.post(
        url("case_pend", case.reference),
        {"pend-follow_up_on": follow_up.isoformat(), "pend-reason": "Waiting for EOB"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "pended" and case.follow_up_on == follow_up


def test_logging_a_contact_with_the_script_from_the_page(client, rep, case, org):
    ScriptFactory(organization=org)
    login(client, rep)
    page = client.get(url("case_detail", case.reference)).content.decode()
    assert 'form="contact-form" name="contact-steps"' in page
    response = client.post(
        url("interaction_add", case.reference),
        {
            "contact-direction": "outbound",
            "contact-channel": "phone_outbound",
            "contact-relationship": "spouse",
            "contact-outcome": "left_message",
            "contact-message_left_with": "spouse",
            "contact-person_contacted": "Ann",
            "contact-minutes": "4",
            "contact-steps": ["1", "3"],
        },
    )
    assert response.status_code == 302
    interaction = Interaction.objects.get()
    assert interaction.outcome_text == "Left message with spouse"
    assert interaction.disclosures_missed == [2]
    assert interaction.ended_at - interaction.started_at == timedelta(minutes=4)


def test_transfer_escalate_resolve_close_from_the_page(client, rep, case, org):
    from tests.factories.inquiries import DepartmentFactory

    department = DepartmentFactory(organization=org, name="Clinical staff")
    login(client, rep)
    response = client.post(
        url("case_transfer", case.reference), {"transfer-department": department.reference}
    )
    assert response.status_code == 400
    response = client.post(
        url("case_transfer", case.reference),
        {"transfer-department": department.reference, "transfer-reason": "Clinical question"},
    )
    assert response.status_code == 302
    assert client.post(url("case_start", case.reference)).status_code == 302
    assert (
        client.post(
            url("case_escalate", case.reference), {"escalate-reason": "Wants a supervisor"}
        ).status_code
        == 302
    )
    assert (
        client.post(url("case_resolve", case.reference), {"resolve-resolution": "Explained"}).status_code
        == 302
    )
    assert client.post(url("case_close", case.reference)).status_code == 302
    case.refresh_from_db()
    assert case.status == "closed"
    response = client.post(url("case_reopen", case.reference), {"reopen-reason": "Called back"})
    assert response.status_code == 400 and "Only a supervisor" in response.content.decode()


def test_a_blank_case_is_linked_to_an_account_by_its_number(client, rep, org, account):
    case = CaseFactory(account=None, patient=None, organization=org)
    login(client, rep)
    response = client.post(url("case_link", case.reference), {"link-account_number": "nope"})
    assert (
        response.status_code == 400
        and "No account nope in Riverside General Hospital" in response.content.decode()
    )
    response = client.post(url("case_link", case.reference), {"link-account_number": "h2026-0417"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.account == account and case.patient == account.patient


def test_a_callback_from_the_page(client, rep, case):
    login(client, rep)
    when = (timezone.localtime() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url("callback_add", case.reference),
        {"callback-kind": "callback", "callback-requested_for": when, "callback-phone": "312-555-0100"},
    )
    assert response.status_code == 302
    callback = case.callbacks.get()
    assert callback.phone == "3125550100"
    response = client.post(url("callback_cancel", callback.reference), {"reason": "Resolved by email"})
    assert response.status_code == 302
    callback.refresh_from_db()
    assert callback.status == "cancelled"


# --- the list ----------------------------------------------------------------------------------------


def test_the_list_filters_and_pages_without_counting(client, rep, org, account):
    cases = [CaseFactory(account=account, summary=f"Case {n}") for n in range(55)]
    case_services.case_escalate(case=cases[0], reason="Supervisor please", by=rep)
    login(client, rep)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("case_list"))
    assert response.status_code == 200
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert response.content.decode().count('data-testid="case-row"') == 50
    assert "before=" in response.content.decode()
    response = client.get(url("case_list"), {"status": "escalated"})
    assert response.content.decode().count('data-testid="case-row"') == 1
    response = client.get(url("case_list"), {"q": f"#{cases[3].number.lower()}"})
    assert response.content.decode().count('data-testid="case-row"') == 1
    CaseFactory(account=account, caller_phone="3125550199")
    response = client.get(url("case_list"), {"q": "(312) 555-0199"})
    assert response.content.decode().count('data-testid="case-row"') == 1


def test_the_list_costs_the_same_queries_for_more_rows(client, rep, account, django_assert_max_num_queries):
    for n in range(3):
        CaseFactory(account=account, summary=f"Case {n}")
    login(client, rep)
    with CaptureQueriesContext(connection) as few:
        client.get(url("case_list"))
    for n in range(20):
        CaseFactory(account=AccountFactory(patient__organization=account.organization), summary=f"More {n}")
    with CaptureQueriesContext(connection) as many:
        client.get(url("case_list"))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_case_page_has_a_fixed_number_of_queries(client, rep, case, account):
    login(client, rep)
    with CaptureQueriesContext(connection) as first:
        client.get(url("case_detail", case.reference))
    for n in range(5):
        case_services.interaction_log(
            case=case,
            by=rep,
            direction="inbound",
            channel="phone_inbound",
            relationship="self",
            outcome="reached",
            person_contacted=f"Caller {n}",
        )
    with CaptureQueriesContext(connection) as second:
        client.get(url("case_detail", case.reference))
    assert len(second.captured_queries) == len(first.captured_queries)
