from __future__ import annotations

from rest_framework import serializers

from staff.models import Membership, Organization, User


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["reference", "name", "slug", "kind", "time_zone", "is_active"]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    organization = OrganizationSerializer(read_only=True)
    team = serializers.CharField(source="team.name", read_only=True, default=None)

    class Meta:
        model = Membership
        fields = ["reference", "organization", "role", "team", "is_active"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    memberships = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["reference", "email", "full_name", "memberships"]
        read_only_fields = fields

    def get_memberships(self, user: User) -> list[dict]:
        from staff.permissions import memberships_of

        ordered = sorted(memberships_of(user).values(), key=lambda m: m.organization.name)
        return MembershipSerializer(ordered, many=True).data
