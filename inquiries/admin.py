"""Django admin for platform operators: read-only views of cases, contacts and referrals.

Every change goes through ``inquiries.services`` (the pages and the API), so nothing
here can bypass the disclosure guard, the history or the timeline.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from inquiries.models import Case, Department, Interaction, Referral, Script
from staff.admin import ScopedAdmin


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ["number", "organization", "category", "status", "priority", "created_at"]
    list_filter = ["organization", "status", "category"]
    search_fields = ["number"]
    show_full_result_count = False


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    list_display = ["case", "channel", "outcome", "started_at", "logged_by"]
    list_filter = ["organization", "channel", "outcome"]
    show_full_result_count = False


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["case", "kind", "status", "referred_at"]
    list_filter = ["organization", "kind", "status"]


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "phone", "organization", "is_active"]
    list_filter = ["organization", "kind"]


@admin.register(Script)
class ScriptAdmin(ReadOnlyAdmin):
    list_display = ["name", "category", "organization", "is_active"]
    list_filter = ["organization"]
