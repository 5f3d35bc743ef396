"""Who may read and work cases, override the disclosure guard, work referrals and review quality.

Everyone in an organization may read its cases (posting specialists look up what a
caller was told). Cases are worked — opened, contacts logged, callers verified,
pended, resolved, transferred — by representatives, the appeals & grievances
coordinator, supervisors and admins. Disclosing account details to a caller who did
not pass verification is an exception: only senior representatives and supervisors
may make it, and it is logged.
"""

from __future__ import annotations

from typing import Any

from staff.models import Role
from staff.permissions import ADMINS, ALL_ROLES, SUPERVISORS, has_role

CASE_WORKERS = frozenset(
    {
        Role.REPRESENTATIVE,
        Role.SENIOR_REPRESENTATIVE,
        Role.APPEALS_COORDINATOR,
        Role.SUPERVISOR,
        Role.ADMIN,
    }
)
OVERRIDERS = frozenset({Role.SENIOR_REPRESENTATIVE, Role.SUPERVISOR, Role.ADMIN})
REFERRAL_WORKERS = frozenset({Role.APPEALS_COORDINATOR, Role.SUPERVISOR, Role.ADMIN})


def _org(obj: Any) -> Any:
    return getattr(obj, "organization_id", None) or obj


def can_view_cases(user: Any, obj: Any) -> bool:
    """Cases, contacts, verifications, investigations, departments, scripts: any member."""
    return has_role(user, _org(obj), ALL_ROLES)


def can_work_cases(user: Any, obj: Any) -> bool:
    """Open cases, log contacts, verify callers, pend, resolve, close, transfer, escalate, refer,
    investigate benefits and send their results."""
    return has_role(user, _org(obj), CASE_WORKERS)


def can_reopen_closed_cases(user: Any, obj: Any) -> bool:
    """A resolved case is reopened by any case worker; a closed one only by a supervisor."""
    return has_role(user, _org(obj), SUPERVISORS)


def can_override_disclosure(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), OVERRIDERS)


def can_work_referrals(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), REFERRAL_WORKERS)


def can_manage_case_settings(user: Any, obj: Any) -> bool:
    """Departments, scripts, service levels, the verification policy and scorecards."""
    return has_role(user, _org(obj), ADMINS)


def can_review_quality(user: Any, obj: Any) -> bool:
    """Score interactions and read every review and average of the organization."""
    return has_role(user, _org(obj), SUPERVISORS)
