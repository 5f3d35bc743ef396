"""Deposit, reconciliation, audit and code-text pages: the role matrix, 404 across
organizations, PRG flows, the PHI access log, and query budgets."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.models import CodeDescription, Deposit, InsuranceAudit
from claims.services.audits import audit_attach_document, audit_open
from claims.services.codes import code_descriptions_load
from claims.services.reconciliation import deposit_create
from staff.models import PhiAccessLog
from tests.conftest import PERSONAS
from tests.factories import AccountFactory, PayerFactory
from tests.factories.claims import ClaimFactory
from tests.factories.remittances import ClaimPaymentFactory, RemittancePaymentFactory

pytestmark = pytest.mark.django_db

ROLES = [p for p in PERSONAS if p not in ("anonymous", "outsider")]
POSTERS = ("posting_specialist", "supervisor", "admin")
SUPERVISING = ("supervisor", "admin")
UUID_IN_PATH = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/")
DAY = date(2026, 11, 2)


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
        amount="310.00",
        trace_number="EFT77",
        by=posting_specialist,
    )


@pytest.fixture
def claim(org, payer):
    return ClaimFactory(
        account=AccountFactory(patient__organization=org), payer=payer, payer_claim_number="ICN1"
    )


@pytest.fixture
def audit(org, posting_specialist, payer, claim):
    return audit_open(
        organization=org,
        payer=payer,
        kind=InsuranceAudit.Kind.DESK,
        requested_on=DAY,
        response_business_days=20,
        claims=[claim],
        by=posting_specialist,
    )


@pytest.fixture
def document(audit, posting_specialist):
    upload = SimpleUploadedFile("charts.pdf", b"%PDF-1.4 charts", content_type="application/pdf")
    return audit_attach_document(
        audit=audit, title="Medical records", uploaded_file=upload, by=posting_specialist
    )


@pytest.fixture
def urls(remittance, deposit, audit, document, payer):
    day = f"{reverse('claims:reconciliation_day')}?day={DAY:%Y-%m-%d}&payer={payer.reference}"
    return {
        "read": [
            reverse("claims:deposit_list"),
            reverse("claims:deposit_detail", args=[deposit.reference]),
            reverse("claims:reconciliation"),
            reverse("claims:reconciliation_export"),
            day,
            reverse("claims:audit_list"),
            reverse("claims:audit_detail", args=[audit.reference]),
            reverse("claims:audit_document_download", args=[audit.reference, document.reference]),
        ],
        "posters": [
            reverse("claims:deposit_create"),
            reverse("claims:deposit_import"),
            reverse("claims:deposit_import_template"),
            reverse("claims:audit_create"),
        ],
        "supervising": [reverse("claims:code_list")],
    }


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- role matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_pages_follow_the_role_matrix(client, persona, urls, who):
    client.force_login(persona(who))
    for url in urls["read"]:
        assert client.get(url).status_code == 200, url
    for url in urls["posters"]:
        assert client.get(url).status_code == (200 if who in POSTERS else 403), url
    for url in urls["supervising"]:
        assert client.get(url).status_code == (200 if who in SUPERVISING else 403), url


def test_anonymous_visitors_are_sent_to_sign_in(client, urls):
    for url in [*urls["read"], *urls["posters"], *urls["supervising"]]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_an_outsider_gets_404_for_every_row_of_another_organization(
    client, outsider, urls, deposit, audit, payer
):
    client.force_login(outsider)  # an admin in their own organization
    with_reference = [url for url in urls["read"] if UUID_IN_PATH.search(url) or "payer=" in url]
    assert len(with_reference) == 4
    for url in with_reference:
        assert client.get(url).status_code == 404, url
    assert deposit.trace_number not in client.get(reverse("claims:deposit_list")).content.decode()
    assert payer.name not in client.get(reverse("claims:audit_list")).content.decode()
    assert (
        payer.name
        not in client.get(
            reverse("claims:reconciliation") + "?start=2026-11-01&end=2026-11-05"
        ).content.decode()
    )
    for name in ("deposit_match", "deposit_unmatch"):
        response = client.post(reverse(f"claims:{name}", args=[deposit.reference]), {"reason": "x"})
        assert response.status_code == 404
    response = client.post(
        reverse("claims:audit_status", args=[audit.reference]), {"status": "closed", "reason": "x"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["representative", "senior_representative", "appeals_coordinator"])
def test_readers_may_not_change_anything(client, persona, who, deposit, remittance, audit):
    client.force_login(persona(who))
    posts = [
        (reverse("claims:deposit_create"), {}),
        (reverse("claims:deposit_import"), {}),
        (reverse("claims:deposit_match_pending"), {}),
        (
            reverse("claims:deposit_match", args=[deposit.reference]),
            {"payment": str(remittance.reference), "reason": "x"},
        ),
        (reverse("claims:deposit_unmatch", args=[deposit.reference]), {"reason": "x"}),
        (reverse("claims:audit_create"), {}),
        (reverse("claims:audit_status", args=[audit.reference]), {"status": "closed", "reason": "x"}),
        (
            reverse("claims:audit_findings", args=[audit.reference]),
            {"findings": "x", "recoupment_amount": "1"},
        ),
        (reverse("claims:audit_add_claims", args=[audit.reference]), {"claim_numbers": "x"}),
        (reverse("claims:audit_document_upload", args=[audit.reference]), {}),
        (reverse("claims:code_upload"), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    deposit.refresh_from_db()
    audit.refresh_from_db()
    assert deposit.payment is None
    assert audit.status == InsuranceAudit.Status.REQUESTED


def test_reader_pages_hide_the_actions(client, rep, deposit, audit):
    client.force_login(rep)
    html = client.get(reverse("claims:deposit_list")).content.decode()
    assert reverse("claims:deposit_create") not in html
    html = client.get(reverse("claims:deposit_detail", args=[deposit.reference])).content.decode()
    assert reverse("claims:deposit_match", args=[deposit.reference]) not in html
    html = client.get(reverse("claims:audit_detail", args=[audit.reference])).content.decode()
    assert reverse("claims:audit_status", args=[audit.reference]) not in html
    assert reverse("claims:audit_create") not in client.get(reverse("claims:audit_list")).content.decode()


# --- deposits ------------------------------------------------------------------------------------


def test_a_deposit_entered_on_the_page_is_matched_and_shown(
    client, org, posting_specialist, payer, remittance
):
    client.force_login(posting_specialist)
    response = client.post(
        reverse("claims:deposit_create"),
        {
            "deposit_date": "2026-11-02",
            "amount": "$300.00",
            "trace_number": "eft77",
            "method": "eft",
            "payer": str(payer.reference),
        },
    )
    deposit = Deposit.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("claims:deposit_detail", args=[deposit.reference])
    assert deposit.payment == remittance
    page = client.get(response.url)
    assert "recorded and matched" in " ".join(messages_of(page))
    assert page.context["payment"] == remittance
    assert reverse("claims:remittance_detail", args=[remittance.file.reference]) in page.content.decode()


def test_a_refused_deposit_keeps_what_was_typed(client, posting_specialist):
    client.force_login(posting_specialist)
    response = client.post(
        reverse("claims:deposit_create"),
        {"deposit_date": "2026-11-02", "amount": "-4", "trace_number": "T1", "method": "eft"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["amount"] == ["A deposit must be more than 0.00"]
    assert 'value="T1"' in response.content.decode()
    assert not Deposit.objects.exists()


def test_a_deposit_is_matched_and_unmatched_by_hand(client, posting_specialist, deposit, remittance):
    client.force_login(posting_specialist)
    page = client.get(reverse("claims:deposit_detail", args=[deposit.reference]))
    assert [c.pk for c in page.context["candidates"]] == [remittance.pk]
    assert page.context["candidates"][0].difference == Decimal("10.00")

    url = reverse("claims:deposit_match", args=[deposit.reference])
    missing_reason = client.post(url, {"payment": str(remittance.reference), "reason": ""})
    assert missing_reason.status_code == 400
    assert "reason" in missing_reason.context["match_form"].errors
    response = client.post(url, {"payment": str(remittance.reference), "reason": "bank fee 10.00"})
    assert response.status_code == 302
    deposit.refresh_from_db()
    assert deposit.payment == remittance
    page = client.get(reverse("claims:deposit_detail", args=[deposit.reference]))
    assert "differs from the remittance by $10.00" in page.content.decode()

    response = client.post(
        reverse("claims:deposit_unmatch", args=[deposit.reference]), {"reason": "wrong check"}
    )
    assert response.status_code == 302
    deposit.refresh_from_db()
    assert deposit.payment is None


def test_matching_to_a_remittance_of_another_organization_is_refused(
    client, other_org, posting_specialist, deposit
):
    foreign = RemittancePaymentFactory(file__organization=other_org)
    client.force_login(posting_specialist)
    response = client.post(
        reverse("claims:deposit_match", args=[deposit.reference]),
        {"payment": str(foreign.reference), "reason": "x"},
    )
    assert response.status_code == 400
    assert response.context["match_form"].errors["payment"] == ["No such remittance in this organization."]


def test_match_pending_from_the_list(client, org, posting_specialist, remittance):
    Deposit.objects.create(
        organization=org,
        deposit_date=DAY,
        amount=Decimal("300.00"),
        trace_number="EFT77",
        entered_by=posting_specialist,
    )
    client.force_login(posting_specialist)
    response = client.post(reverse("claims:deposit_match_pending"), follow=True)
    assert "1 deposit matched" in " ".join(messages_of(response))
    assert Deposit.objects.get().payment == remittance


def test_the_deposit_list_filters_and_pages(client, org, posting_specialist, deposit, remittance):
    client.force_login(posting_specialist)
    for n in range(55):
        deposit_create(
            organization=org,
            deposit_date=DAY,
            amount=f"{n + 1}.00",
            trace_number=f"N{n}",
            by=posting_specialist,
        )
    first = client.get(reverse("claims:deposit_list"), {"state": "unmatched"})
    page = first.context["page"]
    assert len(page.rows) == 50 and page.next_before
    second = client.get(reverse("claims:deposit_list"), {"state": "unmatched", "before": page.next_before})
    assert len(second.context["page"].rows) == 6
    matched = client.get(reverse("claims:deposit_list"), {"state": "matched"})
    assert list(matched.context["page"].rows) == []
    traced = client.get(reverse("claims:deposit_list"), {"trace": "eft77"})
    assert [d.pk for d in traced.context["page"].rows] == [deposit.pk]


def test_the_deposit_list_has_a_query_budget(
    client, org, posting_specialist, payer, django_assert_max_num_queries
):
    client.force_login(posting_specialist)
    for n in range(30):
        deposit_create(
            organization=org,
            payer=payer,
            deposit_date=DAY,
            amount="1.00",
            trace_number=f"B{n}",
            by=posting_specialist,
        )
    with django_assert_max_num_queries(12):
        assert client.get(reverse("claims:deposit_list")).status_code == 200


def test_a_bank_file_is_imported_from_the_page(client, posting_specialist, payer, remittance):
    client.force_login(posting_specialist)
    upload = SimpleUploadedFile(
        "bank.csv", b"deposit_date,amount,trace_number,payer\n2026-11-02,300.00,EFT77,PM001\n"
    )
    response = client.post(reverse("claims:deposit_import"), {"file": upload}, follow=True)
    assert "1 deposit added, 0 already recorded, 1 matched" in " ".join(messages_of(response))
    assert Deposit.objects.get().payment == remittance


def test_a_bad_bank_file_lists_every_problem(client, posting_specialist):
    client.force_login(posting_specialist)
    upload = SimpleUploadedFile(
        "bank.csv", b"deposit_date,amount,trace_number\nnope,1.00,T\n2026-11-02,x,T2\n"
    )
    response = client.post(reverse("claims:deposit_import"), {"file": upload})
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('data-testid="import-error"') == 2
    assert "bank.csv was not imported" in html
    assert not Deposit.objects.exists()


def test_the_import_template_is_a_valid_file(client, org, posting_specialist):
    client.force_login(posting_specialist)
    response = client.get(reverse("claims:deposit_import_template"))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["deposit_date", "amount", "trace_number", "method", "payer", "bank_reference"]


def test_deposit_pages_write_no_phi_access_rows(client, rep, deposit):
    client.force_login(rep)
    client.get(reverse("claims:deposit_list"))
    client.get(reverse("claims:deposit_detail", args=[deposit.reference]))
    assert not PhiAccessLog.objects.exists()


# --- reconciliation ----------------------------------------------------------------------------------


def test_the_report_defaults_to_the_last_seven_days(client, rep, org):
    client.force_login(rep)
    response = client.get(reverse("claims:reconciliation"))
    form = response.context["form"]
    start, end = date.fromisoformat(form.data["start"]), date.fromisoformat(form.data["end"])
    assert end - start == timedelta(days=6)


def test_the_report_shows_each_payer_and_day_and_links_the_drill_down(
    client, rep, payer, deposit, remittance
):
    client.force_login(rep)
    response = client.get(reverse("claims:reconciliation"), {"start": "2026-10-30", "end": "2026-11-05"})
    (row,) = response.context["report"].rows
    assert (row.deposits_total, row.remittances_total, row.posted_total) == (
        Decimal("310.00"),
        Decimal("300.00"),
        Decimal("300.00"),
    )
    html = response.content.decode()
    drill = f"{reverse('claims:reconciliation_day')}?day=2026-11-02&amp;payer={payer.reference}"
    assert drill in html

    day = client.get(
        reverse("claims:reconciliation_day"), {"day": "2026-11-02", "payer": str(payer.reference)}
    )
    assert day.status_code == 200
    text = day.content.decode()
    assert "the deposit differs by <strong>$10.00</strong>" in text
    assert reverse("claims:deposit_detail", args=[deposit.reference]) in text
    assert reverse("claims:remittance_detail", args=[remittance.file.reference]) in text


def test_bad_report_filters_are_explained(client, rep):
    client.force_login(rep)
    response = client.get(reverse("claims:reconciliation"), {"start": "2026-11-05", "end": "2026-11-01"})
    assert response.status_code == 400
    assert "The end is before the start." in response.content.decode()
    response = client.get(reverse("claims:reconciliation"), {"start": "2026-01-01", "end": "2026-11-01"})
    assert "Choose at most 92 days." in response.content.decode()


def test_bad_drill_down_addresses_are_404(client, rep, other_org):
    client.force_login(rep)
    url = reverse("claims:reconciliation_day")
    foreign = PayerFactory(organization=other_org)
    for query in (
        {},
        {"day": "yesterday", "payer": "unidentified"},
        {"day": "2026-11-02", "payer": "nobody"},
        {"day": "2026-11-02", "payer": str(foreign.reference)},
    ):
        assert client.get(url, query).status_code == 404, query
    assert client.get(url, {"day": "2026-11-02", "payer": "unidentified"}).status_code == 200


def test_the_report_exports_as_csv(client, rep, payer, deposit, remittance):
    client.force_login(rep)
    response = client.get(
        reverse("claims:reconciliation_export"), {"start": "2026-11-01", "end": "2026-11-03"}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["date", "payer", "deposits_count", "deposits_total"]
    assert rows[1][:4] == ["2026-11-02", "Prairie Mutual", "1", "310.00"]
    assert rows[-1][0] == "total"
    assert rows[1][-2:] == ["0.00", "10.00"]


def test_the_report_page_takes_the_same_queries_for_one_row_or_many(client, org, supervisor):
    client.force_login(supervisor)
    url = reverse("claims:reconciliation")
    query = {"start": "2026-10-27", "end": "2026-11-02"}

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, query).status_code == 200
        return len(captured)

    payer = PayerFactory(organization=org)
    RemittancePaymentFactory(file__organization=org, payer=payer, payment_date=DAY)
    one = count()
    for p in range(4):
        other = PayerFactory(organization=org)
        for d in range(5):
            ClaimPaymentFactory(
                payment=RemittancePaymentFactory(
                    file__organization=org, payer=other, payment_date=DAY - timedelta(days=d)
                )
            )
            deposit_create(
                organization=org,
                deposit_date=DAY - timedelta(days=d),
                amount="1.00",
                trace_number=f"Q{p}{d}",
                by=supervisor,
            )
    assert count() == one


# --- audits --------------------------------------------------------------------------------------


def test_an_audit_is_opened_from_the_page_with_its_claims(client, org, posting_specialist, payer, claim):
    client.force_login(posting_specialist)
    data = {
        "payer": str(payer.reference),
        "kind": "desk",
        "requested_on": "2026-11-20",
        "response_business_days": "5",
        "payer_reference": "AUD-1",
        "claim_numbers": f"{claim.patient_control_number}\nNOPE-1, NOPE-2",
    }
    response = client.post(reverse("claims:audit_create"), data)
    assert response.status_code == 400
    assert "NOPE-1, NOPE-2" in response.context["form"].errors["claim_numbers"][0]
    assert not InsuranceAudit.objects.exists()

    data["claim_numbers"] = "icn1"
    response = client.post(reverse("claims:audit_create"), data)
    audit = InsuranceAudit.objects.get()
    assert response.url == reverse("claims:audit_detail", args=[audit.reference])
    assert audit.due_date == date(2026, 11, 30)
    assert list(audit.claims.all()) == [claim]


def test_the_audit_page_moves_the_audit_along(client, posting_specialist, audit, payer):
    client.force_login(posting_specialist)
    detail = reverse("claims:audit_detail", args=[audit.reference])
    page = client.get(detail)
    assert [s.value for s in page.context["next_statuses"]] == ["gathering", "submitted", "closed"]

    response = client.post(
        reverse("claims:audit_status", args=[audit.reference]), {"status": "appealed", "reason": "x"}
    )
    assert response.status_code == 400
    assert "cannot become" in " ".join(messages_of(response))

    client.post(
        reverse("claims:audit_status", args=[audit.reference]), {"status": "submitted", "reason": "mailed"}
    )
    response = client.post(
        reverse("claims:audit_findings", args=[audit.reference]),
        {"findings": "One claim unsupported", "recoupment_amount": "$75.00"},
    )
    assert response.status_code == 302
    audit.refresh_from_db()
    assert (audit.status, audit.recoupment_amount) == ("findings", Decimal("75.00"))

    other_claim = ClaimFactory(account=AccountFactory(patient__organization=audit.organization), payer=payer)
    response = client.post(
        reverse("claims:audit_add_claims", args=[audit.reference]),
        {"claim_numbers": other_claim.patient_control_number},
    )
    assert response.status_code == 302
    assert audit.claims.count() == 2

    bad = client.post(
        reverse("claims:audit_document_upload", args=[audit.reference]),
        {"title": "x", "file": SimpleUploadedFile("virus.exe", b"MZ")},
    )
    assert bad.status_code == 400
    assert "not a kind of file kept with audits" in bad.context["document_form"].errors["file"][0]
    good = client.post(
        reverse("claims:audit_document_upload", args=[audit.reference]),
        {"title": "Appeal letter", "file": SimpleUploadedFile("appeal.txt", b"We disagree.")},
    )
    assert good.status_code == 302
    page = client.get(detail)
    assert "Appeal letter" in page.content.decode()
    assert [row.reason for row in page.context["history"]][:2] == ["findings recorded", "mailed"]


def test_audit_reads_and_downloads_are_in_the_phi_access_log(client, rep, audit, document):
    client.force_login(rep)
    client.get(reverse("claims:audit_detail", args=[audit.reference]))
    response = client.get(
        reverse("claims:audit_document_download", args=[audit.reference, document.reference])
    )
    assert response.content == b"%PDF-1.4 charts"
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="charts.pdf"' in response["Content-Disposition"]
    assert list(PhiAccessLog.objects.order_by("id").values_list("action", "subject_id")) == [
        ("view", audit.pk),
        ("download", audit.pk),
    ]


def test_a_document_of_another_audit_is_404(client, org, posting_specialist, payer, audit, document):
    other = audit_open(organization=org, payer=payer, kind="desk", requested_on=DAY, by=posting_specialist)
    client.force_login(posting_specialist)
    assert (
        client.get(
            reverse("claims:audit_document_download", args=[other.reference, document.reference])
        ).status_code
        == 404
    )


def test_overdue_audits_are_highlighted_first(client, org, posting_specialist, payer):
    late = audit_open(
        organization=org,
        payer=payer,
        kind="desk",
        requested_on=date(2026, 1, 5),
        response_business_days=5,
        by=posting_specialist,
    )
    audit_open(
        organization=org,
        payer=payer,
        kind="onsite",
        requested_on=DAY,
        response_business_days=200,
        by=posting_specialist,
    )
    client.force_login(posting_specialist)
    response = client.get(reverse("claims:audit_list"))
    assert response.context["open_audits"][0].pk == late.pk
    assert response.context["overdue_count"] == 1
    assert 'data-testid="overdue-count"' in response.content.decode()


# --- code texts ------------------------------------------------------------------------------------


def test_supervisors_load_code_texts_from_the_page(client, supervisor):
    client.force_login(supervisor)
    upload = SimpleUploadedFile(
        "carc.csv", b"code,description,stop_date\n45,Charge exceeds fee schedule.,\n42,Old,2008-06-30\n"
    )
    response = client.post(reverse("claims:code_upload"), {"code_set": "carc", "file": upload}, follow=True)
    assert "2 added, 0 changed, 0 unchanged" in " ".join(messages_of(response))
    assert CodeDescription.objects.count() == 2
    html = response.content.decode()
    assert "Charge exceeds fee schedule." in html
    assert "Stopped" in html
    found = client.get(reverse("claims:code_list"), {"q": "45"})
    assert [c.code for c in found.context["page"]] == ["45"]


def test_a_bad_code_file_lists_its_problems(client, supervisor):
    client.force_login(supervisor)
    upload = SimpleUploadedFile("rarc.csv", b"code,description\n123,Not a remark code\n")
    response = client.post(reverse("claims:code_upload"), {"code_set": "rarc", "file": upload})
    assert response.status_code == 400
    assert response.content.decode().count('data-testid="load-error"') == 1
    assert not CodeDescription.objects.exists()


def test_the_audit_list_has_a_query_budget(
    client, org, posting_specialist, payer, django_assert_max_num_queries
):
    for n in range(15):
        audit_open(
            organization=org,
            payer=payer,
            kind="desk",
            requested_on=DAY,
            payer_reference=f"A{n}",
            by=posting_specialist,
        )
    client.force_login(posting_specialist)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("claims:audit_list")).status_code == 200


def test_the_code_list_has_a_query_budget(client, org, supervisor, django_assert_max_num_queries):
    rows = "".join(f"{n},Text {n}\n" for n in range(1, 150))
    code_descriptions_load(
        organization=org, code_set="carc", data=f"code,description\n{rows}".encode(), by=supervisor
    )
    client.force_login(supervisor)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("claims:code_list")).status_code == 200
