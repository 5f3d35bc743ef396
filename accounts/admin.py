"""Django admin for platform operators: read-only views of patients, accounts and the ledger.

Every change goes through ``accounts.services`` (the pages and the API); the admin never
edits money or patient records, so nothing here can bypass the ledger or the history.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import AdjustmentRequest, Coverage, LedgerEntry, Patient, PatientAccount
from staff.admin import ScopedAdmin


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    list_display = ["last_name", "first_name", "date_of_birth", "organization", "external_id"]
    list_filter = ["organization"]
    search_fields = ["last_name", "external_id", "mrn"]


@admin.register(PatientAccount)
class PatientAccountAdmin(ReadOnlyAdmin):
    list_display = ["account_number", "patient", "organization", "kind", "status", "balance"]
    list_filter = ["organization", "kind", "status"]
    search_fields = ["account_number"]
    list_select_related = ["patient", "organization"]


@admin.register(Coverage)
class CoverageAdmin(ReadOnlyAdmin):
    list_display = ["patient", "plan", "priority", "member_id", "is_active"]
    list_select_related = ["patient", "plan__payer"]
    search_fields = ["member_id"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["posted_at", "account", "kind", "amount", "coverage", "reason_code", "source", "actor"]
    list_filter = ["kind", "source"]
    list_select_related = ["account", "coverage__plan__payer", "actor"]


@admin.register(AdjustmentRequest)
class AdjustmentRequestAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "kind", "amount", "status", "requested_by", "decided_by"]
    list_filter = ["status", "kind"]
    list_select_related = ["account", "requested_by", "decided_by"]
