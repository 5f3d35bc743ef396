"""The inquiries API: the role matrix (anonymous, outsider, every role), 404 across organizations, and the
disclosure guard: balances, the ledger and claims are absent from a case until the caller is verified."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts import services as account_services
from inquiries.models import Case, Interaction, Verification
from staff.models import PhiAccessLog
from tests.conftest import PERSONAS, login_api
from tests.factories import AccountFactory, AuthorizedContactFactory, CoverageFactory
from tests.factories.claims import ClaimFactory
from tests.factories.inquiries import CaseFactory, DepartmentFactory, ScriptFactory

WORKERS = {"representative", "senior_representative", "appeals_coordinator", "supervisor", "admin"}


@pytest.fixture
def account(org, posting_specialist):
    account = AccountFactory(
        patient__organization=org,
        patient__date_of_birth=date(1961, 4, 9),
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
    ClaimFactory(account=account)
    return account


@pytest.fixture
def case(account):
    return CaseFactory(account=account)


def api(name, *args):
    return reverse(f"api:{name}", args=args)


@pytest.mark.parametrize("who", PERSONAS)
def test_case_list_and_detail_across_roles(who, persona, api_client, case):
    client = login_api(api_client, persona(who))
    listing = client.get(api("case-list"))
    detail = client.get(api("case-detail", case.reference))
    if who == "anonymous":
        assert listing.status_code in (401, 403) and detail.status_code in (401, 403)
    elif who == "outsider":
        assert listing.status_code == 200 and listing.json()["results"] == []
        assert detail.status_code == 404
    else:
        assert [row["number"] for row in listing.json()["results"]] == [case.number]
        assert "balances" not in listing.json()["results"][0]
        assert detail.status_code == 200


@pytest.mark.parametrize("who", PERSONAS)
def test_opening_a_case_across_roles(who, persona, api_client, org, account):
    client = login_api(api_client, persona(who))
    response = client.post(
        api("case-list"),
        {
            "organization": str(org.reference),
            "channel": "phone_inbound",
            "category": "claim_status",
            "caller_type": "physician_office",
            "provider_name": "Lakeview Cardiology",
            "summary": "Claim status for September",
            "account": str(account.reference),
        },
        format="json",
    )
    if who == "anonymous":
        assert response.status_code in (401, 403)
    elif who == "outsider":
        # The account is not among what they may see: refused before anything is written.
        assert response.status_code == 400 and "does not exist" in str(response.json()["account"])
    elif who in WORKERS:
        assert response.status_code == 201, response.json()
        assert response.json()["account_number"] == "H2026-0417"
        assert "balances" not in response.json()
    else:
        assert response.status_code == 403
    assert Case.objects.count() == (1 if who in WORKERS else 0)


def test_balances_are_absent_until_the_caller_is_verified(api_client, rep, case, account):
    client = login_api(api_client, rep)
    body = client.get(api("case-detail", case.reference)).json()
    assert "balances" not in body and "ledger" not in body and "claims" not in body
    assert body["disclosure"]["balances"] is False
    assert body["disclosure"]["reasons"][0].startswith("The caller has not been verified")
    assert "283.50" not in str(body)

    response = client.post(
        api("verification-list"),
        {
            "case": str(case.reference),
            "caller_kind": "patient",
            "answers": {"dob": "1961-04-09", "ssn_last4": "4321", "address": ""},
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["passed"] is True
    assert "4321" not in str(response.json())
    body = client.get(api("case-detail", case.reference)).json()
    assert body["balances"] == {"total": "283.50", "patient": "283.50", "insurance": "0.00"}
    assert body["ledger"][0]["amount"] == "283.50"
    assert len(body["claims"]) == 1
    assert body["disclosure"]["verified"] is True
    assert PhiAccessLog.objects.filter(user=rep, subject_id=account.pk).count() >= 2


def test_a_spouse_for_balances_gets_balances_but_no_claims(api_client, rep, case, account):
    spouse = AuthorizedContactFactory(patient=account.patient, name="Ann", scopes=["balances"])
    client = login_api(api_client, rep)
    client.post(
        api("verification-list"),
        {
            "case": str(case.reference),
            "caller_kind": "authorized_contact",
            "authorized_contact": str(spouse.reference),
            "answers": {"dob": "1961-04-09", "ssn_last4": "4321"},
        },
        format="json",
    )
    body = client.get(api("case-detail", case.reference)).json()
    assert body["balances"]["total"] == "283.50" and "claims" not in body
    assert body["disclosure"]["claims"] is False


def test_a_failed_verification_is_recorded_and_discloses_nothing(api_client, rep, case):
    client = login_api(api_client, rep)
    response = client.post(
        api("verification-list"),
        {
            "case": str(case.reference),
            "caller_kind": "patient",
            "answers": {"dob": "1970-01-01", "ssn_last4": "4321"},
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["passed"] is False
    assert response.json()["mismatched"] == ["dob"]
    assert "balances" not in client.get(api("case-detail", case.reference)).json()


@pytest.mark.parametrize("who", sorted(WORKERS))
def test_the_override_is_for_senior_representatives_and_supervisors(who, persona, api_client, case):
    client = login_api(api_client, persona(who))
    response = client.post(
        api("case-override-disclosure", case.reference),
        {"reason": "Court order faxed and checked"},
        format="json",
    )
    if who in ("senior_representative", "supervisor", "admin"):
        assert response.status_code == 200
        assert response.json()["balances"]["total"] == "283.50"
        assert response.json()["disclosure"]["override_reason"] == "Court order faxed and checked"
        assert PhiAccessLog.objects.filter(action="disclose").count() == 1
    else:
        assert response.status_code == 403
        assert not PhiAccessLog.objects.filter(action="disclose").exists()


def test_an_override_needs_a_reason(api_client, supervisor, case):
    client = login_api(api_client, supervisor)
    response = client.post(
        api("case-override-disclosure", case.reference), {"reason": "short"}, format="json"
    )
    assert response.status_code == 400 and "reason" in response.json()


def test_transitions_by_api_with_their_errors(api_client, rep, case, org):
    client = login_api(api_client, rep)
    response = client.post(api("case-close", case.reference))
    assert response.status_code == 409 and response.json()["error"]["code"] == "invalid_transition"
    response = client.post(
        api("case-pend", case.reference), {"follow_up_on": "2020-01-01", "reason": "x"}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == "follow_up_on"
    department = DepartmentFactory(organization=org)
    response = client.post(
        api("case-transfer", case.reference),
        {"department": str(department.reference), "reason": "UM"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "transferred"
    response = client.post(
        api("case-refer", case.reference), {"kind": "appeal", "reason": "Appeal"}, format="json"
    )
    assert response.status_code == 201 and response.json()["status"] == "open"
    assert (
        client.post(api("case-escalate", case.reference), {"reason": "Supervisor"}, format="json").status_code
        == 200
    )
    assert client.post(api("case-take", case.reference)).json()["status"] == "in_progress"
    response = client.post(api("case-resolve", case.reference), {"resolution": "Done"}, format="json")
    assert response.json()["status"] == "resolved"
    assert client.post(api("case-close", case.reference)).json()["status"] == "closed"
    assert (
        client.post(api("case-reopen", case.reference), {"reason": "again"}, format="json").status_code == 403
    )


def test_another_organizations_rows_are_404_or_do_not_exist(api_client, rep, other_org):
    elsewhere = CaseFactory(account__patient__organization=other_org)
    client = login_api(api_client, rep)
    assert client.get(api("case-detail", elsewhere.reference)).status_code == 404
    assert (
        client.post(api("case-resolve", elsewhere.reference), {"resolution": "x"}, format="json").status_code
        == 404
    )
    response = client.post(
        api("interaction-list"),
        {
            "case": str(elsewhere.reference),
            "direction": "inbound",
            "channel": "phone_inbound",
            "relationship": "self",
            "outcome": "no_answer",
        },
        format="json",
    )
    assert response.status_code == 400 and "does not exist" in str(response.json()["case"])
    assert not Interaction.objects.exists()


def test_logging_a_contact_by_api_flags_a_missed_disclosure(api_client, rep, case, org):
    script = ScriptFactory(organization=org)
    client = login_api(api_client, rep)
    response = client.post(
        api("interaction-list"),
        {
            "case": str(case.reference),
            "direction": "outbound",
            "channel": "phone_outbound",
            "relationship": "spouse",
            "outcome": "left_message",
            "message_left_with": "spouse",
            "script": str(script.reference),
            "steps_completed": [1],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["disclosures_missed"] == [2] and body["script"] == f"{script.name} v1"
    listing = client.get(api("interaction-list"), {"case": str(case.reference)}).json()
    assert [row["reference"] for row in listing["results"]] == [body["reference"]]


@pytest.mark.parametrize("who", PERSONAS)
def test_verifications_across_roles(who, persona, api_client, case):
    client = login_api(api_client, persona(who))
    response = client.post(
        api("verification-list"),
        {
            "case": str(case.reference),
            "caller_kind": "patient",
            "answers": {"dob": "1961-04-09", "ssn_last4": "4321"},
        },
        format="json",
    )
    if who == "anonymous":
        assert response.status_code in (401, 403)
    elif who in WORKERS:
        assert response.status_code == 201
    else:
        assert response.status_code in (400, 403)
    assert Verification.objects.count() == (1 if who in WORKERS else 0)


def test_benefit_investigations_and_estimates_by_api(api_client, rep, case, account):
    coverage = CoverageFactory(patient=account.patient)
    client = login_api(api_client, rep)
    response = client.post(
        api("benefit-investigation-list"),
        {
            "case": str(case.reference),
            "coverage": str(coverage.reference),
            "plan_active": True,
            "deductible": "500.00",
            "deductible_met": "100.00",
            "coinsurance_percent": "20",
            "copay": "25.00",
            "out_of_pocket_max": "3000.00",
            "out_of_pocket_met": "0.00",
            "reference_number": "R-9",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    investigation = response.json()
    assert investigation["deductible"] == "500.00" and investigation["payer_name"]
    response = client.post(
        api("benefit-investigation-estimate", investigation["reference"]),
        {"services": [{"code": "99214", "description": "Visit", "amount": "1000.00"}]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["patient_amount"] == "545.00"  # 400 + 20% of 600 + 25
    detail = client.get(api("benefit-investigation-detail", investigation["reference"])).json()
    assert detail["estimates"][0]["lines"][0]["coinsurance_amount"] == "120.00"
    bad = client.post(
        api("benefit-investigation-estimate", investigation["reference"]),
        {"services": [{"description": "Visit", "amount": "-5"}]},
        format="json",
    )
    assert bad.status_code == 400
