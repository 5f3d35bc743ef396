"""The base every app's API viewsets share: UUID lookups, per-action role predicates,
cursor pagination and the audit actor. Apps above ``staff`` import it from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import viewsets
from rest_framework.request import Request

from core.api import StableCursorPagination
from core.audit import set_actor
from staff.models import Organization
from staff.permissions import IsOrganizationMember, memberships_of, organization_of

Predicate = Callable[[Any, Organization], bool]

NOT_FOUND = OpenApiResponse(description="No such object among the organizations you are an active member of.")
FORBIDDEN = OpenApiResponse(description="Your role in the organization does not allow this.")
INVALID = OpenApiResponse(description="The input is invalid; the body names the field.")
CONFLICT = OpenApiResponse(
    description="A business rule refused the change (error.code and error.field say why)."
)


def organizations_where(user: Any, predicate: Predicate) -> list[int]:
    """Ids of the caller's organizations in which ``predicate`` holds."""
    return [org_id for org_id, m in memberships_of(user).items() if predicate(user, m.organization)]


class OrganizationRolePermission(IsOrganizationMember):
    """``IsOrganizationMember`` plus the predicate the view names for the current action.

    Before the object is known (lists, collection actions) the caller must satisfy the
    predicate in at least one of their organizations, so a representative is refused
    with 403 without learning whether a reference exists. Once the object is loaded —
    from a queryset that already hides other organizations — the predicate must hold in
    the object's organization.
    """

    message = "Your role in the organization does not allow this."

    def _predicate(self, view: Any) -> Predicate | None:
        return getattr(view, "predicates", {}).get(view.action)

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            self.message = IsOrganizationMember.message
            return False
        predicate = self._predicate(view)
        return predicate is None or bool(organizations_where(request.user, predicate))

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if not super().has_object_permission(request, view, obj):
            return False
        predicate = self._predicate(view)
        return predicate is None or predicate(request.user, organization_of(obj))


class NewestFirstPagination(StableCursorPagination):
    """Cursor pagination on ``created_at``, newest first.

    A cursor encodes the value of the first ordering field. On the default ``-id`` that is
    an integer primary key, readable by anyone who base64-decodes the ``next`` link and a
    hint at how many rows all organizations hold; a timestamp tells nothing. Ties on the
    timestamp are resolved by DRF with an offset; ``reference`` only fixes the row order.
    """

    ordering = ("-created_at", "-reference")


class AccessTimePagination(StableCursorPagination):
    """The PHI access log, newest access first; served by the (organization, -accessed_at) index."""

    ordering = ("-accessed_at", "-id")


class StaffViewSet(viewsets.GenericViewSet):
    """Base of every staff viewset: UUID lookups, the role permission, the audit actor."""

    lookup_field = "reference"
    lookup_value_converter = "uuid"  # with SimpleRouter(use_regex_path=False): "<uuid:reference>"
    permission_classes = [OrganizationRolePermission]
    pagination_class = NewestFirstPagination
    predicates: dict[str, Predicate] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # AuditContextMiddleware captured the user before DRF authenticated the request,
        # which is anonymous for token clients; whatever reads the audit context (history
        # rows written without an explicit actor, logs) must see the real one.
        set_actor(request.user)

    def visible_organization(self, reference: UUID) -> Organization:
        """The organization a collection write targets; 404 unless the caller is an active member."""
        return get_object_or_404(Organization.objects.visible_to(self.request.user), reference=reference)

    def run_input(self, serializer_class: type, data: Any) -> dict:
        serializer = serializer_class(data=data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
