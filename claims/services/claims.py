"""Claims: built from an account's charges, submitted, moved through their statuses, corrected, noted.

Every entry point runs in its own durable transaction, locks what it changes (the account
row when a claim is built from its charges, so a charge cannot be reversed or claimed twice
meanwhile; the claim row otherwise), checks the actor's permission again, records row
history with a reason and a timeline event on the claim's account. Timeline events carry
the claim's reference in ``data["claim"]``, which is how the claim page finds its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.edits import billing_blockers
from accounts.ledger import lock_account
from accounts.models import Charge, Coverage, PatientAccount
from claims.models import Claim, ClaimLine, ClaimNote
from claims.permissions import can_manage_claims, can_note_claims
from core.audit import mark_change
from core.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    error_from_integrity,
    invalid_from_validation,
)
from core.money import ZERO, format_money
from core.timeline import event_record
from payers.models import Payer
from staff.calendar import calendar_for

NOTE_MAX_LENGTH = 4000
# An 837P carries at most 50 service lines (2400 loop repeat); institutional claims allow 999.
MAX_LINES = {Claim.Kind.PROFESSIONAL: 50, Claim.Kind.INSTITUTIONAL: 999, Claim.Kind.PHARMACY: 99}
MAX_DIAGNOSES = 12

# The claim an account's charges make: hospital stays bill on the UB-04/837I, visits on the
# CMS-1500/837P, prescriptions to the PBM.
KIND_OF_ACCOUNT = {
    PatientAccount.Kind.HOSPITAL: Claim.Kind.INSTITUTIONAL,
    PatientAccount.Kind.PROFESSIONAL: Claim.Kind.PROFESSIONAL,
    PatientAccount.Kind.PHARMACY: Claim.Kind.PHARMACY,
}


# --- helpers ---------------------------------------------------------------------------------------


def clean_filename(name: str, *, default: str = "", length: int = 80) -> str:
    """An uploaded file's name without its client path or odd characters; ``default`` when none is left."""
    base = os.path.basename((name or "").replace("\\", "/"))
    return re.sub(r"[^\w.\- ]", "_", base).strip()[:length] or default


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotPermitted(message)


def required_reason(reason: str, *, record: str = "claim") -> str:
    """The stripped reason for a change, or ``InvalidInput`` when none is given."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(f"reason: say why (it is kept in the {record}'s history)", field="reason")
    return reason


def _lock(claim: Claim) -> Claim:
    claim.refresh_from_db(from_queryset=Claim.objects.select_for_update(no_key=True))
    return claim


def validate(obj: Any, **kwargs: Any) -> None:
    """``full_clean`` whose failure is an ``InvalidInput`` naming the first field at fault."""
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        raise invalid_from_validation(exc) from None


def save_new_claim(claim: Claim, lines: list[ClaimLine], *, by: Any, reason: str) -> Claim:
    """Insert a claim and its lines (inside the caller's transaction); constraints become domain errors."""
    validate(claim, exclude=["organization", "account", "coverage", "payer", "original_claim"])
    mark_change(claim, by=by, reason=reason)
    try:
        with transaction.atomic(savepoint=True):
            claim.save()
    except IntegrityError as exc:
        raise error_from_integrity(
            exc, Claim, Conflict("source_key: this claim was already received", field="source_key")
        ) from None
    for line in lines:
        line.claim = claim
        validate(line, exclude=["claim", "charge"])
    # Lines are not history-tracked (they never change once the claim is made): one INSERT.
    ClaimLine.objects.bulk_create(lines)
    return claim


def status_label(status: str) -> str:
    return Claim.Status(status).label


def record_claim_event(*, claim: Claim, kind: str, summary: str, by: Any, data: dict | None = None) -> None:
    """A timeline event on the claim's account that names the claim (the claim page reads these back)."""
    event_record(
        organization=claim.organization,
        subject=claim.account,
        kind=kind,
        summary=summary,
        by=by,
        data={
            "claim": str(claim.reference),
            "patient_control_number": claim.patient_control_number,
            **(data or {}),
        },
    )


def timely_filing_deadline_for(claim: Claim) -> date | None:
    """The last day the payer accepts ``claim``, from the payer rule in force on its last date of service.

    An original claim counts ``timely_filing_days`` from the last date of service; a
    replacement or void counts ``corrected_claim_days`` from the payer's decision on the
    claim it corrects, when that decision is known. A deadline that falls on a weekend,
    a federal holiday or an organization closure moves to the next business day. None
    when the payer has no rule for that date.
    """
    rule = claim.payer.rule_on(claim.service_to)
    if rule is None:
        return None
    start, days = claim.service_to, rule.timely_filing_days
    original = claim.original_claim
    if claim.frequency != Claim.Frequency.ORIGINAL and original is not None and original.last_remittance_on:
        start, days = original.last_remittance_on, rule.corrected_claim_days
    calendar = calendar_for(claim.organization, around=start)
    return calendar.add_calendar_days(start, days)


def status_history(claim: Claim) -> list[Any]:
    """The claim's history rows where its status changed, newest first (who, when, why)."""
    rows = list(claim.history.select_related("history_user").order_by("history_date", "history_id"))
    changes, previous = [], None
    for row in rows:
        if row.status != previous:
            changes.append(row)
            previous = row.status
    return changes[::-1]


# --- creating from charges ---------------------------------------------------------------------------


def _charges_problems(account: PatientAccount, charges: list[Charge], payer: Payer) -> None:
    """Refuse charges that cannot be billed on a new claim to ``payer``; the message names each one."""
    for charge in charges:
        if charge.account_id != account.pk:
            raise InvalidInput(f"charges: {charge} belongs to another account", field="charges")
        if charge.status != Charge.Status.POSTED:
            raise InvalidInput(f"charges: {charge} is reversed and cannot be billed", field="charges")
    ids = {charge.pk for charge in charges}
    blockers = [edit for edit in billing_blockers(account) if edit.charge_id in ids]
    if blockers:
        named = "; ".join(
            f"{edit.charge}: {edit.get_rule_display()} ({edit.message})" for edit in blockers[:5]
        )
        more = f" and {len(blockers) - 5} more" if len(blockers) > 5 else ""
        raise InvalidInput(
            f"charges: {len(blockers)} open charge edit{'s' if len(blockers) != 1 else ''} must be fixed or "
            f"overridden first: {named}{more}",
            field="charges",
            details={"edits": [str(edit.reference) for edit in blockers]},
        )
    # A charge is billed to a payer once; a secondary payer is billed on a claim of its own.
    claimed = (
        ClaimLine.objects.filter(charge_id__in=ids, claim__payer=payer)
        .exclude(claim__status__in=[Claim.Status.CLOSED, Claim.Status.VOID])
        .select_related("claim", "charge")
        .order_by("charge_id")
        .first()
    )
    if claimed is not None:
        raise InvalidInput(
            f"charges: {claimed.charge} is already on open claim {claimed.claim.patient_control_number} to "
            f"{payer}; correct that claim instead",
            field="charges",
        )


def _diagnoses(charges: Iterable[Charge]) -> list[str]:
    seen: list[str] = []
    for charge in charges:
        for code in charge.diagnoses:
            if code not in seen:
                seen.append(code)
    return seen[:MAX_DIAGNOSES]


def _line_from_charge(number: int, charge: Charge) -> ClaimLine:
    return ClaimLine(
        line_number=number,
        charge=charge,
        code_type=charge.code_type,
        code=charge.code,
        modifiers=list(charge.modifiers),
        revenue_code=charge.revenue_code,
        units=charge.units,
        billed_amount=charge.amount,
        service_from=charge.service_date,
        service_to=charge.service_date,
        rx_number=charge.rx_number,
        fill_number=charge.fill_number,
        ndc=charge.ndc or (charge.code if charge.code_type == Charge.CodeType.NDC else ""),
        quantity=charge.quantity,
        days_supply=charge.days_supply,
    )


@transaction.atomic(durable=True)
def claim_create_from_charges(
    *,
    account: PatientAccount,
    coverage: Coverage,
    charges: Iterable[Charge],
    by: Any,
    kind: str | None = None,
) -> Claim:
    """Bill ``charges`` of ``account`` to ``coverage``'s payer on a new claim (status created).

    Refused with ``InvalidInput`` naming the charge when one belongs to another account,
    is reversed, is already on an open claim to the same payer, or has an open charge edit
    (``accounts.edits.billing_blockers``). The account's row lock keeps a charge from being
    reversed or claimed by someone else while the claim is built.
    """
    lock_account(account)
    _require(
        can_manage_claims(by, account),
        "Only posting specialists, senior representatives and supervisors create claims.",
    )
    if coverage is None:
        raise InvalidInput("coverage: choose the coverage to bill", field="coverage")
    if coverage.organization_id != account.organization_id or coverage.patient_id != account.patient_id:
        raise InvalidInput("coverage: is not a coverage of this account's patient", field="coverage")
    charge_list = sorted(
        Charge.objects.filter(pk__in=[c.pk for c in charges]).select_for_update(no_key=True),
        key=lambda c: (c.service_date, c.pk),
    )
    if not charge_list:
        raise InvalidInput("charges: choose at least one charge to bill", field="charges")
    payer = coverage.plan.payer
    _charges_problems(account, charge_list, payer)
    kind = kind or (Claim.Kind.PHARMACY if payer.kind == Payer.Kind.PBM else KIND_OF_ACCOUNT[account.kind])
    if kind not in Claim.Kind.values:
        raise InvalidInput(f"kind: {kind!r} is not a kind of claim", field="kind")
    if len(charge_list) > MAX_LINES[kind]:
        raise InvalidInput(
            f"charges: a {Claim.Kind(kind).label} claim has at most {MAX_LINES[kind]} lines; "
            f"split the {len(charge_list)} charges over several claims",
            field="charges",
        )
    pharmacy = kind == Claim.Kind.PHARMACY
    claim = Claim(
        organization=account.organization,
        account=account,
        coverage=coverage,
        payer=payer,
        patient_control_number=account.account_number,
        kind=kind,
        status=Claim.Status.CREATED,
        source=Claim.Source.CHARGES,
        billed_amount=sum((c.amount for c in charge_list), ZERO),
        service_from=charge_list[0].service_date,
        service_to=max(c.service_date for c in charge_list),
        place_of_service=next((c.place_of_service for c in charge_list if c.place_of_service), ""),
        diagnoses=_diagnoses(charge_list),
        bin=payer.bin if pharmacy else "",
        pcn=payer.pcn if pharmacy else "",
        rx_group=coverage.group_number[:20] if pharmacy else "",
    )
    claim.timely_filing_deadline = timely_filing_deadline_for(claim)
    lines = [_line_from_charge(n, charge) for n, charge in enumerate(charge_list, start=1)]
    save_new_claim(claim, lines, by=by, reason="claim created from charges")
    record_claim_event(
        claim=claim,
        kind="claims.claim.created",
        summary=f"Claim {claim.patient_control_number} created for {payer}: {len(lines)} "
        f"line{'s' if len(lines) != 1 else ''}, {format_money(claim.billed_amount)}",
        by=by,
        data={
            "payer": payer.name,
            "billed": str(claim.billed_amount),
            "charges": [str(c.reference) for c in charge_list],
        },
    )
    return claim


# --- status ---------------------------------------------------------------------------------------


def _ensure_transition(claim: Claim, status: str) -> None:
    if status not in Claim.Status.values:
        raise InvalidInput(f"status: {status!r} is not a claim status", field="status")
    if not claim.can_transition_to(status):
        raise InvalidTransition(
            f"status: a claim that is {status_label(claim.status).lower()} cannot become "
            f"{status_label(status).lower()}",
            field="status",
        )


def _submit_locked(claim: Claim, *, by: Any, submitted_on: date | None, reason: str) -> list[str]:
    """Move a locked claim to submitted, stamping the day and the timely-filing deadline."""
    today = timezone.localdate()
    submitted_on = submitted_on or today
    if submitted_on > today:
        raise InvalidInput("submitted_on: cannot be in the future", field="submitted_on")
    if submitted_on < claim.service_from:
        raise InvalidInput("submitted_on: cannot be before the first date of service", field="submitted_on")
    claim.status = Claim.Status.SUBMITTED
    claim.submitted_on = submitted_on
    claim.timely_filing_deadline = timely_filing_deadline_for(claim)
    mark_change(claim, by=by, reason=reason)
    claim.save(update_fields=["status", "submitted_on", "timely_filing_deadline", "updated_at"])
    return ["status", "submitted_on", "timely_filing_deadline"]


def _late(claim: Claim) -> bool:
    return bool(
        claim.timely_filing_deadline
        and claim.submitted_on
        and claim.submitted_on > claim.timely_filing_deadline
    )


@transaction.atomic(durable=True)
def claim_submit(*, claim: Claim, by: Any, submitted_on: date | None = None) -> Claim:
    """Record that the claim went to the payer (today unless ``submitted_on``); sets the deadline.

    A claim sent after its timely-filing deadline is still recorded (the payer decides, and
    exceptions exist), but the timeline says it was late.
    """
    _lock(claim)
    _require(
        can_manage_claims(by, claim),
        "Only posting specialists, senior representatives and supervisors submit claims.",
    )
    _ensure_transition(claim, Claim.Status.SUBMITTED)
    old = claim.status
    _submit_locked(claim, by=by, submitted_on=submitted_on, reason="submitted to the payer")
    deadline = claim.timely_filing_deadline
    summary = f"Claim {claim.patient_control_number} submitted to {claim.payer}"
    if deadline is not None:
        summary += f"; timely filing deadline {deadline:%m/%d/%Y}"
    if _late(claim):
        summary += " (submitted after the deadline)"
    record_claim_event(
        claim=claim,
        kind="claims.claim.submitted",
        summary=summary,
        by=by,
        data={
            "old": old,
            "new": claim.status,
            "submitted_on": str(claim.submitted_on),
            "timely_filing_deadline": str(deadline) if deadline else None,
            "late": _late(claim),
        },
    )
    return claim


@transaction.atomic(durable=True)
def claim_change_status(*, claim: Claim, status: str, by: Any, reason: str) -> Claim:
    """Move a claim along ``Claim.TRANSITIONS`` (pended, paid, denied, closed…) with a reason.

    Raises ``InvalidTransition`` when the table does not allow the move from the claim's
    current status (read under the row lock: it may have moved on meanwhile).
    """
    _lock(claim)
    _require(
        can_manage_claims(by, claim),
        "Only posting specialists, senior representatives and supervisors change a claim's status.",
    )
    _ensure_transition(claim, status)
    reason = required_reason(reason)
    old = claim.status
    if status == Claim.Status.SUBMITTED:
        # A resubmission goes out today: a new submission date and deadline.
        _submit_locked(claim, by=by, submitted_on=None, reason=reason)
    else:
        claim.status = status
        mark_change(claim, by=by, reason=reason)
        claim.save(update_fields=["status", "updated_at"])
    record_claim_event(
        claim=claim,
        kind="claims.claim.status_changed",
        summary=f"Claim {claim.patient_control_number}: {status_label(old)} → {status_label(status)}",
        by=by,
        data={"old": old, "new": status, "reason": reason},
    )
    return claim


# --- corrections ---------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def claim_correct(*, claim: Claim, frequency: str, by: Any, reason: str) -> Claim:
    """Make a replacement (frequency 7) or void (8) of a claim the payer has received.

    The new claim copies the original's lines (the same charges) and points to it through
    ``original_claim``; it starts as created and is submitted like any claim. The original
    keeps its status: the payer's remittance for the correction moves it.
    """
    _lock(claim)
    _require(
        can_manage_claims(by, claim),
        "Only posting specialists, senior representatives and supervisors correct claims.",
    )
    if frequency not in (Claim.Frequency.REPLACEMENT, Claim.Frequency.VOID):
        raise InvalidInput("frequency: choose 7 (replacement) or 8 (void)", field="frequency")
    reason = required_reason(reason)
    if claim.frequency == Claim.Frequency.VOID:
        raise InvalidTransition("claim: a void claim cannot be corrected", field="claim")
    if claim.status in (Claim.Status.CREATED, Claim.Status.VOID):
        raise InvalidTransition(
            f"claim: a claim that is {status_label(claim.status).lower()} has not reached the payer; "
            "there is nothing to correct",
            field="claim",
        )
    pending = (
        claim.corrections.exclude(status__in=[Claim.Status.CLOSED, Claim.Status.VOID]).order_by("id").first()
    )
    if pending is not None:
        raise Conflict(
            f"claim: a {pending.get_frequency_display().lower()} of this claim is already "
            f"{status_label(pending.status).lower()}",
            field="claim",
        )
    type_of_bill = claim.type_of_bill[:-1] + frequency if claim.type_of_bill else ""
    correction = Claim(
        organization_id=claim.organization_id,
        account_id=claim.account_id,
        coverage_id=claim.coverage_id,
        payer_id=claim.payer_id,
        patient_control_number=claim.patient_control_number,
        kind=claim.kind,
        frequency=frequency,
        original_claim=claim,
        status=Claim.Status.CREATED,
        source=claim.source,
        billed_amount=claim.billed_amount,
        service_from=claim.service_from,
        service_to=claim.service_to,
        place_of_service=claim.place_of_service,
        type_of_bill=type_of_bill,
        diagnoses=list(claim.diagnoses),
        prior_authorization=claim.prior_authorization,
        bin=claim.bin,
        pcn=claim.pcn,
        rx_group=claim.rx_group,
    )
    correction.organization = claim.organization
    correction.payer = claim.payer
    correction.timely_filing_deadline = timely_filing_deadline_for(correction)
    lines = [
        ClaimLine(
            **{
                field.attname: getattr(line, field.attname)
                for field in ClaimLine._meta.concrete_fields
                if field.name not in ("id", "claim")
            }
        )
        for line in claim.lines.order_by("line_number")
    ]
    what = Claim.Frequency(frequency).label.lower()
    save_new_claim(correction, lines, by=by, reason=f"{what} of claim: {reason}")
    record_claim_event(
        claim=correction,
        kind="claims.claim.corrected",
        summary=f"{Claim.Frequency(frequency).label} of claim {claim.patient_control_number} created",
        by=by,
        data={"original": str(claim.reference), "frequency": frequency, "reason": reason},
    )
    return correction


# --- notes ----------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def claim_note_add(*, claim: Claim, text: str, by: Any) -> ClaimNote:
    """A note on the claim (a payer call, what was agreed). The timeline says a note was added, not what."""
    _require(can_note_claims(by, claim), "You may not add notes to this claim.")
    text = (text or "").strip()
    if not text:
        raise InvalidInput("text: write the note", field="text")
    if len(text) > NOTE_MAX_LENGTH:
        raise InvalidInput(f"text: a note has at most {NOTE_MAX_LENGTH} characters", field="text")
    note = ClaimNote.objects.create(organization_id=claim.organization_id, claim=claim, author=by, text=text)
    record_claim_event(
        claim=claim,
        kind="claims.claim.note_added",
        summary=f"Note added to claim {claim.patient_control_number}",
        by=by,
    )
    return note
