from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from core.calendar import BusinessCalendar
from staff.models import Organization, OrganizationClosure


def calendar_for(organization: Organization, *, around: date | None = None) -> BusinessCalendar:
    """The organization's business-day calendar (federal holidays plus its own closures).

    Closures are loaded for a window of five years around ``around`` (today by
    default), which covers every clock the back office runs.
    """
    around = around or timezone.localdate()
    closures = OrganizationClosure.objects.filter(
        organization=organization,
        date__range=(around - timedelta(days=2 * 366), around + timedelta(days=3 * 366)),
    ).values_list("date", flat=True)
    return BusinessCalendar(closures)
