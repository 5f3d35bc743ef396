"""The remittances API under /api/v1/: files and upload, claim payments, posting exceptions,
denials and variances, with the role matrix of ``tests.conftest.PERSONAS``.

The outsider (an admin of another organization) must never learn that ``org``'s records
exist: their references answer 404 and their rows never appear in lists.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims.models import ClaimPayment, PostingException, RemittanceFile
from claims.services.remittances import remittance_import
from core.models import TimelineEvent
from staff.models import PhiAccessLog
from tests.claims.posting_helpers import SAMPLES, billed_claim, edi, make_payer
from tests.conftest import PERSONAS, login_api
from tests.factories import MembershipFactory
from tests.factories.posting import DenialFactory, PostingExceptionFactory, VarianceFactory
from tests.factories.remittances import ClaimPaymentFactory, ProviderAdjustmentFactory, RemittanceFileFactory

pytestmark = pytest.mark.django_db
D = Decimal
ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
POSTERS = {"posting_specialist", "supervisor", "admin"}
DENIAL_WORKERS = POSTERS | {"appeals_coordinator", "senior_representative"}
MANAGED_CARE = SAMPLES / "managed-care.835"


def matrix(allowed: set[str], ok: int = 200, outsider: int = 404) -> dict[str, int]:
    return {"outsider": outsider, **{role: ok if role in allowed else 403 for role in ROLES}}


READ = matrix(set(ROLES))


def assert_status(response: Any, who: str, expected: dict[str, int]) -> None:
    if who == "anonymous":
        assert response.status_code in (401, 403), response.content
        assert response.data["detail"].code == "not_authenticated"
    else:
        assert response.status_code == expected[who], (who, response.status_code, response.content)


def refs(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["reference"] for row in response.json()["results"]]


def in_org(org) -> dict:
    return {"claim_payment__payment__file__organization": org}


def phi_rows(subject: Any, user: Any, action: str = "view") -> int:
    return PhiAccessLog.objects.filter(
        user=user,
        action=action,
        subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
        subject_id=subject.pk,
    ).count()


@pytest.fixture
def payer(org):
    return make_payer(org)


@pytest.fixture
def posted(org, payer, posting_specialist):
    """managed-care.835 imported and posted against two billed claims."""
    billed_claim(org, payer, "5554555444", [("99211", date(2002, 3, 1), 800)], posting_specialist)
    billed_claim(org, payer, "8765432112", [("93555", date(2002, 3, 10), 1200)], posting_specialist)
    outcome = remittance_import(
        organization=org,
        data=MANAGED_CARE.read_bytes(),
        filename="managed-care.835",
        channel="upload",
        by=posting_specialist,
    )
    return outcome.file


@pytest.fixture
def unmatched(org, payer, posting_specialist):
    remittance_import(
        organization=org,
        data=edi("CLP*NOSUCH*1*100*80*0*12*ICN700", "CAS*CO*45*20", total="80"),
        filename="nosuch.835",
        channel="upload",
        by=posting_specialist,
    )
    claim = billed_claim(org, payer, "OTHER-NUMBER", [("99213", date(2026, 1, 3), 100)], posting_specialist)
    return PostingException.objects.get(), claim


# --- remittance files ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_files_are_read_by_every_member_and_hidden_from_others(api_client, persona, who, posted, other_org):
    theirs = RemittanceFileFactory(organization=other_org)
    client = login_api(api_client, persona(who))
    listed = client.get(reverse("api:remittance-list"))
    detail = client.get(reverse("api:remittance-detail", args=[posted.reference]))
    if who == "anonymous":
        assert_status(listed, who, READ)
        return
    assert_status(detail, who, READ)
    if who == "outsider":
        assert refs(listed) == [str(theirs.reference)]
        return
    assert refs(listed) == [str(posted.reference)]
    body = detail.json()
    assert body["summary"]["claims"] == 2 and body["summary"]["posted"] == 2
    assert body["total_paid"] == "945.00" and body["payment_count"] == 1 and body["claim_count"] == 2
    payment = body["payments"][0]
    assert payment["total_paid"] == "945.00" and payment["trace_number"] == "7170066655"
    assert payment["balanced"] is True and payment["payer_name"] == "RUSHMORE LIFE"


@pytest.mark.parametrize("who", PERSONAS)
def test_only_posting_roles_upload_835s(api_client, persona, who, org, payer):
    client = login_api(api_client, persona(who))
    response = client.post(
        reverse("api:remittance-upload"),
        {"file": SimpleUploadedFile("mc.835", MANAGED_CARE.read_bytes())},
        format="multipart",
    )
    # The outsider administers another organization: the file goes there, never into ``org``.
    assert_status(response, who, matrix(POSTERS, ok=201, outsider=201))
    if response.status_code == 201:
        body = response.json()
        assert body["duplicate"] is False and body["file"]["filename"] == "mc.835"
        assert body["summary"]["claims"] == 2 and body["summary"]["exceptions"] == 2  # no claims billed
        assert (RemittanceFile.objects.get().organization == org) == (who != "outsider")
    else:
        assert not RemittanceFile.objects.exists()


def test_a_reimport_answers_200_with_the_earlier_file_and_posts_nothing(
    api_client, posting_specialist, posted
):
    client = login_api(api_client, posting_specialist)
    response = client.post(
        reverse("api:remittance-upload"),
        {"file": SimpleUploadedFile("again.835", MANAGED_CARE.read_bytes())},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["duplicate"] is True and body["file"]["reference"] == str(posted.reference)
    assert RemittanceFile.objects.count() == 1


def test_a_file_that_is_not_an_835_is_a_400_that_names_it(api_client, posting_specialist):
    client = login_api(api_client, posting_specialist)
    response = client.post(
        reverse("api:remittance-upload"),
        {"file": SimpleUploadedFile("notes.txt", b"hello, this is not X12")},
        format="multipart",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "file" and "notes.txt is not an X12 835" in error["message"]
    assert not RemittanceFile.objects.exists()


def test_a_poster_of_several_organizations_names_the_one_to_post_into(
    api_client, posting_specialist, other_org, org
):
    MembershipFactory(organization=other_org, user=posting_specialist, role="posting_specialist")
    client = login_api(api_client, posting_specialist)
    url = reverse("api:remittance-upload")
    response = client.post(
        url, {"file": SimpleUploadedFile("a.835", MANAGED_CARE.read_bytes())}, format="multipart"
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == "organization"
    response = client.post(
        url,
        {
            "file": SimpleUploadedFile("a.835", MANAGED_CARE.read_bytes()),
            "organization": str(other_org.reference),
        },
        format="multipart",
    )
    assert response.status_code == 201
    assert RemittanceFile.objects.get().organization == other_org


def test_an_admin_elsewhere_cannot_upload_into_an_organization_they_do_not_belong_to(
    api_client, outsider, org
):
    client = login_api(api_client, outsider)
    response = client.post(
        reverse("api:remittance-upload"),
        {"file": SimpleUploadedFile("a.835", MANAGED_CARE.read_bytes()), "organization": str(org.reference)},
        format="multipart",
    )
    assert response.status_code == 404
    assert not RemittanceFile.objects.exists()


def test_a_files_claim_payments_are_listed_in_file_order_and_logged(api_client, rep, posted):
    client = login_api(api_client, rep)
    response = client.get(reverse("api:remittance-claim-payments", args=[posted.reference]))
    rows = response.json()["results"]
    assert [r["patient_control_number"] for r in rows] == ["5554555444", "8765432112"]
    assert rows[0]["status_meaning"] == "Processed as primary" and rows[0]["posting"] == "posted"
    assert "patient_last_name" not in rows[0]
    account = ClaimPayment.objects.get(patient_control_number="5554555444").account
    assert phi_rows(account, rep) == 1


# --- claim payments -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_a_claim_payment_comes_with_lines_and_adjustments(api_client, persona, who, posted):
    cp = ClaimPayment.objects.get(patient_control_number="8765432112")
    user = persona(who)
    response = login_api(api_client, user).get(reverse("api:claim-payment-detail", args=[cp.reference]))
    assert_status(response, who, READ)
    if response.status_code != 200:
        assert not PhiAccessLog.objects.exists()
        return
    body = response.json()
    assert body["patient_last_name"] == "SETTLE" and body["paid"] == "495.00"
    assert body["adjustments"] == [
        {
            "group": "CO",
            "reason": "A2",
            "label": "Contractual allowance (legacy)",
            "amount": "55.00",
            "quantity": None,
        }
    ]
    line = body["lines"][0]
    assert line["code"] == "93555" and line["paid"] == "550.00"
    assert [(a["group"], a["reason"], a["amount"]) for a in line["adjustments"]] == [
        ("PR", "1", "600.00"),
        ("CO", "45", "50.00"),
    ]
    assert body["file"] == str(posted.reference)
    assert phi_rows(cp.account, user) == 1


# --- posting exceptions -------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_exceptions_are_listed_for_members_with_filters(api_client, persona, who, org, posting_specialist):
    mine = PostingExceptionFactory(**in_org(org), assigned_to=posting_specialist)
    ambiguous = PostingExceptionFactory(**in_org(org), kind="ambiguous")
    PostingExceptionFactory(**in_org(org), status="resolved")
    plb = ProviderAdjustmentFactory(payment__file__organization=org)
    provider_level = PostingExceptionFactory(
        claim_payment=None, payment=plb.payment, provider_adjustment=plb, kind="provider_adjustment"
    )
    client = login_api(api_client, persona(who))
    url = reverse("api:posting-exception-list")
    response = client.get(url)
    if who == "anonymous":
        assert_status(response, who, READ)
        return
    if who == "outsider":
        assert refs(response) == []
        return
    assert set(refs(response)) == {
        str(mine.reference),
        str(ambiguous.reference),
        str(provider_level.reference),
    }
    assert refs(client.get(url, {"kind": "ambiguous"})) == [str(ambiguous.reference)]
    assert len(refs(client.get(url, {"status": "all"}))) == 4
    row = client.get(url, {"kind": "provider_adjustment"}).json()["results"][0]
    assert row["claim_payment"] is None and row["patient_control_number"] is None
    assert row["file"] == str(plb.payment.file.reference)
    if who == "posting_specialist":
        assert refs(client.get(url, {"assigned": "me"})) == [str(mine.reference)]


@pytest.mark.parametrize("who", PERSONAS)
def test_resolving_an_unmatched_exception_matches_and_posts(api_client, persona, who, unmatched):
    exception, claim = unmatched
    client = login_api(api_client, persona(who))
    response = client.post(
        reverse("api:posting-exception-resolve", args=[exception.reference]),
        {"claim": str(claim.reference), "resolution": "Typo in the control number"},
        format="json",
    )
    expected = matrix(POSTERS, outsider=404)
    assert_status(response, who, expected)
    exception.refresh_from_db()
    if response.status_code == 200:
        assert response.json()["status"] == "resolved"
        assert exception.claim_payment.claim == claim
        assert exception.claim_payment.posting == ClaimPayment.Posting.POSTED
        assert TimelineEvent.objects.filter(kind="claims.exception.resolved").count() == 1
    else:
        assert exception.status == "open"


def test_resolving_without_a_claim_or_with_another_organizations_claim_is_refused(
    api_client, posting_specialist, unmatched, other_org, outsider
):
    exception, _claim = unmatched
    client = login_api(api_client, posting_specialist)
    url = reverse("api:posting-exception-resolve", args=[exception.reference])
    response = client.post(url, {"resolution": "x"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "claim"
    theirs = billed_claim(
        other_org, make_payer(other_org), "THEIRS", [("99213", date(2026, 1, 3), 100)], outsider
    )
    response = client.post(url, {"resolution": "x", "claim": str(theirs.reference)}, format="json")
    assert response.status_code == 400 and "claim" in response.json()
    exception.refresh_from_db()
    assert exception.status == "open"


@pytest.mark.parametrize("who", PERSONAS)
def test_dismissing_and_assigning_are_for_posting_roles(api_client, persona, who, unmatched):
    exception, _claim = unmatched
    user = persona(who)
    client = login_api(api_client, user)
    assign = client.post(
        reverse("api:posting-exception-assign", args=[exception.reference]), {}, format="json"
    )
    dismiss = client.post(
        reverse("api:posting-exception-dismiss", args=[exception.reference]),
        {"reason": "Sent twice"},
        format="json",
    )
    expected = matrix(POSTERS, outsider=404)
    assert_status(assign, who, expected)
    assert_status(dismiss, who, expected)
    exception.refresh_from_db()
    if who in POSTERS:
        assert exception.assigned_to == user and exception.status == "dismissed"
        assert dismiss.json()["resolution"] == "Sent twice"
    else:
        assert exception.assigned_to is None and exception.status == "open"


def test_an_exception_is_assigned_only_to_a_poster_of_its_organization(
    api_client, supervisor, posting_specialist, rep, outsider, unmatched
):
    exception, _claim = unmatched
    client = login_api(api_client, supervisor)
    url = reverse("api:posting-exception-assign", args=[exception.reference])
    response = client.post(url, {"assignee": str(posting_specialist.reference)}, format="json")
    assert response.status_code == 200 and response.json()["assigned_to"]["email"] == posting_specialist.email
    for someone in (rep, outsider):
        response = client.post(url, {"assignee": str(someone.reference)}, format="json")
        assert response.status_code == 400 and response.json()["error"]["field"] == "assignee"
    exception.refresh_from_db()
    assert exception.assigned_to == posting_specialist


# --- denials and variances ----------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_denials_are_read_by_members_and_worked_by_denial_workers(api_client, persona, who, org, payer):
    denial = DenialFactory(**in_org(org), claim_payment__payment__payer=payer)
    user = persona(who)
    client = login_api(api_client, user)
    detail = client.get(reverse("api:denial-detail", args=[denial.reference]))
    assert_status(detail, who, READ)
    response = client.post(
        reverse("api:denial-transition", args=[denial.reference]), {"status": "in_progress"}, format="json"
    )
    assert_status(response, who, matrix(DENIAL_WORKERS, outsider=404))
    denial.refresh_from_db()
    if who in DENIAL_WORKERS:
        assert response.json()["status"] == "in_progress" and denial.assigned_to == user
        assert detail.json()["carc_codes"] == ["29"] and detail.json()["category"] == "timely_filing"
        assert phi_rows(denial, user) == 1
    else:
        assert denial.status == "open"


def test_denials_filter_by_payer_code_category_status_and_dates(api_client, rep, org, payer, other_org):
    timely = DenialFactory(**in_org(org), claim_payment__payment__payer=payer, denied_on=date(2026, 10, 1))
    coding = DenialFactory(**in_org(org), carc_codes=["97"], category="coding", denied_on=date(2026, 11, 5))
    done = DenialFactory(**in_org(org), status="dismissed")
    DenialFactory(**in_org(other_org))
    client = login_api(api_client, rep)
    url = reverse("api:denial-list")

    def listed(**params):
        return refs(client.get(url, params))

    assert set(listed()) == {str(timely.reference), str(coding.reference)}
    assert listed(payer=str(payer.reference)) == [str(timely.reference)]
    assert listed(carc="97") == [str(coding.reference)]
    assert listed(carc="CO-29") == [str(timely.reference)]
    assert listed(category="coding") == [str(coding.reference)]
    assert listed(status="dismissed") == [str(done.reference)]
    assert listed(denied_from="2026-11-01", denied_to="2026-11-30") == [str(coding.reference)]
    response = client.get(url, {"category": "nonsense"})
    assert response.status_code == 400


def test_closing_a_denial_needs_a_note_and_a_closed_one_only_reopens(api_client, appeals_coordinator, org):
    denial = DenialFactory(**in_org(org))
    client = login_api(api_client, appeals_coordinator)
    url = reverse("api:denial-transition", args=[denial.reference])
    response = client.post(url, {"status": "resolved"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "note"
    response = client.post(url, {"status": "resolved", "note": "Appeal won"}, format="json")
    assert response.status_code == 200 and response.json()["resolution"] == "Appeal won"
    response = client.post(url, {"status": "in_progress"}, format="json")
    assert response.status_code == 409
    denial.refresh_from_db()
    assert denial.status == "resolved" and denial.history.count() == 2


@pytest.mark.parametrize("who", PERSONAS)
def test_variances_are_read_by_members_and_worked_by_posting_roles(api_client, persona, who, org):
    variance = VarianceFactory(**in_org(org))
    client = login_api(api_client, persona(who))
    listed = client.get(reverse("api:variance-list"), {"kind": "underpayment"})
    response = client.post(
        reverse("api:variance-transition", args=[variance.reference]),
        {"status": "dismissed", "note": "Within rounding"},
        format="json",
    )
    assert_status(response, who, matrix(POSTERS, outsider=404))
    if who not in ("anonymous", "outsider"):
        assert refs(listed) == [str(variance.reference)]
        assert listed.json()["results"][0]["variance_amount"] == "20.00"
    variance.refresh_from_db()
    assert variance.status == ("dismissed" if who in POSTERS else "open")


def test_unknown_references_and_other_organizations_items_are_404(api_client, outsider, org):
    client = login_api(api_client, outsider)
    exception = PostingExceptionFactory(**in_org(org))
    denial = DenialFactory(**in_org(org))
    variance = VarianceFactory(**in_org(org))
    cp = ClaimPaymentFactory(payment__file__organization=org)
    for name, ref in [
        ("api:posting-exception-detail", exception.reference),
        ("api:denial-detail", denial.reference),
        ("api:variance-detail", variance.reference),
        ("api:claim-payment-detail", cp.reference),
        ("api:remittance-claim-payments", cp.payment.file.reference),
    ]:
        assert client.get(reverse(name, args=[ref])).status_code == 404, name
    assert not PhiAccessLog.objects.exists()
