"""Reads over many payer rows: search, active rows, and notices a person has (not) read."""

from __future__ import annotations

from typing import Any

from django.db import models

from staff.querysets import OrganizationScopedQuerySet


class PayerQuerySet(OrganizationScopedQuerySet):
    def active(self) -> models.QuerySet:
        return self.filter(is_active=True)

    def search(self, text: str) -> models.QuerySet:
        """Name or EDI payer id contains ``text`` (what a rep types while a caller waits)."""
        text = (text or "").strip()
        if not text:
            return self
        return self.filter(models.Q(name__icontains=text) | models.Q(edi_payer_id__icontains=text))


class PlanQuerySet(OrganizationScopedQuerySet):
    def active(self) -> models.QuerySet:
        return self.filter(is_active=True)


class PayerNoticeQuerySet(OrganizationScopedQuerySet):
    def active(self) -> models.QuerySet:
        return self.filter(is_active=True)

    def _acknowledgements_of(self, user: Any) -> models.QuerySet:
        from payers.models import NoticeAcknowledgement

        return NoticeAcknowledgement.objects.filter(notice=models.OuterRef("pk"), user_id=user.pk)

    def with_acknowledgement(self, user: Any) -> models.QuerySet:
        """Annotate ``acknowledged_at``: when ``user`` acknowledged the notice, or None."""
        return self.annotate(
            acknowledged_at=models.Subquery(self._acknowledgements_of(user).values("acknowledged_at")[:1])
        )

    def unacknowledged_by(self, user: Any) -> models.QuerySet:
        """Active notices of the user's organizations that the user has not acknowledged.

        Whatever the effective date: a change announced for next month is read now.
        """
        return self.visible_to(user).active().exclude(models.Exists(self._acknowledgements_of(user)))
