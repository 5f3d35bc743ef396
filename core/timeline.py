"""The business timeline: ``event_record`` is what services call to note what happened."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from core.audit import current_actor, current_request_id
from core.models import TimelineEvent

_SECRET_KEYS = ("password", "secret", "token", "api_key", "ssn", "card_number", "account_number_full")


def mask_secrets(data: Any) -> Any:
    """Replace values of secret-looking keys, recursively (pretix masks the same way)."""
    if isinstance(data, dict):
        return {
            key: "********" if any(s in str(key).lower() for s in _SECRET_KEYS) else mask_secrets(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [mask_secrets(item) for item in data]
    return data


def event_record(
    *,
    organization: Any,
    subject: models.Model,
    kind: str,
    summary: str,
    by: Any = None,
    data: dict | None = None,
) -> TimelineEvent:
    """Record a business event on ``subject``'s timeline, inside the caller's transaction."""
    actor = by if by is not None else current_actor()
    return TimelineEvent.objects.create(
        organization=organization,
        subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
        subject_id=subject.pk,
        kind=kind,
        summary=summary[:300],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        data=mask_secrets(data or {}),
        request_id=current_request_id(),
    )


def timeline_for(subject: models.Model) -> models.QuerySet[TimelineEvent]:
    return TimelineEvent.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
        subject_id=subject.pk,
    ).select_related("actor")
