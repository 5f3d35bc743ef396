"""Case pages: the list, opening a case, the case page with its disclosure guard, and its actions.

Cases are loaded in the active organization only (another organization's reference is
a 404) and every page that shows one writes the PHI access log. Balances, the ledger
and claim details reach the template only when ``selectors.disclosure_for`` allows
them. Actions are POST and call one service; success redirects (PRG), a refusal
re-shows the case page with the message beside the form that was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Patient, PatientAccount
from accounts.querysets import phone_digits
from claims import paging
from core.errors import DomainError, InvalidInput
from core.forms import add_refusal
from inquiries import forms, selectors
from inquiries import permissions as perms
from inquiries.models import Callback, Case, Interaction, VerificationPolicy
from inquiries.services import cases as services
from inquiries.services.disclosure import caller_verify, disclosure_override
from inquiries.services.email import allowed_recipients
from staff.permissions import require
from staff.phi import phi_access_record, phi_access_record_many

SCRIPTED_CHANNELS = frozenset({"phone_inbound", "phone_outbound", "walk_in"})


def organization_for(request: HttpRequest) -> Any:
    organization = getattr(request, "organization", None)
    if organization is None or not perms.can_view_cases(request.user, organization):
        raise Http404("No active organization")
    return organization


def get_case_for_user(request: HttpRequest, reference: UUID) -> Case:
    """The case in the active organization, with its subject; 404 otherwise."""
    organization = organization_for(request)
    return get_object_or_404(
        selectors.case_with_subject(Case.objects.visible_to(request.user).in_organization(organization)),
        reference=reference,
    )


def _record_read(request: HttpRequest, case: Case) -> None:
    subject = case.account if case.account_id else case.patient
    if subject is not None:
        phi_access_record(request=request, subject=subject, organization=case.organization)


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise Http404("Bad reference") from None


# --- the list ------------------------------------------------------------------------------------------


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    organization = organization_for(request)
    form = forms.CaseFilterForm(request.GET or None)
    cases = Case.objects.visible_to(request.user).in_organization(organization).for_list()
    account = None
    if request.GET.get("account"):
        account = get_object_or_404(
            PatientAccount.objects.visible_to(request.user).in_organization(organization),
            reference=_uuid(request.GET["account"]),
        )
        cases = cases.filter(account=account)
    filtered = account is not None
    if form.is_valid():
        data = form.cleaned_data
        term = data["q"].strip()
        if term:
            by_number = Q(number=term.upper().lstrip("#"))
            digits = phone_digits(term)
            # A phone number has at least 7 digits; a case number never does.
            cases = cases.filter(by_number | Q(caller_phone=digits) if len(digits) >= 7 else by_number)
        if data["status"] == forms.OPEN:
            cases = cases.open()
        elif data["status"]:
            cases = cases.filter(status=data["status"])
        if data["category"]:
            cases = cases.filter(category=data["category"])
        if data["priority"]:
            cases = cases.filter(priority=data["priority"])
        if data["owner"] == "me":
            cases = cases.assigned_to(request.user)
        elif data["owner"] == "unassigned":
            cases = cases.filter(assigned_to__isnull=True)
        filtered = filtered or any(data.values())
    page = paging.keyset_page(cases, paging.before_param(request))
    patients = [case.patient for case in page.rows if case.patient_id]
    if patients:
        phi_access_record_many(request=request, subjects=patients)
    return render(
        request,
        "inquiries/case_list.html",
        {
            "organization": organization,
            "form": form,
            "page": page,
            "account": account,
            "filtered": filtered,
            "query": paging.query_without_before(request),
            "can_open": perms.can_work_cases(request.user, organization),
            "now": timezone.now(),
        },
    )


# --- opening a case ------------------------------------------------------------------------------------


@login_required
def case_create(request: HttpRequest) -> HttpResponse:
    organization = organization_for(request)
    require(perms.can_work_cases(request.user, organization), "You may not open cases.")
    account = patient = None
    source = request.POST if request.method == "POST" else request.GET
    if source.get("account"):
        account = get_object_or_404(
            PatientAccount.objects.visible_to(request.user)
            .in_organization(organization)
            .select_related("patient"),
            reference=_uuid(source["account"]),
        )
        patient = account.patient
    elif source.get("patient"):
        patient = get_object_or_404(
            Patient.objects.visible_to(request.user).in_organization(organization),
            reference=_uuid(source["patient"]),
        )
    form = forms.CaseOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_open(
                organization=organization,
                by=request.user,
                patient=patient,
                account=account,
                **form.cleaned_data,
            )
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Case #{case.number} opened.")
            return redirect(case.get_absolute_url())
    elif patient is not None:
        phi_access_record(request=request, subject=account or patient, organization=organization)
    return render(
        request,
        "inquiries/case_create.html",
        {"form": form, "account": account, "patient": patient},
        status=400 if request.method == "POST" else 200,
    )


# --- the case page -------------------------------------------------------------------------------------


def case_context(
    request: HttpRequest, case: Case, bound: dict[str, django_forms.Form] | None = None
) -> dict[str, Any]:
    """Everything the case page shows; account details only as far as the disclosure guard allows."""
    user = request.user
    disclosure = selectors.disclosure_for(case, user)
    policy = disclosure.policy or VerificationPolicy.of(case.organization)
    contacts = selectors.current_contacts(case)
    script = selectors.script_for(case)
    callbacks = selectors.open_callbacks(case)
    today = timezone.localdate()
    can_work = perms.can_work_cases(user, case)
    defaults = {
        "verify": forms.VerifyForm(contacts=contacts, policy=policy, prefix="verify"),
        "interaction": forms.InteractionForm(
            script=script,
            callbacks=callbacks,
            prefix="contact",
            initial={
                "channel": case.channel,
                "direction": "outbound" if case.channel.endswith("outbound") else "inbound",
            },
        ),
        "pend": forms.PendForm(prefix="pend", initial={"follow_up_on": today + timedelta(days=1)}),
        "resolve": forms.ResolveForm(prefix="resolve"),
        "reopen": forms.ReopenForm(prefix="reopen"),
        "escalate": forms.EscalateForm(prefix="escalate"),
        "transfer": forms.TransferForm(prefix="transfer", organization=case.organization),
        "refer": forms.ReferForm(prefix="refer"),
        "callback": forms.CallbackForm(prefix="callback", initial={"phone": case.caller_phone}),
        "link": forms.CaseLinkForm(prefix="link"),
        "email": forms.CaseEmailForm(prefix="email", recipients=sorted(allowed_recipients(case))),
        "edit": forms.CaseEditForm(
            prefix="edit",
            initial={"category": case.category, "priority": case.priority, "summary": case.summary},
        ),
    }
    defaults.update(bound or {})
    return {
        "case": case,
        "patient": case.patient,
        "account": case.account,
        "disclosure": disclosure,
        "disclosed": selectors.disclosed_details(case, disclosure),
        "policy": policy,
        "contacts": contacts,
        "script": script,
        "interactions": selectors.interactions_of(case),
        "callbacks": callbacks,
        "referrals": selectors.referrals_of(case),
        "emails": list(case.emails.order_by("-occurred_at", "-id")[:50]),
        "timeline": selectors.case_timeline(case),
        "investigations": list(
            case.benefit_investigations.select_related("coverage__plan__payer").order_by(
                "-investigated_on", "-id"
            )[:10]
        ),
        "forms": defaults,
        "open_form": next(iter(bound), None) if bound else None,
        "now": timezone.now(),
        "can": {
            "work": can_work,
            "override": perms.can_override_disclosure(user, case),
            "reopen_closed": perms.can_reopen_closed_cases(user, case),
            "review": perms.can_review_quality(user, case),
        },
    }


@login_required
def case_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    case = get_case_for_user(request, reference)
    _record_read(request, case)
    return render(request, "inquiries/case_detail.html", case_context(request, case))


def _case_action(
    request: HttpRequest,
    reference: UUID,
    *,
    name: str,
    form_class: Callable[..., django_forms.Form],
    run: Callable[[Case, Any], str],
    form_kwargs: Callable[[Case], dict] | None = None,
) -> HttpResponse:
    """POST one case form to one service; PRG on success, the case page with the refusal otherwise."""
    case = get_case_for_user(request, reference)
    require(perms.can_work_cases(request.user, case), "You may not work this case.")
    form = form_class(request.POST, prefix=name, **(form_kwargs(case) if form_kwargs else {}))
    if form.is_valid():
        try:
            message = run(case, form)
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, message)
            return redirect(case.get_absolute_url())
    case.refresh_from_db()
    _record_read(request, case)
    return render(
        request, "inquiries/case_detail.html", case_context(request, case, {name: form}), status=400
    )


@login_required
@require_POST
def case_verify(request: HttpRequest, reference: UUID) -> HttpResponse:
    def kwargs(case: Case) -> dict:
        return {
            "contacts": selectors.current_contacts(case),
            "policy": VerificationPolicy.of(case.organization),
        }

    def run(case: Case, form: forms.VerifyForm) -> str:
        data = form.cleaned_data
        verification = caller_verify(
            case=case,
            caller_kind=data["caller_kind"],
            answers=form.answers(),
            authorized_contact=data.get("authorized_contact"),
            caller_name=data.get("caller_name", ""),
            by=request.user,
        )
        if verification.passed:
            return "Caller verified."
        return f"Caller not verified: {verification.failure_reason}."

    return _case_action(
        request, reference, name="verify", form_class=forms.VerifyForm, run=run, form_kwargs=kwargs
    )


@login_required
def case_override(request: HttpRequest, reference: UUID) -> HttpResponse:
    """Ask for the reason, then show account details to an unverified caller (logged)."""
    case = get_case_for_user(request, reference)
    require(
        perms.can_override_disclosure(request.user, case),
        "Only a senior representative or a supervisor may override the disclosure guard.",
    )
    form = forms.OverrideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            disclosure_override(case=case, reason=form.cleaned_data["reason"], by=request.user)
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.warning(request, "Disclosure guard overridden. The reason is kept on the case.")
            return redirect(case.get_absolute_url())
    _record_read(request, case)
    return render(
        request,
        "inquiries/case_override.html",
        {"case": case, "form": form, "disclosure": selectors.disclosure_for(case, request.user)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def interaction_add(request: HttpRequest, reference: UUID) -> HttpResponse:
    def kwargs(case: Case) -> dict:
        return {"script": selectors.script_for(case), "callbacks": selectors.open_callbacks(case)}

    def run(case: Case, form: forms.InteractionForm) -> str:
        data = form.cleaned_data
        now = timezone.now()
        minutes = data.get("minutes")
        started = now - timedelta(minutes=minutes) if minutes else now
        interaction = services.interaction_log(
            case=case,
            by=request.user,
            started_at=started,
            ended_at=now if minutes else None,
            # Scripts are call flows: a contact by email or letter is not held to one.
            script_version=form.script if data["channel"] in SCRIPTED_CHANNELS or data.get("steps") else None,
            steps_completed=data.get("steps") or [],
            completes_callback=data.get("callback"),
            now=now,
            **forms.interaction_kwargs(data),
        )
        message = f"Contact logged: {interaction.outcome_text}."
        if interaction.disclosures_missed:
            steps = ", ".join(str(p) for p in interaction.disclosures_missed)
            message += f" A required disclosure was not read (script step {steps})."
        return message

    return _case_action(
        request, reference, name="contact", form_class=forms.InteractionForm, run=run, form_kwargs=kwargs
    )


@login_required
@require_POST
def case_start(request: HttpRequest, reference: UUID) -> HttpResponse:
    case = get_case_for_user(request, reference)
    require(perms.can_work_cases(request.user, case), "You may not work this case.")
    try:
        services.case_start(case=case, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Case #{case.number} is yours and in progress.")
    return redirect(case.get_absolute_url())


@login_required
@require_POST
def case_pend(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(case: Case, form: Any) -> str:
        data = form.cleaned_data
        services.case_pend(
            case=case, follow_up_on=data["follow_up_on"], reason=data["reason"], by=request.user
        )
        return f"Case pended until {data['follow_up_on']:%m/%d/%Y}."

    return _case_action(request, reference, name="pend", form_class=forms.PendForm, run=run)


@login_required
@require_POST
def case_resolve(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(case: Case, form: Any) -> str:
        data = form.cleaned_data
        services.case_resolve(case=case, resolution=data["resolution"], by=request.user)
        return "Case resolved."

    return _case_action(request, reference, name="resolve", form_class=forms.ResolveForm, run=run)


@login_required
@require_POST
def case_close(request: HttpRequest, reference: UUID) -> HttpResponse:
    case = get_case_for_user(request, reference)
    require(perms.can_work_cases(request.user, case), "You may not work this case.")
    try:
        services.case_close(case=case, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Case closed.")
    return redirect(case.get_absolute_url())


@login_required
@require_POST
def case_reopen(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(case: Case, form: Any) -> str:
        data = form.cleaned_data
        services.case_reopen(case=case, reason=data["reason"], by=request.user)
        return "Case reopened."

    return _case_action(request, reference, name="reopen", form_class=forms.ReopenForm, run=run)


@login_required
@require_POST
def case_escalate(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(case: Case, form: Any) -> str:
        data = form.cleaned_data
        services.case_escalate(case=case, reason=data["reason"], by=request.user)
        return "Case escalated to a supervisor."

    return _case_action(request, reference, name="escalate", form_class=forms.EscalateForm, run=run)


@login_required
@require_POST
def case_transfer(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(case: Case, form: Any) -> str:
        data = form.cleaned_data
        department = data["department"]
        services.case_transfer(case=case, department=department, reason=data["reason"], by=request.user)
        phone = f" at {department.phone}" if department.phone else ""
        return f"Case transferred to {department.name}{phone}."

    return _case_action(
        request,
        reference,
        name="transfer",
        form_class=forms.TransferForm,
        run=run,
        form_kwargs=lambda case: {"organization": case.organization},
    )


@login_required
@require_POST
def case_refer(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(case: Case, form: Any) -> str:
        data = form.cleaned_data
        services.case_refer(case=case, kind=data["kind"], reason=data["reason"], by=request.user)
        return "Case referred to appeals & grievances."

    return _case_action(request, reference, name="refer", form_class=forms.ReferForm, run=run)


@login_required
@require_POST
def case_edit(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(case: Case, form: Any) -> str:
        data = form.cleaned_data
        reason = data.pop("reason")
        services.case_update(case=case, changes=data, reason=reason, by=request.user)
        return "Case details saved."

    return _case_action(request, reference, name="edit", form_class=forms.CaseEditForm, run=run)


@login_required
@require_POST
def case_link(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(case: Case, form: Any) -> str:
        data = form.cleaned_data
        number = data["account_number"].strip()
        account = (
            PatientAccount.objects.visible_to(request.user)
            .in_organization(case.organization)
            .filter(account_number__iexact=number)
            .select_related("patient")
            .first()
        )
        if account is None:
            raise InvalidInput(
                f"account_number: no account {number} in {case.organization.name}", field="account_number"
            )
        services.case_link_subject(case=case, account=account, by=request.user)
        return f"Case linked to account {account.account_number}."

    return _case_action(request, reference, name="link", form_class=forms.CaseLinkForm, run=run)


@login_required
@require_POST
def callback_add(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(case: Case, form: Any) -> str:
        data = form.cleaned_data
        callback = services.callback_request(
            case=case,
            requested_for=data["requested_for"],
            phone=data["phone"],
            kind=data["kind"],
            contact_name=data.get("contact_name", ""),
            notes=data.get("notes", ""),
            by=request.user,
        )
        when = timezone.localtime(callback.requested_for)
        return f"{callback.get_kind_display()} added for {when:%m/%d/%Y %H:%M}."

    return _case_action(request, reference, name="callback", form_class=forms.CallbackForm, run=run)


@login_required
@require_POST
def callback_cancel(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = organization_for(request)
    callback = get_object_or_404(
        Callback.objects.visible_to(request.user).in_organization(organization).select_related("case"),
        reference=reference,
    )
    require(perms.can_work_cases(request.user, callback), "You may not change this callback.")
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the callback is cancelled.")
    else:
        try:
            services.callback_cancel(callback=callback, reason=form.cleaned_data["reason"], by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Callback cancelled.")
    return redirect(callback.case.get_absolute_url())


@login_required
def interaction_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    """One contact in full (the QA reviewer's starting point)."""
    organization = organization_for(request)
    interaction = get_object_or_404(
        Interaction.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("case__patient", "case__account", "logged_by", "script_version__script")
        .prefetch_related("script_version__steps", "reviews__reviewer"),
        reference=reference,
    )
    _record_read(request, interaction.case)
    steps = list(interaction.script_version.steps.all()) if interaction.script_version_id else []
    return render(
        request,
        "inquiries/interaction_detail.html",
        {
            "interaction": interaction,
            "case": interaction.case,
            "steps": steps,
            "reviews": list(interaction.reviews.all())
            if perms.can_review_quality(request.user, interaction)
            or interaction.logged_by_id == request.user.pk
            else [],
            "can_review": perms.can_review_quality(request.user, interaction),
        },
    )
