"""Remittance pages: the inbox with its upload form, a file's payments and claims, one claim
payment with its lines and raw segments, and manual (paper) EOB entry.

Everyone in the active organization reads these pages (representatives explain EOBs);
uploading and keying EOBs needs ``can_post_remittances``. Objects are loaded in the active
organization only, so another organization's reference is a 404. Pages that show claim
data write the PHI access log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from claims import selectors
from claims.forms_remittances import EobEntry, RemittanceFileFilterSet, RemittanceUploadForm
from claims.models import ClaimPayment, RemittanceFile
from claims.paging import before_param, keyset_page, query_without_before
from claims.permissions import can_post_remittances, can_view_claims, can_work_denials
from claims.services.remittances import ImportOutcome, manual_eob_post, remittance_import
from core.errors import DomainError
from core.forms import add_refusal
from core.money import format_money
from staff.models import Organization
from staff.permissions import require
from staff.phi import phi_access_record, phi_access_record_many

Predicate = Callable[[Any, Any], bool]
REFUSALS = (DomainError, PermissionDenied)
_FIELD_PATH = re.compile(r"^[a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)*: ")


def active_organization(request: HttpRequest, predicate: Predicate = can_view_claims) -> Organization:
    """The active organization, if ``predicate`` allows the user there; otherwise 403."""
    organization = getattr(request, "organization", None)
    require(
        organization is not None and predicate(request.user, organization),
        "Your role in this organization does not allow this.",
    )
    return organization


def refusal_text(exc: Exception) -> str:
    """A service's refusal as a sentence: the domain message, or the permission message."""
    if isinstance(exc, DomainError):
        return exc.message
    return str(exc) or "You do not have permission to do this."


def log_rows(request: HttpRequest, rows: list[Any]) -> None:
    """PHI access log for a page listing claim data: one row per account shown (or per item without one)."""
    if rows:
        phi_access_record_many(request=request, subjects=selectors.account_stand_ins(rows))


def import_message(outcome: ImportOutcome) -> str:
    """What an import did, in one sentence a posting specialist can act on."""
    if outcome.duplicate:
        earlier = outcome.file
        when = timezone.localtime(earlier.created_at).strftime("%m/%d/%Y %H:%M")
        return (
            f"This file was already imported on {when} ({earlier.filename}): nothing posted. "
            "This is that import."
        )
    s = outcome.summary
    text = (
        f"Posted: {s.get('posted', 0)} of {_count(s, 'claims', 'claim')}, "
        f"{_count(s, 'exceptions', 'exception')}, {_count(s, 'denials', 'denial')}, "
        f"{_count(s, 'variances', 'variance')}; "
        f"{format_money(_decimal(s.get('total_paid')))} paid in {_count(s, 'payments', 'payment')}."
    )
    if s.get("duplicate_payments"):
        text += (
            f" {s['duplicate_payments']} payment(s) were already posted from another file "
            "and were not posted again."
        )
    if s.get("errors"):
        text += f" The file has {s['errors']} error(s): see the diagnostics below."
    return text


def _count(summary: dict, key: str, noun: str) -> str:
    n = summary.get(key, 0)
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0.00")
    except InvalidOperation:
        return Decimal("0.00")


# --- inbox and upload ---------------------------------------------------------------------------


def _inbox(
    request: HttpRequest, organization: Organization, upload_form: RemittanceUploadForm
) -> HttpResponse:
    queryset = selectors.remittance_files(request.user, organization)
    filterset = RemittanceFileFilterSet(request.GET, queryset=queryset)
    page = keyset_page(filterset.qs, before_param(request))
    return render(
        request,
        "claims/remittance_inbox.html",
        {
            "organization": organization,
            "filterset": filterset,
            "filtered": any(request.GET.get(name) for name in filterset.filters),
            "page": page,
            "query": query_without_before(request),
            "upload_form": upload_form,
            "can_post": can_post_remittances(request.user, organization),
        },
        status=400 if upload_form.is_bound else 200,
    )


@login_required
@require_safe
def remittance_inbox(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    return _inbox(request, organization, RemittanceUploadForm())


@login_required
@require_POST
def remittance_upload(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request, can_post_remittances)
    form = RemittanceUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            outcome = remittance_import(
                organization=organization,
                data=upload.read(),
                filename=upload.name,
                channel=RemittanceFile.Channel.UPLOAD,
                by=request.user,
            )
        except DomainError as exc:
            # "file: remit.835 is not an X12 835 remittance (…)": the sentence goes on the file field.
            form.add_error("file", exc.message.removeprefix("file: "))
        except PermissionDenied as exc:
            add_refusal(form, exc)
        else:
            if outcome.file is None:
                messages.error(request, f"{upload.name}: nothing was stored.")
                return redirect("claims:remittance_inbox")
            if outcome.duplicate or outcome.summary.get("exceptions") or outcome.summary.get("errors"):
                messages.warning(request, import_message(outcome))
            else:
                messages.success(request, import_message(outcome))
            return redirect("claims:remittance_detail", reference=outcome.file.reference)
    return _inbox(request, organization, form)


# --- one file -----------------------------------------------------------------------------------


POSTING_FILTERS = [("", "All claims"), *ClaimPayment.Posting.choices]


@login_required
@require_safe
def remittance_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request)
    file = get_object_or_404(selectors.remittance_files(request.user, organization), reference=reference)
    posting = request.GET.get("posting", "")
    if posting not in ClaimPayment.Posting.values:
        posting = ""
    term = request.GET.get("q", "").strip()[:50]
    payments = selectors.remittance_file_payments(file, posting=posting, term=term)
    claim_payments = [cp for payment in payments for cp in payment.claim_payments.all()]
    for cp in claim_payments:
        cp.status_meaning = selectors.claim_status_meaning(cp.status_code)
    for payment in payments:
        for plb in payment.provider_adjustments.all():
            plb.reason_label = selectors.PROVIDER_ADJUSTMENT_REASONS.get(plb.reason, "")
    phi_access_record(request=request, subject=file, organization=organization)
    log_rows(request, [cp for cp in claim_payments if cp.account_id])
    return render(
        request,
        "claims/remittance_detail.html",
        {
            "organization": organization,
            "file": file,
            "summary": selectors.file_summary(file),
            "diagnostics": selectors.diagnostic_rows(file.diagnostics),
            "payments": payments,
            "posting": posting,
            "posting_filters": POSTING_FILTERS,
            "term": term,
            "claim_count": len(claim_payments),
            "can_post": can_post_remittances(request.user, organization),
        },
    )


@login_required
@require_safe
def claim_payment_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request)
    claim_payment = get_object_or_404(
        selectors.claim_payment_queryset(request.user).in_organization(organization), reference=reference
    )
    phi_access_record(
        request=request, subject=claim_payment.account or claim_payment, organization=organization
    )
    view = selectors.claim_payment_view(claim_payment)
    return render(
        request,
        "claims/remittance_claim_payment.html",
        {
            "organization": organization,
            "cp": claim_payment,
            "view": view,
            "payment": claim_payment.payment,
            "file": claim_payment.payment.file,
            "status_meaning": selectors.claim_status_meaning(claim_payment.status_code),
            "diagnostics": selectors.diagnostic_rows(claim_payment.diagnostics),
            "segments": selectors.raw_segments(claim_payment),
            "can_post": can_post_remittances(request.user, organization),
            "can_work_denials": can_work_denials(request.user, organization),
        },
    )


# --- manual EOB ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def eob_entry(request: HttpRequest) -> HttpResponse:
    """Key a paper EOB: header, claim blocks, lines with their adjustments; posted like an 835."""
    organization = active_organization(request, can_post_remittances)
    if request.method != "POST":
        return _eob_page(request, organization, EobEntry(organization=organization, bound=False))
    action = request.POST.get("action", "post")
    if action != "post":
        return _eob_page(
            request, organization, EobEntry.grown(request.POST, organization=organization, action=action)
        )
    entry = EobEntry(request.POST, organization=organization)
    refusal = ""
    if entry.is_valid():
        try:
            outcome = manual_eob_post(
                organization=organization, payer=entry.payer, eob=entry.manual_eob(), by=request.user
            )
        except REFUSALS as exc:
            # "claims[1].lines[2]: line 2 of claim 1 … does not balance": the sentence, not the path.
            refusal = _FIELD_PATH.sub("", refusal_text(exc), count=1)
        else:
            if outcome.file is not None:
                level = (
                    messages.warning
                    if outcome.duplicate or outcome.summary.get("exceptions")
                    else messages.success
                )
                level(request, import_message(outcome))
                return redirect("claims:remittance_detail", reference=outcome.file.reference)
            refusal = "Nothing was stored."
    return _eob_page(request, organization, entry, refusal=refusal, status=400)


def _eob_page(
    request: HttpRequest, organization: Organization, entry: EobEntry, *, refusal: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "claims/eob_entry.html",
        {
            "organization": organization,
            "entry": entry,
            "errors": entry.errors() if entry.bound else [],
            "refusal": refusal,
            "has_payers": entry.header.fields["payer"].queryset.exists(),
        },
        status=status,
    )
