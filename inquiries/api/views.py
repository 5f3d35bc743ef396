"""Inquiries API: cases (list, read with the disclosure guard, open, and one action per transition),
interactions, caller verifications and benefit investigations with estimates.

Every queryset starts from ``visible_to(request.user)``: another organization's rows are
404 in URLs and "does not exist" in bodies. Role predicates of ``inquiries.permissions``
are named per action and checked by ``OrganizationRolePermission``; the services check
them again inside their transaction.

Privacy: a case's balances, ledger and claims are in the case detail only, and only
when ``disclosure_for`` allows them (absent otherwise, with the reasons). Reading a case,
an interaction, a verification or an investigation writes the PHI access log for the
case's account (or patient); lists log one row per patient on the page.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import InvalidInput
from inquiries import selectors
from inquiries.api.serializers import (
    BenefitEstimateInputSerializer,
    BenefitEstimateSerializer,
    BenefitInvestigationCreateInputSerializer,
    BenefitInvestigationSerializer,
    CaseCreateInputSerializer,
    CaseDetailSerializer,
    CaseOverrideInputSerializer,
    CasePendInputSerializer,
    CaseReasonInputSerializer,
    CaseReferInputSerializer,
    CaseResolveInputSerializer,
    CaseSerializer,
    CaseTransferInputSerializer,
    InteractionCreateInputSerializer,
    InteractionSerializer,
    ReferralSerializer,
    VerificationCreateInputSerializer,
    VerificationSerializer,
)
from inquiries.models import (
    OPEN_STATUSES,
    BenefitEstimate,
    BenefitInvestigation,
    Case,
    CaseStatus,
    Category,
    Interaction,
    Priority,
    Verification,
)
from inquiries.permissions import can_override_disclosure, can_work_cases
from inquiries.services import benefits as benefit_services
from inquiries.services import cases as services
from inquiries.services.disclosure import caller_verify, disclosure_override
from staff.api.base import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, StaffViewSet
from staff.api.filters import OrganizationReferenceFilterSet
from staff.phi import phi_access_record, phi_access_record_many


def _record_case_read(request: Request, case: Case) -> None:
    subject = case.account if case.account_id else case.patient
    if subject is not None:
        phi_access_record(request=request, subject=subject, organization=case.organization)


class LogsListedPatients:
    """Writes the PHI access log for the patients of the cases a list page returns."""

    def case_of(self, row: Any) -> Case:
        return row

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)  # type: ignore[misc]
        if self.action == "list" and page:  # type: ignore[attr-defined]
            patients = [self.case_of(row).patient for row in page if self.case_of(row).patient_id]
            if patients:
                phi_access_record_many(request=self.request, subjects=patients)  # type: ignore[attr-defined]
        return page


# --- cases -----------------------------------------------------------------------------------------------


class CaseFilterSet(OrganizationReferenceFilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    category = django_filters.ChoiceFilter(choices=Category.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    open = django_filters.BooleanFilter(method="filter_open", help_text="Only cases not resolved or closed.")
    number = django_filters.CharFilter(lookup_expr="iexact")
    account = django_filters.UUIDFilter(field_name="account__reference", help_text="Reference of an account.")
    patient = django_filters.UUIDFilter(field_name="patient__reference", help_text="Reference of a patient.")
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="Only cases assigned to you.")

    class Meta:
        model = Case
        fields = [
            "organization",
            "status",
            "category",
            "priority",
            "open",
            "number",
            "account",
            "patient",
            "mine",
        ]

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.open() if value else queryset.exclude(status__in=OPEN_STATUSES)

    def filter_mine(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        return queryset.assigned_to(self.request.user) if value else queryset


@extend_schema_view(
    list=extend_schema(summary="Cases of your organizations, newest first (no balances in lists)"),
    retrieve=extend_schema(
        summary="A case, with the disclosure guard's answer and the account details it allows",
        description="`balances`, `ledger` and `claims` are present only when `disclosure` allows them "
        "(the caller was verified, or a senior representative or supervisor overrode the guard). "
        "Writes a row in the PHI access log.",
        responses={200: CaseDetailSerializer, 404: NOT_FOUND},
    ),
)
class CaseViewSet(LogsListedPatients, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = CaseSerializer
    filterset_class = CaseFilterSet
    predicates = {
        "create": can_work_cases,
        "pend": can_work_cases,
        "resolve": can_work_cases,
        "close": can_work_cases,
        "reopen": can_work_cases,
        "escalate": can_work_cases,
        "transfer": can_work_cases,
        "refer": can_work_cases,
        "take": can_work_cases,
        "override_disclosure": can_override_disclosure,
    }

    def get_queryset(self) -> QuerySet[Case]:
        return Case.objects.visible_to(self.request.user).select_related(
            "organization", "patient", "account", "claim", "department", "assigned_to"
        )

    def _detail(self, case: Case, code: int = status.HTTP_200_OK) -> Response:
        case = self.get_queryset().get(pk=case.pk)
        disclosure = selectors.disclosure_for(case, self.request.user)
        context = {**self.get_serializer_context(), "disclosure": disclosure}
        context["disclosed"] = selectors.disclosed_details(case, disclosure)
        return Response(CaseDetailSerializer(case, context=context).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case = self.get_object()
        _record_case_read(request, case)
        return self._detail(case)

    @extend_schema(
        summary="Open a case (case workers)",
        description="Due times come from the organization's service levels. A complaint or grievance is "
        "referred to the appeals & grievances queue at once.",
        request=CaseCreateInputSerializer,
        responses={201: CaseDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(CaseCreateInputSerializer, request.data)
        organization = self.visible_organization(data.pop("organization"))
        case = services.case_open(organization=organization, by=request.user, **data)
        return self._detail(case, status.HTTP_201_CREATED)

    def _action(self, serializer_class: type | None, run: Any) -> Response:
        case = self.get_object()
        data = self.run_input(serializer_class, self.request.data) if serializer_class else {}
        run(case, data)
        return self._detail(case)

    @extend_schema(
        operation_id="cases_take",
        summary="Take the case: it becomes yours and in progress",
        request=None,
        responses={200: CaseDetailSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def take(self, request: Request, reference: UUID) -> Response:
        return self._action(None, lambda case, data: services.case_start(case=case, by=request.user))

    @extend_schema(
        operation_id="cases_pend",
        summary="Pend the case until a follow-up date (a business day after today), with a reason",
        request=CasePendInputSerializer,
        responses={200: CaseDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def pend(self, request: Request, reference: UUID) -> Response:
        return self._action(
            CasePendInputSerializer,
            lambda case, data: services.case_pend(
                case=case, follow_up_on=data["follow_up_on"], reason=data["reason"], by=request.user
            ),
        )

    @extend_schema(
        operation_id="cases_resolve",
        summary="Resolve the case, saying how",
        request=CaseResolveInputSerializer,
        responses={200: CaseDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, reference: UUID) -> Response:
        return self._action(
            CaseResolveInputSerializer,
            lambda case, data: services.case_resolve(
                case=case, resolution=data["resolution"], by=request.user
            ),
        )

    @extend_schema(
        operation_id="cases_close",
        summary="Close a resolved case",
        request=None,
        responses={200: CaseDetailSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, reference: UUID) -> Response:
        return self._action(None, lambda case, data: services.case_close(case=case, by=request.user))

    @extend_schema(
        operation_id="cases_reopen",
        summary="Reopen a resolved case (case workers) or a closed one (supervisors)",
        request=CaseReasonInputSerializer,
        responses={200: CaseDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, reference: UUID) -> Response:
        return self._action(
            CaseReasonInputSerializer,
            lambda case, data: services.case_reopen(case=case, reason=data["reason"], by=request.user),
        )

    @extend_schema(
        operation_id="cases_escalate",
        summary="Escalate the case to a supervisor, saying why",
        request=CaseReasonInputSerializer,
        responses={200: CaseDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, reference: UUID) -> Response:
        return self._action(
            CaseReasonInputSerializer,
            lambda case, data: services.case_escalate(case=case, reason=data["reason"], by=request.user),
        )

    @extend_schema(
        operation_id="cases_transfer",
        summary="Transfer the case to a department of the directory, saying why",
        request=CaseTransferInputSerializer,
        responses={200: CaseDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, reference: UUID) -> Response:
        return self._action(
            CaseTransferInputSerializer,
            lambda case, data: services.case_transfer(
                case=case, department=data["department"], reason=data["reason"], by=request.user
            ),
        )

    @extend_schema(
        operation_id="cases_refer",
        summary="Refer the case to the appeals & grievances coordinator",
        request=CaseReferInputSerializer,
        responses={201: ReferralSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def refer(self, request: Request, reference: UUID) -> Response:
        case = self.get_object()
        data = self.run_input(CaseReferInputSerializer, request.data)
        referral = services.case_refer(case=case, kind=data["kind"], reason=data["reason"], by=request.user)
        return Response(ReferralSerializer(referral).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="cases_override_disclosure",
        summary="Show account details although the caller was not verified (senior representatives, "
        "supervisors)",
        description="Needs a reason of at least 10 characters. Recorded in the case history, on its "
        "timeline and in the PHI access log as a disclosure; lasts as long as a verification would.",
        request=CaseOverrideInputSerializer,
        responses={200: CaseDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="override-disclosure", url_name="override-disclosure")
    def override_disclosure(self, request: Request, reference: UUID) -> Response:
        return self._action(
            CaseOverrideInputSerializer,
            lambda case, data: disclosure_override(case=case, reason=data["reason"], by=request.user),
        )


# --- interactions ----------------------------------------------------------------------------------


class InteractionFilterSet(OrganizationReferenceFilterSet):
    case = django_filters.UUIDFilter(field_name="case__reference", help_text="Reference of a case.")

    class Meta:
        model = Interaction
        fields = ["organization", "case"]


@extend_schema_view(
    list=extend_schema(summary="Contacts logged on your organizations' cases, newest first"),
    retrieve=extend_schema(
        summary="One contact", description="Writes a row in the PHI access log.", responses={404: NOT_FOUND}
    ),
)
class InteractionViewSet(LogsListedPatients, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet
    predicates = {"create": can_work_cases}

    def case_of(self, row: Interaction) -> Case:
        return row.case

    def get_queryset(self) -> QuerySet[Interaction]:
        return Interaction.objects.visible_to(self.request.user).select_related(
            "organization",
            "case__patient",
            "case__account",
            "case__organization",
            "logged_by",
            "script_version__script",
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        interaction = self.get_object()
        _record_case_read(request, interaction.case)
        return Response(InteractionSerializer(interaction).data)

    @extend_schema(
        summary="Log a contact on a case (case workers)",
        description="A required disclosure of the script that is not in `steps_completed` is flagged in "
        "`disclosures_missed` and on the case timeline.",
        request=InteractionCreateInputSerializer,
        responses={201: InteractionSerializer, 400: INVALID, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(InteractionCreateInputSerializer, request.data)
        case = data.pop("case")
        script = data.pop("script")
        if script is not None and script.current_version_id is None:
            raise InvalidInput("script: the script has no published version", field="script")
        interaction = services.interaction_log(
            case=case,
            by=request.user,
            script_version=script.current_version if script else None,
            **data,
        )
        return Response(
            InteractionSerializer(self.get_queryset().get(pk=interaction.pk)).data,
            status=status.HTTP_201_CREATED,
        )


# --- verifications -----------------------------------------------------------------------------------


class VerificationFilterSet(OrganizationReferenceFilterSet):
    case = django_filters.UUIDFilter(field_name="case__reference", help_text="Reference of a case.")

    class Meta:
        model = Verification
        fields = ["organization", "case"]


@extend_schema_view(
    list=extend_schema(summary="Caller verifications on your organizations' cases, newest first"),
    retrieve=extend_schema(summary="One caller verification", responses={404: NOT_FOUND}),
)
class VerificationViewSet(LogsListedPatients, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = VerificationSerializer
    filterset_class = VerificationFilterSet
    predicates = {"create": can_work_cases}

    def case_of(self, row: Verification) -> Case:
        return row.case

    def get_queryset(self) -> QuerySet[Verification]:
        return Verification.objects.visible_to(self.request.user).select_related(
            "organization",
            "case__patient",
            "case__account",
            "case__organization",
            "authorized_contact",
            "verified_by",
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        verification = self.get_object()
        _record_case_read(request, verification.case)
        return Response(VerificationSerializer(verification).data)

    @extend_schema(
        summary="Verify a caller (case workers)",
        description="The answers are compared with the patient's record and not stored; only which "
        "identifiers matched is kept. The attempt is recorded whether it passes or fails (201 either way; "
        "see `passed` and `failure_reason`).",
        request=VerificationCreateInputSerializer,
        responses={201: VerificationSerializer, 400: INVALID, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(VerificationCreateInputSerializer, request.data)
        verification = caller_verify(
            case=data["case"],
            caller_kind=data["caller_kind"],
            answers=dict(data["answers"]),
            authorized_contact=data["authorized_contact"],
            caller_name=data["caller_name"],
            by=request.user,
        )
        return Response(
            VerificationSerializer(self.get_queryset().get(pk=verification.pk)).data,
            status=status.HTTP_201_CREATED,
        )


# --- benefit investigations ----------------------------------------------------------------------------


class BenefitInvestigationFilterSet(OrganizationReferenceFilterSet):
    case = django_filters.UUIDFilter(field_name="case__reference", help_text="Reference of a case.")
    coverage = django_filters.UUIDFilter(
        field_name="coverage__reference", help_text="Reference of a coverage."
    )

    class Meta:
        model = BenefitInvestigation
        fields = ["organization", "case", "coverage"]


@extend_schema_view(
    list=extend_schema(summary="Benefit investigations of your organizations, newest first"),
    retrieve=extend_schema(
        summary="A benefit investigation with its estimates",
        description="Writes a row in the PHI access log.",
        responses={404: NOT_FOUND},
    ),
)
class BenefitInvestigationViewSet(
    LogsListedPatients, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet
):
    serializer_class = BenefitInvestigationSerializer
    filterset_class = BenefitInvestigationFilterSet
    predicates = {"create": can_work_cases, "estimate": can_work_cases}

    def case_of(self, row: BenefitInvestigation) -> Case:
        return row.case

    def get_queryset(self) -> QuerySet[BenefitInvestigation]:
        return (
            BenefitInvestigation.objects.visible_to(self.request.user)
            .select_related(
                "organization",
                "case__patient",
                "case__account",
                "case__organization",
                "coverage__plan__payer",
                "investigated_by",
            )
            .prefetch_related("estimates__lines")
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        investigation = self.get_object()
        _record_case_read(request, investigation.case)
        return Response(BenefitInvestigationSerializer(investigation).data)

    @extend_schema(
        summary="Record a benefit investigation of one of the case patient's coverages (case workers)",
        request=BenefitInvestigationCreateInputSerializer,
        responses={201: BenefitInvestigationSerializer, 400: INVALID, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(BenefitInvestigationCreateInputSerializer, request.data)
        investigation = benefit_services.benefit_investigation_record(
            case=data.pop("case"), coverage=data.pop("coverage"), by=request.user, **data
        )
        return Response(
            BenefitInvestigationSerializer(self.get_queryset().get(pk=investigation.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="benefit_investigations_estimate",
        summary="Estimate the patient's cost of services under this investigation (case workers)",
        description="Deductible first, then coinsurance on the rest, then the copay per service, capped at "
        "what remains of the out-of-pocket maximum. An inactive plan pays nothing.",
        request=BenefitEstimateInputSerializer,
        responses={201: BenefitEstimateSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def estimate(self, request: Request, reference: UUID) -> Response:
        investigation = self.get_object()
        data = self.run_input(BenefitEstimateInputSerializer, request.data)
        estimate = benefit_services.benefit_estimate_make(
            investigation=investigation,
            services=[benefit_services.ServiceInput(**service) for service in data["services"]],
            by=request.user,
        )
        fresh = BenefitEstimate.objects.prefetch_related("lines").get(pk=estimate.pk)
        return Response(BenefitEstimateSerializer(fresh).data, status=status.HTTP_201_CREATED)
