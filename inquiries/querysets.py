"""Reads over cases and everything on them; every list starts at ``visible_to``."""

from __future__ import annotations

from typing import Any

from django.db import models

from staff.querysets import OrganizationScopedQuerySet


class InquiriesQuerySet(OrganizationScopedQuerySet):
    """Rows of the user's organizations (the staff funnel), for every inquiries model."""


class CaseQuerySet(OrganizationScopedQuerySet):
    def open(self) -> models.QuerySet:
        from inquiries.models.cases import OPEN_STATUSES

        return self.filter(status__in=OPEN_STATUSES)

    def assigned_to(self, user: Any) -> models.QuerySet:
        return self.filter(assigned_to=user)

    def for_list(self) -> models.QuerySet:
        """What the case list shows per row: subject, owner and department, in one query."""
        return self.select_related("patient", "account", "assigned_to", "department")
