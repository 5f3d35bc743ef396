"""Payers API serializers: one primary (read) serializer per model, small input serializers per write.

Relations are written as the related object's UUID ``reference``. Input serializers
check the shape of a request; the business rules (overlapping dates, one price per
entry, who may do what) stay in ``payers.services``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_description_list
from rest_framework import serializers

from payers.models import (
    AppealLevel,
    Contract,
    FeeScheduleEntry,
    Payer,
    PayerKind,
    PayerNotice,
    PayerRule,
    Plan,
    PlanType,
)
from staff.api.serializers import REASON_MAX_LENGTH, UserSerializer

# --- fields ------------------------------------------------------------------------------------


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose choices are one named schema component (``PayerKindEnum``…).

    Field names such as ``kind`` are shared with other apps' different choice sets, and
    drf-spectacular cannot name those apart without project settings; a named component
    referenced from every serializer that uses the choices keeps the schema unambiguous.
    """

    def __init__(self, choices: Any, *, component: str, **kwargs: Any):
        self.component = component
        super().__init__(choices=choices, **kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict:
        field = self.target
        component = ResolvedComponent(
            name=field.component,
            type=ResolvedComponent.SCHEMA,
            object=field.component,
            schema={
                "type": "string",
                "enum": list(field.choices),
                "description": build_choice_description_list(field.choices.items()),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


def _kind(**kwargs: Any) -> NamedChoiceField:
    return NamedChoiceField(PayerKind.choices, component="PayerKindEnum", **kwargs)


def _plan_type(**kwargs: Any) -> NamedChoiceField:
    return NamedChoiceField(PlanType.choices, component="PlanTypeEnum", **kwargs)


def _network(**kwargs: Any) -> NamedChoiceField:
    return NamedChoiceField(Plan.Network.choices, component="PlanNetworkEnum", **kwargs)


def _reference_field(**kwargs: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="reference", read_only=True, **kwargs)


def _reason_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        help_text="Why the change is made; kept in the row history and on the payer's timeline.",
    )


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True, **kwargs)


def _percent(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=True, **kwargs)


def _percent_input(**kwargs: Any) -> serializers.DecimalField:
    return _percent(min_value=Decimal("0"), max_value=Decimal("100"), **kwargs)


class NoUnknownFieldsMixin:
    """Refuse fields the endpoint does not change, instead of silently ignoring them."""

    def validate(self, attrs: dict) -> dict:
        unknown = sorted(set(self.initial_data) - set(self.fields))  # type: ignore[attr-defined]
        if unknown:
            raise serializers.ValidationError(
                {name: ["This field cannot be changed here."] for name in unknown}
            )
        return attrs


# --- read (output) serializers -------------------------------------------------------------


class PayerSerializer(serializers.ModelSerializer):
    organization = _reference_field()
    kind = _kind(read_only=True)

    class Meta:
        model = Payer
        fields = [
            "reference",
            "organization",
            "name",
            "kind",
            "edi_payer_id",
            "bin",
            "pcn",
            "phone",
            "fax",
            "portal_url",
            "claims_address",
            "appeals_address",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PlanSerializer(serializers.ModelSerializer):
    organization = _reference_field()
    payer = _reference_field()
    plan_type = _plan_type(read_only=True)
    network = _network(read_only=True)

    class Meta:
        model = Plan
        fields = [
            "reference",
            "organization",
            "payer",
            "name",
            "group_number",
            "plan_type",
            "network",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class AppealLevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = AppealLevel
        fields = ["reference", "level", "name", "filing_days", "decision_days"]
        read_only_fields = fields


class PayerRuleSerializer(serializers.ModelSerializer):
    organization = _reference_field()
    payer = _reference_field()
    appeal_levels = AppealLevelSerializer(many=True, read_only=True)

    class Meta:
        model = PayerRule
        fields = [
            "reference",
            "organization",
            "payer",
            "effective_from",
            "effective_to",
            "timely_filing_days",
            "corrected_claim_days",
            "follow_up_days",
            "secondary_crossover",
            "notes",
            "appeal_levels",
            "created_at",
        ]
        read_only_fields = fields


class ContractSerializer(serializers.ModelSerializer):
    organization = _reference_field()
    payer = _reference_field()
    plan = _reference_field(allow_null=True)
    default_percent_of_charges = _percent(read_only=True, allow_null=True)
    variance_tolerance = _money(read_only=True)

    class Meta:
        model = Contract
        fields = [
            "reference",
            "organization",
            "payer",
            "plan",
            "name",
            "effective_from",
            "effective_to",
            "default_percent_of_charges",
            "variance_tolerance",
            "created_at",
        ]
        read_only_fields = fields


class FeeScheduleEntrySerializer(serializers.ModelSerializer):
    organization = _reference_field()
    contract = _reference_field()
    allowed_amount = _money(read_only=True, allow_null=True)
    percent_of_charges = _percent(read_only=True, allow_null=True)

    class Meta:
        model = FeeScheduleEntry
        fields = [
            "reference",
            "organization",
            "contract",
            "code",
            "modifier",
            "allowed_amount",
            "percent_of_charges",
            "effective_from",
            "effective_to",
            "created_at",
        ]
        read_only_fields = fields


class PayerNoticeSerializer(serializers.ModelSerializer):
    """A notice, and whether the caller has acknowledged it (the view annotates ``acknowledged_at``)."""

    organization = _reference_field()
    payers = _reference_field(many=True)
    plans = _reference_field(many=True)
    published_by = UserSerializer(read_only=True)
    acknowledged = serializers.SerializerMethodField()
    acknowledged_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = PayerNotice
        fields = [
            "reference",
            "organization",
            "title",
            "body",
            "effective_date",
            "payers",
            "plans",
            "published_by",
            "is_active",
            "created_at",
            "acknowledged",
            "acknowledged_at",
        ]
        read_only_fields = fields

    def get_acknowledged(self, notice: PayerNotice) -> bool:
        return getattr(notice, "acknowledged_at", None) is not None


# --- write (input) serializers ---------------------------------------------------------------


class PayerCreateInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization the payer belongs to.")
    name = serializers.CharField(max_length=120)
    kind = _kind()
    edi_payer_id = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    bin = serializers.CharField(
        max_length=6, required=False, allow_blank=True, default="", help_text="Six digits; required for PBMs."
    )
    pcn = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    fax = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    portal_url = serializers.URLField(required=False, allow_blank=True, default="")
    claims_address = serializers.CharField(required=False, allow_blank=True, default="")
    appeals_address = serializers.CharField(required=False, allow_blank=True, default="")


class PayerUpdateInputSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    """``update`` body: the fields to change (any omitted keeps its value) and a ``reason``."""

    name = serializers.CharField(max_length=120, required=False)
    kind = _kind(required=False)
    edi_payer_id = serializers.CharField(max_length=80, required=False, allow_blank=True)
    bin = serializers.CharField(max_length=6, required=False, allow_blank=True)
    pcn = serializers.CharField(max_length=20, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    fax = serializers.CharField(max_length=32, required=False, allow_blank=True)
    portal_url = serializers.URLField(required=False, allow_blank=True)
    claims_address = serializers.CharField(required=False, allow_blank=True)
    appeals_address = serializers.CharField(required=False, allow_blank=True)
    reason = _reason_field()


class SetActiveInputSerializer(serializers.Serializer):
    reason = _reason_field()


class PlanCreateInputSerializer(serializers.Serializer):
    payer = serializers.UUIDField(help_text="Reference of the payer the plan belongs to.")
    name = serializers.CharField(max_length=120, help_text="The product, as on the member's card.")
    group_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    plan_type = _plan_type(required=False, default=PlanType.OTHER)
    network = _network(required=False, default=Plan.Network.IN_NETWORK)


class PlanUpdateInputSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    group_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    plan_type = _plan_type(required=False)
    network = _network(required=False)
    reason = _reason_field()


class AppealLevelInputSerializer(serializers.Serializer):
    level = serializers.IntegerField(
        min_value=1, required=False, help_text="Defaults to the level's position in the list, from 1."
    )
    name = serializers.CharField(max_length=80)
    filing_days = serializers.IntegerField(
        min_value=1, help_text="Days after the decision to file this level."
    )
    decision_days = serializers.IntegerField(min_value=1, help_text="Days the payer has to decide.")


class PayerRuleCreateInputSerializer(serializers.Serializer):
    payer = serializers.UUIDField(help_text="Reference of the payer.")
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(required=False, allow_null=True, default=None)
    timely_filing_days = serializers.IntegerField(min_value=1)
    corrected_claim_days = serializers.IntegerField(min_value=1)
    follow_up_days = serializers.IntegerField(min_value=1)
    secondary_crossover = serializers.BooleanField(required=False, default=False)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    appeal_levels = AppealLevelInputSerializer(many=True, required=False, default=list)
    end_previous = serializers.BooleanField(
        required=False,
        default=False,
        help_text="End the rule in force on effective_from (which began earlier) the day before. "
        "Without it, overlapping dates are refused with 409.",
    )


class ContractCreateInputSerializer(serializers.Serializer):
    payer = serializers.UUIDField(help_text="Reference of the payer.")
    plan = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="A plan of the payer; null for every plan."
    )
    name = serializers.CharField(max_length=120)
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(required=False, allow_null=True, default=None)
    default_percent_of_charges = _percent_input(required=False, allow_null=True, default=None)
    variance_tolerance = _money(min_value=Decimal("0.00"), required=False, default=Decimal("1.00"))
    end_previous = serializers.BooleanField(
        required=False,
        default=False,
        help_text="End the contract of the same scope in force on effective_from the day before.",
    )


class FeeScheduleEntryCreateInputSerializer(serializers.Serializer):
    contract = serializers.UUIDField(help_text="Reference of the contract.")
    code = serializers.CharField(max_length=16)
    modifier = serializers.CharField(max_length=2, required=False, allow_blank=True, default="")
    allowed_amount = _money(
        min_value=Decimal("0.00"),
        required=False,
        allow_null=True,
        default=None,
        help_text="Give this or percent_of_charges, not both.",
    )
    percent_of_charges = _percent_input(required=False, allow_null=True, default=None)
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(required=False, allow_null=True, default=None)
    end_previous = serializers.BooleanField(
        required=False,
        default=False,
        help_text="End the earlier price of this code and modifier in force on effective_from "
        "the day before.",
    )

    def validate(self, attrs: dict) -> dict:
        if (attrs.get("allowed_amount") is None) == (attrs.get("percent_of_charges") is None):
            raise serializers.ValidationError(
                {"allowed_amount": ["Give either allowed_amount or percent_of_charges (exactly one)."]}
            )
        return attrs


class PayerNoticeCreateInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization.")
    title = serializers.CharField(max_length=200)
    body = serializers.CharField()
    effective_date = serializers.DateField()
    payers = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        help_text="References of affected payers.",
    )
    plans = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, help_text="References of affected plans."
    )
