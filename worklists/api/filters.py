"""FilterSets for the worklists API; they only narrow a queryset already scoped by ``visible_to``."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from staff.api.filters import OrganizationReferenceFilterSet
from worklists.models import Queue, WorkItem


class WorkItemFilterSet(OrganizationReferenceFilterSet):
    queue = django_filters.UUIDFilter(field_name="queue__reference", help_text="Reference of a queue.")
    status = django_filters.ChoiceFilter(choices=WorkItem.Status.choices)
    kind = django_filters.CharFilter(help_text='The rule, e.g. "claims.denial_to_work".')
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="Only items assigned to you.")
    live = django_filters.BooleanFilter(
        method="filter_live", help_text="Only items not done (true) or done (false)."
    )

    class Meta:
        model = WorkItem
        fields = ["organization", "queue", "status", "kind", "mine", "live"]

    def filter_mine(self, queryset: QuerySet[WorkItem], name: str, value: bool) -> QuerySet[WorkItem]:
        user = self.request.user
        return queryset.filter(assignee_id=user.pk) if value else queryset.exclude(assignee_id=user.pk)

    def filter_live(self, queryset: QuerySet[WorkItem], name: str, value: bool) -> QuerySet[WorkItem]:
        return queryset.exclude(status="done") if value else queryset.filter(status="done")


class QueueFilterSet(OrganizationReferenceFilterSet):
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Queue
        fields = ["organization", "is_active"]
