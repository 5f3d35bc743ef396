"""List filters for the settings pages.

Both filter sets are built for one organization: their choice lists (teams, people)
only ever offer that organization's rows, so a filter cannot reveal another client's,
and dates are whole days in that organization's time zone. The API spans all of the
caller's organizations and takes ISO times, so it has its own in ``staff/api/filters.py``.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db import models

from staff.models import Membership, Organization, PhiAccessLog, Role, Team, User

_DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def _name_or_email(queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
    """Rows whose person's name or email contains ``value`` (served by the trigram indexes)."""
    value = value.strip()
    if not value:
        return queryset
    return queryset.filter(
        models.Q(user__full_name__icontains=value) | models.Q(user__email__icontains=value)
    )


class OrganizationFilterSet(django_filters.FilterSet):
    """A filter set for one organization's page; ``scope_to`` fits its filters to it (choices, time zone)."""

    def __init__(
        self,
        data: Any = None,
        queryset: models.QuerySet | None = None,
        *,
        organization: Organization,
        **kwargs: Any,
    ):
        super().__init__(data, queryset, **kwargs)
        self.scope_to(organization)

    def scope_to(self, organization: Organization) -> None:
        raise NotImplementedError


class MembershipFilterSet(OrganizationFilterSet):
    q = django_filters.CharFilter(method=_name_or_email, label="Name or email")
    role = django_filters.ChoiceFilter(choices=Role.choices, empty_label="Any role")
    # References, not primary keys, in URLs (HOUSE_STYLE rule 5).
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.none(), empty_label="Any team", to_field_name="reference"
    )
    is_active = django_filters.BooleanFilter(
        label="Status",
        widget=forms.Select(choices=[("", "Any status"), ("true", "Active"), ("false", "Inactive")]),
    )

    class Meta:
        model = Membership
        fields = ["q", "role", "team", "is_active"]

    def scope_to(self, organization: Organization) -> None:
        self.filters["team"].queryset = Team.objects.in_organization(organization)


class PhiAccessLogFilterSet(OrganizationFilterSet):
    """Filters on the PHI access log; dates are whole days in the organization's time zone."""

    # Typing a name scales to thousands of colleagues; a select of them all did not.
    person = django_filters.CharFilter(method=_name_or_email, label="Person (name or email)")
    # One exact person, by reference: what links from other pages ("this person's accesses") use.
    user = django_filters.ModelChoiceFilter(
        queryset=User.objects.none(), to_field_name="reference", widget=forms.HiddenInput
    )
    action = django_filters.ChoiceFilter(choices=PhiAccessLog.Action.choices, empty_label="Any action")
    date_from = django_filters.DateFilter(method="filter_date_from", label="From", widget=_DATE_INPUT)
    date_to = django_filters.DateFilter(method="filter_date_to", label="To", widget=_DATE_INPUT)

    class Meta:
        model = PhiAccessLog
        fields = ["person", "user", "action", "date_from", "date_to"]

    def scope_to(self, organization: Organization) -> None:
        self.time_zone = zoneinfo.ZoneInfo(organization.time_zone)
        # Memberships are deactivated, never deleted, so former staff stay selectable.
        self.filters["user"].queryset = User.objects.filter(memberships__organization=organization).order_by(
            "full_name", "email"
        )

    def _start_of(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.time_zone)

    # Ranges on accessed_at itself (not accessed_at__date) so the (organization,
    # -accessed_at) index still serves the query.
    # Days at the ends of the calendar would overflow once shifted to UTC; they bound nothing.
    def filter_date_from(self, queryset: models.QuerySet, name: str, value: date) -> models.QuerySet:
        if value <= date.min + timedelta(days=1):
            return queryset
        return queryset.filter(accessed_at__gte=self._start_of(value))

    def filter_date_to(self, queryset: models.QuerySet, name: str, value: date) -> models.QuerySet:
        if value >= date.max - timedelta(days=1):
            return queryset
        return queryset.filter(accessed_at__lt=self._start_of(value + timedelta(days=1)))
