"""Follow-up rules of the payers app, for the worklists (``worklists.registry``).

- payer notices that active members still have not acknowledged a week after they were
  published: one item per notice for the organization's supervisors, who chase the
  readers (the notice report lists them).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from payers.models import NoticeAcknowledgement, PayerNotice
from staff.models import Membership
from worklists.registry import Candidate, bounded_priority, due_end_of, register, register_subject, time_zones

READING_DAYS = 7
CHASE_DAYS = 3


def _count(queryset, group: str) -> Coalesce:
    """``COUNT(*)`` of a correlated queryset whose rows share ``group``, as a subquery (0 when none)."""
    counted = queryset.order_by().values(group).annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@register(
    "payers.notice_unacknowledged",
    label="Payer notice not read",
    queue="supervisor",
    queue_name="Supervisor",
    description="Payer notices that members have not acknowledged a week after publication.",
)
def notices_not_acknowledged(organization_ids: list[int], now: datetime) -> Iterator[Candidate]:
    today = timezone.localdate(now)
    zones = time_zones(organization_ids)
    active_members = Membership.objects.filter(
        organization=OuterRef("organization"), is_active=True, user__is_active=True
    )
    read_by_members = NoticeAcknowledgement.objects.filter(
        notice=OuterRef("pk"),
        user__memberships__organization=OuterRef("organization"),
        user__memberships__is_active=True,
        user__is_active=True,
    )
    notices = (
        PayerNotice.objects.filter(
            organization_id__in=organization_ids,
            is_active=True,
            created_at__lte=now - timedelta(days=READING_DAYS),
        )
        .annotate(members=_count(active_members, "organization"), read=_count(read_by_members, "notice"))
        .only("id", "organization_id", "title", "created_at", "effective_date")
    )
    for notice in notices:
        pending = notice.members - notice.read
        if pending <= 0:
            continue
        published = timezone.localdate(notice.created_at)
        effective_soon = notice.effective_date <= today + timedelta(days=7)
        yield Candidate(
            organization_id=notice.organization_id,
            dedupe_key=f"payers.notice:{notice.pk}",
            subject=notice,
            title=f"Notice not read by {pending} of {notice.members}: {notice.title}"[:200],
            due_at=due_end_of(
                published + timedelta(days=READING_DAYS + CHASE_DAYS), zones[notice.organization_id]
            ),
            priority=bounded_priority(300 + min(300, 10 * pending) + (200 if effective_soon else 0)),
            reason=(
                f"Published {published:%m/%d/%Y}, in force {notice.effective_date:%m/%d/%Y}"
                + ("; in force within a week" if effective_soon else "")
            ),
        )


register_subject(PayerNotice, url=lambda notice: reverse("payers:notice_detail", args=[notice.reference]))
