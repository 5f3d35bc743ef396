"""Reads over many claims."""

from __future__ import annotations

from django.db import models

from staff.querysets import OrganizationScopedQuerySet


class ClaimQuerySet(OrganizationScopedQuerySet):
    def waiting_for_payer(self) -> models.QuerySet:
        return self.filter(status__in=["submitted", "pended"])

    def open(self) -> models.QuerySet:
        return self.exclude(status__in=["closed", "void"])
