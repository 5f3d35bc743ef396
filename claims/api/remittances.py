"""Remittances API: 835 files (list, read, upload), claim payments with their lines, and the work
posting leaves (posting exceptions, denials, variances) with their actions.

Querysets start from ``visible_to(request.user)``, so another organization's references
answer 404. Everyone in an organization reads; uploading and working exceptions and
variances needs ``can_post_remittances``, working denials ``can_work_denials`` (checked by
``OrganizationRolePermission`` here and again by the posting services).

PHI access log: a claim payment's record (patient name, member id) logs its account, or
the claim payment when it matched none; lists that return claim data (a file's claim
payments, exceptions, denials, variances) log one row per account on the page.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import EnumField, VisibleReferenceField, money_field
from claims import selectors
from claims.codes import carc_label
from claims.forms_remittances import (
    DenialFilterSet,
    PostingExceptionFilterSet,
    RemittanceFileFilterSet,
    VarianceFilterSet,
)
from claims.models import (
    Claim,
    ClaimPayment,
    Denial,
    PostingException,
    ProviderAdjustment,
    RemittanceAdjustment,
    RemittanceFile,
    RemittancePayment,
    ServicePayment,
    Variance,
)
from claims.models.remittances import (
    ClaimPaymentMatch,
    ClaimPaymentPosting,
    ProviderAdjustmentPosting,
    RemittanceFileChannel,
    RemittanceFileStatus,
    RemittancePaymentStatus,
)
from claims.models.work import DenialCategory, PostingExceptionKind, VarianceKind, WorkStatus
from claims.permissions import can_post_remittances, can_work_denials
from claims.services import remittances as services
from core.api import StableCursorPagination
from core.errors import InvalidInput
from staff.api.base import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, StaffViewSet, organizations_where
from staff.api.serializers import UserSerializer
from staff.models import Membership, Organization, User
from staff.phi import phi_access_record, phi_access_record_many


def _reference(**kwargs: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="reference", read_only=True, **kwargs)


# --- read serializers ---------------------------------------------------------------------------


class DiagnosticSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.CharField()
    segment_index = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class RemittanceFileSerializer(serializers.ModelSerializer):
    """A received 835 (or hand-keyed EOB) and what posting it did; ``summary`` holds the counts."""

    organization = _reference()
    channel = EnumField(RemittanceFileChannel, "RemittanceFileChannelEnum", read_only=True)
    status = EnumField(RemittanceFileStatus, "RemittanceFileStatusEnum", read_only=True)
    received_by = UserSerializer(read_only=True)
    error_count = serializers.IntegerField(read_only=True, help_text="Diagnostics of severity error.")
    open_exceptions = serializers.IntegerField(read_only=True, help_text="Posting exceptions still open.")
    payment_count = serializers.IntegerField(read_only=True, help_text="Payments (ST/SE) in the file.")
    claim_count = serializers.IntegerField(source="claim_total", read_only=True)
    total_paid = money_field(
        source="paid_total",
        read_only=True,
        help_text="Sum of the payments, duplicates of earlier ones excluded.",
    )

    class Meta:
        model = RemittanceFile
        fields = [
            "reference",
            "organization",
            "filename",
            "sha256",
            "byte_size",
            "channel",
            "status",
            "interchange_control",
            "sender_id",
            "version",
            "payment_count",
            "claim_count",
            "total_paid",
            "error_count",
            "open_exceptions",
            "received_by",
            "created_at",
            "posted_at",
        ]
        read_only_fields = fields


class ProviderAdjustmentSerializer(serializers.ModelSerializer):
    amount = money_field(
        read_only=True, help_text="Positive reduces the payment (recoupment); negative adds."
    )
    posting = EnumField(ProviderAdjustmentPosting, "ProviderAdjustmentPostingEnum", read_only=True)
    claim = _reference()

    class Meta:
        model = ProviderAdjustment
        fields = ["provider_id", "fiscal_period_date", "reason", "reference", "amount", "claim", "posting"]
        read_only_fields = fields


class RemittancePaymentSerializer(serializers.ModelSerializer):
    """One payment (ST/SE): a check, an EFT or a zero-pay notice from one payer."""

    payer = _reference()
    total_paid = money_field(read_only=True)
    status = EnumField(RemittancePaymentStatus, "RemittancePaymentStatusEnum", read_only=True)
    provider_adjustments = ProviderAdjustmentSerializer(many=True, read_only=True)
    open_exceptions = serializers.IntegerField(read_only=True)

    class Meta:
        model = RemittancePayment
        fields = [
            "reference",
            "sequence",
            "payer",
            "payer_name",
            "payer_identifier",
            "payee_name",
            "payee_identifier",
            "handling_code",
            "total_paid",
            "credit_debit",
            "method",
            "payment_date",
            "trace_number",
            "production_date",
            "balanced",
            "status",
            "claim_count",
            "open_exceptions",
            "provider_adjustments",
            "posted_at",
        ]
        read_only_fields = fields


class FileSummarySerializer(serializers.Serializer):
    claims = serializers.IntegerField()
    matched = serializers.IntegerField(help_text="Claims tied to one of our claims.")
    posted = serializers.IntegerField()
    held = serializers.IntegerField(help_text="Claims held as exceptions.")
    exceptions = serializers.IntegerField()
    denials = serializers.IntegerField()
    variances = serializers.IntegerField()


class RemittanceFileDetailSerializer(RemittanceFileSerializer):
    summary = serializers.SerializerMethodField(help_text="What posting made of the file, counted now.")
    diagnostics = DiagnosticSerializer(many=True, read_only=True)
    payments = RemittancePaymentSerializer(many=True, read_only=True)

    class Meta(RemittanceFileSerializer.Meta):
        fields = [*RemittanceFileSerializer.Meta.fields, "summary", "diagnostics", "payments"]
        read_only_fields = fields

    @extend_schema_field(FileSummarySerializer)
    def get_summary(self, obj: RemittanceFile) -> dict:
        return selectors.file_summary(obj)


class ImportOutcomeSerializer(serializers.Serializer):
    """What an import did. ``duplicate``: the same bytes were imported before (``file`` is that
    earlier import) and nothing was posted."""

    file = RemittanceFileSerializer(allow_null=True)
    duplicate = serializers.BooleanField()
    summary = serializers.DictField()
    diagnostics = DiagnosticSerializer(many=True)


class AdjustmentSerializer(serializers.ModelSerializer):
    amount = money_field(read_only=True)
    label = serializers.SerializerMethodField(help_text="Our short wording for the reason code, if any.")

    class Meta:
        model = RemittanceAdjustment
        fields = ["group", "reason", "label", "amount", "quantity"]
        read_only_fields = fields

    def get_label(self, obj: RemittanceAdjustment) -> str:
        return carc_label(obj.reason)


class ServicePaymentSerializer(serializers.ModelSerializer):
    charge = money_field(read_only=True)
    paid = money_field(read_only=True)
    allowed = money_field(read_only=True, allow_null=True)
    expected = money_field(read_only=True, allow_null=True)
    adjustments = AdjustmentSerializer(many=True, read_only=True)

    class Meta:
        model = ServicePayment
        fields = [
            "qualifier",
            "code",
            "modifiers",
            "revenue_code",
            "original_code",
            "service_from",
            "service_to",
            "charge",
            "allowed",
            "expected",
            "paid",
            "units_paid",
            "line_control_number",
            "remark_codes",
            "balanced",
            "adjustments",
        ]
        read_only_fields = fields


class ClaimPaymentBriefSerializer(serializers.ModelSerializer):
    """A claim as adjudicated, without patient details (a file's list of claims)."""

    claim = _reference()
    status_meaning = serializers.SerializerMethodField()
    charge = money_field(read_only=True)
    paid = money_field(read_only=True)
    patient_responsibility = money_field(read_only=True)
    match = EnumField(ClaimPaymentMatch, "ClaimPaymentMatchEnum", read_only=True)
    posting = EnumField(ClaimPaymentPosting, "ClaimPaymentPostingEnum", read_only=True)

    class Meta:
        model = ClaimPayment
        fields = [
            "reference",
            "sequence",
            "patient_control_number",
            "status_code",
            "status_meaning",
            "charge",
            "paid",
            "patient_responsibility",
            "payer_claim_number",
            "claim",
            "match",
            "posting",
            "balanced",
            "complete",
            "posted_at",
        ]
        read_only_fields = fields

    def get_status_meaning(self, obj: ClaimPayment) -> str:
        return selectors.claim_status_meaning(obj.status_code)


class ClaimPaymentSerializer(ClaimPaymentBriefSerializer):
    """A claim as adjudicated with its patient, lines, adjustments and diagnostics."""

    organization = _reference()
    payment = _reference()
    file = serializers.UUIDField(source="payment.file.reference", read_only=True)
    account = _reference()
    allowed = money_field(read_only=True, allow_null=True)
    interest = money_field(read_only=True, allow_null=True)
    adjustments = serializers.SerializerMethodField(
        help_text="Claim-level adjustments (CAS in the 2100 loop)."
    )
    lines = ServicePaymentSerializer(many=True, read_only=True)
    diagnostics = DiagnosticSerializer(many=True, read_only=True)

    class Meta(ClaimPaymentBriefSerializer.Meta):
        fields = [
            *ClaimPaymentBriefSerializer.Meta.fields,
            "organization",
            "payment",
            "file",
            "account",
            "allowed",
            "interest",
            "filing_indicator",
            "original_reference",
            "facility_type",
            "frequency",
            "drg_code",
            "patient_last_name",
            "patient_first_name",
            "member_id",
            "crossover_carrier",
            "statement_from",
            "statement_to",
            "received_date",
            "remark_codes",
            "adjustments",
            "lines",
            "diagnostics",
        ]
        read_only_fields = fields

    @extend_schema_field(AdjustmentSerializer(many=True))
    def get_adjustments(self, obj: ClaimPayment) -> list[dict]:
        rows = [a for a in obj.adjustments.all() if a.service_payment_id is None]
        return AdjustmentSerializer(rows, many=True).data


class WorkItemSerializer(serializers.ModelSerializer):
    """Columns shared by exceptions, denials and variances."""

    organization = _reference()
    status = EnumField(WorkStatus, "WorkStatusEnum", read_only=True)
    claim_payment = _reference()
    patient_control_number = serializers.CharField(
        source="claim_payment.patient_control_number", read_only=True, allow_null=True, default=None
    )
    assigned_to = UserSerializer(read_only=True, allow_null=True)
    resolved_by = UserSerializer(read_only=True, allow_null=True)

    WORK_FIELDS = [
        "reference",
        "organization",
        "status",
        "claim_payment",
        "patient_control_number",
        "assigned_to",
        "resolved_by",
        "resolved_at",
        "resolution",
        "created_at",
        "updated_at",
    ]


class PostingExceptionSerializer(WorkItemSerializer):
    """Something in a remittance posting could not do on its own; ``details.candidates`` lists the
    claims an ambiguous payment could belong to."""

    kind = EnumField(PostingExceptionKind, "PostingExceptionKindEnum", read_only=True)
    amount = money_field(read_only=True)
    payment = _reference()
    file = serializers.UUIDField(source="payment.file.reference", read_only=True)
    payer = serializers.UUIDField(
        source="payment.payer.reference", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = PostingException
        fields = [
            *WorkItemSerializer.WORK_FIELDS,
            "kind",
            "message",
            "details",
            "amount",
            "payment",
            "file",
            "payer",
        ]
        read_only_fields = fields


class DenialSerializer(WorkItemSerializer):
    payer = _reference()
    claim = _reference()
    account = _reference()
    category = EnumField(DenialCategory, "DenialCategoryEnum", read_only=True)
    level = EnumField(Denial._meta.get_field("level").choices, "DenialLevelEnum", read_only=True)
    denied_amount = money_field(read_only=True)

    class Meta:
        model = Denial
        fields = [
            *WorkItemSerializer.WORK_FIELDS,
            "payer",
            "claim",
            "account",
            "denied_on",
            "level",
            "service_code",
            "group_codes",
            "carc_codes",
            "rarc_codes",
            "category",
            "recommended_action",
            "denied_amount",
        ]
        read_only_fields = fields


class VarianceSerializer(WorkItemSerializer):
    kind = EnumField(VarianceKind, "VarianceKindEnum", read_only=True)
    payer = _reference()
    claim = _reference()
    account = _reference()
    contract = _reference()
    expected_amount = money_field(read_only=True)
    allowed_amount = money_field(read_only=True)
    paid_amount = money_field(read_only=True)
    variance_amount = money_field(
        read_only=True, help_text="Expected minus allowed: positive is still owed to us."
    )

    class Meta:
        model = Variance
        fields = [
            *WorkItemSerializer.WORK_FIELDS,
            "kind",
            "payer",
            "claim",
            "account",
            "contract",
            "identified_on",
            "service_code",
            "expected_amount",
            "allowed_amount",
            "paid_amount",
            "variance_amount",
        ]
        read_only_fields = fields


# --- input serializers --------------------------------------------------------------------------


class RemittanceUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # refused by the import, with the file's name
        help_text="The 835 file as received (multipart); at most 50 MB.",
    )
    organization = serializers.UUIDField(
        required=False,
        help_text="Reference of the organization to post into; needed only when you post for several.",
    )


class ExceptionResolveInputSerializer(serializers.Serializer):
    resolution = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="What was done or found; required unless a claim is given.",
    )
    claim = VisibleReferenceField(
        Claim,
        required=False,
        allow_null=True,
        help_text="Reference of the claim the payment belongs to: required for unmatched, ambiguous and "
        "reversal-without-original exceptions, which are then matched and posted.",
    )


class ExceptionDismissInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why nothing needs to be posted.")


class ExceptionAssignInputSerializer(serializers.Serializer):
    assignee = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Reference of a member of the exception's organization; omit to take it yourself.",
    )


class TransitionInputSerializer(serializers.Serializer):
    status = EnumField(WorkStatus, "WorkStatusEnum")
    note = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required to resolve or dismiss.",
    )


# --- view plumbing ------------------------------------------------------------------------------


class LogsListedAccounts:
    """Writes the PHI access log for the accounts (or items without one) a list page returns."""

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)  # type: ignore[misc]
        if self.action == "list" and page:  # type: ignore[attr-defined]
            phi_access_record_many(request=self.request, subjects=selectors.account_stand_ins(page))  # type: ignore[attr-defined]
        return page


def _log_one(request: Request, item: Any) -> None:
    subject = selectors.account_stand_ins([item])[0]
    phi_access_record(request=request, subject=subject, organization=item.organization)


class FileOrderPagination(StableCursorPagination):
    """A file's claim payments in file order. The cursor carries the row id: claim payments have
    no creation stamp of their own (a file's rows share one), and the id is the order they were read."""

    ordering = ("id",)


# --- remittance files ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Remittance files of your organizations, newest first"),
    retrieve=extend_schema(
        summary="A remittance file: summary, diagnostics, and its payments with provider adjustments",
        responses={200: RemittanceFileDetailSerializer, 404: NOT_FOUND},
    ),
)
class RemittanceFileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    filterset_class = RemittanceFileFilterSet
    predicates = {"upload": can_post_remittances}

    def get_queryset(self) -> QuerySet[RemittanceFile]:
        files = selectors.with_file_counts(
            RemittanceFile.objects.visible_to(self.request.user)
            .defer("content")
            .select_related("organization", "received_by")
        )
        if self.action == "retrieve":
            files = files.prefetch_related(
                Prefetch(
                    "payments",
                    RemittancePayment.objects.select_related("payer")
                    .prefetch_related(
                        Prefetch(
                            "provider_adjustments",
                            ProviderAdjustment.objects.select_related("claim").order_by(
                                "segment_index", "id"
                            ),
                        )
                    )
                    .annotate(open_exceptions=selectors.open_exception_count(payment="pk"))
                    .order_by("sequence"),
                )
            )
        return files

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return RemittanceFileDetailSerializer if self.action == "retrieve" else RemittanceFileSerializer

    def _organization_for_upload(self, reference: UUID | None) -> Organization:
        if reference is not None:
            organization = self.visible_organization(reference)
            if not can_post_remittances(self.request.user, organization):
                raise PermissionDenied("You may not post remittances in this organization.")
            return organization
        ids = organizations_where(self.request.user, can_post_remittances)
        if len(ids) != 1:
            raise InvalidInput(
                "organization: you post remittances for several organizations; give the reference of one.",
                field="organization",
            )
        return Organization.objects.get(pk=ids[0])

    @extend_schema(
        operation_id="remittances_upload",
        summary="Import an 835 file and post it (posting specialists, supervisors, admins)",
        description="Multipart with `file`. 201: imported and posted, with what posting did. 200 with "
        "`duplicate: true`: the same file was imported before; `file` is that import and nothing was "
        "posted. 400: the file is empty, not X12 or not an 835 (the message says which); nothing stored.",
        request={"multipart/form-data": RemittanceUploadInputSerializer},
        responses={
            201: ImportOutcomeSerializer,
            200: OpenApiResponse(ImportOutcomeSerializer, description="Already imported: nothing posted."),
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    @action(
        detail=False,
        methods=["post"],
        parser_classes=[MultiPartParser, FormParser],
        pagination_class=None,
        filterset_class=None,
    )
    def upload(self, request: Request) -> Response:
        data = self.run_input(RemittanceUploadInputSerializer, request.data)
        organization = self._organization_for_upload(data.get("organization"))
        upload = data["file"]

        outcome = services.remittance_import(
            organization=organization,
            data=upload.read(),
            filename=upload.name,
            channel=RemittanceFile.Channel.API,
            by=request.user,
        )
        file = self.get_queryset().filter(pk=outcome.file.pk).first() if outcome.file is not None else None
        body = ImportOutcomeSerializer(
            {
                "file": file,
                "duplicate": outcome.duplicate,
                "summary": outcome.summary,
                "diagnostics": outcome.diagnostics,
            }
        ).data
        return Response(body, status=status.HTTP_200_OK if outcome.duplicate else status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="remittances_claim_payments",
        summary="A file's claims as adjudicated, in file order (no patient details)",
        description="Follow `next` to the end. Writes the PHI access log for the accounts on the page.",
        responses={200: ClaimPaymentBriefSerializer(many=True), 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="claim-payments",
        url_name="claim-payments",
        pagination_class=FileOrderPagination,
        filterset_class=None,
    )
    def claim_payments(self, request: Request, reference: UUID) -> Response:
        file = self.get_object()
        rows = ClaimPayment.objects.filter(payment__file=file).select_related("claim")
        page = self.paginate_queryset(rows)
        matched = [cp for cp in page if cp.account_id]
        if matched:
            phi_access_record_many(request=request, subjects=selectors.account_stand_ins(matched))
        return self.get_paginated_response(ClaimPaymentBriefSerializer(page, many=True).data)


# --- claim payments -----------------------------------------------------------------------------


@extend_schema_view(
    retrieve=extend_schema(
        summary="A claim as adjudicated: patient, amounts, claim and line adjustments, remarks",
        description="Writes a row in the PHI access log (the account, or the claim payment when it matched "
        "no account).",
        responses={200: ClaimPaymentSerializer, 404: NOT_FOUND},
    ),
)
class ClaimPaymentViewSet(mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = ClaimPaymentSerializer

    def get_queryset(self) -> QuerySet[ClaimPayment]:
        return (
            ClaimPayment.objects.visible_to(self.request.user)
            .select_related("organization", "payment__file", "claim", "account")
            .defer("payment__file__content", "payment__file__diagnostics", "payment__file__summary")
            .prefetch_related(
                Prefetch("adjustments", RemittanceAdjustment.objects.order_by("segment_index", "id")),
                Prefetch(
                    "lines",
                    ServicePayment.objects.prefetch_related(
                        Prefetch("adjustments", RemittanceAdjustment.objects.order_by("segment_index", "id"))
                    ).order_by("segment_index", "id"),
                ),
            )
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        claim_payment = self.get_object()
        _log_one(request, claim_payment)
        return Response(ClaimPaymentSerializer(claim_payment).data)


# --- posting exceptions -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Posting exceptions, newest first",
        description="Open and in-progress ones unless `status` says otherwise. Writes the PHI access log "
        "for the items on the page.",
    ),
    retrieve=extend_schema(
        summary="A posting exception",
        description="Writes a row in the PHI access log.",
        responses={200: PostingExceptionSerializer, 404: NOT_FOUND},
    ),
)
class PostingExceptionViewSet(
    LogsListedAccounts, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet
):
    serializer_class = PostingExceptionSerializer
    filterset_class = PostingExceptionFilterSet
    predicates = {
        "resolve": can_post_remittances,
        "dismiss": can_post_remittances,
        "assign": can_post_remittances,
    }

    def get_queryset(self) -> QuerySet[PostingException]:
        return (
            PostingException.objects.visible_to(self.request.user)
            .select_related(
                "organization",
                "payment__file",
                "payment__payer",
                "claim_payment",
                "assigned_to",
                "resolved_by",
            )
            .defer("payment__file__content", "payment__file__diagnostics", "payment__file__summary")
        )

    def _fresh(self, exception: PostingException) -> PostingException:
        return self.get_queryset().get(pk=exception.pk)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        exception = self.get_object()
        _log_one(request, exception)
        return Response(PostingExceptionSerializer(exception).data)

    @extend_schema(
        operation_id="posting_exceptions_resolve",
        summary="Resolve an exception (posting specialists, supervisors, admins)",
        description="Unmatched, ambiguous and reversal-without-original exceptions need `claim`: the claim "
        "payment is matched to it and posted. Other kinds are marked resolved with the `resolution` "
        "(after the fix was made by hand).",
        request=ExceptionResolveInputSerializer,
        responses={
            200: PostingExceptionSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def resolve(self, request: Request, reference: UUID) -> Response:
        exception = self.get_object()
        data = self.run_input(ExceptionResolveInputSerializer, request.data)
        claim = data.get("claim")
        if claim is not None and claim.organization_id != exception.organization_id:
            raise InvalidInput("claim: the claim belongs to another organization.", field="claim")

        services.exception_resolve(
            exception=exception, by=request.user, resolution=data["resolution"], claim=claim
        )
        return Response(PostingExceptionSerializer(self._fresh(exception)).data)

    @extend_schema(
        operation_id="posting_exceptions_dismiss",
        summary="Dismiss an exception: nothing is posted for it (posting specialists, supervisors, admins)",
        request=ExceptionDismissInputSerializer,
        responses={
            200: PostingExceptionSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def dismiss(self, request: Request, reference: UUID) -> Response:
        exception = self.get_object()
        data = self.run_input(ExceptionDismissInputSerializer, request.data)

        services.exception_dismiss(exception=exception, by=request.user, reason=data["reason"])
        return Response(PostingExceptionSerializer(self._fresh(exception)).data)

    @extend_schema(
        operation_id="posting_exceptions_assign",
        summary="Assign an exception to a member or to yourself (posting specialists, supervisors, admins)",
        request=ExceptionAssignInputSerializer,
        responses={
            200: PostingExceptionSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def assign(self, request: Request, reference: UUID) -> Response:
        exception = self.get_object()
        data = self.run_input(ExceptionAssignInputSerializer, request.data)
        assignee: User = request.user
        if data.get("assignee") is not None:
            membership = (
                Membership.objects.active()
                .filter(organization_id=exception.organization_id, user__reference=data["assignee"])
                .select_related("user")
                .first()
            )
            if membership is None:
                raise InvalidInput(
                    "assignee: not an active member of the exception's organization.", field="assignee"
                )
            assignee = membership.user

        services.exception_assign(exception=exception, assignee=assignee, by=request.user)
        return Response(PostingExceptionSerializer(self._fresh(exception)).data)


# --- denials and variances ----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Denials, newest first",
        description="Open and in-progress ones unless `status` says otherwise; `carc` takes a reason code "
        "(`29`) or group and reason (`CO-29`). Writes the PHI access log for the accounts on the page.",
    ),
    retrieve=extend_schema(
        summary="A denial",
        description="Writes a row in the PHI access log.",
        responses={200: DenialSerializer, 404: NOT_FOUND},
    ),
)
class DenialViewSet(LogsListedAccounts, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = DenialSerializer
    filterset_class = DenialFilterSet
    predicates = {"transition": can_work_denials}

    def get_queryset(self) -> QuerySet[Denial]:
        return Denial.objects.visible_to(self.request.user).select_related(
            "organization", "payer", "claim", "account", "claim_payment", "assigned_to", "resolved_by"
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        denial = self.get_object()
        _log_one(request, denial)
        return Response(DenialSerializer(denial).data)

    @extend_schema(
        operation_id="denials_transition",
        summary="Change a denial's status (denial workers)",
        description="open ↔ in_progress → resolved or dismissed (with a `note`); resolved or dismissed "
        "→ open. 409 when the denial moved on meanwhile.",
        request=TransitionInputSerializer,
        responses={200: DenialSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def transition(self, request: Request, reference: UUID) -> Response:
        denial = self.get_object()
        data = self.run_input(TransitionInputSerializer, request.data)

        services.denial_transition(denial=denial, status=data["status"], by=request.user, note=data["note"])
        return Response(DenialSerializer(self.get_queryset().get(pk=denial.pk)).data)


@extend_schema_view(
    list=extend_schema(
        summary="Payment variances (under- and overpayments, credit balances), newest first",
        description="Open and in-progress ones unless `status` says otherwise. Writes the PHI access log "
        "for the accounts on the page.",
    ),
    retrieve=extend_schema(
        summary="A payment variance",
        description="Writes a row in the PHI access log.",
        responses={200: VarianceSerializer, 404: NOT_FOUND},
    ),
)
class VarianceViewSet(LogsListedAccounts, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = VarianceSerializer
    filterset_class = VarianceFilterSet
    predicates = {"transition": can_post_remittances}

    def get_queryset(self) -> QuerySet[Variance]:
        return Variance.objects.visible_to(self.request.user).select_related(
            "organization",
            "payer",
            "claim",
            "account",
            "contract",
            "claim_payment",
            "assigned_to",
            "resolved_by",
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        variance = self.get_object()
        _log_one(request, variance)
        return Response(VarianceSerializer(variance).data)

    @extend_schema(
        operation_id="variances_transition",
        summary="Change a variance's status (posting specialists, supervisors, admins)",
        description="open ↔ in_progress → resolved or dismissed (with a `note`); resolved or dismissed "
        "→ open.",
        request=TransitionInputSerializer,
        responses={200: VarianceSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def transition(self, request: Request, reference: UUID) -> Response:
        variance = self.get_object()
        data = self.run_input(TransitionInputSerializer, request.data)

        services.variance_transition(
            variance=variance, status=data["status"], by=request.user, note=data["note"]
        )
        return Response(VarianceSerializer(self.get_queryset().get(pk=variance.pk)).data)
