"""Django admin for platform operators: read-only views of queues, members, items and refresh runs.

Every change goes through ``worklists.services`` (the pages and the API) or the refresh,
so the admin cannot skip the history and timeline they record.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from staff.admin import ScopedAdmin
from staff.permissions import memberships_of
from worklists.models import Queue, QueueMember, RefreshRun, WorkItem


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Queue)
class QueueAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "organization", "cap_per_person", "escalate_after_hours", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]


@admin.register(QueueMember)
class QueueMemberAdmin(ReadOnlyAdmin):
    list_display = ["user", "queue", "skills"]
    list_select_related = ["user", "queue"]
    search_fields = ["user__email", "queue__name"]


@admin.register(WorkItem)
class WorkItemAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "queue", "status", "priority", "due_at", "assignee"]
    list_filter = ["status", "kind"]
    list_select_related = ["queue", "assignee"]
    search_fields = ["dedupe_key"]


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "trigger", "organization", "created", "updated", "closed", "escalated"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(organization_id__in=list(memberships_of(request.user)))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
