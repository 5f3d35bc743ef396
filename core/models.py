from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class BaseModel(models.Model):
    """Timestamps plus a UUID ``reference`` for URLs and emails; the integer PK stays internal."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class HistoryContext(models.Model):
    """Extra columns on every historical table: groups the rows one request or task wrote."""

    request_id = models.CharField(max_length=36, blank=True, default="")

    class Meta:
        abstract = True


class TimelineEvent(models.Model):
    """A business event on a subject's timeline (an account, a case, an organization…).

    Written inside the service that made the change, never by signals. ``kind`` is
    namespaced (``"staff.membership.role_changed"``); ``data`` holds old/new values with
    secrets masked. Rows are never edited.
    """

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=80)
    summary = models.CharField(max_length=300)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.BigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=36, blank=True, default="")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # The timeline of one subject, newest first (account and case pages).
            models.Index(fields=["subject_type", "subject_id", "-occurred_at"], name="core_timeline_subject"),
            models.Index(fields=["organization", "-occurred_at"], name="core_timeline_org"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M}"


class WorkerHeartbeat(models.Model):
    """Last sign of life from a Celery worker; ``/health/`` reads it.

    Updated with a plain UPDATE (not history-tracked: it is operational data).
    """

    hostname = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()
    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.hostname


def choice_check(field: str, choices: type[models.Choices]) -> models.CheckConstraint:
    """A CHECK that ``field`` holds one of ``choices`` (choices alone don't constrain the database)."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__in": choices.values}), name=f"%(app_label)s_%(class)s_{field}_valid"
    )
