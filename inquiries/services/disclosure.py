"""Verifying callers and overriding the disclosure guard (see ``inquiries.selectors.disclosure_for``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from accounts.models import AuthorizedContact
from core.audit import current_request_id, mark_change
from core.errors import InvalidInput
from inquiries.identity import check_answers
from inquiries.models import (
    CallerKind,
    Case,
    DisclosureOverride,
    Interaction,
    Scope,
    Verification,
    VerificationPolicy,
)
from inquiries.models.disclosure import identifier_phrase
from inquiries.permissions import can_override_disclosure, can_work_cases
from inquiries.services.common import case_event, local_today, lock, reason_text, require, same_org, save
from staff.models import PhiAccessLog

ALL_SCOPES = list(Scope.values)
# What each kind of caller may be told once verified; an authorized contact gets their own scopes.
CALLER_SCOPES = {
    CallerKind.PATIENT: ALL_SCOPES,
    CallerKind.GUARANTOR: [Scope.BALANCES, Scope.INSURANCE, Scope.PAYMENTS],
    CallerKind.PROVIDER_OFFICE: [Scope.INSURANCE, Scope.SERVICES],
    CallerKind.OTHER: [],
}
OVERRIDE_SCOPES = [Scope.BALANCES, Scope.INSURANCE]
OVERRIDE_REASON_MINIMUM = 10


def _labels(identifiers: list[str]) -> str:
    return identifier_phrase(identifiers)


@transaction.atomic(durable=True)
def caller_verify(
    *,
    case: Case,
    caller_kind: str,
    answers: dict[str, Any],
    by: Any,
    authorized_contact: AuthorizedContact | None = None,
    caller_name: str = "",
    interaction: Interaction | None = None,
    now: datetime | None = None,
) -> Verification:
    """Check the caller's answers against the patient's record and decide who they are.

    Always records the attempt, passed or failed: the case page explains a failure and
    the timeline keeps it. Any wrong answer fails the verification, as does a caller who
    is not the patient, the guarantor, a current authorized contact or a provider office.
    """
    lock(case)
    require(can_work_cases(by, case), "You may not verify callers on this case.")
    if case.patient_id is None:
        raise InvalidInput(
            "case: link the case to a patient or account before verifying a caller", field="case"
        )
    if caller_kind not in CallerKind.values:
        raise InvalidInput(f"caller_kind: {caller_kind!r} is not a kind of caller", field="caller_kind")
    if interaction is not None and interaction.case_id != case.pk:
        raise InvalidInput("interaction: belongs to another case", field="interaction")
    now = now or timezone.now()
    policy = VerificationPolicy.of(case.organization)
    if not any(answers.get(i) not in (None, "") for i in policy.identifiers):
        raise InvalidInput(
            f"answers: enter what the caller said for at least one of: {_labels(policy.identifiers)}",
            field="answers",
        )
    result = check_answers(case.patient, answers, policy.identifiers)

    problems: list[str] = []
    if result.mismatched:
        problems.append(f"{_labels(result.mismatched)} did not match the record")
    if len(result.matched) < policy.required_count:
        problems.append(f"{len(result.matched)} of the {policy.required_count} required checks matched")

    scopes: list[str] = []
    if caller_kind == CallerKind.AUTHORIZED_CONTACT:
        if authorized_contact is None:
            raise InvalidInput(
                "authorized_contact: choose which authorized contact is calling", field="authorized_contact"
            )
        same_org(case, authorized_contact, "authorized_contact")
        if authorized_contact.patient_id != case.patient_id:
            raise InvalidInput(
                "authorized_contact: is not an authorized contact of this patient", field="authorized_contact"
            )
        caller_name = authorized_contact.name
        today = local_today(case.organization, now)
        if not authorized_contact.is_current(today):
            problems.append(_not_current(authorized_contact, today))
        scopes = (
            ALL_SCOPES if authorized_contact.is_personal_representative else list(authorized_contact.scopes)
        )
    else:
        authorized_contact = None
        if caller_kind == CallerKind.GUARANTOR and case.account_id is None:
            problems.append("the case has no account, so there is no guarantor to verify")
        if caller_kind == CallerKind.OTHER:
            problems.append(
                "the caller is not the patient, the guarantor, an authorized contact or a provider office"
            )
        scopes = list(CALLER_SCOPES[caller_kind])
    passed = not problems
    verification = Verification(
        organization_id=case.organization_id,
        case=case,
        interaction=interaction,
        caller_kind=caller_kind,
        caller_name=caller_name.strip()[:120],
        authorized_contact=authorized_contact,
        matched=result.matched,
        mismatched=result.mismatched,
        required_count=policy.required_count,
        passed=passed,
        scopes=scopes if passed else [],
        failure_reason="; ".join(problems)[:300],
        verified_by=by,
        verified_at=now,
    )
    mark_change(verification, by=by, reason="caller verification")
    save(verification)
    who = verification.get_caller_kind_display().lower()
    if caller_name:
        who = f"{caller_name} ({who})"
    checks = f"{len(result.matched)} of {policy.required_count} checks matched"
    if passed:
        summary = f"Caller verified: {who}; {checks}"
    else:
        summary = f"Caller verification failed: {who}; {verification.failure_reason}"
    case_event(
        case,
        "caller.verified" if passed else "caller.verification_failed",
        summary,
        by,
        verification=str(verification.reference),
        caller_kind=caller_kind,
        matched=result.matched,
        mismatched=result.mismatched,
        scopes=verification.scopes,
    )
    return verification


def _not_current(contact: AuthorizedContact, today: Any) -> str:
    if contact.start_date > today:
        return f"{contact.name}'s authorization starts on {contact.start_date:%m/%d/%Y}"
    return f"{contact.name}'s authorization ended on {contact.end_date:%m/%d/%Y}"


@transaction.atomic(durable=True)
def disclosure_override(
    *, case: Case, reason: str, by: Any, now: datetime | None = None
) -> DisclosureOverride:
    """Show balances and claim details on the case although the caller was not verified.

    For senior representatives and supervisors only, with a reason of a sentence or so.
    It lasts as long as a verification would, shows on the case, and is written to the
    row history, the timeline and the PHI access log (as a disclosure).
    """
    lock(case)
    require(
        can_override_disclosure(by, case),
        "Only a senior representative or a supervisor may override the disclosure guard.",
    )
    if case.patient_id is None:
        raise InvalidInput(
            "case: the case is not linked to a patient; there is nothing to disclose", field="case"
        )
    reason = reason_text(reason, minimum=OVERRIDE_REASON_MINIMUM)
    now = now or timezone.now()
    policy = VerificationPolicy.of(case.organization)
    override = DisclosureOverride(
        organization_id=case.organization_id,
        case=case,
        reason=reason[:300],
        scopes=list(OVERRIDE_SCOPES),
        granted_by=by,
        granted_at=now,
        expires_at=now + timedelta(minutes=policy.valid_minutes),
    )
    mark_change(override, by=by, reason="disclosure guard overridden")
    save(override)
    case_event(
        case,
        "disclosure.overridden",
        f"Disclosure guard overridden: {reason}",
        by,
        override=str(override.reference),
        reason=reason,
        scopes=override.scopes,
        expires_at=override.expires_at.isoformat(),
    )
    subject = case.account if case.account_id else case.patient
    # Written here rather than by the view so that no path (page, API, shell) overrides unlogged.
    PhiAccessLog.objects.create(
        organization_id=case.organization_id,
        user=by,
        action=PhiAccessLog.Action.DISCLOSE,
        subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
        subject_id=subject.pk,
        path=case.get_absolute_url()[:300],
        request_id=current_request_id(),
        accessed_at=now,
    )
    return override
