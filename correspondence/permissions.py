"""Who may see and change letter templates and the letterhead: admins edit, supervisors read."""

from __future__ import annotations

from typing import Any

from staff.permissions import ADMINS, SUPERVISORS, has_role


def can_view_templates(user: Any, organization: Any) -> bool:
    return has_role(user, organization, SUPERVISORS)


def can_manage_templates(user: Any, organization: Any) -> bool:
    return has_role(user, organization, ADMINS)
