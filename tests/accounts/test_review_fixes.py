"""Edge cases: overflowing balances, late charges on closed accounts, history reads of patient
data, unreadable CSV, odd ledger positions, and the Django admin's organization scoping."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import LedgerEntry
from core.csvimport import CsvRejected, read_csv
from core.errors import InvalidInput
from core.models import TimelineEvent
from payers.models import Plan
from staff.models import PhiAccessLog
from tests.factories import AccountFactory, PayerFactory

D = Decimal


def charge(amount: str):
    return services.ChargeInput(date(2026, 9, 1), "cpt", "99213", D(amount), diagnoses=("E119",))


@pytest.fixture
def account(org):
    return AccountFactory(patient__organization=org)


def test_a_balance_that_would_overflow_is_refused_and_nothing_posts(account, posting_specialist):
    with pytest.raises(InvalidInput, match="would exceed"):
        services.charge_post(
            account=account,
            items=[charge("999999999999.99"), charge("999999999999.99")],
            by=posting_specialist,
        )
    assert not LedgerEntry.objects.exists()
    account.refresh_from_db()
    assert account.balance == D("0.00")


def test_a_late_charge_reopens_a_closed_account(account, posting_specialist, senior_rep):
    services.account_status_change(account=account, status="closed", reason="Zero balance", by=senior_rep)
    services.charge_post(account=account, items=[charge("40.00")], by=posting_specialist)
    account.refresh_from_db()
    assert (account.status, account.balance) == ("open", D("40.00"))
    assert TimelineEvent.objects.filter(kind="accounts.account.reopened").exists()


def test_reading_a_patients_history_is_a_phi_access(client, rep, account):
    client.force_login(rep)
    response = client.get(
        reverse("staff:object_history", args=["accounts", "patient", account.patient.reference])
    )
    assert response.status_code == 200
    log = PhiAccessLog.objects.get(user=rep)
    assert log.subject_id == account.patient_id


def test_a_csv_cell_too_large_to_read_is_reported_not_crashed():
    content = "external_id,first_name\nP1," + "x" * 200_000 + "\n"
    with pytest.raises(CsvRejected) as rejected:
        read_csv(content, required=["external_id"], optional=["first_name"])
    assert "cannot be read as CSV" in rejected.value.errors[0].message


def test_an_odd_ledger_position_is_not_found(client, rep, account):
    client.force_login(rep)
    url = reverse("accounts:account_detail", args=[account.reference])
    assert client.get(url, {"older_than": "\u00b2"}).status_code == 404


def test_the_django_admin_offers_and_accepts_only_the_users_organizations(client, org, other_org, admin_user):
    admin_user.is_staff = True
    admin_user.is_superuser = True  # all model permissions; organizations still come from memberships
    admin_user.save()
    mine = PayerFactory(organization=org, name="Our Payer")
    theirs = PayerFactory(organization=other_org, name="Their Payer")
    client.force_login(admin_user)
    page = client.get("/django-admin/payers/plan/add/").content.decode()
    assert "Our Payer" in page and "Their Payer" not in page
    response = client.post(
        "/django-admin/payers/plan/add/",
        {
            "organization": other_org.pk,
            "payer": theirs.pk,
            "name": "Injected",
            "plan_type": "ppo",
            "network": "in_network",
        },
    )
    assert response.status_code == 200  # the form refuses the choices it does not offer
    assert not Plan.objects.filter(name="Injected").exists()
    assert mine.organization == org


def test_api_lists_with_patient_details_log_each_patient_once(api_client, rep, org):
    from tests.factories import CoverageFactory

    first, second = AccountFactory(patient__organization=org), AccountFactory(patient__organization=org)
    for patient in (first.patient, first.patient, second.patient):
        CoverageFactory(patient=patient)
    api_client.force_authenticate(rep)
    response = api_client.get("/api/v1/coverages/")
    assert response.status_code == 200
    logged = sorted(PhiAccessLog.objects.filter(user=rep).values_list("subject_id", flat=True))
    assert logged == sorted([first.patient_id, second.patient_id])
