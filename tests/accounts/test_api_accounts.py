"""End-to-end tests of the accounts API: accounts (header, flags, status, transfers, adjustments,
charge posting) and charges (edits, corrections, overrides). See ``test_api`` for the matrix rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.models import (
    AdjustmentRequest,
    Charge,
    ChargeEdit,
    Coverage,
    Guarantor,
    LedgerEntry,
    PatientAccount,
)
from staff.models import ApprovalLimit, Role
from tests.accounts.test_api import (
    MEMBERS_READ,
    POSTERS,
    WORKERS,
    account,
    assert_status,
    client_for,
    error_fields,
    everyone,
    last_event,
    matrix,
    other_account,
    other_patient,
    patient,
    phi_rows,
    post_charges,
    primary,
    refs,
)
from tests.conftest import PERSONAS
from tests.factories import (
    AccountFactory,
    ApprovalLimitFactory,
    CoverageFactory,
    GuarantorFactory,
    PatientFactory,
)

# Fixtures shared with test_api (pytest finds them by name in this module).
__all__ = ["account", "everyone", "other_account", "other_patient", "patient", "primary"]

D = Decimal
STATUS_CHANGERS = {"senior_representative", "supervisor", "admin"}


@pytest.fixture
def billed(account, primary, posting_specialist):
    """``account`` with two charges on the primary coverage: 150.00 and 200.00."""
    post_charges(account, posting_specialist, "150.00")
    post_charges(account, posting_specialist, "200.00", code="99214")
    account.refresh_from_db()
    return account


# --- account reads --------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_account_list_shows_only_the_callers_organizations(who, everyone, account, other_account):
    response = client_for(everyone(who)).get(reverse("api:account-list"))
    if who == "anonymous":
        assert_status(response, who, {})
    elif who == "outsider":
        assert refs(response) == {str(other_account.reference)}
    else:
        assert refs(response) == {str(account.reference)}


def test_account_list_row_has_balances_as_strings_and_the_patient_brief(rep, billed, patient):
    (row,) = client_for(rep).get(reverse("api:account-list")).json()["results"]
    assert (row["balance"], row["insurance_balance"], row["patient_balance"]) == ("350.00", "350.00", "0.00")
    assert row["patient"]["reference"] == str(patient.reference)
    assert row["patient"]["full_name"] == "Maria Gonzalez"
    assert "address_line1" not in row["patient"]
    assert (row["status"], row["kind"], row["has_credit_balance"], row["open_edit_count"]) == (
        "open",
        "professional",
        False,
        0,
    )


def test_account_filters(rep, billed, patient, org, other_account):
    hospital = AccountFactory(
        patient=PatientFactory(organization=org),
        kind=PatientAccount.Kind.HOSPITAL,
        financial_class=PatientAccount.FinancialClass.MEDICARE,
        status=PatientAccount.Status.SELF_PAY,
    )
    client = client_for(rep)
    url = reverse("api:account-list")
    assert refs(client.get(url, {"patient": str(patient.reference)})) == {str(billed.reference)}
    assert refs(client.get(url, {"status": "self_pay"})) == {str(hospital.reference)}
    assert refs(client.get(url, {"kind": "hospital"})) == {str(hospital.reference)}
    assert refs(client.get(url, {"financial_class": "medicare"})) == {str(hospital.reference)}
    assert refs(client.get(url, {"account_number": "h100200"})) == {str(billed.reference)}
    assert refs(client.get(url, {"has_credit": "true"})) == set()
    assert len(refs(client.get(url, {"has_credit": "false"}))) == 2
    assert refs(client.get(url, {"account_number": other_account.account_number})) == set()
    assert client.get(url, {"status": "sleeping"}).status_code == 400


def test_credit_balance_filter_finds_accounts_below_zero(rep, posting_specialist, billed, primary):
    # The whole balance moves to the patient, then a charge is reversed: the coverage is in credit.
    services.balance_transfer(
        account=billed, from_coverage=primary, amount="350.00", reason="no coverage", by=posting_specialist
    )
    services.entry_reverse(
        entry=LedgerEntry.objects.get(account=billed, kind="charge", amount=D("150.00")),
        reason="posted to the wrong account",
        by=posting_specialist,
    )
    response = client_for(rep).get(reverse("api:account-list"), {"has_credit": "true"})
    assert refs(response) == {str(billed.reference)}
    (row,) = response.json()["results"]
    assert (row["has_credit_balance"], row["insurance_balance"], row["patient_balance"]) == (
        True,
        "-150.00",
        "350.00",
    )


def test_account_list_query_count_does_not_grow_with_accounts(
    rep, billed, org, django_assert_max_num_queries
):
    client = client_for(rep)
    url = reverse("api:account-list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    AccountFactory.create_batch(6, patient=PatientFactory(organization=org))
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(url).json()["results"]) == 7


@pytest.mark.parametrize("who", PERSONAS)
def test_account_detail_matrix_and_phi_log(who, everyone, billed):
    response = client_for(everyone(who)).get(reverse("api:account-detail", args=[billed.reference]))
    assert_status(response, who, MEMBERS_READ)
    assert phi_rows(billed) == (1 if response.status_code == 200 else 0)
    if response.status_code == 200:
        assert response.json()["balance"] == "350.00"


def test_account_detail_has_buckets_with_aging_flags_and_open_edits(
    rep, posting_specialist, billed, primary, patient
):
    services.balance_transfer(
        account=billed, from_coverage=primary, amount="50.00", reason="deductible", by=posting_specialist
    )
    post_charges(billed, posting_specialist, "75.00", code="99215", diagnoses=())  # no diagnosis: an edit
    services.account_update(account=billed, changes={"dispute_hold": True}, reason="patient disputes", by=rep)

    body = client_for(rep).get(reverse("api:account-detail", args=[billed.reference])).json()
    assert (body["balance"], body["insurance_balance"], body["patient_balance"]) == (
        "425.00",
        "375.00",
        "50.00",
    )
    assert body["guarantor"]["patient"] == str(patient.reference)
    assert body["guarantor"]["relationship"] == "self"
    assert (body["dispute_hold"], body["open_edit_count"]) == (True, 1)
    insurance, self_pay = body["buckets"]
    assert (insurance["coverage"], insurance["priority"], insurance["party"], insurance["balance"]) == (
        str(primary.reference),
        1,
        primary.plan.payer.name,
        "375.00",
    )
    assert (self_pay["coverage"], self_pay["priority"], self_pay["party"], self_pay["balance"]) == (
        None,
        None,
        "Patient",
        "50.00",
    )
    for bucket in (insurance, self_pay):
        assert list(bucket["aging"]) == ["0-30", "31-60", "61-90", "91-120", "120+"]
        assert sum(D(v) for v in bucket["aging"].values()) == D(bucket["balance"])
    # Patient aging restarts on the day the balance became the patient's.
    assert self_pay["aging"]["0-30"] == "50.00"


# --- account writes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_account_create_matrix(who, everyone, patient, org):
    response = client_for(everyone(who)).post(
        reverse("api:account-list"),
        {
            "patient": str(patient.reference),
            "account_number": "H555001",
            "kind": "hospital",
            "service_from": "2026-10-02",
            "financial_class": "medicare",
            "facility": "Riverside Main",
        },
        format="json",
    )
    assert_status(response, who, matrix(POSTERS, ok=201, outsider=400))
    if response.status_code != 201:
        assert not PatientAccount.objects.exists()
        return
    body = response.json()
    assert (body["account_number"], body["kind"], body["financial_class"], body["balance"]) == (
        "H555001",
        "hospital",
        "medicare",
        "0.00",
    )
    account = PatientAccount.objects.get(reference=body["reference"])
    assert account.guarantor.patient == patient  # the patient is their own guarantor
    assert last_event(org, "accounts.account.opened").actor == everyone(who)


def test_account_create_refuses_duplicates_and_foreign_references(
    posting_specialist, patient, account, other_patient, other_org
):
    url = reverse("api:account-list")
    client = client_for(posting_specialist)
    base = {
        "patient": str(patient.reference),
        "account_number": "H9",
        "kind": "hospital",
        "service_from": "2026-10-02",
    }
    response = client.post(url, {**base, "account_number": account.account_number}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "account_number"
    response = client.post(url, {**base, "patient": str(other_patient.reference)}, format="json")
    assert (response.status_code, error_fields(response)) == (400, {"patient"})
    foreign = GuarantorFactory(patient=other_patient)
    response = client.post(url, {**base, "guarantor": str(foreign.reference)}, format="json")
    assert (response.status_code, error_fields(response)) == (400, {"guarantor"})
    response = client.post(url, {**base, "kind": "veterinary"}, format="json")
    assert (response.status_code, error_fields(response)) == (400, {"kind"})
    assert PatientAccount.objects.count() == 1


def test_account_create_with_another_guarantor(posting_specialist, patient, org):
    parent = GuarantorFactory(
        patient=None,
        organization=org,
        relationship=Guarantor.Relationship.PARENT,
        first_name="Rosa",
        last_name="Gonzalez",
    )
    response = client_for(posting_specialist).post(
        reverse("api:account-list"),
        {
            "patient": str(patient.reference),
            "account_number": "H777",
            "kind": "professional",
            "service_from": "2026-10-02",
            "guarantor": str(parent.reference),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert PatientAccount.objects.get(account_number="H777").guarantor == parent


@pytest.mark.parametrize("who", PERSONAS)
def test_account_update_matrix(who, everyone, account, org):
    response = client_for(everyone(who)).post(
        reverse("api:account-update", args=[account.reference]),
        {"financial_assistance_pending": True, "facility": "North clinic", "reason": "application received"},
        format="json",
    )
    assert_status(response, who, matrix(WORKERS))
    account.refresh_from_db()
    if response.status_code != 200:
        assert (account.financial_assistance_pending, account.facility) == (False, "")
        return
    assert response.json()["financial_assistance_pending"] is True
    assert account.facility == "North clinic"
    assert account.history.first().history_change_reason == "application received"
    assert last_event(org, "accounts.account.updated").data["reason"] == "application received"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dispute_hold": True}, "reason"),
        ({"status": "closed", "reason": "x"}, "status"),
        ({"balance": "0.00", "reason": "x"}, "balance"),
        ({"financial_class": "lottery", "reason": "x"}, "financial_class"),
        ({"reason": "nothing"}, "non_field_errors"),
    ],
)
def test_account_update_rejects_bad_input(rep, account, body, field):
    response = client_for(rep).post(
        reverse("api:account-update", args=[account.reference]), body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in error_fields(response)


@pytest.mark.parametrize("who", PERSONAS)
def test_account_change_status_matrix(who, everyone, account):
    response = client_for(everyone(who)).post(
        reverse("api:account-change-status", args=[account.reference]),
        {"status": "self_pay", "reason": "no coverage on file"},
        format="json",
    )
    assert_status(response, who, matrix(STATUS_CHANGERS))
    account.refresh_from_db()
    assert account.status == ("self_pay" if response.status_code == 200 else "open")
    if response.status_code == 200:
        assert response.json()["status"] == "self_pay"


def test_account_change_status_refuses_what_the_rules_refuse(supervisor, billed, rep):
    url = reverse("api:account-change-status", args=[billed.reference])
    client = client_for(supervisor)
    response = client.post(url, {"status": "closed", "reason": "done"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "invalid_transition")
    assert "balance" in response.json()["error"]["message"]
    services.account_update(account=billed, changes={"dispute_hold": True}, reason="dispute", by=rep)
    response = client.post(url, {"status": "in_collections", "reason": "unpaid"}, format="json")
    assert response.status_code == 409
    response = client.post(url, {"status": "bad_debt", "reason": "skip ahead"}, format="json")
    assert response.status_code == 409
    assert error_fields(client.post(url, {"status": "frozen", "reason": "x"}, format="json")) == {"status"}
    billed.refresh_from_db()
    assert billed.status == "open"


# --- transfers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_account_transfer_matrix(who, everyone, billed, primary):
    response = client_for(everyone(who)).post(
        reverse("api:account-transfer", args=[billed.reference]),
        {"from_coverage": str(primary.reference), "amount": "40.00", "reason": "deductible applies"},
        format="json",
    )
    assert_status(response, who, matrix(WORKERS, ok=201))
    billed.refresh_from_db()
    if response.status_code != 201:
        assert (billed.insurance_balance, billed.patient_balance) == (D("350.00"), D("0.00"))
        return
    out, into = response.json()
    assert (out["kind"], out["amount"], out["coverage"]) == ("transfer", "-40.00", str(primary.reference))
    assert (into["kind"], into["amount"], into["coverage"], into["party"]) == (
        "transfer",
        "40.00",
        None,
        "Patient",
    )
    assert out["transfer_group"] == into["transfer_group"]
    assert (billed.insurance_balance, billed.patient_balance) == (D("310.00"), D("40.00"))


def test_transfer_to_a_named_coverage_or_back_from_the_patient(rep, billed, primary, patient):
    secondary = CoverageFactory(patient=patient, priority=Coverage.Priority.SECONDARY)
    url = reverse("api:account-transfer", args=[billed.reference])
    client = client_for(rep)
    response = client.post(
        url,
        {
            "from_coverage": str(primary.reference),
            "to_coverage": str(secondary.reference),
            "amount": "100.00",
            "reason": "crossover",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()[1]["coverage"] == str(secondary.reference)
    # to_next: the secondary's next party is the patient.
    response = client.post(
        url,
        {"from_coverage": str(secondary.reference), "amount": "30.00", "reason": "coinsurance"},
        format="json",
    )
    assert response.json()[1]["coverage"] is None
    response = client.post(
        url,
        {"from_coverage": None, "to_coverage": str(primary.reference), "amount": "30.00", "reason": "rebill"},
        format="json",
    )
    assert response.status_code == 201, response.content
    billed.refresh_from_db()
    assert (billed.insurance_balance, billed.patient_balance) == (D("350.00"), D("0.00"))


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"amount": "999.00"}, 400, "amount"),  # more than the bucket holds
        ({"amount": "0.00"}, 400, "amount"),
        ({"amount": "1.005"}, 400, "amount"),
        ({"amount": 12.5}, 201, None),  # a JSON number is read as a decimal, never a float
        ({"reason": ""}, 400, "reason"),
        ({"to_next": False}, 400, "to_coverage"),
        ({"to_next": True, "to_coverage": None}, 400, "to_next"),
        ({"from_coverage": "00000000-0000-0000-0000-000000000000"}, 400, "from_coverage"),
    ],
)
def test_transfer_rejects_bad_input(rep, billed, primary, body, status, field):
    payload = {"from_coverage": str(primary.reference), "amount": "10.00", "reason": "r", **body}
    response = client_for(rep).post(
        reverse("api:account-transfer", args=[billed.reference]), payload, format="json"
    )
    assert response.status_code == status, response.content
    if field:
        assert field in error_fields(response)
        assert LedgerEntry.objects.filter(kind="transfer").count() == 0


def test_transfer_refuses_a_coverage_of_another_patient(rep, billed, primary, org):
    stranger = CoverageFactory(patient=PatientFactory(organization=org))
    response = client_for(rep).post(
        reverse("api:account-transfer", args=[billed.reference]),
        {
            "from_coverage": str(primary.reference),
            "to_coverage": str(stranger.reference),
            "amount": "5.00",
            "reason": "x",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "coverage"


# --- adjustments ----------------------------------------------------------------------------------------


def adjust(client, account, amount="25.00", coverage=None, **extra):
    return client.post(
        reverse("api:account-adjust", args=[account.reference]),
        {
            "kind": "other_adjustment",
            "amount": amount,
            "reason_code": "COURTESY",
            "memo": "service recovery",
            "coverage": str(coverage.reference) if coverage else None,
            **extra,
        },
        format="json",
    )


@pytest.mark.parametrize("who", PERSONAS)
def test_account_adjust_matrix(who, everyone, billed, primary):
    # No role has a limit in this organization, so every adjustment waits for approval.
    response = adjust(client_for(everyone(who)), billed, coverage=primary)
    assert_status(response, who, matrix(WORKERS, ok=202))
    if response.status_code != 202:
        assert not AdjustmentRequest.objects.exists()
        return
    body = response.json()
    assert (body["status"], body["amount"], body["kind"], body["entry"]) == (
        "pending",
        "25.00",
        "other_adjustment",
        None,
    )
    assert body["requested_by"]["reference"] == str(everyone(who).reference)
    billed.refresh_from_db()
    assert billed.balance == D("350.00")


def test_adjust_within_the_limit_posts_at_once(rep, billed, primary, org):
    ApprovalLimitFactory(
        organization=org, role=Role.REPRESENTATIVE, kind=ApprovalLimit.Kind.ADJUSTMENT, max_amount=D("50.00")
    )
    response = adjust(client_for(rep), billed, amount="50.00", coverage=primary)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["amount"], body["reason_code"], body["coverage"]) == (
        "other_adjustment",
        "-50.00",
        "COURTESY",
        str(primary.reference),
    )
    assert body["actor"]["reference"] == str(rep.reference)
    billed.refresh_from_db()
    assert billed.balance == D("300.00")
    assert not AdjustmentRequest.objects.exists()


def test_adjust_above_the_limit_waits_for_approval(rep, billed, primary, org):
    ApprovalLimitFactory(
        organization=org, role=Role.REPRESENTATIVE, kind=ApprovalLimit.Kind.ADJUSTMENT, max_amount=D("50.00")
    )
    response = adjust(client_for(rep), billed, amount="50.01", coverage=primary)
    assert response.status_code == 202, response.content
    request = AdjustmentRequest.objects.get(reference=response.json()["reference"])
    assert (request.status, request.amount, request.requested_by) == ("pending", D("50.01"), rep)
    assert not LedgerEntry.objects.filter(kind="other_adjustment").exists()


def test_write_offs_use_the_write_off_limit(rep, billed, primary, org):
    ApprovalLimitFactory(
        organization=org, role=Role.REPRESENTATIVE, kind=ApprovalLimit.Kind.WRITE_OFF, max_amount=D("20.00")
    )
    client = client_for(rep)
    assert (
        adjust(client, billed, "20.00", primary, kind="write_off", reason_code="SMALL_BAL").status_code == 201
    )
    assert adjust(client, billed, "20.00", primary).status_code == 202  # no adjustment limit


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"kind": "charge"}, "kind"),
        ({"reason_code": "BECAUSE"}, "reason_code"),
        ({"memo": ""}, "memo"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "351.00"}, "amount"),
    ],
)
def test_adjust_rejects_bad_input(rep, billed, primary, extra, field):
    response = adjust(client_for(rep), billed, coverage=primary, **extra)
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert not AdjustmentRequest.objects.exists()


def test_adjust_refuses_another_organizations_coverage(rep, billed, other_patient):
    foreign = CoverageFactory(patient=other_patient)
    response = adjust(client_for(rep), billed, coverage=foreign)
    assert (response.status_code, error_fields(response)) == (400, {"coverage"})
    assert "does not exist" in response.json()["coverage"][0]


# --- charge posting -----------------------------------------------------------------------------------------


CHARGES = {
    "charges": [
        {
            "service_date": "2026-09-01",
            "code_type": "cpt",
            "code": "99213",
            "amount": "150.00",
            "diagnoses": ["E11.9"],
        },
        {
            "service_date": "2026-09-01",
            "code_type": "cpt",
            "code": "36415",
            "amount": "25.00",
            "units": "1",
            "modifiers": ["59"],
            "external_id": "LAB-1",
        },
    ]
}


@pytest.mark.parametrize("who", PERSONAS)
def test_post_charges_matrix(who, everyone, account, primary, org):
    response = client_for(everyone(who)).post(
        reverse("api:account-charges", args=[account.reference]), CHARGES, format="json"
    )
    assert_status(response, who, matrix(POSTERS, ok=201))
    account.refresh_from_db()
    if response.status_code != 201:
        assert (Charge.objects.count(), account.balance) == (0, D("0.00"))
        return
    visit, lab = response.json()
    assert (visit["code"], visit["amount"], visit["diagnoses"], visit["edits"]) == (
        "99213",
        "150.00",
        ["E119"],
        [],
    )
    assert (lab["modifiers"], lab["external_id"], lab["status"]) == (["59"], "LAB-1", "posted")
    # The lab line has no diagnosis: an open edit comes back with it.
    assert [(e["rule"], e["status"]) for e in lab["edits"]] == [("diagnosis_missing", "open")]
    assert (account.balance, account.insurance_balance) == (D("175.00"), D("175.00"))
    assert last_event(org, "accounts.charges.posted").data["total"] == "175.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"charges": []}, "charges"),
        ({}, "charges"),
        ({"charges": [{**CHARGES["charges"][0], "amount": "0.00"}]}, "charges"),
        ({"charges": [{**CHARGES["charges"][0], "code_type": "icd"}]}, "charges"),
        (
            {"charges": [CHARGES["charges"][0], {**CHARGES["charges"][1], "service_date": "yesterday"}]},
            "charges",
        ),
        ({"charges": [{**CHARGES["charges"][0], "modifiers": ["ABC"]}]}, "charges"),
        ({"charges": [{**CHARGES["charges"][0], "units": "0"}]}, "charges"),
    ],
)
def test_post_charges_is_all_or_nothing(posting_specialist, account, body, field):
    response = client_for(posting_specialist).post(
        reverse("api:account-charges", args=[account.reference]), body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert not Charge.objects.exists()
    assert not LedgerEntry.objects.exists()


# --- charges -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_charge_list_matrix_and_filters(who, everyone, billed, posting_specialist):
    flagged = post_charges(billed, posting_specialist, "90.00", code="99215", diagnoses=())[0]
    client = client_for(everyone(who))
    url = reverse("api:charge-list")
    response = client.get(url)
    if who == "anonymous":
        assert_status(response, who, {})
        return
    if who == "outsider":
        assert refs(response) == set()
        assert refs(client.get(url, {"account": str(billed.reference)})) == set()
        return
    all_charges = {str(c.reference) for c in Charge.objects.filter(account=billed)}
    assert refs(response) == all_charges
    assert refs(client.get(url, {"has_open_edits": "true"})) == {str(flagged.reference)}
    assert refs(client.get(url, {"has_open_edits": "false"})) == all_charges - {str(flagged.reference)}
    assert refs(client.get(url, {"account": str(billed.reference), "status": "reversed"})) == set()


def test_charge_list_query_count_does_not_grow(
    rep, account, primary, posting_specialist, django_assert_max_num_queries
):
    post_charges(account, posting_specialist, "10.00", diagnoses=())
    client = client_for(rep)
    url = reverse("api:charge-list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    post_charges(
        account, posting_specialist, *["10.00"] * 8, diagnoses=()
    )  # duplicates and missing diagnoses
    with django_assert_max_num_queries(len(few)):
        body = client.get(url).json()
    assert len(body["results"]) == 9
    assert all(row["edits"] for row in body["results"])


@pytest.mark.parametrize("who", PERSONAS)
def test_charge_detail_matrix_logs_the_account(who, everyone, billed):
    charge = Charge.objects.filter(account=billed).first()
    response = client_for(everyone(who)).get(reverse("api:charge-detail", args=[charge.reference]))
    assert_status(response, who, MEMBERS_READ)
    assert phi_rows(billed) == (1 if response.status_code == 200 else 0)
    if response.status_code == 200:
        assert (response.json()["account"], response.json()["amount"]) == (str(billed.reference), "150.00")


@pytest.mark.parametrize("who", PERSONAS)
def test_charge_correct_matrix(who, everyone, account, primary, posting_specialist):
    (charge,) = post_charges(account, posting_specialist, "80.00", diagnoses=())
    response = client_for(everyone(who)).post(
        reverse("api:charge-correct", args=[charge.reference]),
        {"diagnoses": ["I10"], "modifiers": ["25"], "reason": "coder added the diagnosis"},
        format="json",
    )
    assert_status(response, who, matrix(POSTERS))
    charge.refresh_from_db()
    edit = ChargeEdit.objects.get(charge=charge)
    if response.status_code != 200:
        assert (charge.diagnoses, edit.status) == ([], "open")
        return
    assert (charge.diagnoses, charge.modifiers) == (["I10"], ["25"])
    # The edits ran again: the missing diagnosis is resolved.
    assert response.json()["edits"][0]["status"] == "resolved"
    assert edit.status == "resolved"


def test_charge_correct_refuses_money_facts_and_reversed_charges(posting_specialist, billed):
    charge = Charge.objects.filter(account=billed).first()
    url = reverse("api:charge-correct", args=[charge.reference])
    client = client_for(posting_specialist)
    response = client.post(url, {"units": "0", "reason": "x"}, format="json")
    assert (response.status_code, error_fields(response)) == (400, {"units"})
    for field, value in (("amount", "1.00"), ("service_date", "2026-01-01")):
        response = client.post(url, {field: value, "reason": "x"}, format="json")
        assert (response.status_code, error_fields(response)) == (400, {field})
    services.entry_reverse(
        entry=LedgerEntry.objects.get(charge=charge), reason="wrong patient", by=posting_specialist
    )
    response = client.post(url, {"code": "99212", "reason": "x"}, format="json")
    assert response.status_code == 409
    charge.refresh_from_db()
    assert (charge.code, charge.amount) == ("99213", D("150.00"))


@pytest.mark.parametrize("who", PERSONAS)
def test_charge_override_edit_matrix(who, everyone, account, primary, posting_specialist, org):
    (charge,) = post_charges(account, posting_specialist, "80.00", diagnoses=())
    edit = ChargeEdit.objects.get(charge=charge)
    response = client_for(everyone(who)).post(
        reverse("api:charge-override-edit", args=[charge.reference]),
        {"edit": str(edit.reference), "reason": "screening visit, no diagnosis billed"},
        format="json",
    )
    assert_status(response, who, matrix(POSTERS | {"senior_representative"}))
    edit.refresh_from_db()
    if response.status_code != 200:
        assert edit.status == "open"
        return
    assert (edit.status, edit.resolved_by) == ("overridden", everyone(who))
    (shown,) = response.json()["edits"]
    assert (shown["status"], shown["override_reason"]) == (
        "overridden",
        "screening visit, no diagnosis billed",
    )
    assert last_event(org, "accounts.charge_edit.overridden").data["edit"] == str(edit.reference)


def test_override_edit_refuses_an_edit_of_another_charge_and_a_second_override(
    senior_rep, account, primary, posting_specialist
):
    first, second = post_charges(account, posting_specialist, "80.00", "90.00", code="99212", diagnoses=())
    other_edit = ChargeEdit.objects.filter(charge=second).first()
    url = reverse("api:charge-override-edit", args=[first.reference])
    client = client_for(senior_rep)
    response = client.post(url, {"edit": str(other_edit.reference), "reason": "x"}, format="json")
    assert (response.status_code, error_fields(response)) == (400, {"edit"})
    edit = ChargeEdit.objects.get(charge=first)
    assert client.post(url, {"edit": str(edit.reference), "reason": "ok"}, format="json").status_code == 200
    response = client.post(url, {"edit": str(edit.reference), "reason": "again"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "invalid_transition")
    assert error_fields(client.post(url, {"edit": str(edit.reference)}, format="json")) == {"reason"}


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_accounts_and_charges_offer_no_generic_writes(admin_user, billed, method):
    charge = Charge.objects.filter(account=billed).first()
    for url in (
        reverse("api:account-detail", args=[billed.reference]),
        reverse("api:charge-detail", args=[charge.reference]),
    ):
        response = getattr(client_for(admin_user), method)(url, {"status": "closed"}, format="json")
        assert response.status_code == 405
    assert client_for(admin_user).post(reverse("api:charge-list"), {}, format="json").status_code == 405
