"""The work posting leaves for people: the exceptions queue, denials and payment variances.

Everyone in the active organization reads these lists; exceptions and variances are worked
by those who post remittances, denials also by appeals coordinators and senior
representatives. Each action is a POST that calls one service and redirects back (PRG);
a refusal re-shows the page with the service's message beside the field it names.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from claims import selectors
from claims.codes import GROUP_LABELS, carc_label
from claims.forms_remittances import (
    DenialFilterSet,
    DismissForm,
    PostingExceptionFilterSet,
    ResolveForm,
    TransitionForm,
    VarianceFilterSet,
    payer_select,
)
from claims.models import Claim, Denial, PostingException, RemittanceFile, Variance
from claims.paging import before_param, keyset_page, query_without_before
from claims.permissions import can_post_remittances, can_work_denials
from claims.services import remittances as services
from claims.services.codes import describe_codes
from claims.views_remittances import REFUSALS, active_organization, log_rows, refusal_text
from core.forms import add_refusal
from payers.models import Payer
from staff.models import Organization, PhiAccessLog
from staff.phi import phi_access_record, phi_access_record_many

# Kinds resolved by pointing at the claim the payment belongs to; the others are fixed by hand.
CLAIM_PICK_KINDS = frozenset(
    {
        PostingException.Kind.UNMATCHED,
        PostingException.Kind.AMBIGUOUS,
        PostingException.Kind.REVERSAL_WITHOUT_ORIGINAL,
    }
)
EXPORT_CHUNK = 2000


def _payers(organization: Organization) -> list[Payer]:
    return list(Payer.objects.in_organization(organization).only("reference", "name").order_by("name"))


def _list_page(
    request: HttpRequest,
    *,
    organization: Organization,
    filterset: Any,
    template: str,
    extra: dict[str, Any],
) -> HttpResponse:
    payer_select(filterset, _payers(organization))
    page = keyset_page(filterset.qs, before_param(request))
    log_rows(request, page.rows)
    return render(
        request,
        template,
        {
            "organization": organization,
            "filterset": filterset,
            "page": page,
            "query": query_without_before(request),
            "filtered": any(request.GET.get(name) for name in filterset.filters),
            **extra,
        },
    )


# --- exceptions ---------------------------------------------------------------------------------


@login_required
@require_safe
def exception_list(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    filterset = PostingExceptionFilterSet(
        request.GET, queryset=selectors.exceptions_queue(request.user, organization), request=request
    )
    # One file's exceptions are reached from the file page; the filter bar does not offer it.
    filterset.form.fields["file"].widget = forms.HiddenInput()
    return _list_page(
        request,
        organization=organization,
        filterset=filterset,
        template="claims/exception_list.html",
        extra={
            "can_post": can_post_remittances(request.user, organization),
            "one_file": _file_named(request, organization),
        },
    )


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _file_named(request: HttpRequest, organization: Organization) -> RemittanceFile | None:
    """The file ``?file=`` narrows the queue to, when it is one of the organization's."""
    reference = _uuid(request.GET.get("file", ""))
    if reference is None:
        return None
    return (
        RemittanceFile.objects.visible_to(request.user)
        .in_organization(organization)
        .only("reference", "filename")
        .filter(reference=reference)
        .first()
    )


def _exception(request: HttpRequest, organization: Organization, reference: UUID) -> PostingException:
    return get_object_or_404(selectors.exceptions_queue(request.user, organization), reference=reference)


def _exception_page(
    request: HttpRequest,
    organization: Organization,
    exception: PostingException,
    *,
    resolve_form: ResolveForm | None = None,
    dismiss_form: DismissForm | None = None,
    status: int = 200,
) -> HttpResponse:
    needs_claim = exception.kind in CLAIM_PICK_KINDS
    term = request.GET.get("q", "").strip()[:60]
    candidates: list[Claim] = []
    if needs_claim and exception.is_open:
        # The claims posting found (an ambiguous match), and the one picked before a refusal.
        raw = [
            c.get("reference") for c in (exception.details or {}).get("candidates", []) if isinstance(c, dict)
        ]
        if resolve_form is not None:
            raw.append(resolve_form["claim"].value())
        references = [str(r) for r in (_uuid(value) for value in raw) if r is not None]
        candidates = selectors.claim_candidates(
            organization,
            request.user,
            term=term,
            claim_payment=exception.claim_payment,
            references=references,
        )
    cp = exception.claim_payment
    phi_access_record(
        request=request,
        subject=(cp.account if cp and cp.account_id else exception),
        organization=organization,
    )
    if candidates:
        phi_access_record_many(request=request, subjects=[c.account for c in candidates])
    return render(
        request,
        "claims/exception_detail.html",
        {
            "organization": organization,
            "exception": exception,
            "cp": cp,
            "needs_claim": needs_claim,
            "term": term,
            "candidates": candidates,
            "resolve_form": resolve_form or ResolveForm(needs_claim=needs_claim),
            "dismiss_form": dismiss_form or DismissForm(),
            "can_post": can_post_remittances(request.user, organization),
            "status_meaning": selectors.claim_status_meaning(cp.status_code) if cp else "",
        },
        status=status,
    )


@login_required
@require_safe
def exception_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request)
    return _exception_page(request, organization, _exception(request, organization, reference))


@login_required
@require_POST
def exception_resolve(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request, can_post_remittances)
    exception = _exception(request, organization, reference)
    needs_claim = exception.kind in CLAIM_PICK_KINDS
    form = ResolveForm(request.POST, needs_claim=needs_claim)
    if form.is_valid():
        claim = None
        if needs_claim:
            claim = (
                Claim.objects.visible_to(request.user)
                .in_organization(organization)
                .filter(reference=form.cleaned_data["claim"])
                .first()
            )
            if claim is None:
                form.add_error("claim", "That claim is not one of this organization's claims.")
        if not form.errors:
            try:
                services.exception_resolve(
                    exception=exception,
                    by=request.user,
                    resolution=form.cleaned_data["resolution"],
                    claim=claim,
                )
            except REFUSALS as exc:
                add_refusal(form, exc)
            else:
                if claim is not None:
                    messages.success(request, f"Matched to claim {claim.patient_control_number} and posted.")
                else:
                    messages.success(request, "Exception resolved.")
                return redirect("claims:exception_detail", reference=exception.reference)
    return _exception_page(request, organization, exception, resolve_form=form, status=400)


@login_required
@require_POST
def exception_dismiss(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request, can_post_remittances)
    exception = _exception(request, organization, reference)
    form = DismissForm(request.POST)
    if form.is_valid():
        try:
            services.exception_dismiss(
                exception=exception, by=request.user, reason=form.cleaned_data["reason"]
            )
        except REFUSALS as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, "Exception dismissed: nothing was posted for it.")
            return redirect("claims:exception_detail", reference=exception.reference)
    return _exception_page(request, organization, exception, dismiss_form=form, status=400)


@login_required
@require_POST
def exception_assign(request: HttpRequest, reference: UUID) -> HttpResponse:
    """Take the exception (assign it to yourself)."""
    organization = active_organization(request, can_post_remittances)
    exception = _exception(request, organization, reference)
    try:
        services.exception_assign(exception=exception, assignee=request.user, by=request.user)
    except REFUSALS as exc:
        messages.error(request, f"Not assigned. {refusal_text(exc)}")
    else:
        messages.success(request, "The exception is assigned to you.")
    return redirect("claims:exception_detail", reference=exception.reference)


# --- denials ------------------------------------------------------------------------------------


def _denial_filterset(request: HttpRequest, organization: Organization) -> DenialFilterSet:
    return DenialFilterSet(
        request.GET, queryset=selectors.denials_list(request.user, organization), request=request
    )


@login_required
@require_safe
def denial_list(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    return _list_page(
        request,
        organization=organization,
        filterset=_denial_filterset(request, organization),
        template="claims/denial_list.html",
        extra={"can_work": can_work_denials(request.user, organization), "group_labels": GROUP_LABELS},
    )


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


DENIAL_COLUMNS = [
    "denied_on",
    "payer",
    "patient_control_number",
    "payer_claim_number",
    "level",
    "service_code",
    "category",
    "group_codes",
    "carc_codes",
    "rarc_codes",
    "denied_amount",
    "recommended_action",
    "status",
    "assigned_to",
]


def _denial_csv(request: HttpRequest, denials: Any) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(DENIAL_COLUMNS)
    chunk: list[Denial] = []
    for denial in denials.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(denial)
        cp = denial.claim_payment
        yield writer.writerow(
            [
                denial.denied_on.isoformat(),
                denial.payer.name if denial.payer else "",
                cp.patient_control_number,
                cp.payer_claim_number,
                denial.level,
                denial.service_code,
                denial.get_category_display(),
                " ".join(denial.group_codes),
                " ".join(denial.carc_codes),
                " ".join(denial.rarc_codes),
                str(denial.denied_amount),
                denial.recommended_action,
                denial.get_status_display(),
                denial.assigned_to.email if denial.assigned_to else "",
            ]
        )
        if len(chunk) >= EXPORT_CHUNK:
            _log_export(request, chunk)
            chunk = []
    _log_export(request, chunk)


def _log_export(request: HttpRequest, rows: list[Any]) -> None:
    if rows:
        phi_access_record_many(
            request=request, subjects=selectors.account_stand_ins(rows), action=PhiAccessLog.Action.EXPORT
        )


@login_required
@require_safe
def denial_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered denials list as CSV, every row (not one page); the export is PHI-logged per account."""
    organization = active_organization(request)
    filterset = _denial_filterset(request, organization)
    denials = filterset.qs.order_by("-denied_on", "-id")
    response = StreamingHttpResponse(_denial_csv(request, denials), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="denials-{organization.slug}-{stamp}.csv"'
    return response


def _code_texts(organization: Organization, code_set: str, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    return describe_codes(organization, code_set, codes)


def _code_rows(organization: Organization, code_set: str, codes: list[str]) -> Iterator[tuple[str, str]]:
    texts = _code_texts(organization, code_set, codes)
    return ((code, texts.get(code, "")) for code in codes)


def _work_page(
    request: HttpRequest,
    organization: Organization,
    item: Any,
    *,
    template: str,
    can_work: bool,
    form: TransitionForm | None = None,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    phi_access_record(
        request=request, subject=item.account if item.account_id else item, organization=organization
    )
    return render(
        request,
        template,
        {
            "organization": organization,
            "item": item,
            "cp": item.claim_payment,
            "form": form or TransitionForm(item=item),
            "can_work": can_work,
            **(extra or {}),
        },
        status=status,
    )


def _denial(request: HttpRequest, organization: Organization, reference: UUID) -> Denial:
    return get_object_or_404(
        selectors.denials_list(request.user, organization).select_related("account", "service_payment"),
        reference=reference,
    )


def _denial_page(
    request: HttpRequest, organization: Organization, denial: Denial, **kwargs: Any
) -> HttpResponse:
    texts = _code_texts(organization, "carc", denial.carc_codes)
    extra = {
        "carc_rows": [
            {"code": c, "label": carc_label(c), "text": texts.get(c, "")} for c in denial.carc_codes
        ],
        "rarc_rows": list(_code_rows(organization, "rarc", denial.rarc_codes)),
        "group_labels": GROUP_LABELS,
    }
    return _work_page(
        request,
        organization,
        denial,
        template="claims/denial_detail.html",
        can_work=can_work_denials(request.user, organization),
        extra=extra,
        **kwargs,
    )


@login_required
@require_safe
def denial_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request)
    return _denial_page(request, organization, _denial(request, organization, reference))


@login_required
@require_POST
def denial_transition(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request, can_work_denials)
    denial = _denial(request, organization, reference)
    form = TransitionForm(request.POST, item=denial)
    if form.is_valid():
        try:
            services.denial_transition(
                denial=denial,
                status=form.cleaned_data["status"],
                by=request.user,
                note=form.cleaned_data["note"],
            )
        except REFUSALS as exc:
            add_refusal(form, exc)
        else:
            messages.success(
                request, f"Denial is now {Denial.Status(form.cleaned_data['status']).label.lower()}."
            )
            return redirect("claims:denial_detail", reference=denial.reference)
    return _denial_page(request, organization, denial, form=form, status=400)


# --- variances ----------------------------------------------------------------------------------


@login_required
@require_safe
def variance_list(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    filterset = VarianceFilterSet(
        request.GET, queryset=selectors.variances_list(request.user, organization), request=request
    )
    return _list_page(
        request,
        organization=organization,
        filterset=filterset,
        template="claims/variance_list.html",
        extra={"can_work": can_post_remittances(request.user, organization)},
    )


def _variance(request: HttpRequest, organization: Organization, reference: UUID) -> Variance:
    return get_object_or_404(
        selectors.variances_list(request.user, organization).select_related("account", "service_payment"),
        reference=reference,
    )


@login_required
@require_safe
def variance_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request)
    variance = _variance(request, organization, reference)
    return _work_page(
        request,
        organization,
        variance,
        template="claims/variance_detail.html",
        can_work=can_post_remittances(request.user, organization),
    )


@login_required
@require_POST
def variance_transition(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request, can_post_remittances)
    variance = _variance(request, organization, reference)
    form = TransitionForm(request.POST, item=variance)
    if form.is_valid():
        try:
            services.variance_transition(
                variance=variance,
                status=form.cleaned_data["status"],
                by=request.user,
                note=form.cleaned_data["note"],
            )
        except REFUSALS as exc:
            add_refusal(form, exc)
        else:
            messages.success(
                request, f"Variance is now {Variance.Status(form.cleaned_data['status']).label.lower()}."
            )
            return redirect("claims:variance_detail", reference=variance.reference)
    return _work_page(
        request,
        organization,
        variance,
        template="claims/variance_detail.html",
        can_work=can_post_remittances(request.user, organization),
        form=form,
        status=400,
    )
