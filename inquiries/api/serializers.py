"""Inquiries API serializers: one primary (read) serializer per model, small input serializers per write.

Relations are read and written as the related object's UUID ``reference``, looked up
among the rows the caller may see. A case's balances, ledger and claims appear only in
the case detail, and only when ``inquiries.selectors.disclosure_for`` allows them: until
the caller is verified the keys are absent, and ``disclosure.reasons`` says why.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import EnumField, VisibleReferenceField, money_field
from accounts.models import AuthorizedContact, Coverage, Language, Patient, PatientAccount
from claims.models import Claim
from inquiries.models import (
    BenefitEstimate,
    BenefitInvestigation,
    CallerKind,
    CallerType,
    Case,
    CaseStatus,
    Category,
    Channel,
    Department,
    Direction,
    EstimateLine,
    Identifier,
    Interaction,
    InterpreterKind,
    Outcome,
    Priority,
    Referral,
    Relationship,
    Scope,
    Script,
    Verification,
)
from staff.api.serializers import REASON_MAX_LENGTH, UserSerializer


def _reference_field(**kwargs: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="reference", read_only=True, **kwargs)


# --- cases ----------------------------------------------------------------------------------------------


class CaseSerializer(serializers.ModelSerializer):
    """A case's header: subject, caller, category, where it stands and when it is due. No balances."""

    organization = _reference_field()
    patient = _reference_field(allow_null=True)
    account = _reference_field(allow_null=True)
    account_number = serializers.CharField(source="account.account_number", read_only=True, allow_null=True)
    claim = _reference_field(allow_null=True)
    department = _reference_field(allow_null=True)
    assigned_to = UserSerializer(read_only=True, allow_null=True)
    caller_type = EnumField(CallerType, "CaseCallerTypeEnum", read_only=True)
    channel = EnumField(Channel, "CaseChannelEnum", read_only=True)
    category = EnumField(Category, "CaseCategoryEnum", read_only=True)
    priority = EnumField(Priority, "CasePriorityEnum", read_only=True)
    status = EnumField(CaseStatus, "CaseStatusEnum", read_only=True)

    class Meta:
        model = Case
        fields = [
            "reference",
            "organization",
            "number",
            "patient",
            "account",
            "account_number",
            "claim",
            "provider_name",
            "caller_type",
            "caller_name",
            "caller_phone",
            "caller_email",
            "channel",
            "category",
            "priority",
            "status",
            "summary",
            "description",
            "assigned_to",
            "department",
            "follow_up_on",
            "pend_reason",
            "first_response_due_at",
            "due_at",
            "first_responded_at",
            "awaiting_reply_since",
            "reply_due_at",
            "resolution",
            "resolved_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DisclosureSerializer(serializers.Serializer):
    balances = serializers.BooleanField(help_text="Balances and the ledger may be told to this caller.")
    claims = serializers.BooleanField(help_text="Claim details may be told to this caller.")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Why something is hidden.")
    verified = serializers.BooleanField(help_text="The latest verification, within its window, passed.")
    overridden = serializers.BooleanField(help_text="An unexpired override shows the details.")
    override_reason = serializers.CharField(allow_blank=True)
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the caller must be verified again."
    )


class CaseBalancesSerializer(serializers.Serializer):
    total = money_field()
    patient = money_field()
    insurance = money_field()


class CaseLedgerEntrySerializer(serializers.Serializer):
    effective_date = serializers.DateField()
    kind = serializers.CharField()
    party = serializers.CharField()
    amount = money_field()


class CaseClaimSerializer(serializers.Serializer):
    reference = serializers.UUIDField()
    patient_control_number = serializers.CharField()
    payer = serializers.CharField()
    status = serializers.CharField()
    service_from = serializers.DateField()
    billed_amount = money_field()
    paid_amount = money_field()


class CaseDetailSerializer(CaseSerializer):
    """A case with the disclosure guard's answer, and the account details it allows.

    ``balances`` and ``ledger`` are present only when ``disclosure.balances`` is true, and
    ``claims`` only when ``disclosure.claims`` is true.
    """

    disclosure = serializers.SerializerMethodField()
    balances = serializers.SerializerMethodField(required=False)
    ledger = serializers.SerializerMethodField(required=False)
    claims = serializers.SerializerMethodField(required=False)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "disclosure", "balances", "ledger", "claims"]
        read_only_fields = fields

    def _disclosure(self) -> Any:
        return self.context["disclosure"]

    @extend_schema_field(DisclosureSerializer)
    def get_disclosure(self, case: Case) -> dict:
        disclosure = self._disclosure()
        verification = disclosure.verification
        return {
            "balances": disclosure.balances,
            "claims": disclosure.claims,
            "reasons": disclosure.reasons,
            "verified": bool(verification and verification.passed and disclosure.expires_at),
            "overridden": disclosure.override is not None,
            "override_reason": disclosure.override.reason if disclosure.override else "",
            "expires_at": disclosure.expires_at,
        }

    @extend_schema_field(CaseBalancesSerializer)
    def get_balances(self, case: Case) -> dict | None:
        details = self.context["disclosed"]
        if details.balance is None:
            return None
        return CaseBalancesSerializer(
            {
                "total": details.balance,
                "patient": details.patient_balance,
                "insurance": details.insurance_balance,
            }
        ).data

    @extend_schema_field(CaseLedgerEntrySerializer(many=True))
    def get_ledger(self, case: Case) -> list | None:
        details = self.context["disclosed"]
        if details.balance is None:
            return None
        return CaseLedgerEntrySerializer(
            [
                {
                    "effective_date": e.effective_date,
                    "kind": e.get_kind_display(),
                    "party": e.coverage.plan.payer.name if e.coverage_id else "Patient",
                    "amount": e.amount,
                }
                for e in details.ledger
            ],
            many=True,
        ).data

    @extend_schema_field(CaseClaimSerializer(many=True))
    def get_claims(self, case: Case) -> list | None:
        if not self._disclosure().claims:
            return None
        return CaseClaimSerializer(
            [
                {
                    "reference": c.reference,
                    "patient_control_number": c.patient_control_number,
                    "payer": c.payer.name,
                    "status": c.get_status_display(),
                    "service_from": c.service_from,
                    "billed_amount": c.billed_amount,
                    "paid_amount": c.paid_amount,
                }
                for c in self.context["disclosed"].claims
            ],
            many=True,
        ).data

    def to_representation(self, instance: Case) -> dict:
        data = super().to_representation(instance)
        # Absent, not null: a client that does not check ``disclosure`` cannot show what it never got.
        for key in ("balances", "ledger", "claims"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class CaseCreateInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization the case belongs to.")
    channel = EnumField(Channel, "CaseChannelEnum")
    category = EnumField(Category, "CaseCategoryEnum")
    caller_type = EnumField(CallerType, "CaseCallerTypeEnum")
    priority = EnumField(Priority, "CasePriorityEnum", required=False, default=Priority.NORMAL)
    summary = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    patient = VisibleReferenceField(Patient, required=False, allow_null=True, default=None)
    account = VisibleReferenceField(PatientAccount, required=False, allow_null=True, default=None)
    claim = VisibleReferenceField(Claim, required=False, allow_null=True, default=None)
    provider_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    caller_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    caller_phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    caller_email = serializers.EmailField(required=False, allow_blank=True, default="")


class CasePendInputSerializer(serializers.Serializer):
    follow_up_on = serializers.DateField(help_text="A business day after today.")
    reason = serializers.CharField(max_length=300)


class CaseResolveInputSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=2000)


class CaseReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH)


class CaseTransferInputSerializer(serializers.Serializer):
    department = VisibleReferenceField(Department, help_text="Reference of an active department.")
    reason = serializers.CharField(max_length=300)


class CaseReferInputSerializer(serializers.Serializer):
    kind = EnumField(Referral.Kind, "ReferralKindEnum")
    reason = serializers.CharField(max_length=500)


class CaseOverrideInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        min_length=10, max_length=300, help_text="Why this unverified caller may be told; kept and logged."
    )


class ReferralSerializer(serializers.ModelSerializer):
    case = _reference_field()
    kind = EnumField(Referral.Kind, "ReferralKindEnum", read_only=True)
    status = EnumField(Referral.Status, "ReferralStatusEnum", read_only=True)

    class Meta:
        model = Referral
        fields = [
            "reference",
            "case",
            "kind",
            "reason",
            "status",
            "referred_at",
            "acknowledged_at",
            "closed_at",
            "outcome",
        ]
        read_only_fields = fields


# --- interactions ------------------------------------------------------------------------------------


class InteractionSerializer(serializers.ModelSerializer):
    """One contact on a case: who was reached how, the outcome, the interpreter and the script followed."""

    case = _reference_field()
    case_number = serializers.CharField(source="case.number", read_only=True)
    direction = EnumField(Direction, "InteractionDirectionEnum", read_only=True)
    channel = EnumField(Channel, "CaseChannelEnum", read_only=True)
    relationship = EnumField(Relationship, "InteractionRelationshipEnum", read_only=True)
    outcome = EnumField(Outcome, "InteractionOutcomeEnum", read_only=True)
    interpreter_language = EnumField(Language, "InterpreterLanguageEnum", read_only=True, allow_null=True)
    interpreter_kind = EnumField(InterpreterKind, "InterpreterKindEnum", read_only=True, allow_null=True)
    script = serializers.SerializerMethodField()
    logged_by = UserSerializer(read_only=True)

    class Meta:
        model = Interaction
        fields = [
            "reference",
            "case",
            "case_number",
            "started_at",
            "ended_at",
            "direction",
            "channel",
            "contact_point",
            "person_contacted",
            "relationship",
            "outcome",
            "message_left_with",
            "notes",
            "interpreter_used",
            "interpreter_language",
            "interpreter_kind",
            "interpreter_reference",
            "script",
            "steps_completed",
            "disclosures_missed",
            "logged_by",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True, help_text='"<script name> v<number>"'))
    def get_script(self, interaction: Interaction) -> str | None:
        return str(interaction.script_version) if interaction.script_version_id else None


class InteractionCreateInputSerializer(serializers.Serializer):
    case = VisibleReferenceField(Case)
    direction = EnumField(Direction, "InteractionDirectionEnum")
    channel = EnumField(Channel, "CaseChannelEnum")
    relationship = EnumField(Relationship, "InteractionRelationshipEnum")
    outcome = EnumField(Outcome, "InteractionOutcomeEnum")
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    contact_point = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    person_contacted = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    message_left_with = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    interpreter_used = serializers.BooleanField(required=False, default=False)
    interpreter_language = EnumField(
        Language, "InterpreterLanguageEnum", required=False, allow_blank=True, default=""
    )
    interpreter_kind = EnumField(
        InterpreterKind, "InterpreterKindEnum", required=False, allow_blank=True, default=""
    )
    interpreter_reference = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    script = VisibleReferenceField(
        Script,
        required=False,
        allow_null=True,
        default=None,
        help_text="The script followed (its current version).",
    )
    steps_completed = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=60
    )


# --- verifications ---------------------------------------------------------------------------------


class VerificationSerializer(serializers.ModelSerializer):
    case = _reference_field()
    caller_kind = EnumField(CallerKind, "CallerKindEnum", read_only=True)
    authorized_contact = _reference_field(allow_null=True)
    matched = serializers.ListField(child=EnumField(Identifier, "IdentifierEnum"), read_only=True)
    mismatched = serializers.ListField(child=EnumField(Identifier, "IdentifierEnum"), read_only=True)
    scopes = serializers.ListField(child=EnumField(Scope, "DisclosureScopeEnum"), read_only=True)
    verified_by = UserSerializer(read_only=True)

    class Meta:
        model = Verification
        fields = [
            "reference",
            "case",
            "caller_kind",
            "caller_name",
            "authorized_contact",
            "matched",
            "mismatched",
            "required_count",
            "passed",
            "scopes",
            "failure_reason",
            "verified_by",
            "verified_at",
        ]
        read_only_fields = fields


class VerificationAnswersSerializer(serializers.Serializer):
    """What the caller said, as typed; compared with the record and never stored."""

    dob = serializers.DateField(required=False, allow_null=True)
    address = serializers.CharField(required=False, allow_blank=True, max_length=120)
    account_number = serializers.CharField(required=False, allow_blank=True, max_length=38)
    ssn_last4 = serializers.CharField(required=False, allow_blank=True, max_length=4)
    member_id = serializers.CharField(required=False, allow_blank=True, max_length=40)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=20)


class VerificationCreateInputSerializer(serializers.Serializer):
    case = VisibleReferenceField(Case)
    caller_kind = EnumField(CallerKind, "CallerKindEnum")
    authorized_contact = VisibleReferenceField(
        AuthorizedContact, required=False, allow_null=True, default=None
    )
    caller_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    answers = VerificationAnswersSerializer()


# --- benefit investigations ----------------------------------------------------------------------


class EstimateLineSerializer(serializers.ModelSerializer):
    amount = money_field(read_only=True)
    deductible_amount = money_field(read_only=True)
    coinsurance_amount = money_field(read_only=True)
    copay_amount = money_field(read_only=True)
    patient_amount = money_field(read_only=True)

    class Meta:
        model = EstimateLine
        fields = [
            "position",
            "code",
            "description",
            "amount",
            "deductible_amount",
            "coinsurance_amount",
            "copay_amount",
            "patient_amount",
        ]
        read_only_fields = fields


class BenefitEstimateSerializer(serializers.ModelSerializer):
    lines = EstimateLineSerializer(many=True, read_only=True)
    total_amount = money_field(read_only=True)
    deductible_amount = money_field(read_only=True)
    coinsurance_amount = money_field(read_only=True)
    copay_amount = money_field(read_only=True)
    patient_amount = money_field(read_only=True)
    plan_pays = money_field(read_only=True)

    class Meta:
        model = BenefitEstimate
        fields = [
            "reference",
            "total_amount",
            "deductible_amount",
            "coinsurance_amount",
            "copay_amount",
            "patient_amount",
            "plan_pays",
            "capped_by_out_of_pocket",
            "lines",
            "created_at",
        ]
        read_only_fields = fields


class BenefitInvestigationSerializer(serializers.ModelSerializer):
    case = _reference_field(allow_null=True)
    coverage = _reference_field()
    payer_name = serializers.CharField(source="coverage.plan.payer.name", read_only=True)
    deductible = money_field(read_only=True)
    deductible_met = money_field(read_only=True)
    copay = money_field(read_only=True)
    out_of_pocket_max = money_field(read_only=True)
    out_of_pocket_met = money_field(read_only=True)
    coinsurance_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, read_only=True, coerce_to_string=True
    )
    investigated_by = UserSerializer(read_only=True)
    estimates = BenefitEstimateSerializer(many=True, read_only=True)

    class Meta:
        model = BenefitInvestigation
        fields = [
            "reference",
            "case",
            "coverage",
            "payer_name",
            "plan_active",
            "deductible",
            "deductible_met",
            "coinsurance_percent",
            "copay",
            "out_of_pocket_max",
            "out_of_pocket_met",
            "prior_auth_required",
            "prior_auth_number",
            "payer_rep_name",
            "reference_number",
            "investigated_on",
            "notes",
            "investigated_by",
            "estimates",
            "created_at",
        ]
        read_only_fields = fields


class BenefitInvestigationCreateInputSerializer(serializers.Serializer):
    case = VisibleReferenceField(Case)
    coverage = VisibleReferenceField(Coverage, help_text="One of the case patient's coverages.")
    plan_active = serializers.BooleanField()
    deductible = money_field(required=False, min_value=Decimal("0"), default=Decimal("0.00"))
    deductible_met = money_field(required=False, min_value=Decimal("0"), default=Decimal("0.00"))
    coinsurance_percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        required=False,
        default=Decimal("0.00"),
    )
    copay = money_field(required=False, min_value=Decimal("0"), default=Decimal("0.00"))
    out_of_pocket_max = money_field(required=False, min_value=Decimal("0"), default=Decimal("0.00"))
    out_of_pocket_met = money_field(required=False, min_value=Decimal("0"), default=Decimal("0.00"))
    prior_auth_required = serializers.BooleanField(required=False, default=False)
    prior_auth_number = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    payer_rep_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    reference_number = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    investigated_on = serializers.DateField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class EstimateServiceInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=200)
    amount = money_field(min_value=Decimal("0.01"))


class BenefitEstimateInputSerializer(serializers.Serializer):
    services = EstimateServiceInputSerializer(many=True, min_length=1, max_length=30)
