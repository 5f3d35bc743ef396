"""Actions from the account page: each is a small form page that calls one service (PRG).

A refused action (a business rule, an amount over the bucket) re-shows the form with the
service's message beside the field it names, so nothing typed is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import permissions as perms
from accounts import selectors, services
from accounts.forms import (
    AdjustmentForm,
    AuthorizedContactForm,
    ChargeCorrectionForm,
    CoverageForm,
    DecisionForm,
    EndContactForm,
    FlagsForm,
    PatientForm,
    ReasonForm,
    StatusForm,
    TransferForm,
    VerificationForm,
)
from accounts.models import (
    AdjustmentRequest,
    AuthorizedContact,
    Charge,
    ChargeEdit,
    Coverage,
    LedgerEntry,
    Patient,
)
from accounts.views import _organization, get_account_for_user, get_patient_for_user
from core.errors import DomainError
from core.forms import add_refusal
from core.money import format_money
from staff.permissions import require
from staff.phi import phi_access_record


def _form_page(
    request: HttpRequest,
    *,
    subject: Any,
    form: django_forms.Form,
    title: str,
    run: Callable[[dict], str],
    back: str,
    intro: str = "",
    submit: str = "Save",
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            message = run(form.cleaned_data)
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, message)
            return redirect(back)
    else:
        phi_access_record(request=request, subject=subject, organization=subject.organization)
    return render(
        request,
        "accounts/action_form.html",
        {"subject": subject, "form": form, "title": title, "intro": intro, "back": back, "submit": submit},
        status=400 if request.method == "POST" else 200,
    )


def _account_url(account: Any) -> str:
    return reverse("accounts:account_detail", kwargs={"reference": account.reference})


def _patient_url(patient: Any, account_ref: str | None) -> str:
    """Back to the account the person came from, else to the patient."""
    if account_ref:
        return reverse("accounts:account_detail", kwargs={"reference": account_ref})
    return reverse("accounts:patient_detail", kwargs={"reference": patient.reference})


def _load(request: HttpRequest, model: type, reference: UUID, *related: str) -> Any:
    """One object of the active organization, through the permission funnel; 404 otherwise."""
    organization = _organization(request)
    queryset = model.objects.visible_to(request.user).in_organization(organization).select_related(*related)
    return get_object_or_404(queryset, reference=reference)


def _from_account(request: HttpRequest, patient: Any) -> str | None:
    """The ``?account=`` the person came from, if it is one of this patient's accounts."""
    try:
        ref = uuid.UUID(request.GET.get("account", ""))
    except ValueError:
        return None
    return str(ref) if patient.accounts.filter(reference=ref).exists() else None


@login_required
def adjust(request: HttpRequest, reference: UUID) -> HttpResponse:
    account = get_account_for_user(request, reference)
    require(perms.can_adjust_balance(request.user, account), "You may not adjust balances on this account.")
    coverages = [c for c in selectors.coverages_of(account.patient_id)]
    form = AdjustmentForm(request.POST or None, account=account, coverages=coverages)

    def run(data: dict) -> str:
        outcome = services.adjustment_submit(
            account=account,
            kind=data["kind"],
            amount=data["amount"],
            reason_code=data["reason_code"],
            memo=data["memo"],
            coverage=form.coverage_for(data["bucket"]),
            by=request.user,
        )
        if outcome.request is not None:
            return (
                f"{format_money(data['amount'])} is above your approval limit: "
                "the adjustment was sent to a supervisor for approval."
            )
        return f"{outcome.entry.get_kind_display()} of {format_money(data['amount'])} posted."

    return _form_page(
        request,
        subject=account,
        form=form,
        title="Post an adjustment",
        run=run,
        back=_account_url(account),
        intro="Amounts above your approval limit go to a supervisor before they post.",
        submit="Post adjustment",
    )


@login_required
def transfer(request: HttpRequest, reference: UUID) -> HttpResponse:
    account = get_account_for_user(request, reference)
    require(perms.can_adjust_balance(request.user, account), "You may not transfer balances on this account.")
    coverages = selectors.coverages_of(account.patient_id)
    form = TransferForm(request.POST or None, account=account, coverages=coverages)

    def run(data: dict) -> str:
        to_next = data["to_bucket"] == TransferForm.NEXT
        services.balance_transfer(
            account=account,
            from_coverage=form.coverage_for(data["from_bucket"]),
            to_coverage=None if to_next else form.coverage_for(data["to_bucket"]),
            to_next=to_next,
            amount=data["amount"],
            reason=data["reason"],
            by=request.user,
        )
        return f"{format_money(data['amount'])} transferred."

    return _form_page(
        request,
        subject=account,
        form=form,
        title="Transfer a balance",
        run=run,
        back=_account_url(account),
        intro="Moves responsibility: insurance → next coverage → patient.",
        submit="Transfer",
    )


@login_required
def status_change(request: HttpRequest, reference: UUID) -> HttpResponse:
    account = get_account_for_user(request, reference)
    require(
        perms.can_change_account_status(request.user, account), "You may not change this account's status."
    )
    form = StatusForm(request.POST or None, initial={"status": account.status})

    def run(data: dict) -> str:
        services.account_status_change(
            account=account, status=data["status"], reason=data["reason"], by=request.user
        )
        return f"Account is now {account.get_status_display().lower()}."

    return _form_page(
        request,
        subject=account,
        form=form,
        title="Change account status",
        run=run,
        back=_account_url(account),
    )


@login_required
def flags(request: HttpRequest, reference: UUID) -> HttpResponse:
    account = get_account_for_user(request, reference)
    require(perms.can_edit_patient(request.user, account), "You may not change this account.")
    fields = ("dispute_hold", "interpreter_needed", "financial_assistance_pending")
    form = FlagsForm(request.POST or None, initial={f: getattr(account, f) for f in fields})

    def run(data: dict) -> str:
        services.account_update(
            account=account, changes={f: data[f] for f in fields}, reason=data["reason"], by=request.user
        )
        return "Account flags saved."

    return _form_page(
        request, subject=account, form=form, title="Account flags", run=run, back=_account_url(account)
    )


@login_required
def patient_edit(request: HttpRequest, reference: UUID) -> HttpResponse:
    patient = get_patient_for_user(request, reference)
    require(perms.can_edit_patient(request.user, patient), "You may not change this patient.")
    form = PatientForm(request.POST or None, instance=Patient.objects.get(pk=patient.pk))

    def run(data: dict) -> str:
        reason = data.pop("reason")
        services.patient_update(patient=patient, changes=data, reason=reason, by=request.user)
        return "Patient details saved."

    return _form_page(
        request,
        subject=patient,
        form=form,
        title="Edit patient details",
        run=run,
        back=_patient_url(patient, _from_account(request, patient)),
        submit="Save details",
    )


@login_required
def coverage_add(request: HttpRequest, reference: UUID) -> HttpResponse:
    patient = get_patient_for_user(request, reference)
    require(perms.can_edit_patient(request.user, patient), "You may not change this patient's coverage.")
    back = _patient_url(patient, _from_account(request, patient))
    form = CoverageForm(
        request.POST or None,
        organization=patient.organization,
        initial={"subscriber_name": patient.full_name, "effective_from": timezone.localdate()},
    )

    def run(data: dict) -> str:
        coverage = services.coverage_add(
            patient=patient,
            plan=data.pop("plan"),
            member_id=data.pop("member_id"),
            subscriber_name=data.pop("subscriber_name"),
            by=request.user,
            **{k: v for k, v in data.items() if v is not None or k == "effective_to"},
        )
        return f"{coverage.get_priority_display()} coverage added: {coverage.plan}."

    return _form_page(
        request,
        subject=patient,
        form=form,
        title="Add coverage",
        run=run,
        back=back,
        intro="A coverage placed before others moves them down one place.",
    )


def _coverage(request: HttpRequest, reference: UUID) -> Coverage:
    return _load(request, Coverage, reference, "patient", "plan__payer")


@login_required
def coverage_edit(request: HttpRequest, reference: UUID) -> HttpResponse:
    coverage = _coverage(request, reference)
    patient = coverage.patient
    require(perms.can_edit_patient(request.user, patient), "You may not change this patient's coverage.")
    back = _patient_url(patient, _from_account(request, patient))

    class EditForm(CoverageForm):
        reason = django_forms.CharField(max_length=300)

        class Meta(CoverageForm.Meta):
            fields = [*CoverageForm.Meta.fields, "is_active"]

    form = EditForm(
        request.POST or None, organization=patient.organization, instance=Coverage.objects.get(pk=coverage.pk)
    )

    def run(data: dict) -> str:
        reason = data.pop("reason")
        services.coverage_update(coverage=coverage, changes=data, reason=reason, by=request.user)
        return "Coverage saved."

    return _form_page(
        request, subject=patient, form=form, title=f"Edit coverage: {coverage.plan}", run=run, back=back
    )


@login_required
def coverage_verify(request: HttpRequest, reference: UUID) -> HttpResponse:
    coverage = _coverage(request, reference)
    patient = coverage.patient
    require(perms.can_edit_patient(request.user, patient), "You may not verify this coverage.")
    form = VerificationForm(request.POST or None)

    def run(data: dict) -> str:
        services.coverage_verify(coverage=coverage, by=request.user, **data)
        return f"Verification recorded: {coverage.get_verification_result_display()}."

    return _form_page(
        request,
        subject=patient,
        form=form,
        title=f"Record a verification: {coverage.plan} #{coverage.member_id}",
        run=run,
        back=_patient_url(patient, _from_account(request, patient)),
        submit="Record verification",
    )


@login_required
def contact_add(request: HttpRequest, reference: UUID) -> HttpResponse:
    patient = get_patient_for_user(request, reference)
    require(perms.can_edit_patient(request.user, patient), "You may not change this patient's contacts.")
    form = AuthorizedContactForm(request.POST or None, initial={"start_date": timezone.localdate()})

    def run(data: dict) -> str:
        contact = services.authorized_contact_add(patient=patient, by=request.user, **data)
        return f"{contact.name} added as an authorized contact."

    return _form_page(
        request,
        subject=patient,
        form=form,
        title="Add an authorized contact",
        run=run,
        back=_patient_url(patient, _from_account(request, patient)),
        submit="Add contact",
        intro="Only what is ticked may be disclosed to this person, and only between the dates.",
    )


@login_required
def contact_end(request: HttpRequest, reference: UUID) -> HttpResponse:
    contact = _load(request, AuthorizedContact, reference, "patient")
    patient = contact.patient
    require(perms.can_edit_patient(request.user, patient), "You may not change this patient's contacts.")
    form = EndContactForm(request.POST or None, initial={"end_date": timezone.localdate()})

    def run(data: dict) -> str:
        services.authorized_contact_end(contact=contact, by=request.user, **data)
        return f"Authorization for {contact.name} ends {data['end_date']:%m/%d/%Y}."

    return _form_page(
        request,
        subject=patient,
        form=form,
        title=f"End authorization: {contact.name}",
        run=run,
        back=_patient_url(patient, _from_account(request, patient)),
        submit="End authorization",
    )


def _entry(request: HttpRequest, reference: UUID) -> LedgerEntry:
    return _load(request, LedgerEntry, reference, "account")


@login_required
def entry_reverse(request: HttpRequest, reference: UUID) -> HttpResponse:
    entry = _entry(request, reference)
    account = entry.account
    require(perms.can_reverse_entries(request.user, account), "You may not reverse ledger entries.")
    form = ReasonForm(request.POST or None)

    def run(data: dict) -> str:
        services.entry_reverse(entry=entry, reason=data["reason"], by=request.user)
        return f"{entry.get_kind_display()} of {format_money(abs(entry.amount))} reversed."

    return _form_page(
        request,
        subject=account,
        form=form,
        run=run,
        back=_account_url(account),
        submit="Reverse entry",
        title=f"Reverse {entry.get_kind_display().lower()} of {format_money(entry.amount)} "
        f"posted {entry.posted_at:%m/%d/%Y}",
        intro="A reversal posts the opposite amount; the original stays in the ledger.",
    )


def _charge(request: HttpRequest, reference: UUID) -> Charge:
    return _load(request, Charge, reference, "account")


@login_required
def charge_correct(request: HttpRequest, reference: UUID) -> HttpResponse:
    charge = _charge(request, reference)
    account = charge.account
    require(perms.can_post_charges(request.user, account), "You may not correct charges.")
    form = ChargeCorrectionForm(
        request.POST or None,
        initial={
            "code": charge.code,
            "modifiers": " ".join(charge.modifiers),
            "diagnoses": " ".join(charge.diagnoses),
            "units": charge.units,
            "description": charge.description,
        },
    )

    def run(data: dict) -> str:
        services.charge_correct(charge=charge, changes=form.changes(), reason=data["reason"], by=request.user)
        open_count = charge.edits.filter(status=ChargeEdit.Status.OPEN).count()
        return (
            f"Charge {charge} corrected; {open_count or 'no'} open edit{'s' if open_count != 1 else ''} left."
        )

    return _form_page(
        request,
        subject=account,
        form=form,
        run=run,
        back=_account_url(account),
        submit="Save correction",
        title=f"Correct charge {charge}",
        intro="The amount and date are in the ledger: to change them, reverse the charge and post it again.",
    )


@login_required
def edit_override(request: HttpRequest, reference: UUID) -> HttpResponse:
    edit = _load(request, ChargeEdit, reference, "charge__account")
    account = edit.charge.account
    require(perms.can_override_edits(request.user, account), "You may not override charge edits.")
    form = ReasonForm(request.POST or None)

    def run(data: dict) -> str:
        services.charge_edit_override(edit=edit, reason=data["reason"], by=request.user)
        return f"Edit overridden: {edit.get_rule_display()}."

    return _form_page(
        request,
        subject=account,
        form=form,
        run=run,
        back=_account_url(account),
        submit="Override",
        title=f"Override: {edit.message}",
        intro="Override only when the charge is right as it is; the reason is kept with the charge.",
    )


# --- supervisor approvals -------------------------------------------------------------------


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    if not perms.can_approve_adjustments(request.user, organization):
        raise PermissionDenied("Only supervisors approve adjustments.")
    pending = (
        AdjustmentRequest.objects.visible_to(request.user)
        .in_organization(organization)
        .filter(status=AdjustmentRequest.Status.PENDING)
        .select_related("account__patient", "requested_by", "coverage__plan__payer")
        .order_by("created_at")
    )
    recent = (
        AdjustmentRequest.objects.visible_to(request.user)
        .in_organization(organization)
        .exclude(status=AdjustmentRequest.Status.PENDING)
        .select_related("account", "requested_by", "decided_by")
        .order_by("-decided_at")[:20]
    )
    return render(request, "accounts/approvals.html", {"pending": list(pending), "recent": list(recent)})


def _decide(request: HttpRequest, reference: UUID, approve: bool) -> HttpResponse:
    adjustment = _load(request, AdjustmentRequest, reference, "account")
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        if approve:
            services.adjustment_request_approve(request=adjustment, by=request.user, note=note)
            messages.success(
                request, f"Approved and posted: {format_money(adjustment.amount)} on {adjustment.account}."
            )
        else:
            services.adjustment_request_reject(request=adjustment, by=request.user, note=note)
            messages.success(request, f"Rejected: {format_money(adjustment.amount)} on {adjustment.account}.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("accounts:approvals")


@login_required
@require_POST
def approval_approve(request: HttpRequest, reference: UUID) -> HttpResponse:
    return _decide(request, reference, approve=True)


@login_required
@require_POST
def approval_reject(request: HttpRequest, reference: UUID) -> HttpResponse:
    return _decide(request, reference, approve=False)


@login_required
@require_POST
def approval_withdraw(request: HttpRequest, reference: UUID) -> HttpResponse:
    adjustment = _load(request, AdjustmentRequest, reference, "account")
    try:
        services.adjustment_request_withdraw(request=adjustment, by=request.user)
        messages.success(request, "Request withdrawn.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(_account_url(adjustment.account))
