"""The rules refresh: turn what the registered rules find into work items, set-based.

For each rule (``worklists.registry``), the candidates it returns for the organizations
refreshed are copied into a temporary table, and three statements bring the items in
line with them, inside one transaction per rule:

- **update** live items whose priority, reason, due time, title or skills moved (the
  queue is never changed: a supervisor may have moved the item on purpose);
- **insert** items for candidates that have no live item, unless a person completed the
  same work recently (``WorkItem.resurface_at``); one already past due beyond its queue's
  grace is created escalated;
- **close** live items whose candidate is gone, with the outcome "resolved elsewhere".

Then snoozed items whose date has come are reopened, and items past due by more than
their queue's grace are escalated (priority raised, the reason says so, and one event
per organization on its timeline for the supervisors).

Never duplicates: a transaction-level advisory lock per rule kind serializes two
refreshes of the same rule (a scheduled one and a supervisor's, say), and the partial
unique index on live items (organization, kind, dedupe key) stands behind it
(``ON CONFLICT DO NOTHING``).

Row history: these statements bypass django-simple-history, so each writes its history
rows itself, in the same statement (a data-modifying CTE), with the actor, reason and
request id a service would record.
"""

from __future__ import annotations

import io
import logging
import re
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.audit import current_request_id, mark_change, system_user
from core.models import TimelineEvent
from staff.models import Organization
from worklists import registry
from worklists.models import PRIORITY_MAX, SKILL_PATTERN, Queue, RefreshRun, WorkItem

logger = logging.getLogger(__name__)

ESCALATION_BONUS = 200
ESCALATION_PREFIX = "Past due: escalated. "
# pg_advisory_xact_lock(namespace, hashtext(kind)): the refresh's locks, one per rule kind.
LOCK_NAMESPACE = 0x574B
_CANDIDATES = "worklists_candidate"
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


class InvalidCandidate(ValueError):
    """A rule returned something the refresh cannot store (named by rule and dedupe key, never PHI)."""


@dataclass
class RuleResult:
    kind: str
    candidates: int = 0
    created: int = 0
    updated: int = 0
    closed: int = 0
    failed: str = ""
    seconds: float = 0.0


@dataclass
class RefreshResult:
    started_at: datetime
    finished_at: datetime | None = None
    rules: list[RuleResult] = field(default_factory=list)
    woken: int = 0
    escalated: int = 0
    # organization id → {"created": n, "updated": n, "closed": n, "woken": n, "escalated": n}
    per_organization: dict[int, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def total(self, what: str) -> int:
        return sum(getattr(rule, what) for rule in self.rules)

    @property
    def failed_rules(self) -> list[str]:
        return [rule.kind for rule in self.rules if rule.failed]


def refresh_work_items(
    *,
    organization_ids: list[int] | None = None,
    now: datetime | None = None,
    by: Any = None,
    kinds: list[str] | None = None,
    trigger: str = RefreshRun.Trigger.SCHEDULE,
) -> RefreshResult:
    """Run every registered rule (or ``kinds``) for every active organization (or the ones given).

    A rule that raises, or returns a malformed candidate, is skipped and reported in the
    result; its items stay as they were (a broken rule must not close everyone's work).
    """
    now = now or timezone.now()
    by = by or system_user()
    result = RefreshResult(started_at=timezone.now())
    organizations = Organization.objects.filter(is_active=True)
    if organization_ids is not None:
        organizations = organizations.filter(pk__in=organization_ids)
    org_ids = sorted(organizations.values_list("pk", flat=True))
    selected = [rule for kind, rule in registry.rules().items() if kinds is None or kind in kinds]
    if org_ids:
        for rule in selected:
            result.rules.append(_refresh_rule(rule, org_ids, now, by, result))
        result.woken = _wake_snoozed(org_ids, now, by, result)
        result.escalated += _escalate_overdue(org_ids, now, by, result)
    result.finished_at = timezone.now()
    _record_run(result, None if organization_ids is None else org_ids, trigger, by)
    return result


def _refresh_rule(
    rule: registry.Rule, org_ids: list[int], now: datetime, by: Any, result: RefreshResult
) -> RuleResult:
    outcome = RuleResult(rule.kind)
    started = time.perf_counter()
    try:
        rows = _candidate_rows(rule, org_ids, now)
        queue_ids = _ensure_queues(rule, {(row[0], row[4]) for row in rows}, by)
        outcome.candidates = len(rows)
        with transaction.atomic(durable=True), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, rule.kind])
            _load(cursor, rows, queue_ids)
            params = _params(rule, org_ids, now, by)
            for name, statement in (
                ("updated", _update_sql()),
                ("created", _insert_sql()),
                ("closed", _close_sql()),
            ):
                for org_id, count, escalated in _run(cursor, statement, params):
                    setattr(outcome, name, getattr(outcome, name) + count)
                    result.per_organization[org_id][name] += count
                    result.per_organization[org_id]["escalated"] += escalated
                    result.escalated += escalated
    except Exception as exc:  # one broken rule must not stop the others
        outcome.failed = type(exc).__name__
        # The exception's text can quote data; the log gets its type and where it came from.
        logger.error(
            "work item rule %s failed (%s) at:\n%s",
            rule.kind,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _candidate_rows(rule: registry.Rule, org_ids: list[int], now: datetime) -> list[tuple]:
    """The rule's candidates as checked rows; the first of two with the same key wins."""
    allowed = set(org_ids)
    types: dict[type, int] = {}
    seen: set[tuple[int, str]] = set()
    rows = []
    for candidate in rule.function(list(org_ids), now):
        key = candidate.dedupe_key
        where = f"{rule.kind} candidate {key!r}"
        if candidate.organization_id not in allowed:
            raise InvalidCandidate(f"{where}: organization {candidate.organization_id} was not asked for")
        if not key or len(key) > 120:
            raise InvalidCandidate(f"{rule.kind}: a dedupe key must have 1 to 120 characters")
        if (candidate.organization_id, key) in seen:
            continue
        seen.add((candidate.organization_id, key))
        if not isinstance(candidate.priority, int) or not 0 <= candidate.priority <= PRIORITY_MAX:
            raise InvalidCandidate(f"{where}: priority must be an integer from 0 to {PRIORITY_MAX}")
        if timezone.is_naive(candidate.due_at):
            raise InvalidCandidate(f"{where}: due_at must be an aware datetime")
        if not candidate.title.strip() or not candidate.reason.strip():
            raise InvalidCandidate(f"{where}: title and reason are required")
        if any(not re.match(SKILL_PATTERN, skill) or len(skill) > 64 for skill in candidate.skills):
            raise InvalidCandidate(f"{where}: skills are written 'kind:value'")
        queue = candidate.queue or rule.queue
        if not _SLUG.match(queue) or len(queue) > 60:
            raise InvalidCandidate(f"{where}: the queue must be a slug")
        subject_class = type(candidate.subject)
        if subject_class not in types:
            types[subject_class] = ContentType.objects.get_for_model(
                subject_class, for_concrete_model=True
            ).pk
        if candidate.subject.pk is None:
            raise InvalidCandidate(f"{where}: the subject has no primary key")
        rows.append(
            (
                candidate.organization_id,
                key,
                types[subject_class],
                candidate.subject.pk,
                queue,
                candidate.title.strip()[:200],
                candidate.due_at,
                candidate.priority,
                candidate.reason.strip()[:300],
                sorted(set(candidate.skills))[:10],
            )
        )
    return rows


def _ensure_queues(rule: registry.Rule, needed: set[tuple[int, str]], by: Any) -> dict[tuple[int, str], int]:
    """Queue ids for (organization, slug), creating the queues rules name on first use."""
    if not needed:
        return {}
    existing = {
        (org_id, slug): pk
        for org_id, slug, pk in Queue.objects.filter(
            organization_id__in={o for o, _ in needed}, slug__in={s for _, s in needed}
        ).values_list("organization_id", "slug", "pk")
    }
    names = registry.queue_names()
    for org_id, slug in sorted(needed - set(existing)):
        queue = Queue(
            organization_id=org_id,
            slug=slug,
            name=names.get(slug) or slug.replace("-", " ").replace("_", " ").capitalize(),
            description=rule.description[:300] if slug == rule.queue else "",
        )
        mark_change(queue, by=by, reason=f"Created for the rule {rule.kind}")
        try:
            with transaction.atomic():
                queue.save()
        except IntegrityError:  # another refresh created it a moment ago
            queue = Queue.objects.get(organization_id=org_id, slug=slug)
        existing[(org_id, slug)] = queue.pk
    return existing


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _load(cursor: Any, rows: list[tuple], queue_ids: dict[tuple[int, str], int]) -> None:
    """The candidates into a temporary table (COPY), indexed and analyzed for the merge."""
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_CANDIDATES}")
    cursor.execute(
        f"""
        CREATE TEMPORARY TABLE {_CANDIDATES} (
            organization_id bigint NOT NULL,
            dedupe_key varchar(120) NOT NULL,
            subject_type_id integer NOT NULL,
            subject_id bigint NOT NULL,
            queue_id bigint NOT NULL,
            title varchar(200) NOT NULL,
            due_at timestamptz NOT NULL,
            priority integer NOT NULL,
            reason varchar(300) NOT NULL,
            skills varchar(64)[] NOT NULL
        ) ON COMMIT DROP
        """
    )
    buffer = io.StringIO()
    for org_id, key, type_id, subject_id, queue, title, due_at, priority, reason, skills in rows:
        buffer.write(
            f"{org_id}\t{_copy_text(key)}\t{type_id}\t{subject_id}\t{queue_ids[(org_id, queue)]}\t"
            f"{_copy_text(title)}\t{due_at.isoformat()}\t{priority}\t{_copy_text(reason)}\t"
            f"{{{','.join(skills)}}}\n"
        )
    buffer.seek(0)
    cursor.copy_expert(f"COPY {_CANDIDATES} FROM STDIN", buffer)
    cursor.execute(f"CREATE INDEX ON {_CANDIDATES} (organization_id, dedupe_key)")
    cursor.execute(f"ANALYZE {_CANDIDATES}")


def _common_params(org_ids: list[int], now: datetime, by: Any) -> dict[str, Any]:
    """What every refresh statement is given: the organizations, the clock, the actor."""
    return {
        "orgs": org_ids,
        "now": now,
        "written": timezone.now(),
        "user": by.pk,
        "request_id": current_request_id(),
        "max": PRIORITY_MAX,
        "bonus": ESCALATION_BONUS,
        "prefix": ESCALATION_PREFIX,
        "org_type": ContentType.objects.get_for_model(Organization).pk,
    }


def _params(rule: registry.Rule, org_ids: list[int], now: datetime, by: Any) -> dict[str, Any]:
    return {
        **_common_params(org_ids, now, by),
        "kind": rule.kind,
        "source": rule.source[:200],
        "reason_updated": f"Refreshed by rule {rule.kind}"[:100],
        "reason_created": f"Created by rule {rule.kind}"[:100],
        "reason_closed": "Resolved elsewhere: the rule no longer finds this work",
    }


def _history_columns() -> list[str]:
    """Columns the historical table shares with ``worklists_workitem`` (all but updated_at)."""
    own = {
        "history_id",
        "history_date",
        "history_change_reason",
        "history_type",
        "history_user_id",
        "request_id",
    }
    return [f.column for f in WorkItem.history.model._meta.concrete_fields if f.column not in own]


def _with_history(cte: str, history_type: str, reason_param: str, *, escalation_events: bool = False) -> str:
    """``<cte>``'s rows written to the history table (and, with ``escalation_events``, one
    timeline event per organization for the rows escalated now); then per organization:
    rows, and rows escalated now."""
    table = WorkItem.history.model._meta.db_table
    columns = ", ".join(f'"{c}"' for c in _history_columns())
    events = _escalation_events(cte) if escalation_events else ""
    escalated_now = "count(*) FILTER (WHERE escalated_at = %(now)s)" if escalation_events else "0"
    return f"""
        , history AS (
            INSERT INTO {table} ({columns}, history_date, history_change_reason, history_type,
                                 history_user_id, request_id)
            SELECT {columns}, %(written)s, %({reason_param})s, '{history_type}', %(user)s, %(request_id)s
            FROM {cte}
        ){events}
        SELECT organization_id, count(*), {escalated_now} FROM {cte} GROUP BY organization_id
    """  # noqa: S608 (table and column names come from the code)


def _escalation_events(cte: str) -> str:
    """One timeline event per organization naming the items of ``<cte>`` escalated now."""
    return f"""
        , events AS (
            INSERT INTO {TimelineEvent._meta.db_table} (organization_id, kind, summary, subject_type_id,
                                                         subject_id, actor_id, occurred_at, data, request_id)
            SELECT organization_id, 'worklists.items.escalated',
                   count(*) || ' work item(s) past due escalated to the supervisors',
                   %(org_type)s, organization_id, %(user)s, %(written)s,
                   jsonb_build_object('count', count(*),
                                      'items', (array_agg(reference::text ORDER BY id))[1:100]),
                   %(request_id)s
            FROM {cte} WHERE escalated_at = %(now)s GROUP BY organization_id
        )
    """  # noqa: S608 (table and column names come from the code)


# Whether an escalated item stays escalated: not once its new due time is back within grace.
_STILL_ESCALATED = (
    "CASE WHEN w.escalated_at IS NOT NULL"
    " AND c.due_at + q.escalate_after_hours * interval '1 hour' > %(now)s"
    " THEN NULL ELSE w.escalated_at END"
)
_NEW_PRIORITY = (
    f"CASE WHEN ({_STILL_ESCALATED}) IS NULL THEN c.priority ELSE LEAST(%(max)s, c.priority + %(bonus)s) END"
)
_NEW_REASON = (
    f"CASE WHEN ({_STILL_ESCALATED}) IS NULL THEN c.reason ELSE left(%(prefix)s || c.reason, 300) END"
)


def _update_sql() -> str:
    return f"""
    WITH changed AS (
        UPDATE worklists_workitem AS w
        SET priority = {_NEW_PRIORITY}, priority_reason = {_NEW_REASON}, escalated_at = {_STILL_ESCALATED},
            due_at = c.due_at, title = c.title, required_skills = c.skills, updated_at = %(written)s
        FROM {_CANDIDATES} AS c, worklists_queue AS q
        WHERE w.organization_id = c.organization_id AND w.kind = %(kind)s AND w.dedupe_key = c.dedupe_key
          AND w.status <> 'done' AND q.id = w.queue_id
          AND (w.priority, w.priority_reason, w.escalated_at, w.due_at, w.title, w.required_skills)
              IS DISTINCT FROM
              ({_NEW_PRIORITY}, {_NEW_REASON}, {_STILL_ESCALATED}, c.due_at, c.title, c.skills)
        RETURNING w.*
    )
    {_with_history("changed", "~", "reason_updated")}
"""  # noqa: S608 (table and column names come from the code)


def _insert_sql() -> str:
    # An item already past due beyond its queue's grace is created escalated (one row
    # version and one history row, instead of a second pass that rewrites it at once).
    late = "c.due_at + q.escalate_after_hours * interval '1 hour' < %(now)s"
    return f"""
    WITH created AS (
        INSERT INTO worklists_workitem (
            reference, created_at, updated_at, organization_id, kind, source_rule, dedupe_key,
            subject_type_id, subject_id, queue_id, title, due_at, priority, priority_reason,
            escalated_at, required_skills, status, snooze_reason, outcome, outcome_note
        )
        SELECT gen_random_uuid(), %(written)s, %(written)s, c.organization_id, %(kind)s, %(source)s,
               c.dedupe_key, c.subject_type_id, c.subject_id, c.queue_id, c.title, c.due_at,
               CASE WHEN {late} THEN LEAST(%(max)s, c.priority + %(bonus)s) ELSE c.priority END,
               CASE WHEN {late} THEN left(%(prefix)s || c.reason, 300) ELSE c.reason END,
               CASE WHEN {late} THEN %(now)s END,
               c.skills, 'open', '', '', ''
        FROM {_CANDIDATES} AS c JOIN worklists_queue AS q ON q.id = c.queue_id
        WHERE NOT EXISTS (
                SELECT 1 FROM worklists_workitem AS w
                WHERE w.organization_id = c.organization_id AND w.kind = %(kind)s
                  AND w.dedupe_key = c.dedupe_key AND w.status <> 'done')
          AND NOT EXISTS (
                SELECT 1 FROM worklists_workitem AS w
                WHERE w.organization_id = c.organization_id AND w.kind = %(kind)s
                  AND w.dedupe_key = c.dedupe_key AND w.status = 'done' AND w.resurface_at > %(now)s)
        ON CONFLICT DO NOTHING
        RETURNING *
    )
    {_with_history("created", "+", "reason_created", escalation_events=True)}
"""  # noqa: S608 (table and column names come from the code)


def _close_sql() -> str:
    return f"""
    WITH closed AS (
        UPDATE worklists_workitem AS w
        SET status = 'done', outcome = 'resolved_elsewhere', done_at = %(now)s, done_by_id = %(user)s,
            updated_at = %(written)s
        WHERE w.organization_id = ANY(%(orgs)s) AND w.kind = %(kind)s AND w.status <> 'done'
          AND NOT EXISTS (
                SELECT 1 FROM {_CANDIDATES} AS c
                WHERE c.organization_id = w.organization_id AND c.dedupe_key = w.dedupe_key)
        RETURNING w.*
    )
    {_with_history("closed", "~", "reason_closed")}
"""  # noqa: S608 (table and column names come from the code)


def _wake_sql() -> str:
    return f"""
    WITH woken AS (
        UPDATE worklists_workitem AS w
        SET status = 'open', updated_at = %(written)s
        WHERE w.status = 'snoozed' AND w.snoozed_until <= %(now)s AND w.organization_id = ANY(%(orgs)s)
        RETURNING w.*
    )
    {_with_history("woken", "~", "reason_woken")}
"""  # noqa: S608 (table and column names come from the code)


def _escalate_sql() -> str:
    # ``due_at < now`` lets the partial index on unescalated live items find the candidates;
    # the queue's grace then decides.
    return f"""
    WITH escalated AS (
        UPDATE worklists_workitem AS w
        SET escalated_at = %(now)s, priority = LEAST(%(max)s, w.priority + %(bonus)s),
            priority_reason = left(%(prefix)s || w.priority_reason, 300), updated_at = %(written)s
        FROM worklists_queue AS q
        WHERE q.id = w.queue_id AND w.status IN ('open', 'in_progress') AND w.escalated_at IS NULL
          AND w.organization_id = ANY(%(orgs)s) AND w.due_at < %(now)s
          AND w.due_at + q.escalate_after_hours * interval '1 hour' < %(now)s
        RETURNING w.*
    )
    {_with_history("escalated", "~", "reason_escalated", escalation_events=True)}
"""  # noqa: S608 (table and column names come from the code)


def _run(cursor: Any, statement: str, params: dict[str, Any]) -> list[tuple[int, int, int]]:
    """Run one statement; its rows are (organization id, rows changed, rows escalated now)."""
    cursor.execute(statement, params)
    return cursor.fetchall()


def _wake_snoozed(org_ids: list[int], now: datetime, by: Any, result: RefreshResult) -> int:
    """Snoozed items whose date has come go back to their queue as open."""
    params = {**_common_params(org_ids, now, by), "reason_woken": "Snooze ended: back in the queue"}
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        rows = _run(cursor, _wake_sql(), params)
    for org_id, count, _ in rows:
        result.per_organization[org_id]["woken"] += count
    return sum(row[1] for row in rows)


def _escalate_overdue(org_ids: list[int], now: datetime, by: Any, result: RefreshResult) -> int:
    """Live items past due by more than their queue's grace: escalated to the supervisors.

    The priority rises by ``ESCALATION_BONUS`` (the refresh keeps the raise while the
    item stays late) and the reason starts with "Past due: escalated"; each organization
    gets one timeline event naming the items, which its supervisors read, and the queue
    pages count escalated items.
    """
    params = {
        **_common_params(org_ids, now, by),
        "reason_escalated": "Past due beyond the queue's grace: escalated",
    }
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        rows = _run(cursor, _escalate_sql(), params)
    for org_id, count, _ in rows:
        result.per_organization[org_id]["escalated"] += count
    return sum(row[1] for row in rows)


def _record_run(result: RefreshResult, organization_ids: list[int] | None, trigger: str, by: Any) -> None:
    """One row per run: per organization when it was asked for organizations, else one overall."""
    common = {
        "trigger": trigger,
        "requested_by": by if trigger == RefreshRun.Trigger.ON_DEMAND else None,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "failed_rules": result.failed_rules,
    }
    if organization_ids is None:
        runs = [
            RefreshRun(
                **common,
                created=result.total("created"),
                updated=result.total("updated"),
                closed=result.total("closed"),
                woken=result.woken,
                escalated=result.escalated,
            )
        ]
    else:
        runs = [
            RefreshRun(organization_id=org_id, **common, **dict(result.per_organization.get(org_id, {})))
            for org_id in organization_ids
        ]
    RefreshRun.objects.bulk_create(runs)
    RefreshRun.objects.filter(started_at__lt=timezone.now() - timedelta(days=RefreshRun.KEEP_DAYS)).delete()
