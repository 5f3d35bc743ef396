"""Receiving 835 remittances (files from any channel, or hand-keyed paper EOBs) and
working what posting leaves behind: exceptions, denials and variances.

``remittance_import`` is the one entry point of every channel (upload page, API, drop
folder, command). It reads the file, stores it in one transaction, then posts it in
chunks (``claims.posting.engine``). The same bytes imported again post nothing; a file
whose posting was interrupted is finished by importing it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from claims.models import (
    ClaimPayment,
    Denial,
    PostingException,
    RemittanceFile,
    RemittancePayment,
    Variance,
)
from claims.permissions import can_post_remittances, can_work_denials
from claims.posting.engine import PostingTotals, post_file
from claims.posting.store import StoredRows, store_remittance
from claims.services.reconciliation import deposit_match_pending
from claims.x12.reader835 import (
    Adjustment835,
    ClaimPayment835,
    Remittance835File,
    ServiceLine835,
    Transaction835,
    read_835,
)
from core.audit import SYSTEM_USER_EMAIL, mark_change
from core.errors import InvalidInput, InvalidTransition, NotPermitted
from core.money import format_money
from core.timeline import event_record

ZERO = Decimal("0.00")
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class ImportOutcome:
    """What an import did; ``summary`` is what pages, the API and the command print."""

    file: RemittanceFile | None
    duplicate: bool
    summary: dict[str, Any] = field(default_factory=dict)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotPermitted(message)


def _may_import(user: Any, organization: Any) -> bool:
    """Posting roles, plus the non-login system user that the command and the drop folder act as."""
    if can_post_remittances(user, organization):
        return True
    return getattr(user, "email", None) == SYSTEM_USER_EMAIL and not user.is_active


def _decode(data: bytes) -> str:
    """The file as text. NUL bytes (never part of X12; PostgreSQL text cannot hold them) are
    dropped before reading, so the stored text and the segment positions agree."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\x00", "")


def remittance_import(
    *, organization: Any, data: bytes, filename: str, channel: str, by: Any
) -> ImportOutcome:
    """Read, store and post an 835 file. Raises InvalidInput (naming the file) when it is
    empty, too large, or not an 835; then nothing is stored."""
    _require(_may_import(by, organization), "You may not import remittances for this organization.")
    name = (filename or "remittance.835").replace("\x00", "")
    if not data or not data.strip():
        raise InvalidInput(f"file: {name} is empty", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"file: {name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB", field="file")
    sha256 = hashlib.sha256(data).hexdigest()
    earlier = RemittanceFile.objects.filter(organization=organization, sha256=sha256).first()
    if earlier is not None:
        return _resume(earlier, by=by)
    content = _decode(data)
    # The segments themselves are not kept (the stored text is the record): a large file then
    # needs a fraction of the memory.
    parsed = read_835(content, keep_segments=False)
    if not parsed.is_835:
        problems = "; ".join(d.message for d in parsed.diagnostics if d.severity == "error")[:400]
        raise InvalidInput(
            f"file: {name} is not an X12 835 remittance" + (f" ({problems})" if problems else ""),
            field="file",
        )
    file, stored = _store(
        organization=organization,
        parsed=parsed,
        content=content,
        sha256=sha256,
        name=name,
        channel=channel,
        by=by,
    )
    # Posting works from what the store wrote, never from the parsed file: let the tree go
    # before it rather than hold it through the longest phase.
    del parsed, content
    return _post(file, stored=stored, by=by)


def _store_and_post(*, organization, parsed, content, sha256, name, channel, by) -> ImportOutcome:
    file, stored = _store(
        organization=organization,
        parsed=parsed,
        content=content,
        sha256=sha256,
        name=name,
        channel=channel,
        by=by,
    )
    return _post(file, stored=stored, by=by)


def _store(
    *, organization, parsed, content, sha256, name, channel, by
) -> tuple[RemittanceFile, StoredRows | None]:
    """The file stored in one transaction, and the rows written for it; or the same file
    stored earlier (by a concurrent import), and None."""
    try:
        with transaction.atomic(durable=True):
            file, rows = store_remittance(
                organization=organization,
                parsed=parsed,
                content=content,
                sha256=sha256,
                filename=name,
                channel=channel,
                by=by,
            )
            event_record(
                organization=organization,
                subject=organization,
                kind="claims.remittance.received",
                summary=f"Remittance {name} received: {len(parsed.claims)} claims in "
                f"{len(parsed.transactions)} payments",
                by=by,
                data={"file": str(file.reference), "channel": channel},
            )
    except IntegrityError:
        # The same file stored meanwhile by a concurrent import, or one of its payments by
        # another file: the earlier one wins and this import becomes a re-run of it.
        earlier = RemittanceFile.objects.filter(organization=organization, sha256=sha256).first()
        if earlier is None:
            with transaction.atomic(durable=True):
                file, rows = store_remittance(
                    organization=organization,
                    parsed=parsed,
                    content=content,
                    sha256=sha256,
                    filename=name,
                    channel=channel,
                    by=by,
                )
        else:
            return earlier, None
    return file, rows


def _post(file: RemittanceFile, *, stored: StoredRows | None, by: Any) -> ImportOutcome:
    """Post a file just stored (``stored``: the rows written for it); one stored earlier
    (no rows) is resumed instead."""
    if stored is None:
        return _resume(file, by=by)
    totals = post_file(file, stored=stored, by=by)
    _after_posting(file)
    return ImportOutcome(
        file=file, duplicate=False, summary=_record(file, totals), diagnostics=file.diagnostics
    )


def _resume(file: RemittanceFile, *, by: Any) -> ImportOutcome:
    """The same bytes again: finish any posting an earlier run left pending, post nothing twice."""
    totals = post_file(file, by=by)
    _after_posting(file)
    file.refresh_from_db()
    return ImportOutcome(
        file=file, duplicate=True, summary=_record(file, totals), diagnostics=file.diagnostics
    )


def _record(file: RemittanceFile, totals: PostingTotals) -> dict[str, Any]:
    """The summary as of this run, kept on the file for the inbox and the API."""
    file.refresh_from_db(fields=["status", "posted_at"])
    summary = summarize(file, totals)
    RemittanceFile.objects.filter(pk=file.pk).update(summary=summary)
    file.summary = summary
    return summary


def _after_posting(file: RemittanceFile) -> None:
    # New payments may be the ones bank deposits were waiting for.
    deposit_match_pending(organization=file.organization)


def summarize(file: RemittanceFile, totals: PostingTotals | None = None) -> dict[str, Any]:
    """Counts over the whole file (not just this run), so a re-run reports the same numbers."""
    claim_payments = ClaimPayment.objects.filter(payment__file=file)
    payments = list(RemittancePayment.objects.filter(file=file))
    by_posting = dict.fromkeys(ClaimPayment.Posting.values, 0)
    matched = 0
    for posting, claim_id in claim_payments.values_list("posting", "claim_id"):
        by_posting[posting] += 1
        matched += claim_id is not None
    total_paid = sum((p.total_paid for p in payments if p.status != RemittancePayment.Status.DUPLICATE), ZERO)
    diagnostics = file.diagnostics or []
    summary = {
        "file": str(file.reference),
        "filename": file.filename,
        "status": file.status,
        "payments": len(payments),
        "duplicate_payments": sum(p.status == RemittancePayment.Status.DUPLICATE for p in payments),
        "claims": sum(by_posting.values()),
        "matched": matched,
        "posted": by_posting[ClaimPayment.Posting.POSTED],
        "exceptions": PostingException.objects.filter(payment__file=file).count(),
        "denials": Denial.objects.filter(claim_payment__payment__file=file).count(),
        "variances": Variance.objects.filter(claim_payment__payment__file=file).count(),
        "total_paid": str(total_paid),
        "diagnostics": len(diagnostics),
        "errors": sum(1 for d in diagnostics if d.get("severity") == "error"),
    }
    if totals is not None:
        summary["posted_now"] = totals.posted
    return summary


# --- manual EOB entry ---------------------------------------------------------------------


@dataclass
class ManualAdjustment:
    group: str
    reason: str
    amount: Decimal


@dataclass
class ManualLine:
    code: str
    modifiers: list[str]
    service_date: date
    charge: Decimal
    allowed: Decimal | None
    paid: Decimal
    units: Decimal | None
    adjustments: list[ManualAdjustment] = field(default_factory=list)


@dataclass
class ManualClaim:
    patient_control_number: str
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    payer_claim_number: str
    lines: list[ManualLine] = field(default_factory=list)
    adjustments: list[ManualAdjustment] = field(default_factory=list)


@dataclass
class ManualEob:
    payment_date: date
    trace_number: str
    method: str
    total_paid: Decimal
    claims: list[ManualClaim] = field(default_factory=list)


def _manual_adjustments(items: list[ManualAdjustment]) -> list[Adjustment835]:
    return [Adjustment835(group=a.group.upper(), reason=a.reason.upper(), amount=a.amount) for a in items]


def _check_manual(eob: ManualEob) -> None:
    """Paper EOBs must balance like an 835 (DOMAIN §1.4) before anything is stored."""
    if not eob.trace_number.strip():
        raise InvalidInput("trace_number: enter the check or EFT trace number", field="trace_number")
    if not eob.claims:
        raise InvalidInput("claims: enter at least one claim", field="claims")
    for n, claim in enumerate(eob.claims, start=1):
        where = f"claim {n} ({claim.patient_control_number or 'no control number'})"
        if not claim.patient_control_number.strip():
            raise InvalidInput(
                f"claims[{n}].patient_control_number: {where} needs the patient control number",
                field="patient_control_number",
            )
        adjusted = sum((a.amount for a in claim.adjustments), ZERO)
        for m, line in enumerate(claim.lines, start=1):
            line_adjusted = sum((a.amount for a in line.adjustments), ZERO)
            if line.charge - line_adjusted != line.paid:
                raise InvalidInput(
                    f"claims[{n}].lines[{m}]: line {m} of {where} does not balance: charge "
                    f"{format_money(line.charge)} less adjustments {format_money(line_adjusted)} is "
                    f"{format_money(line.charge - line_adjusted)}, not the paid {format_money(line.paid)}",
                    field="lines",
                )
            adjusted += line_adjusted
        if claim.charge - adjusted != claim.paid:
            raise InvalidInput(
                f"claims[{n}]: {where} does not balance: charge {format_money(claim.charge)} less "
                f"adjustments "
                f"{format_money(adjusted)} is {format_money(claim.charge - adjusted)}, not the paid "
                f"{format_money(claim.paid)}",
                field="claims",
            )
    paid = sum((c.paid for c in eob.claims), ZERO)
    if paid != eob.total_paid:
        raise InvalidInput(
            f"total_paid: the check total {format_money(eob.total_paid)} is not the sum of the claims' paid "
            f"amounts {format_money(paid)}",
            field="total_paid",
        )


def manual_eob_post(*, organization: Any, payer: Any, eob: ManualEob, by: Any) -> ImportOutcome:
    """A paper EOB keyed by hand: built into the same structure as a read 835, stored and
    posted through the same path (identity: payer, check number, date and amount)."""
    _require(can_post_remittances(by, organization), "You may not post remittances for this organization.")
    if payer is None or payer.organization_id != organization.pk:
        raise InvalidInput("payer: choose a payer of this organization", field="payer")
    _check_manual(eob)
    transaction835 = Transaction835(
        handling_code="C" if eob.total_paid else "H",
        total_paid=eob.total_paid,
        credit_debit="C",
        method=eob.method,
        payment_date=eob.payment_date,
        trace_number=eob.trace_number.strip(),
        trace_payer_id=payer.edi_payer_id,
        payer_name=payer.name,
        payer_id=payer.edi_payer_id,
        balanced=True,
    )
    for claim in eob.claims:
        claim835 = ClaimPayment835(
            patient_control_number=claim.patient_control_number.strip(),
            status_code=claim.status_code,
            charge=claim.charge,
            paid=claim.paid,
            patient_responsibility=claim.patient_responsibility,
            payer_claim_number=claim.payer_claim_number.strip(),
            adjustments=_manual_adjustments(claim.adjustments),
            balanced=True,
        )
        for line in claim.lines:
            claim835.lines.append(
                ServiceLine835(
                    qualifier="HC",
                    code=line.code.strip().upper(),
                    modifiers=[m.strip().upper() for m in line.modifiers if m.strip()],
                    charge=line.charge,
                    paid=line.paid,
                    units_paid=line.units,
                    service_date_from=line.service_date,
                    service_date_to=line.service_date,
                    allowed_amount=line.allowed,
                    adjustments=_manual_adjustments(line.adjustments),
                    balanced=True,
                )
            )
        transaction835.claims.append(claim835)
    parsed = Remittance835File(version="manual", transactions=[transaction835])
    key = f"manual|{payer.pk}|{eob.trace_number.strip().upper()}|{eob.payment_date}|{eob.total_paid}"
    content = (
        f"Paper EOB keyed by hand: payer {payer.name}, check/trace {eob.trace_number.strip()}, dated "
        f"{eob.payment_date:%Y-%m-%d}, total {eob.total_paid}, {len(eob.claims)} claims."
    )
    sha256 = hashlib.sha256(key.encode()).hexdigest()
    if RemittanceFile.objects.filter(organization=organization, sha256=sha256).exists():
        raise InvalidInput(
            f"trace_number: an EOB from {payer.name} with check {eob.trace_number.strip()}, this date and "
            "this "
            "total was already entered",
            field="trace_number",
        )
    return _store_and_post(
        organization=organization,
        parsed=parsed,
        content=content,
        sha256=sha256,
        name=f"EOB {payer.name} {eob.trace_number.strip()}",
        channel=RemittanceFile.Channel.MANUAL,
        by=by,
    )


# --- working exceptions, denials and variances -----------------------------------------------


MATCHABLE = {
    PostingException.Kind.UNMATCHED,
    PostingException.Kind.AMBIGUOUS,
    PostingException.Kind.REVERSAL_WITHOUT_ORIGINAL,
}


def _transition(item: Any, status: str, *, by: Any, note: str, kind: str, subject: Any) -> Any:
    if not item.can_transition_to(status):
        raise InvalidTransition(
            f"status: cannot go from {item.get_status_display().lower()} to {status.replace('_', ' ')}",
            field="status",
        )
    closing = status in (item.Status.RESOLVED, item.Status.DISMISSED)
    if closing and not note.strip():
        raise InvalidInput("note: say how it was resolved or why it is dismissed", field="note")
    old = item.status
    item.status = status
    if closing:
        item.resolved_by, item.resolved_at, item.resolution = by, timezone.now(), note.strip()[:500]
    elif status == item.Status.OPEN:
        item.resolved_by, item.resolved_at = None, None
    if status == item.Status.IN_PROGRESS and item.assigned_to_id is None:
        item.assigned_to = by
    mark_change(item, by=by, reason=note.strip() or f"{old} → {status}")
    item.save(
        update_fields=["status", "resolved_by", "resolved_at", "resolution", "assigned_to", "updated_at"]
    )
    event_record(
        organization=item.organization,
        subject=subject,
        kind=kind,
        summary=f"{item} : {old.replace('_', ' ')} → {status.replace('_', ' ')}"
        + (f" ({note.strip()[:150]})" if note.strip() else ""),
        by=by,
        data={"old": old, "new": status, "note": note.strip()[:300]},
    )
    return item


def _locked(model: type, item: Any) -> Any:
    return model.objects.select_for_update(no_key=True).get(pk=item.pk)


@transaction.atomic(durable=True)
def exception_resolve(
    *, exception: PostingException, by: Any, resolution: str, claim: Any = None
) -> PostingException:
    """Resolve an exception. For an unmatched, ambiguous or orphan-reversal claim payment,
    ``claim`` names the claim it belongs to: the claim payment is matched and posted now."""
    exception = _locked(PostingException, exception)
    _require(can_post_remittances(by, exception.organization), "You may not work posting exceptions here.")
    if not exception.is_open:
        raise InvalidTransition("status: this exception is already closed", field="status")
    if exception.kind in MATCHABLE:
        if claim is None:
            raise InvalidInput("claim: choose the claim this payment belongs to", field="claim")
        if claim.organization_id != exception.organization_id:
            raise InvalidInput("claim: the claim belongs to another organization", field="claim")
        claim_payment = ClaimPayment.objects.select_for_update(no_key=True).get(pk=exception.claim_payment_id)
        if claim_payment.posting != ClaimPayment.Posting.EXCEPTION:
            raise InvalidTransition("claim: this claim payment was already posted", field="claim")
        ClaimPayment.objects.filter(pk=claim_payment.pk).update(
            claim=claim, posting=ClaimPayment.Posting.PENDING, match=ClaimPayment.Match.MANUAL
        )
        resolution = resolution.strip() or f"Matched by hand to claim {claim.patient_control_number}"
        _transition(
            exception,
            PostingException.Status.RESOLVED,
            by=by,
            note=resolution,
            kind="claims.exception.resolved",
            subject=exception.organization,
        )
        # Posted in this transaction: the resolution and the posting stand or fall together.
        post_file(claim_payment.payment.file, by=by)
        return exception
    return _transition(
        exception,
        PostingException.Status.RESOLVED,
        by=by,
        note=resolution,
        kind="claims.exception.resolved",
        subject=exception.organization,
    )


@transaction.atomic(durable=True)
def exception_dismiss(*, exception: PostingException, by: Any, reason: str) -> PostingException:
    exception = _locked(PostingException, exception)
    _require(can_post_remittances(by, exception.organization), "You may not work posting exceptions here.")
    return _transition(
        exception,
        PostingException.Status.DISMISSED,
        by=by,
        note=reason,
        kind="claims.exception.dismissed",
        subject=exception.organization,
    )


@transaction.atomic(durable=True)
def exception_assign(*, exception: PostingException, assignee: Any, by: Any) -> PostingException:
    exception = _locked(PostingException, exception)
    _require(can_post_remittances(by, exception.organization), "You may not work posting exceptions here.")
    if assignee is not None and not can_post_remittances(assignee, exception.organization):
        raise InvalidInput(
            "assignee: this person does not post remittances in this organization", field="assignee"
        )
    exception.assigned_to = assignee
    mark_change(exception, by=by, reason="assigned")
    exception.save(update_fields=["assigned_to", "updated_at"])
    return exception


@transaction.atomic(durable=True)
def denial_transition(*, denial: Denial, status: str, by: Any, note: str) -> Denial:
    denial = _locked(Denial, denial)
    _require(can_work_denials(by, denial.organization), "You may not work denials here.")
    subject = denial.account or denial.organization
    return _transition(denial, status, by=by, note=note, kind="claims.denial.status_changed", subject=subject)


@transaction.atomic(durable=True)
def variance_transition(*, variance: Variance, status: str, by: Any, note: str) -> Variance:
    variance = _locked(Variance, variance)
    _require(can_post_remittances(by, variance.organization), "You may not work variances here.")
    subject = variance.account or variance.organization
    return _transition(
        variance, status, by=by, note=note, kind="claims.variance.status_changed", subject=subject
    )
