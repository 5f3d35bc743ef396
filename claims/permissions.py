"""Who may read and change claims, remittances, denials, deposits and audits.

Everyone in an organization reads claims and remittances (representatives explain EOBs);
posting and the work that follows it (exceptions, variances, deposits) belong to posting
specialists, supervisors and admins; denials are also worked by the appeals coordinator.
"""

from __future__ import annotations

from typing import Any

from staff.models import Role
from staff.permissions import ALL_ROLES, SUPERVISORS, has_role

POSTERS = frozenset({Role.POSTING_SPECIALIST, Role.SUPERVISOR, Role.ADMIN})
DENIAL_WORKERS = POSTERS | {Role.APPEALS_COORDINATOR, Role.SENIOR_REPRESENTATIVE}
CLAIM_WORKERS = POSTERS | {Role.SENIOR_REPRESENTATIVE}


def _org(obj: Any) -> Any:
    return getattr(obj, "organization_id", None) or obj


def can_view_claims(user: Any, obj: Any) -> bool:
    """Claims, remittances, denials, variances: any member of the organization."""
    return has_role(user, _org(obj), ALL_ROLES)


def can_manage_claims(user: Any, obj: Any) -> bool:
    """Create claims from charges, import 837s, change a claim's status, add notes."""
    return has_role(user, _org(obj), CLAIM_WORKERS)


def can_note_claims(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), ALL_ROLES)


def can_post_remittances(user: Any, obj: Any) -> bool:
    """Import 835s, enter paper EOBs, work posting exceptions and variances."""
    return has_role(user, _org(obj), POSTERS)


def can_work_denials(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), DENIAL_WORKERS)


def can_reconcile_deposits(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), POSTERS)


def can_manage_audits(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), POSTERS)


def can_load_code_descriptions(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), SUPERVISORS)
