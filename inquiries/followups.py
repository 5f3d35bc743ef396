"""Work the case pages create for worklists: pended cases whose follow-up date came, callbacks owed,
and emails not answered within their service level.

Each rule is set-based: one query for all the organizations it is given. Titles name the
case number only (the case page shows the rest, behind its disclosure guard).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db.models import Q

from inquiries.models import OPEN_STATUSES, Callback, Case, CaseStatus, Priority
from worklists.registry import Candidate, bounded_priority, register

# A callback reaches the queue this long before it is due, so someone can take it in time.
CALLBACK_LEAD = timedelta(minutes=15)
_PRIORITY_BONUS = {Priority.URGENT: 200, Priority.HIGH: 100, Priority.NORMAL: 0, Priority.LOW: -50}


def _skills(case: Case) -> tuple[str, ...]:
    language = case.patient.preferred_language if case.patient_id else ""
    return (f"lang:{language}",) if language and language != "en" else ()


def _local_date(now: datetime, time_zone: str) -> date:
    return now.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


@register(
    "inquiries.case_follow_up",
    label="Pended case follow-up due",
    queue="case-follow-up",
    queue_name="Case follow-ups",
    description="A pended case whose follow-up date has come (in the organization's time zone).",
)
def pended_case_follow_up(organization_ids: list[int], now: datetime) -> Iterable[Candidate]:
    # No time zone is more than 14 hours ahead of UTC, so this bounds every organization's
    # "today" in one query; each case is then held to its own organization's date.
    latest_today = (now.astimezone(UTC) + timedelta(hours=14)).date()
    cases = Case.objects.filter(
        organization_id__in=organization_ids, status=CaseStatus.PENDED, follow_up_on__lte=latest_today
    ).select_related("organization", "patient")
    for case in cases:
        today = _local_date(now, case.organization.time_zone)
        if case.follow_up_on > today:
            continue
        overdue = (today - case.follow_up_on).days
        due_at = datetime.combine(
            case.follow_up_on, datetime.min.time(), tzinfo=zoneinfo.ZoneInfo(case.organization.time_zone)
        )
        reason = (
            "Follow-up due today"
            if overdue == 0
            else f"Follow-up {overdue} day{'s' if overdue != 1 else ''} overdue"
        )
        yield Candidate(
            organization_id=case.organization_id,
            dedupe_key=f"case:{case.pk}:{case.follow_up_on.isoformat()}",
            subject=case,
            title=f"Follow up case #{case.number}",
            due_at=due_at,
            priority=bounded_priority(500 + 40 * overdue + _PRIORITY_BONUS.get(case.priority, 0)),
            reason=f"{reason}: {case.pend_reason}"[:200],
            skills=_skills(case),
        )


@register(
    "inquiries.callback_requested",
    label="Callback requested",
    queue="callbacks",
    queue_name="Callbacks",
    description="A callback or outbound call owed on an open case, from shortly before its time.",
)
def callback_requested(organization_ids: list[int], now: datetime) -> Iterable[Candidate]:
    callbacks = (
        Callback.objects.filter(
            organization_id__in=organization_ids,
            status=Callback.Status.OPEN,
            requested_for__lte=now + CALLBACK_LEAD,
            case__status__in=OPEN_STATUSES,
        )
        .select_related("case__patient")
        .order_by("requested_for")
    )
    for callback in callbacks:
        case = callback.case
        late = int((now - callback.requested_for).total_seconds() // 60)
        if late > 0:
            reason = f"{callback.get_kind_display()} {late} minute{'s' if late != 1 else ''} late"
        else:
            reason = f"{callback.get_kind_display()} due in {-late} minute{'s' if late != -1 else ''}"
        yield Candidate(
            organization_id=callback.organization_id,
            dedupe_key=f"callback:{callback.pk}",
            subject=case,
            title=f"Call back on case #{case.number}",
            due_at=callback.requested_for,
            # A promised call time matters more than a follow-up date; lateness raises it further.
            priority=bounded_priority(650 + max(late, 0) // 5 + _PRIORITY_BONUS.get(case.priority, 0)),
            reason=reason,
            skills=_skills(case),
        )


@register(
    "inquiries.email_unanswered",
    label="Unanswered email past its service level",
    queue="email",
    queue_name="Email",
    description="An email on an open case not answered by its first-response service level.",
)
def email_unanswered(organization_ids: list[int], now: datetime) -> Iterable[Candidate]:
    cases = Case.objects.filter(
        Q(organization_id__in=organization_ids)
        & Q(status__in=OPEN_STATUSES)
        & Q(awaiting_reply_since__isnull=False)
        & Q(reply_due_at__lte=now)
    ).select_related("patient")
    for case in cases:
        hours = int((now - case.reply_due_at).total_seconds() // 3600)
        yield Candidate(
            organization_id=case.organization_id,
            dedupe_key=f"email:{case.pk}:{case.awaiting_reply_since.isoformat()}",
            subject=case,
            title=f"Answer the email on case #{case.number}",
            due_at=case.reply_due_at,
            priority=bounded_priority(700 + 10 * hours + _PRIORITY_BONUS.get(case.priority, 0)),
            reason="Email past its reply service level"
            + (f" by {hours} hour{'s' if hours != 1 else ''}" if hours else ""),
            skills=_skills(case),
        )
