"""The department directory (everyone reads it, admins keep it) and the appeals & grievances queue."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.forms import add_refusal, error_summary
from inquiries import forms
from inquiries import permissions as perms
from inquiries.models import Department, Referral
from inquiries.services import routing as services
from inquiries.views_cases import organization_for
from staff.permissions import require
from staff.phi import phi_access_record_many


@login_required
def department_list(request: HttpRequest) -> HttpResponse:
    organization = organization_for(request)
    can_manage = perms.can_manage_case_settings(request.user, organization)
    form = forms.DepartmentForm(request.POST or None)
    if request.method == "POST":
        require(can_manage, "Only an admin may change the department directory.")
        if form.is_valid():
            try:
                department = services.department_create(
                    organization=organization, by=request.user, **form.cleaned_data
                )
            except DomainError as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"{department.name} added to the directory.")
                return redirect("inquiries:department_list")
    departments = Department.objects.visible_to(request.user).in_organization(organization)
    if not can_manage:
        departments = departments.filter(is_active=True)
    return render(
        request,
        "inquiries/department_list.html",
        {
            "departments": list(departments.order_by("-is_active", "name")),
            "form": form,
            "can_manage": can_manage,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def department_edit(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = organization_for(request)
    department = get_object_or_404(
        Department.objects.visible_to(request.user).in_organization(organization), reference=reference
    )
    require(
        perms.can_manage_case_settings(request.user, department), "Only an admin may change the directory."
    )
    initial = {
        name: getattr(department, name) for name in ("name", "kind", "phone", "hours", "notes", "is_active")
    }
    form = forms.DepartmentEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.department_update(department=department, changes=form.cleaned_data, by=request.user)
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"{department.name} saved.")
            return redirect("inquiries:department_list")
    return render(
        request,
        "inquiries/department_edit.html",
        {"department": department, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def referral_list(request: HttpRequest) -> HttpResponse:
    """The appeals & grievances coordinator's queue: open and acknowledged referrals, oldest first."""
    organization = organization_for(request)
    require(
        perms.can_work_referrals(request.user, organization),
        "The appeals & grievances queue is for the coordinator and supervisors.",
    )
    show_closed = request.GET.get("show") == "closed"
    referrals = (
        Referral.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("case__patient", "referred_by", "acknowledged_by")
    )
    if show_closed:
        referrals = referrals.filter(status=Referral.Status.CLOSED).order_by("-closed_at")[:100]
    else:
        referrals = referrals.exclude(status=Referral.Status.CLOSED).order_by("referred_at", "id")[:200]
    rows = list(referrals)
    patients = [r.case.patient for r in rows if r.case.patient_id]
    if patients:
        phi_access_record_many(request=request, subjects=patients)
    return render(
        request,
        "inquiries/referral_list.html",
        {"referrals": rows, "show_closed": show_closed, "close_form": forms.ReferralCloseForm()},
    )


def _referral(request: HttpRequest, reference: UUID) -> Referral:
    organization = organization_for(request)
    referral = get_object_or_404(
        Referral.objects.visible_to(request.user).in_organization(organization).select_related("case"),
        reference=reference,
    )
    require(perms.can_work_referrals(request.user, referral), "Only the coordinator works referrals.")
    return referral


@login_required
@require_POST
def referral_acknowledge(request: HttpRequest, reference: UUID) -> HttpResponse:
    referral = _referral(request, reference)
    try:
        services.referral_acknowledge(referral=referral, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Referral on case #{referral.case.number} acknowledged.")
    return redirect("inquiries:referral_list")


@login_required
@require_POST
def referral_close(request: HttpRequest, reference: UUID) -> HttpResponse:
    referral = _referral(request, reference)
    form = forms.ReferralCloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, error_summary(form))
        return redirect("inquiries:referral_list")
    try:
        services.referral_close(referral=referral, outcome=form.cleaned_data["outcome"], by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Referral on case #{referral.case.number} closed.")
    return redirect("inquiries:referral_list")
