"""Accounts API serializers: one primary (read) serializer per model, small input serializers per write.

Relations are written and read as the related object's UUID ``reference``. In input, a
reference is looked up among the rows the caller may see (``visible_to``), so another
organization's object is answered exactly like one that does not exist. Input
serializers check the shape of a request only; business rules (same organization,
transitions, balances, approval limits) stay in ``accounts.services``.

Money is a decimal string with two places, in and out.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ComponentIdentity, ResolvedComponent, build_choice_description_list
from rest_framework import serializers

from accounts import services
from accounts.aging import BANDS
from accounts.choices import ADJUSTMENT_KINDS, AdjustmentReason
from accounts.models import (
    AccountKind,
    AccountStatus,
    AdjustmentRequest,
    AuthorizedContact,
    Charge,
    ChargeEdit,
    ChargeStatus,
    ContactRelationship,
    Coverage,
    EditStatus,
    EntryKind,
    Guarantor,
    GuarantorRelationship,
    LedgerEntry,
    Patient,
    PatientAccount,
    RequestStatus,
)
from payers.models import Plan
from staff.api.serializers import REASON_MAX_LENGTH, UserSerializer

# --- shared fields --------------------------------------------------------------------------------


def money_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True, **kwargs)


def amount_field(**kwargs: Any) -> serializers.DecimalField:
    """A positive amount of money in input."""
    kwargs.setdefault("help_text", 'A decimal string with at most two decimal places, e.g. "125.00".')
    return money_field(min_value=Decimal("0.01"), **kwargs)


def _reference_field(**kwargs: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="reference", read_only=True, **kwargs)


def _reason_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        help_text="Why the change is made; kept in the row history and on the timeline.",
    )


class VisibleReferenceField(serializers.SlugRelatedField):
    """A related object written as its UUID ``reference``, among the rows the caller may see.

    The queryset is ``model.objects.visible_to(request.user)``, so a reference of an
    organization the caller is not a member of fails as "does not exist".
    """

    default_error_messages = {
        "does_not_exist": "Object with {slug_name}={value} does not exist.",
        "invalid": "Must be a valid UUID.",
    }

    def __init__(self, model: type[models.Model], **kwargs: Any) -> None:
        self.model = model
        # A placeholder that names the model for the schema; get_queryset scopes it per request.
        kwargs.setdefault("queryset", model._default_manager.none())
        super().__init__(slug_field="reference", **kwargs)

    def get_queryset(self) -> models.QuerySet:
        request = self.context.get("request")
        return self.model._default_manager.visible_to(getattr(request, "user", None))

    def to_internal_value(self, data: Any) -> models.Model:
        try:
            uuid.UUID(str(data))
        except ValueError:
            self.fail("invalid")
        return super().to_internal_value(data)


class EnumField(serializers.ChoiceField):
    """A choice field documented in the schema as the named enum component ``enum_name``.

    Several models here have a ``status`` or a ``kind`` with different choices.
    drf-spectacular names enums after the field, and when one field name carries several
    choice sets in several components it warns (the schema test runs with
    ``--fail-on-warn``) and invents a hashed name. Naming each set after its model gives
    clients stable names (``AccountStatusEnum``, ``LedgerEntryKindEnum``). A blank stored
    value is read out as ``null``.
    """

    def __init__(self, choices: Any, enum_name: str, **kwargs: Any) -> None:
        self.enum_name = enum_name
        if isinstance(choices, type) and issubclass(choices, models.Choices):
            choices = choices.choices
        super().__init__(choices=choices, **kwargs)

    def to_representation(self, value: Any) -> Any:
        if value in ("", None):
            return None
        return super().to_representation(value)


class EnumFieldExtension(OpenApiSerializerFieldExtension):
    target_class = EnumField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict:
        field = self.target
        values = list(field.choices)
        schema = {
            "type": "integer" if all(isinstance(v, int) for v in values) else "string",
            "enum": values,
            "description": build_choice_description_list(field.choices.items()),
        }
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            schema=schema,
            object=ComponentIdentity(field.enum_name),
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class ChangesInputMixin:
    """Input of an ``update``-style action: any of the editable fields, plus a required ``reason``.

    A field that cannot be changed here is refused with 400 rather than silently ignored.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        for name, field in fields.items():
            if name != "reason":
                field.required = False
        return fields

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)  # type: ignore[misc]
        unknown = sorted(set(self.initial_data) - set(self.fields))  # type: ignore[attr-defined]
        if unknown:
            raise serializers.ValidationError({name: ["This field cannot be changed."] for name in unknown})
        if len(attrs) < 2:
            raise serializers.ValidationError("Give at least one field to change.")
        return attrs


def _validate_ssn_last4(value: str) -> str:
    if value and not (len(value) == 4 and value.isdigit()):
        raise serializers.ValidationError("Give the last four digits of the SSN, or leave it blank.")
    return value


# --- patients --------------------------------------------------------------------------------------

PATIENT_FIELDS = list(services.PATIENT_FIELDS)


class PatientSerializer(serializers.ModelSerializer):
    """A patient's demographics and communication preferences.

    ``ssn_last4`` is the only part of an SSN the system holds; it is shown because reps
    use it to confirm a caller's identity.
    """

    organization = _reference_field()

    class Meta:
        model = Patient
        fields = ["reference", "organization", "full_name", *PATIENT_FIELDS, "created_at", "updated_at"]
        read_only_fields = fields


class PatientBriefSerializer(PatientSerializer):
    """What a list of patients shows: enough to pick the right person, no address or contact data."""

    class Meta(PatientSerializer.Meta):
        fields = [
            "reference",
            "organization",
            "mrn",
            "full_name",
            "first_name",
            "last_name",
            "date_of_birth",
        ]
        read_only_fields = fields


class PatientInputSerializer(serializers.ModelSerializer):
    """Demographics as written; the patient service validates them again against the model."""

    ssn_last4 = serializers.CharField(
        max_length=4,
        required=False,
        allow_blank=True,
        validators=[_validate_ssn_last4],
        help_text="The last four digits only; a full SSN is never stored.",
    )

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        # Duplicate external ids are the service's business (409 conflict).
        validators: list = []


class PatientCreateInputSerializer(PatientInputSerializer):
    organization = serializers.UUIDField(help_text="Reference of the organization the patient belongs to.")

    class Meta(PatientInputSerializer.Meta):
        fields = ["organization", *PATIENT_FIELDS]


class PatientUpdateInputSerializer(ChangesInputMixin, PatientInputSerializer):
    """``update`` body: the fields to change (omitted ones keep their value) and a ``reason``."""

    reason = _reason_field()

    class Meta(PatientInputSerializer.Meta):
        fields = [*PATIENT_FIELDS, "reason"]


# --- coverages --------------------------------------------------------------------------------------

COVERAGE_INPUT_FIELDS = [
    "plan",
    "member_id",
    "group_number",
    "subscriber_name",
    "subscriber_date_of_birth",
    "relationship_to_subscriber",
    "priority",
    "effective_from",
    "effective_to",
    "is_active",
    "external_id",
]


class CoverageSerializer(serializers.ModelSerializer):
    """A coverage with its place in the order of payment and its latest eligibility check."""

    organization = _reference_field()
    patient = _reference_field()
    plan = _reference_field()
    plan_name = serializers.CharField(source="plan.name", read_only=True)
    payer_name = serializers.CharField(source="plan.payer.name", read_only=True)
    priority = EnumField(Coverage.Priority, "CoveragePriorityEnum", read_only=True)
    verified_by = UserSerializer(read_only=True, allow_null=True)
    verification_method = EnumField(
        Coverage.Method, "CoverageVerificationMethodEnum", read_only=True, allow_null=True
    )
    verification_result = EnumField(
        Coverage.Result, "CoverageVerificationResultEnum", read_only=True, allow_null=True
    )
    is_verified = serializers.BooleanField(
        read_only=True, help_text="The latest check found the coverage active."
    )

    class Meta:
        model = Coverage
        fields = [
            "reference",
            "organization",
            "patient",
            "plan",
            "plan_name",
            "payer_name",
            "external_id",
            "member_id",
            "group_number",
            "subscriber_name",
            "subscriber_date_of_birth",
            "relationship_to_subscriber",
            "priority",
            "effective_from",
            "effective_to",
            "is_active",
            "is_verified",
            "verified_at",
            "verified_by",
            "verification_method",
            "verification_result",
            "verification_reference",
            "verification_note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CoverageInputSerializer(serializers.ModelSerializer):
    plan = VisibleReferenceField(Plan, help_text="Reference of a plan of the patient's organization.")
    priority = EnumField(Coverage.Priority, "CoveragePriorityEnum", required=False)

    class Meta:
        model = Coverage
        fields = COVERAGE_INPUT_FIELDS
        validators: list = []

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        # The database refuses an end before the start; say so as a 400 naming the field. An
        # omitted date is the stored one (update) or the service's default start, today (create).
        stored = self.context.get("coverage")
        start = attrs.get("effective_from", stored.effective_from if stored else timezone.localdate())
        end = attrs.get("effective_to", stored.effective_to if stored else None)
        if end is not None and end < start:
            raise serializers.ValidationError({"effective_to": ["Cannot be before effective_from."]})
        return attrs


class CoverageCreateInputSerializer(CoverageInputSerializer):
    patient = VisibleReferenceField(Patient, help_text="Reference of the patient.")

    class Meta(CoverageInputSerializer.Meta):
        fields = ["patient", *COVERAGE_INPUT_FIELDS]


class CoverageUpdateInputSerializer(ChangesInputMixin, CoverageInputSerializer):
    reason = _reason_field()

    class Meta(CoverageInputSerializer.Meta):
        fields = [*COVERAGE_INPUT_FIELDS, "reason"]


class CoverageVerifyInputSerializer(serializers.Serializer):
    method = EnumField(Coverage.Method, "CoverageVerificationMethodEnum")
    result = EnumField(Coverage.Result, "CoverageVerificationResultEnum")
    reference = serializers.CharField(
        max_length=60,
        required=False,
        allow_blank=True,
        default="",
        help_text="The payer's call or transaction reference.",
    )
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


# --- authorized contacts -----------------------------------------------------------------------------


class AuthorizedContactSerializer(serializers.ModelSerializer):
    organization = _reference_field()
    patient = _reference_field()
    relationship = EnumField(ContactRelationship, "AuthorizedContactRelationshipEnum", read_only=True)
    scopes = serializers.ListField(
        child=EnumField(AuthorizedContact.Scope, "AuthorizedContactScopeEnum"), read_only=True
    )
    scope_labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    is_current = serializers.BooleanField(read_only=True, help_text="Disclosures are allowed today.")

    class Meta:
        model = AuthorizedContact
        fields = [
            "reference",
            "organization",
            "patient",
            "name",
            "relationship",
            "phone",
            "scopes",
            "scope_labels",
            "is_personal_representative",
            "start_date",
            "end_date",
            "is_current",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AuthorizedContactCreateInputSerializer(serializers.Serializer):
    patient = VisibleReferenceField(Patient, help_text="Reference of the patient.")
    name = serializers.CharField(max_length=120)
    relationship = EnumField(ContactRelationship, "AuthorizedContactRelationshipEnum")
    phone = serializers.CharField(max_length=15, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(
        child=EnumField(AuthorizedContact.Scope, "AuthorizedContactScopeEnum"),
        required=False,
        default=list,
        help_text="What this person may be told.",
    )
    is_personal_representative = serializers.BooleanField(required=False, default=False)
    start_date = serializers.DateField(required=False, allow_null=True, default=None)
    end_date = serializers.DateField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AuthorizedContactEndInputSerializer(serializers.Serializer):
    end_date = serializers.DateField(help_text="The last day disclosures to this person are allowed.")
    reason = _reason_field()


# --- accounts ------------------------------------------------------------------------------------------


class GuarantorSerializer(serializers.ModelSerializer):
    """The person responsible for an account, briefly; ``patient`` is set when it is the patient."""

    patient = _reference_field(allow_null=True)
    relationship = EnumField(GuarantorRelationship, "GuarantorRelationshipEnum", read_only=True)

    class Meta:
        model = Guarantor
        fields = ["reference", "patient", "relationship", "first_name", "last_name", "phone"]
        read_only_fields = fields


class AccountSerializer(serializers.ModelSerializer):
    """An account with its stored running balances and flags (the list representation)."""

    organization = _reference_field()
    patient = PatientBriefSerializer(read_only=True)
    kind = EnumField(AccountKind, "AccountKindEnum", read_only=True)
    status = EnumField(AccountStatus, "AccountStatusEnum", read_only=True)
    balance = money_field(read_only=True)
    insurance_balance = money_field(read_only=True)
    patient_balance = money_field(read_only=True)
    has_credit_balance = serializers.BooleanField(read_only=True)
    open_edit_count = serializers.IntegerField(
        read_only=True, help_text="Open charge edits on posted charges: each blocks billing."
    )

    class Meta:
        model = PatientAccount
        fields = [
            "reference",
            "organization",
            "account_number",
            "patient",
            "kind",
            "status",
            "financial_class",
            "facility",
            "service_from",
            "service_to",
            "balance",
            "insurance_balance",
            "patient_balance",
            "has_credit_balance",
            "credit_identified_on",
            "interpreter_needed",
            "dispute_hold",
            "financial_assistance_pending",
            "open_edit_count",
            "first_statement_on",
            "last_statement_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccountBriefSerializer(AccountSerializer):
    """An account as a patient's record lists it."""

    class Meta(AccountSerializer.Meta):
        fields = [
            "reference",
            "account_number",
            "kind",
            "status",
            "service_from",
            "service_to",
            "balance",
            "insurance_balance",
            "patient_balance",
            "has_credit_balance",
        ]
        read_only_fields = fields


class BucketAgingSerializer(serializers.Serializer):
    """Open debits of one bucket by age band; the keys are ``accounts.aging.BANDS``."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # Band names ("0-30", "120+") are not Python identifiers, so the fields are built here.
        return {band: money_field(read_only=True) for band in BANDS}


class AccountBucketSerializer(serializers.Serializer):
    """One responsible party's share of the balance: a coverage, or the patient (``coverage`` null)."""

    coverage = serializers.UUIDField(allow_null=True, read_only=True)
    party = serializers.CharField(read_only=True, help_text='The payer\'s name, or "Patient".')
    priority = EnumField(Coverage.Priority, "CoveragePriorityEnum", allow_null=True, read_only=True)
    balance = money_field(read_only=True)
    aging = BucketAgingSerializer(read_only=True)


class AccountDetailSerializer(AccountSerializer):
    """The account header: patient and guarantor, balances and aging per bucket, flags."""

    guarantor = GuarantorSerializer(read_only=True)
    buckets = AccountBucketSerializer(many=True, read_only=True, source="bucket_summary")

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "guarantor", "buckets"]
        read_only_fields = fields


class PatientDetailSerializer(PatientSerializer):
    """A patient's record: demographics, coverages in order, authorized contacts and accounts."""

    coverages = CoverageSerializer(many=True, read_only=True)
    authorized_contacts = AuthorizedContactSerializer(
        many=True, read_only=True, help_text="Current contacts first, then ended ones."
    )
    accounts = AccountBriefSerializer(many=True, read_only=True)

    class Meta(PatientSerializer.Meta):
        fields = [*PatientSerializer.Meta.fields, "coverages", "authorized_contacts", "accounts"]
        read_only_fields = fields


ACCOUNT_EDITABLE_FIELDS = [
    "facility",
    "service_to",
    "financial_class",
    "interpreter_needed",
    "dispute_hold",
    "financial_assistance_pending",
]


class AccountInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = PatientAccount
        fields = ACCOUNT_EDITABLE_FIELDS
        validators: list = []


class AccountCreateInputSerializer(AccountInputSerializer):
    patient = VisibleReferenceField(Patient, help_text="Reference of the patient.")
    guarantor = VisibleReferenceField(
        Guarantor,
        required=False,
        allow_null=True,
        default=None,
        help_text="Reference of the guarantor; omitted or null: the patient is their own guarantor.",
    )
    kind = EnumField(AccountKind, "AccountKindEnum")

    class Meta(AccountInputSerializer.Meta):
        fields = ["patient", "account_number", "kind", "service_from", "guarantor", *ACCOUNT_EDITABLE_FIELDS]


class AccountUpdateInputSerializer(ChangesInputMixin, AccountInputSerializer):
    """Flags and descriptive fields; status, balances and the patient change elsewhere."""

    reason = _reason_field()

    class Meta(AccountInputSerializer.Meta):
        fields = [*ACCOUNT_EDITABLE_FIELDS, "reason"]


class AccountChangeStatusInputSerializer(serializers.Serializer):
    status = EnumField(AccountStatus, "AccountStatusEnum")
    reason = _reason_field()


class AccountTransferInputSerializer(serializers.Serializer):
    """Move part of one party's balance to another.

    The destination is the next responsible party after ``from_coverage`` (the next
    coverage in order, then the patient) unless ``to_coverage`` is given: a coverage
    reference, or null for the patient.
    """

    from_coverage = VisibleReferenceField(
        Coverage,
        allow_null=True,
        help_text="Reference of the coverage that holds the balance; null: patient.",
    )
    amount = amount_field()
    reason = _reason_field()
    to_next = serializers.BooleanField(
        required=False, help_text="Send to the next responsible party (the default without to_coverage)."
    )
    to_coverage = VisibleReferenceField(
        Coverage,
        required=False,
        allow_null=True,
        help_text="Reference of the receiving coverage; null: patient.",
    )

    def validate(self, attrs: dict) -> dict:
        if "to_coverage" in attrs:
            if attrs.get("to_next"):
                raise serializers.ValidationError({"to_next": ["Give to_next or to_coverage, not both."]})
            attrs["to_next"] = False
        elif attrs.get("to_next") is False:
            raise serializers.ValidationError(
                {"to_coverage": ["Name the receiving coverage (null for the patient) when to_next is false."]}
            )
        else:
            attrs["to_next"] = True
            attrs["to_coverage"] = None
        return attrs


class AccountAdjustInputSerializer(serializers.Serializer):
    kind = EnumField(
        [(kind, EntryKind(kind).label) for kind in ADJUSTMENT_KINDS],
        "AdjustmentKindEnum",
        help_text="The ledger kind of the adjustment.",
    )
    amount = amount_field(help_text="How much to take off the balance, a positive decimal string.")
    reason_code = EnumField(AdjustmentReason, "AdjustmentReasonEnum")
    memo = serializers.CharField(max_length=300, help_text="Why; kept on the entry and the timeline.")
    coverage = VisibleReferenceField(
        Coverage,
        allow_null=True,
        help_text="Reference of the coverage whose balance is adjusted; null: patient.",
    )


# --- charges -----------------------------------------------------------------------------------------

# Units are positive (a database constraint); the smallest the column holds is a thousandth.
MIN_UNITS = Decimal("0.001")

CORRECTABLE_CHARGE_FIELDS = sorted(services.CORRECTABLE_CHARGE_FIELDS)


class ChargeEditSerializer(serializers.ModelSerializer):
    """A problem found on a charge; open ones block billing until fixed or overridden."""

    rule = EnumField(ChargeEdit.Rule, "ChargeEditRuleEnum", read_only=True)
    status = EnumField(EditStatus, "ChargeEditStatusEnum", read_only=True)
    resolved_by = UserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ChargeEdit
        fields = [
            "reference",
            "rule",
            "field",
            "message",
            "status",
            "resolved_by",
            "resolved_at",
            "override_reason",
            "created_at",
        ]
        read_only_fields = fields


class ChargeSerializer(serializers.ModelSerializer):
    organization = _reference_field()
    account = _reference_field()
    amount = money_field(read_only=True)
    status = EnumField(ChargeStatus, "ChargeStatusEnum", read_only=True)
    edits = ChargeEditSerializer(many=True, read_only=True)

    class Meta:
        model = Charge
        fields = [
            "reference",
            "organization",
            "account",
            "external_id",
            "service_date",
            "code_type",
            "code",
            "modifiers",
            "revenue_code",
            "diagnoses",
            "description",
            "units",
            "amount",
            "place_of_service",
            "rx_number",
            "fill_number",
            "ndc",
            "quantity",
            "days_supply",
            "status",
            "edits",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ChargeLineInputSerializer(serializers.ModelSerializer):
    """One charge to post. Its ledger entry goes to the coverage responsible on the service date."""

    amount = amount_field()
    modifiers = serializers.ListField(
        child=serializers.CharField(max_length=2), max_length=4, required=False, default=list
    )
    diagnoses = serializers.ListField(
        child=serializers.CharField(max_length=8),
        max_length=12,
        required=False,
        default=list,
        help_text="ICD-10-CM codes, with or without the dot.",
    )

    class Meta:
        model = Charge
        fields = [
            "service_date",
            "code_type",
            "code",
            "amount",
            "units",
            "modifiers",
            "diagnoses",
            "revenue_code",
            "description",
            "place_of_service",
            "external_id",
            "rx_number",
            "fill_number",
            "ndc",
            "quantity",
            "days_supply",
        ]
        validators: list = []
        extra_kwargs = {"units": {"min_value": MIN_UNITS}}


class AccountChargesInputSerializer(serializers.Serializer):
    charges = ChargeLineInputSerializer(many=True, allow_empty=False, max_length=500)


class ChargeCorrectInputSerializer(ChangesInputMixin, serializers.ModelSerializer):
    """Coding fields only: amount and date are money facts (reverse the charge and post it again)."""

    modifiers = serializers.ListField(child=serializers.CharField(max_length=2), max_length=4)
    diagnoses = serializers.ListField(child=serializers.CharField(max_length=8), max_length=12)
    reason = _reason_field()

    class Meta:
        model = Charge
        fields = [*CORRECTABLE_CHARGE_FIELDS, "reason"]
        validators: list = []
        extra_kwargs = {"units": {"min_value": MIN_UNITS}}


class ChargeOverrideEditInputSerializer(serializers.Serializer):
    edit = serializers.UUIDField(help_text="Reference of an open edit of this charge.")
    reason = serializers.CharField(max_length=300, help_text="Why the charge is right as it is.")


# --- ledger ----------------------------------------------------------------------------------------


class LedgerEntrySerializer(serializers.ModelSerializer):
    """One movement of money. Positive raises what is owed, negative lowers it."""

    organization = _reference_field()
    account = _reference_field()
    kind = EnumField(EntryKind, "LedgerEntryKindEnum", read_only=True)
    amount = money_field(read_only=True)
    coverage = _reference_field(allow_null=True, help_text="The responsible coverage; null: the patient.")
    party = serializers.CharField(source="bucket_label", read_only=True)
    charge = _reference_field(allow_null=True)
    reverses = _reference_field(allow_null=True, help_text="The entry this one reverses.")
    reversed_by = serializers.SerializerMethodField(help_text="The entry that reversed this one.")
    actor = UserSerializer(read_only=True)

    class Meta:
        model = LedgerEntry
        fields = [
            "reference",
            "organization",
            "account",
            "kind",
            "amount",
            "coverage",
            "party",
            "reason_code",
            "source",
            "source_ref",
            "charge",
            "reverses",
            "reversed_by",
            "transfer_group",
            "memo",
            "actor",
            "posted_at",
            "effective_date",
        ]
        read_only_fields = fields

    def get_reversed_by(self, entry: LedgerEntry) -> uuid.UUID | None:
        # The reverse one-to-one raises (an AttributeError subclass) when nothing reversed the entry.
        reversal = getattr(entry, "reversed_by", None)
        return reversal.reference if reversal is not None else None


class AccountLedgerEntrySerializer(LedgerEntrySerializer):
    """A line of an account's ledger, with the account balance after it."""

    running_balance = money_field(read_only=True)

    class Meta(LedgerEntrySerializer.Meta):
        fields = [*LedgerEntrySerializer.Meta.fields, "running_balance"]
        read_only_fields = fields


class LedgerEntryReverseInputSerializer(serializers.Serializer):
    reason = _reason_field()


# --- adjustment requests --------------------------------------------------------------------------------


class AdjustmentRequestSerializer(serializers.ModelSerializer):
    """An adjustment above its requester's limit; ``entry`` is set once a supervisor approved it."""

    organization = _reference_field()
    account = _reference_field()
    account_number = serializers.CharField(source="account.account_number", read_only=True)
    kind = EnumField(EntryKind, "LedgerEntryKindEnum", read_only=True)
    coverage = _reference_field(allow_null=True)
    amount = money_field(read_only=True)
    reason_code = EnumField(AdjustmentReason, "AdjustmentReasonEnum", read_only=True)
    status = EnumField(RequestStatus, "AdjustmentRequestStatusEnum", read_only=True)
    requested_by = UserSerializer(read_only=True)
    decided_by = UserSerializer(read_only=True, allow_null=True)
    entry = _reference_field(allow_null=True)

    class Meta:
        model = AdjustmentRequest
        fields = [
            "reference",
            "organization",
            "account",
            "account_number",
            "kind",
            "coverage",
            "amount",
            "reason_code",
            "memo",
            "status",
            "requested_by",
            "decided_by",
            "decided_at",
            "decision_note",
            "entry",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AdjustmentRequestApproveInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AdjustmentRequestRejectInputSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=300, help_text="Why the request is refused; the requester reads it."
    )
