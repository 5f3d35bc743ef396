"""FilterSets for the accounts API. Related objects are filtered by their UUID ``reference``.

Filters only narrow a queryset the view already scoped with ``visible_to(user)``: asking
for another organization's reference yields an empty list, never its rows.
"""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import (
    AccountKind,
    AccountStatus,
    AdjustmentRequest,
    AuthorizedContact,
    Charge,
    ChargeEdit,
    ChargeStatus,
    Coverage,
    EntryKind,
    FinancialClass,
    LedgerEntry,
    Patient,
    PatientAccount,
    RequestStatus,
)
from staff.api.filters import OrganizationReferenceFilterSet


def _patient_filter() -> django_filters.UUIDFilter:
    return django_filters.UUIDFilter(field_name="patient__reference", help_text="Reference of a patient.")


def _account_filter() -> django_filters.UUIDFilter:
    return django_filters.UUIDFilter(field_name="account__reference", help_text="Reference of an account.")


class PatientFilterSet(OrganizationReferenceFilterSet):
    q = django_filters.CharFilter(
        method="search",
        help_text="A name (typos tolerated; 'Smith, John' or 'John Smith'), a date of birth, a phone number, "
        "an MRN, an account number or a member id.",
    )
    date_of_birth = django_filters.DateFilter()

    class Meta:
        model = Patient
        fields = ["organization", "q", "date_of_birth"]

    def search(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        return queryset.search(value)


class CoverageFilterSet(OrganizationReferenceFilterSet):
    patient = _patient_filter()
    active = django_filters.BooleanFilter(
        method="filter_active", help_text="In force today: marked active, started and not ended."
    )

    class Meta:
        model = Coverage
        fields = ["organization", "patient", "active"]

    def filter_active(self, queryset: QuerySet[Coverage], name: str, value: bool) -> QuerySet[Coverage]:
        in_force = Coverage.objects.active_on().values("pk")
        return queryset.filter(pk__in=in_force) if value else queryset.exclude(pk__in=in_force)


class AuthorizedContactFilterSet(OrganizationReferenceFilterSet):
    patient = _patient_filter()
    current = django_filters.BooleanFilter(
        method="filter_current", help_text="Disclosures allowed today (started and not ended)."
    )

    class Meta:
        model = AuthorizedContact
        fields = ["organization", "patient", "current"]

    def filter_current(
        self, queryset: QuerySet[AuthorizedContact], name: str, value: bool
    ) -> QuerySet[AuthorizedContact]:
        current = AuthorizedContact.objects.current().values("pk")
        return queryset.filter(pk__in=current) if value else queryset.exclude(pk__in=current)


class AccountFilterSet(OrganizationReferenceFilterSet):
    patient = _patient_filter()
    status = django_filters.ChoiceFilter(choices=AccountStatus.choices)
    kind = django_filters.ChoiceFilter(choices=AccountKind.choices)
    financial_class = django_filters.ChoiceFilter(choices=FinancialClass.choices)
    has_credit = django_filters.BooleanFilter(
        field_name="credit_identified_on",
        lookup_expr="isnull",
        exclude=True,
        help_text="Some bucket of the account is below zero (the credit-balance review queue).",
    )
    account_number = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = PatientAccount
        fields = [
            "organization",
            "patient",
            "status",
            "kind",
            "financial_class",
            "has_credit",
            "account_number",
        ]


class ChargeFilterSet(OrganizationReferenceFilterSet):
    account = _account_filter()
    status = django_filters.ChoiceFilter(choices=ChargeStatus.choices)
    has_open_edits = django_filters.BooleanFilter(
        method="filter_open_edits", help_text="The charge has an edit that is neither fixed nor overridden."
    )

    class Meta:
        model = Charge
        fields = ["organization", "account", "status", "has_open_edits"]

    def filter_open_edits(self, queryset: QuerySet[Charge], name: str, value: bool) -> QuerySet[Charge]:
        open_edit = ChargeEdit.objects.filter(charge=OuterRef("pk"), status=ChargeEdit.Status.OPEN)
        return queryset.filter(Exists(open_edit) if value else ~Exists(open_edit))


class LedgerEntryFilterSet(OrganizationReferenceFilterSet):
    account = _account_filter()
    kind = django_filters.ChoiceFilter(choices=EntryKind.choices)
    posted_from = django_filters.DateFilter(
        field_name="posted_at", lookup_expr="date__gte", help_text="Posted on or after this day."
    )
    posted_to = django_filters.DateFilter(
        field_name="posted_at", lookup_expr="date__lte", help_text="Posted on or before this day."
    )

    class Meta:
        model = LedgerEntry
        fields = ["organization", "account", "kind", "posted_from", "posted_to"]


class AdjustmentRequestFilterSet(OrganizationReferenceFilterSet):
    account = _account_filter()
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)

    class Meta:
        model = AdjustmentRequest
        fields = ["organization", "account", "status"]
