"""The posting specialist's pages: the remittance inbox and upload, a file, a claim payment,
the exceptions queue, denials, variances and manual EOB entry, across roles.

Files are imported through the real import and posting services; rows a test needs in a
particular state are built with the factories of ``tests.factories.posting``.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims.models import ClaimPayment, CodeDescription, Denial, PostingException, RemittanceFile, Variance
from claims.services.remittances import remittance_import
from core.models import TimelineEvent
from staff.models import PhiAccessLog
from tests.claims.posting_helpers import SAMPLES, billed_claim, edi, make_payer
from tests.factories.posting import (
    DenialFactory,
    PostingExceptionFactory,
    RemittanceAdjustmentFactory,
    ServicePaymentFactory,
    VarianceFactory,
)
from tests.factories.remittances import (
    ClaimPaymentFactory,
    ProviderAdjustmentFactory,
    RemittanceFileFactory,
    RemittancePaymentFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
MANAGED_CARE = SAMPLES / "managed-care.835"


def upload(client, data: bytes, name: str = "managed-care.835"):
    return client.post(reverse("claims:remittance_upload"), {"file": SimpleUploadedFile(name, data)})


def import_file(org, by, data: bytes, name: str = "remit.835"):
    return remittance_import(organization=org, data=data, filename=name, channel="upload", by=by)


def body(response) -> str:
    return response.content.decode()


def phi_logged(user, subject, action: str = "view") -> bool:
    return PhiAccessLog.objects.filter(
        user=user,
        action=action,
        subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
        subject_id=subject.pk,
    ).exists()


def in_org(org) -> dict:
    """Factory arguments that put an exception, a denial or a variance (and its file) in ``org``."""
    return {"claim_payment__payment__file__organization": org}


@pytest.fixture
def payer(org):
    return make_payer(org)


@pytest.fixture
def managed_care(org, payer, posting_specialist):
    first = billed_claim(org, payer, "5554555444", [("99211", date(2002, 3, 1), 800)], posting_specialist)
    second = billed_claim(org, payer, "8765432112", [("93555", date(2002, 3, 10), 1200)], posting_specialist)
    return first, second


@pytest.fixture
def other_file(other_org, outsider):
    return RemittanceFileFactory(organization=other_org, received_by=outsider, filename="theirs.835")


# --- inbox and upload ---------------------------------------------------------------------------


def test_uploading_an_835_posts_it_and_opens_the_file_with_its_claims(
    client, posting_specialist, managed_care
):
    first, second = managed_care
    client.force_login(posting_specialist)
    response = upload(client, MANAGED_CARE.read_bytes())
    file = RemittanceFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("claims:remittance_detail", args=[file.reference])

    page = client.get(response["Location"])
    text = body(page)
    assert page.status_code == 200
    assert "Posted: 2 of 2 claims, 0 exceptions" in text
    assert "5554555444" in text and "8765432112" in text
    assert reverse("claims:claim_detail", args=[first.reference]) in text
    assert reverse("claims:claim_detail", args=[second.reference]) in text
    assert "RUSHMORE LIFE" in text and "$945.00" in text and "Balanced" in text
    assert "Processed as primary" in text
    assert phi_logged(posting_specialist, file)
    assert phi_logged(posting_specialist, first.account)


def test_the_same_file_again_posts_nothing_and_opens_the_earlier_import(
    client, posting_specialist, managed_care
):
    client.force_login(posting_specialist)
    upload(client, MANAGED_CARE.read_bytes(), name="first.835")
    earlier = RemittanceFile.objects.get()
    response = upload(client, MANAGED_CARE.read_bytes(), name="again.835")
    assert response["Location"] == reverse("claims:remittance_detail", args=[earlier.reference])
    assert RemittanceFile.objects.count() == 1
    text = body(client.get(response["Location"]))
    assert "This file was already imported on" in text and "nothing posted" in text and "first.835" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"   \n", "is empty"), (b"Dear provider, your payment is enclosed.", "is not an X12 835 remittance")],
)
def test_a_bad_file_is_refused_on_the_file_field_and_nothing_is_stored(
    client, posting_specialist, data, message
):
    client.force_login(posting_specialist)
    response = upload(client, data, name="letter.txt")
    assert response.status_code == 400
    errors = response.context["upload_form"].errors["file"]
    assert any("letter.txt" in e and message in e for e in errors), errors
    assert not RemittanceFile.objects.exists()


def test_an_empty_upload_is_refused_before_reading(client, posting_specialist):
    client.force_login(posting_specialist)
    response = upload(client, b"", name="empty.835")
    assert response.status_code == 400
    assert "empty.835 is empty" in response.context["upload_form"].errors["file"][0]


@pytest.mark.parametrize("who", ["representative", "senior_representative", "appeals_coordinator"])
def test_only_posting_roles_upload(client, persona, who):
    client.force_login(persona(who))
    assert upload(client, MANAGED_CARE.read_bytes()).status_code == 403
    inbox = client.get(reverse("claims:remittance_inbox"))
    assert inbox.status_code == 200 and 'data-testid="upload-form"' not in body(inbox)
    assert not RemittanceFile.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("claims:remittance_inbox"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_inbox_lists_files_newest_first_with_their_numbers(
    client, org, rep, posting_specialist, other_file
):
    older = RemittanceFileFactory(
        organization=org,
        received_by=posting_specialist,
        filename="older.835",
    )
    RemittancePaymentFactory(file=older, total_paid=D("120.50"), claim_count=3)
    RemittancePaymentFactory(file=older, sequence=2, total_paid=D("99.00"), status="duplicate")
    newer = RemittanceFileFactory(
        organization=org,
        received_by=posting_specialist,
        filename="newer.835",
        status=RemittanceFile.Status.POSTED_WITH_EXCEPTIONS,
        diagnostics=[{"code": "claim_unbalanced", "severity": "error", "segment_index": 12, "message": "x"}],
    )
    PostingExceptionFactory(claim_payment__payment__file=newer)
    client.force_login(rep)
    response = client.get(reverse("claims:remittance_inbox"))
    rows = list(response.context["page"])
    assert [f.pk for f in rows] == [newer.pk, older.pk]
    assert rows[0].open_exceptions == 1 and rows[0].error_count == 1
    assert (rows[1].payment_count, rows[1].claim_total, rows[1].paid_total) == (2, 3, D("120.50"))
    text = body(response)
    assert "theirs.835" not in text and "$120.50" in text and "Posted with exceptions" in text

    older_only = client.get(reverse("claims:remittance_inbox"), {"before": newer.pk})
    assert [f.pk for f in older_only.context["page"]] == [older.pk]
    by_status = client.get(reverse("claims:remittance_inbox"), {"status": "exceptions"})
    assert [f.pk for f in by_status.context["page"]] == [newer.pk]


def test_the_inbox_query_count_does_not_grow_with_files(
    client, org, posting_specialist, django_assert_max_num_queries
):
    client.force_login(posting_specialist)
    RemittanceFileFactory(organization=org, received_by=posting_specialist)
    client.get(reverse("claims:remittance_inbox"))  # warm the session and content type caches
    with django_assert_max_num_queries(7):
        client.get(reverse("claims:remittance_inbox"))
    for _ in range(15):
        PostingExceptionFactory(
            claim_payment__payment__file=RemittanceFileFactory(
                organization=org, received_by=posting_specialist
            )
        )
    with django_assert_max_num_queries(7):
        response = client.get(reverse("claims:remittance_inbox"))
    assert len(response.context["page"]) == 16


# --- one file -----------------------------------------------------------------------------------


def _file_with_claims(org, payer, n: int) -> RemittanceFile:
    file = RemittanceFileFactory(organization=org)
    payment = RemittancePaymentFactory(file=file, payer=payer)
    for i in range(n):
        cp = ClaimPaymentFactory(payment=payment, sequence=i + 1)
        if i % 2:
            DenialFactory(claim_payment=cp)
    return file


def test_the_file_page_query_count_does_not_grow_with_its_claims(
    client, org, payer, posting_specialist, django_assert_max_num_queries
):
    client.force_login(posting_specialist)
    small = _file_with_claims(org, payer, 2)
    big = _file_with_claims(org, payer, 30)
    client.get(reverse("claims:remittance_detail", args=[small.reference]))
    with django_assert_max_num_queries(15):
        client.get(reverse("claims:remittance_detail", args=[small.reference]))
    with django_assert_max_num_queries(15):
        response = client.get(reverse("claims:remittance_detail", args=[big.reference]))
    assert body(response).count('data-testid="claim-payment-row"') == 30


def test_the_file_page_filters_its_claims_and_shows_diagnostics(client, org, payer, rep):
    file = RemittanceFileFactory(
        organization=org,
        diagnostics=[
            {"code": "transaction_unbalanced", "severity": "error", "segment_index": 7, "message": "BPR02"}
        ],
    )
    payment = RemittancePaymentFactory(file=file, payer=payer, balanced=False)
    ClaimPaymentFactory(payment=payment, patient_control_number="AAA111", posting="posted")
    ClaimPaymentFactory(payment=payment, patient_control_number="BBB222", posting="exception")
    client.force_login(rep)
    url = reverse("claims:remittance_detail", args=[file.reference])
    text = body(client.get(url))
    assert "transaction_unbalanced" in text and "Does not balance" in text
    only = body(client.get(url, {"posting": "exception"}))
    assert "BBB222" in only and "AAA111" not in only
    found = body(client.get(url, {"q": "aaa"}))
    assert "AAA111" in found and "BBB222" not in found


def test_another_organizations_file_and_claims_are_not_found(client, rep, outsider, other_file, org, payer):
    client.force_login(rep)
    assert client.get(reverse("claims:remittance_detail", args=[other_file.reference])).status_code == 404
    cp = ClaimPaymentFactory(payment__file=RemittanceFileFactory(organization=org))
    client.force_login(outsider)
    assert client.get(reverse("claims:claim_payment_detail", args=[cp.reference])).status_code == 404
    assert not PhiAccessLog.objects.exists()


# --- one claim payment --------------------------------------------------------------------------


def test_the_claim_payment_page_shows_lines_codes_and_raw_segments(
    client, org, payer, rep, posting_specialist, managed_care
):
    import_file(org, posting_specialist, MANAGED_CARE.read_bytes())
    CodeDescription.objects.create(
        organization=org, code_set="carc", code="45", description="Official text for forty-five."
    )
    cp = ClaimPayment.objects.get(patient_control_number="8765432112")
    client.force_login(rep)
    response = client.get(reverse("claims:claim_payment_detail", args=[cp.reference]))
    text = body(response)
    assert response.status_code == 200
    assert "SETTLE, SUSAN" in text and "44455666610" in text
    assert "93555" in text and "$550.00" in text
    assert "CO-45" in text and "Official text for forty-five." in text
    assert "PR-1" in text and "Deductible" in text
    assert "CO-A2" in text
    raw = response.context["segments"]
    assert raw[0] == "CLP*8765432112*1*1200.00*495.00*600.00*12*94077799230000~"
    assert raw[-1] == "CAS*CO*45*50.00~"
    assert reverse("accounts:account_detail", args=[cp.account.reference]) in text
    assert reverse("claims:claim_detail", args=[cp.claim.reference]) in text
    assert phi_logged(rep, cp.account)


def test_an_unmatched_claim_payment_logs_itself_and_lists_its_exception(client, org, rep):
    exception = PostingExceptionFactory(**in_org(org))
    cp = exception.claim_payment
    line = ServicePaymentFactory(claim_payment=cp, code="99214", modifiers=["25"])
    RemittanceAdjustmentFactory(service_payment=line, group="CO", reason="45", amount=D("30.00"))
    client.force_login(rep)
    response = client.get(reverse("claims:claim_payment_detail", args=[cp.reference]))
    text = body(response)
    assert "99214-25" in text and "No claim matches" in text
    assert reverse("claims:exception_detail", args=[exception.reference]) in text
    assert "no segments" in text.lower()
    assert phi_logged(rep, cp)


# --- exceptions ---------------------------------------------------------------------------------


@pytest.fixture
def unmatched(org, payer, posting_specialist):
    """A real unmatched exception, and the claim it belongs to (billed under another number)."""
    import_file(org, posting_specialist, edi("CLP*NOSUCH*1*100*80*0*12*ICN700", "CAS*CO*45*20", total="80"))
    claim = billed_claim(
        org, payer, "OTHER-NUMBER", [("99213", date(2026, 1, 3), 100)], posting_specialist, last_name="Okafor"
    )
    return PostingException.objects.get(), claim


def test_the_queue_shows_open_exceptions_and_filters_them(client, org, payer, rep, posting_specialist):
    mine = PostingExceptionFactory(**in_org(org), assigned_to=posting_specialist)
    ambiguous = PostingExceptionFactory(**in_org(org), kind=PostingException.Kind.AMBIGUOUS)
    closed = PostingExceptionFactory(**in_org(org), status="dismissed")
    PostingExceptionFactory(claim_payment__payment__file=RemittanceFileFactory())  # another organization
    client.force_login(posting_specialist)
    url = reverse("claims:exception_list")
    assert {e.pk for e in client.get(url).context["page"]} == {mine.pk, ambiguous.pk}
    assert [e.pk for e in client.get(url, {"assigned": "me"}).context["page"]] == [mine.pk]
    assert [e.pk for e in client.get(url, {"kind": "ambiguous"}).context["page"]] == [ambiguous.pk]
    assert [e.pk for e in client.get(url, {"status": "dismissed"}).context["page"]] == [closed.pk]
    assert len(client.get(url, {"status": "all"}).context["page"]) == 3
    response = client.get(url, {"status": "all", "payer": str(payer.reference)})
    assert len(response.context["page"]) == 0
    client.force_login(rep)
    assert client.get(url).status_code == 200


def test_the_queue_query_count_does_not_grow(client, org, posting_specialist, django_assert_max_num_queries):
    client.force_login(posting_specialist)
    PostingExceptionFactory(**in_org(org))
    client.get(reverse("claims:exception_list"))
    with django_assert_max_num_queries(9):
        client.get(reverse("claims:exception_list"))
    for _ in range(20):
        PostingExceptionFactory(**in_org(org), assigned_to=posting_specialist)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("claims:exception_list"))
    assert len(response.context["page"]) == 21


def test_an_unmatched_payment_is_matched_to_the_claim_picked_and_posted(
    client, posting_specialist, unmatched
):
    exception, claim = unmatched
    client.force_login(posting_specialist)
    detail = reverse("claims:exception_detail", args=[exception.reference])
    assert client.get(detail).context["candidates"] == []
    found = client.get(detail, {"q": "okafor"})
    assert [c.pk for c in found.context["candidates"]] == [claim.pk]
    assert "OTHER-NUMBER" in body(found)

    response = client.post(
        reverse("claims:exception_resolve", args=[exception.reference]),
        {"claim": str(claim.reference), "resolution": "Typo in the control number"},
    )
    assert response.status_code == 302 and response["Location"] == detail
    exception.refresh_from_db()
    assert exception.status == "resolved" and exception.resolved_by == posting_specialist
    cp = exception.claim_payment
    cp.refresh_from_db()
    assert cp.claim == claim and cp.posting == ClaimPayment.Posting.POSTED and cp.match == "manual"
    assert exception.history.first().history_change_reason == "Typo in the control number"
    assert TimelineEvent.objects.filter(kind="claims.exception.resolved").exists()
    assert "Matched to claim OTHER-NUMBER and posted." in body(client.get(detail))


def test_an_ambiguous_payment_offers_the_claims_posting_found(client, org, payer, posting_specialist):
    one = billed_claim(org, payer, "DUP-1", [("99213", date(2026, 1, 3), 100)], posting_specialist)
    two = billed_claim(org, payer, "DUP-2", [("99213", date(2026, 1, 3), 100)], posting_specialist)
    billed_claim(org, payer, "UNRELATED", [("99213", date(2026, 1, 3), 100)], posting_specialist)
    exception = PostingExceptionFactory(
        **in_org(org),
        kind=PostingException.Kind.AMBIGUOUS,
        details={"candidates": [{"reference": str(one.reference)}, {"reference": str(two.reference)}]},
    )
    client.force_login(posting_specialist)
    response = client.get(reverse("claims:exception_detail", args=[exception.reference]))
    assert {c.pk for c in response.context["candidates"]} == {one.pk, two.pk}
    assert phi_logged(posting_specialist, one.account) and phi_logged(posting_specialist, two.account)


def test_resolving_an_unmatched_payment_needs_a_claim_of_this_organization(
    client, posting_specialist, unmatched, other_org, outsider
):
    exception, _claim = unmatched
    client.force_login(posting_specialist)
    url = reverse("claims:exception_resolve", args=[exception.reference])
    response = client.post(url, {"resolution": "x"})
    assert response.status_code == 400
    assert response.context["resolve_form"].errors["claim"] == ["Pick the claim this payment belongs to."]
    theirs = billed_claim(
        other_org, make_payer(other_org), "THEIRS", [("99213", date(2026, 1, 3), 100)], outsider
    )
    response = client.post(url, {"resolution": "x", "claim": str(theirs.reference)})
    assert response.status_code == 400
    assert "not one of this organization's claims" in response.context["resolve_form"].errors["claim"][0]
    exception.refresh_from_db()
    assert exception.status == "open"


def test_a_provider_level_exception_shows_the_adjustment_and_is_resolved_with_a_note(
    client, org, posting_specialist
):
    plb = ProviderAdjustmentFactory(payment__file__organization=org, reason="WO", reference="ICN-GONE")
    exception = PostingExceptionFactory(
        claim_payment=None,
        payment=plb.payment,
        provider_adjustment=plb,
        kind=PostingException.Kind.PROVIDER_ADJUSTMENT,
        message="Recoupment ICN-GONE matches no claim.",
    )
    client.force_login(posting_specialist)
    detail = reverse("claims:exception_detail", args=[exception.reference])
    text = body(client.get(detail))
    assert "PLB WO" in text and "ICN-GONE" in text and "Mark resolved" in text
    url = reverse("claims:exception_resolve", args=[exception.reference])
    response = client.post(url, {"resolution": ""})
    assert response.status_code == 400 and response.context["resolve_form"].errors["resolution"]
    assert client.post(url, {"resolution": "Posted to the old account by hand"}).status_code == 302
    exception.refresh_from_db()
    assert exception.status == "resolved" and exception.resolution == "Posted to the old account by hand"


def test_dismissing_needs_a_reason_and_assigning_takes_the_exception(client, posting_specialist, unmatched):
    exception, _claim = unmatched
    client.force_login(posting_specialist)
    response = client.post(reverse("claims:exception_dismiss", args=[exception.reference]), {"reason": ""})
    assert response.status_code == 400 and response.context["dismiss_form"].errors["reason"]
    client.post(reverse("claims:exception_assign", args=[exception.reference]))
    exception.refresh_from_db()
    assert exception.assigned_to == posting_specialist
    response = client.post(
        reverse("claims:exception_dismiss", args=[exception.reference]), {"reason": "Payer sent it twice"}
    )
    assert response.status_code == 302
    exception.refresh_from_db()
    assert exception.status == "dismissed" and exception.resolution == "Payer sent it twice"


@pytest.mark.parametrize("who", ["representative", "senior_representative", "appeals_coordinator"])
def test_only_posting_roles_work_exceptions(client, persona, who, unmatched):
    exception, claim = unmatched
    client.force_login(persona(who))
    page = client.get(reverse("claims:exception_detail", args=[exception.reference]))
    assert page.status_code == 200 and 'data-testid="resolve-form"' not in body(page)
    for name, data in [
        ("exception_resolve", {"claim": str(claim.reference), "resolution": "x"}),
        ("exception_dismiss", {"reason": "x"}),
        ("exception_assign", {}),
    ]:
        assert client.post(reverse(f"claims:{name}", args=[exception.reference]), data).status_code == 403
    exception.refresh_from_db()
    assert exception.status == "open" and exception.assigned_to is None


def test_another_organizations_exception_is_not_found(client, outsider, unmatched):
    exception, _claim = unmatched
    client.force_login(outsider)
    assert client.get(reverse("claims:exception_detail", args=[exception.reference])).status_code == 404
    response = client.post(reverse("claims:exception_dismiss", args=[exception.reference]), {"reason": "x"})
    assert response.status_code == 404


# --- denials ------------------------------------------------------------------------------------


@pytest.fixture
def denials(org, payer):
    timely = DenialFactory(
        **in_org(org),
        claim_payment__payment__payer=payer,
        denied_on=date(2026, 10, 1),
    )
    coding = DenialFactory(
        **in_org(org),
        denied_on=date(2026, 11, 5),
        carc_codes=["97"],
        category=Denial.Category.CODING,
        recommended_action="Check the bundling edit; appeal with modifier 59 if distinct.",
    )
    done = DenialFactory(**in_org(org), status="resolved")
    return timely, coding, done


def test_the_denials_list_filters_by_payer_code_category_status_and_date(
    client, appeals_coordinator, payer, denials
):
    timely, coding, done = denials
    client.force_login(appeals_coordinator)
    url = reverse("claims:denial_list")

    def listed(**params):
        return [d.pk for d in client.get(url, params).context["page"]]

    assert listed() == [coding.pk, timely.pk]
    assert listed(payer=str(payer.reference)) == [timely.pk]
    assert listed(carc="97") == [coding.pk]
    assert listed(carc="co-29") == [timely.pk]
    assert listed(carc="PR-29") == []
    assert listed(category="coding") == [coding.pk]
    assert listed(status="resolved") == [done.pk]
    assert listed(denied_from="2026-11-01") == [coding.pk]
    assert listed(denied_to="2026-10-31") == [timely.pk]
    text = body(client.get(url))
    assert "Check the bundling edit" in text and "Timely filing" in text


def test_the_denials_list_query_count_does_not_grow(client, org, rep, django_assert_max_num_queries):
    client.force_login(rep)
    DenialFactory(**in_org(org))
    client.get(reverse("claims:denial_list"))
    with django_assert_max_num_queries(9):
        client.get(reverse("claims:denial_list"))
    file = RemittanceFileFactory(organization=org)
    for _ in range(20):
        DenialFactory(claim_payment__payment__file=file)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("claims:denial_list"))
    assert len(response.context["page"]) == 21


def test_the_denials_export_has_every_filtered_row_and_is_logged(client, rep, denials):
    timely, coding, _done = denials
    client.force_login(rep)
    response = client.get(reverse("claims:denial_export"), {"category": "coding"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["carc_codes"] for r in rows] == ["97"]
    assert rows[0]["patient_control_number"] == coding.claim_payment.patient_control_number
    assert rows[0]["category"] == "Coding / bundling" and rows[0]["denied_amount"] == "150.00"
    assert phi_logged(rep, coding, action="export")
    assert not phi_logged(rep, timely, action="export")


def test_a_denial_moves_through_its_statuses_with_a_note_to_close_it(client, appeals_coordinator, denials):
    timely, _coding, _done = denials
    client.force_login(appeals_coordinator)
    url = reverse("claims:denial_transition", args=[timely.reference])
    detail = client.get(reverse("claims:denial_detail", args=[timely.reference]))
    assert "Timely filing" in body(detail) and phi_logged(appeals_coordinator, timely)
    assert client.post(url, {"status": "in_progress"}).status_code == 302
    timely.refresh_from_db()
    assert timely.status == "in_progress" and timely.assigned_to == appeals_coordinator
    response = client.post(url, {"status": "resolved", "note": ""})
    assert response.status_code == 400 and response.context["form"].errors["note"]
    assert (
        client.post(url, {"status": "resolved", "note": "Appeal won; paid on reprocess"}).status_code == 302
    )
    timely.refresh_from_db()
    assert timely.status == "resolved" and timely.resolution == "Appeal won; paid on reprocess"
    assert TimelineEvent.objects.filter(kind="claims.denial.status_changed").count() == 2
    response = client.post(url, {"status": "in_progress"})
    assert response.status_code == 400 and response.context["form"].errors["status"]


@pytest.mark.parametrize("who", ["representative", "outsider"])
def test_representatives_read_denials_but_do_not_work_them(client, persona, who, denials):
    timely, _coding, _done = denials
    client.force_login(persona(who))
    response = client.post(
        reverse("claims:denial_transition", args=[timely.reference]), {"status": "in_progress"}
    )
    assert response.status_code == (403 if who == "representative" else 404)
    timely.refresh_from_db()
    assert timely.status == "open"


# --- variances ----------------------------------------------------------------------------------


def test_variances_are_listed_and_worked_by_posting_roles(client, org, rep, posting_specialist):
    variance = VarianceFactory(**in_org(org))
    credit = VarianceFactory(
        **in_org(org),
        kind=Variance.Kind.CREDIT_BALANCE,
        variance_amount=D("-35.00"),
    )
    client.force_login(rep)
    response = client.get(reverse("claims:variance_list"), {"kind": "credit_balance"})
    assert [v.pk for v in response.context["page"]] == [credit.pk]
    assert "-$35.00" in body(response)
    url = reverse("claims:variance_transition", args=[variance.reference])
    assert client.post(url, {"status": "dismissed", "note": "x"}).status_code == 403
    client.force_login(posting_specialist)
    detail = body(client.get(reverse("claims:variance_detail", args=[variance.reference])))
    assert "Expected by the contract" in detail and 'data-testid="transition-form"' in detail
    assert client.post(url, {"status": "dismissed", "note": "Within the payer's rounding"}).status_code == 302
    variance.refresh_from_db()
    assert variance.status == "dismissed"


# --- manual EOB ---------------------------------------------------------------------------------


def _eob(payer, **overrides) -> dict:
    data = {
        "claim_count": "1",
        "eob-payer": str(payer.reference),
        "eob-payment_date": "2026-03-20",
        "eob-trace_number": "CHK10042",
        "eob-method": "CHK",
        "eob-total_paid": "80.00",
        "claim-1-line_count": "2",
        "claim-1-patient_control_number": "PAPER-1",
        "claim-1-status_code": "1",
        "claim-1-charge": "100.00",
        "claim-1-paid": "80.00",
        "claim-1-patient_responsibility": "",
        "claim-1-payer_claim_number": "ICN-P1",
        "claim-1-line-1-code": "99213",
        "claim-1-line-1-service_date": "2026-03-02",
        "claim-1-line-1-charge": "100.00",
        "claim-1-line-1-paid": "80.00",
        "claim-1-line-1-adj1_group": "CO",
        "claim-1-line-1-adj1_reason": "45",
        "claim-1-line-1-adj1_amount": "20.00",
        "action": "post",
    }
    data.update(overrides)
    return data


def test_a_paper_eob_is_posted_and_opens_its_file(client, org, payer, posting_specialist):
    claim = billed_claim(org, payer, "PAPER-1", [("99213", date(2026, 3, 2), 100)], posting_specialist)
    client.force_login(posting_specialist)
    assert client.get(reverse("claims:eob_entry")).status_code == 200
    response = client.post(reverse("claims:eob_entry"), _eob(payer))
    file = RemittanceFile.objects.get()
    assert response.status_code == 302, response.context and response.context["errors"]
    assert response["Location"] == reverse("claims:remittance_detail", args=[file.reference])
    assert file.channel == RemittanceFile.Channel.MANUAL
    cp = ClaimPayment.objects.get()
    assert cp.claim == claim and cp.posting == ClaimPayment.Posting.POSTED
    line = cp.lines.get()
    assert (line.code, line.paid) == ("99213", D("80.00"))
    assert [(a.group, a.reason, a.amount) for a in line.adjustments.all()] == [("CO", "45", D("20.00"))]
    text = body(client.get(response["Location"]))
    assert "PAPER-1" in text and "Posted: 1 of 1 claim, 0 exceptions" in text


def test_eob_errors_name_the_claim_the_line_and_the_field(client, payer, posting_specialist):
    client.force_login(posting_specialist)
    data = _eob(
        payer,
        **{
            "claim-1-line-1-paid": "eighty",
            "claim-1-line-1-adj1_reason": "",
            "claim-1-line-2-code": "99214",
            "eob-trace_number": "",
            "claim_count": "3",
            "claim-3-line_count": "1",
            "claim-3-line-1-code": "97110",
        },
    )
    response = client.post(reverse("claims:eob_entry"), data)
    assert response.status_code == 400
    errors = response.context["errors"]
    assert "Check or EFT trace number: This field is required." in errors
    assert any(e.startswith("Claim 1, line 1, Paid:") and "not an amount" in e for e in errors), errors
    assert any(e.startswith("Claim 1, line 1, Adjustment 1 reason:") for e in errors), errors
    assert any(e.startswith("Claim 1, line 2, Service date:") for e in errors), errors
    # Claim 2 was left blank and is ignored; claim 3 has a line, so it needs its own header.
    assert not any(e.startswith("Claim 2") for e in errors), errors
    assert "Claim 3, Patient control number: This field is required." in errors
    assert not RemittanceFile.objects.exists()


def test_an_eob_that_does_not_balance_is_refused_with_the_services_message(client, payer, posting_specialist):
    client.force_login(posting_specialist)
    response = client.post(
        reverse("claims:eob_entry"), _eob(payer, **{"claim-1-line-1-adj1_amount": "10.00"})
    )
    assert response.status_code == 400
    assert "does not balance" in response.context["refusal"]
    assert not RemittanceFile.objects.exists()


def test_adding_a_claim_or_a_line_keeps_what_was_typed(client, payer, posting_specialist):
    client.force_login(posting_specialist)
    response = client.post(reverse("claims:eob_entry"), _eob(payer, action="add_claim"))
    entry = response.context["entry"]
    assert response.status_code == 200 and response.context["errors"] == []
    assert len(entry.blocks) == 2
    assert entry.blocks[0].form.initial["patient_control_number"] == "PAPER-1"
    assert entry.header.initial["trace_number"] == "CHK10042"
    response = client.post(reverse("claims:eob_entry"), _eob(payer, action="add_line:1"))
    assert len(response.context["entry"].blocks[0].lines) == 3
    assert 'value="PAPER-1"' in body(response)


def test_only_posting_roles_enter_eobs(client, rep, payer):
    client.force_login(rep)
    assert client.get(reverse("claims:eob_entry")).status_code == 403
    assert client.post(reverse("claims:eob_entry"), _eob(payer)).status_code == 403


# --- every page, every persona ------------------------------------------------------------------

LIST_PAGES = ["remittance_inbox", "exception_list", "denial_list", "variance_list"]


@pytest.mark.parametrize("who", ["anonymous", "outsider", "representative", "appeals_coordinator", "admin"])
def test_every_member_reads_the_lists_and_sees_only_their_organizations_rows(client, persona, who, org):
    exception = PostingExceptionFactory(**in_org(org))
    denial = DenialFactory(**in_org(org))
    variance = VarianceFactory(**in_org(org))
    user = persona(who)
    if user is not None:
        client.force_login(user)
    for name in LIST_PAGES:
        response = client.get(reverse(f"claims:{name}"))
        if user is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
            continue
        assert response.status_code == 200, name
        shown = {row.pk for row in response.context["page"]}
        mine = {
            "remittance_inbox": exception.payment.file_id,
            "exception_list": exception.pk,
            "denial_list": denial.pk,
            "variance_list": variance.pk,
        }[name]
        assert (mine in shown) == (who != "outsider"), name
