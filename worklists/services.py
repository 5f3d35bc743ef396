"""Every change to queues, their members and work items made by a person goes through here.

Each entry point runs in its own durable transaction, locks what it changes, checks the
actor's permission again against the locked row, records row history with a reason, and
writes what a person did with an item (completed, snoozed) on the timeline of the item's
subject, so the account or case page shows it. The rules refresh, which writes items in
bulk, lives in ``worklists.refresh``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify
from simple_history.utils import bulk_update_with_history

from core.audit import current_request_id, mark_change
from core.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    error_from_integrity,
    invalid_from_validation,
)
from core.timeline import event_record
from staff.permissions import require, role_in
from worklists import registry
from worklists.models import PERSON_OUTCOMES, RESURFACE_DAYS, SKILL_PATTERN, Queue, QueueMember, WorkItem
from worklists.permissions import can_manage_queues, can_view_work, can_work_item
from worklists.selectors import available_candidates

# Get next reads this many candidates per queue before locking one: enough that twenty
# people pressing the button at once each find one that nobody else is taking. When all
# of them are taken, it reads the next ones (up to GET_NEXT_ROUNDS times).
CANDIDATES_PER_QUEUE = 25
GET_NEXT_ROUNDS = 5
MAX_SNOOZE_DAYS = 366
QUEUE_FIELDS = ("name", "description", "cap_per_person", "escalate_after_hours", "is_active")


# --- helpers -------------------------------------------------------------------------------------


def _lock(obj: Any) -> Any:
    obj.refresh_from_db(from_queryset=type(obj).objects.select_for_update(no_key=True))
    return obj


def _ensure_transition(item: WorkItem, status: str) -> None:
    if not item.can_transition_to(status):
        if item.status == WorkItem.Status.DONE:
            raise InvalidTransition("This item is already done.")
        raise InvalidTransition(
            f"This item is {item.get_status_display().lower()}: it cannot become "
            f"{WorkItem.Status(status).label.lower()}."
        )


def _text(value: str, field: str, what: str, max_length: int = 300) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{field}: {what}", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field}: at most {max_length} characters", field=field)
    return value


def _validate(obj: Any, **kwargs: Any) -> None:
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        raise invalid_from_validation(exc) from None


def _save(obj: Any, conflict: Conflict | None = None, **kwargs: Any) -> None:
    """Save; a violated constraint becomes InvalidInput naming the field, or ``conflict``."""
    try:
        with transaction.atomic(savepoint=True):
            obj.save(**kwargs)
    except IntegrityError as exc:
        raise error_from_integrity(exc, type(obj), conflict) from None


def normalize_skills(skills: Iterable[str] | str) -> list[str]:
    """``"lang:ES, payer:abc"`` or a list → ``["lang:es", "payer:abc"]``; refuses malformed skills."""
    if isinstance(skills, str):
        skills = re.split(r"[\s,]+", skills)
    result: set[str] = set()
    for raw in skills:
        raw = (raw or "").strip()
        if not raw:
            continue
        prefix, _, value = raw.partition(":")
        skill = f"{prefix.lower()}:{value}"
        if prefix.lower() == "lang":
            skill = skill.lower()
        if not re.match(SKILL_PATTERN, skill) or len(skill) > 64:
            raise InvalidInput(
                f'skills: "{raw}" is not a skill; write "kind:value", e.g. "lang:es" or "payer:<reference>"',
                field="skills",
            )
        result.add(skill)
    if len(result) > 50:
        raise InvalidInput("skills: at most 50 skills per person and queue", field="skills")
    return sorted(result)


def _record_on_subject(item: WorkItem, *, kind: str, summary: str, by: Any, data: dict) -> None:
    """A timeline event where the subject's page shows it (the subject, or what its app names)."""
    subject = item.subject
    if subject is None:  # the subject row is gone; the item's history still has the change
        return
    target, extra = registry.timeline_target(subject)
    event_record(
        organization=item.organization,
        subject=target,
        kind=kind,
        summary=summary,
        by=by,
        data={"work_item": str(item.reference), "rule": item.kind, **extra, **data},
    )


# --- taking and working items ---------------------------------------------------------------------


@transaction.atomic(durable=True)
def work_item_get_next(
    *, user: Any, organization: Any, queue: Queue | None = None, now: datetime | None = None
) -> WorkItem | None:
    """Take the highest-priority item ``user`` may work in ``organization`` (in ``queue`` when given).

    Eligible: items of the active queues the person is a member of, whose required skills
    are all among the person's skills in that queue, unassigned or already assigned to
    them, open or snoozed until a time that has come. Highest priority first, then the
    earliest due. The item becomes in progress and theirs.

    Two people never get the same item: candidates are locked with SKIP LOCKED, so a row
    another transaction is taking is passed over, and the row is checked again once
    locked. Returns None when nothing is available. Raises Conflict when the person has
    reached the cap of in-progress items in every queue they work.
    """
    now = now or timezone.now()
    require(can_view_work(user, organization), "You are not a member of this organization.")
    # Locking the person's own memberships serializes their get-next calls (a double
    # click), so two calls at once cannot both pass the cap check.
    members = list(QueueMember.objects.select_for_update(of=("self",)).of_user(user, organization))
    if queue is not None:
        members = [m for m in members if m.queue_id == queue.pk]
        require(bool(members), f"You do not work the {queue.name} queue.")
    if not members:
        return None
    working = dict(
        WorkItem.objects.filter(status=WorkItem.Status.IN_PROGRESS, assignee_id=user.pk)
        .filter(queue_id__in=[m.queue_id for m in members])
        .values_list("queue_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    members = [
        m
        for m in members
        if m.queue.cap_per_person is None or working.get(m.queue_id, 0) < m.queue.cap_per_person
    ]
    if not members:
        raise Conflict(
            "You have as many items in progress as your queues allow; complete or release one first."
        )

    tried: list[int] = []
    item = None
    for _ in range(GET_NEXT_ROUNDS):
        candidates = available_candidates(members, user, now, per_queue=CANDIDATES_PER_QUEUE, exclude=tried)
        if not candidates:
            return None
        ids = [c.id for c in candidates]
        item = (
            WorkItem.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=ids)
            .available(now)
            .eligible_for(user, members)
            .order_by("-priority", "due_at", "id")
            .first()
        )
        if item is not None:
            break
        tried += ids
    if item is None:
        return None

    _ensure_transition(item, WorkItem.Status.IN_PROGRESS)
    item.status = WorkItem.Status.IN_PROGRESS
    item.assignee = user
    item.taken_at = now
    item.snoozed_until = None
    item.snoozed_by = None
    item.snooze_reason = ""
    mark_change(item, by=user, reason="Taken with get next")
    item.save(
        update_fields=[
            "status",
            "assignee",
            "taken_at",
            "snoozed_until",
            "snoozed_by",
            "snooze_reason",
            "updated_at",
        ]
    )
    return item


@transaction.atomic(durable=True)
def work_item_complete(
    *, item: WorkItem, outcome: str, note: str = "", by: Any, now: datetime | None = None
) -> WorkItem:
    """Finish an item with what came of it; the outcome (and note) goes on the subject's timeline.

    If the rule still finds the same work afterwards (the denial is still open), the
    refresh raises it again only after ``RESURFACE_DAYS[outcome]`` days.
    """
    now = now or timezone.now()
    _lock(item)
    require(can_work_item(by, item), "You may not complete this item: someone else is working it.")
    if outcome not in PERSON_OUTCOMES:
        raise InvalidInput(
            "outcome: choose what came of the work (resolved, left a message, callback scheduled…)",
            field="outcome",
        )
    note = (note or "").strip()
    if len(note) > 2000:
        raise InvalidInput("note: at most 2,000 characters", field="note")
    _ensure_transition(item, WorkItem.Status.DONE)

    item.status = WorkItem.Status.DONE
    item.outcome = outcome
    item.outcome_note = note
    item.done_at = now
    item.done_by = by
    item.resurface_at = now + timedelta(days=RESURFACE_DAYS[outcome])
    mark_change(item, by=by, reason=f"Completed: {WorkItem.Outcome(outcome).label}")
    item.save(
        update_fields=[
            "status",
            "outcome",
            "outcome_note",
            "done_at",
            "done_by",
            "resurface_at",
            "updated_at",
        ]
    )
    label = WorkItem.Outcome(outcome).label
    _record_on_subject(
        item,
        kind="worklists.item.completed",
        summary=f"{registry.rule_label(item.kind)}: {label}" + (f". {note}" if note else ""),
        by=by,
        data={"outcome": outcome, "note": note},
    )
    return item


@transaction.atomic(durable=True)
def work_item_snooze(
    *, item: WorkItem, until: datetime, reason: str, by: Any, now: datetime | None = None
) -> WorkItem:
    """Put an item aside until ``until``; it then returns to its queue for whoever takes it next."""
    now = now or timezone.now()
    _lock(item)
    require(can_work_item(by, item), "You may not snooze this item: someone else is working it.")
    reason = _text(reason, "reason", "say why the item waits (kept on the timeline)")
    if until is None or timezone.is_naive(until):
        raise InvalidInput("until: give the date the item should come back", field="until")
    if until <= now:
        raise InvalidInput("until: must be in the future", field="until")
    if until > now + timedelta(days=MAX_SNOOZE_DAYS):
        raise InvalidInput("until: at most a year ahead", field="until")
    _ensure_transition(item, WorkItem.Status.SNOOZED)

    item.status = WorkItem.Status.SNOOZED
    item.snoozed_until = until
    item.snoozed_by = by
    item.snooze_reason = reason
    item.assignee = None
    item.taken_at = None
    mark_change(item, by=by, reason=f"Snoozed: {reason}")
    item.save(
        update_fields=[
            "status",
            "snoozed_until",
            "snoozed_by",
            "snooze_reason",
            "assignee",
            "taken_at",
            "updated_at",
        ]
    )
    local_until = timezone.localtime(until, timezone.get_current_timezone())
    _record_on_subject(
        item,
        kind="worklists.item.snoozed",
        summary=f"{registry.rule_label(item.kind)}: set aside until {local_until:%m/%d/%Y}. {reason}",
        by=by,
        data={"until": until.isoformat(), "reason": reason},
    )
    return item


@transaction.atomic(durable=True)
def work_item_release(*, item: WorkItem, by: Any, reason: str = "") -> WorkItem:
    """Give an item back to its queue, unassigned and open."""
    _lock(item)
    require(can_work_item(by, item), "You may not release this item: someone else is working it.")
    if item.status == WorkItem.Status.OPEN and item.assignee_id is None:
        raise InvalidTransition("This item is already in its queue for anyone to take.")
    if item.status not in (WorkItem.Status.OPEN, WorkItem.Status.IN_PROGRESS):
        _ensure_transition(item, WorkItem.Status.DONE)  # done: "already done"
        raise InvalidTransition("This item is snoozed: it returns to its queue on its date.")
    item.status = WorkItem.Status.OPEN
    item.assignee = None
    item.taken_at = None
    mark_change(item, by=by, reason=f"Released to the queue{': ' + reason.strip() if reason.strip() else ''}")
    item.save(update_fields=["status", "assignee", "taken_at", "updated_at"])
    return item


# --- supervisors: reassigning and moving ----------------------------------------------------------


def _assignable(assignee: Any, queue_ids: set[int], organization: Any) -> None:
    if role_in(assignee, organization) is None:
        raise InvalidInput(
            f"assignee: {assignee} is not an active member of {organization.name}", field="assignee"
        )
    working = set(
        QueueMember.objects.filter(user_id=assignee.pk, queue_id__in=queue_ids).values_list(
            "queue_id", flat=True
        )
    )
    missing = queue_ids - working
    if missing:
        names = ", ".join(sorted(Queue.objects.filter(pk__in=missing).values_list("name", flat=True)))
        raise InvalidInput(
            f"assignee: {assignee} does not work {names}; add them to it first", field="assignee"
        )


def _reassign(items: list[WorkItem], assignee: Any, by: Any, reason: str, now: datetime) -> int:
    """Reassign locked, live items; a person gets them in progress, nobody puts them back in the queue."""
    if assignee is not None:
        _assignable(assignee, {i.queue_id for i in items}, items[0].organization)
    for item in items:
        if assignee is None:
            item.status = WorkItem.Status.OPEN
            item.assignee = None
            item.taken_at = None
        else:
            item.status = WorkItem.Status.IN_PROGRESS
            item.assignee = assignee
            item.taken_at = now
        item.snoozed_until = None
        item.snoozed_by = None
        item.snooze_reason = ""
        item.updated_at = now
    bulk_update_with_history(
        items,
        WorkItem,
        ["status", "assignee", "taken_at", "snoozed_until", "snoozed_by", "snooze_reason", "updated_at"],
        default_user=by,
        default_change_reason=f"Reassigned: {reason}"[:100],
        default_date=now,
        custom_historical_attrs={"request_id": current_request_id()},
    )
    return len(items)


def _lock_live(items: Iterable[WorkItem], organization: Any) -> list[WorkItem]:
    ids = sorted({item.pk for item in items})
    # One lock, in id order (two supervisors moving overlapping selections cannot deadlock).
    return list(
        WorkItem.objects.select_for_update(no_key=True)
        .filter(pk__in=ids, organization=organization)
        .live()
        .select_related("organization")
        .order_by("pk")
    )


@transaction.atomic(durable=True)
def work_item_reassign(
    *, item: WorkItem, assignee: Any | None, by: Any, reason: str, now: datetime | None = None
) -> WorkItem:
    """Give an item to ``assignee`` (in progress for them), or back to the queue when None (supervisors)."""
    now = now or timezone.now()
    _lock(item)
    require(can_manage_queues(by, item), "Only supervisors reassign work items.")
    reason = _text(reason, "reason", "say why the item changes hands")
    if not item.is_live:
        raise InvalidTransition("This item is already done.")
    _reassign([item], assignee, by, reason, now)
    item.refresh_from_db()
    return item


@transaction.atomic(durable=True)
def work_items_bulk_reassign(
    *, items: Iterable[WorkItem], organization: Any, assignee: Any | None, by: Any, reason: str
) -> int:
    """Reassign several items of ``organization``; ones done meanwhile are left alone. Returns how many."""
    require(can_manage_queues(by, organization), "Only supervisors reassign work items.")
    reason = _text(reason, "reason", "say why the items change hands")
    locked = _lock_live(items, organization)
    if not locked:
        return 0
    return _reassign(locked, assignee, by, reason, timezone.now())


@transaction.atomic(durable=True)
def work_items_bulk_move(*, items: Iterable[WorkItem], queue: Queue, by: Any, reason: str = "") -> int:
    """Move items to another queue of the same organization; people keep what they are working.

    Items done meanwhile are left alone. Returns how many moved.
    """
    _lock(queue)
    require(can_manage_queues(by, queue), "Only supervisors move work items between queues.")
    reason = (reason or "").strip()
    locked = [item for item in _lock_live(items, queue.organization) if item.queue_id != queue.pk]
    now = timezone.now()
    for item in locked:
        item.queue = queue
        item.updated_at = now
    bulk_update_with_history(
        locked,
        WorkItem,
        ["queue", "updated_at"],
        default_user=by,
        default_change_reason=(f"Moved to {queue.name}: {reason}" if reason else f"Moved to {queue.name}")[
            :100
        ],
        default_date=now,
        custom_historical_attrs={"request_id": current_request_id()},
    )
    return len(locked)


# --- queues and their members -----------------------------------------------------------------------


@transaction.atomic(durable=True)
def queue_create(
    *,
    organization: Any,
    name: str,
    by: Any,
    slug: str = "",
    description: str = "",
    cap_per_person: int | None = None,
    escalate_after_hours: int = 24,
) -> Queue:
    require(can_manage_queues(by, organization), "Only supervisors create queues.")
    name = _text(name, "name", "give the queue a name", 100)
    queue = Queue(
        organization=organization,
        name=name,
        slug=(slug or slugify(name))[:60],
        description=(description or "").strip(),
        cap_per_person=cap_per_person,
        escalate_after_hours=escalate_after_hours,
    )
    if not queue.slug:
        raise InvalidInput("name: use letters or digits", field="name")
    _validate(queue, exclude=["organization"])
    mark_change(queue, by=by, reason="Queue created")
    _save(queue, Conflict(f"A queue named {queue.slug!r} already exists.", field="slug"))
    return queue


@transaction.atomic(durable=True)
def queue_update(*, queue: Queue, changes: dict[str, Any], reason: str, by: Any) -> Queue:
    """Change a queue's name, description, cap per person, escalation grace or whether it is served."""
    _lock(queue)
    require(can_manage_queues(by, queue), "Only supervisors change queues.")
    reason = _text(reason, "reason", "say why (kept in the queue's history)")
    unknown = set(changes) - set(QUEUE_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"{field}: cannot be changed here", field=field)
    changed = [name for name, value in changes.items() if getattr(queue, name) != value]
    for name in changed:
        setattr(queue, name, changes[name])
    if not changed:
        return queue
    _validate(queue, exclude=["organization"])
    mark_change(queue, by=by, reason=reason)
    _save(queue, update_fields=[*changed, "updated_at"])
    return queue


def queue_set_cap(*, queue: Queue, cap: int | None, by: Any, reason: str = "Cap per person changed") -> Queue:
    """How many items one person may have in progress in ``queue`` (None: no cap)."""
    return queue_update(queue=queue, changes={"cap_per_person": cap}, reason=reason, by=by)


@transaction.atomic(durable=True)
def queue_member_add(*, queue: Queue, user: Any, skills: Iterable[str] | str = (), by: Any) -> QueueMember:
    _lock(queue)
    require(can_manage_queues(by, queue), "Only supervisors change who works a queue.")
    if role_in(user, queue.organization_id) is None:
        raise InvalidInput(f"user: {user} is not an active member of this organization", field="user")
    member = QueueMember(
        organization_id=queue.organization_id, queue=queue, user=user, skills=normalize_skills(skills)
    )
    mark_change(member, by=by, reason=f"Added to {queue.name}")
    _save(member, Conflict(f"{user} already works the {queue.name} queue.", field="user"))
    return member


@transaction.atomic(durable=True)
def queue_member_set_skills(*, member: QueueMember, skills: Iterable[str] | str, by: Any) -> QueueMember:
    _lock(member)
    require(can_manage_queues(by, member), "Only supervisors change skills.")
    member.skills = normalize_skills(skills)
    mark_change(member, by=by, reason="Skills changed")
    member.save(update_fields=["skills", "updated_at"])
    return member


@transaction.atomic(durable=True)
def queue_member_remove(*, member: QueueMember, by: Any) -> int:
    """Take a person off a queue; what they had in progress there goes back to the queue.

    Returns how many items were released.
    """
    _lock(member)
    require(can_manage_queues(by, member), "Only supervisors change who works a queue.")
    now = timezone.now()
    held = list(
        WorkItem.objects.select_for_update(no_key=True)
        .filter(queue_id=member.queue_id, assignee_id=member.user_id)
        .live()
        .order_by("pk")
    )
    for item in held:
        item.status = WorkItem.Status.OPEN if item.status == WorkItem.Status.IN_PROGRESS else item.status
        item.assignee = None
        item.taken_at = None
        item.updated_at = now
    if held:
        bulk_update_with_history(
            held,
            WorkItem,
            ["status", "assignee", "taken_at", "updated_at"],
            default_user=by,
            default_change_reason="Released: the person left the queue",
            default_date=now,
            custom_historical_attrs={"request_id": current_request_id()},
        )
    mark_change(member, by=by, reason="Removed from the queue")
    member.delete()
    return len(held)
