"""Benefit investigation pages: record one on a case, estimate the patient's cost, send the results."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import Coverage
from core.errors import DomainError
from core.forms import add_refusal
from correspondence.models import Document, DocumentKind, LetterTemplate
from inquiries import forms, letters
from inquiries import permissions as perms
from inquiries.models import BenefitEstimate, BenefitInvestigation, Case
from inquiries.services import benefits as services
from inquiries.views_cases import get_case_for_user, organization_for
from staff.permissions import require
from staff.phi import phi_access_record


def _coverages(case):
    return (
        Coverage.objects.filter(patient_id=case.patient_id)
        .select_related("plan__payer")
        .order_by("-is_active", "priority", "-effective_from")
    )


@login_required
def benefit_create(request: HttpRequest, reference: UUID) -> HttpResponse:
    case = get_case_for_user(request, reference)
    require(perms.can_work_cases(request.user, case), "You may not record benefit investigations.")
    coverages = _coverages(case)
    form = forms.BenefitInvestigationForm(request.POST or None, coverages=coverages)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        coverage = data.pop("coverage")
        try:
            investigation = services.benefit_investigation_record(
                case=case, coverage=coverage, by=request.user, **data
            )
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.success(
                request, "Benefit investigation recorded. Add the services to estimate the patient's cost."
            )
            return redirect("inquiries:benefit_detail", reference=investigation.reference)
    elif case.patient is not None:
        phi_access_record(request=request, subject=case.patient, organization=case.organization)
    return render(
        request,
        "inquiries/benefit_form.html",
        {"case": case, "form": form, "has_coverages": coverages.exists()},
        status=400 if request.method == "POST" else 200,
    )


def _investigation(request: HttpRequest, reference: UUID) -> BenefitInvestigation:
    organization = organization_for(request)
    return get_object_or_404(
        BenefitInvestigation.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("case__patient", "case__organization", "coverage__plan__payer", "investigated_by"),
        reference=reference,
    )


@login_required
def benefit_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    """The investigation, its estimates, and the form that adds one."""
    investigation = _investigation(request, reference)
    case = investigation.case
    can_work = perms.can_work_cases(request.user, case)
    formset = forms.EstimateFormSet(request.POST or None, prefix="service")
    if request.method == "POST":
        require(can_work, "You may not make estimates on this case.")
        if formset.is_valid():
            lines = [
                services.ServiceInput(
                    description=row["description"], amount=row["amount"], code=row.get("code") or ""
                )
                for row in formset.cleaned_data
                if row and row.get("amount") is not None
            ]
            try:
                services.benefit_estimate_make(investigation=investigation, services=lines, by=request.user)
            except DomainError as exc:
                messages.error(request, exc.message.split(": ", 1)[-1])
            else:
                messages.success(request, "Estimate made.")
                return redirect("inquiries:benefit_detail", reference=investigation.reference)
    phi_access_record(request=request, subject=case.patient, organization=case.organization)
    estimates = list(
        BenefitEstimate.objects.filter(investigation=investigation)
        .prefetch_related("lines")
        .order_by("-created_at")
    )
    documents = list(
        Document.objects.for_subject(case)
        .without_content()
        .filter(kind=DocumentKind.LETTER)
        .select_related("created_by")[:20]
    )
    return render(
        request,
        "inquiries/benefit_detail.html",
        {
            "investigation": investigation,
            "case": case,
            "estimates": estimates,
            "formset": formset,
            "documents": documents,
            "can_work": can_work,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def benefit_send(request: HttpRequest, reference: UUID) -> HttpResponse:
    investigation = _investigation(request, reference)
    case = investigation.case
    require(perms.can_work_cases(request.user, case), "You may not send results on this case.")
    organization = case.organization
    templates = LetterTemplate.objects.filter(organization=organization, is_active=True).order_by("name")
    letter_templates = templates.filter(kind=DocumentKind.LETTER)
    email_templates = templates.filter(kind=DocumentKind.EMAIL)
    estimates = BenefitEstimate.objects.filter(investigation=investigation).order_by("-created_at")
    initial = {
        "estimate": estimates.first(),
        "letter_template": letter_templates.filter(name=letters.LETTER_NAME).first(),
        "email_template": email_templates.filter(name=letters.EMAIL_NAME).first(),
        "recipient_name": case.provider_name,
    }
    form = forms.ResultsSendForm(
        request.POST or None,
        estimates=estimates,
        letters=letter_templates,
        emails=email_templates,
        initial={k: (v.reference if hasattr(v, "reference") else v) for k, v in initial.items() if v},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            document = services.benefit_results_send(
                investigation=investigation,
                estimate=data["estimate"],
                recipient=data["recipient"],
                letter_template=data["letter_template"],
                email_template=data["email_template"],
                email_to=data["email_to"],
                recipient_name=data["recipient_name"],
                recipient_address=data["recipient_address"],
                by=request.user,
            )
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            how = "is being emailed" if document.email_to else "is ready to print and mail"
            messages.success(request, f"Results letter stored on the case; it {how}.")
            return redirect("inquiries:benefit_detail", reference=investigation.reference)
    else:
        phi_access_record(request=request, subject=case.patient, organization=organization)
    return render(
        request,
        "inquiries/benefit_send.html",
        {
            "investigation": investigation,
            "case": case,
            "form": form,
            "patient": case.patient,
            "has_benefit_templates": letter_templates.filter(name=letters.LETTER_NAME).exists(),
            "can_install": perms.can_manage_case_settings(request.user, organization),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def benefit_templates_install(request: HttpRequest) -> HttpResponse:
    organization = organization_for(request)
    require(
        perms.can_manage_case_settings(request.user, organization), "Only an admin may add letter templates."
    )
    try:
        created = services.benefit_templates_install(organization=organization, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(
                request, f"Added {len(created)} benefit results template(s) to the letter templates."
            )
        else:
            messages.info(request, "The benefit results templates are already there.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "inquiries:case_list"
    return redirect(back)


@login_required
def document_pdf(request: HttpRequest, reference: UUID) -> HttpResponse:
    """A results letter stored on a case, as the PDF that was printed or emailed."""
    organization = organization_for(request)
    document = get_object_or_404(
        Document.objects.visible_to(request.user).in_organization(organization), reference=reference
    )
    case = document.subject
    if not isinstance(case, Case):
        raise Http404("Not a case document")
    phi_access_record(
        request=request, subject=case.patient or case, organization=organization, action="download"
    )
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.filename}"'
    return response
