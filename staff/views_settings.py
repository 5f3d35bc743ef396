"""Admin and supervisor settings pages (members, limits, organization, access log)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from staff.permissions import (
    can_manage_organization,
    can_view_approval_limits,
    can_view_members,
    can_view_phi_access_log,
    require,
)


@login_required
def members(request: HttpRequest) -> HttpResponse:
    require(request.organization is not None and can_view_members(request.user, request.organization))
    return render(request, "staff/members.html", {})


@login_required
def approval_limits(request: HttpRequest) -> HttpResponse:
    require(request.organization is not None and can_view_approval_limits(request.user, request.organization))
    return render(request, "staff/approval_limits.html", {})


@login_required
def organization_settings(request: HttpRequest) -> HttpResponse:
    require(request.organization is not None and can_manage_organization(request.user, request.organization))
    return render(request, "staff/organization_settings.html", {})


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    require(request.organization is not None and can_view_phi_access_log(request.user, request.organization))
    return render(request, "staff/access_log.html", {})
