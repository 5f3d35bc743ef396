"""Small assertions shared by the payer tests."""

from __future__ import annotations

from typing import Any

from core.models import TimelineEvent


def events(organization: Any, kind: str | None = None) -> Any:
    queryset = TimelineEvent.objects.filter(organization=organization).order_by("id")
    return queryset.filter(kind=kind) if kind else queryset


def last_event(organization: Any, kind: str) -> TimelineEvent:
    event = events(organization, kind).last()
    assert event is not None, f"no {kind} event"
    return event


def last_history(obj: Any) -> Any:
    return obj.history.order_by("-history_date", "-history_id").first()


def state(obj: Any) -> tuple[int, int]:
    """History rows of ``obj`` and timeline events of its organization: unchanged when nothing happened."""
    return obj.history.count(), TimelineEvent.objects.filter(organization_id=obj.organization_id).count()
