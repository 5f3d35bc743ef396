"""Opening cases, moving them through their statuses, logging contacts and owing callbacks."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Patient, PatientAccount
from accounts.querysets import phone_digits
from core.audit import mark_change
from core.errors import InvalidInput, InvalidTransition
from inquiries import servicelevels
from inquiries.models import (
    Callback,
    Case,
    CaseStatus,
    Category,
    Department,
    Direction,
    Interaction,
    Outcome,
    Priority,
    Referral,
    ScriptVersion,
)
from inquiries.permissions import can_reopen_closed_cases, can_work_cases
from inquiries.services.common import (
    case_event,
    day_text,
    ensure_transition,
    local_today,
    lock,
    reason_text,
    require,
    same_org,
    save,
    validate,
)
from staff.calendar import calendar_for

# Letters and digits that cannot be mistaken for one another when read out on the phone.
_NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_NUMBER_LENGTH = 6
_NUMBER_ATTEMPTS = 8
# How far ahead a case may be pended.
MAX_PEND_DAYS = 366
# Outcomes of an outbound contact that answer a waiting email (a missed call does not).
_ANSWERING_OUTCOMES = frozenset(
    {Outcome.REACHED, Outcome.LEFT_MESSAGE, Outcome.EMAIL_SENT, Outcome.LETTER_SENT, Outcome.FAX_SENT}
)
# Outcomes where a person was spoken to or took a message: they must be named.
_PERSON_OUTCOMES = frozenset({Outcome.REACHED, Outcome.LEFT_MESSAGE})


def new_case_number() -> str:
    return "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(_NUMBER_LENGTH))


def _refer_to_appeals(case: Case, *, kind: str, reason: str, by: Any, now: datetime) -> Referral:
    """Put the case in the appeals & grievances queue (inside the caller's transaction)."""
    referral = Referral(
        organization_id=case.organization_id,
        case=case,
        kind=kind,
        reason=reason[:500],
        referred_by=by,
        referred_at=now,
    )
    mark_change(referral, by=by, reason="referred to appeals & grievances")
    referral.save()
    case_event(
        case,
        "case.referred",
        f"Referred to appeals & grievances: {referral.get_kind_display().lower()}",
        by,
        referral=str(referral.reference),
        kind=kind,
        reason=reason,
    )
    return referral


def _subject(
    organization: Any, patient: Patient | None, account: PatientAccount | None, claim: Any
) -> tuple[Patient | None, PatientAccount | None, Any]:
    """Fill in the subject from its most specific part and check that the parts agree."""
    for obj, what in ((patient, "patient"), (account, "account"), (claim, "claim")):
        if obj is not None and obj.organization_id != organization.pk:
            raise InvalidInput(f"{what}: belongs to another organization", field=what)
    if claim is not None:
        if account is not None and claim.account_id != account.pk:
            raise InvalidInput("claim: is not a claim of this account", field="claim")
        account = account or claim.account
    if account is not None:
        if patient is not None and account.patient_id != patient.pk:
            raise InvalidInput("account: is not an account of this patient", field="account")
        patient = patient or account.patient
    return patient, account, claim


@transaction.atomic(durable=True)
def case_open(
    *,
    organization: Any,
    by: Any,
    channel: str,
    category: str,
    caller_type: str,
    summary: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    patient: Patient | None = None,
    account: PatientAccount | None = None,
    claim: Any = None,
    provider_name: str = "",
    caller_name: str = "",
    caller_phone: str = "",
    caller_email: str = "",
    assign_to_self: bool = True,
    now: datetime | None = None,
) -> Case:
    """Open a case, due by the organization's service level. A complaint or grievance goes to the
    appeals & grievances queue at once."""
    require(can_work_cases(by, organization), "You may not open cases in this organization.")
    return case_open_locked(
        organization=organization,
        by=by,
        channel=channel,
        category=category,
        caller_type=caller_type,
        summary=summary,
        description=description,
        priority=priority,
        patient=patient,
        account=account,
        claim=claim,
        provider_name=provider_name,
        caller_name=caller_name,
        caller_phone=caller_phone,
        caller_email=caller_email,
        assigned_to=by if assign_to_self else None,
        now=now,
    )


def case_open_locked(
    *,
    organization: Any,
    by: Any,
    channel: str,
    category: str,
    caller_type: str,
    summary: str,
    description: str,
    priority: str,
    patient: Patient | None,
    account: PatientAccount | None,
    claim: Any,
    provider_name: str,
    caller_name: str,
    caller_phone: str,
    caller_email: str,
    assigned_to: Any,
    now: datetime | None,
) -> Case:
    """The body of ``case_open`` for callers already inside a transaction (email intake)."""
    now = now or timezone.now()
    summary = (summary or "").strip()
    if not summary:
        raise InvalidInput("summary: say in a few words what the case is about", field="summary")
    patient, account, claim = _subject(organization, patient, account, claim)
    due = servicelevels.due_times(organization, category, priority, now)
    case = Case(
        organization=organization,
        patient=patient,
        account=account,
        claim=claim,
        provider_name=provider_name.strip(),
        caller_type=caller_type,
        caller_name=caller_name.strip(),
        caller_phone=phone_digits(caller_phone),
        caller_email=caller_email.strip(),
        channel=channel,
        category=category,
        priority=priority,
        summary=summary[:200],
        description=description.strip(),
        assigned_to=assigned_to,
        first_response_due_at=due.first_response_due_at,
        due_at=due.due_at,
        created_at=now,
    )
    validate(case, exclude=["number"], validate_unique=False, validate_constraints=False)
    mark_change(case, by=by, reason="case opened")
    for _attempt in range(_NUMBER_ATTEMPTS):
        case.number = new_case_number()
        try:
            with transaction.atomic(savepoint=True):
                case.save()
            break
        except IntegrityError:
            # A clash on the (organization, number) unique constraint: draw another number.
            case.pk = None
            continue
    else:
        raise InvalidInput("number: no free case number could be drawn; try again")
    case_event(
        case,
        "case.opened",
        f"Case opened: {case.get_category_display()} by {case.get_channel_display().lower()}",
        by,
        category=category,
        channel=channel,
        priority=priority,
        due_at=case.due_at.isoformat(),
        service_level=due.targets.source,
    )
    if category == Category.COMPLAINT_GRIEVANCE:
        _refer_to_appeals(
            case,
            kind=Referral.Kind.GRIEVANCE,
            reason=f"Complaint or grievance received: {summary}",
            by=by,
            now=now,
        )
    return case


CASE_FIELDS = frozenset(
    {
        "category",
        "priority",
        "summary",
        "description",
        "caller_type",
        "caller_name",
        "caller_phone",
        "caller_email",
        "provider_name",
    }
)


@transaction.atomic(durable=True)
def case_update(
    *, case: Case, changes: dict[str, Any], reason: str, by: Any, now: datetime | None = None
) -> Case:
    """Change what the case is about or who called. A new category or priority moves the due times;
    becoming a complaint or grievance refers the case to appeals & grievances."""
    lock(case)
    require(can_work_cases(by, case), "You may not change this case.")
    if not case.is_open:
        raise InvalidTransition("status: reopen the case before changing it", field="status")
    unknown = set(changes) - CASE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"{field}: cannot be changed here", field=field)
    if "caller_phone" in changes:
        changes = {**changes, "caller_phone": phone_digits(changes["caller_phone"])}
    diff = [name for name, value in changes.items() if getattr(case, name) != value]
    if not diff:
        return case
    reason = reason_text(reason)
    was_grievance = case.category == Category.COMPLAINT_GRIEVANCE
    for name in diff:
        setattr(case, name, changes[name])
    fields = list(diff)
    if {"category", "priority"} & set(diff):
        due = servicelevels.due_times(case.organization, case.category, case.priority, case.created_at)
        case.first_response_due_at, case.due_at = due.first_response_due_at, due.due_at
        fields += ["first_response_due_at", "due_at"]
    validate(case, validate_unique=False, validate_constraints=False)
    mark_change(case, by=by, reason=reason)
    save(case, update_fields=[*fields, "updated_at"])
    case_event(
        case,
        "case.updated",
        f"Case details changed: {', '.join(sorted(diff))}",
        by,
        fields=sorted(diff),
        reason=reason,
    )
    if case.category == Category.COMPLAINT_GRIEVANCE and not was_grievance:
        _refer_to_appeals(
            case,
            kind=Referral.Kind.GRIEVANCE,
            reason=f"Complaint or grievance: {case.summary}",
            by=by,
            now=now or timezone.now(),
        )
    return case


@transaction.atomic(durable=True)
def case_link_subject(
    *,
    case: Case,
    by: Any,
    patient: Patient | None = None,
    account: PatientAccount | None = None,
    claim: Any = None,
) -> Case:
    """Say which patient, account and claim the case is about (a case opened from an email, say).

    The subject can be made more specific but never switched to another patient once the
    caller was verified against it: that would carry a verification over to a stranger.
    """
    lock(case)
    require(can_work_cases(by, case), "You may not change this case.")
    if not case.is_open:
        raise InvalidTransition("status: reopen the case before changing it", field="status")
    patient, account, claim = _subject(case.organization, patient, account, claim)
    if patient is None:
        raise InvalidInput("patient: choose the patient the case is about", field="patient")
    if case.patient_id and case.patient_id != patient.pk and case.verifications.exists():
        raise InvalidInput(
            "patient: a caller was already verified against another patient on this case; open a new case",
            field="patient",
        )
    old = {"patient": case.patient_id, "account": case.account_id, "claim": case.claim_id}
    case.patient, case.account, case.claim = patient, account, claim
    new = {"patient": case.patient_id, "account": case.account_id, "claim": case.claim_id}
    if old == new:
        return case
    mark_change(case, by=by, reason="case subject linked")
    save(case, update_fields=["patient", "account", "claim", "updated_at"])
    parts = (
        ["patient"]
        + (["account " + account.account_number] if account else [])
        + (["claim"] if claim else [])
    )
    case_event(
        case,
        "case.subject_linked",
        f"Case linked to {', '.join(parts)}",
        by,
        changed=[k for k in new if old[k] != new[k]],
    )
    return case


def _move(case: Case, status: str, *, by: Any, reason: str, fields: Iterable[str] = ()) -> None:
    case.status = status
    mark_change(case, by=by, reason=reason)
    save(case, update_fields=["status", *fields, "updated_at"])


@transaction.atomic(durable=True)
def case_start(*, case: Case, by: Any) -> Case:
    """Take the case: it becomes yours and in progress (from new, pended, transferred or escalated)."""
    lock(case)
    require(can_work_cases(by, case), "You may not work this case.")
    if case.status == CaseStatus.IN_PROGRESS and case.assigned_to_id == by.pk:
        return case
    if case.status != CaseStatus.IN_PROGRESS:
        ensure_transition(case, CaseStatus.IN_PROGRESS, "worked; reopen it first")
    old = case.status
    case.assigned_to = by
    case.follow_up_on, case.pend_reason = None, ""
    _move(
        case,
        CaseStatus.IN_PROGRESS,
        by=by,
        reason="case taken",
        fields=["assigned_to", "follow_up_on", "pend_reason"],
    )
    case_event(
        case, "case.started", f"Case taken by {by.full_name or by.email}", by, old=old, new=case.status
    )
    return case


@transaction.atomic(durable=True)
def case_pend(*, case: Case, follow_up_on: date, reason: str, by: Any, now: datetime | None = None) -> Case:
    """Put the case aside until ``follow_up_on`` (a business day after today); it comes back to a
    worklist that day."""
    lock(case)
    require(can_work_cases(by, case), "You may not pend this case.")
    ensure_transition(case, CaseStatus.PENDED, "pended")
    reason = reason_text(reason, "pend_reason")
    today = local_today(case.organization, now)
    if follow_up_on is None:
        raise InvalidInput("follow_up_on: choose the date to follow up", field="follow_up_on")
    if follow_up_on <= today:
        raise InvalidInput("follow_up_on: must be after today", field="follow_up_on")
    if follow_up_on > today + timedelta(days=MAX_PEND_DAYS):
        raise InvalidInput("follow_up_on: at most a year ahead", field="follow_up_on")
    calendar = calendar_for(case.organization, around=today)
    if not calendar.is_business_day(follow_up_on):
        why = calendar.closed_reason(follow_up_on) or "closed"
        following = calendar.next_business_day(follow_up_on)
        raise InvalidInput(
            f"follow_up_on: {day_text(follow_up_on)} is not a business day ({why}); "
            f"the next one is {day_text(following)}",
            field="follow_up_on",
        )
    old = case.status
    case.follow_up_on, case.pend_reason = follow_up_on, reason[:300]
    _move(case, CaseStatus.PENDED, by=by, reason=reason, fields=["follow_up_on", "pend_reason"])
    case_event(
        case,
        "case.pended",
        f"Pended until {day_text(follow_up_on)}: {reason}",
        by,
        old=old,
        new=case.status,
        follow_up_on=follow_up_on.isoformat(),
        reason=reason,
    )
    return case


@transaction.atomic(durable=True)
def case_resolve(*, case: Case, resolution: str, by: Any, now: datetime | None = None) -> Case:
    lock(case)
    require(can_work_cases(by, case), "You may not resolve this case.")
    ensure_transition(case, CaseStatus.RESOLVED, "resolved")
    resolution = reason_text(resolution, "resolution")
    old = case.status
    case.resolution = resolution
    case.resolved_at = now or timezone.now()
    case.follow_up_on, case.pend_reason = None, ""
    _move(
        case,
        CaseStatus.RESOLVED,
        by=by,
        reason="case resolved",
        fields=["resolution", "resolved_at", "follow_up_on", "pend_reason"],
    )
    case_event(case, "case.resolved", f"Resolved: {resolution}", by, old=old, new=case.status)
    return case


@transaction.atomic(durable=True)
def case_close(*, case: Case, by: Any, now: datetime | None = None) -> Case:
    """Close a resolved case: nothing more is logged on it unless a supervisor reopens it."""
    lock(case)
    require(can_work_cases(by, case), "You may not close this case.")
    ensure_transition(case, CaseStatus.CLOSED, "closed; resolve it first")
    old = case.status
    case.closed_at = now or timezone.now()
    _move(case, CaseStatus.CLOSED, by=by, reason="case closed", fields=["closed_at"])
    case_event(case, "case.closed", "Case closed", by, old=old, new=case.status)
    return case


@transaction.atomic(durable=True)
def case_reopen(*, case: Case, reason: str, by: Any) -> Case:
    """Reopen a resolved case (any case worker) or a closed one (supervisors): it is in progress again."""
    lock(case)
    require(can_work_cases(by, case), "You may not reopen this case.")
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        raise InvalidTransition("status: only a resolved or closed case can be reopened", field="status")
    if case.status == CaseStatus.CLOSED:
        require(can_reopen_closed_cases(by, case), "Only a supervisor may reopen a closed case.")
    reason = reason_text(reason)
    old = case.status
    case.resolved_at = case.closed_at = None
    _move(case, CaseStatus.IN_PROGRESS, by=by, reason=reason, fields=["resolved_at", "closed_at"])
    case_event(case, "case.reopened", f"Reopened: {reason}", by, old=old, new=case.status, reason=reason)
    return case


@transaction.atomic(durable=True)
def case_transfer(*, case: Case, department: Department, reason: str, by: Any) -> Case:
    """Send the case (and the caller) to another department, saying why."""
    lock(case)
    require(can_work_cases(by, case), "You may not transfer this case.")
    ensure_transition(case, CaseStatus.TRANSFERRED, "transferred")
    same_org(case, department, "department")
    if department is None or not department.is_active:
        raise InvalidInput("department: choose an active department", field="department")
    reason = reason_text(reason)
    old = case.status
    case.department = department
    case.follow_up_on, case.pend_reason = None, ""
    _move(
        case,
        CaseStatus.TRANSFERRED,
        by=by,
        reason=reason,
        fields=["department", "follow_up_on", "pend_reason"],
    )
    case_event(
        case,
        "case.transferred",
        f"Transferred to {department.name}: {reason}",
        by,
        old=old,
        new=case.status,
        department=str(department.reference),
        reason=reason,
    )
    return case


@transaction.atomic(durable=True)
def case_escalate(*, case: Case, reason: str, by: Any) -> Case:
    """Hand the case to a supervisor, saying why; the case becomes unassigned until one takes it."""
    lock(case)
    require(can_work_cases(by, case), "You may not escalate this case.")
    ensure_transition(case, CaseStatus.ESCALATED, "escalated")
    reason = reason_text(reason)
    old = case.status
    case.assigned_to = None
    case.follow_up_on, case.pend_reason = None, ""
    _move(
        case,
        CaseStatus.ESCALATED,
        by=by,
        reason=reason,
        fields=["assigned_to", "follow_up_on", "pend_reason"],
    )
    case_event(
        case,
        "case.escalated",
        f"Escalated to a supervisor: {reason}",
        by,
        old=old,
        new=case.status,
        reason=reason,
    )
    return case


@transaction.atomic(durable=True)
def case_refer(*, case: Case, kind: str, reason: str, by: Any, now: datetime | None = None) -> Referral:
    """Refer the case to the appeals & grievances coordinator (an appeal request, a grievance, a dispute)."""
    lock(case)
    require(can_work_cases(by, case), "You may not refer this case.")
    if not case.is_open:
        raise InvalidTransition("status: reopen the case before referring it", field="status")
    if kind not in Referral.Kind.values:
        raise InvalidInput(f"kind: {kind!r} is not a kind of referral", field="kind")
    reason = reason_text(reason)
    if case.referrals.filter(
        kind=kind, status__in=[Referral.Status.OPEN, Referral.Status.ACKNOWLEDGED]
    ).exists():
        raise InvalidInput(
            f"kind: the case already has an open {Referral.Kind(kind).label.lower()} referral", field="kind"
        )
    return _refer_to_appeals(case, kind=kind, reason=reason, by=by, now=now or timezone.now())


# --- interactions --------------------------------------------------------------------------------


def _steps(version: ScriptVersion | None, completed: Iterable[int]) -> tuple[list[int], list[int]]:
    """(completed positions, required disclosures not completed), checked against the version."""
    completed = sorted(set(completed))
    if version is None:
        if completed:
            raise InvalidInput(
                "steps_completed: choose the script the steps belong to", field="steps_completed"
            )
        return [], []
    positions = {step.position: step for step in version.steps.all()}
    unknown = [p for p in completed if p not in positions]
    if unknown:
        raise InvalidInput(f"steps_completed: the script has no step {unknown[0]}", field="steps_completed")
    missed = [
        p for p, step in sorted(positions.items()) if step.is_required_disclosure and p not in completed
    ]
    return completed, missed


@transaction.atomic(durable=True)
def interaction_log(*, case: Case, by: Any, **details: Any) -> Interaction:
    """Record one contact on the case; ``details`` are the keyword arguments of
    ``interaction_log_locked``. A required script disclosure that was not read is flagged on
    the contact and on the timeline."""
    lock(case)
    require(can_work_cases(by, case), "You may not log contacts on this case.")
    return interaction_log_locked(case=case, by=by, **details)


def interaction_log_locked(
    *,
    case: Case,
    by: Any,
    direction: str,
    channel: str,
    relationship: str,
    outcome: str,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    contact_point: str = "",
    person_contacted: str = "",
    message_left_with: str = "",
    notes: str = "",
    interpreter_used: bool = False,
    interpreter_language: str = "",
    interpreter_kind: str = "",
    interpreter_reference: str = "",
    script_version: ScriptVersion | None = None,
    steps_completed: Iterable[int] = (),
    completes_callback: Callback | None = None,
    now: datetime | None = None,
) -> Interaction:
    """The body of ``interaction_log`` for services that already hold the case's lock."""
    now = now or timezone.now()
    if case.status == CaseStatus.CLOSED:
        raise InvalidTransition("status: the case is closed; reopen it to log a contact", field="status")
    started_at = started_at or now
    if started_at > now + timedelta(minutes=5):
        raise InvalidInput("started_at: cannot be in the future", field="started_at")
    if ended_at is not None and ended_at < started_at:
        raise InvalidInput("ended_at: cannot be before the start", field="ended_at")
    if outcome == Outcome.LEFT_MESSAGE and not message_left_with.strip():
        raise InvalidInput(
            "message_left_with: say with whom the message was left (a spouse, voicemail…)",
            field="message_left_with",
        )
    person_contacted = person_contacted.strip()
    if outcome in _PERSON_OUTCOMES and not person_contacted and not message_left_with.strip():
        raise InvalidInput(
            "person_contacted: name the person you spoke to or left the message with",
            field="person_contacted",
        )
    if script_version is not None:
        same_org(case, script_version, "script_version")
    completed, missed = _steps(script_version, steps_completed)
    if interpreter_used:
        if not interpreter_kind:
            raise InvalidInput(
                "interpreter_kind: say which interpreter service was used", field="interpreter_kind"
            )
        if not interpreter_language:
            raise InvalidInput(
                "interpreter_language: say which language was interpreted", field="interpreter_language"
            )
    else:
        interpreter_language = interpreter_kind = interpreter_reference = ""
    interaction = Interaction(
        organization_id=case.organization_id,
        case=case,
        started_at=started_at,
        ended_at=ended_at,
        direction=direction,
        channel=channel,
        contact_point=contact_point.strip(),
        person_contacted=person_contacted,
        relationship=relationship,
        outcome=outcome,
        message_left_with=message_left_with.strip(),
        notes=notes.strip(),
        interpreter_used=interpreter_used,
        interpreter_language=interpreter_language,
        interpreter_kind=interpreter_kind,
        interpreter_reference=interpreter_reference.strip(),
        script_version=script_version,
        steps_completed=completed,
        disclosures_missed=missed,
        logged_by=by,
    )
    validate(
        interaction,
        exclude=["case", "organization", "logged_by", "script_version"],
        validate_unique=False,
        validate_constraints=False,
    )
    mark_change(interaction, by=by, reason="contact logged")
    save(interaction)

    fields = []
    if case.status == CaseStatus.NEW:
        case.status = CaseStatus.IN_PROGRESS
        fields.append("status")
    if case.first_responded_at is None:
        case.first_responded_at = now
        fields.append("first_responded_at")
    if case.awaiting_reply_since and direction == Direction.OUTBOUND and outcome in _ANSWERING_OUTCOMES:
        case.awaiting_reply_since = case.reply_due_at = None
        fields += ["awaiting_reply_since", "reply_due_at"]
    if fields:
        mark_change(case, by=by, reason="contact logged")
        save(case, update_fields=[*fields, "updated_at"])

    who = interaction.person_contacted or interaction.message_left_with
    summary = f"{interaction.get_channel_display()}: {interaction.outcome_text}"
    if who and interaction.outcome != Outcome.LEFT_MESSAGE:
        summary += f" ({who}, {interaction.get_relationship_display().lower()})"
    case_event(
        case,
        "interaction.logged",
        summary,
        by,
        interaction=str(interaction.reference),
        direction=direction,
        channel=channel,
        outcome=outcome,
        interpreter=interaction.interpreter_kind or None,
        disclosures_missed=missed,
    )
    if missed:
        steps = ", ".join(str(p) for p in missed)
        case_event(
            case,
            "interaction.disclosure_missed",
            f"Required disclosure not read (script step {steps})",
            by,
            interaction=str(interaction.reference),
            steps=missed,
        )
    if completes_callback is not None:
        _callback_finish(
            completes_callback,
            case=case,
            status=Callback.Status.DONE,
            by=by,
            interaction=interaction,
            now=now,
            note="",
        )
    return interaction


# --- callbacks ----------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def callback_request(
    *,
    case: Case,
    requested_for: datetime,
    phone: str,
    by: Any,
    kind: str = Callback.Kind.CALLBACK,
    contact_name: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> Callback:
    """Owe a call on the case at ``requested_for``; it reaches a worklist when the time comes."""
    lock(case)
    require(can_work_cases(by, case), "You may not add callbacks to this case.")
    if not case.is_open:
        raise InvalidTransition("status: reopen the case before adding a callback", field="status")
    now = now or timezone.now()
    if requested_for is None:
        raise InvalidInput("requested_for: choose when to call", field="requested_for")
    if requested_for < now - timedelta(minutes=5):
        raise InvalidInput("requested_for: cannot be in the past", field="requested_for")
    digits = phone_digits(phone)
    if len(digits) < 10:
        raise InvalidInput("phone: enter the number to call (10 digits)", field="phone")
    callback = Callback(
        organization_id=case.organization_id,
        case=case,
        kind=kind,
        requested_for=requested_for,
        phone=digits,
        contact_name=contact_name.strip(),
        notes=notes.strip()[:300],
        requested_by=by,
    )
    validate(
        callback,
        exclude=["case", "organization", "requested_by", "completed_by", "interaction"],
        validate_constraints=False,
    )
    mark_change(callback, by=by, reason="callback requested")
    save(callback)
    local = timezone.localtime(requested_for)
    case_event(
        case,
        "callback.requested",
        f"{callback.get_kind_display()} for {local:%m/%d/%Y %H:%M}",
        by,
        callback=str(callback.reference),
        requested_for=requested_for.isoformat(),
    )
    return callback


def _callback_finish(
    callback: Callback,
    *,
    case: Case,
    status: str,
    by: Any,
    interaction: Interaction | None,
    now: datetime,
    note: str,
) -> Callback:
    lock(callback)
    if callback.case_id != case.pk:
        raise InvalidInput("completes_callback: belongs to another case", field="completes_callback")
    if not callback.can_transition_to(status):
        raise InvalidTransition(
            f"status: the callback is already {callback.get_status_display().lower()}", field="status"
        )
    callback.status = status
    callback.completed_at = now
    callback.completed_by = by
    callback.interaction = interaction
    mark_change(callback, by=by, reason=note or f"callback {status}")
    save(callback, update_fields=["status", "completed_at", "completed_by", "interaction", "updated_at"])
    verb = "done" if status == Callback.Status.DONE else "cancelled"
    case_event(
        case,
        f"callback.{verb}",
        f"{callback.get_kind_display()} {verb}" + (f": {note}" if note else ""),
        by,
        callback=str(callback.reference),
    )
    return callback


@transaction.atomic(durable=True)
def callback_cancel(*, callback: Callback, reason: str, by: Any, now: datetime | None = None) -> Callback:
    case = lock(callback.case)
    require(can_work_cases(by, case), "You may not change callbacks on this case.")
    reason = reason_text(reason)
    return _callback_finish(
        callback,
        case=case,
        status=Callback.Status.CANCELLED,
        by=by,
        interaction=None,
        now=now or timezone.now(),
        note=reason,
    )
