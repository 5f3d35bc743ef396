"""Navigation entries for the claims pages (claims, remittances, denials, reconciliation)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from claims import permissions


def claims_nav(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return {}
    return {
        "nav_claims": {
            "claims": permissions.can_view_claims(user, organization),
            "manage": permissions.can_manage_claims(user, organization),
            "posting": permissions.can_post_remittances(user, organization),
            "denials": permissions.can_work_denials(user, organization),
            "reconcile": permissions.can_reconcile_deposits(user, organization),
            "audits": permissions.can_manage_audits(user, organization),
            "codes": permissions.can_load_code_descriptions(user, organization),
        }
    }
