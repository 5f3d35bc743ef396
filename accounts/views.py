"""The account workspace: patient search, the patient page and the account page.

Every page that shows a patient's record writes the PHI access log. Objects are loaded
in the active organization only; a reference from another organization is a 404.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts import permissions as perms
from accounts import selectors
from accounts.aging import BANDS
from accounts.choices import ADJUSTMENT_KINDS
from accounts.forms import PatientSearchForm
from accounts.models import Patient, PatientAccount
from staff.phi import phi_access_record


def _organization(request: HttpRequest) -> Any:
    organization = getattr(request, "organization", None)
    if organization is None or not perms.can_view_account(request.user, organization):
        raise Http404("No active organization")
    return organization


def get_account_for_user(request: HttpRequest, reference: UUID) -> PatientAccount:
    """The account in the active organization, with patient and guarantor; 404 otherwise."""
    organization = _organization(request)
    return get_object_or_404(
        PatientAccount.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("patient", "guarantor", "organization"),
        reference=reference,
    )


def get_patient_for_user(request: HttpRequest, reference: UUID) -> Patient:
    organization = _organization(request)
    return get_object_or_404(
        Patient.objects.visible_to(request.user).in_organization(organization).select_related("organization"),
        reference=reference,
    )


@login_required
def patient_search(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    form = PatientSearchForm(request.GET or None)
    term = form.cleaned_data["q"].strip() if form.is_valid() else ""
    results: list[Patient] = []
    if term:
        # An exact account number goes straight to the account: what a rep reads off a statement.
        account = (
            PatientAccount.objects.visible_to(request.user)
            .in_organization(organization)
            .filter(account_number__iexact=term)
            .only("reference")
            .first()
        )
        if account is not None:
            return redirect("accounts:account_detail", reference=account.reference)
        patients = Patient.objects.visible_to(request.user).in_organization(organization).search(term)
        results = selectors.search_results(patients)
    return render(
        request,
        "accounts/patient_search.html",
        {"form": form, "term": term, "results": results, "limit": 50},
    )


@login_required
def patient_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    patient = get_patient_for_user(request, reference)
    phi_access_record(request=request, subject=patient, organization=patient.organization)
    return render(
        request,
        "accounts/patient_detail.html",
        {
            "patient": patient,
            "coverages": selectors.coverages_of(patient.pk),
            "contacts": selectors.contacts_of(patient.pk),
            "accounts": list(selectors.patient_accounts(patient)),
            "can_edit": perms.can_edit_patient(request.user, patient),
        },
    )


def _older_than(request: HttpRequest) -> int | None:
    raw = request.GET.get("older_than", "")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise Http404("Bad ledger position")
    return int(raw)


@login_required
def account_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    account = get_account_for_user(request, reference)
    phi_access_record(request=request, subject=account, organization=account.organization)
    user = request.user
    coverages = selectors.coverages_of(account.patient_id)
    charges, charge_count = selectors.charges_with_edits(account)
    context = {
        "account": account,
        "patient": account.patient,
        "guarantor": account.guarantor,
        "coverages": coverages,
        "buckets": selectors.bucket_rows(account, coverages),
        "bands": BANDS,
        "ledger": selectors.ledger_page(account, _older_than(request)),
        "charges": charges,
        "charge_count": charge_count,
        "open_edits": sum(
            1 for c in charges for e in c.edits.all() if e.status == "open" and c.status == "posted"
        ),
        "contacts": selectors.contacts_of(account.patient_id),
        "timeline": selectors.timeline(account),
        "pending_requests": selectors.pending_requests(account),
        "documents": _documents(account),
        "adjustment_kinds": ADJUSTMENT_KINDS,
        "can": {
            "edit_patient": perms.can_edit_patient(user, account),
            "adjust": perms.can_adjust_balance(user, account),
            "reverse": perms.can_reverse_entries(user, account),
            "status": perms.can_change_account_status(user, account),
            "correct": perms.can_post_charges(user, account),
            "override": perms.can_override_edits(user, account),
            "approve": perms.can_approve_adjustments(user, account),
        },
    }
    if request.htmx and request.GET.get("older_than"):
        return render(request, "accounts/_ledger.html", context)
    return render(request, "accounts/account_detail.html", context)


def _documents(account: PatientAccount) -> list:
    from accounts.statements import documents_for

    return list(documents_for(account))
