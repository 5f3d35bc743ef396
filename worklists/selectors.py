"""Reads that combine queues, members and items for one screen: My work, the queue pages.

Queries stay bounded however many items a queue holds: per-queue reads walk the
partial indexes of ``WorkItem`` in their order and stop after a few rows (one
``UNION ALL`` branch per queue, because PostgreSQL cannot merge one ordered index scan
over several queues), and counts read the partial indexes only.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from worklists.models import Queue, QueueMember, RefreshRun, WorkItem
from worklists.querysets import eligible_in

ORDER = ("-priority", "due_at", "id")
LIST_LENGTH = 20
# My work counts open items up to this many per queue, and shows "1,000+" beyond.
COUNT_CAP = 1000


class CandidateRow(NamedTuple):
    id: int
    priority: int
    due_at: datetime


def available_candidates(
    members: list[QueueMember], user: Any, now: datetime, *, per_queue: int, exclude: list[int] = ()
) -> list[CandidateRow]:
    """The best ``per_queue`` available items of each member's queue, best first (not locked)."""
    parts = []
    for member in members:
        eligible = WorkItem.objects.filter(eligible_in(member.queue_id, member.skills, user))
        if exclude:
            eligible = eligible.exclude(pk__in=exclude)
        for available in (Q(status="open"), Q(status="snoozed", snoozed_until__lte=now)):
            parts.append(
                eligible.filter(available)
                .order_by(*ORDER)
                .values_list("id", "priority", "due_at")[:per_queue]
            )
    if not parts:
        return []
    first, *rest = parts
    rows = [CandidateRow(*row) for row in (first.union(*rest, all=True) if rest else first)]
    return sorted(rows, key=lambda r: (-r.priority, r.due_at, r.id))


def end_of_today(time_zone: str, now: datetime) -> datetime:
    zone = zoneinfo.ZoneInfo(time_zone)
    today = timezone.localtime(now, zone).date()
    return datetime.combine(today + timedelta(days=1), time(0, 0), tzinfo=zone)


# Open items per queue, each count stopping at %(cap)s (both read the (queue, due_at) index only).
_CAPPED_OPEN_COUNTS = """
    SELECT q.id,
           (SELECT count(*) FROM (SELECT 1 FROM worklists_workitem w
                                  WHERE w.queue_id = q.id AND w.status = 'open' LIMIT %(cap)s) o),
           (SELECT count(*) FROM (SELECT 1 FROM worklists_workitem w
                                  WHERE w.queue_id = q.id AND w.status = 'open' AND w.due_at < %(until)s
                                  LIMIT %(cap)s) d)
    FROM worklists_queue q WHERE q.id = ANY(%(ids)s)
"""


@dataclass
class QueueCount:
    queue: Queue
    member: QueueMember | None
    open: int = 0
    due_today: int = 0
    in_progress: int = 0
    mine: int = 0
    snoozed: int = 0
    escalated: int = 0
    count_cap: int | None = None

    def _text(self, value: int) -> str:
        if self.count_cap is not None and value > self.count_cap:
            return f"{self.count_cap:,}+"
        return f"{value:,}"

    @property
    def open_text(self) -> str:
        return self._text(self.open)

    @property
    def due_today_text(self) -> str:
        return self._text(self.due_today)

    @property
    def at_cap(self) -> bool:
        cap = self.queue.cap_per_person
        return cap is not None and self.mine >= cap


def queue_counts(
    queues: list[Queue], *, user: Any, now: datetime, time_zone: str, cap: int | None = None
) -> dict[int, dict[str, int]]:
    """Per queue: open, due by end of today (open), in progress, in progress for ``user``, snoozed.

    Three queries. Open items, the many, are counted from the partial index on (queue,
    due_at) of open items alone (an index-only scan: no table rows are read); with ``cap``,
    each count stops at ``cap`` (My work shows "1,000+": a representative needs no exact
    figure, and an exact one costs a scan of every open item of the queue). In-progress
    and snoozed items, the few, come from their own partial indexes.
    """
    if not queues:
        return {}
    ids = [q.pk for q in queues]
    until = end_of_today(time_zone, now)
    counts: dict[int, dict[str, int]] = {
        pk: {"open": 0, "due_today": 0, "in_progress": 0, "mine": 0, "snoozed": 0} for pk in ids
    }
    if cap is None:
        open_rows = list(
            WorkItem.objects.filter(queue__in=ids, status="open")
            .values("queue_id")
            .annotate(open=Count("*"), due_today=Count("due_at", filter=Q(due_at__lt=until)))
            .order_by()
        )
    else:
        with connection.cursor() as cursor:
            # One row past the cap tells "more than cap" from "exactly cap".
            cursor.execute(_CAPPED_OPEN_COUNTS, {"ids": ids, "until": until, "cap": cap + 1})
            open_rows = [{"queue_id": q, "open": o, "due_today": d} for q, o, d in cursor.fetchall()]
    # One query per status: each matches the predicate of its partial index exactly
    # (``status IN (...)`` would match none and read the whole table).
    in_progress_rows = (
        WorkItem.objects.filter(queue__in=ids, status="in_progress")
        .values("queue_id")
        .annotate(in_progress=Count("*"), mine=Count("assignee_id", filter=Q(assignee_id=user.pk)))
        .order_by()
    )
    snoozed_rows = (
        WorkItem.objects.filter(queue__in=ids, status="snoozed")
        .values("queue_id")
        .annotate(snoozed=Count("*"))
        .order_by()
    )
    for row in [*open_rows, *in_progress_rows, *snoozed_rows]:
        counts[row.pop("queue_id")].update(row)
    return counts


@dataclass
class MyWork:
    """Everything the My work page shows, read in a fixed number of queries."""

    members: list[QueueMember]
    counts: list[QueueCount]
    next_item: WorkItem | None
    due_today: list[WorkItem]
    in_progress: list[WorkItem]
    snoozed: list[WorkItem]
    escalated: int | None = None  # supervisors: live items escalated in the organization
    last_refresh: RefreshRun | None = None
    items_shown: list[WorkItem] = field(default_factory=list)

    @property
    def at_cap_everywhere(self) -> bool:
        return bool(self.counts) and all(c.at_cap for c in self.counts)


def _with_queue(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("queue")


def my_work(*, user: Any, organization: Any, now: datetime, supervisor: bool = False) -> MyWork:
    members = list(QueueMember.objects.of_user(user, organization))
    queues = [m.queue for m in members]
    raw = queue_counts(queues, user=user, now=now, time_zone=organization.time_zone, cap=COUNT_CAP)
    counts = [QueueCount(m.queue, m, count_cap=COUNT_CAP, **raw.get(m.queue_id, {})) for m in members]
    open_members = [c.member for c in counts if not c.at_cap]

    best = available_candidates(open_members, user, now, per_queue=1)
    until = end_of_today(organization.time_zone, now)
    due_parts = [
        WorkItem.objects.filter(eligible_in(m.queue_id, m.skills, user), status="open", due_at__lt=until)
        .order_by("due_at", "id")
        .values_list("id", flat=True)[:LIST_LENGTH]
        for m in members
    ]
    due_ids: list[int] = []
    if due_parts:
        first, *rest = due_parts
        due_ids = list(first.union(*rest, all=True) if rest else first)
    wanted = set(due_ids) | ({best[0].id} if best else set())
    fetched = (
        {item.pk: item for item in _with_queue(WorkItem.objects.filter(pk__in=wanted))} if wanted else {}
    )
    due_today = sorted((fetched[i] for i in due_ids), key=lambda i: (i.due_at, i.pk))[:LIST_LENGTH]
    in_progress = list(
        _with_queue(WorkItem.objects.in_progress_for(user).filter(organization=organization)).order_by(
            *ORDER
        )[:100]
    )
    snoozed = list(
        _with_queue(
            WorkItem.objects.filter(organization=organization, status="snoozed", snoozed_by_id=user.pk)
        ).order_by("snoozed_until", "id")[:LIST_LENGTH]
    )
    work = MyWork(
        members=members,
        counts=counts,
        next_item=fetched.get(best[0].id) if best else None,
        due_today=due_today,
        in_progress=in_progress,
        snoozed=snoozed,
    )
    if supervisor:
        work.escalated = WorkItem.objects.filter(
            queue__organization=organization, status__in=["open", "in_progress"], escalated_at__isnull=False
        ).count()
        work.last_refresh = last_refresh(organization)
    work.items_shown = [*([work.next_item] if work.next_item else []), *due_today, *in_progress, *snoozed]
    return work


def last_refresh(organization: Any) -> RefreshRun | None:
    """The newest refresh that covered ``organization`` (a scheduled one covers every organization)."""
    return (
        RefreshRun.objects.filter(Q(organization=organization) | Q(organization__isnull=True))
        .order_by("-started_at", "-id")
        .first()
    )


def queue_overview(organization: Any, *, user: Any, now: datetime) -> list[QueueCount]:
    """Every queue of the organization with its counts and member numbers (supervisors' list)."""
    queues = list(
        Queue.objects.in_organization(organization)
        .annotate(member_count=Count("members"))
        .order_by("name", "id")
    )
    raw = queue_counts(queues, user=user, now=now, time_zone=organization.time_zone)
    escalated = dict(
        WorkItem.objects.filter(
            queue__in=queues, status__in=["open", "in_progress"], escalated_at__isnull=False
        )
        .values_list("queue_id")
        .annotate(n=Count("*"))
        .order_by()
    )
    return [
        QueueCount(queue, None, escalated=escalated.get(queue.pk, 0), **raw.get(queue.pk, {}))
        for queue in queues
    ]


# --- keyset paging over (priority desc, due_at, id) -----------------------------------------------


@dataclass(frozen=True)
class ItemPage:
    rows: list[WorkItem]
    next_cursor: str | None
    is_first: bool

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def parse_cursor(raw: str) -> tuple[int, datetime, int] | None:
    """``"<priority>_<due_at iso>_<id>"`` → a position in the list, or None when malformed."""
    try:
        priority, due, pk = raw.split("_")
        due_at = datetime.fromisoformat(due)
        if timezone.is_naive(due_at):
            return None
        return int(priority), due_at, int(pk)
    except ValueError:
        return None


def cursor_of(item: WorkItem) -> str:
    return f"{item.priority}_{item.due_at.isoformat()}_{item.pk}"


def item_page(queryset: QuerySet, cursor: str = "", size: int = 50) -> ItemPage:
    """One page of ``queryset`` in get-next order, after ``cursor``; no COUNT(*) over the queue."""
    position = parse_cursor(cursor) if cursor else None
    if position is not None:
        priority, due_at, pk = position
        queryset = queryset.filter(
            Q(priority__lt=priority)
            | Q(priority=priority, due_at__gt=due_at)
            | Q(priority=priority, due_at=due_at, pk__gt=pk)
        )
    batch = list(queryset.order_by(*ORDER)[: size + 1])
    rows = batch[:size]
    more = len(batch) > size
    return ItemPage(rows, cursor_of(rows[-1]) if more and rows else None, position is None)
