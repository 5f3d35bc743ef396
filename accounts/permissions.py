"""Who may read and change patients, accounts and the ledger.

Everyone in an organization works accounts (reps, posting, appeals, supervisors, admins);
money movements are narrower: charges come from posting and billing, reversals from
posting specialists and supervisors, and adjustments from anyone who works balances,
within the approval limit of their role.
"""

from __future__ import annotations

from typing import Any

from staff.models import Role
from staff.permissions import ALL_ROLES, SUPERVISORS, has_role

ACCOUNT_WORKERS = frozenset(
    {Role.REPRESENTATIVE, Role.SENIOR_REPRESENTATIVE, Role.POSTING_SPECIALIST, Role.SUPERVISOR, Role.ADMIN}
)
POSTERS = frozenset({Role.POSTING_SPECIALIST, Role.SUPERVISOR, Role.ADMIN})
STATUS_CHANGERS = frozenset({Role.SENIOR_REPRESENTATIVE, Role.SUPERVISOR, Role.ADMIN})


def _org(obj: Any) -> Any:
    return getattr(obj, "organization_id", None) or obj


def can_view_account(user: Any, obj: Any) -> bool:
    """Patients, accounts, coverages, contacts, charges, ledger: any member of the organization."""
    return has_role(user, _org(obj), ALL_ROLES)


def can_edit_patient(user: Any, obj: Any) -> bool:
    """Demographics, coverages, verifications and authorized contacts."""
    return has_role(user, _org(obj), ACCOUNT_WORKERS)


def can_create_account(user: Any, organization: Any) -> bool:
    return has_role(user, organization, POSTERS)


def can_post_charges(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), POSTERS)


def can_adjust_balance(user: Any, obj: Any) -> bool:
    """Adjustments, write-offs and transfers between buckets (limits apply to amounts)."""
    return has_role(user, _org(obj), ACCOUNT_WORKERS)


def can_approve_adjustments(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), SUPERVISORS)


def can_reverse_entries(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), POSTERS)


def can_change_account_status(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), STATUS_CHANGERS)


def can_override_edits(user: Any, obj: Any) -> bool:
    return has_role(user, _org(obj), POSTERS | {Role.SENIOR_REPRESENTATIVE})


def can_import_accounts(user: Any, organization: Any) -> bool:
    return has_role(user, organization, POSTERS)
