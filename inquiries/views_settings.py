"""Case settings of an organization: service levels and the caller verification policy (admins)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.forms import add_refusal
from inquiries import forms, servicelevels
from inquiries import permissions as perms
from inquiries.models import ServiceLevel, VerificationPolicy
from inquiries.services import settings as services
from inquiries.views_cases import organization_for
from staff.permissions import require


@login_required
def case_settings(request: HttpRequest) -> HttpResponse:
    organization = organization_for(request)
    require(
        perms.can_manage_case_settings(request.user, organization), "Only an admin may change case settings."
    )
    policy = VerificationPolicy.of(organization)
    action = request.POST.get("action")
    level_form = forms.ServiceLevelForm(request.POST if action == "level" else None, prefix="level")
    policy_form = forms.VerificationPolicyForm(
        request.POST if action == "policy" else None,
        prefix="policy",
        initial={
            "identifiers": policy.identifiers,
            "required_count": policy.required_count,
            "valid_minutes": policy.valid_minutes,
        },
    )
    if request.method == "POST":
        form = level_form if action == "level" else policy_form
        if form.is_valid():
            try:
                if form is level_form:
                    services.service_level_set(
                        organization=organization, by=request.user, **form.cleaned_data
                    )
                    message = "Service level saved. Cases opened from now on use it."
                else:
                    services.verification_policy_set(
                        organization=organization, by=request.user, **form.cleaned_data
                    )
                    message = "Verification policy saved."
            except DomainError as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, message)
                return redirect("inquiries:case_settings")
    return render(
        request,
        "inquiries/case_settings.html",
        {
            "levels": list(ServiceLevel.objects.filter(organization=organization)),
            "defaults": servicelevels.DEFAULT_HOURS,
            "level_form": level_form,
            "policy_form": policy_form,
            "policy": policy,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def service_level_remove(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = organization_for(request)
    level = get_object_or_404(
        ServiceLevel.objects.visible_to(request.user).in_organization(organization), reference=reference
    )
    require(perms.can_manage_case_settings(request.user, level), "Only an admin may change service levels.")
    try:
        services.service_level_remove(level=level, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Service level removed.")
    return redirect("inquiries:case_settings")
