"""Django admin for platform operators. Rows are listed through ``visible_to(user)`` like everywhere else.

Staff configure payers on the payer pages, which record a reason and a timeline event
for every change; edits made here keep row history (who and when) but no reason.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payers.models import (
    AppealLevel,
    Contract,
    FeeScheduleEntry,
    NoticeAcknowledgement,
    Payer,
    PayerNotice,
    PayerRule,
    Plan,
)
from staff.admin import ScopedAdmin

_STAMPS = ["reference", "created_at", "updated_at"]


class PlanInline(admin.TabularInline):
    model = Plan
    fields = ["name", "group_number", "plan_type", "network", "is_active"]
    extra = 0
    show_change_link = True


@admin.register(Payer)
class PayerAdmin(ScopedAdmin):
    list_display = ["name", "organization", "kind", "edi_payer_id", "phone", "is_active"]
    list_filter = ["organization", "kind", "is_active"]
    search_fields = ["name", "edi_payer_id", "bin"]
    readonly_fields = _STAMPS
    inlines = [PlanInline]


@admin.register(Plan)
class PlanAdmin(ScopedAdmin):
    list_display = ["name", "payer", "group_number", "plan_type", "network", "is_active"]
    list_filter = ["organization", "plan_type", "network", "is_active"]
    search_fields = ["name", "group_number", "payer__name"]
    list_select_related = ["payer"]
    readonly_fields = _STAMPS


class AppealLevelInline(admin.TabularInline):
    model = AppealLevel
    fields = ["level", "name", "filing_days", "decision_days"]
    extra = 0


@admin.register(PayerRule)
class PayerRuleAdmin(ScopedAdmin):
    list_display = [
        "payer",
        "effective_from",
        "effective_to",
        "timely_filing_days",
        "corrected_claim_days",
        "follow_up_days",
        "secondary_crossover",
    ]
    list_filter = ["organization", "secondary_crossover"]
    search_fields = ["payer__name"]
    list_select_related = ["payer"]
    date_hierarchy = "effective_from"
    readonly_fields = _STAMPS
    inlines = [AppealLevelInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Appeal levels copy their rule's organization (the inline does not show it).
        for level in formset.save(commit=False):
            level.organization_id = form.instance.organization_id
            level.save()
        for level in formset.deleted_objects:
            level.delete()
        formset.save_m2m()


@admin.register(Contract)
class ContractAdmin(ScopedAdmin):
    list_display = ["name", "payer", "plan", "effective_from", "effective_to", "default_percent_of_charges"]
    list_filter = ["organization"]
    search_fields = ["name", "payer__name"]
    list_select_related = ["payer", "plan"]
    readonly_fields = _STAMPS


@admin.register(FeeScheduleEntry)
class FeeScheduleEntryAdmin(ScopedAdmin):
    list_display = [
        "code",
        "modifier",
        "contract",
        "allowed_amount",
        "percent_of_charges",
        "effective_from",
        "effective_to",
    ]
    list_filter = ["organization"]
    search_fields = ["code", "contract__name"]
    list_select_related = ["contract"]
    readonly_fields = _STAMPS
    show_full_result_count = False


class NoticeAcknowledgementInline(admin.TabularInline):
    """Evidence of who read the notice: shown, never edited."""

    model = NoticeAcknowledgement
    fields = ["user", "acknowledged_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PayerNotice)
class PayerNoticeAdmin(ScopedAdmin):
    list_display = ["title", "organization", "effective_date", "published_by", "is_active"]
    list_filter = ["organization", "is_active"]
    search_fields = ["title"]
    filter_horizontal = ["payers", "plans"]
    list_select_related = ["organization", "published_by"]
    readonly_fields = _STAMPS
    inlines = [NoticeAcknowledgementInline]
