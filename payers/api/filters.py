"""FilterSets for the payers API. Related objects are filtered by their UUID ``reference``.

Filters only narrow a queryset the view already scoped with ``visible_to(user)``: asking
for another organization's reference yields an empty list, never its rows.
"""

from __future__ import annotations

import django_filters
from django.db import models

from payers.models import Contract, FeeScheduleEntry, Payer, PayerKind, PayerNotice, PayerRule, Plan, PlanType
from staff.api.filters import OrganizationReferenceFilterSet


def _payer_filter(field_name: str = "payer__reference") -> django_filters.UUIDFilter:
    return django_filters.UUIDFilter(field_name=field_name, help_text="Reference of a payer.")


def _effective_on() -> django_filters.DateFilter:
    return django_filters.DateFilter(
        method="filter_effective_on", help_text="Only rows in force on this day (YYYY-MM-DD)."
    )


class EffectiveOnMixin:
    def filter_effective_on(self, queryset: models.QuerySet, name: str, value: object) -> models.QuerySet:
        return queryset.effective_on(value)


class PayerFilterSet(OrganizationReferenceFilterSet):
    kind = django_filters.ChoiceFilter(choices=PayerKind.choices)
    active = django_filters.BooleanFilter(field_name="is_active")
    search = django_filters.CharFilter(
        method="filter_search", help_text="Name or EDI payer id contains this."
    )

    class Meta:
        model = Payer
        fields = ["organization", "kind", "active", "search"]

    def filter_search(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.search(value)


class PlanFilterSet(OrganizationReferenceFilterSet):
    payer = _payer_filter()
    kind = django_filters.ChoiceFilter(
        field_name="payer__kind", choices=PayerKind.choices, help_text="Kind of the plan's payer."
    )
    plan_type = django_filters.ChoiceFilter(choices=PlanType.choices)
    active = django_filters.BooleanFilter(field_name="is_active")
    search = django_filters.CharFilter(
        method="filter_search", help_text="Product or group number contains this."
    )

    class Meta:
        model = Plan
        fields = ["organization", "payer", "kind", "plan_type", "active", "search"]

    def filter_search(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(models.Q(name__icontains=value) | models.Q(group_number__icontains=value))


class PayerRuleFilterSet(EffectiveOnMixin, OrganizationReferenceFilterSet):
    payer = _payer_filter()
    effective_on = _effective_on()

    class Meta:
        model = PayerRule
        fields = ["organization", "payer", "effective_on"]


class ContractFilterSet(EffectiveOnMixin, OrganizationReferenceFilterSet):
    payer = _payer_filter()
    plan = django_filters.UUIDFilter(field_name="plan__reference", help_text="Reference of a plan.")
    effective_on = _effective_on()

    class Meta:
        model = Contract
        fields = ["organization", "payer", "plan", "effective_on"]


class FeeScheduleEntryFilterSet(EffectiveOnMixin, OrganizationReferenceFilterSet):
    contract = django_filters.UUIDFilter(
        field_name="contract__reference", help_text="Reference of a contract."
    )
    payer = _payer_filter("contract__payer__reference")
    code = django_filters.CharFilter(method="filter_code", help_text="Exact code (case-insensitive).")
    modifier = django_filters.CharFilter(method="filter_modifier", help_text="Exact modifier.")
    effective_on = _effective_on()

    class Meta:
        model = FeeScheduleEntry
        fields = ["organization", "contract", "payer", "code", "modifier", "effective_on"]

    def filter_code(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.filter(code=value.strip().upper())

    def filter_modifier(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.filter(modifier=value.strip().upper())


class PayerNoticeFilterSet(OrganizationReferenceFilterSet):
    payer = _payer_filter("payers__reference")
    active = django_filters.BooleanFilter(field_name="is_active")
    acknowledged = django_filters.BooleanFilter(
        method="filter_acknowledged", help_text="Whether you (the caller) have acknowledged the notice."
    )

    class Meta:
        model = PayerNotice
        fields = ["organization", "payer", "active", "acknowledged"]

    def filter_acknowledged(self, queryset: models.QuerySet, name: str, value: bool) -> models.QuerySet:
        # The view annotates acknowledged_at for the caller.
        return queryset.filter(acknowledged_at__isnull=not value)
