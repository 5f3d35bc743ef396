"""Who may read and change the payer master.

Everyone in an organization reads its payers, plans, rules, contracts and notices: reps
quote timely-filing limits and appeal windows all day. Admins configure them;
supervisors (and admins) publish notices and see who has not read them yet.

Predicates take the organization or any object whose ``organization`` decides, so the
API's per-action ``predicates`` (called with an organization) and the services (called
with the object) share them.
"""

from __future__ import annotations

from typing import Any

from staff.permissions import ADMINS, ALL_ROLES, SUPERVISORS, has_role


def _org(obj: Any) -> Any:
    # An Organization has no organization_id: it is its own scope.
    return getattr(obj, "organization_id", None) or obj


def can_view_payers(user: Any, obj: Any) -> bool:
    """Payers, plans, rules, contracts, fee schedules and notices: any member of the organization."""
    return has_role(user, _org(obj), ALL_ROLES)


def can_manage_payers(user: Any, obj: Any) -> bool:
    """Create and change payers, plans, rules, appeal levels, contracts and fee schedules."""
    return has_role(user, _org(obj), ADMINS)


def can_acknowledge_notice(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), ALL_ROLES)


def can_publish_notices(user: Any, obj: Any) -> bool:
    """Publish, correct and withdraw payer notices."""
    return has_role(user, _org(obj), SUPERVISORS)


def can_view_notice_report(user: Any, obj: Any) -> bool:
    """Who has and has not acknowledged each notice."""
    return has_role(user, _org(obj), SUPERVISORS)
