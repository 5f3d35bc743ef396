"""List filters of the payer pages, built on the querysets' own reads (``Payer.objects.search``)."""

from __future__ import annotations

import django_filters
from django.db import models

from payers.models import Payer, PayerKind

STATUS_CHOICES = [("active", "Active"), ("inactive", "Inactive"), ("all", "Active and inactive")]


class PayerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Name or EDI payer id")
    kind = django_filters.ChoiceFilter(choices=PayerKind.choices, empty_label="Any kind")
    # Active payers unless asked otherwise: inactive ones are kept for old claims, not for new work.
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", empty_label=None, label="Status"
    )

    class Meta:
        model = Payer
        fields = ["q", "kind", "status"]

    def filter_search(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        return queryset.search(value)

    def filter_status(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        if value == "inactive":
            return queryset.filter(is_active=False)
        if value == "all":
            return queryset
        return queryset.filter(is_active=True)

    def filter_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        queryset = super().filter_queryset(queryset)
        # No status in the query string (or one that makes no sense) still means "active".
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.filter(is_active=True)
        return queryset
