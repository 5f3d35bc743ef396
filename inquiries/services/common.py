"""Helpers the inquiries services share: refusals, validation, saving, locking and the case timeline."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    error_from_integrity,
    invalid_from_validation,
)
from core.timeline import event_record


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotPermitted(message)


def validate(obj: Any, **kwargs: Any) -> None:
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        raise invalid_from_validation(exc) from None


def save(obj: Any, conflict: Conflict | None = None, **kwargs: Any) -> None:
    """Save; a violated constraint becomes InvalidInput naming the field, or ``conflict``."""
    try:
        with transaction.atomic(savepoint=True):
            obj.save(**kwargs)
    except IntegrityError as exc:
        raise error_from_integrity(exc, type(obj), conflict) from None


def lock(obj: Any) -> Any:
    """Take the row lock and reload ``obj`` in place (lock first, then check: HOUSE_STYLE rule 7)."""
    obj.refresh_from_db(from_queryset=type(obj).objects.select_for_update(no_key=True))
    return obj


def reason_text(reason: str, what: str = "reason", *, minimum: int = 1) -> str:
    reason = (reason or "").strip()
    if len(reason) < minimum:
        detail = f" (at least {minimum} characters)" if minimum > 1 else ""
        raise InvalidInput(f"{what}: say why{detail}; it is kept on the case", field=what)
    return reason


def same_org(obj: Any, other: Any, what: str) -> None:
    if other is not None and other.organization_id != obj.organization_id:
        raise InvalidInput(f"{what}: belongs to another organization", field=what)


def ensure_transition(obj: Any, status: str, verb: str) -> None:
    if not obj.can_transition_to(status):
        raise InvalidTransition(
            f"status: a {obj.get_status_display().lower()} case cannot be {verb}", field="status"
        )


def local_today(organization: Any, now: datetime | None = None) -> date:
    """Today in the organization's time zone (follow-up dates are its calendar days)."""
    return timezone.localtime(now or timezone.now(), zoneinfo.ZoneInfo(organization.time_zone)).date()


def case_event(case: Any, kind: str, summary: str, by: Any, /, **data: Any) -> None:
    event_record(
        organization=case.organization,
        subject=case,
        kind=f"inquiries.{kind}",
        summary=summary,
        by=by,
        data={"case": case.number, **data},
    )


def day_text(day: date) -> str:
    return f"{day:%m/%d/%Y}"
