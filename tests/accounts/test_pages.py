"""The account workspace pages: search, patient, account, actions and approvals, across roles."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.ledger import EntrySpec, lock_account, post_entries
from accounts.models import AdjustmentRequest, AuthorizedContact, Coverage, LedgerEntry
from staff.models import PhiAccessLog, Role
from tests.factories import AccountFactory, ApprovalLimitFactory, CoverageFactory, PatientFactory

D = Decimal


def charge(code="99213", amount="100.00", **kw):
    kw.setdefault("diagnoses", ("E119",))
    return services.ChargeInput(date(2026, 9, 1), "cpt", code, D(amount), **kw)


@pytest.fixture
def account(org, posting_specialist):
    account = AccountFactory(
        patient__organization=org,
        patient__first_name="Elena",
        patient__last_name="Vasquez",
        patient__date_of_birth=date(1980, 2, 14),
        patient__phone="3125550188",
        account_number="V-1001",
    )
    CoverageFactory(patient=account.patient, member_id="XJH4411")
    services.charge_post(account=account, items=[charge(), charge("99214", "60.00")], by=posting_specialist)
    return account


@pytest.fixture
def other_account(other_org):
    return AccountFactory(
        patient__organization=other_org, patient__last_name="Vasquez", account_number="V-1001"
    )


@pytest.mark.parametrize(
    "term",
    [
        "Vasquez",
        "vasqez",
        "Vasquez, Elena",
        "Elena Vasquez",
        "02/14/1980",
        "1980-02-14",
        "XJH4411",
        "(312) 555-0188",
    ],
)
def test_search_finds_the_patient_by_any_identifier(client, rep, account, other_account, term):
    client.force_login(rep)
    response = client.get(reverse("accounts:patient_search"), {"q": term})
    assert response.status_code == 200
    assert [p.pk for p in response.context["results"]] == [account.patient_id]


def test_an_exact_account_number_opens_the_account_of_the_active_organization(
    client, rep, account, other_account
):
    client.force_login(rep)
    response = client.get(reverse("accounts:patient_search"), {"q": "v-1001"})
    assert response["Location"] == reverse("accounts:account_detail", args=[account.reference])


def test_search_says_when_nothing_matches(client, rep, account):
    client.force_login(rep)
    response = client.get(reverse("accounts:patient_search"), {"q": "Zzyzx"})
    assert b"No patient matches" in response.content


def test_the_account_page_shows_balances_ledger_and_charges_and_logs_the_view(client, rep, account):
    client.force_login(rep)
    response = client.get(reverse("accounts:account_detail", args=[account.reference]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Account V-1001" in body and "$160.00" in body
    rows = response.context["ledger"].rows
    assert [r.running_balance for r in rows] == [D("160.00"), D("100.00")]
    assert {c.code for c in response.context["charges"]} == {"99213", "99214"}
    log = PhiAccessLog.objects.get(user=rep)
    assert (log.subject_id, log.action, log.organization_id) == (account.pk, "view", account.organization_id)
    # A representative sees no reverse or correct buttons.
    assert reverse("accounts:entry_reverse", args=[rows[0].entry.reference]) not in body


def test_another_organizations_account_is_not_found(client, outsider, rep, account, other_account):
    client.force_login(outsider)
    assert client.get(reverse("accounts:account_detail", args=[account.reference])).status_code == 404
    assert client.get(reverse("accounts:patient_detail", args=[account.patient.reference])).status_code == 404
    client.force_login(rep)
    assert client.get(reverse("accounts:account_detail", args=[other_account.reference])).status_code == 404
    assert not PhiAccessLog.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, account):
    response = client.get(reverse("accounts:account_detail", args=[account.reference]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_account_page_query_count_does_not_grow_with_the_ledger(client, rep, account, posting_specialist):
    client.force_login(rep)
    url = reverse("accounts:account_detail", args=[account.reference])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    with transaction.atomic():
        lock_account(account)
        post_entries(
            account=account,
            specs=[EntrySpec("patient_payment", D("-0.01")) for _ in range(400)],
            source="test",
            by=posting_specialist,
        )
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(response.context["ledger"].rows) == 100
    last = response.context["ledger"].rows[-1]
    older = client.get(url, {"older_than": response.context["ledger"].older_than})
    assert older.context["ledger"].rows[0].running_balance == last.running_balance - last.entry.amount


def test_rep_adds_an_authorized_contact(client, rep, account):
    client.force_login(rep)
    url = reverse("accounts:contact_add", args=[account.patient.reference]) + f"?account={account.reference}"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "name": "Luis Vasquez",
            "relationship": "spouse",
            "phone": "312-555-0101",
            "scopes": ["balances", "payments"],
        },
    )
    assert response["Location"] == reverse("accounts:account_detail", args=[account.reference])
    contact = AuthorizedContact.objects.get()
    assert (contact.phone, contact.scopes) == ("3125550101", ["balances", "payments"])
    assert contact.history.first().history_user == rep


def test_contact_form_errors_name_the_field_and_keep_the_input(client, rep, account):
    client.force_login(rep)
    url = reverse("accounts:contact_add", args=[account.patient.reference])
    response = client.post(url, {"name": "Luis", "relationship": "spouse", "phone": "555"})
    assert response.status_code == 400
    assert "Enter a 10-digit phone number." in response.content.decode()
    assert "Choose at least one thing this person may be told." in response.content.decode()
    assert 'value="Luis"' in response.content.decode()
    assert not AuthorizedContact.objects.exists()


def test_appeals_coordinator_reads_but_cannot_change_contacts(client, appeals_coordinator, account):
    client.force_login(appeals_coordinator)
    assert client.get(reverse("accounts:account_detail", args=[account.reference])).status_code == 200
    assert client.get(reverse("accounts:contact_add", args=[account.patient.reference])).status_code == 403


def test_adjustment_over_the_limit_goes_to_approvals_and_is_approved(client, org, rep, supervisor, account):
    ApprovalLimitFactory(organization=org, role=Role.REPRESENTATIVE, kind="adjustment", max_amount=D("20.00"))
    ApprovalLimitFactory(organization=org, role=Role.SUPERVISOR, kind="adjustment", max_amount=D("500.00"))
    primary = Coverage.objects.get()
    client.force_login(rep)
    response = client.post(
        reverse("accounts:adjust", args=[account.reference]),
        {
            "kind": "other_adjustment",
            "bucket": str(primary.reference),
            "amount": "$45.00",
            "reason_code": "COURTESY",
            "memo": "Service recovery",
        },
        follow=True,
    )
    assert "sent to a supervisor for approval" in response.content.decode()
    request = AdjustmentRequest.objects.get(status="pending")
    assert client.get(reverse("accounts:approvals")).status_code == 403

    client.force_login(supervisor)
    page = client.get(reverse("accounts:approvals"))
    assert [r.pk for r in page.context["pending"]] == [request.pk]
    client.post(reverse("accounts:approval_approve", args=[request.reference]), {"note": "OK"})
    request.refresh_from_db()
    assert request.status == "approved"
    account.refresh_from_db()
    assert account.balance == D("115.00")


def test_adjustment_refused_by_a_rule_shows_the_message_beside_the_field(client, rep, account):
    client.force_login(rep)
    response = client.post(
        reverse("accounts:adjust", args=[account.reference]),
        {
            "kind": "write_off",
            "bucket": "patient",
            "amount": "10.00",
            "reason_code": "SMALL_BAL",
            "memo": "x",
        },
    )
    assert response.status_code == 400
    assert "is more than the patient balance of $0.00" in response.content.decode()
    response = client.post(
        reverse("accounts:adjust", args=[account.reference]),
        {"kind": "write_off", "bucket": "patient", "amount": "1.5x", "reason_code": "COURTESY", "memo": "x"},
    )
    assert "Not a reason for this kind of adjustment" in response.content.decode()
    assert "1.5x" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind="write_off").exists()


def test_transfer_to_the_patient_from_the_page(client, rep, account):
    primary = Coverage.objects.get()
    client.force_login(rep)
    client.post(
        reverse("accounts:transfer", args=[account.reference]),
        {
            "from_bucket": str(primary.reference),
            "to_bucket": "next",
            "amount": "30.00",
            "reason": "Deductible",
        },
    )
    account.refresh_from_db()
    assert account.patient_balance == D("30.00")


def test_posting_specialist_reverses_an_entry_and_a_rep_may_not(client, rep, posting_specialist, account):
    entry = LedgerEntry.objects.filter(account=account).first()
    url = reverse("accounts:entry_reverse", args=[entry.reference])
    client.force_login(rep)
    assert client.get(url).status_code == 403
    client.force_login(posting_specialist)
    client.post(url, {"reason": "Duplicate"})
    assert LedgerEntry.objects.filter(reverses=entry).exists()


def test_charge_edits_show_and_can_be_corrected_or_overridden(client, posting_specialist, account):
    services.charge_post(
        account=account, items=[charge("99213", "100.00", diagnoses=("E11",))], by=posting_specialist
    )
    client.force_login(posting_specialist)
    page = client.get(reverse("accounts:account_detail", args=[account.reference]))
    body = page.content.decode()
    assert "E11 is a category, not a billable code" in body
    assert "already on this account" in body
    duplicate = next(c for c in page.context["charges"] if any(e.rule == "duplicate" for e in c.edits.all()))
    client.post(
        reverse("accounts:charge_correct", args=[duplicate.reference]),
        {
            "code": "99213",
            "modifiers": "",
            "diagnoses": "E11.9",
            "units": "1",
            "description": "",
            "reason": "Coder fix",
        },
    )
    edit = duplicate.edits.get(rule="duplicate")
    client.post(reverse("accounts:edit_override", args=[edit.reference]), {"reason": "Two visits that day"})
    edit.refresh_from_db()
    assert edit.status == "overridden"
    assert not duplicate.edits.filter(status="open").exists()


def test_coverage_verification_is_recorded_from_the_page(client, rep, account):
    coverage = Coverage.objects.get()
    client.force_login(rep)
    client.post(
        reverse("accounts:coverage_verify", args=[coverage.reference]),
        {"method": "portal", "result": "active", "reference": "AV-22"},
    )
    coverage.refresh_from_db()
    assert (coverage.verified_by, coverage.verification_result) == (rep, "active")


def test_adding_a_primary_coverage_moves_the_old_one_down(client, rep, account):
    old = Coverage.objects.get()
    plan = CoverageFactory(patient=PatientFactory(organization=account.organization)).plan
    client.force_login(rep)
    response = client.post(
        reverse("accounts:coverage_add", args=[account.patient.reference]),
        {
            "plan": str(plan.reference),
            "member_id": "NEW1",
            "subscriber_name": "Elena Vasquez",
            "relationship_to_subscriber": "self",
            "priority": "1",
            "effective_from": "2026-10-01",
        },
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.priority == 2


def test_rep_updates_a_patients_address_with_a_reason(client, rep, appeals_coordinator, account):
    url = reverse("accounts:patient_edit", args=[account.patient.reference])
    client.force_login(appeals_coordinator)
    assert client.get(url).status_code == 403
    client.force_login(rep)
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update({"address_line1": "12 New Street", "phone": "(312) 555-0199", "reason": "Patient called"})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    patient = account.patient
    patient.refresh_from_db()
    assert (patient.address_line1, patient.phone) == ("12 New Street", "3125550199")
    assert patient.history.first().history_change_reason == "Patient called"
