"""Payers' audits of our claims: opening one, its status, the claims and records, the findings.

The due date is ``response_business_days`` business days after the request, on the
organization's calendar (federal holidays and its closures), like every other clock.
Status changes follow ``InsuranceAudit.TRANSITIONS``. Each service locks the audit,
checks the actor's permission again, keeps the row history with a reason and writes a
timeline event whose subject is the audit. Documents are read and checked before the
transaction opens, so a slow upload never holds the audit's lock.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from claims.models import AuditDocument, Claim, InsuranceAudit
from claims.permissions import can_manage_audits
from claims.services.claims import clean_filename, required_reason
from claims.services.reconciliation import organization_today
from core.audit import mark_change
from core.errors import InvalidInput, InvalidTransition
from core.money import ZERO, format_money, parse_money
from core.timeline import event_record
from staff.calendar import calendar_for
from staff.permissions import require

MAX_RESPONSE_BUSINESS_DAYS = 365
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

# Extension → (content type, how the file must start). Text files are checked as text instead.
_BINARY_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".tif": ("image/tiff", (b"II*\x00", b"MM\x00*")),
    ".tiff": ("image/tiff", (b"II*\x00", b"MM\x00*")),
}
_TEXT_TYPES = {".txt": "text/plain", ".csv": "text/csv"}
ALLOWED_EXTENSIONS = tuple(sorted({*_BINARY_TYPES, *_TEXT_TYPES}))

_DENIED = "Only posting specialists, supervisors and admins work insurance audits."


def _lock(audit: InsuranceAudit) -> InsuranceAudit:
    audit.refresh_from_db(from_queryset=InsuranceAudit.objects.select_for_update(no_key=True))
    return audit


def _response_days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            "response_business_days: enter a whole number of business days", field="response_business_days"
        ) from None
    if not 1 <= days <= MAX_RESPONSE_BUSINESS_DAYS:
        raise InvalidInput(
            f"response_business_days: must be from 1 to {MAX_RESPONSE_BUSINESS_DAYS}",
            field="response_business_days",
        )
    return days


def _check_claims(organization: Any, payer: Any, claims: Iterable[Claim]) -> list[Claim]:
    claims = list(claims)
    for claim in claims:
        if claim.organization_id != organization.pk:
            raise InvalidInput("claims: a claim belongs to another organization", field="claims")
        if claim.payer_id != payer.pk:
            raise InvalidInput(
                f"claims: claim {claim.patient_control_number} was billed to another payer", field="claims"
            )
    return claims


def _refuse_closed(audit: InsuranceAudit, what: str) -> None:
    if audit.status == InsuranceAudit.Status.CLOSED:
        raise InvalidTransition(f"This audit is closed: {what} is no longer possible.")


def due_date_for(organization: Any, requested_on: date, response_business_days: int) -> date:
    """The last day to answer: business days after the request, on the organization's calendar."""
    return calendar_for(organization, around=requested_on).add_business_days(
        requested_on, response_business_days
    )


@transaction.atomic(durable=True)
def audit_open(
    *,
    organization: Any,
    payer: Any,
    kind: str,
    requested_on: date,
    by: Any,
    response_business_days: int = 30,
    payer_reference: str = "",
    auditor: str = "",
    onsite_date: date | None = None,
    claims: Iterable[Claim] = (),
) -> InsuranceAudit:
    """Record a payer's audit request, with the claims it names; the actor becomes its owner."""
    require(can_manage_audits(by, organization), _DENIED)
    if payer is None:
        raise InvalidInput("payer: choose the payer that requested the audit", field="payer")
    if payer.organization_id != organization.pk:
        raise InvalidInput("payer: belongs to another organization", field="payer")
    if kind not in InsuranceAudit.Kind.values:
        raise InvalidInput(f"kind: {kind!r} is not an audit kind; use desk or onsite", field="kind")
    if requested_on is None:
        raise InvalidInput("requested_on: enter the date of the payer's request", field="requested_on")
    if requested_on > organization_today(organization):
        raise InvalidInput(f"requested_on: {requested_on:%Y-%m-%d} is in the future", field="requested_on")
    days = _response_days(response_business_days)
    if onsite_date is not None:
        if kind != InsuranceAudit.Kind.ONSITE:
            raise InvalidInput("onsite_date: only onsite audits have a visit date", field="onsite_date")
        if onsite_date < requested_on:
            raise InvalidInput("onsite_date: the visit cannot be before the request", field="onsite_date")
    claims = _check_claims(organization, payer, claims)
    audit = InsuranceAudit(
        organization=organization,
        payer=payer,
        kind=kind,
        payer_reference=(payer_reference or "").strip()[:60],
        auditor=(auditor or "").strip()[:120],
        requested_on=requested_on,
        response_business_days=days,
        due_date=due_date_for(organization, requested_on, days),
        onsite_date=onsite_date,
        owner=by,
    )
    mark_change(audit, by=by, reason="audit opened")
    audit.save()
    if claims:
        audit.claims.add(*claims)
    event_record(
        organization=organization,
        subject=audit,
        kind="claims.audit.opened",
        summary=f"{audit.get_kind_display()} by {payer.name} opened, due {audit.due_date:%m/%d/%Y}"
        f" ({days} business days); {len(claims)} claim{'s' if len(claims) != 1 else ''}",
        by=by,
        data={
            "payer": str(payer.reference),
            "due_date": str(audit.due_date),
            "claims": [str(c.reference) for c in claims],
        },
    )
    return audit


def _change_status(audit: InsuranceAudit, status: str, by: Any, reason: str) -> InsuranceAudit:
    if status not in InsuranceAudit.Status.values:
        raise InvalidInput(f"status: {status!r} is not an audit status", field="status")
    if not audit.can_transition_to(status):
        raise InvalidTransition(
            f"An audit that is “{audit.get_status_display()}” cannot become "
            f"“{InsuranceAudit.Status(status).label}”.",
            field="status",
        )
    old = audit.status
    audit.status = status
    fields = ["status", "updated_at"]
    if status == InsuranceAudit.Status.CLOSED:
        audit.closed_on = organization_today(audit.organization)
        fields.append("closed_on")
    mark_change(audit, by=by, reason=reason)
    audit.save(update_fields=fields)
    event_record(
        organization=audit.organization,
        subject=audit,
        kind="claims.audit.closed"
        if status == InsuranceAudit.Status.CLOSED
        else "claims.audit.status_changed",
        summary=f"Status: {InsuranceAudit.Status(old).label} → {audit.get_status_display()}",
        by=by,
        data={"status": {"old": old, "new": status}, "reason": reason},
    )
    return audit


@transaction.atomic(durable=True)
def audit_change_status(*, audit: InsuranceAudit, status: str, by: Any, reason: str) -> InsuranceAudit:
    """Move the audit along ``InsuranceAudit.TRANSITIONS``; raises ``InvalidTransition`` otherwise."""
    _lock(audit)
    require(can_manage_audits(by, audit), _DENIED)
    return _change_status(audit, status, by, required_reason(reason, record="audit"))


@transaction.atomic(durable=True)
def audit_close(*, audit: InsuranceAudit, by: Any, reason: str) -> InsuranceAudit:
    """Close the audit (from any open status); ``closed_on`` is today in the organization."""
    _lock(audit)
    require(can_manage_audits(by, audit), _DENIED)
    return _change_status(audit, InsuranceAudit.Status.CLOSED, by, required_reason(reason, record="audit"))


@transaction.atomic(durable=True)
def audit_record_findings(
    *, audit: InsuranceAudit, findings: str, recoupment_amount: Decimal | str, by: Any
) -> InsuranceAudit:
    """Record the auditor's findings and the amount they will recoup.

    Findings arrive after the records were sent (or after an appeal of earlier findings),
    and move the audit to "Findings received"; findings already received can be revised.
    """
    _lock(audit)
    require(can_manage_audits(by, audit), _DENIED)
    findings = (findings or "").strip()
    if not findings:
        raise InvalidInput("findings: summarize what the auditor found", field="findings")
    amount = parse_money(recoupment_amount, field="recoupment_amount")
    if amount < ZERO:
        raise InvalidInput("recoupment_amount: cannot be negative", field="recoupment_amount")
    if audit.status != InsuranceAudit.Status.FINDINGS and not audit.can_transition_to(
        InsuranceAudit.Status.FINDINGS
    ):
        raise InvalidTransition(
            f"Findings are recorded once the records were sent; this audit is “{audit.get_status_display()}”."
        )
    old_status, old_amount = audit.status, audit.recoupment_amount
    audit.findings = findings
    audit.recoupment_amount = amount
    audit.status = InsuranceAudit.Status.FINDINGS
    mark_change(audit, by=by, reason="findings recorded")
    audit.save(update_fields=["findings", "recoupment_amount", "status", "updated_at"])
    event_record(
        organization=audit.organization,
        subject=audit,
        kind="claims.audit.findings_recorded",
        summary=f"Findings recorded; recoupment {format_money(amount)}",
        by=by,
        data={
            "status": {"old": old_status, "new": audit.status},
            "recoupment_amount": {"old": str(old_amount), "new": str(amount)},
        },
    )
    return audit


@transaction.atomic(durable=True)
def audit_add_claims(*, audit: InsuranceAudit, claims: Iterable[Claim], by: Any) -> InsuranceAudit:
    """Add claims the auditor asked for; claims already on the audit are left as they are."""
    _lock(audit)
    require(can_manage_audits(by, audit), _DENIED)
    _refuse_closed(audit, "adding claims")
    claims = _check_claims(audit.organization, audit.payer, claims)
    present = set(audit.claims.filter(pk__in=[c.pk for c in claims]).values_list("pk", flat=True))
    new = [c for c in {c.pk: c for c in claims}.values() if c.pk not in present]
    if not new:
        return audit
    audit.claims.add(*new)
    event_record(
        organization=audit.organization,
        subject=audit,
        kind="claims.audit.claims_added",
        summary=f"{len(new)} claim{'s' if len(new) != 1 else ''} added to the audit",
        by=by,
        data={"claims": [str(c.reference) for c in new]},
    )
    return audit


# --- documents -----------------------------------------------------------------------------------


def document_content_type(filename: str, content: bytes) -> str:
    """The content type of an allowed file, or ``InvalidInput`` saying what is wrong with it."""
    extension = os.path.splitext(filename)[1].lower()
    allowed = ", ".join(e.lstrip(".") for e in ALLOWED_EXTENSIONS)
    if extension in _BINARY_TYPES:
        content_type, signatures = _BINARY_TYPES[extension]
        if not content.startswith(signatures):
            raise InvalidInput(
                f"file: {filename} is named {extension} but is not a {extension.lstrip('.').upper()} file",
                field="file",
            )
        return content_type
    if extension in _TEXT_TYPES:
        if b"\x00" in content:
            raise InvalidInput(f"file: {filename} is named {extension} but is not a text file", field="file")
        return _TEXT_TYPES[extension]
    raise InvalidInput(
        f"file: {filename or 'the file'} is not a kind of file kept with audits; allowed: {allowed}",
        field="file",
    )


def audit_attach_document(*, audit: InsuranceAudit, title: str, uploaded_file: Any, by: Any) -> AuditDocument:
    """Store a record sent to or received from the auditor (PDF, image, text or CSV, at most 10 MB).

    The file is read and checked before the transaction opens; deliberately not atomic itself.
    """
    require(can_manage_audits(by, audit), _DENIED)
    filename = clean_filename(getattr(uploaded_file, "name", ""), length=255)
    if not filename:
        raise InvalidInput("file: choose the file to attach", field="file")
    size = getattr(uploaded_file, "size", None)
    limit = MAX_DOCUMENT_BYTES // (1024 * 1024)
    if size is not None and size > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"file: {filename} is larger than {limit} MB", field="file")
    content = uploaded_file.read()
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"file: {filename} is larger than {limit} MB", field="file")
    if not content:
        raise InvalidInput(f"file: {filename} is empty", field="file")
    content_type = document_content_type(filename, content)
    title = (title or "").strip()[:200] or filename[:200]
    return _store_document(audit, title, filename, content_type, content, by)


@transaction.atomic(durable=True)
def _store_document(
    audit: InsuranceAudit, title: str, filename: str, content_type: str, content: bytes, by: Any
) -> AuditDocument:
    _lock(audit)
    require(can_manage_audits(by, audit), _DENIED)
    _refuse_closed(audit, "attaching records")
    document = AuditDocument.objects.create(
        organization_id=audit.organization_id,
        audit=audit,
        title=title,
        filename=filename,
        content_type=content_type,
        content=content,
        byte_size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=by,
    )
    event_record(
        organization=audit.organization,
        subject=audit,
        kind="claims.audit.document_attached",
        summary=f"Document attached: {title}",
        by=by,
        data={"filename": filename, "byte_size": document.byte_size, "sha256": document.sha256},
    )
    return document
