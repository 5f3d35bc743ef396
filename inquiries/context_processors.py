"""Navigation entries for the case pages (cases, departments, the A&G queue, scripts, QA, settings)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from inquiries import permissions


def inquiries_nav(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return {}
    return {
        "nav_cases": {
            "cases": permissions.can_view_cases(user, organization),
            "new_case": permissions.can_work_cases(user, organization),
            "referrals": permissions.can_work_referrals(user, organization),
            "qa_supervisor": permissions.can_review_quality(user, organization),
            "settings": permissions.can_manage_case_settings(user, organization),
        }
    }
