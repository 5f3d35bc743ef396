"""Letter template and letterhead settings pages: admins edit, supervisors read.

Pages work on the active organization. A template of another organization is a 404.
Previews render against the invented sample context (``correspondence.samples``) with
the organization's own letterhead, so they show no patient data and write no PHI log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from csp.decorators import csp_exempt
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from core.errors import DomainError
from core.forms import add_refusal, error_summary
from correspondence import rendering, services
from correspondence.defaults import DEFAULTS
from correspondence.forms import (
    LetterheadForm,
    TemplateCreateForm,
    TemplatePreviewForm,
    TemplateUpdateForm,
)
from correspondence.models import PRINTED_KINDS, DocumentKind, Letterhead, LetterTemplate
from correspondence.permissions import can_manage_templates, can_view_templates
from correspondence.samples import variable_names
from staff.models import Organization
from staff.permissions import require

_REFUSALS = (DomainError, PermissionDenied)


def _active_organization(
    request: HttpRequest, predicate: Callable[[Any, Organization], bool]
) -> Organization:
    organization = request.organization  # type: ignore[attr-defined]
    require(organization is not None and predicate(request.user, organization))
    return organization


def _template_in(organization: Organization, reference: UUID) -> LetterTemplate:
    return get_object_or_404(LetterTemplate.objects.in_organization(organization), reference=reference)


# --- list and letterhead ----------------------------------------------------------------------


@login_required
@require_safe
def template_list(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_view_templates)
    return _render_list(request, organization)


def _render_list(
    request: HttpRequest, organization: Organization, *, letterhead_form: LetterheadForm | None = None
) -> HttpResponse:
    templates = list(LetterTemplate.objects.in_organization(organization).order_by("kind", "name"))
    defaults = {t.kind for t in templates if t.is_default}
    letterhead = Letterhead.of(organization)
    can_manage = can_manage_templates(request.user, organization)
    if can_manage and letterhead_form is None:
        letterhead_form = LetterheadForm(initial=LetterheadForm.initial_from(letterhead))
    return render(
        request,
        "correspondence/template_list.html",
        {
            "organization": organization,
            "templates": templates,
            "missing_defaults": [d for d in DEFAULTS if d.kind not in defaults],
            "letterhead": letterhead,
            "letterhead_form": letterhead_form,
            "can_manage": can_manage,
        },
    )


@login_required
@require_POST
def templates_add_defaults(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_manage_templates)
    created = services.templates_ensure_defaults(organization=organization, by=request.user)
    if created:
        messages.success(request, f"Added {', '.join(t.name for t in created)}.")
    else:
        messages.info(request, "Every kind already has a default template.")
    return redirect("correspondence:template_list")


@login_required
@require_POST
def letterhead_update(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_manage_templates)
    form = LetterheadForm(request.POST)
    if form.is_valid():
        changes = {name: value for name, value in form.cleaned_data.items() if name != "reason"}
        try:
            services.letterhead_update(
                organization=organization,
                changes=changes,
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except _REFUSALS as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, "Letterhead and payment details saved.")
            return redirect("correspondence:template_list")
    messages.error(request, f"Letterhead not saved. {error_summary(form)}")
    return _render_list(request, organization, letterhead_form=form)


# --- one template -----------------------------------------------------------------------------


def _render_form(
    request: HttpRequest,
    organization: Organization,
    *,
    form: forms.Form | None,
    template: LetterTemplate | None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "correspondence/template_form.html",
        {
            "organization": organization,
            "template": template,
            "form": form,
            "can_manage": can_manage_templates(request.user, organization),
            "variables": variable_names(),
        },
        status=status,
    )


@login_required
@require_safe
def template_new(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_manage_templates)
    kind = request.GET.get("kind", DocumentKind.LETTER)
    initial: dict[str, Any] = {"kind": kind, "is_active": True}
    # Start from the standard template of the kind, so nobody begins from a blank page.
    standard = next((d for d in DEFAULTS if d.kind == kind), None)
    if standard is not None:
        initial.update(subject=standard.subject, body=standard.body)
    return _render_form(request, organization, form=TemplateCreateForm(initial=initial), template=None)


@login_required
@require_POST
def template_create(request: HttpRequest) -> HttpResponse:
    organization = _active_organization(request, can_manage_templates)
    form = TemplateCreateForm(request.POST)
    if form.is_valid():
        try:
            template = services.template_create(
                organization=organization, by=request.user, **form.cleaned_data
            )
        except _REFUSALS as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Template {template.name} created.")
            return redirect("correspondence:template_detail", reference=template.reference)
    messages.error(request, f"Template not created. {error_summary(form)}")
    return _render_form(request, organization, form=form, template=None, status=400)


@login_required
@require_safe
def template_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = _active_organization(request, can_view_templates)
    template = _template_in(organization, reference)
    form = None
    if can_manage_templates(request.user, organization):
        form = TemplateUpdateForm(
            initial={
                "name": template.name,
                "subject": template.subject,
                "body": template.body,
                "is_active": template.is_active,
                "is_default": template.is_default,
            }
        )
    return _render_form(request, organization, form=form, template=template)


@login_required
@require_POST
def template_update(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = _active_organization(request, can_manage_templates)
    template = _template_in(organization, reference)
    form = TemplateUpdateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.template_update(
                template=template,
                by=request.user,
                reason=data["reason"],
                name=data["name"],
                subject=data["subject"],
                body=data["body"],
                is_active=data["is_active"],
                is_default=data["is_default"],
            )
        except _REFUSALS as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Template {template.name} saved.")
            return redirect("correspondence:template_detail", reference=template.reference)
    messages.error(request, f"Template not saved. {error_summary(form)}")
    return _render_form(request, organization, form=form, template=template, status=400)


# --- previews -------------------------------------------------------------------------------------


def _preview(
    request: HttpRequest, organization: Organization, *, kind: str, subject: str, body: str
) -> HttpResponse:
    context = services.preview_context(organization, kind)
    try:
        if kind in PRINTED_KINDS:
            rendered = rendering.render_printed(subject=subject, body=body, context=context)
        else:
            email = rendering.render_email(subject=subject, body=body, context=context)
    except DomainError as exc:
        return render(
            request,
            "correspondence/preview_error.html",
            {"message": exc.message},
            status=400,
        )
    if kind not in PRINTED_KINDS:
        return HttpResponse(
            f"Subject: {email.subject}\n\n{email.body}", content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(rendered.pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="preview.pdf"'
    return response


@csp_exempt()  # the browser's PDF viewer is a plugin, which the site's object-src 'none' would block
@login_required
@require_POST
def template_preview(request: HttpRequest) -> HttpResponse:
    """What the template being edited would print, before it is saved."""
    organization = _active_organization(request, can_manage_templates)
    form = TemplatePreviewForm(request.POST)
    if not form.is_valid():
        return render(
            request, "correspondence/preview_error.html", {"message": error_summary(form)}, status=400
        )
    return _preview(request, organization, **form.cleaned_data)


@csp_exempt()
@login_required
@require_safe
def template_preview_saved(request: HttpRequest, reference: UUID) -> HttpResponse:
    """What a saved template prints, for anyone who may read the templates."""
    organization = _active_organization(request, can_view_templates)
    template = _template_in(organization, reference)
    return _preview(request, organization, kind=template.kind, subject=template.subject, body=template.body)
