from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from staff import permissions as perms
from staff.models import Role


def workspace(request: HttpRequest) -> dict[str, Any]:
    """The signed-in person's organizations, active role and what the navigation may offer."""
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = sorted(perms.memberships_of(user).values(), key=lambda m: m.organization.name)
    role = request.membership.role if getattr(request, "membership", None) else None
    return {
        "workspace_memberships": memberships,
        "active_organization": organization,
        "active_role": Role(role) if role else None,
        "nav": {
            "members": organization is not None and perms.can_view_members(user, organization),
            "approval_limits": organization is not None
            and perms.can_view_approval_limits(user, organization),
            "access_log": organization is not None and perms.can_view_phi_access_log(user, organization),
            "organization_settings": organization is not None
            and perms.can_manage_organization(user, organization),
            "django_admin": bool(user.is_staff),
        },
        "idle_timeout_seconds": settings.SESSION_COOKIE_AGE,
    }
