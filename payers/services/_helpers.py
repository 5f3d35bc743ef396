"""What every payer service shares: validation, change diffs, locks and the no-overlap rule."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from core.audit import mark_change
from core.errors import Conflict, InvalidInput, NotPermitted, invalid_from_validation
from core.money import parse_money
from core.timeline import event_record
from payers import fee_import
from payers.models import (
    Payer,
)


def require_permission(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotPermitted(message)


def validate_fields(obj: Any, exclude: Iterable[str] = ()) -> None:
    """Field-level validation (lengths, choices, URLs); uniqueness and overlaps are checked by hand."""
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise invalid_from_validation(exc) from None


def insert_row(obj: Any, conflict: Conflict) -> None:
    """Save a new row; a unique constraint hit by a concurrent request becomes ``conflict``."""
    try:
        with transaction.atomic(savepoint=True):
            obj.save()
    except IntegrityError:
        raise conflict from None


def lock_row(model: type[models.Model], obj: Any) -> Any:
    obj.refresh_from_db(from_queryset=model.objects.select_for_update(no_key=True))
    return obj


def checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason: say why this changes (it is kept in the change history)", field="reason")
    return reason


def stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def apply_changes(obj: Any, changes: dict[str, Any], allowed: Iterable[str]) -> dict[str, tuple[Any, Any]]:
    """Set the changed fields on ``obj``; returns ``{field: (old, new)}`` for those that differ."""
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise InvalidInput(f"{unknown[0]}: cannot be changed here", field=unknown[0])
    diff = {}
    for name, value in changes.items():
        value = stripped(value)
        old = getattr(obj, name)
        if old != value:
            diff[name] = (old, value)
            setattr(obj, name, value)
    return diff


def jsonable(value: Any) -> Any:
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return str(getattr(value, "reference", value.pk))
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return value if isinstance(value, str | int | bool | type(None)) else str(value)


def diff_data(diff: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {"old": jsonable(old), "new": jsonable(new)} for name, (old, new) in diff.items()}


def save_changes(obj: Any, diff: dict[str, tuple[Any, Any]], *, by: Any, reason: str) -> None:
    mark_change(obj, by=by, reason=reason)
    # ForeignKey changes are saved through their attname ("plan" → "plan_id" works either way).
    obj.save(update_fields=[*diff, "updated_at"])


def payer_event(payer: Payer, kind: str, summary: str, by: Any, data: dict | None = None) -> None:
    event_record(organization=payer.organization, subject=payer, kind=kind, summary=summary, by=by, data=data)


def positive_days(value: Any, field: str, *, allow_zero: bool = False) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field}: enter a whole number of days", field=field) from None
    if days < 0 or (days == 0 and not allow_zero):
        raise InvalidInput(f"{field}: must be {'0' if allow_zero else '1'} or more days", field=field)
    return days


def percent_or_none(raw: Any, field: str) -> Decimal | None:
    return fee_import.parse_percent(raw, field)


def money_or_none(raw: Any, field: str) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    amount = parse_money(raw, field=field)
    if amount < 0:
        raise InvalidInput(f"{field}: cannot be negative", field=field)
    return amount


def check_dates_ordered(start: date, end: date | None) -> None:
    if end is not None and end < start:
        raise InvalidInput(
            f"effective_to: {end:%Y-%m-%d} is before the start date {start:%Y-%m-%d}", field="effective_to"
        )


def span(start: date, end: date | None) -> str:
    return f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" if end else f"{start:%Y-%m-%d} on (no end date)"


def overlapping(queryset: models.QuerySet, start: date, end: date | None) -> models.QuerySet:
    """Rows of ``queryset`` whose effective range shares at least one day with ``start`` to ``end``."""
    queryset = queryset.filter(models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=start))
    if end is not None:
        queryset = queryset.filter(effective_from__lte=end)
    return queryset


def end_row_in_force(
    queryset: models.QuerySet, start: date, *, by: Any, reason: str
) -> tuple[Any, date | None] | None:
    """End the row of ``queryset`` in force on ``start`` that began earlier, the day before ``start``.

    Returns ``(row, its old end)``, or None when no earlier row is in force on that day.
    The caller holds the lock that serializes changes to these rows.
    """
    previous = (
        overlapping(queryset, start, start)
        .filter(effective_from__lt=start)
        .select_for_update(no_key=True)
        .first()
    )
    if previous is None:
        return None
    old_end = previous.effective_to
    previous.effective_to = start - timedelta(days=1)
    mark_change(previous, by=by, reason=reason)
    previous.save(update_fields=["effective_to", "updated_at"])
    return previous, old_end


def refuse_overlap(queryset: models.QuerySet, start: date, end: date | None, what: str) -> None:
    other = overlapping(queryset, start, end).order_by("effective_from").first()
    if other is not None:
        raise Conflict(
            f"effective_from: the dates overlap the {what} in force "
            f"{span(other.effective_from, other.effective_to)}; end that {what} first (or choose to end "
            "it the day before this one starts), or change these dates",
            field="effective_from",
        )
