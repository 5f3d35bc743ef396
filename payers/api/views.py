"""Payers API: payers, plans, payer rules, contracts, fee schedule entries and payer notices.

Every member reads their organizations' payer master; admins create and change it;
supervisors and admins publish notices, which everyone acknowledges. Querysets start from
``visible_to(request.user)``, so another organization's references answer 404; the
per-action ``predicates`` refuse a role with 403, and the services check again.
Changes are POST actions with a required ``reason``, kept in the row history and on the
payer's timeline.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from payers import services
from payers.api.filters import (
    ContractFilterSet,
    FeeScheduleEntryFilterSet,
    PayerFilterSet,
    PayerNoticeFilterSet,
    PayerRuleFilterSet,
    PlanFilterSet,
)
from payers.api.serializers import (
    ContractCreateInputSerializer,
    ContractSerializer,
    FeeScheduleEntryCreateInputSerializer,
    FeeScheduleEntrySerializer,
    PayerCreateInputSerializer,
    PayerNoticeCreateInputSerializer,
    PayerNoticeSerializer,
    PayerRuleCreateInputSerializer,
    PayerRuleSerializer,
    PayerSerializer,
    PayerUpdateInputSerializer,
    PlanCreateInputSerializer,
    PlanSerializer,
    PlanUpdateInputSerializer,
    SetActiveInputSerializer,
)
from payers.models import AppealLevel, Contract, FeeScheduleEntry, Payer, PayerNotice, PayerRule, Plan
from payers.permissions import can_manage_payers, can_publish_notices
from staff.api.base import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, StaffViewSet
from staff.permissions import require

_CHANGE = {200: None, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}
_CREATE = {201: None, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}


def _responses(template: dict, serializer: type) -> dict:
    return {code: serializer if value is None else value for code, value in template.items()}


def _related(queryset: QuerySet, reference: UUID, field: str) -> Any:
    """A row the caller may see, or a 400 naming ``field`` (it is a reference in the body, not the URL)."""
    obj = queryset.filter(reference=reference).first()
    if obj is None:
        raise serializers.ValidationError({field: ["No such object among your organizations."]})
    return obj


class _ActivationMixin:
    """``deactivate`` / ``reactivate`` actions calling ``set_active_service(obj, active, reason, by)``."""

    def _set_active(self, request: Request, *, active: bool) -> Response:
        obj = self.get_object()  # type: ignore[attr-defined]
        data = self.run_input(SetActiveInputSerializer, request.data)  # type: ignore[attr-defined]
        obj = self.set_active_service(obj, active=active, reason=data["reason"], by=request.user)
        return Response(self.get_serializer(obj).data)  # type: ignore[attr-defined]


# --- payers ------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Payers of your organizations"),
    retrieve=extend_schema(summary="One payer", responses={200: PayerSerializer, 404: NOT_FOUND}),
)
class PayerViewSet(_ActivationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = PayerSerializer
    filterset_class = PayerFilterSet
    predicates = {
        "create": can_manage_payers,
        "update_details": can_manage_payers,
        "deactivate": can_manage_payers,
        "reactivate": can_manage_payers,
    }

    def get_queryset(self) -> QuerySet[Payer]:
        return Payer.objects.visible_to(self.request.user).select_related("organization")

    def set_active_service(self, payer: Payer, **kwargs: Any) -> Payer:
        return services.payer_set_active(payer=payer, **kwargs)

    @extend_schema(
        summary="Add a payer (admins)",
        request=PayerCreateInputSerializer,
        responses=_responses(_CREATE, PayerSerializer),
    )
    def create(self, request: Request) -> Response:
        data = dict(self.run_input(PayerCreateInputSerializer, request.data))
        organization = self.visible_organization(data.pop("organization"))
        require(
            can_manage_payers(request.user, organization),
            "Only an admin of this organization may add payers.",
        )
        payer = services.payer_create(organization=organization, by=request.user, **data)
        return Response(PayerSerializer(payer).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="payers_update",
        summary="Change a payer's details (admins)",
        description="Send the fields to change and a `reason`; omitted fields keep their value. A POST "
        "action rather than PATCH so that the reason is a required part of every change.",
        request=PayerUpdateInputSerializer,
        responses=_responses(_CHANGE, PayerSerializer),
    )
    @action(detail=True, methods=["post"], url_path="update", url_name="update")
    def update_details(self, request: Request, reference: UUID) -> Response:
        payer = self.get_object()
        data = dict(self.run_input(PayerUpdateInputSerializer, request.data))
        reason = data.pop("reason")
        payer = services.payer_update(payer=payer, changes=data, reason=reason, by=request.user)
        return Response(PayerSerializer(payer).data)

    @extend_schema(
        operation_id="payers_deactivate",
        summary="Deactivate a payer (admins); coverages and claims that name it keep it",
        request=SetActiveInputSerializer,
        responses=_responses(_CHANGE, PayerSerializer),
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, reference: UUID) -> Response:
        return self._set_active(request, active=False)

    @extend_schema(
        operation_id="payers_reactivate",
        summary="Reactivate a payer (admins)",
        request=SetActiveInputSerializer,
        responses=_responses(_CHANGE, PayerSerializer),
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, reference: UUID) -> Response:
        return self._set_active(request, active=True)


# --- plans --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Plans of your organizations' payers"),
    retrieve=extend_schema(summary="One plan", responses={200: PlanSerializer, 404: NOT_FOUND}),
)
class PlanViewSet(_ActivationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = PlanSerializer
    filterset_class = PlanFilterSet
    predicates = {
        "create": can_manage_payers,
        "update_details": can_manage_payers,
        "deactivate": can_manage_payers,
        "reactivate": can_manage_payers,
    }

    def get_queryset(self) -> QuerySet[Plan]:
        return Plan.objects.visible_to(self.request.user).select_related("organization", "payer")

    def set_active_service(self, plan: Plan, **kwargs: Any) -> Plan:
        return services.plan_set_active(plan=plan, **kwargs)

    @extend_schema(
        summary="Add a plan to a payer (admins)",
        request=PlanCreateInputSerializer,
        responses=_responses(_CREATE, PlanSerializer),
    )
    def create(self, request: Request) -> Response:
        data = dict(self.run_input(PlanCreateInputSerializer, request.data))
        payer = get_object_or_404(Payer.objects.visible_to(request.user), reference=data.pop("payer"))
        require(can_manage_payers(request.user, payer), "Only an admin of this organization may add plans.")
        plan = services.plan_create(payer=payer, by=request.user, **data)
        return Response(PlanSerializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="plans_update",
        summary="Change a plan (admins)",
        description="Send the fields to change and a `reason`; omitted fields keep their value.",
        request=PlanUpdateInputSerializer,
        responses=_responses(_CHANGE, PlanSerializer),
    )
    @action(detail=True, methods=["post"], url_path="update", url_name="update")
    def update_details(self, request: Request, reference: UUID) -> Response:
        plan = self.get_object()
        data = dict(self.run_input(PlanUpdateInputSerializer, request.data))
        reason = data.pop("reason")
        plan = services.plan_update(plan=plan, changes=data, reason=reason, by=request.user)
        return Response(PlanSerializer(plan).data)

    @extend_schema(
        operation_id="plans_deactivate",
        summary="Deactivate a plan (admins)",
        request=SetActiveInputSerializer,
        responses=_responses(_CHANGE, PlanSerializer),
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, reference: UUID) -> Response:
        return self._set_active(request, active=False)

    @extend_schema(
        operation_id="plans_reactivate",
        summary="Reactivate a plan (admins)",
        request=SetActiveInputSerializer,
        responses=_responses(_CHANGE, PlanSerializer),
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, reference: UUID) -> Response:
        return self._set_active(request, active=True)


# --- payer rules ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Payer rules (timely filing, appeal levels…) of your organizations"),
    retrieve=extend_schema(summary="One payer rule", responses={200: PayerRuleSerializer, 404: NOT_FOUND}),
)
class PayerRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = PayerRuleSerializer
    filterset_class = PayerRuleFilterSet
    predicates = {"create": can_manage_payers}

    def get_queryset(self) -> QuerySet[PayerRule]:
        return (
            PayerRule.objects.visible_to(self.request.user)
            .select_related("organization", "payer")
            .prefetch_related(Prefetch("appeal_levels", AppealLevel.objects.order_by("level")))
        )

    @extend_schema(
        summary="Add a payer's rules from a date, with their appeal levels (admins)",
        description="Rules of one payer never overlap: overlapping dates are refused with 409 unless "
        "`end_previous` ends the rule in force on `effective_from` the day before.",
        request=PayerRuleCreateInputSerializer,
        responses=_responses(_CREATE, PayerRuleSerializer),
    )
    def create(self, request: Request) -> Response:
        data = dict(self.run_input(PayerRuleCreateInputSerializer, request.data))
        payer = get_object_or_404(Payer.objects.visible_to(request.user), reference=data.pop("payer"))
        require(
            can_manage_payers(request.user, payer),
            "Only an admin of this organization may change payer rules.",
        )
        rule = services.payer_rule_create(payer=payer, by=request.user, **data)
        return Response(PayerRuleSerializer(self.get_queryset().get(pk=rule.pk)).data, status=201)


# --- contracts and fee schedules --------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Contracts of your organizations' payers"),
    retrieve=extend_schema(summary="One contract", responses={200: ContractSerializer, 404: NOT_FOUND}),
)
class ContractViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = ContractSerializer
    filterset_class = ContractFilterSet
    predicates = {"create": can_manage_payers}

    def get_queryset(self) -> QuerySet[Contract]:
        return Contract.objects.visible_to(self.request.user).select_related("organization", "payer", "plan")

    @extend_schema(
        summary="Add a contract with a payer or one of its plans (admins)",
        request=ContractCreateInputSerializer,
        responses=_responses(_CREATE, ContractSerializer),
    )
    def create(self, request: Request) -> Response:
        data = dict(self.run_input(ContractCreateInputSerializer, request.data))
        payer = get_object_or_404(Payer.objects.visible_to(request.user), reference=data.pop("payer"))
        require(
            can_manage_payers(request.user, payer), "Only an admin of this organization may add contracts."
        )
        plan_reference = data.pop("plan")
        plan = None
        if plan_reference is not None:
            plan = _related(Plan.objects.filter(payer=payer), plan_reference, "plan")
        contract = services.contract_create(payer=payer, plan=plan, by=request.user, **data)
        return Response(ContractSerializer(contract).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Fee schedule entries of your organizations' contracts"),
    retrieve=extend_schema(
        summary="One fee schedule entry", responses={200: FeeScheduleEntrySerializer, 404: NOT_FOUND}
    ),
)
class FeeScheduleEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = FeeScheduleEntrySerializer
    filterset_class = FeeScheduleEntryFilterSet
    predicates = {"create": can_manage_payers}

    def get_queryset(self) -> QuerySet[FeeScheduleEntry]:
        return FeeScheduleEntry.objects.visible_to(self.request.user).select_related(
            "organization", "contract"
        )

    @extend_schema(
        summary="Price a code (+ modifier) under a contract from a date (admins)",
        description="Prices of one code and modifier never overlap: overlapping dates are refused with 409 "
        "unless `end_previous` ends the price in force on `effective_from` the day before. Whole fee "
        "schedules are imported as CSV on the contract's page.",
        request=FeeScheduleEntryCreateInputSerializer,
        responses=_responses(_CREATE, FeeScheduleEntrySerializer),
    )
    def create(self, request: Request) -> Response:
        data = dict(self.run_input(FeeScheduleEntryCreateInputSerializer, request.data))
        contract = get_object_or_404(
            Contract.objects.visible_to(request.user), reference=data.pop("contract")
        )
        require(
            can_manage_payers(request.user, contract),
            "Only an admin of this organization may change fee schedules.",
        )
        entry = services.fee_schedule_entry_create(contract=contract, by=request.user, **data)
        return Response(FeeScheduleEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


# --- notices -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Payer notices of your organizations, with whether you acknowledged each"),
    retrieve=extend_schema(
        summary="One payer notice", responses={200: PayerNoticeSerializer, 404: NOT_FOUND}
    ),
)
class PayerNoticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = PayerNoticeSerializer
    filterset_class = PayerNoticeFilterSet
    predicates = {"create": can_publish_notices}

    def get_queryset(self) -> QuerySet[PayerNotice]:
        user = self.request.user
        return (
            PayerNotice.objects.visible_to(user)
            .with_acknowledgement(user)
            .select_related("organization", "published_by")
            .prefetch_related("payers", "plans")
        )

    @extend_schema(
        summary="Publish a payer notice (supervisors and admins)",
        request=PayerNoticeCreateInputSerializer,
        responses=_responses(_CREATE, PayerNoticeSerializer),
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(PayerNoticeCreateInputSerializer, request.data)
        organization = self.visible_organization(data["organization"])
        require(
            can_publish_notices(request.user, organization),
            "Only supervisors and admins may publish payer notices.",
        )
        payers = [
            _related(Payer.objects.in_organization(organization), reference, "payers")
            for reference in data["payers"]
        ]
        plans = [
            _related(Plan.objects.in_organization(organization), reference, "plans")
            for reference in data["plans"]
        ]
        notice = services.notice_publish(
            organization=organization,
            title=data["title"],
            body=data["body"],
            effective_date=data["effective_date"],
            payers=payers,
            plans=plans,
            by=request.user,
        )
        notice = self.get_queryset().get(pk=notice.pk)
        return Response(PayerNoticeSerializer(notice).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="payer_notices_acknowledge",
        summary="Acknowledge that you read a notice",
        description="Idempotent: acknowledging again changes nothing and answers with the first "
        "acknowledgement's time. A withdrawn notice answers 409.",
        request=None,
        responses={200: PayerNoticeSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, reference: UUID) -> Response:
        notice = self.get_object()
        services.notice_acknowledge(notice=notice, by=request.user)
        return Response(PayerNoticeSerializer(self.get_queryset().get(pk=notice.pk)).data)
