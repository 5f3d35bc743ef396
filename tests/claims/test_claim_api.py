"""The claims API under /api/v1/: claims (list, read, create from charges, submit, change status,
correct, notes) and 837 intake, each across the persona matrix. Another organization's claims are
never seen: their references answer 404 in URLs and "does not exist" in request bodies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services as account_services
from claims.models import Claim
from claims.services.claims import claim_create_from_charges, claim_submit
from staff.models import PhiAccessLog
from tests.conftest import PERSONAS
from tests.factories import AccountFactory, CoverageFactory, PayerFactory, PayerRuleFactory, PlanFactory
from tests.factories.claims import ClaimFactory

D = Decimal
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "x12-samples"
ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
CLAIM_WORKERS = {"senior_representative", "posting_specialist", "supervisor", "admin"}


def client_for(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def expect(response: Any, who: str, *, ok: int, allowed: set[str], outsider: int = 404) -> bool:
    """Assert the persona matrix; True when the call was allowed (and should have taken effect)."""
    if who == "anonymous":
        assert response.status_code in (401, 403), response.content
        assert response.data["detail"].code == "not_authenticated"
        return False
    if who == "outsider":
        assert response.status_code == outsider, response.content
        return False
    expected = ok if who in allowed else 403
    assert response.status_code == expected, (who, response.status_code, response.content)
    return who in allowed


def charge(code="99213", amount="150.00", day=date(2026, 9, 1), **kw):
    kw.setdefault("diagnoses", ("E119",))
    return account_services.ChargeInput(service_date=day, code_type="cpt", code=code, amount=D(amount), **kw)


@pytest.fixture
def account(org):
    return AccountFactory(patient__organization=org, account_number="H100200")


@pytest.fixture
def coverage(account):
    coverage = CoverageFactory(patient=account.patient)
    PayerRuleFactory(payer=coverage.plan.payer, timely_filing_days=90)
    return coverage


@pytest.fixture
def charges(account, coverage, posting_specialist):
    return account_services.charge_post(
        account=account, items=[charge(), charge("99214", "60.00")], by=posting_specialist
    )


@pytest.fixture
def claim(account, coverage, charges, posting_specialist):
    claim = claim_create_from_charges(
        account=account, coverage=coverage, charges=charges, by=posting_specialist
    )
    claim_submit(claim=claim, by=posting_specialist, submitted_on=date(2026, 9, 5))
    return claim


@pytest.fixture
def other_claim(other_org):
    return ClaimFactory(account__patient__organization=other_org)


# --- reads ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_the_list_shows_only_the_callers_organizations(who, persona, claim, other_claim):
    response = client_for(persona(who)).get(reverse("api:claim-list"))
    if who == "anonymous":
        assert response.status_code in (401, 403)
        return
    assert response.status_code == 200
    rows = response.json()["results"]
    expected = other_claim if who == "outsider" else claim
    assert [row["reference"] for row in rows] == [str(expected.reference)]
    assert PhiAccessLog.objects.filter(subject_id=expected.account_id).count() == 1


def test_the_list_filters_and_money_is_a_string(rep, org, claim, coverage, account):
    ClaimFactory(account__patient__organization=org, status=Claim.Status.DENIED)
    client = client_for(rep)

    def refs(**params: str) -> list[str]:
        return [row["reference"] for row in client.get(reverse("api:claim-list"), params).json()["results"]]

    assert refs(status="submitted") == [str(claim.reference)]
    assert refs(payer=str(coverage.plan.payer.reference)) == [str(claim.reference)]
    assert refs(account=str(account.reference)) == [str(claim.reference)]
    assert refs(patient_control_number="h100200") == [str(claim.reference)]
    row = client.get(reverse("api:claim-list"), {"status": "submitted"}).json()["results"][0]
    assert (row["billed_amount"], row["status"], row["kind"], row["frequency"]) == (
        "210.00",
        "submitted",
        "professional",
        "1",
    )
    assert row["timely_filing_deadline"] == "2026-11-30"


@pytest.mark.parametrize("who", PERSONAS)
def test_a_claim_is_read_with_lines_notes_and_status_history(who, persona, claim):
    response = client_for(persona(who)).get(reverse("api:claim-detail", args=[claim.reference]))
    if not expect(response, who, ok=200, allowed=set(ROLES)):
        return
    body = response.json()
    assert [(line["line_number"], line["code"], line["billed_amount"]) for line in body["lines"]] == [
        (1, "99213", "150.00"),
        (2, "99214", "60.00"),
    ]
    assert [h["status"] for h in body["status_history"]] == ["created", "submitted"]
    assert body["status_history"][1]["reason"] == "submitted to the payer"
    assert body["account_number"] == "H100200" and body["notes"] == []
    assert PhiAccessLog.objects.filter(user=persona(who), subject_id=claim.pk).count() == 1


def test_another_organizations_claim_is_not_found(rep, other_claim):
    assert client_for(rep).get(reverse("api:claim-detail", args=[other_claim.reference])).status_code == 404


# --- writes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_creating_a_claim_from_charges_is_for_claim_workers(who, persona, account, coverage, charges):
    body = {
        "account": str(account.reference),
        "coverage": str(coverage.reference),
        "charges": [str(c.reference) for c in charges],
    }
    response = client_for(persona(who)).post(reverse("api:claim-list"), body, format="json")
    # The outsider may create claims in their own organization, so the request is read: this
    # organization's account does not exist for them.
    if expect(response, who, ok=201, allowed=CLAIM_WORKERS, outsider=400):
        assert response.json()["status"] == "created" and len(response.json()["lines"]) == 2
        assert Claim.objects.count() == 1
    else:
        assert not Claim.objects.exists()
    if who == "outsider":
        assert set(response.json()) == {"account", "coverage", "charges"}


def test_creating_is_refused_with_the_open_edits_named(posting_specialist, account, coverage):
    (flagged,) = account_services.charge_post(
        account=account, items=[charge(diagnoses=())], by=posting_specialist
    )
    response = client_for(posting_specialist).post(
        reverse("api:claim-list"),
        {
            "account": str(account.reference),
            "coverage": str(coverage.reference),
            "charges": [str(flagged.reference)],
        },
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "charges" and "Diagnosis missing" in error["message"]
    assert error["details"]["edits"] == [str(flagged.edits.get().reference)]


@pytest.mark.parametrize("who", PERSONAS)
def test_changing_status_follows_the_roles_and_the_transition_table(who, persona, claim):
    client = client_for(persona(who))
    path = reverse("api:claim-change-status", args=[claim.reference])
    response = client.post(path, {"status": "denied", "reason": "CO-16"}, format="json")
    if expect(response, who, ok=200, allowed=CLAIM_WORKERS):
        assert response.json()["status"] == "denied"
        refused = client.post(path, {"status": "created", "reason": "Back"}, format="json")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid_transition"
    else:
        claim.refresh_from_db()
        assert claim.status == "submitted"


def test_a_status_change_needs_a_reason_and_a_known_status(supervisor, claim):
    client = client_for(supervisor)
    path = reverse("api:claim-change-status", args=[claim.reference])
    assert set(client.post(path, {"status": "denied"}, format="json").json()) == {"reason"}
    assert set(client.post(path, {"status": "lost", "reason": "x"}, format="json").json()) == {"status"}


@pytest.mark.parametrize("who", PERSONAS)
def test_submitting_is_for_claim_workers(who, persona, account, coverage, charges, posting_specialist):
    claim = claim_create_from_charges(
        account=account, coverage=coverage, charges=charges, by=posting_specialist
    )
    response = client_for(persona(who)).post(
        reverse("api:claim-submit", args=[claim.reference]), {"submitted_on": "2026-09-04"}, format="json"
    )
    if expect(response, who, ok=200, allowed=CLAIM_WORKERS):
        body = response.json()
        assert (body["status"], body["submitted_on"], body["timely_filing_deadline"]) == (
            "submitted",
            "2026-09-04",
            "2026-11-30",
        )


def test_correcting_returns_the_new_claim(supervisor, claim):
    response = client_for(supervisor).post(
        reverse("api:claim-correct", args=[claim.reference]),
        {"frequency": "7", "reason": "New modifier"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["frequency"], body["original_claim"], body["status"]) == (
        "7",
        str(claim.reference),
        "created",
    )
    again = client_for(supervisor).post(
        reverse("api:claim-correct", args=[claim.reference]),
        {"frequency": "8", "reason": "Void"},
        format="json",
    )
    assert again.status_code == 409
    bad = client_for(supervisor).post(
        reverse("api:claim-correct", args=[claim.reference]), {"frequency": "1", "reason": "x"}, format="json"
    )
    assert set(bad.json()) == {"frequency"}


@pytest.mark.parametrize("who", PERSONAS)
def test_notes_are_for_everyone_in_the_organization(who, persona, claim):
    response = client_for(persona(who)).post(
        reverse("api:claim-notes", args=[claim.reference]), {"text": "Payer says in process."}, format="json"
    )
    if expect(response, who, ok=201, allowed=set(ROLES)):
        assert response.json()["text"] == "Payer says in process."
        assert claim.notes.count() == 1


# --- 837 intake -------------------------------------------------------------------------------------


@pytest.fixture
def key_insurance(org):
    payer = PayerFactory(organization=org, name="Key Insurance Company", edi_payer_id="999996666")
    return PlanFactory(payer=payer, group_number="2222-SJ")


def upload(name: str = "demo.example1.837", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else (SAMPLES / name).read_bytes())


def intake(user: Any, organization: Any, file: SimpleUploadedFile) -> Any:
    return client_for(user).post(
        reverse("api:claim-import-837"),
        {"organization": str(organization.reference), "file": file},
        format="multipart",
    )


@pytest.mark.parametrize("who", PERSONAS)
def test_837_intake_is_for_claim_workers(who, persona, org, key_insurance):
    response = intake(persona(who), org, upload())
    if expect(response, who, ok=201, allowed=CLAIM_WORKERS):
        body = response.json()
        assert (body["ok"], body["created"], body["charges_created"]) == (True, 1, 4)
        assert body["claims"][0]["claim"] == str(Claim.objects.get().reference)
    else:
        assert not Claim.objects.exists()


def test_837_intake_answers_200_when_everything_was_received_before(posting_specialist, org, key_insurance):
    assert intake(posting_specialist, org, upload()).status_code == 201
    again = intake(posting_specialist, org, upload())
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["existing"]) == (0, 1)


def test_837_intake_answers_400_with_every_problem(posting_specialist, org):
    response = intake(posting_specialist, org, upload())
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and body["created"] == 0
    assert [(e["claim"], "no payer of" in e["message"]) for e in body["errors"]] == [("26463774", True)]
    assert not Claim.objects.exists()


def test_837_intake_refuses_a_file_that_is_not_an_837(posting_specialist, org):
    response = intake(
        posting_specialist, org, upload("remit.835", (SAMPLES / "managed-care.835").read_bytes())
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["claim"] == "" and error["message"].startswith("file: remit.835 is not an 837 claim file")


def test_837_intake_into_an_organization_the_caller_is_not_in_is_not_found(outsider, org, key_insurance):
    assert intake(outsider, org, upload()).status_code == 404
    assert not Claim.objects.exists()
