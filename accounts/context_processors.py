"""Navigation entries for the account workspace, payers and correspondence pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts import permissions as account_perms
from staff.permissions import SUPERVISORS, has_role


def workspace_nav(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return {}
    return {
        "nav_work": {
            "patients": account_perms.can_view_account(user, organization),
            "approvals": account_perms.can_approve_adjustments(user, organization),
            "imports": account_perms.can_import_accounts(user, organization),
            "payers": account_perms.can_view_account(user, organization),
            "notices_report": has_role(user, organization, SUPERVISORS),
            "templates": has_role(user, organization, SUPERVISORS),
        }
    }
