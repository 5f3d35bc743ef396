"""Who may do what: role predicates shared by pages, the API, services and templates.

Roles are per organization (a person can be a supervisor at one client and a
representative at another), so every predicate takes the organization, or an object
whose ``organization`` decides. Memberships are loaded once per user object.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from staff.models import Membership, Organization, Role

SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})
ALL_ROLES = frozenset(Role)

_CACHE_ATTR = "_pfs_memberships"


def memberships_of(user: Any) -> dict[int, Membership]:
    """Active memberships by organization id, cached on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = {m.organization_id: m for m in Membership.objects.for_user(user)}
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_memberships(user: Any) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def organization_of(obj: Any) -> Organization | None:
    if isinstance(obj, Organization):
        return obj
    return getattr(obj, "organization", None)


def role_in(user: Any, organization: Any) -> str | None:
    if organization is None:
        return None
    membership = memberships_of(user).get(getattr(organization, "pk", organization))
    return membership.role if membership else None


def has_role(user: Any, organization: Any, roles: frozenset) -> bool:
    return role_in(user, organization) in roles


def require(allowed: bool, message: str = "You do not have permission to do this.") -> None:
    """Raise ``PermissionDenied`` unless ``allowed``: the one way views and services refuse."""
    if not allowed:
        raise PermissionDenied(message)


# --- predicates -------------------------------------------------------------------------


def can_manage_organization(user: Any, organization: Organization) -> bool:
    return has_role(user, organization, ADMINS)


def can_create_organization(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False) and user.is_active)


def can_view_members(user: Any, organization: Organization) -> bool:
    return has_role(user, organization, SUPERVISORS)


def can_manage_members(user: Any, organization: Organization) -> bool:
    return has_role(user, organization, ADMINS)


def can_view_approval_limits(user: Any, organization: Organization) -> bool:
    return has_role(user, organization, SUPERVISORS)


def can_manage_approval_limits(user: Any, organization: Organization) -> bool:
    return has_role(user, organization, ADMINS)


def can_view_phi_access_log(user: Any, organization: Organization) -> bool:
    return has_role(user, organization, SUPERVISORS)


# Staff configuration objects' history is for supervisors and admins; history of domain
# records (accounts, claims, cases) is for anyone who may see the record.
_SUPERVISOR_ONLY_HISTORY = ("staff",)


def can_view_history(user: Any, obj: Any) -> bool:
    organization = organization_of(obj)
    if organization is None:
        return False
    if obj._meta.app_label in _SUPERVISOR_ONLY_HISTORY:
        return has_role(user, organization, SUPERVISORS)
    return has_role(user, organization, ALL_ROLES)


# --- DRF ---------------------------------------------------------------------------------


class IsOrganizationMember(BasePermission):
    """Default API permission: signed in, active member of at least one organization, and of the object's."""

    message = "You must be an active member of an organization to use the API."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(memberships_of(request.user))

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        organization = organization_of(obj)
        return organization is not None and role_in(request.user, organization) is not None
