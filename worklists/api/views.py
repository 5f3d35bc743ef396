"""Worklists API: work items (list, get next, complete, snooze, release, reassign), queues with
their members, and running the rules refresh on demand.

Querysets start from ``visible_to(request.user)``: another organization's items and
queues answer 404 and never appear in lists. Who may act is decided again by
``worklists.services`` inside its transaction (an item someone else is working answers
403). Work item titles can carry an account or claim number, so lists and reads write
the PHI access log for subjects that hold patient data, as the pages do.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import InvalidInput
from staff.api.base import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, StaffViewSet
from staff.models import User
from staff.permissions import require
from staff.phi import phi_access_record, phi_access_record_many
from worklists import services, tasks
from worklists.api.filters import QueueFilterSet, WorkItemFilterSet
from worklists.api.serializers import (
    CompleteInputSerializer,
    GetNextInputSerializer,
    QueueMemberSerializer,
    QueueSerializer,
    ReassignInputSerializer,
    RefreshInputSerializer,
    ReleaseInputSerializer,
    SnoozeInputSerializer,
    WorkItemSerializer,
)
from worklists.models import Queue, QueueMember, WorkItem
from worklists.permissions import can_manage_queues, can_refresh_work

NOTHING = OpenApiResponse(description="Nothing is available to you in the queues you work.")


def _phi_subjects(items: list[WorkItem]) -> list[Any]:
    subjects = []
    for item in items:
        subject = item.subject
        if subject is not None and getattr(subject, "contains_phi", False):
            subjects.append(subject)
    return subjects


@extend_schema_view(
    list=extend_schema(
        summary="Work items of your organizations",
        description="Filter with `queue`, `status`, `kind`, `mine` and `live`. Newest first.",
    ),
    retrieve=extend_schema(summary="One work item", responses={200: WorkItemSerializer, 404: NOT_FOUND}),
)
class WorkItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = WorkItemSerializer
    filterset_class = WorkItemFilterSet
    predicates = {"reassign": can_manage_queues}

    def get_queryset(self) -> QuerySet[WorkItem]:
        return (
            WorkItem.objects.visible_to(self.request.user)
            .select_related("organization", "queue", "assignee", "done_by", "subject_type")
            .prefetch_related("subject")
        )

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        subjects = _phi_subjects(page or [])
        if subjects:
            phi_access_record_many(request=self.request, subjects=subjects)
        return page

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        for subject in _phi_subjects([item]):
            phi_access_record(request=request, subject=subject, organization=item.organization)
        return Response(WorkItemSerializer(item).data)

    def _respond(self, item: WorkItem) -> Response:
        fresh = self.get_queryset().get(pk=item.pk)
        for subject in _phi_subjects([fresh]):
            phi_access_record(request=self.request, subject=subject, organization=fresh.organization)
        return Response(WorkItemSerializer(fresh).data)

    @extend_schema(
        operation_id="work_items_next",
        summary="Get next: take the highest-priority item you may work",
        description="The item becomes in progress and yours. Two callers never get the same item. "
        "204 when nothing is available; 409 when you are at the cap of every queue you work.",
        request=GetNextInputSerializer,
        responses={
            200: WorkItemSerializer,
            204: NOTHING,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=False, methods=["post"])
    def next(self, request: Request) -> Response:
        data = self.run_input(GetNextInputSerializer, request.data)
        organization = self.visible_organization(data["organization"])
        queue = None
        if data.get("queue"):
            queue = get_object_or_404(Queue.objects.in_organization(organization), reference=data["queue"])
        item = services.work_item_get_next(user=request.user, organization=organization, queue=queue)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return self._respond(item)

    @extend_schema(
        operation_id="work_items_complete",
        summary="Complete an item with its outcome",
        description="The outcome and note are written on the timeline of the item's subject.",
        request=CompleteInputSerializer,
        responses={200: WorkItemSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, reference: UUID) -> Response:
        item = self.get_object()
        data = self.run_input(CompleteInputSerializer, request.data)
        services.work_item_complete(item=item, outcome=data["outcome"], note=data["note"], by=request.user)
        return self._respond(item)

    @extend_schema(
        operation_id="work_items_snooze",
        summary="Set an item aside until a time; it then returns to its queue",
        request=SnoozeInputSerializer,
        responses={200: WorkItemSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, reference: UUID) -> Response:
        item = self.get_object()
        data = self.run_input(SnoozeInputSerializer, request.data)
        services.work_item_snooze(item=item, until=data["until"], reason=data["reason"], by=request.user)
        return self._respond(item)

    @extend_schema(
        operation_id="work_items_release",
        summary="Give an item back to its queue",
        request=ReleaseInputSerializer,
        responses={200: WorkItemSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def release(self, request: Request, reference: UUID) -> Response:
        item = self.get_object()
        data = self.run_input(ReleaseInputSerializer, request.data)
        services.work_item_release(item=item, by=request.user, reason=data["reason"])
        return self._respond(item)

    @extend_schema(
        operation_id="work_items_reassign",
        summary="Give an item to a person who works its queue, or back to the queue (supervisors)",
        request=ReassignInputSerializer,
        responses={200: WorkItemSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, reference: UUID) -> Response:
        item = self.get_object()
        data = self.run_input(ReassignInputSerializer, request.data)
        assignee = None
        if data["assignee"] is not None:
            assignee = User.objects.filter(reference=data["assignee"], is_active=True).first()
            if assignee is None:
                raise InvalidInput("assignee: no such person", field="assignee")
        services.work_item_reassign(item=item, assignee=assignee, by=request.user, reason=data["reason"])
        return self._respond(item)


@extend_schema_view(
    list=extend_schema(summary="Work queues of your organizations"),
    retrieve=extend_schema(summary="One work queue", responses={200: QueueSerializer, 404: NOT_FOUND}),
)
class QueueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = QueueSerializer
    filterset_class = QueueFilterSet
    predicates = {"members": can_manage_queues, "refresh": can_refresh_work}

    def get_queryset(self) -> QuerySet[Queue]:
        return Queue.objects.visible_to(self.request.user).select_related("organization")

    @extend_schema(
        operation_id="queues_members",
        summary="Who works a queue, with their skills (supervisors)",
        responses={200: QueueMemberSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
    def members(self, request: Request, reference: UUID) -> Response:
        queue = self.get_object()
        members = (
            QueueMember.objects.filter(queue=queue)
            .select_related("queue", "user")
            .order_by("user__full_name", "user__email")
        )
        return Response(QueueMemberSerializer(members, many=True).data)

    @extend_schema(
        operation_id="queues_refresh",
        summary="Run the follow-up rules for an organization now (supervisors)",
        description="Queued: items are created, updated and closed in the background within a minute or two.",
        request=RefreshInputSerializer,
        responses={202: OpenApiResponse(description="Queued."), 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=False, methods=["post"])
    def refresh(self, request: Request) -> Response:
        data = self.run_input(RefreshInputSerializer, request.data)
        organization = self.visible_organization(data["organization"])
        require(can_refresh_work(request.user, organization), "Only supervisors refresh the work items.")
        tasks.refresh_work_items.delay(organization.pk)
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)
