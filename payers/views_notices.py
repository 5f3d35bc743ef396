"""Payer notice pages: everyone reads and acknowledges; supervisors and admins publish,
correct and withdraw notices, and see who has not read them yet.

Same shape as ``payers.views``: the active organization only, a predicate checked first,
one service per action, a redirect with a message that says what happened.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, Prefetch, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from payers import services
from payers.forms import NoticeEditForm, NoticeForm
from payers.models import Payer, PayerNotice, Plan
from payers.permissions import can_acknowledge_notice, can_publish_notices, can_view_notice_report
from payers.selectors import notice_read_report
from payers.views import (
    FORM_METHODS,
    active_organization,
    changed_fields,
    error_summary,
    form_page,
    run,
    scoped,
)
from staff.forms import ReasonForm
from staff.models import Organization

NOTICES_PER_PAGE = 25


def _notices(request: HttpRequest, organization: Organization) -> Any:
    return (
        scoped(PayerNotice, request, organization)
        .with_acknowledgement(request.user)
        .select_related("published_by")
        .prefetch_related(
            Prefetch("payers", Payer.objects.order_by("name")),
            Prefetch("plans", Plan.objects.select_related("payer").order_by("payer__name", "name")),
        )
    )


def _notice_in(request: HttpRequest, organization: Organization, reference: Any) -> PayerNotice:
    return get_object_or_404(_notices(request, organization), reference=reference)


def _list_crumbs() -> list[tuple[str, str]]:
    return [(reverse("payers:notice_list"), "Payer notices")]


@login_required
@require_safe
def notice_list(request: HttpRequest) -> HttpResponse:
    """Notices of the active organization, the ones the reader has not acknowledged first."""
    organization = active_organization(request)
    withdrawn = request.GET.get("show") == "withdrawn"
    notices = _notices(request, organization).filter(is_active=not withdrawn)
    if withdrawn:
        notices = notices.order_by("-effective_date", "-created_at", "pk")
    else:
        notices = notices.annotate(
            unread=Case(When(acknowledged_at__isnull=True, then=Value(1)), default=Value(0))
        ).order_by("-unread", "-effective_date", "-created_at", "pk")
    page = Paginator(notices, NOTICES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "payers/notice_list.html",
        {
            "organization": organization,
            "page": page,
            "withdrawn": withdrawn,
            "unread_count": PayerNotice.objects.unacknowledged_by(request.user)
            .in_organization(organization)
            .count(),
            "can_publish": can_publish_notices(request.user, organization),
            "can_report": can_view_notice_report(request.user, organization),
        },
    )


@login_required
@require_safe
def notice_detail(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request)
    notice = _notice_in(request, organization, reference)
    can_report = can_view_notice_report(request.user, organization)
    status = None
    if can_report and notice.is_active:
        status = notice_read_report(
            organization=organization, notices=PayerNotice.objects.filter(pk=notice.pk)
        )[0]
    return render(
        request,
        "payers/notice_detail.html",
        {
            "organization": organization,
            "notice": notice,
            "status": status,
            "can_publish": can_publish_notices(request.user, organization),
            "can_report": can_report,
            "withdraw_form": ReasonForm(auto_id="withdraw_%s"),
            "crumbs": _list_crumbs(),
        },
    )


@login_required
@FORM_METHODS
def notice_create(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request, can_publish_notices)
    initial = {}
    # "Publish a notice about this payer" on a payer's page preselects it.
    payer_reference = _uuid_or_none(request.GET.get("payer"))
    if (
        payer_reference is not None
        and scoped(Payer, request, organization).filter(reference=payer_reference).exists()
    ):
        initial["payers"] = [payer_reference]
    form = NoticeForm(request.POST or None, organization=organization, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            notice = run(
                form,
                services.notice_publish,
                organization=organization,
                by=request.user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                effective_date=form.cleaned_data["effective_date"],
                payers=form.cleaned_data["payers"],
                plans=form.cleaned_data["plans"],
            )
            if notice is not None:
                messages.success(
                    request,
                    f"Notice “{notice.title}” published. Everyone in {organization.name} is asked to "
                    "acknowledge it; the acknowledgement report shows who has.",
                )
                return redirect("payers:notice_detail", notice.reference)
        messages.error(request, f"Notice not published. {error_summary(form)}")
    return form_page(
        request,
        form=form,
        title="Publish a payer notice",
        submit="Publish notice",
        cancel_url=reverse("payers:notice_list"),
        crumbs=_list_crumbs(),
        intro="A payer policy or plan change staff must read. Every member of the organization sees it "
        "at the top of their notices until they acknowledge it.",
    )


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None


@login_required
@FORM_METHODS
def notice_edit(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_publish_notices)
    notice = _notice_in(request, organization, reference)
    form = NoticeEditForm(
        request.POST or None, organization=organization, initial=NoticeForm.initial_from(notice)
    )
    if request.method == "POST":
        if form.is_valid():
            if not set(form.changed_data) - {"reason"}:
                messages.info(request, "Nothing to save: the notice was not changed.")
                return redirect("payers:notice_detail", notice.reference)
            updated = run(
                form,
                services.notice_update,
                notice=notice,
                changes=changed_fields(form, NoticeForm.base_fields),
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
            if updated is not None:
                messages.success(request, f"Notice “{updated.title}” saved.")
                return redirect("payers:notice_detail", notice.reference)
        messages.error(request, f"Notice not saved. {error_summary(form)}")
    return form_page(
        request,
        form=form,
        title=f"Edit notice: {notice.title}",
        submit="Save notice",
        cancel_url=reverse("payers:notice_detail", args=[notice.reference]),
        crumbs=[*_list_crumbs(), (reverse("payers:notice_detail", args=[notice.reference]), notice.title)],
    )


@login_required
@require_POST
def notice_withdraw(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_publish_notices)
    notice = _notice_in(request, organization, reference)
    form = ReasonForm(request.POST)
    if form.is_valid():
        run(
            form, services.notice_withdraw, notice=notice, reason=form.cleaned_data["reason"], by=request.user
        )
    if form.errors:
        messages.error(request, f"Notice not withdrawn. {error_summary(form)}")
        return redirect("payers:notice_detail", notice.reference)
    messages.success(
        request, f"Notice “{notice.title}” withdrawn; nobody is asked to acknowledge it any more."
    )
    return redirect("payers:notice_list")


@login_required
@require_POST
def notice_acknowledge(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_acknowledge_notice)
    notice = _notice_in(request, organization, reference)
    form = forms.Form({})  # nothing to type; it only carries a refusal
    acknowledgement = run(form, services.notice_acknowledge, notice=notice, by=request.user)
    if acknowledgement is None:
        messages.error(request, f"Not acknowledged. {error_summary(form)}")
    else:
        messages.success(request, f"Acknowledged: {notice.title}.")
    next_url = request.POST.get("next", "")
    if next_url.startswith("/payers/") and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect("payers:notice_list")


@login_required
@require_safe
def notice_report(request: HttpRequest) -> HttpResponse:
    """Per active notice, who among the organization's active members has and has not acknowledged it."""
    organization = active_organization(request, can_view_notice_report)
    report = notice_read_report(organization=organization)
    return render(
        request,
        "payers/notice_report.html",
        {
            "organization": organization,
            "report": report,
            "outstanding": sum(len(row.pending) for row in report),
            "can_publish": can_publish_notices(request.user, organization),
            "crumbs": _list_crumbs(),
        },
    )
