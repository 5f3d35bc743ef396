"""When a case is due: the organization's service level for its category and priority, counted in
business hours on the organization's calendar.

A service-level hour is an hour of a business day in the organization's time zone:
weekends, federal holidays and the organization's closures do not count, so 24 hours
from Friday 3 p.m. is Monday 3 p.m. (and Tuesday 3 p.m. when that Monday is a holiday).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from core.calendar import BusinessCalendar
from inquiries.models import Priority, ServiceLevel
from staff.calendar import calendar_for

# Used when an organization has no service level for a case: (first response, resolution) hours.
DEFAULT_HOURS = {
    Priority.URGENT: (4, 24),
    Priority.HIGH: (8, 48),
    Priority.NORMAL: (24, 120),
    Priority.LOW: (48, 240),
}


@dataclass(frozen=True)
class Targets:
    first_response_hours: int
    resolution_hours: int
    source: str  # "the organization's service level" or "the default"


def targets_for(organization: Any, category: str, priority: str) -> Targets:
    """The most specific service level: category and priority, then category, then priority, then any."""
    levels = {
        (level.category, level.priority): level
        for level in ServiceLevel.objects.filter(organization=organization)
    }
    for key in ((category, priority), (category, ""), ("", priority), ("", "")):
        level = levels.get(key)
        if level is not None:
            return Targets(
                level.first_response_hours, level.resolution_hours, "the organization's service level"
            )
    first, resolution = DEFAULT_HOURS.get(priority, DEFAULT_HOURS[Priority.NORMAL])
    return Targets(first, resolution, "the default")


def add_business_hours(
    start: datetime, hours: int, calendar: BusinessCalendar, tz: zoneinfo.ZoneInfo
) -> datetime:
    """``start`` plus ``hours`` counted only on business days in ``tz``; returns an aware datetime."""
    local = start.astimezone(tz).replace(tzinfo=None)
    remaining = timedelta(hours=hours)
    if not calendar.is_business_day(local.date()):
        local = datetime.combine(calendar.next_business_day(local.date()), time.min)
    while True:
        # Wall-clock arithmetic inside one local day; the zone is attached at the end so a
        # daylight-saving change does not move the due time off the hour a person expects.
        end_of_day = datetime.combine(local.date() + timedelta(days=1), time.min)
        available = end_of_day - local
        if remaining <= available:
            return (local + remaining).replace(tzinfo=tz)
        remaining -= available
        local = datetime.combine(calendar.next_business_day(end_of_day.date()), time.min)


@dataclass(frozen=True)
class DueTimes:
    first_response_due_at: datetime
    due_at: datetime
    targets: Targets


def due_times(organization: Any, category: str, priority: str, opened_at: datetime) -> DueTimes:
    targets = targets_for(organization, category, priority)
    tz = zoneinfo.ZoneInfo(organization.time_zone)
    calendar = calendar_for(organization, around=opened_at.astimezone(tz).date())
    return DueTimes(
        first_response_due_at=add_business_hours(opened_at, targets.first_response_hours, calendar, tz),
        due_at=add_business_hours(opened_at, targets.resolution_hours, calendar, tz),
        targets=targets,
    )


def reply_due_at(organization: Any, category: str, priority: str, received_at: datetime) -> datetime:
    """When an email received at ``received_at`` must have been answered (the first-response target)."""
    return due_times(organization, category, priority, received_at).first_response_due_at
