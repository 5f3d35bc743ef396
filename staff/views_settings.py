"""Admin and supervisor settings pages: members, approval limits, organization, PHI access log.

Every page works on the ACTIVE organization (``request.organization``, chosen in the
switcher). Page views check a read predicate; action views check the manage predicate
first (so a read-only supervisor gets 403 whatever they post), load any referenced row
inside the active organization only (404 otherwise), validate a form and call exactly
one service, then redirect with a message (PRG).

Bad input never becomes a 500. Django form errors and the service's refusals (domain
errors, which name their field) are shown as a message naming the field: a page-level
form (add member, new team, limit, settings, closure day) is shown again with what was
typed; a row action redirects back to the list with the message.
"""

from __future__ import annotations

import csv
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from core.errors import DomainError
from core.forms import add_refusal, error_summary
from core.money import ZERO, format_money
from core.timeline import timeline_for
from staff import services
from staff.filtersets import MembershipFilterSet, PhiAccessLogFilterSet
from staff.forms import (
    ApprovalLimitForm,
    ClosureForm,
    MembershipAddForm,
    MembershipRoleForm,
    MembershipTeamForm,
    OrganizationForm,
    ReasonForm,
    TeamForm,
)
from staff.models import (
    ApprovalLimit,
    Membership,
    Organization,
    OrganizationClosure,
    PhiAccessLog,
    Role,
    Team,
)
from staff.permissions import (
    can_manage_approval_limits,
    can_manage_members,
    can_manage_organization,
    can_view_approval_limits,
    can_view_members,
    can_view_phi_access_log,
    require,
)

MEMBERS_PER_PAGE = 50
ACCESS_LOG_PER_PAGE = 50
ACCESS_LOG_EXPORT_MAX_ROWS = 50_000
TIMELINE_LENGTH = 50

# What a service may refuse with: a business rule (including bad input and rows removed
# meanwhile) or a permission re-checked inside the transaction.
_REFUSALS = (DomainError, PermissionDenied)

Predicate = Callable[[Any, Organization], bool]


def _active_organization(request: HttpRequest, predicate: Predicate) -> Organization:
    """The active organization, if ``predicate`` allows the user; otherwise 403."""
    organization = request.organization  # type: ignore[attr-defined]
    require(organization is not None and predicate(request.user, organization))
    return organization


# --- errors ------------------------------------------------------------------------------


def _run(form: forms.Form, service: Callable[..., Any], **kwargs: Any) -> Any | None:
    """Call ``service`` once with ``kwargs``; on refusal record it on ``form`` and return None."""
    try:
        return service(**kwargs)
    except _REFUSALS as exc:
        add_refusal(form, exc)
        return None


def _back(request: HttpRequest, url_name: str) -> HttpResponse:
    """Return to the list the action came from, keeping its filters and page."""
    target = reverse(url_name)
    next_url = request.POST.get("next", "")
    if next_url.startswith(target) and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect(target)


def _row_action_failed(request: HttpRequest, form: forms.Form, what: str, url_name: str) -> HttpResponse:
    messages.error(request, f"{what}. {error_summary(form)}")
    return _back(request, url_name)


# --- members and roles ---------------------------------------------------------------------


@login_required
@require_safe
def members(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_view_members)
    return _render_members(request, organization)


def _render_members(
    request: HttpRequest,
    organization: Organization,
    *,
    add_form: MembershipAddForm | None = None,
    team_form: TeamForm | None = None,
) -> HttpResponse:
    can_manage = can_manage_members(request.user, organization)
    queryset = (
        Membership.objects.in_organization(organization)
        .select_related("user", "team")
        .order_by("user__full_name", "user__email", "pk")
    )
    filterset = MembershipFilterSet(request.GET, queryset=queryset, organization=organization)
    page = Paginator(filterset.qs, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "organization": organization,
        "filterset": filterset,
        "page": page,
        "can_manage": can_manage,
    }
    if can_manage:
        context.update(
            {
                # Row forms are written out in the template from these lists, so fifty rows
                # cost one teams query, not fifty.
                "teams": list(Team.objects.in_organization(organization)),
                "roles": Role.choices,
                "add_form": add_form or MembershipAddForm(organization=organization),
                "team_form": team_form or TeamForm(),
            }
        )
    return render(request, "staff/members.html", context)


def _membership_in(organization: Organization, reference: Any) -> Membership:
    return get_object_or_404(
        Membership.objects.in_organization(organization).select_related("user", "team"), reference=reference
    )


@login_required
@require_POST
def member_add(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_manage_members)
    form = MembershipAddForm(request.POST, organization=organization)
    if form.is_valid():
        membership = _run(
            form,
            services.membership_add,
            organization=organization,
            email=form.cleaned_data["email"],
            full_name=form.cleaned_data["full_name"],
            role=form.cleaned_data["role"],
            team=form.cleaned_data["team"],
            by=request.user,
        )
        if membership is not None:
            messages.success(
                request, f"{membership.user.full_name} added as {membership.get_role_display()}."
            )
            return redirect("staff:members")
    messages.error(request, f"Member not added. {error_summary(form)}")
    return _render_members(request, organization, add_form=form)


@login_required
@require_POST
def team_create(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_manage_members)
    form = TeamForm(request.POST)
    if form.is_valid():
        team = _run(
            form,
            services.team_create,
            organization=organization,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            by=request.user,
        )
        if team is not None:
            messages.success(request, f"Team {team.name} created.")
            return redirect("staff:members")
    messages.error(request, f"Team not created. {error_summary(form)}")
    return _render_members(request, organization, team_form=form)


@login_required
@require_POST
def member_change_role(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = _active_organization(request, can_manage_members)
    membership = _membership_in(organization, reference)
    form = MembershipRoleForm(request.POST)
    if form.is_valid():
        changed = _run(
            form,
            services.membership_change_role,
            membership=membership,
            role=form.cleaned_data["role"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
        if changed is not None:
            messages.success(request, f"{changed.user.full_name} is now {changed.get_role_display()}.")
            return _back(request, "staff:members")
    return _row_action_failed(
        request, form, f"Role of {membership.user.full_name} not changed", "staff:members"
    )


def _set_active(request: HttpRequest, reference: Any, *, active: bool) -> HttpResponse:
    organization = _active_organization(request, can_manage_members)
    membership = _membership_in(organization, reference)
    form = ReasonForm(request.POST)
    verb = "reactivated" if active else "deactivated"
    if form.is_valid():
        changed = _run(
            form,
            services.membership_set_active,
            membership=membership,
            active=active,
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
        if changed is not None:
            messages.success(request, f"{changed.user.full_name} {verb}.")
            return _back(request, "staff:members")
    return _row_action_failed(request, form, f"{membership.user.full_name} not {verb}", "staff:members")


@login_required
@require_POST
def member_deactivate(request: HttpRequest, reference: Any) -> HttpResponse:
    return _set_active(request, reference, active=False)


@login_required
@require_POST
def member_reactivate(request: HttpRequest, reference: Any) -> HttpResponse:
    return _set_active(request, reference, active=True)


@login_required
@require_POST
def member_assign_team(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = _active_organization(request, can_manage_members)
    membership = _membership_in(organization, reference)
    form = MembershipTeamForm(request.POST, organization=organization)
    if form.is_valid():
        team = form.cleaned_data["team"]
        changed = _run(
            form, services.membership_assign_team, membership=membership, team=team, by=request.user
        )
        if changed is not None:
            where = f"to {team.name}" if team else "out of any team"
            messages.success(request, f"{changed.user.full_name} moved {where}.")
            return _back(request, "staff:members")
    return _row_action_failed(
        request, form, f"Team of {membership.user.full_name} not changed", "staff:members"
    )


# --- approval limits -----------------------------------------------------------------------


@login_required
@require_safe
def approval_limits(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_view_approval_limits)
    return _render_approval_limits(request, organization)


def _render_approval_limits(
    request: HttpRequest,
    organization: Organization,
    *,
    form: ApprovalLimitForm | None = None,
) -> HttpResponse:
    limits = {
        (limit.role, limit.kind): limit for limit in ApprovalLimit.objects.in_organization(organization)
    }
    kinds = list(ApprovalLimit.Kind)
    rows = [
        {
            "role": role,
            "cells": [
                {
                    "kind": kind,
                    "limit": limits.get((role.value, kind.value)),
                    "amount": format_money(
                        limits[(role.value, kind.value)].max_amount
                        if (role.value, kind.value) in limits
                        else ZERO
                    ),
                }
                for kind in kinds
            ],
        }
        for role in Role
    ]
    can_manage = can_manage_approval_limits(request.user, organization)
    if can_manage and form is None:
        # "Edit" links in the grid pre-fill the form through the query string.
        role, kind = request.GET.get("role"), request.GET.get("kind")
        initial: dict[str, Any] = {}
        if role in Role.values and kind in ApprovalLimit.Kind.values:
            current = limits.get((role, kind))
            initial = {"role": role, "kind": kind, "max_amount": current.max_amount if current else ZERO}
        form = ApprovalLimitForm(initial=initial)
    return render(
        request,
        "staff/approval_limits.html",
        {
            "organization": organization,
            "kinds": kinds,
            "rows": rows,
            "can_manage": can_manage,
            "form": form,
        },
    )


@login_required
@require_POST
def approval_limit_set(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_manage_approval_limits)
    form = ApprovalLimitForm(request.POST)
    if form.is_valid():
        limit = _run(
            form,
            services.approval_limit_set,
            organization=organization,
            role=form.cleaned_data["role"],
            kind=form.cleaned_data["kind"],
            max_amount=form.cleaned_data["max_amount"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
        if limit is not None:
            messages.success(
                request,
                f"{limit.get_kind_display()} limit for {limit.get_role_display()} "
                f"set to {format_money(limit.max_amount)}.",
            )
            return redirect("staff:approval_limits")
    messages.error(request, f"Limit not changed. {error_summary(form)}")
    return _render_approval_limits(request, organization, form=form)


# --- organization settings -----------------------------------------------------------------


@login_required
@require_safe
def organization_settings(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_manage_organization)
    return _render_organization_settings(request, organization)


def _render_organization_settings(
    request: HttpRequest,
    organization: Organization,
    *,
    organization_form: OrganizationForm | None = None,
    closure_form: ClosureForm | None = None,
) -> HttpResponse:
    # The middleware activated the organization's zone, so "today" is the office's today.
    today = timezone.localdate()
    closures = list(OrganizationClosure.objects.in_organization(organization).order_by("date"))
    return render(
        request,
        "staff/organization_settings.html",
        {
            "organization": organization,
            "organization_form": organization_form
            or OrganizationForm(
                initial={"name": organization.name, "time_zone": organization.time_zone},
                current_time_zone=organization.time_zone,
            ),
            "closure_form": closure_form or ClosureForm(),
            "upcoming_closures": [c for c in closures if c.date >= today],
            "past_closures": [c for c in reversed(closures) if c.date < today],
            "timeline": timeline_for(organization)[:TIMELINE_LENGTH],
        },
    )


@login_required
@require_POST
def organization_update(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_manage_organization)
    form = OrganizationForm(request.POST, current_time_zone=organization.time_zone)
    if form.is_valid():
        updated = _run(
            form,
            services.organization_update,
            organization=organization,
            name=form.cleaned_data["name"],
            time_zone=form.cleaned_data["time_zone"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
        if updated is not None:
            messages.success(request, "Organization settings saved.")
            return redirect("staff:organization_settings")
    messages.error(request, f"Settings not saved. {error_summary(form)}")
    return _render_organization_settings(request, organization, organization_form=form)


@login_required
@require_POST
def closure_add(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_manage_organization)
    form = ClosureForm(request.POST)
    if form.is_valid():
        closure = _run(
            form,
            services.closure_add,
            organization=organization,
            day=form.cleaned_data["date"],
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
        if closure is not None:
            messages.success(request, f"Closed on {closure.date:%Y-%m-%d}: {closure.reason}.")
            return redirect("staff:organization_settings")
    messages.error(request, f"Closure day not added. {error_summary(form)}")
    return _render_organization_settings(request, organization, closure_form=form)


@login_required
@require_POST
def closure_remove(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = _active_organization(request, can_manage_organization)
    closure = get_object_or_404(
        OrganizationClosure.objects.in_organization(organization), reference=reference
    )
    form = forms.Form(request.POST)
    # closure_remove returns nothing, so success is "no error recorded on the form".
    _run(form, services.closure_remove, closure=closure, by=request.user)
    if form.errors:
        return _row_action_failed(
            request, form, f"Closure on {closure.date:%Y-%m-%d} not removed", "staff:organization_settings"
        )
    messages.success(request, f"{closure.date:%Y-%m-%d} is no longer a closure day.")
    return redirect("staff:organization_settings")


# --- PHI access log ------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _cursor_of(row: PhiAccessLog) -> str:
    """A row's position in (accessed_at, id) order, exact to the microsecond."""
    delta = row.accessed_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}_{row.pk}"


def _parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    if not raw:
        return None
    try:
        micros, pk = (int(part) for part in raw.split("_", 1))
        return _EPOCH + timedelta(microseconds=micros), pk
    except (ValueError, OverflowError):
        return None


def _access_log_rows(
    queryset: models.QuerySet, *, older: str | None, newer: str | None, limit: int
) -> tuple[list[PhiAccessLog], bool, bool]:
    """One page of the log, newest first, by keyset: ``(rows, has_newer, has_older)``.

    No COUNT: the log grows by every patient-record view for six years. Fetching
    ``limit + 1`` rows tells whether another page exists in the direction of travel.
    """
    newer_cursor = _parse_cursor(newer)
    older_cursor = None if newer_cursor else _parse_cursor(older)
    if newer_cursor:
        at, pk = newer_cursor
        # The plain range on accessed_at lets PostgreSQL use the (organization,
        # -accessed_at) index; the OR breaks ties between rows of the same microsecond.
        rows = list(
            queryset.filter(accessed_at__gte=at)
            .filter(models.Q(accessed_at__gt=at) | models.Q(pk__gt=pk))
            .order_by("accessed_at", "id")[: limit + 1]
        )
        has_newer = len(rows) > limit
        return list(reversed(rows[:limit])), has_newer, True
    if older_cursor:
        at, pk = older_cursor
        queryset = queryset.filter(accessed_at__lte=at).filter(
            models.Q(accessed_at__lt=at) | models.Q(pk__lt=pk)
        )
    rows = list(queryset.order_by("-accessed_at", "-id")[: limit + 1])
    return rows[:limit], older_cursor is not None, len(rows) > limit


def _filtered_access_log(request: HttpRequest, organization: Organization) -> PhiAccessLogFilterSet:
    queryset = PhiAccessLog.objects.in_organization(organization).select_related("user", "subject_type")
    return PhiAccessLogFilterSet(request.GET, queryset=queryset, organization=organization)


@login_required
@require_safe
def access_log(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_view_phi_access_log)
    filterset = _filtered_access_log(request, organization)
    rows, has_newer, has_older = _access_log_rows(
        filterset.qs,
        older=request.GET.get("older"),
        newer=request.GET.get("newer"),
        limit=ACCESS_LOG_PER_PAGE,
    )
    return render(
        request,
        "staff/access_log.html",
        {
            "organization": organization,
            "filterset": filterset,
            "rows": rows,
            "newer_cursor": _cursor_of(rows[0]) if rows and has_newer else None,
            "older_cursor": _cursor_of(rows[-1]) if rows and has_older else None,
            "export_max_rows": f"{ACCESS_LOG_EXPORT_MAX_ROWS:,}",
        },
    )


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value: Any) -> str:
    # Names and paths are typed by people; a leading "=" must not run as a spreadsheet formula.
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_PREFIXES) else text


def _access_log_csv(rows: Iterable[PhiAccessLog], time_zone: zoneinfo.ZoneInfo) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(
        ["when", "user", "user_email", "action", "record_type", "record_id", "path", "ip_address"]
    )
    for row in rows:
        yield writer.writerow(
            [
                # Explicit zone: the response streams after the middleware has deactivated it.
                timezone.localtime(row.accessed_at, time_zone).isoformat(),
                _csv_safe(row.user.full_name),
                _csv_safe(row.user.email),
                row.get_action_display(),
                row.subject_type.name,
                row.subject_id,
                _csv_safe(row.path),
                row.ip_address or "",
            ]
        )


@login_required
@require_safe
def access_log_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered log as CSV, newest first, at most ACCESS_LOG_EXPORT_MAX_ROWS rows.

    The log holds ids, never PHI, so exporting it is not itself a PHI access and
    writes nothing.
    """
    organization = _active_organization(request, can_view_phi_access_log)
    filterset = _filtered_access_log(request, organization)
    rows = filterset.qs.order_by("-accessed_at", "-id")[:ACCESS_LOG_EXPORT_MAX_ROWS].iterator(chunk_size=2000)
    filename = f"phi-access-log-{organization.slug}-{timezone.localdate():%Y%m%d}.csv"
    response = StreamingHttpResponse(
        _access_log_csv(rows, zoneinfo.ZoneInfo(organization.time_zone)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
