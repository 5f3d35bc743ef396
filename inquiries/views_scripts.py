"""Scripts admin: every member reads the scripts; admins write them and publish new versions."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from core.errors import DomainError
from core.forms import add_refusal
from inquiries import forms
from inquiries import permissions as perms
from inquiries.models import Script, ScriptVersion
from inquiries.services import scripts as services
from inquiries.views_cases import organization_for
from staff.permissions import require


@login_required
def script_list(request: HttpRequest) -> HttpResponse:
    organization = organization_for(request)
    can_manage = perms.can_manage_case_settings(request.user, organization)
    form = forms.ScriptForm(request.POST or None)
    if request.method == "POST":
        require(can_manage, "Only an admin may write call scripts.")
        if form.is_valid():
            try:
                script = services.script_create(
                    organization=organization, by=request.user, **form.cleaned_data
                )
            except DomainError as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"Script {script.name} published.")
                return redirect("inquiries:script_detail", reference=script.reference)
    scripts = (
        Script.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("current_version__published_by")
        .order_by("-is_active", "name")
    )
    return render(
        request,
        "inquiries/script_list.html",
        {"scripts": list(scripts), "form": form, "can_manage": can_manage},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def script_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = organization_for(request)
    script = get_object_or_404(
        Script.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("current_version"),
        reference=reference,
    )
    can_manage = perms.can_manage_case_settings(request.user, script)
    versions = list(
        ScriptVersion.objects.filter(script=script).select_related("published_by").prefetch_related("steps")
    )
    current = next((v for v in versions if v.pk == script.current_version_id), None)
    publish = forms.ScriptPublishForm(
        request.POST if request.POST.get("action") == "publish" else None,
        initial={"steps": services.steps_text(current)},
    )
    settings_form = forms.ScriptSettingsForm(
        request.POST if request.POST.get("action") == "settings" else None,
        initial={"category": script.category, "is_active": script.is_active},
    )
    if request.method == "POST":
        require(can_manage, "Only an admin may change call scripts.")
        form = publish if request.POST.get("action") == "publish" else settings_form
        if form.is_valid():
            try:
                if form is publish:
                    version = services.script_publish(script=script, by=request.user, **form.cleaned_data)
                    message = f"Version {version.number} published."
                else:
                    services.script_update(script=script, by=request.user, **form.cleaned_data)
                    message = "Script saved."
            except DomainError as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, message)
                return redirect("inquiries:script_detail", reference=script.reference)
    return render(
        request,
        "inquiries/script_detail.html",
        {
            "script": script,
            "versions": versions,
            "current": current,
            "publish": publish,
            "settings_form": settings_form,
            "can_manage": can_manage,
        },
        status=400 if request.method == "POST" else 200,
    )
