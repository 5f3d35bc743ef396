"""Claims API: claims with their lines (list, read, create from charges, submit, change status,
correct, add notes), and 837 intake (``POST /api/v1/claim-imports/837/``).

Querysets start from ``visible_to(request.user)``: another organization's claim answers 404
in URLs and "does not exist" in request bodies. Writes go through ``claims.services.claims``
and ``claims.intake837``, which check the role again inside their transaction.

PHI access log: retrieving a claim logs the claim; a list logs the account of each claim on
the page.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import django_filters
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import EnumField, VisibleReferenceField, money_field
from accounts.api.views import LogsListedRecords, record_access
from accounts.models import Charge, Coverage, PatientAccount
from claims.intake837 import (
    INTAKE_FILENAME,
    MAX_FILE_BYTES,
    IntakeError,
    IntakeRejected,
    IntakeResult,
    import_837,
)
from claims.models import Claim, ClaimLine, ClaimNote
from claims.models.claims import ClaimFrequency, ClaimKind, ClaimSource, ClaimStatus
from claims.permissions import can_manage_claims, can_note_claims
from claims.services import claims as services
from core.errors import InvalidInput
from staff.api.base import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, StaffViewSet
from staff.api.filters import OrganizationReferenceFilterSet
from staff.api.serializers import REASON_MAX_LENGTH, UserSerializer
from staff.permissions import require


def _reference_field(**kwargs: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="reference", read_only=True, **kwargs)


# --- read serializers ---------------------------------------------------------------------------------


class ClaimLineSerializer(serializers.ModelSerializer):
    """One billed service or dispensed drug; ``charge`` is the account's charge it bills."""

    charge = _reference_field(allow_null=True)
    billed_amount = money_field(read_only=True)

    class Meta:
        model = ClaimLine
        fields = [
            "line_number",
            "charge",
            "code_type",
            "code",
            "modifiers",
            "revenue_code",
            "units",
            "billed_amount",
            "service_from",
            "service_to",
            "line_control_number",
            "rx_number",
            "fill_number",
            "ndc",
            "quantity",
            "days_supply",
            "daw",
        ]
        read_only_fields = fields


class ClaimNoteSerializer(serializers.ModelSerializer):
    author = UserSerializer(read_only=True)

    class Meta:
        model = ClaimNote
        fields = ["author", "text", "created_at"]
        read_only_fields = fields


class ClaimStatusChangeSerializer(serializers.Serializer):
    status = EnumField(ClaimStatus, "ClaimStatusEnum", read_only=True)
    changed_at = serializers.DateTimeField(read_only=True)
    changed_by = UserSerializer(read_only=True, allow_null=True)
    reason = serializers.CharField(read_only=True, allow_blank=True)


class ClaimSerializer(serializers.ModelSerializer):
    """A claim's header: who is billed for what, where it stands, and its timely-filing deadline."""

    organization = _reference_field()
    account = _reference_field()
    account_number = serializers.CharField(source="account.account_number", read_only=True)
    coverage = _reference_field(allow_null=True)
    payer = _reference_field()
    payer_name = serializers.CharField(source="payer.name", read_only=True)
    original_claim = _reference_field(allow_null=True)
    kind = EnumField(ClaimKind, "ClaimKindEnum", read_only=True)
    frequency = EnumField(ClaimFrequency, "ClaimFrequencyEnum", read_only=True)
    status = EnumField(ClaimStatus, "ClaimStatusEnum", read_only=True)
    source = EnumField(ClaimSource, "ClaimSourceEnum", read_only=True)
    billed_amount = money_field(read_only=True)
    paid_amount = money_field(read_only=True)
    patient_responsibility = money_field(read_only=True)

    class Meta:
        model = Claim
        fields = [
            "reference",
            "organization",
            "account",
            "account_number",
            "coverage",
            "payer",
            "payer_name",
            "patient_control_number",
            "kind",
            "frequency",
            "original_claim",
            "status",
            "source",
            "billed_amount",
            "paid_amount",
            "patient_responsibility",
            "service_from",
            "service_to",
            "place_of_service",
            "type_of_bill",
            "diagnoses",
            "prior_authorization",
            "submitted_on",
            "timely_filing_deadline",
            "payer_claim_number",
            "last_remittance_on",
            "bin",
            "pcn",
            "rx_group",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ClaimDetailSerializer(ClaimSerializer):
    """A claim with its lines, notes, corrections and status history."""

    lines = ClaimLineSerializer(many=True, read_only=True)
    notes = ClaimNoteSerializer(many=True, read_only=True)
    corrections = _reference_field(many=True)
    status_history = serializers.SerializerMethodField(help_text="Status changes, oldest first.")

    class Meta(ClaimSerializer.Meta):
        fields = [*ClaimSerializer.Meta.fields, "lines", "notes", "corrections", "status_history"]
        read_only_fields = fields

    @extend_schema_field(ClaimStatusChangeSerializer(many=True))
    def get_status_history(self, claim: Claim) -> list[dict]:
        rows = [
            {
                "status": row.status,
                "changed_at": row.history_date,
                "changed_by": row.history_user,
                "reason": row.history_change_reason or "",
            }
            for row in reversed(services.status_history(claim))
        ]
        return ClaimStatusChangeSerializer(rows, many=True).data


# --- input serializers --------------------------------------------------------------------------------


class ClaimCreateInputSerializer(serializers.Serializer):
    account = VisibleReferenceField(
        PatientAccount, help_text="Reference of the account whose charges are billed."
    )
    coverage = VisibleReferenceField(
        Coverage, help_text="Reference of the coverage (of the account's patient) to bill."
    )
    charges = serializers.ListField(
        child=serializers.UUIDField(),
        min_length=1,
        max_length=999,
        help_text="References of the posted charges to bill; each becomes a line.",
    )
    kind = EnumField(
        ClaimKind,
        "ClaimKindEnum",
        required=False,
        help_text="Default: institutional for hospital accounts, professional for professional ones, "
        "pharmacy for pharmacy accounts or a PBM.",
    )

    def validate_charges(self, value: list[UUID]) -> list[Charge]:
        request = self.context.get("request")
        wanted = set(value)
        found = list(Charge.objects.visible_to(getattr(request, "user", None)).filter(reference__in=wanted))
        missing = wanted - {charge.reference for charge in found}
        if missing:
            named = ", ".join(sorted(str(m) for m in missing)[:5])
            raise serializers.ValidationError(f"{len(missing)} of these charges do not exist: {named}")
        return found


class ClaimSubmitInputSerializer(serializers.Serializer):
    submitted_on = serializers.DateField(
        required=False, help_text="The day the claim was sent; default today."
    )


class ClaimChangeStatusInputSerializer(serializers.Serializer):
    status = EnumField(ClaimStatus, "ClaimStatusEnum")
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH, help_text="Why the change is made; kept in the claim's history."
    )


class ClaimCorrectInputSerializer(serializers.Serializer):
    frequency = EnumField(
        [(ClaimFrequency.REPLACEMENT.value, "Replacement"), (ClaimFrequency.VOID.value, "Void")],
        "ClaimCorrectionFrequencyEnum",
        help_text="7: a replacement of the claim; 8: a void of it.",
    )
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, help_text="Why the claim is corrected.")


class ClaimNoteInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=services.NOTE_MAX_LENGTH)


# --- the claims viewset ----------------------------------------------------------------------------------


class ClaimFilterSet(OrganizationReferenceFilterSet):
    status = django_filters.ChoiceFilter(choices=ClaimStatus.choices)
    kind = django_filters.ChoiceFilter(choices=ClaimKind.choices)
    payer = django_filters.UUIDFilter(field_name="payer__reference", help_text="Reference of a payer.")
    account = django_filters.UUIDFilter(field_name="account__reference", help_text="Reference of an account.")
    patient_control_number = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Claim
        fields = ["organization", "status", "kind", "payer", "account", "patient_control_number"]


@extend_schema_view(
    list=extend_schema(summary="Claims of your organizations, newest first"),
    retrieve=extend_schema(
        summary="A claim with its lines, notes, corrections and status history",
        description="Writes a row in the PHI access log.",
        responses={200: ClaimDetailSerializer, 404: NOT_FOUND},
    ),
)
class ClaimViewSet(LogsListedRecords, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    phi_subject = "account"
    serializer_class = ClaimSerializer
    filterset_class = ClaimFilterSet
    predicates = {
        "create": can_manage_claims,
        "submit": can_manage_claims,
        "change_status": can_manage_claims,
        "correct": can_manage_claims,
        "notes": can_note_claims,
    }

    def get_queryset(self) -> QuerySet[Claim]:
        queryset = Claim.objects.visible_to(self.request.user).select_related(
            "organization", "account", "coverage", "payer", "original_claim"
        )
        return self._with_details(queryset) if self.action == "retrieve" else queryset

    @staticmethod
    def _with_details(queryset: QuerySet[Claim]) -> QuerySet[Claim]:
        return queryset.prefetch_related(
            Prefetch("lines", queryset=ClaimLine.objects.select_related("charge").order_by("line_number")),
            Prefetch("notes", queryset=ClaimNote.objects.select_related("author")),
            Prefetch("corrections", queryset=Claim.objects.order_by("id")),
        )

    def _detail(self, claim: Claim, code: int = status.HTTP_200_OK) -> Response:
        """The claim as it is after a change, with its lines and notes."""
        fresh = self._with_details(self.get_queryset()).get(pk=claim.pk)
        return Response(ClaimDetailSerializer(fresh).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        claim = self.get_object()
        record_access(request, claim, claim.organization)
        return Response(ClaimDetailSerializer(claim).data)

    @extend_schema(
        summary="Bill charges of an account on a new claim (posting specialists, senior representatives, "
        "supervisors, admins)",
        description="The claim starts as created; submit it when it is sent. Refused with 400 naming the "
        "charge when one has an open charge edit, is reversed, belongs to another account or is already on "
        "an open claim to the same payer.",
        request=ClaimCreateInputSerializer,
        responses={201: ClaimDetailSerializer, 400: INVALID, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(ClaimCreateInputSerializer, request.data)
        claim = services.claim_create_from_charges(
            account=data["account"],
            coverage=data["coverage"],
            charges=data["charges"],
            kind=data.get("kind") or None,
            by=request.user,
        )
        return self._detail(claim, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="claims_submit",
        summary="Record that the claim was sent to the payer (claim workers)",
        description="Sets the submission day and the timely-filing deadline from the payer's rule.",
        request=ClaimSubmitInputSerializer,
        responses={200: ClaimDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, reference: UUID) -> Response:
        claim = self.get_object()
        data = self.run_input(ClaimSubmitInputSerializer, request.data)
        services.claim_submit(claim=claim, by=request.user, submitted_on=data.get("submitted_on"))
        return self._detail(claim)

    @extend_schema(
        operation_id="claims_change_status",
        summary="Move a claim to another status (claim workers)",
        description="Refused with 409 when the claim's transition table does not allow it.",
        request=ClaimChangeStatusInputSerializer,
        responses={200: ClaimDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="change-status", url_name="change-status")
    def change_status(self, request: Request, reference: UUID) -> Response:
        claim = self.get_object()
        data = self.run_input(ClaimChangeStatusInputSerializer, request.data)
        services.claim_change_status(
            claim=claim, status=data["status"], reason=data["reason"], by=request.user
        )
        return self._detail(claim)

    @extend_schema(
        operation_id="claims_correct",
        summary="Make a replacement (7) or void (8) of a claim the payer has received (claim workers)",
        description="Returns the new claim, which points to this one as its original.",
        request=ClaimCorrectInputSerializer,
        responses={201: ClaimDetailSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def correct(self, request: Request, reference: UUID) -> Response:
        claim = self.get_object()
        data = self.run_input(ClaimCorrectInputSerializer, request.data)
        correction = services.claim_correct(
            claim=claim, frequency=data["frequency"], reason=data["reason"], by=request.user
        )
        return self._detail(correction, status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="claims_notes",
        summary="Add a note to a claim (anyone in the organization)",
        request=ClaimNoteInputSerializer,
        responses={201: ClaimNoteSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def notes(self, request: Request, reference: UUID) -> Response:
        claim = self.get_object()
        data = self.run_input(ClaimNoteInputSerializer, request.data)
        note = services.claim_note_add(claim=claim, text=data["text"], by=request.user)
        return Response(ClaimNoteSerializer(note).data, status=status.HTTP_201_CREATED)


# --- 837 intake ----------------------------------------------------------------------------------------


class ClaimImportInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization to import into.")
    file = serializers.FileField(
        help_text=f"The X12 837P or 837I file, at most {MAX_FILE_BYTES // (1024 * 1024)} MB."
    )


class IntakeErrorSerializer(serializers.Serializer):
    claim = serializers.CharField(help_text="The claim's patient control number; empty for the whole file.")
    segment_index = serializers.IntegerField(allow_null=True, help_text="Where in the file the problem is.")
    message = serializers.CharField()


class IntakeDiagnosticSerializer(serializers.Serializer):
    claim = serializers.CharField(allow_blank=True)
    code = serializers.CharField()
    severity = serializers.CharField()
    segment_index = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class ClaimOutcomeSerializer(serializers.Serializer):
    patient_control_number = serializers.CharField(allow_blank=True)
    segment_index = serializers.IntegerField(allow_null=True)
    outcome = EnumField(
        [(value, value) for value in ("created", "existing", "skipped", "error", "not_imported")],
        "ClaimIntakeOutcomeEnum",
        help_text="created; existing (received before); skipped (repeated in the file); error; not_imported "
        "(fine, but the file was rejected).",
    )
    claim = serializers.CharField(allow_blank=True, help_text="Reference of the claim, when there is one.")
    account_number = serializers.CharField(allow_blank=True)
    lines = serializers.IntegerField()
    billed_amount = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)


class IntakeResultSerializer(serializers.Serializer):
    filename = serializers.CharField()
    kind = serializers.CharField(allow_blank=True, help_text="professional or institutional.")
    ok = serializers.BooleanField()
    summary = serializers.CharField()
    claims_in_file = serializers.IntegerField()
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    skipped = serializers.IntegerField()
    patients_created = serializers.IntegerField()
    guarantors_created = serializers.IntegerField()
    coverages_created = serializers.IntegerField()
    accounts_created = serializers.IntegerField()
    charges_created = serializers.IntegerField()
    charges_linked = serializers.IntegerField()
    errors = IntakeErrorSerializer(many=True)
    diagnostics = IntakeDiagnosticSerializer(many=True)
    claims = ClaimOutcomeSerializer(many=True)


REJECTED = OpenApiResponse(
    IntakeResultSerializer,
    description="Nothing was imported: `errors` lists every problem with the claim's patient control number "
    "and segment (a file that is not an 837 has one error for the whole file).",
)


class ClaimImportViewSet(StaffViewSet):
    parser_classes = [MultiPartParser]
    pagination_class = None
    filter_backends: list = []
    predicates = {"x837": can_manage_claims}

    @extend_schema(
        operation_id="claim_imports_837",
        summary="Import claims from an X12 837P/837I file (posting specialists, senior representatives, "
        "supervisors, admins)",
        description="All or nothing. Each claim lands on the account whose number is its patient control "
        "number; a missing patient, coverage or account is created from the file, an ambiguous match is an "
        "error. 201 when claims were created, 200 when every claim had been received before.",
        request={"multipart/form-data": ClaimImportInputSerializer},
        responses={
            201: IntakeResultSerializer,
            200: IntakeResultSerializer,
            400: REJECTED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=False, methods=["post"], url_path="837", url_name="837")
    def x837(self, request: Request) -> Response:
        data = self.run_input(ClaimImportInputSerializer, request.data)
        organization = self.visible_organization(data["organization"])
        require(can_manage_claims(request.user, organization), "Your role does not allow importing claims.")
        upload = data["file"]
        filename = upload.name or "claims.837"
        try:
            if upload.size > MAX_FILE_BYTES:
                raise InvalidInput(
                    f"file: {filename} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it",
                    field="file",
                )
            result = import_837(
                organization=organization, data=upload.read(), filename=filename, by=request.user
            )
        except IntakeRejected as exc:
            return Response(
                IntakeResultSerializer(exc.result.as_dict()).data, status=status.HTTP_400_BAD_REQUEST
            )
        except InvalidInput as exc:
            refused = IntakeResult(
                filename=services.clean_filename(filename, default=INTAKE_FILENAME),
                errors=[IntakeError("", None, exc.message)],
            )
            return Response(
                IntakeResultSerializer(refused.as_dict()).data, status=status.HTTP_400_BAD_REQUEST
            )
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(IntakeResultSerializer(result.as_dict()).data, status=code)
