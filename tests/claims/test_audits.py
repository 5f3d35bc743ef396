"""Insurance audits: opening with a business-day due date, status transitions, findings,
claims and documents, each with row history and a timeline event on the audit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from claims.models import AuditDocument, InsuranceAudit
from claims.services.audits import (
    MAX_DOCUMENT_BYTES,
    audit_add_claims,
    audit_attach_document,
    audit_change_status,
    audit_close,
    audit_open,
    audit_record_findings,
)
from claims.services.reconciliation import organization_today
from core.errors import InvalidInput, InvalidTransition
from core.models import TimelineEvent
from staff.models import OrganizationClosure
from tests.factories import AccountFactory, PayerFactory
from tests.factories.claims import ClaimFactory

pytestmark = pytest.mark.django_db

Status = InsuranceAudit.Status
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.fixture
def payer(org):
    return PayerFactory(organization=org, name="Prairie Mutual")


def claim_of(payer, **kwargs):
    return ClaimFactory(
        account=AccountFactory(patient__organization=payer.organization), payer=payer, **kwargs
    )


def open_audit(org, by, payer, **kwargs):
    values = {
        "organization": org,
        "payer": payer,
        "kind": InsuranceAudit.Kind.DESK,
        # Friday 2026-11-20; Thanksgiving (Thursday 2026-11-26) is a federal holiday.
        "requested_on": date(2026, 11, 20),
        "response_business_days": 5,
        "by": by,
    }
    values.update(kwargs)
    return audit_open(**values)


def events(audit, kind=None):
    queryset = TimelineEvent.objects.filter(
        subject_type__model="insuranceaudit", subject_id=audit.pk
    ).order_by("id")
    return queryset.filter(kind=kind) if kind else queryset


def test_an_audit_is_due_on_the_business_day_calendar(org, posting_specialist, payer):
    claims = [claim_of(payer), claim_of(payer)]
    audit = open_audit(
        org, posting_specialist, payer, claims=claims, payer_reference="AUD-7", auditor="Ann Lee"
    )
    # Mon 23, Tue 24, Wed 25, (Thu 26 holiday), Fri 27, Mon 30.
    assert audit.due_date == date(2026, 11, 30)
    assert audit.status == Status.REQUESTED
    assert audit.owner == posting_specialist
    assert set(audit.claims.all()) == set(claims)
    event = events(audit, "claims.audit.opened").get()
    assert event.actor == posting_specialist
    assert event.data["claims"] == [str(c.reference) for c in claims]
    record = audit.history.get()
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "+",
        posting_specialist,
        "audit opened",
    )


def test_organization_closures_move_the_due_date(org, posting_specialist, payer):
    OrganizationClosure.objects.create(organization=org, date=date(2026, 11, 30), reason="Systems move")
    audit = open_audit(org, posting_specialist, payer)
    assert audit.due_date == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "phone"}, "kind"),
        ({"response_business_days": 0}, "response_business_days"),
        ({"response_business_days": "many"}, "response_business_days"),
        ({"requested_on": date.today() + timedelta(days=3)}, "requested_on"),
        ({"onsite_date": date(2026, 12, 1)}, "onsite_date"),
        ({"kind": "onsite", "onsite_date": date(2026, 11, 1)}, "onsite_date"),
        ({"payer": None}, "payer"),
    ],
)
def test_bad_audit_requests_name_the_field(org, posting_specialist, payer, changes, field):
    with pytest.raises(InvalidInput) as caught:
        open_audit(org, posting_specialist, changes.pop("payer", payer), **changes)
    assert caught.value.field == field
    assert not InsuranceAudit.objects.exists()


def test_claims_of_another_payer_or_organization_are_refused(org, other_org, posting_specialist, payer):
    with pytest.raises(InvalidInput) as caught:
        open_audit(org, posting_specialist, payer, claims=[claim_of(PayerFactory(organization=org))])
    assert "another payer" in caught.value.message
    with pytest.raises(InvalidInput):
        open_audit(org, posting_specialist, payer, claims=[claim_of(PayerFactory(organization=other_org))])
    with pytest.raises(InvalidInput):
        open_audit(org, posting_specialist, PayerFactory(organization=other_org))
    assert not InsuranceAudit.objects.exists()


@pytest.mark.parametrize("who", ["rep", "senior_rep", "appeals_coordinator", "outsider"])
def test_only_posters_open_audits(org, payer, request, who):
    with pytest.raises(PermissionDenied):
        open_audit(org, request.getfixturevalue(who), payer)


def test_the_status_follows_the_transition_table(org, posting_specialist, payer):
    audit = open_audit(org, posting_specialist, payer)
    audit_change_status(audit=audit, status=Status.GATHERING, by=posting_specialist, reason="pulling charts")
    with pytest.raises(InvalidTransition):
        audit_change_status(audit=audit, status=Status.APPEALED, by=posting_specialist, reason="too early")
    with pytest.raises(InvalidTransition):
        audit_change_status(audit=audit, status=Status.REQUESTED, by=posting_specialist, reason="back")
    audit_change_status(audit=audit, status=Status.SUBMITTED, by=posting_specialist, reason="mailed")
    audit.refresh_from_db()
    assert audit.status == Status.SUBMITTED
    assert [e.data["status"] for e in events(audit, "claims.audit.status_changed")] == [
        {"old": "requested", "new": "gathering"},
        {"old": "gathering", "new": "submitted"},
    ]
    assert audit.history.latest("history_id").history_change_reason == "mailed"
    with pytest.raises(InvalidInput) as caught:
        audit_change_status(audit=audit, status=Status.FINDINGS, by=posting_specialist, reason="")
    assert caught.value.field == "reason"
    with pytest.raises(InvalidInput):
        audit_change_status(audit=audit, status="lost", by=posting_specialist, reason="x")


def test_findings_come_after_the_records_and_can_be_appealed_and_revised(org, posting_specialist, payer):
    audit = open_audit(org, posting_specialist, payer)
    with pytest.raises(InvalidTransition):
        audit_record_findings(
            audit=audit, findings="Two claims unsupported", recoupment_amount="10", by=posting_specialist
        )
    audit_change_status(audit=audit, status=Status.SUBMITTED, by=posting_specialist, reason="sent")
    audit_record_findings(
        audit=audit,
        findings="Two claims lack documentation",
        recoupment_amount="1,250.00",
        by=posting_specialist,
    )
    audit.refresh_from_db()
    assert (audit.status, audit.recoupment_amount) == (Status.FINDINGS, Decimal("1250.00"))
    audit_change_status(
        audit=audit, status=Status.APPEALED, by=posting_specialist, reason="records were sent"
    )
    audit_record_findings(
        audit=audit, findings="One claim upheld after appeal", recoupment_amount="400", by=posting_specialist
    )
    audit.refresh_from_db()
    assert (audit.status, audit.recoupment_amount) == (Status.FINDINGS, Decimal("400.00"))
    last = events(audit, "claims.audit.findings_recorded").last()
    assert last.data["recoupment_amount"] == {"old": "1250.00", "new": "400.00"}
    for bad in ({"recoupment_amount": "-1"}, {"recoupment_amount": "x"}, {"findings": "  "}):
        values = {"findings": "f", "recoupment_amount": "1", **bad}
        with pytest.raises(InvalidInput):
            audit_record_findings(audit=audit, by=posting_specialist, **values)


def test_closing_records_the_day_and_ends_all_work(org, posting_specialist, payer):
    audit = open_audit(org, posting_specialist, payer)
    audit_close(audit=audit, by=posting_specialist, reason="payer withdrew the request")
    audit.refresh_from_db()
    assert audit.status == Status.CLOSED
    assert audit.closed_on == organization_today(org)
    assert events(audit, "claims.audit.closed").get().data["reason"] == "payer withdrew the request"
    with pytest.raises(InvalidTransition):
        audit_close(audit=audit, by=posting_specialist, reason="again")
    with pytest.raises(InvalidTransition):
        audit_add_claims(audit=audit, claims=[claim_of(payer)], by=posting_specialist)
    upload = SimpleUploadedFile("records.pdf", PDF, content_type="application/pdf")
    with pytest.raises(InvalidTransition):
        audit_attach_document(audit=audit, title="Charts", uploaded_file=upload, by=posting_specialist)


def test_claims_are_added_once(org, posting_specialist, payer):
    first = claim_of(payer)
    audit = open_audit(org, posting_specialist, payer, claims=[first])
    second = claim_of(payer)
    audit_add_claims(audit=audit, claims=[first, second, second], by=posting_specialist)
    assert set(audit.claims.all()) == {first, second}
    assert events(audit, "claims.audit.claims_added").get().data == {"claims": [str(second.reference)]}
    audit_add_claims(audit=audit, claims=[first], by=posting_specialist)
    assert events(audit, "claims.audit.claims_added").count() == 1


def test_a_document_is_stored_with_its_checksum(org, posting_specialist, payer):
    audit = open_audit(org, posting_specialist, payer)
    upload = SimpleUploadedFile("../../etc/records.pdf", PDF, content_type="application/pdf")
    document = audit_attach_document(audit=audit, title="", uploaded_file=upload, by=posting_specialist)
    document.refresh_from_db()
    assert (document.filename, document.title, document.content_type) == (
        "records.pdf",
        "records.pdf",
        "application/pdf",
    )
    assert bytes(document.content) == PDF
    assert document.byte_size == len(PDF)
    assert len(document.sha256) == 64
    assert events(audit, "claims.audit.document_attached").get().data["filename"] == "records.pdf"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        (
            "notes.exe",
            b"MZ...",
            "not a kind of file kept with audits; allowed: csv, jpeg, jpg, pdf, png, tif, tiff, txt",
        ),
        ("scan.pdf", b"GIF89a", "is named .pdf but is not a PDF file"),
        ("photo.png", b"%PDF-1.4", "is named .png but is not a PNG file"),
        ("list.csv", b"a,b\x00c", "is not a text file"),
        ("empty.txt", b"", "is empty"),
    ],
)
def test_documents_of_the_wrong_kind_are_refused_with_the_reason(
    org, posting_specialist, payer, name, content, problem
):
    audit = open_audit(org, posting_specialist, payer)
    with pytest.raises(InvalidInput) as caught:
        audit_attach_document(
            audit=audit, title="x", uploaded_file=SimpleUploadedFile(name, content), by=posting_specialist
        )
    assert problem in caught.value.message
    assert caught.value.field == "file"
    assert not AuditDocument.objects.exists()


def test_documents_over_the_size_limit_are_refused(org, posting_specialist, payer):
    audit = open_audit(org, posting_specialist, payer)
    big = SimpleUploadedFile("big.txt", b"a" * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(InvalidInput) as caught:
        audit_attach_document(audit=audit, title="x", uploaded_file=big, by=posting_specialist)
    assert "larger than 10 MB" in caught.value.message


@pytest.mark.parametrize(
    "file",
    [
        ("a.png", b"\x89PNG\r\n\x1a\n..."),
        ("a.jpeg", b"\xff\xd8\xff\xe0"),
        ("a.tif", b"MM\x00*x"),
        ("a.csv", b"claim,amount\n1,2\n"),
    ],
)
def test_allowed_kinds_are_stored(org, posting_specialist, payer, file):
    audit = open_audit(org, posting_specialist, payer)
    document = audit_attach_document(
        audit=audit, title="t", uploaded_file=SimpleUploadedFile(*file), by=posting_specialist
    )
    assert document.pk


def test_representatives_may_not_change_audits(org, posting_specialist, rep, payer):
    audit = open_audit(org, posting_specialist, payer)
    with pytest.raises(PermissionDenied):
        audit_change_status(audit=audit, status=Status.GATHERING, by=rep, reason="x")
    with pytest.raises(PermissionDenied):
        audit_record_findings(audit=audit, findings="f", recoupment_amount="1", by=rep)
    with pytest.raises(PermissionDenied):
        audit_add_claims(audit=audit, claims=[], by=rep)
    with pytest.raises(PermissionDenied):
        audit_attach_document(audit=audit, title="t", uploaded_file=SimpleUploadedFile("a.txt", b"x"), by=rep)
    audit.refresh_from_db()
    assert audit.status == Status.REQUESTED


def test_a_status_change_on_a_stale_page_is_refused(org, posting_specialist, payer):
    audit = open_audit(org, posting_specialist, payer)
    stale = InsuranceAudit.objects.get(pk=audit.pk)
    audit_close(audit=audit, by=posting_specialist, reason="withdrawn")
    with pytest.raises(InvalidTransition):
        audit_change_status(audit=stale, status=Status.GATHERING, by=posting_specialist, reason="late click")
    assert InsuranceAudit.objects.get(pk=audit.pk).status == Status.CLOSED
