"""Business-day calendar: US federal holidays, weekends, and organization closures.

Every regulatory and payer clock (timely filing, appeal windows, audit due dates…) is
computed through this module so that one calendar rule applies everywhere. The
organization-specific part (closure days) is passed in; ``staff`` builds a calendar
for an organization with ``staff.calendar.calendar_for(organization)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _federal_holidays(year: int) -> frozenset[date]:
    # "observed" shifts a holiday on a weekend to the Friday/Monday, as federal offices do.
    return frozenset(holidays.US(years=year, observed=True).keys())


class BusinessCalendar:
    """Working days are Monday to Friday minus US federal holidays (observed) and closures."""

    def __init__(self, closures: Iterable[date] = ()):
        self.closures = frozenset(closures)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _federal_holidays(day.year) and day not in self.closures

    def closed_reason(self, day: date) -> str | None:
        """Why ``day`` is not a business day, or None when it is one."""
        if day.weekday() >= 5:
            return "weekend"
        if day in self.closures:
            return "organization closure"
        return holidays.US(years=day.year, observed=True).get(day)

    def add_business_days(self, start: date, days: int) -> date:
        """The date ``days`` business days after ``start`` (before it when negative).

        ``start`` itself is never counted, matching "within N business days of" in
        regulations: scheduling on Friday + 1 business day is Monday.
        """
        step = 1 if days >= 0 else -1
        remaining = abs(days)
        current = start
        while remaining:
            current += timedelta(days=step)
            if self.is_business_day(current):
                remaining -= 1
        return current

    def next_business_day(self, day: date) -> date:
        """``day`` itself when it is a business day, else the next one."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """Business days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.business_days_between(end, start)
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            if self.is_business_day(current):
                count += 1
        return count

    def add_calendar_days(self, start: date, days: int, *, roll_forward: bool = True) -> date:
        """Calendar-day clocks whose last day moves to the next business day when it falls on a closed day."""
        due = start + timedelta(days=days)
        return self.next_business_day(due) if roll_forward else due
