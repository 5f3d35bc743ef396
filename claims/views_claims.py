"""Claim pages: the claims list, a claim's page with its actions, creating a claim from an
account's charges, and the 837 upload.

Claims are loaded in the active organization only (another organization's reference is a
404) and every page that shows one writes the PHI access log. Actions are POST and call one
service; success redirects (PRG), a refusal re-shows the claim page with the message beside
the form that was sent, so nothing typed is lost.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Charge, ChargeEdit, Coverage
from accounts.views import get_account_for_user
from claims import paging
from claims.forms_claims import (
    ClaimCorrectForm,
    ClaimCreateForm,
    ClaimFilterForm,
    ClaimNoteForm,
    ClaimStatusForm,
    ClaimSubmitForm,
    IntakeUploadForm,
)
from claims.intake837 import IntakeRejected, import_837
from claims.models import Claim, ClaimLine, ClaimPayment
from claims.permissions import can_manage_claims, can_note_claims, can_view_claims
from claims.services import claims as services
from core.errors import DomainError
from core.forms import add_refusal, error_summary
from core.models import TimelineEvent
from staff.permissions import require
from staff.phi import phi_access_record, phi_access_record_many

# The last intake result, kept in the session between the POST and the redirected GET.
SESSION_INTAKE = "claims_intake_result"
ACTIVITY_SHOWN = 50
# Days before the timely-filing deadline from which the claim page warns.
DEADLINE_WARNING_DAYS = 30


def _organization(request: HttpRequest) -> Any:
    organization = getattr(request, "organization", None)
    if organization is None or not can_view_claims(request.user, organization):
        raise Http404("No active organization")
    return organization


def get_claim_for_user(request: HttpRequest, reference: UUID) -> Claim:
    """The claim in the active organization, with what its header shows; 404 otherwise."""
    organization = _organization(request)
    return get_object_or_404(
        Claim.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("organization", "account__patient", "coverage__plan", "payer", "original_claim"),
        reference=reference,
    )


# --- the list --------------------------------------------------------------------------------------


@login_required
def claim_list(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    form = ClaimFilterForm(request.GET or None, organization=organization)
    claims = (
        Claim.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("payer", "account__patient")
    )
    account = None
    if request.GET.get("account"):
        account = get_account_for_user(request, _uuid(request.GET["account"]))
        claims = claims.filter(account=account)
    filtered = False
    if form.is_valid():
        data = form.cleaned_data
        if data["q"].strip():
            claims = claims.filter(patient_control_number__iexact=data["q"].strip())
        if data["status"]:
            claims = claims.filter(status=data["status"])
        if data["payer"] is not None:
            claims = claims.filter(payer=data["payer"])
        filtered = any(data.values()) or account is not None
    page = paging.keyset_page(claims, paging.before_param(request))
    if page.rows:
        phi_access_record_many(request=request, subjects=[claim.account for claim in page.rows])
    return render(
        request,
        "claims/claim_list.html",
        {
            "organization": organization,
            "form": form,
            "page": page,
            "account": account,
            "filtered": filtered,
            "query": paging.query_without_before(request),
            "can_import": can_manage_claims(request.user, organization),
        },
    )


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise Http404("Bad account reference") from None


# --- a claim's page ----------------------------------------------------------------------------------


def claim_activity(claim: Claim) -> list[TimelineEvent]:
    """Timeline events on the claim's account that name this claim, newest first."""
    return list(
        TimelineEvent.objects.filter(
            subject_type=ContentType.objects.get_for_model(claim.account, for_concrete_model=True),
            subject_id=claim.account_id,
            data__claim=str(claim.reference),
        )
        .select_related("actor")
        .order_by("-occurred_at", "-id")[:ACTIVITY_SHOWN]
    )


def deadline_badge(claim: Claim, today: date | None = None) -> tuple[str, str] | None:
    """(colour, words) for the timely-filing deadline: met or missed once the claim is with the
    payer, else the days left to send it (a claim still to be sent, or denied and to be sent again)."""
    deadline = claim.timely_filing_deadline
    if deadline is None or not claim.is_open:
        return None
    to_send = claim.status in (Claim.Status.CREATED, Claim.Status.DENIED, Claim.Status.REVERSED)
    if claim.submitted_on is not None and not to_send:
        late = (claim.submitted_on - deadline).days
        if late <= 0:
            return "success", "met: sent in time"
        return "danger", f"sent {late} day{'s' if late != 1 else ''} late"
    days = (deadline - (today or timezone.localdate())).days
    if days < 0:
        return "danger", f"passed {-days} day{'s' if days != -1 else ''} ago"
    if days == 0:
        return "danger", "due today"
    colour = "warning" if days <= DEADLINE_WARNING_DAYS else "success"
    return colour, f"{days} day{'s' if days != 1 else ''} left"


def _render_detail(request: HttpRequest, claim: Claim, *, status: int = 200, **forms: Any) -> HttpResponse:
    phi_access_record(request=request, subject=claim, organization=claim.organization)
    user = request.user
    lines = list(claim.lines.order_by("line_number"))
    context = {
        "claim": claim,
        "account": claim.account,
        "patient": claim.account.patient,
        "lines": lines,
        "history": services.status_history(claim),
        "remittances": list(
            ClaimPayment.objects.filter(claim=claim).select_related("payment__file").order_by("-id")
        ),
        "denials": list(claim.denials.order_by("-denied_on", "-id")),
        "notes": list(claim.notes.select_related("author")),
        "corrections": list(claim.corrections.order_by("-id")),
        "activity": claim_activity(claim),
        "deadline_badge": deadline_badge(claim),
        "pharmacy": claim.kind == Claim.Kind.PHARMACY or any(line.rx_number or line.ndc for line in lines),
        "can": {"manage": can_manage_claims(user, claim), "note": can_note_claims(user, claim)},
        "submit_form": forms.get("submit_form") or ClaimSubmitForm(),
        "status_form": forms.get("status_form") or ClaimStatusForm(claim=claim),
        "correct_form": forms.get("correct_form") or ClaimCorrectForm(),
        "note_form": forms.get("note_form") or ClaimNoteForm(),
        "can_submit": claim.can_transition_to(Claim.Status.SUBMITTED),
        "can_correct": claim.status not in (Claim.Status.CREATED, Claim.Status.VOID)
        and claim.frequency != Claim.Frequency.VOID,
    }
    return render(request, "claims/claim_detail.html", context, status=status)


@login_required
def claim_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    return _render_detail(request, get_claim_for_user(request, reference))


def _action(
    request: HttpRequest,
    reference: UUID,
    *,
    form_name: str,
    build: Any,
    run: Any,
    predicate: Any = can_manage_claims,
) -> HttpResponse:
    """POST an action: the form, then one service; success redirects, a refusal re-shows the page."""
    claim = get_claim_for_user(request, reference)
    require(predicate(request.user, claim), "Your role does not allow this on claims.")
    form = build(claim)
    if form.is_valid():
        try:
            target, message = run(claim, form.cleaned_data)
        except DomainError as exc:
            add_refusal(form, exc)
            messages.error(request, exc.message)
        else:
            messages.success(request, message)
            return redirect("claims:claim_detail", reference=target.reference)
    else:
        messages.error(request, error_summary(form))
    claim.refresh_from_db()
    return _render_detail(request, claim, status=400, **{form_name: form})


@login_required
@require_POST
def claim_submit(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(claim: Claim, data: dict) -> tuple[Claim, str]:
        services.claim_submit(claim=claim, by=request.user, submitted_on=data["submitted_on"])
        deadline = claim.timely_filing_deadline
        tail = f"; timely filing deadline {deadline:%m/%d/%Y}" if deadline else ""
        return claim, f"Claim {claim.patient_control_number} marked as submitted{tail}."

    return _action(
        request, reference, form_name="submit_form", build=lambda c: ClaimSubmitForm(request.POST), run=run
    )


@login_required
@require_POST
def claim_change_status(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(claim: Claim, data: dict) -> tuple[Claim, str]:
        services.claim_change_status(
            claim=claim, status=data["status"], reason=data["reason"], by=request.user
        )
        return claim, f"Claim {claim.patient_control_number} is now {claim.get_status_display().lower()}."

    return _action(
        request,
        reference,
        form_name="status_form",
        build=lambda c: ClaimStatusForm(request.POST, claim=c),
        run=run,
    )


@login_required
@require_POST
def claim_correct(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(claim: Claim, data: dict) -> tuple[Claim, str]:
        correction = services.claim_correct(
            claim=claim, frequency=data["frequency"], reason=data["reason"], by=request.user
        )
        return correction, (
            f"{correction.get_frequency_display()} of claim {claim.patient_control_number} created; "
            "submit it when it is sent."
        )

    return _action(
        request, reference, form_name="correct_form", build=lambda c: ClaimCorrectForm(request.POST), run=run
    )


@login_required
@require_POST
def claim_note_add(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(claim: Claim, data: dict) -> tuple[Claim, str]:
        services.claim_note_add(claim=claim, text=data["text"], by=request.user)
        return claim, "Note added."

    return _action(
        request,
        reference,
        form_name="note_form",
        build=lambda c: ClaimNoteForm(request.POST),
        run=run,
        predicate=can_note_claims,
    )


# --- creating a claim from an account's charges ---------------------------------------------------------


def _charge_rows(charges: list[Charge]) -> list[dict]:
    """Each posted charge with what stands in the way of billing it: open edits, open claims."""
    open_lines = (
        ClaimLine.objects.filter(charge__in=charges)
        .exclude(claim__status__in=[Claim.Status.CLOSED, Claim.Status.VOID])
        .select_related("claim__payer")
    )
    on_claims: dict[int, list[Claim]] = {}
    for line in open_lines:
        on_claims.setdefault(line.charge_id, []).append(line.claim)
    return [
        {
            "charge": charge,
            "edits": [edit for edit in charge.edits.all() if edit.status == ChargeEdit.Status.OPEN],
            "claims": on_claims.get(charge.pk, []),
        }
        for charge in charges
    ]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def claim_create(request: HttpRequest, reference: UUID) -> HttpResponse:
    account = get_account_for_user(request, reference)
    require(can_manage_claims(request.user, account), "Your role does not allow creating claims.")
    coverages = (
        Coverage.objects.filter(patient=account.patient)
        .select_related("plan__payer")
        .order_by("-is_active", "priority", "-effective_from", "id")
    )
    charges = (
        Charge.objects.filter(account=account, status=Charge.Status.POSTED)
        .prefetch_related("edits")
        .order_by("service_date", "id")
    )
    rows = _charge_rows(list(charges))
    checked = set(request.POST.getlist("charges"))
    if request.method == "POST":
        form = ClaimCreateForm(request.POST, coverages=coverages, charges=charges)
        if form.is_valid():
            data = form.cleaned_data
            try:
                claim = services.claim_create_from_charges(
                    account=account,
                    coverage=data["coverage"],
                    charges=list(data["charges"]),
                    kind=data["kind"] or None,
                    by=request.user,
                )
            except DomainError as exc:
                add_refusal(form, exc)
            else:
                messages.success(
                    request,
                    f"Claim {claim.patient_control_number} created for {claim.payer}: "
                    f"${claim.billed_amount}. Submit it when it is sent.",
                )
                return redirect("claims:claim_detail", reference=claim.reference)
    else:
        billable = [row["charge"].reference for row in rows if not row["edits"] and not row["claims"]]
        checked = {str(reference) for reference in billable}
        first = next(iter(coverages), None)
        form = ClaimCreateForm(
            coverages=coverages,
            charges=charges,
            initial={"coverage": first.reference if first else None, "charges": billable},
        )
    phi_access_record(request=request, subject=account, organization=account.organization)
    return render(
        request,
        "claims/claim_create.html",
        {
            "account": account,
            "patient": account.patient,
            "form": form,
            "rows": rows,
            "checked": checked,
            "blocked": sum(1 for row in rows if row["edits"]),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- 837 intake ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def intake_upload(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    require(can_manage_claims(request.user, organization), "Your role does not allow importing claims.")
    if request.method != "POST":
        # Shown once: a HEAD request (a link checker) does not use it up.
        result = request.session.pop(SESSION_INTAKE, None) if request.method == "GET" else None
        return _render_intake(request, organization, IntakeUploadForm(), result=result)
    form = IntakeUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_intake(request, organization, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        result = import_837(
            organization=organization, data=upload.read(), filename=upload.name, by=request.user
        )
    except IntakeRejected as exc:
        messages.error(request, f"{exc.message}.")
        return _render_intake(request, organization, IntakeUploadForm(), result=exc.result.as_dict())
    except DomainError as exc:
        add_refusal(form, exc)
        return _render_intake(request, organization, form, status=400)
    request.session[SESSION_INTAKE] = result.as_dict()
    messages.success(request, f"{result.filename} imported: {result.summary()}.")
    return redirect("claims:intake_upload")


def _render_intake(
    request: HttpRequest,
    organization: Any,
    form: IntakeUploadForm,
    *,
    result: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "claims/intake_upload.html",
        {"organization": organization, "form": form, "result": result},
        status=status,
    )
