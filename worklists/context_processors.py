"""Navigation entries for the worklists pages (My work, and queue management for supervisors)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from worklists import permissions


def worklists_nav(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return {}
    return {
        "nav_worklists": {
            "my_work": permissions.can_view_work(user, organization),
            "queues": permissions.can_manage_queues(user, organization),
        }
    }
