"""The permission funnel's read side: ``visible_to(user)`` on every organization-owned model.

Later apps subclass ``OrganizationScopedQuerySet`` for their own models so that lists
everywhere (pages, API, exports) come from one definition of "what may this user see".
"""

from __future__ import annotations

from typing import Any

from django.db import models


def _active_org_ids(user: Any) -> list[int]:
    # The memberships loaded once per request by the permission predicates. A literal
    # list (not a subquery) lets PostgreSQL use its per-organization statistics: rows are
    # very unevenly spread over client organizations, and a misestimate picks bad plans.
    from staff.permissions import memberships_of

    return list(memberships_of(user))


class OrganizationScopedQuerySet(models.QuerySet):
    """Rows of organizations the user is an active member of; nothing for anyone else."""

    organization_field = "organization"

    def visible_to(self, user: Any) -> models.QuerySet:
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(**{f"{self.organization_field}__in": _active_org_ids(user)})

    def in_organization(self, organization: Any) -> models.QuerySet:
        return self.filter(**{self.organization_field: organization})


class OrganizationQuerySet(OrganizationScopedQuerySet):
    organization_field = "pk"

    def active(self) -> models.QuerySet:
        return self.filter(is_active=True)


class MembershipQuerySet(OrganizationScopedQuerySet):
    def visible_to(self, user: Any) -> models.QuerySet:
        """Supervisors and admins see every membership of their organization (inactive ones
        too, so they can be reactivated); everyone else sees only their own memberships."""
        from staff.permissions import SUPERVISORS

        scoped = super().visible_to(user)
        if not getattr(user, "is_authenticated", False):
            return scoped
        supervised = self.model.objects.filter(
            user_id=user.pk, is_active=True, organization__is_active=True, role__in=SUPERVISORS
        ).values("organization_id")
        return scoped.filter(models.Q(organization_id__in=supervised) | models.Q(user_id=user.pk))

    def active(self) -> models.QuerySet:
        return self.filter(is_active=True, organization__is_active=True, user__is_active=True)

    def for_user(self, user: Any) -> models.QuerySet:
        return self.active().filter(user_id=user.pk).select_related("organization", "team")
