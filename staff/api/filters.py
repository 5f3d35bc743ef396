"""FilterSets for the staff API. Related objects are filtered by their UUID ``reference``.

Filters only narrow a queryset the view already scoped with ``visible_to(user)``: asking
for another organization's reference yields an empty list, never its rows.
"""

from __future__ import annotations

import django_filters

from staff.models import ApprovalLimit, Membership, PhiAccessLog, Role, Team


class OrganizationReferenceFilterSet(django_filters.FilterSet):
    organization = django_filters.UUIDFilter(
        field_name="organization__reference", help_text="Reference of an organization."
    )


class MembershipFilterSet(OrganizationReferenceFilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    is_active = django_filters.BooleanFilter()
    team = django_filters.UUIDFilter(field_name="team__reference", help_text="Reference of a team.")

    class Meta:
        model = Membership
        fields = ["organization", "role", "is_active", "team"]


class TeamFilterSet(OrganizationReferenceFilterSet):
    class Meta:
        model = Team
        fields = ["organization"]


class ApprovalLimitFilterSet(OrganizationReferenceFilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    kind = django_filters.ChoiceFilter(choices=ApprovalLimit.Kind.choices)

    class Meta:
        model = ApprovalLimit
        fields = ["organization", "role", "kind"]


class PhiAccessLogFilterSet(OrganizationReferenceFilterSet):
    user = django_filters.UUIDFilter(
        field_name="user__reference", help_text="Reference of the user who looked."
    )
    action = django_filters.ChoiceFilter(choices=PhiAccessLog.Action.choices)
    accessed_after = django_filters.IsoDateTimeFilter(
        field_name="accessed_at", lookup_expr="gte", help_text="Accesses at or after this ISO 8601 time."
    )
    accessed_before = django_filters.IsoDateTimeFilter(
        field_name="accessed_at", lookup_expr="lt", help_text="Accesses strictly before this ISO 8601 time."
    )

    class Meta:
        model = PhiAccessLog
        fields = ["organization", "user", "action", "accessed_after", "accessed_before"]
