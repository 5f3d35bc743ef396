"""Staff API: organizations, memberships, teams, approval limits and the PHI access log.

Every queryset starts from ``visible_to(request.user)``, so another organization's rows
are simply not there: its references answer 404 and its rows never appear in lists,
whatever the filters. What a member may do inside a visible organization is decided by
the predicates of ``staff.permissions``, named per action in ``predicates`` and checked
by ``OrganizationRolePermission``; the services check them again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from staff import services
from staff.api.base import (
    CONFLICT,
    FORBIDDEN,
    INVALID,
    NOT_FOUND,
    AccessTimePagination,
    StaffViewSet,
    organizations_where,
)
from staff.api.filters import (
    ApprovalLimitFilterSet,
    MembershipFilterSet,
    PhiAccessLogFilterSet,
    TeamFilterSet,
)
from staff.api.serializers import (
    ApprovalLimitSerializer,
    ApprovalLimitSetInputSerializer,
    MembershipChangeRoleInputSerializer,
    MembershipCreateInputSerializer,
    MembershipSerializer,
    MembershipSetActiveInputSerializer,
    MeSerializer,
    OrganizationSerializer,
    OrganizationUpdateInputSerializer,
    PhiAccessLogSerializer,
    TeamCreateInputSerializer,
    TeamSerializer,
)
from staff.models import ApprovalLimit, Membership, Organization, PhiAccessLog, Team
from staff.permissions import (
    can_manage_approval_limits,
    can_manage_members,
    can_manage_organization,
    can_view_approval_limits,
    can_view_phi_access_log,
    require,
)


@extend_schema_view(
    list=extend_schema(summary="Organizations you are an active member of"),
    retrieve=extend_schema(
        summary="One organization", responses={200: OrganizationSerializer, 404: NOT_FOUND}
    ),
)
class OrganizationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = OrganizationSerializer
    predicates = {"update_settings": can_manage_organization}

    def get_queryset(self) -> QuerySet[Organization]:
        return Organization.objects.visible_to(self.request.user)

    @extend_schema(
        operation_id="organizations_update_settings",
        summary="Change an organization's name or time zone (admins)",
        description=(
            "A POST action rather than PATCH so that `reason` is a required field of the request: it is kept "
            "in the row history and on the organization's timeline. Send `name`, `time_zone` or both; an "
            "omitted one keeps its value. Any other field (slug, kind, is_active) is refused with 400. "
            "There is no PUT, PATCH or DELETE; organizations are created by platform operators."
        ),
        request=OrganizationUpdateInputSerializer,
        responses={200: OrganizationSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="update-settings", url_name="update-settings")
    def update_settings(self, request: Request, reference: UUID) -> Response:
        organization = self.get_object()
        data = self.run_input(OrganizationUpdateInputSerializer, request.data)
        # The service sets both fields; an omitted one keeps the value read just above.
        organization = services.organization_update(
            organization=organization,
            name=data.get("name"),
            time_zone=data.get("time_zone"),
            by=request.user,
            reason=data["reason"],
        )
        return Response(OrganizationSerializer(organization).data)


@extend_schema_view(
    list=extend_schema(summary="Memberships: all of your supervised organizations, and your own elsewhere"),
    retrieve=extend_schema(summary="One membership", responses={200: MembershipSerializer, 404: NOT_FOUND}),
)
class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilterSet
    predicates = {
        "create": can_manage_members,
        "change_role": can_manage_members,
        "deactivate": can_manage_members,
        "reactivate": can_manage_members,
    }

    def get_queryset(self) -> QuerySet[Membership]:
        # The queryset knows the rule: supervisors and admins see their whole organization.
        return Membership.objects.visible_to(self.request.user).select_related("organization", "user", "team")

    @extend_schema(
        summary="Add a person to an organization (admins)",
        description="Creates the user when no account has this email (they get a set-password email).",
        request=MembershipCreateInputSerializer,
        responses={201: MembershipSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(MembershipCreateInputSerializer, request.data)
        organization = self.visible_organization(data["organization"])
        require(
            can_manage_members(request.user, organization),
            "Only an admin of this organization may add members.",
        )
        team = None
        if data["team"] is not None:
            team = (
                Team.objects.visible_to(request.user)
                .filter(organization=organization, reference=data["team"])
                .first()
            )
            if team is None:
                raise serializers.ValidationError(
                    {"team": ["No team with this reference in the organization."]}
                )
        membership = services.membership_add(
            organization=organization,
            email=data["email"],
            full_name=data["full_name"],
            role=data["role"],
            team=team,
            by=request.user,
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="memberships_change_role",
        summary="Change a member's role (admins)",
        description="Nobody changes their own role, and the organization's last admin keeps the role (409).",
        request=MembershipChangeRoleInputSerializer,
        responses={200: MembershipSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="change-role", url_name="change-role")
    def change_role(self, request: Request, reference: UUID) -> Response:
        membership = self.get_object()
        data = self.run_input(MembershipChangeRoleInputSerializer, request.data)
        membership = services.membership_change_role(
            membership=membership, role=data["role"], by=request.user, reason=data["reason"]
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        operation_id="memberships_deactivate",
        summary="Deactivate a membership (admins); the person loses access to the organization at once",
        request=MembershipSetActiveInputSerializer,
        responses={200: MembershipSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, reference: UUID) -> Response:
        return self._set_active(request, active=False)

    @extend_schema(
        operation_id="memberships_reactivate",
        summary="Reactivate a membership (admins)",
        request=MembershipSetActiveInputSerializer,
        responses={200: MembershipSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, reference: UUID) -> Response:
        return self._set_active(request, active=True)

    def _set_active(self, request: Request, *, active: bool) -> Response:
        membership = self.get_object()
        data = self.run_input(MembershipSetActiveInputSerializer, request.data)
        membership = services.membership_set_active(
            membership=membership, active=active, by=request.user, reason=data["reason"]
        )
        return Response(MembershipSerializer(membership).data)


@extend_schema_view(
    list=extend_schema(summary="Teams of your organizations"),
    retrieve=extend_schema(summary="One team", responses={200: TeamSerializer, 404: NOT_FOUND}),
)
class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    predicates = {"create": can_manage_members}

    def get_queryset(self) -> QuerySet[Team]:
        return Team.objects.visible_to(self.request.user).select_related("organization")

    @extend_schema(
        summary="Create a team (admins)",
        request=TeamCreateInputSerializer,
        responses={201: TeamSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(TeamCreateInputSerializer, request.data)
        organization = self.visible_organization(data["organization"])
        require(
            can_manage_members(request.user, organization),
            "Only an admin of this organization may create teams.",
        )
        team = services.team_create(
            organization=organization, name=data["name"], description=data["description"], by=request.user
        )
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Approval limits of the organizations you supervise"),
    retrieve=extend_schema(
        summary="One approval limit", responses={200: ApprovalLimitSerializer, 403: FORBIDDEN, 404: NOT_FOUND}
    ),
)
class ApprovalLimitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = ApprovalLimitSerializer
    filterset_class = ApprovalLimitFilterSet
    predicates = {
        "list": can_view_approval_limits,
        "retrieve": can_view_approval_limits,
        "set_limit": can_manage_approval_limits,
    }

    def get_queryset(self) -> QuerySet[ApprovalLimit]:
        user = self.request.user
        return (
            ApprovalLimit.objects.visible_to(user)
            .filter(organization_id__in=organizations_where(user, can_view_approval_limits))
            .select_related("organization")
        )

    @extend_schema(
        operation_id="approval_limits_set",
        summary="Set the limit of one role and kind (admins)",
        description="Creates the limit or replaces its amount. `max_amount` is a decimal string with at most "
        "two decimal places; the response returns it the same way.",
        request=ApprovalLimitSetInputSerializer,
        responses={200: ApprovalLimitSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="set",
        url_name="set",
        filterset_class=None,
        pagination_class=None,
    )
    def set_limit(self, request: Request) -> Response:
        data = self.run_input(ApprovalLimitSetInputSerializer, request.data)
        organization = self.visible_organization(data["organization"])
        require(
            can_manage_approval_limits(request.user, organization),
            "Only an admin of this organization may set limits.",
        )
        limit = services.approval_limit_set(
            organization=organization,
            role=data["role"],
            kind=data["kind"],
            max_amount=data["max_amount"],
            by=request.user,
            reason=data["reason"],
        )
        return Response(ApprovalLimitSerializer(limit).data)


@extend_schema_view(list=extend_schema(summary="Who looked at which patient record (supervisors and admins)"))
class PhiAccessLogViewSet(mixins.ListModelMixin, StaffViewSet):
    """Read-only: the log is append-only and written by the pages that show PHI."""

    serializer_class = PhiAccessLogSerializer
    filterset_class = PhiAccessLogFilterSet
    pagination_class = AccessTimePagination
    predicates = {"list": can_view_phi_access_log}

    def get_queryset(self) -> QuerySet[PhiAccessLog]:
        user = self.request.user
        return (
            PhiAccessLog.objects.visible_to(user)
            .filter(organization_id__in=organizations_where(user, can_view_phi_access_log))
            .select_related("organization", "user")
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "subject_references": subject_references(page)}
        return self.get_paginated_response(PhiAccessLogSerializer(page, many=True, context=context).data)


def subject_references(entries: Iterable[PhiAccessLog]) -> dict[tuple[int, int], Any]:
    """``{(content_type_id, subject_id): reference}`` with one query per subject type on the page.

    Subjects are read by primary key without ``visible_to``: the log rows were already
    scoped to organizations the caller supervises, and only the UUID leaves this function.
    """
    wanted: dict[int, set[int]] = defaultdict(set)
    for entry in entries:
        wanted[entry.subject_type_id].add(entry.subject_id)
    found: dict[tuple[int, int], Any] = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None or not any(f.name == "reference" for f in model._meta.get_fields()):
            continue
        for pk, reference in model._default_manager.filter(pk__in=ids).values_list("pk", "reference"):
            found[(type_id, pk)] = reference
    return found


class MeView(APIView):
    """The caller: who they are, and their role in each organization they are an active member of."""

    # A signed-in user with no active membership may still ask who they are.
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="The caller and their memberships", responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
