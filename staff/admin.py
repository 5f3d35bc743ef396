"""Django admin for platform operators. Even here, only organizations the operator is a member of show."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from staff import services
from staff.models import (
    ApprovalLimit,
    Membership,
    Organization,
    OrganizationClosure,
    PhiAccessLog,
    Team,
    User,
)


class ScopedAdmin(SimpleHistoryAdmin):
    """Lists rows, and offers related rows in its choice fields, through ``visible_to(user)``,
    like every page and endpoint; a row saved into another organization is refused."""

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).visible_to(request.user)

    def _scoped(self, db_field: Any, request: HttpRequest, kwargs: dict) -> dict:
        queryset = db_field.related_model._default_manager.all()
        if hasattr(queryset, "visible_to"):
            kwargs["queryset"] = queryset.visible_to(request.user)
        return kwargs

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return super().formfield_for_foreignkey(db_field, request, **self._scoped(db_field, request, kwargs))

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return super().formfield_for_manytomany(db_field, request, **self._scoped(db_field, request, kwargs))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from django.core.exceptions import PermissionDenied

        from staff.permissions import memberships_of

        organization_id = getattr(obj, "organization_id", None)
        if organization_id is not None and organization_id not in memberships_of(request.user):
            raise PermissionDenied("You are not a member of that organization.")
        super().save_model(request, obj, form, change)


@admin.register(Organization)
class OrganizationAdmin(ScopedAdmin):
    list_display = ["name", "slug", "kind", "time_zone", "is_active"]
    search_fields = ["name", "slug"]
    list_filter = ["kind", "is_active"]
    readonly_fields = ["reference", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new client goes through the service so its creator becomes its first admin.
        created = services.organization_create(
            name=obj.name, slug=obj.slug, kind=obj.kind, time_zone=obj.time_zone, by=request.user
        )
        obj.pk = created.pk

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)


@admin.register(Membership)
class MembershipAdmin(ScopedAdmin):
    list_display = ["user", "organization", "role", "team", "is_active"]
    list_filter = ["role", "is_active", "organization"]
    search_fields = ["user__email", "user__full_name"]
    autocomplete_fields = ["user"]
    list_select_related = ["user", "organization", "team"]


@admin.register(Team)
class TeamAdmin(ScopedAdmin):
    list_display = ["name", "organization"]
    list_filter = ["organization"]


@admin.register(ApprovalLimit)
class ApprovalLimitAdmin(ScopedAdmin):
    list_display = ["organization", "role", "kind", "max_amount"]
    list_filter = ["organization", "kind", "role"]


@admin.register(OrganizationClosure)
class OrganizationClosureAdmin(ScopedAdmin):
    list_display = ["organization", "date", "reason"]
    list_filter = ["organization"]


@admin.register(PhiAccessLog)
class PhiAccessLogAdmin(admin.ModelAdmin):
    list_display = [
        "accessed_at",
        "user",
        "organization",
        "action",
        "subject_type",
        "subject_id",
        "ip_address",
    ]
    list_filter = ["action", "organization"]
    list_select_related = ["user", "organization", "subject_type"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).visible_to(request.user)

    # Evidence: nobody adds, edits or deletes it here (the database refuses anyway).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin, SimpleHistoryAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        # People who share an organization with the operator, the operator, and people
        # with no organization yet (so they can be onboarded); never another client's staff.
        from django.db.models import Q

        shared = Organization.objects.visible_to(request.user)
        return (
            super()
            .get_queryset(request)
            .filter(
                Q(memberships__organization__in=shared) | Q(pk=request.user.pk) | Q(memberships__isnull=True)
            )
            .distinct()
        )
