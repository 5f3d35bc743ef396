from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from staff.permissions import memberships_of

SESSION_KEY = "active_organization_id"


class ActiveOrganizationMiddleware:
    """Sets ``request.organization`` and ``request.membership`` from the organization switcher.

    The active organization is the one chosen in the session while the user is still a
    member of it, else their first organization by name. Times are shown in its zone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organization = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = memberships_of(user)
            chosen = memberships.get(request.session.get(SESSION_KEY))
            if chosen is None and memberships:
                chosen = min(memberships.values(), key=lambda m: m.organization.name)
            if chosen is not None:
                request.organization = chosen.organization  # type: ignore[attr-defined]
                request.membership = chosen  # type: ignore[attr-defined]
                timezone.activate(zoneinfo.ZoneInfo(chosen.organization.time_zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
