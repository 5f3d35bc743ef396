"""Reads over queues, their members and work items; every list starts at ``visible_to``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from staff.querysets import OrganizationScopedQuerySet


class QueueQuerySet(OrganizationScopedQuerySet):
    pass


class QueueMemberQuerySet(OrganizationScopedQuerySet):
    def of_user(self, user: Any, organization: Any) -> models.QuerySet:
        """The user's memberships of the organization's active queues, queue loaded."""
        return (
            self.filter(user_id=user.pk, organization=organization, queue__is_active=True)
            .select_related("queue")
            .order_by("queue__name", "queue_id")
        )


def eligible_in(queue_id: int, skills: list[str], user: Any) -> Q:
    """Items of one queue a member with ``skills`` may take: every skill they need is one of
    theirs, and they are unassigned or already the member's."""
    return Q(queue_id=queue_id, required_skills__contained_by=list(skills)) & (
        Q(assignee__isnull=True) | Q(assignee_id=user.pk)
    )


class WorkItemQuerySet(OrganizationScopedQuerySet):
    def live(self) -> models.QuerySet:
        return self.exclude(status="done")

    def available(self, now: datetime) -> models.QuerySet:
        """Open, or snoozed until a time that has come."""
        return self.filter(Q(status="open") | Q(status="snoozed", snoozed_until__lte=now))

    def eligible_for(self, user: Any, members: list[Any]) -> models.QuerySet:
        """Items in ``members``' queues (``QueueMember`` rows of ``user``) their skills allow."""
        condition = Q(pk__in=[])
        for member in members:
            condition |= eligible_in(member.queue_id, member.skills, user)
        return self.filter(condition)

    def in_progress_for(self, user: Any) -> models.QuerySet:
        return self.filter(status="in_progress", assignee_id=user.pk)

    def about(self, subject: models.Model) -> models.QuerySet:
        return self.filter(
            subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
            subject_id=subject.pk,
        )
