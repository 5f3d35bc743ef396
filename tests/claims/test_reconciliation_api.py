"""The deposits, reconciliation, insurance audit and code-text API, with the persona matrix of
``tests.conftest.PERSONAS``: every member reads; posting specialists, supervisors and admins
record deposits and work audits; supervisors and admins load code texts. The outsider (an
admin of another organization) gets 404 for ``org``'s references and never sees its rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from claims.models import CodeDescription, Deposit, InsuranceAudit
from claims.services.audits import audit_open
from claims.services.codes import code_descriptions_load
from claims.services.reconciliation import deposit_create
from core.models import TimelineEvent
from staff.models import PhiAccessLog
from tests.conftest import PERSONAS
from tests.factories import AccountFactory, PayerFactory
from tests.factories.claims import ClaimFactory
from tests.factories.remittances import ClaimPaymentFactory, RemittancePaymentFactory

pytestmark = pytest.mark.django_db

ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
POSTERS = ("posting_specialist", "supervisor", "admin")
READ = {"outsider": 404, **dict.fromkeys(ROLES, 200)}
POSTER_WRITE = {"outsider": 404, **{r: 200 if r in POSTERS else 403 for r in ROLES}}
POSTER_CREATE = {**POSTER_WRITE, **dict.fromkeys(POSTERS, 201)}
# A body naming another organization's payer or claims fails as "does not exist" before the
# organization is looked at: the outsider learns nothing either way.
FOREIGN_BODY_CREATE = {**POSTER_CREATE, "outsider": 400}
SUPERVISING = {"outsider": 404, **{r: 200 if r in ("supervisor", "admin") else 403 for r in ROLES}}
DAY = date(2026, 11, 2)


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


@pytest.fixture
def everyone(persona, other_rep):
    return persona


@pytest.fixture
def payer(org):
    return PayerFactory(organization=org, name="Prairie Mutual", edi_payer_id="PM001")


@pytest.fixture
def remittance(org, payer):
    payment = RemittancePaymentFactory(
        file__organization=org,
        payer=payer,
        trace_number="EFT77",
        total_paid=Decimal("300.00"),
        payment_date=DAY,
    )
    ClaimPaymentFactory(payment=payment, paid=Decimal("300.00"))
    return payment


@pytest.fixture
def deposit(org, posting_specialist, payer):
    return deposit_create(
        organization=org,
        payer=payer,
        deposit_date=DAY,
        amount="300.00",
        trace_number="X1",
        by=posting_specialist,
    )


@pytest.fixture
def other_deposit(other_org, outsider):
    return deposit_create(
        organization=other_org, deposit_date=DAY, amount="5.00", trace_number="OUT", by=outsider
    )


@pytest.fixture
def claim(org, payer):
    return ClaimFactory(account=AccountFactory(patient__organization=org), payer=payer)


@pytest.fixture
def audit(org, posting_specialist, payer, claim):
    return audit_open(
        organization=org,
        payer=payer,
        kind="desk",
        requested_on=DAY,
        response_business_days=10,
        claims=[claim],
        by=posting_specialist,
    )


# --- deposits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_deposit_list_shows_only_the_callers_organizations(who, everyone, deposit, other_deposit):
    response = client_for(everyone(who)).get(reverse("api:deposit-list"))
    if who == "anonymous":
        assert_status(response, who, {})
    elif who == "outsider":
        assert refs(response) == {str(other_deposit.reference)}
    else:
        assert refs(response) == {str(deposit.reference)}


@pytest.mark.parametrize("who", PERSONAS)
def test_deposit_detail_matrix(who, everyone, deposit, org, payer):
    response = client_for(everyone(who)).get(reverse("api:deposit-detail", args=[deposit.reference]))
    assert_status(response, who, READ)
    if response.status_code == 200:
        body = response.json()
        assert (body["organization"], body["payer"], body["amount"], body["method"], body["is_matched"]) == (
            str(org.reference),
            str(payer.reference),
            "300.00",
            "eft",
            False,
        )
        assert "id" not in body


@pytest.mark.parametrize("who", PERSONAS)
def test_deposit_create_matrix(who, everyone, org, payer, remittance):
    body = {
        "organization": str(org.reference),
        "payer": str(payer.reference),
        "deposit_date": "2026-11-02",
        "amount": "300.00",
        "trace_number": "eft77",
    }
    response = client_for(everyone(who)).post(reverse("api:deposit-list"), body, format="json")
    assert_status(response, who, FOREIGN_BODY_CREATE)
    created = Deposit.objects.filter(trace_number="EFT77")
    if who in POSTERS:
        assert response.json()["payment"] == str(remittance.reference)
        assert response.json()["remittance_file"] == str(remittance.file.reference)
        assert created.get().entered_by == everyone(who)
    else:
        assert not created.exists()


def test_deposit_create_refuses_bad_input_and_duplicates(org, posting_specialist, other_org):
    client = client_for(posting_specialist)
    url = reverse("api:deposit-list")
    body = {
        "organization": str(org.reference),
        "deposit_date": "2026-11-02",
        "amount": "10.00",
        "trace_number": "T",
    }
    assert client.post(url, {**body, "amount": "0"}, format="json").status_code == 400
    foreign_payer = PayerFactory(organization=other_org)
    response = client.post(url, {**body, "payer": str(foreign_payer.reference)}, format="json")
    assert response.status_code == 400
    assert "payer" in response.json()
    assert client.post(url, body, format="json").status_code == 201
    response = client.post(url, {**body, "trace_number": "t"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "trace_number"
    assert (
        client.post(url, {**body, "organization": str(other_org.reference)}, format="json").status_code == 404
    )


@pytest.mark.parametrize("who", PERSONAS)
def test_deposit_match_and_unmatch_matrix(who, everyone, deposit, remittance):
    client = client_for(everyone(who))
    response = client.post(
        reverse("api:deposit-match", args=[deposit.reference]),
        {"payment": str(remittance.reference), "reason": "check number keyed wrong"},
        format="json",
    )
    assert_status(response, who, POSTER_WRITE)
    deposit.refresh_from_db()
    if who not in POSTERS:
        assert deposit.payment is None
        return
    assert response.json()["payment"] == str(remittance.reference)
    assert deposit.payment == remittance
    assert deposit.history.latest("history_id").history_user == everyone(who)
    response = client.post(
        reverse("api:deposit-unmatch", args=[deposit.reference]), {"reason": "undo"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["payment"] is None
    assert TimelineEvent.objects.filter(kind="claims.deposit.unmatched", subject_id=deposit.pk).exists()


def test_matching_twice_is_a_conflict(posting_specialist, deposit, remittance):
    client = client_for(posting_specialist)
    url = reverse("api:deposit-match", args=[deposit.reference])
    body = {"payment": str(remittance.reference), "reason": "same check"}
    assert client.post(url, body, format="json").status_code == 200
    response = client.post(url, body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


@pytest.mark.parametrize("who", PERSONAS)
def test_deposit_import_matrix(who, everyone, org, remittance):
    upload = SimpleUploadedFile(
        "bank.csv", b"deposit_date,amount,trace_number,payer\n2026-11-02,300.00,EFT77,PM001\n"
    )
    response = client_for(everyone(who)).post(
        reverse("api:deposit-import"),
        {"organization": str(org.reference), "file": upload},
        format="multipart",
    )
    assert_status(response, who, POSTER_WRITE)
    if who in POSTERS:
        assert response.json() == {
            "filename": "bank.csv",
            "rows": 1,
            "created": 1,
            "existing": 0,
            "matched": 1,
        }
    else:
        assert not Deposit.objects.exists()


def test_a_rejected_import_lists_every_problem(org, posting_specialist):
    upload = SimpleUploadedFile("bank.csv", b"deposit_date,amount,trace_number\nnope,1.00,T\n2026-11-02,x,\n")
    response = client_for(posting_specialist).post(
        reverse("api:deposit-import"),
        {"organization": str(org.reference), "file": upload},
        format="multipart",
    )
    assert response.status_code == 400
    errors = response.json()["error"]["details"]["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (2, "deposit_date"),
        (3, "amount"),
        (3, "trace_number"),
    ]
    assert not Deposit.objects.exists()


@pytest.mark.parametrize("who", PERSONAS)
def test_match_pending_matrix(who, everyone, org, posting_specialist, remittance):
    Deposit.objects.create(
        organization=org,
        deposit_date=DAY,
        amount=Decimal("300.00"),
        trace_number="EFT77",
        entered_by=posting_specialist,
    )
    response = client_for(everyone(who)).post(
        reverse("api:deposit-match-pending"), {"organization": str(org.reference)}, format="json"
    )
    assert_status(response, who, POSTER_WRITE)
    assert (Deposit.objects.get().payment_id is not None) == (who in POSTERS)
    if who in POSTERS:
        assert response.json() == {"matched": 1}


# --- the report ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_report_matrix(who, everyone, org, payer, deposit, remittance):
    response = client_for(everyone(who)).get(
        reverse("api:reconciliation-list"),
        {"organization": str(org.reference), "start": "2026-11-01", "end": "2026-11-03"},
    )
    assert_status(response, who, READ)
    if response.status_code != 200:
        return
    body = response.json()
    assert (body["start"], body["end"], body["payer"]) == ("2026-11-01", "2026-11-03", None)
    (row,) = body["rows"]
    assert row["day"] == "2026-11-02"
    assert row["payer"] == str(payer.reference)
    assert (row["deposits_total"], row["remittances_total"], row["posted_total"]) == (
        "300.00",
        "300.00",
        "300.00",
    )
    assert (row["unmatched_deposits_count"], row["unmatched_remittances_count"]) == (1, 1)
    assert (row["difference"], row["bank_difference"]) == ("0.00", "0.00")
    assert body["totals"]["deposits_count"] == 1


def test_report_input_is_checked(org, rep, other_org):
    client = client_for(rep)
    url = reverse("api:reconciliation-list")
    assert client.get(url).status_code == 400
    response = client.get(
        url, {"organization": str(org.reference), "start": "2026-11-05", "end": "2026-11-01"}
    )
    assert response.status_code == 400 and "end" in response.json()
    response = client.get(
        url, {"organization": str(org.reference), "start": "2026-01-01", "end": "2026-11-01"}
    )
    assert response.status_code == 400
    response = client.get(
        url,
        {"organization": str(org.reference), "payer": str(PayerFactory(organization=other_org).reference)},
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == "payer"
    response = client.get(url, {"organization": str(org.reference), "start": "2026-11-01"})
    assert (response.json()["start"], response.json()["end"]) == ("2026-11-01", "2026-11-07")


# --- audits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_audit_list_and_detail_matrix(who, everyone, audit, claim):
    client = client_for(everyone(who))
    response = client.get(reverse("api:insurance-audit-list"))
    if who == "anonymous":
        assert_status(response, who, {})
        return
    assert refs(response) == (set() if who == "outsider" else {str(audit.reference)})
    response = client.get(reverse("api:insurance-audit-detail", args=[audit.reference]))
    assert_status(response, who, READ)
    if response.status_code == 200:
        body = response.json()
        assert body["claims"] == [str(claim.reference)]
        assert (body["kind"], body["status"], body["due_date"]) == ("desk", "requested", "2026-11-17")
        assert PhiAccessLog.objects.filter(user=everyone(who), subject_id=audit.pk).count() == 1


@pytest.mark.parametrize("who", PERSONAS)
def test_audit_create_matrix(who, everyone, org, payer, claim):
    body = {
        "organization": str(org.reference),
        "payer": str(payer.reference),
        "kind": "onsite",
        "requested_on": "2026-11-20",
        "response_business_days": 5,
        "onsite_date": "2026-12-01",
        "claims": [str(claim.reference)],
    }
    response = client_for(everyone(who)).post(reverse("api:insurance-audit-list"), body, format="json")
    assert_status(response, who, FOREIGN_BODY_CREATE)
    if who in POSTERS:
        assert response.json()["due_date"] == "2026-11-30"
        assert response.json()["owner"]["email"] == everyone(who).email
    else:
        assert not InsuranceAudit.objects.exists()


@pytest.mark.parametrize("who", PERSONAS)
def test_audit_transitions_matrix(who, everyone, audit):
    client = client_for(everyone(who))
    response = client.post(
        reverse("api:insurance-audit-change-status", args=[audit.reference]),
        {"status": "submitted", "reason": "records mailed"},
        format="json",
    )
    assert_status(response, who, POSTER_WRITE)
    audit.refresh_from_db()
    if who not in POSTERS:
        assert audit.status == "requested"
        return
    assert response.json()["status"] == "submitted"
    response = client.post(
        reverse("api:insurance-audit-record-findings", args=[audit.reference]),
        {"findings": "One claim upcoded", "recoupment_amount": "120.50"},
        format="json",
    )
    assert (response.status_code, response.json()["recoupment_amount"]) == (200, "120.50")
    response = client.post(
        reverse("api:insurance-audit-change-status", args=[audit.reference]),
        {"status": "requested", "reason": "back"},
        format="json",
    )
    assert response.status_code == 409
    response = client.post(
        reverse("api:insurance-audit-close", args=[audit.reference]), {"reason": "paid back"}, format="json"
    )
    assert response.json()["status"] == "closed"
    assert response.json()["closed_on"] is not None


def test_claims_are_added_by_reference_and_must_be_the_payers(
    posting_specialist, audit, payer, org, other_org
):
    client = client_for(posting_specialist)
    url = reverse("api:insurance-audit-add-claims", args=[audit.reference])
    second = ClaimFactory(account=AccountFactory(patient__organization=org), payer=payer)
    response = client.post(url, {"claims": [str(second.reference)]}, format="json")
    assert response.status_code == 200 and len(response.json()["claims"]) == 2
    wrong_payer = ClaimFactory(
        account=AccountFactory(patient__organization=org), payer=PayerFactory(organization=org)
    )
    assert client.post(url, {"claims": [str(wrong_payer.reference)]}, format="json").status_code == 400
    foreign = ClaimFactory(account=AccountFactory(patient__organization=other_org))
    response = client.post(url, {"claims": [str(foreign.reference)]}, format="json")
    assert response.status_code == 400 and "claims" in response.json()


@pytest.mark.parametrize("who", PERSONAS)
def test_audit_documents_matrix(who, everyone, audit):
    client = client_for(everyone(who))
    url = reverse("api:insurance-audit-documents", args=[audit.reference])
    upload = SimpleUploadedFile("letter.pdf", b"%PDF-1.7 letter")
    response = client.post(url, {"title": "Request letter", "file": upload}, format="multipart")
    assert_status(response, who, POSTER_CREATE)
    listed = client.get(url)
    assert_status(listed, who, READ)
    if who in POSTERS:
        assert response.json()["content_type"] == "application/pdf"
        (document,) = listed.json()
        assert document["title"] == "Request letter"
        assert document["download_url"].startswith(reverse("claims:audit_detail", args=[audit.reference]))
    elif listed.status_code == 200:
        assert listed.json() == []


def test_a_document_of_the_wrong_kind_is_refused(posting_specialist, audit):
    url = reverse("api:insurance-audit-documents", args=[audit.reference])
    upload = SimpleUploadedFile("letter.pdf", b"not a pdf")
    response = client_for(posting_specialist).post(url, {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "file"


# --- code texts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_code_description_list_matrix(who, everyone, org, other_org, supervisor, outsider):
    code_descriptions_load(
        organization=org, code_set="carc", data=b"code,description\n45,Ours\n", by=supervisor
    )
    code_descriptions_load(
        organization=other_org, code_set="carc", data=b"code,description\n45,Theirs\n", by=outsider
    )
    response = client_for(everyone(who)).get(reverse("api:code-description-list"), {"code_set": "carc"})
    if who == "anonymous":
        assert_status(response, who, {})
        return
    assert [row["description"] for row in response.json()["results"]] == [
        "Theirs" if who == "outsider" else "Ours"
    ]


@pytest.mark.parametrize("who", PERSONAS)
def test_code_description_load_matrix(who, everyone, org):
    upload = SimpleUploadedFile("rarc.txt", b"code\tdescription\nN130\tConsult plan benefit documents.\n")
    response = client_for(everyone(who)).post(
        reverse("api:code-description-load"),
        {"organization": str(org.reference), "code_set": "rarc", "file": upload},
        format="multipart",
    )
    assert_status(response, who, SUPERVISING)
    loaded = CodeDescription.objects.filter(organization=org, code_set="rarc")
    if who in ("supervisor", "admin"):
        assert response.json()["created"] == 1
        assert loaded.get().code == "N130"
    else:
        assert not loaded.exists()


def test_an_audit_may_be_opened_without_claims_and_filtered(org, posting_specialist, payer, audit):
    client = client_for(posting_specialist)
    body = {
        "organization": str(org.reference),
        "payer": str(payer.reference),
        "kind": "desk",
        "requested_on": "2026-11-20",
    }
    response = client.post(reverse("api:insurance-audit-list"), body, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["claims"], response.json()["response_business_days"]) == ([], 30)
    created = response.json()["reference"]
    client.post(reverse("api:insurance-audit-close", args=[created]), {"reason": "withdrawn"}, format="json")
    assert refs(client.get(reverse("api:insurance-audit-list"), {"open": "true"})) == {str(audit.reference)}
    assert refs(client.get(reverse("api:insurance-audit-list"), {"open": "false"})) == {created}
    assert refs(client.get(reverse("api:insurance-audit-list"), {"status": "closed"})) == {created}
