"""Reconciliation API: deposits and their matching, the daily reconciliation report, insurance
audits with their documents, and the official CARC/RARC texts.

Querysets start from ``visible_to(request.user)``, so another organization's references
answer 404 in URLs and "does not exist" (400) in bodies. Every member reads; recording
and matching deposits needs ``can_reconcile_deposits``, working audits
``can_manage_audits``, loading code texts ``can_load_code_descriptions`` (checked by
``OrganizationRolePermission`` here and again by the services). Reading one audit writes
the PHI access log (its claims identify patients); deposits and the report carry none.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import django_filters
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import EnumField, VisibleReferenceField, amount_field, money_field
from claims.models import AuditDocument, Claim, CodeDescription, Deposit, InsuranceAudit, RemittancePayment
from claims.models.reconciliation import (
    DepositMethod,
    DepositSource,
    InsuranceAuditKind,
    InsuranceAuditStatus,
)
from claims.models.work import CodeDescriptionCodeSet
from claims.permissions import (
    can_load_code_descriptions,
    can_manage_audits,
    can_reconcile_deposits,
    can_view_claims,
)
from claims.reconciliation import DEFAULT_DAYS, MAX_DAYS, daily_reconciliation, default_range
from claims.services import audits as audit_services
from claims.services import codes as code_services
from claims.services import reconciliation as deposit_services
from claims.services.audits import MAX_DOCUMENT_BYTES, MAX_RESPONSE_BUSINESS_DAYS
from claims.services.reconciliation import organization_today
from core.api import StableCursorPagination
from core.errors import InvalidInput
from payers.models import Payer
from staff.api.base import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, StaffViewSet
from staff.api.filters import OrganizationReferenceFilterSet
from staff.api.serializers import REASON_MAX_LENGTH, UserSerializer
from staff.models import Organization
from staff.permissions import require
from staff.phi import phi_access_record

_CHANGE = {200: None, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}
_CREATE = {201: None, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}
REJECTED = OpenApiResponse(
    description="The file was not taken. `error.details.errors` lists every problem with its line and column "
    "(line 1 is the header); nothing was written."
)


def _responses(template: dict, serializer: Any) -> dict:
    return {code: serializer if value is None else value for code, value in template.items()}


def _reference(**kwargs: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="reference", read_only=True, **kwargs)


def _reason() -> serializers.CharField:
    return serializers.CharField(
        max_length=REASON_MAX_LENGTH, help_text="Why; kept in the row history and on the timeline."
    )


class ReasonInputSerializer(serializers.Serializer):
    reason = _reason()


class OrganizationInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization.")


def _organization_for(view: StaffViewSet, reference: UUID, predicate: Any, message: str) -> Organization:
    """The organization a collection action targets: 404 unless a member, 403 unless ``predicate``."""
    organization = view.visible_organization(reference)
    require(predicate(view.request.user, organization), message)
    return organization


# --- deposits ------------------------------------------------------------------------------------


class DepositSerializer(serializers.ModelSerializer):
    """A bank deposit and the remittance payment (835) it is matched to, if any."""

    organization = _reference()
    payer = _reference(allow_null=True)
    payer_name = serializers.CharField(source="payer.name", read_only=True, allow_null=True, default=None)
    amount = money_field(read_only=True)
    method = EnumField(DepositMethod, "DepositMethodEnum", read_only=True)
    source = EnumField(DepositSource, "DepositSourceEnum", read_only=True)
    is_matched = serializers.BooleanField(read_only=True)
    payment = _reference(allow_null=True, help_text="Reference of the matched remittance payment.")
    payment_trace_number = serializers.CharField(
        source="payment.trace_number", read_only=True, allow_null=True, default=None
    )
    payment_total_paid = money_field(
        source="payment.total_paid", read_only=True, allow_null=True, default=None, help_text="BPR02."
    )
    payment_date = serializers.DateField(
        source="payment.payment_date", read_only=True, allow_null=True, default=None, help_text="BPR16."
    )
    remittance_file = serializers.UUIDField(
        source="payment.file.reference",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="Reference of the 835 file of the matched payment.",
    )
    entered_by = UserSerializer(read_only=True)

    class Meta:
        model = Deposit
        fields = [
            "reference",
            "organization",
            "payer",
            "payer_name",
            "deposit_date",
            "amount",
            "trace_number",
            "method",
            "bank_reference",
            "source",
            "notes",
            "is_matched",
            "payment",
            "payment_trace_number",
            "payment_total_paid",
            "payment_date",
            "remittance_file",
            "matched_at",
            "entered_by",
            "created_at",
        ]
        read_only_fields = fields


class DepositCreateInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization the deposit belongs to.")
    payer = VisibleReferenceField(Payer, required=False, allow_null=True, default=None)
    deposit_date = serializers.DateField()
    amount = amount_field()
    trace_number = serializers.CharField(max_length=50, help_text="EFT trace number or check number (TRN02).")
    method = EnumField(DepositMethod, "DepositMethodEnum", default=DepositMethod.EFT)
    bank_reference = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class DepositMatchInputSerializer(serializers.Serializer):
    payment = VisibleReferenceField(RemittancePayment, help_text="Reference of the remittance payment.")
    reason = _reason()


class DepositImportInputSerializer(OrganizationInputSerializer):
    file = serializers.FileField(
        help_text="CSV with the columns deposit_date, amount, trace_number and optionally method, payer "
        "(EDI payer id or name), bank_reference."
    )


class DepositImportResultSerializer(serializers.Serializer):
    filename = serializers.CharField()
    rows = serializers.IntegerField(help_text="Data rows in the file.")
    created = serializers.IntegerField()
    existing = serializers.IntegerField(
        help_text="Rows whose deposit (trace, date, amount) was already recorded."
    )
    matched = serializers.IntegerField(help_text="New deposits matched to a remittance at once.")


class MatchPendingResultSerializer(serializers.Serializer):
    matched = serializers.IntegerField(help_text="Deposits matched by trace number and amount.")


class DepositFilterSet(OrganizationReferenceFilterSet):
    matched = django_filters.BooleanFilter(field_name="payment", lookup_expr="isnull", exclude=True)
    payer = django_filters.UUIDFilter(field_name="payer__reference", help_text="Reference of a payer.")
    date_from = django_filters.DateFilter(field_name="deposit_date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="deposit_date", lookup_expr="lte")
    trace_number = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Deposit
        fields = ["organization", "matched", "payer", "date_from", "date_to", "trace_number"]


@extend_schema_view(
    list=extend_schema(summary="Deposits of your organizations, newest first"),
    retrieve=extend_schema(summary="One deposit", responses={200: DepositSerializer, 404: NOT_FOUND}),
)
class DepositViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = DepositSerializer
    filterset_class = DepositFilterSet
    predicates = {
        "list": can_view_claims,
        "retrieve": can_view_claims,
        "create": can_reconcile_deposits,
        "match": can_reconcile_deposits,
        "unmatch": can_reconcile_deposits,
        "import_csv": can_reconcile_deposits,
        "match_pending": can_reconcile_deposits,
    }

    def get_queryset(self) -> QuerySet[Deposit]:
        return Deposit.objects.visible_to(self.request.user).select_related(
            "organization", "payer", "payment__file", "entered_by"
        )

    def _fresh(self, deposit: Deposit) -> Response:
        return Response(DepositSerializer(self.get_queryset().get(pk=deposit.pk)).data)

    @extend_schema(
        summary="Record a deposit (posting specialists, supervisors, admins)",
        description="Matched at once to the remittance payment of the same trace number and amount (and "
        "payer, when both name one), if it is here. 409 when a deposit of the same trace number, date and "
        "amount is already recorded.",
        request=DepositCreateInputSerializer,
        responses=_responses(_CREATE, DepositSerializer),
    )
    def create(self, request: Request) -> Response:
        data = dict(self.run_input(DepositCreateInputSerializer, request.data))
        organization = _organization_for(
            self, data.pop("organization"), can_reconcile_deposits, "You may not record deposits here."
        )
        deposit = deposit_services.deposit_create(organization=organization, by=request.user, **data)
        return Response(
            DepositSerializer(self.get_queryset().get(pk=deposit.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        operation_id="deposits_match",
        summary="Match a deposit to a remittance payment by hand",
        description="A different trace number or amount is allowed; the reason and the difference are kept. "
        "409 when the deposit is already matched or the payment has another deposit.",
        request=DepositMatchInputSerializer,
        responses=_responses(_CHANGE, DepositSerializer),
    )
    @action(detail=True, methods=["post"])
    def match(self, request: Request, reference: UUID) -> Response:
        deposit = self.get_object()
        data = self.run_input(DepositMatchInputSerializer, request.data)
        deposit_services.deposit_match(
            deposit=deposit, payment=data["payment"], by=request.user, reason=data["reason"]
        )
        return self._fresh(deposit)

    @extend_schema(
        operation_id="deposits_unmatch",
        summary="Undo a deposit's match",
        request=ReasonInputSerializer,
        responses=_responses(_CHANGE, DepositSerializer),
    )
    @action(detail=True, methods=["post"])
    def unmatch(self, request: Request, reference: UUID) -> Response:
        deposit = self.get_object()
        data = self.run_input(ReasonInputSerializer, request.data)
        deposit_services.deposit_unmatch(deposit=deposit, by=request.user, reason=data["reason"])
        return self._fresh(deposit)

    @extend_schema(
        operation_id="deposits_import",
        summary="Import a bank deposit CSV (posting specialists, supervisors, admins)",
        description="The whole file is checked first; it is imported completely or not at all. Deposits "
        "already recorded (same trace number, date and amount) are counted as existing, so sending a file "
        "twice adds nothing. New deposits are matched to remittances at once.",
        request={"multipart/form-data": DepositImportInputSerializer},
        responses={
            200: DepositImportResultSerializer,
            400: REJECTED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser, FormParser],
        pagination_class=None,
        filterset_class=None,
    )
    def import_csv(self, request: Request) -> Response:
        data = self.run_input(DepositImportInputSerializer, request.data)
        organization = _organization_for(
            self, data["organization"], can_reconcile_deposits, "You may not import deposits here."
        )
        upload = data["file"]
        result = deposit_services.deposit_import_csv(
            organization=organization, data=upload.read(), by=request.user, filename=upload.name
        )
        return Response(DepositImportResultSerializer(result.as_dict()).data)

    @extend_schema(
        operation_id="deposits_match_pending",
        summary="Match every open deposit that an open remittance explains",
        description="The 835 import does this after every file; call it after fixing payers or traces.",
        request=OrganizationInputSerializer,
        responses={200: MatchPendingResultSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(
        detail=False, methods=["post"], url_path="match-pending", pagination_class=None, filterset_class=None
    )
    def match_pending(self, request: Request) -> Response:
        data = self.run_input(OrganizationInputSerializer, request.data)
        organization = _organization_for(
            self, data["organization"], can_reconcile_deposits, "You may not match deposits here."
        )
        matched = deposit_services.deposit_match_pending(organization=organization, by=request.user)
        return Response(MatchPendingResultSerializer({"matched": matched}).data)


# --- the daily report ----------------------------------------------------------------------------


class ReconciliationQuerySerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization.")
    start = serializers.DateField(required=False, help_text="First day; default six days before `end`.")
    end = serializers.DateField(required=False, help_text="Last day; default today in the organization.")
    payer = serializers.UUIDField(required=False, help_text="Reference of a payer: only its rows.")

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end:
            if end < start:
                raise serializers.ValidationError({"end": ["The end is before the start."]})
            if end - start > timedelta(days=MAX_DAYS - 1):
                raise serializers.ValidationError({"end": [f"Choose at most {MAX_DAYS} days."]})
        return attrs


class ReconciliationRowSerializer(serializers.Serializer):
    day = serializers.DateField()
    payer = serializers.UUIDField(
        source="payer_reference", allow_null=True, help_text="Null: payer not identified."
    )
    payer_name = serializers.CharField()
    deposits_count = serializers.IntegerField()
    deposits_total = money_field()
    remittances_count = serializers.IntegerField(
        help_text="835 payments dated this day, duplicates left out."
    )
    remittances_total = money_field(help_text="Σ BPR02.")
    posted_total = money_field(help_text="Σ claim payments posted - Σ provider adjustments posted.")
    unmatched_deposits_count = serializers.IntegerField()
    unmatched_deposits_total = money_field()
    unmatched_remittances_count = serializers.IntegerField(help_text="Payments of money without a deposit.")
    unmatched_remittances_total = money_field()
    difference = money_field(help_text="Remittances - posted: reported by the payer, not posted yet.")
    bank_difference = money_field(help_text="Deposits - remittances.")


class ReconciliationTotalsSerializer(ReconciliationRowSerializer):
    day = None
    payer = None
    payer_name = None


class ReconciliationReportSerializer(serializers.Serializer):
    organization = serializers.UUIDField()
    start = serializers.DateField()
    end = serializers.DateField()
    payer = serializers.UUIDField(allow_null=True)
    rows = ReconciliationRowSerializer(many=True)
    totals = ReconciliationTotalsSerializer()


class ReconciliationViewSet(StaffViewSet):
    """``GET /api/v1/reconciliation/``: the daily reconciliation report as rows."""

    pagination_class = None
    filter_backends: list = []
    predicates = {"list": can_view_claims}

    @extend_schema(
        operation_id="reconciliation_report",
        summary="Daily reconciliation: one row per payer and day",
        description="Deposits, remittances (835 payments by payment date, duplicates left out), what was "
        "posted from them, what is unmatched, and the differences. At most 92 days; the last seven days by "
        "default.",
        parameters=[ReconciliationQuerySerializer],
        responses={200: ReconciliationReportSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def list(self, request: Request) -> Response:
        query = self.run_input(ReconciliationQuerySerializer, request.query_params)
        organization = _organization_for(
            self, query["organization"], can_view_claims, "You may not read this organization's claims."
        )
        start, end = query.get("start"), query.get("end")
        if end is None:
            end = start + timedelta(days=DEFAULT_DAYS - 1) if start else organization_today(organization)
        if start is None:
            start, _ = default_range(end)
        if end < start:
            raise InvalidInput("end: the end is before the start", field="end")
        payer = None
        if query.get("payer"):
            payer = Payer.objects.in_organization(organization).filter(reference=query["payer"]).first()
            if payer is None:
                raise InvalidInput("payer: no such payer in this organization", field="payer")
        report = daily_reconciliation(organization, start=start, end=end, payer=payer)
        body = {
            "organization": organization.reference,
            "start": report.start,
            "end": report.end,
            "payer": payer.reference if payer else None,
            "rows": report.rows,
            "totals": report.totals,
        }
        return Response(ReconciliationReportSerializer(body).data)


# --- insurance audits ----------------------------------------------------------------------------


class AuditDocumentSerializer(serializers.ModelSerializer):
    uploaded_by = UserSerializer(read_only=True)
    download_url = serializers.SerializerMethodField(help_text="The file, for a signed-in browser session.")

    class Meta:
        model = AuditDocument
        fields = [
            "title",
            "filename",
            "content_type",
            "byte_size",
            "sha256",
            "uploaded_by",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI_REF)
    def get_download_url(self, document: AuditDocument) -> str:
        return reverse("claims:audit_document_download", args=[document.audit.reference, document.reference])


class InsuranceAuditSerializer(serializers.ModelSerializer):
    """A payer's audit: what it asked for, by when, and what came of it."""

    organization = _reference()
    payer = _reference()
    payer_name = serializers.CharField(source="payer.name", read_only=True)
    kind = EnumField(InsuranceAuditKind, "InsuranceAuditKindEnum", read_only=True)
    status = EnumField(InsuranceAuditStatus, "InsuranceAuditStatusEnum", read_only=True)
    claims = serializers.SlugRelatedField(slug_field="reference", many=True, read_only=True)
    recoupment_amount = money_field(read_only=True)
    is_overdue = serializers.BooleanField(
        read_only=True, help_text="Still requested or gathering records after the due date."
    )
    owner = UserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = InsuranceAudit
        fields = [
            "reference",
            "organization",
            "payer",
            "payer_name",
            "kind",
            "status",
            "payer_reference",
            "auditor",
            "requested_on",
            "response_business_days",
            "due_date",
            "is_overdue",
            "onsite_date",
            "claims",
            "findings",
            "recoupment_amount",
            "owner",
            "closed_on",
            "created_at",
        ]
        read_only_fields = fields


class AuditCreateInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization audited.")
    payer = VisibleReferenceField(Payer)
    kind = EnumField(InsuranceAuditKind, "InsuranceAuditKindEnum")
    requested_on = serializers.DateField(help_text="Date of the payer's request.")
    response_business_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_RESPONSE_BUSINESS_DAYS,
        default=30,
        help_text="Due this many business days after.",
    )
    payer_reference = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    auditor = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    onsite_date = serializers.DateField(required=False, allow_null=True, default=None)
    claims = VisibleReferenceField(Claim, many=True, required=False, default=list)


class AuditStatusInputSerializer(serializers.Serializer):
    status = EnumField(InsuranceAuditStatus, "InsuranceAuditStatusEnum")
    reason = _reason()


class AuditFindingsInputSerializer(serializers.Serializer):
    findings = serializers.CharField()
    recoupment_amount = money_field(min_value=0)


class AuditClaimsInputSerializer(serializers.Serializer):
    claims = VisibleReferenceField(Claim, many=True, allow_empty=False)


class AuditDocumentInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    file = serializers.FileField(
        help_text=f"PDF, PNG, JPEG, TIFF, TXT or CSV; at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB."
    )


class AuditFilterSet(OrganizationReferenceFilterSet):
    status = django_filters.ChoiceFilter(choices=InsuranceAuditStatus.choices)
    payer = django_filters.UUIDFilter(field_name="payer__reference", help_text="Reference of a payer.")
    open = django_filters.BooleanFilter(method="filter_open", help_text="true: not closed; false: closed.")

    class Meta:
        model = InsuranceAudit
        fields = ["organization", "status", "payer", "open"]

    def filter_open(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        closed = Q(status=InsuranceAuditStatus.CLOSED)
        return queryset.exclude(closed) if value else queryset.filter(closed)


@extend_schema_view(
    list=extend_schema(summary="Insurance audits of your organizations, newest first"),
    retrieve=extend_schema(
        summary="One insurance audit",
        description="Writes a row in the PHI access log.",
        responses={200: InsuranceAuditSerializer, 404: NOT_FOUND},
    ),
)
class InsuranceAuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = InsuranceAuditSerializer
    filterset_class = AuditFilterSet
    predicates = {
        "list": can_view_claims,
        "retrieve": can_view_claims,
        "documents": can_view_claims,
        "create": can_manage_audits,
        "change_status": can_manage_audits,
        "close": can_manage_audits,
        "record_findings": can_manage_audits,
        "add_claims": can_manage_audits,
        "attach_document": can_manage_audits,
    }

    def get_queryset(self) -> QuerySet[InsuranceAudit]:
        return (
            InsuranceAudit.objects.visible_to(self.request.user)
            .select_related("organization", "payer", "owner")
            .prefetch_related(Prefetch("claims", Claim.objects.only("id", "reference").order_by("id")))
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        audit = self.get_object()
        phi_access_record(request=request, subject=audit, organization=audit.organization)
        return Response(self.get_serializer(audit).data)

    def _fresh(self, audit: InsuranceAudit, code: int = status.HTTP_200_OK) -> Response:
        return Response(InsuranceAuditSerializer(self.get_queryset().get(pk=audit.pk)).data, status=code)

    @extend_schema(
        summary="Open an audit (posting specialists, supervisors, admins)",
        description="The due date is `response_business_days` business days after `requested_on` on the "
        "organization's calendar. Claims must be the payer's.",
        request=AuditCreateInputSerializer,
        responses=_responses(_CREATE, InsuranceAuditSerializer),
    )
    def create(self, request: Request) -> Response:
        data = dict(self.run_input(AuditCreateInputSerializer, request.data))
        organization = _organization_for(
            self, data.pop("organization"), can_manage_audits, "You may not open audits here."
        )
        audit = audit_services.audit_open(organization=organization, by=request.user, **data)
        return self._fresh(audit, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="insurance_audits_change_status",
        summary="Move an audit to another status",
        description="Allowed: requested → gathering, submitted or closed; gathering → submitted or closed; "
        "submitted → findings or closed; findings → appealed or closed; appealed → findings or closed. "
        "409 otherwise.",
        request=AuditStatusInputSerializer,
        responses=_responses(_CHANGE, InsuranceAuditSerializer),
    )
    @action(detail=True, methods=["post"], url_path="change-status", url_name="change-status")
    def change_status(self, request: Request, reference: UUID) -> Response:
        audit = self.get_object()
        data = self.run_input(AuditStatusInputSerializer, request.data)
        audit_services.audit_change_status(
            audit=audit, status=data["status"], by=request.user, reason=data["reason"]
        )
        return self._fresh(audit)

    @extend_schema(
        operation_id="insurance_audits_close",
        summary="Close an audit",
        request=ReasonInputSerializer,
        responses=_responses(_CHANGE, InsuranceAuditSerializer),
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, reference: UUID) -> Response:
        audit = self.get_object()
        data = self.run_input(ReasonInputSerializer, request.data)
        audit_services.audit_close(audit=audit, by=request.user, reason=data["reason"])
        return self._fresh(audit)

    @extend_schema(
        operation_id="insurance_audits_record_findings",
        summary="Record (or revise) the auditor's findings and recoupment",
        description="After the records were sent, or after an appeal; the audit becomes “findings received”.",
        request=AuditFindingsInputSerializer,
        responses=_responses(_CHANGE, InsuranceAuditSerializer),
    )
    @action(detail=True, methods=["post"], url_path="record-findings", url_name="record-findings")
    def record_findings(self, request: Request, reference: UUID) -> Response:
        audit = self.get_object()
        data = self.run_input(AuditFindingsInputSerializer, request.data)
        audit_services.audit_record_findings(
            audit=audit,
            findings=data["findings"],
            recoupment_amount=data["recoupment_amount"],
            by=request.user,
        )
        return self._fresh(audit)

    @extend_schema(
        operation_id="insurance_audits_add_claims",
        summary="Add claims the auditor asked for",
        request=AuditClaimsInputSerializer,
        responses=_responses(_CHANGE, InsuranceAuditSerializer),
    )
    @action(detail=True, methods=["post"], url_path="add-claims", url_name="add-claims")
    def add_claims(self, request: Request, reference: UUID) -> Response:
        audit = self.get_object()
        data = self.run_input(AuditClaimsInputSerializer, request.data)
        audit_services.audit_add_claims(audit=audit, claims=data["claims"], by=request.user)
        return self._fresh(audit)

    @extend_schema(
        operation_id="insurance_audits_documents",
        summary="The documents of an audit (metadata)",
        responses={200: AuditDocumentSerializer(many=True), 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["get"],
        parser_classes=[MultiPartParser, FormParser],
        pagination_class=None,
        filterset_class=None,
    )
    def documents(self, request: Request, reference: UUID) -> Response:
        audit = self.get_object()
        documents = (
            AuditDocument.objects.filter(audit=audit).defer("content").select_related("audit", "uploaded_by")
        )
        return Response(AuditDocumentSerializer(documents, many=True).data)

    @extend_schema(
        operation_id="insurance_audits_attach_document",
        summary="Attach a document to an audit",
        description="Multipart with `file` (PDF, PNG, JPEG, TIFF, TXT or CSV; at most 10 MB) and an optional "
        "`title`. The file's content must match its extension.",
        request={"multipart/form-data": AuditDocumentInputSerializer},
        responses=_responses(_CREATE, AuditDocumentSerializer),
    )
    @documents.mapping.post
    def attach_document(self, request: Request, reference: UUID) -> Response:
        audit = self.get_object()
        data = self.run_input(AuditDocumentInputSerializer, request.data)
        document = audit_services.audit_attach_document(
            audit=audit, title=data["title"], uploaded_file=data["file"], by=request.user
        )
        return Response(AuditDocumentSerializer(document).data, status=status.HTTP_201_CREATED)


# --- code texts ----------------------------------------------------------------------------------


class CodeDescriptionSerializer(serializers.ModelSerializer):
    code_set = EnumField(CodeDescriptionCodeSet, "CodeSetEnum", read_only=True)

    class Meta:
        model = CodeDescription
        fields = ["code_set", "code", "description", "start_date", "last_modified", "stop_date"]
        read_only_fields = fields


class CodeLoadInputSerializer(OrganizationInputSerializer):
    code_set = EnumField(CodeDescriptionCodeSet, "CodeSetEnum")
    file = serializers.FileField(
        help_text="CSV or tab-separated: code, description and optionally start_date, last_modified, "
        "stop_date."
    )


class CodeLoadResultSerializer(serializers.Serializer):
    code_set = EnumField(CodeDescriptionCodeSet, "CodeSetEnum")
    filename = serializers.CharField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class CodeDescriptionFilterSet(OrganizationReferenceFilterSet):
    code_set = django_filters.ChoiceFilter(choices=CodeDescriptionCodeSet.choices)
    code = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = CodeDescription
        fields = ["organization", "code_set", "code"]


class CodeOrderPagination(StableCursorPagination):
    """Code texts in code order; they have no creation stamp, and their ids say nothing of interest."""

    ordering = ("code", "id")


@extend_schema_view(list=extend_schema(summary="Official CARC/RARC texts loaded by your organizations"))
class CodeDescriptionViewSet(mixins.ListModelMixin, StaffViewSet):
    serializer_class = CodeDescriptionSerializer
    filterset_class = CodeDescriptionFilterSet
    pagination_class = CodeOrderPagination
    predicates = {"list": can_view_claims, "load": can_load_code_descriptions}

    def get_queryset(self) -> QuerySet[CodeDescription]:
        return CodeDescription.objects.visible_to(self.request.user)

    @extend_schema(
        operation_id="code_descriptions_load",
        summary="Load a CARC or RARC list (supervisors, admins)",
        description="Upsert by code; everything or nothing. Codes not in the file are kept.",
        request={"multipart/form-data": CodeLoadInputSerializer},
        responses={200: CodeLoadResultSerializer, 400: REJECTED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(
        detail=False,
        methods=["post"],
        parser_classes=[MultiPartParser, FormParser],
        pagination_class=None,
        filterset_class=None,
    )
    def load(self, request: Request) -> Response:
        data = self.run_input(CodeLoadInputSerializer, request.data)
        organization = _organization_for(
            self,
            data["organization"],
            can_load_code_descriptions,
            "Only supervisors and admins load code texts.",
        )
        upload = data["file"]
        result = code_services.code_descriptions_load(
            organization=organization,
            code_set=data["code_set"],
            data=upload.read(),
            by=request.user,
            filename=upload.name,
        )
        return Response(CodeLoadResultSerializer(result.as_dict()).data)
