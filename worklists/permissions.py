"""Who may work items and manage queues.

Everyone in an organization may work the queues they are a member of; supervisors and
admins manage queues (members, skills, caps), move and reassign items, and run the
refresh on demand. Predicates take the organization, or an object whose
``organization`` decides, like every app's.
"""

from __future__ import annotations

from typing import Any

from staff.permissions import ALL_ROLES, SUPERVISORS, has_role


def _org(obj: Any) -> Any:
    return getattr(obj, "organization_id", None) or obj


def can_view_work(user: Any, obj: Any) -> bool:
    """My work, items and queues of the organization: any member."""
    return has_role(user, _org(obj), ALL_ROLES)


def can_manage_queues(user: Any, obj: Any) -> bool:
    """Queues and their members, skills and caps; reassigning and moving items."""
    return has_role(user, _org(obj), SUPERVISORS)


def can_refresh_work(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), SUPERVISORS)


def can_work_item(user: Any, item: Any) -> bool:
    """Complete, snooze or release an item: its assignee; anyone in its queue while nobody has
    it; a supervisor always."""
    if not can_view_work(user, item):
        return False
    if can_manage_queues(user, item) or (item.assignee_id is not None and item.assignee_id == user.pk):
        return True
    if item.assignee_id is not None:
        return False
    from worklists.models import QueueMember

    return QueueMember.objects.filter(queue_id=item.queue_id, user_id=user.pk).exists()
