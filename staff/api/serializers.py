"""Staff API serializers: one primary (read) serializer per model, small input serializers per write.

Relations are written as the related object's UUID ``reference``; integer primary keys
never leave the server. Input serializers only check the shape of a request: business
rules (last admin, own role, duplicate member…) stay in ``staff.services``.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from staff.models import (
    ApprovalLimit,
    Membership,
    Organization,
    PhiAccessLog,
    Role,
    Team,
    User,
    validate_time_zone,
)
from staff.permissions import memberships_of

# simple-history stores the change reason in a varchar(100).
REASON_MAX_LENGTH = 100


def _reference_field(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="reference", read_only=True, **kwargs)


def _reason_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        help_text="Why the change is made; kept in the row history and on the timeline.",
    )


# --- read (output) serializers -------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["reference", "email", "full_name"]
        read_only_fields = fields


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["reference", "name", "slug", "kind", "time_zone", "is_active"]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    organization = _reference_field()

    class Meta:
        model = Team
        fields = ["reference", "organization", "name", "description", "created_at"]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    organization = _reference_field()
    user = UserSerializer(read_only=True)
    team = _reference_field(allow_null=True)

    class Meta:
        model = Membership
        fields = ["reference", "organization", "user", "role", "team", "is_active", "created_at"]
        read_only_fields = fields


class ApprovalLimitSerializer(serializers.ModelSerializer):
    organization = _reference_field()
    max_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, coerce_to_string=True, read_only=True
    )

    class Meta:
        model = ApprovalLimit
        fields = ["reference", "organization", "role", "kind", "max_amount", "updated_at"]
        read_only_fields = fields


class PhiAccessLogSerializer(serializers.ModelSerializer):
    """One access to a patient record. The subject is named by type and UUID reference.

    The view resolves references for a whole page at once and passes them in the
    context as ``subject_references`` (``{(content_type_id, pk): reference}``).
    """

    organization = _reference_field()
    user = UserSerializer(read_only=True)
    subject_type = serializers.SerializerMethodField()
    subject_reference = serializers.SerializerMethodField()

    class Meta:
        model = PhiAccessLog
        fields = [
            "organization",
            "user",
            "action",
            "subject_type",
            "subject_reference",
            "path",
            "ip_address",
            "user_agent",
            "request_id",
            "accessed_at",
        ]
        read_only_fields = fields

    def get_subject_type(self, entry: PhiAccessLog) -> str:
        content_type = ContentType.objects.get_for_id(entry.subject_type_id)
        return f"{content_type.app_label}.{content_type.model}"

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_subject_reference(self, entry: PhiAccessLog) -> str | None:
        reference = self.context.get("subject_references", {}).get((entry.subject_type_id, entry.subject_id))
        return str(reference) if reference is not None else None


class MeSerializer(UserSerializer):
    """The caller, their active memberships and the organizations those give access to."""

    memberships = serializers.SerializerMethodField()
    organizations = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "memberships", "organizations"]
        read_only_fields = fields

    def _memberships(self, user: User) -> list[Membership]:
        return sorted(memberships_of(user).values(), key=lambda m: (m.organization.name, m.pk))

    @extend_schema_field(MembershipSerializer(many=True))
    def get_memberships(self, user: User) -> list[dict]:
        return MembershipSerializer(self._memberships(user), many=True).data

    @extend_schema_field(OrganizationSerializer(many=True))
    def get_organizations(self, user: User) -> list[dict]:
        return OrganizationSerializer([m.organization for m in self._memberships(user)], many=True).data


# --- write (input) serializers ---------------------------------------------------------------


class OrganizationUpdateInputSerializer(serializers.Serializer):
    """``update-settings`` body: ``name``, ``time_zone`` or both, and always a ``reason``."""

    name = serializers.CharField(max_length=200, required=False)
    time_zone = serializers.CharField(
        max_length=64,
        required=False,
        validators=[validate_time_zone],
        help_text="An IANA time zone name such as America/Chicago.",
    )
    reason = _reason_field()

    def validate(self, attrs: dict) -> dict:
        # Other organization fields (slug, kind, is_active) are not editable here; say
        # so instead of silently ignoring them.
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["This field cannot be changed."] for name in unknown})
        if "name" not in attrs and "time_zone" not in attrs:
            raise serializers.ValidationError("Give a new name or time_zone, or both.")
        return attrs


class MembershipCreateInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization the person joins.")
    email = serializers.EmailField(max_length=254)
    full_name = serializers.CharField(
        max_length=150,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when no user has this email yet.",
    )
    role = serializers.ChoiceField(choices=Role.choices)
    team = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Reference of a team of the same organization.",
    )


class MembershipChangeRoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    reason = _reason_field()


class MembershipSetActiveInputSerializer(serializers.Serializer):
    reason = _reason_field()


class TeamCreateInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization the team belongs to.")
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ApprovalLimitSetInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization.")
    role = serializers.ChoiceField(choices=Role.choices)
    kind = serializers.ChoiceField(choices=ApprovalLimit.Kind.choices)
    max_amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.00"),
        coerce_to_string=True,
        help_text='A decimal string with at most two decimal places, e.g. "250.00".',
    )
    reason = _reason_field()
