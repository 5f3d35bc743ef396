"""Claim pages: the list with its filters and keyset paging, a claim's page and its actions across
the roles, creating a claim from an account's charges, and the 837 upload."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as account_services
from claims.models import Claim, ClaimPayment, Denial, RemittanceFile, RemittancePayment
from claims.paging import PAGE_SIZE
from claims.services.claims import claim_change_status, claim_create_from_charges, claim_submit
from claims.views_claims import deadline_badge
from staff.models import PhiAccessLog
from tests.conftest import PERSONAS
from tests.factories import AccountFactory, CoverageFactory, PayerFactory, PayerRuleFactory, PlanFactory
from tests.factories.claims import ClaimFactory

D = Decimal
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "x12-samples"
ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
CLAIM_WORKERS = {"senior_representative", "posting_specialist", "supervisor", "admin"}


def charge(code="99213", amount="150.00", day=date(2026, 9, 1), **kw):
    kw.setdefault("diagnoses", ("E119",))
    return account_services.ChargeInput(service_date=day, code_type="cpt", code=code, amount=D(amount), **kw)


@pytest.fixture
def account(org):
    return AccountFactory(
        patient__organization=org,
        patient__first_name="Elena",
        patient__last_name="Vasquez",
        account_number="V-1001",
    )


@pytest.fixture
def coverage(account):
    coverage = CoverageFactory(patient=account.patient, member_id="XJH4411")
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
    return ClaimFactory(account__patient__organization=other_org, account__account_number="V-1001")


def url(name, *args):
    return reverse(f"claims:{name}", args=args)


# --- the list ----------------------------------------------------------------------------------------


def test_the_list_shows_the_organizations_claims_and_logs_the_accounts_read(client, rep, claim, other_claim):
    client.force_login(rep)
    response = client.get(url("claim_list"))
    assert response.status_code == 200
    assert [c.pk for c in response.context["page"]] == [claim.pk]
    body = response.content.decode()
    assert "Elena Vasquez" in body and "$210.00" in body and url("claim_detail", claim.reference) in body
    log = PhiAccessLog.objects.get(user=rep)
    assert (log.subject_id, log.subject_type.model) == (claim.account_id, "patientaccount")


def test_the_list_filters_by_status_payer_pcn_and_account(client, rep, org, account, coverage, claim):
    other = ClaimFactory(account__patient__organization=org, status=Claim.Status.DENIED)
    client.force_login(rep)

    def shown(**params):
        return [c.pk for c in client.get(url("claim_list"), params).context["page"]]

    assert shown(status="denied") == [other.pk]
    assert shown(payer=str(coverage.plan.payer.reference)) == [claim.pk]
    assert shown(q="v-1001") == [claim.pk]
    assert shown(account=str(account.reference)) == [claim.pk]
    assert shown() == [other.pk, claim.pk]
    response = client.get(url("claim_list"), {"status": "lost"})
    assert b"Some filters were ignored" in response.content


def test_the_list_pages_by_keyset_without_counting(client, rep, account, coverage):
    claims = [ClaimFactory(account=account, coverage=coverage) for _ in range(PAGE_SIZE + 2)]
    client.force_login(rep)
    with CaptureQueriesContext(connection) as queries:
        first = client.get(url("claim_list"))
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    page = first.context["page"]
    assert len(page) == PAGE_SIZE and page.next_before == claims[2].pk
    assert f"before={claims[2].pk}" in first.content.decode()
    older = client.get(url("claim_list"), {"before": page.next_before}).context["page"]
    assert [c.pk for c in older] == [claims[1].pk, claims[0].pk] and older.next_before is None


def test_the_list_query_count_does_not_grow_with_the_rows(client, rep, account, coverage):
    ClaimFactory(account=account, coverage=coverage)
    client.force_login(rep)
    client.get(url("claim_list"))
    with CaptureQueriesContext(connection) as few:
        client.get(url("claim_list"))
    for _ in range(5):
        ClaimFactory(account__patient__organization=account.organization)
    with CaptureQueriesContext(connection) as more:
        client.get(url("claim_list"))
    assert len(more) == len(few)


# --- a claim's page -------------------------------------------------------------------------------------


def test_the_claim_page_shows_header_lines_deadline_and_status_history(
    client, rep, claim, posting_specialist
):
    claim_change_status(claim=claim, status="denied", by=posting_specialist, reason="CO-16 missing info")
    client.force_login(rep)
    response = client.get(url("claim_detail", claim.reference))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Claim V-1001" in body and "Elena Vasquez" in body
    assert reverse("accounts:account_detail", args=[claim.account.reference]) in body
    # 90 days from the service on 09/01/2026 is Monday 11/30/2026: a denied claim to send again is late.
    assert "11/30/2026" in body and "passed" in body
    assert [row.status for row in response.context["history"]] == ["denied", "submitted", "created"]
    assert "CO-16 missing info" in body
    assert [line.code for line in response.context["lines"]] == ["99213", "99214"]
    assert [e.kind for e in response.context["activity"]][:2] == [
        "claims.claim.status_changed",
        "claims.claim.submitted",
    ]
    log = PhiAccessLog.objects.get(user=rep)
    assert (log.subject_id, log.subject_type.model) == (claim.pk, "claim")
    # A representative reads the claim and adds notes, but has no claim actions.
    assert url("claim_change_status", claim.reference) not in body
    assert url("claim_note_add", claim.reference) in body


@pytest.mark.parametrize(
    ("status", "submitted_on", "today", "badge"),
    [
        ("created", None, date(2026, 11, 1), ("warning", "29 days left")),
        ("created", None, date(2026, 10, 1), ("success", "60 days left")),
        ("created", None, date(2026, 11, 30), ("danger", "due today")),
        ("created", None, date(2026, 12, 1), ("danger", "passed 1 day ago")),
        ("submitted", date(2026, 9, 5), date(2026, 12, 20), ("success", "met: sent in time")),
        ("paid", date(2026, 12, 2), date(2026, 12, 20), ("danger", "sent 2 days late")),
        ("denied", date(2026, 9, 5), date(2026, 11, 20), ("warning", "10 days left")),
        ("closed", date(2026, 9, 5), date(2026, 12, 20), None),
    ],
)
def test_the_deadline_badge_counts_down_until_the_claim_is_sent(status, submitted_on, today, badge):
    claim = Claim(
        status=status,
        submitted_on=submitted_on,
        timely_filing_deadline=date(2026, 11, 30),
        service_from=today,
    )
    assert deadline_badge(claim, today) == badge


def test_the_claim_page_lists_remittances_and_denials(client, posting_specialist, claim):
    remit = RemittanceFile.objects.create(
        organization=claim.organization,
        filename="era-0915.835",
        sha256="a" * 64,
        byte_size=10,
        channel=RemittanceFile.Channel.UPLOAD,
        content="ISA~",
        received_by=posting_specialist,
    )
    payment = RemittancePayment.objects.create(
        organization=claim.organization, file=remit, sequence=1, payment_date=date(2026, 9, 15)
    )
    paid = ClaimPayment.objects.create(
        organization=claim.organization,
        payment=payment,
        sequence=1,
        claim=claim,
        status_code="4",
        paid=D("0.00"),
        patient_responsibility=D("25.00"),
    )
    Denial.objects.create(
        organization=claim.organization,
        claim_payment=paid,
        claim=claim,
        denied_on=date(2026, 9, 15),
        level="claim",
        carc_codes=["16"],
        category=Denial.Category.MISSING_INFORMATION,
        recommended_action="Send the referral",
        denied_amount=D("210.00"),
    )
    client.force_login(posting_specialist)
    body = client.get(url("claim_detail", claim.reference)).content.decode()
    assert url("remittance_detail", remit.reference) in body and "era-0915.835" in body
    assert "$25.00" in body and "09/15/2026" in body and "denied" in body
    assert "Missing or invalid information (16)" in body


def test_a_pharmacy_claim_page_shows_the_prescription_columns(client, org, posting_specialist):
    account = AccountFactory(patient__organization=org, kind="pharmacy")
    pbm = PayerFactory(organization=org, kind="pbm", bin="019901", pcn="KRXCOMM")
    coverage = CoverageFactory(patient=account.patient, plan=PlanFactory(payer=pbm, organization=org))
    fills = account_services.charge_post(
        account=account,
        items=[
            account_services.ChargeInput(
                date(2026, 9, 3),
                "ndc",
                "00002322730",
                D("84.10"),
                rx_number="RX448812",
                fill_number=2,
                quantity=D("30"),
                days_supply=30,
            )
        ],
        by=posting_specialist,
    )
    claim = claim_create_from_charges(
        account=account, coverage=coverage, charges=fills, by=posting_specialist
    )
    client.force_login(posting_specialist)
    body = client.get(url("claim_detail", claim.reference)).content.decode()
    assert "RX448812" in body and "00002322730" in body and "BIN 019901" in body and "Days supply" in body


def test_another_organizations_claim_is_not_found_and_anonymous_is_sent_to_sign_in(
    client, outsider, rep, claim, other_claim
):
    client.force_login(outsider)
    assert client.get(url("claim_detail", claim.reference)).status_code == 404
    client.force_login(rep)
    assert client.get(url("claim_detail", other_claim.reference)).status_code == 404
    assert not PhiAccessLog.objects.exists()
    client.logout()
    response = client.get(url("claim_detail", claim.reference))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- actions across the roles -----------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_changing_status_is_for_claim_workers(client, who, persona, claim):
    user = persona(who)
    if user is not None:
        client.force_login(user)
    response = client.post(
        url("claim_change_status", claim.reference), {"status": "pended", "reason": "Payer asked for records"}
    )
    claim.refresh_from_db()
    if who == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif who == "outsider":
        assert response.status_code == 404
    elif who in CLAIM_WORKERS:
        assert response["Location"] == url("claim_detail", claim.reference)
        assert claim.status == "pended"
        return
    else:
        assert response.status_code == 403
    assert claim.status == "submitted"


@pytest.mark.parametrize("who", PERSONAS)
def test_notes_are_for_everyone_in_the_organization(client, who, persona, claim):
    user = persona(who)
    if user is not None:
        client.force_login(user)
    response = client.post(url("claim_note_add", claim.reference), {"text": "Called the payer."})
    expected = {"anonymous": 302, "outsider": 404}.get(who, 302)
    assert response.status_code == expected
    assert claim.notes.count() == (1 if who in ROLES else 0)


def test_a_refused_transition_shows_the_page_again_with_the_reason(client, supervisor, claim):
    client.force_login(supervisor)
    claim_change_status(claim=claim, status="void", by=supervisor, reason="Duplicate")
    response = client.post(
        url("claim_change_status", claim.reference), {"status": "submitted", "reason": "x"}
    )
    assert response.status_code == 400
    response = client.post(url("claim_note_add", claim.reference), {"text": ""})
    assert response.status_code == 400 and "This field is required" in response.content.decode()


def test_the_status_form_offers_only_allowed_transitions_and_refuses_a_stale_choice(
    client, supervisor, claim
):
    client.force_login(supervisor)
    form = client.get(url("claim_detail", claim.reference)).context["status_form"]
    offered = {value for value, _ in form.fields["status"].choices}
    assert offered == set(Claim.TRANSITIONS[Claim.Status.SUBMITTED])
    response = client.post(
        url("claim_change_status", claim.reference), {"status": "created", "reason": "Back"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_submitting_and_correcting_from_the_page(client, posting_specialist, account, coverage, charges):
    claim = claim_create_from_charges(
        account=account, coverage=coverage, charges=charges, by=posting_specialist
    )
    client.force_login(posting_specialist)
    response = client.post(url("claim_submit", claim.reference), {"submitted_on": "2026-09-04"})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.status, claim.submitted_on) == ("submitted", date(2026, 9, 4))
    response = client.post(
        url("claim_correct", claim.reference), {"frequency": "8", "reason": "Billed in error"}
    )
    void = Claim.objects.get(original_claim=claim)
    assert response["Location"] == url("claim_detail", void.reference)
    assert void.frequency == "8"


def test_actions_answer_only_post(client, supervisor, claim):
    client.force_login(supervisor)
    for name in ("claim_submit", "claim_change_status", "claim_correct", "claim_note_add"):
        assert client.get(url(name, claim.reference)).status_code == 405


# --- creating a claim from an account --------------------------------------------------------------------


def test_the_create_page_preselects_billable_charges_and_names_blocked_ones(
    client, posting_specialist, account, coverage, charges
):
    (flagged,) = account_services.charge_post(
        account=account, items=[charge("99215", diagnoses=())], by=posting_specialist
    )
    client.force_login(posting_specialist)
    response = client.get(url("claim_create", account.reference))
    assert response.status_code == 200
    assert response.context["checked"] == {str(c.reference) for c in charges}
    body = response.content.decode()
    assert "Open edit: Diagnosis missing" in body and 'data-testid="blocked-charges"' in body

    response = client.post(
        url("claim_create", account.reference),
        {"coverage": str(coverage.reference), "charges": [str(flagged.reference)]},
    )
    assert response.status_code == 400
    assert "must be fixed or overridden first" in response.content.decode()
    assert not Claim.objects.exists()

    response = client.post(
        url("claim_create", account.reference),
        {"coverage": str(coverage.reference), "charges": [str(c.reference) for c in charges]},
    )
    claim = Claim.objects.get()
    assert response["Location"] == url("claim_detail", claim.reference)
    assert claim.billed_amount == D("210.00")


@pytest.mark.parametrize("who", PERSONAS)
def test_the_create_page_is_for_claim_workers(client, who, persona, account, coverage, charges):
    user = persona(who)
    if user is not None:
        client.force_login(user)
    response = client.get(url("claim_create", account.reference))
    if who == "anonymous":
        assert response.status_code == 302
    elif who == "outsider":
        assert response.status_code == 404
    else:
        assert response.status_code == (200 if who in CLAIM_WORKERS else 403)


# --- 837 upload --------------------------------------------------------------------------------------


@pytest.fixture
def key_insurance(org):
    payer = PayerFactory(organization=org, name="Key Insurance Company", edi_payer_id="999996666")
    return PlanFactory(payer=payer, group_number="2222-SJ")


def upload(name="demo.example1.837", data=None):
    return SimpleUploadedFile(name, data if data is not None else (SAMPLES / name).read_bytes())


def test_uploading_an_837_imports_it_and_shows_the_result_once(client, posting_specialist, key_insurance):
    client.force_login(posting_specialist)
    response = client.post(url("intake_upload"), {"file": upload()})
    assert response["Location"] == url("intake_upload")
    claim = Claim.objects.get()
    page = client.get(url("intake_upload"))
    body = page.content.decode()
    assert "1 claim: 1 created" in body and url("claim_detail", claim.reference) in body
    assert "1 claim: 1 created" not in client.get(url("intake_upload")).content.decode()


def test_a_rejected_837_lists_every_problem_and_imports_nothing(client, posting_specialist, org):
    client.force_login(posting_specialist)
    response = client.post(url("intake_upload"), {"file": upload()})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Rejected with 1 problem" in body
    assert "26463774" in body and "no payer of" in body
    assert not Claim.objects.exists()


def test_a_file_that_is_not_an_837_is_refused_on_the_form(client, posting_specialist):
    client.force_login(posting_specialist)
    response = client.post(url("intake_upload"), {"file": upload("remit.835", b"ISA*00~ST*835*1~SE*2*1~")})
    assert response.status_code == 400
    assert "remit.835 is not an 837 claim file" in response.content.decode().lower()


@pytest.mark.parametrize("who", PERSONAS)
def test_the_upload_page_is_for_claim_workers(client, who, persona, org):
    user = persona(who)
    if user is not None:
        client.force_login(user)
    response = client.get(url("intake_upload"))
    if who == "anonymous":
        assert response.status_code == 302
    elif who == "outsider":
        # The outsider's active organization is their own: they may import there.
        assert response.status_code == 200
    else:
        assert response.status_code == (200 if who in CLAIM_WORKERS else 403)
