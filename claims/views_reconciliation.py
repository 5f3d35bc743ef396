"""Pages for deposits, the daily reconciliation report, insurance audits and the official
CARC/RARC texts.

Everyone in the active organization reads deposits, the report and audits; recording and
matching deposits needs ``can_reconcile_deposits``, working audits ``can_manage_audits``,
and the code-text page (list and upload) ``can_load_code_descriptions``. A role that may
not do something gets 403 before any reference is looked up; objects are loaded in the
active organization only, so another organization's reference is a 404. Changes are POST
and redirect (PRG); a refused change is shown on its form with the service's message.
Audit pages show claims, so reading them writes the PHI access log (deposits and the
report carry no patient data).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from claims import deposit_import as deposit_file
from claims.forms_reconciliation import (
    AuditClaimsForm,
    AuditDocumentForm,
    AuditFindingsForm,
    AuditOpenForm,
    AuditStatusForm,
    CodeFilterForm,
    CodeUploadForm,
    DepositFilterForm,
    DepositForm,
    DepositImportForm,
    DepositMatchForm,
    DepositUnmatchForm,
    ReconciliationDayForm,
    ReconciliationFilterForm,
    split_numbers,
)
from claims.models import AuditDocument, CodeDescription, Deposit, InsuranceAudit, RemittancePayment
from claims.paging import before_param, keyset_page, query_without_before
from claims.permissions import (
    can_load_code_descriptions,
    can_manage_audits,
    can_reconcile_deposits,
)
from claims.reconciliation import (
    UNIDENTIFIED,
    ReconciliationReport,
    claims_by_number,
    daily_reconciliation,
    default_range,
    match_candidates,
    reconciliation_day,
)
from claims.services import audits as audit_services
from claims.services import codes as code_services
from claims.services import reconciliation as deposit_services
from claims.views_remittances import REFUSALS, active_organization
from core.csvimport import CsvRejected
from core.forms import add_refusal, error_summary
from core.history import history_rows
from core.money import format_money
from core.timeline import timeline_for
from payers.models import Payer
from staff.calendar import calendar_for
from staff.models import Organization, PhiAccessLog
from staff.phi import phi_access_record

FORM_METHODS = require_http_methods(["GET", "HEAD", "POST"])
TIMELINE_LENGTH = 30
CODES_PER_PAGE = 100


def run(form: forms.Form, service: Callable[..., Any], **kwargs: Any) -> Any | None:
    """Call ``service`` once; on refusal record it on ``form`` and return None."""
    try:
        return service(**kwargs)
    except REFUSALS as exc:
        add_refusal(form, exc)
        return None


def _today(organization: Organization) -> date:
    return deposit_services.organization_today(organization)


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _csv_response(rows: Iterator[list[Any]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- deposits ------------------------------------------------------------------------------------


def _deposit_in(request: HttpRequest, organization: Organization, reference: UUID) -> Deposit:
    return get_object_or_404(
        Deposit.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("organization", "payer", "payment__file", "payment__payer", "entered_by"),
        reference=reference,
    )


@login_required
@require_safe
def deposit_list(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    form = DepositFilterForm(request.GET or None, organization=organization)
    deposits = (
        Deposit.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("payer", "payment__payer")
    )
    if form.is_valid():
        data = form.cleaned_data
        if data["state"] == "matched":
            deposits = deposits.filter(payment__isnull=False)
        elif data["state"] == "unmatched":
            deposits = deposits.filter(payment__isnull=True)
        if data["payer"]:
            deposits = deposits.filter(
                Q(payer=data["payer"]) | Q(payer__isnull=True, payment__payer=data["payer"])
            )
        if data["date_from"]:
            deposits = deposits.filter(deposit_date__gte=data["date_from"])
        if data["date_to"]:
            deposits = deposits.filter(deposit_date__lte=data["date_to"])
        if data["trace"]:
            deposits = deposits.filter(trace_number__iexact=data["trace"].strip())
    elif form.is_bound:
        deposits = deposits.none()
    return render(
        request,
        "claims/deposit_list.html",
        {
            "organization": organization,
            "form": form,
            "filtered": form.is_bound and any(request.GET.get(name) for name in form.fields),
            "page": keyset_page(deposits, before_param(request)),
            "query": query_without_before(request),
            "can_reconcile": can_reconcile_deposits(request.user, organization),
        },
    )


@login_required
@FORM_METHODS
def deposit_create(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request, can_reconcile_deposits)
    form = DepositForm(
        request.POST or None,
        organization=organization,
        initial={"deposit_date": _today(organization), "method": Deposit.Method.EFT},
    )
    if request.method == "POST":
        if form.is_valid():
            deposit = run(
                form,
                deposit_services.deposit_create,
                organization=organization,
                by=request.user,
                **form.cleaned_data,
            )
            if deposit is not None:
                if deposit.payment_id:
                    messages.success(
                        request,
                        f"Deposit {deposit.trace_number} of {format_money(deposit.amount)} recorded and "
                        "matched to the remittance of the same trace number and amount.",
                    )
                else:
                    messages.success(
                        request,
                        f"Deposit {deposit.trace_number} of {format_money(deposit.amount)} recorded. No "
                        "remittance with this trace number and amount yet: it is matched when the 835 "
                        "arrives, or match it by hand below.",
                    )
                return redirect("claims:deposit_detail", deposit.reference)
        messages.error(request, f"Deposit not recorded. {error_summary(form)}")
    return render(
        request,
        "claims/deposit_form.html",
        {"organization": organization, "form": form},
        status=400 if form.is_bound else 200,
    )


@login_required
@FORM_METHODS
def deposit_import(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request, can_reconcile_deposits)
    if request.method != "POST":
        return _render_import(request, organization, DepositImportForm())
    form = DepositImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_import(request, organization, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        result = deposit_services.deposit_import_csv(
            organization=organization, data=upload.read(), by=request.user, filename=upload.name
        )
    except CsvRejected as exc:
        messages.error(request, f"{upload.name} was not imported: {exc.message}.")
        # A browser never keeps the chosen file: the form starts afresh for the corrected one.
        return _render_import(request, organization, DepositImportForm(), rejected=exc, filename=upload.name)
    except REFUSALS as exc:
        add_refusal(form, exc)
        return _render_import(request, organization, form, status=400)
    messages.success(request, f"Imported {result.filename}: {result.summary}.")
    return redirect("claims:deposit_list")


def _render_import(
    request: HttpRequest,
    organization: Organization,
    form: DepositImportForm,
    *,
    rejected: CsvRejected | None = None,
    filename: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "claims/deposit_import.html",
        {
            "organization": organization,
            "form": form,
            "rejected": rejected,
            "filename": filename,
            "columns": deposit_file.COLUMNS,
            "required": deposit_file.REQUIRED_COLUMNS,
        },
        status=400 if rejected is not None else status,
    )


@login_required
@require_safe
def deposit_import_template(request: HttpRequest) -> HttpResponse:
    active_organization(request, can_reconcile_deposits)
    response = HttpResponse(deposit_file.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="deposits-template.csv"'
    return response


def _render_deposit(
    request: HttpRequest,
    organization: Organization,
    deposit: Deposit,
    *,
    match_form: DepositMatchForm | None = None,
    unmatch_form: DepositUnmatchForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_reconcile = can_reconcile_deposits(request.user, deposit)
    trace = request.GET.get("trace", "")[:50]
    context: dict[str, Any] = {
        "organization": organization,
        "deposit": deposit,
        "payment": deposit.payment,
        "difference": deposit.amount - deposit.payment.total_paid if deposit.payment_id else None,
        "timeline": timeline_for(deposit).order_by("-occurred_at", "-id")[:TIMELINE_LENGTH],
        "can_reconcile": can_reconcile,
        "trace": trace,
    }
    if can_reconcile and deposit.payment_id is None:
        context["candidates"] = match_candidates(deposit, trace=trace)
        context["match_form"] = match_form or DepositMatchForm(auto_id="match_%s")
    if can_reconcile and deposit.payment_id is not None:
        context["unmatch_form"] = unmatch_form or DepositUnmatchForm(auto_id="unmatch_%s")
    return render(request, "claims/deposit_detail.html", context, status=status)


@login_required
@require_safe
def deposit_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request)
    return _render_deposit(request, organization, _deposit_in(request, organization, reference))


@login_required
@require_POST
def deposit_match(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request, can_reconcile_deposits)
    deposit = _deposit_in(request, organization, reference)
    form = DepositMatchForm(request.POST, auto_id="match_%s")
    if form.is_valid():
        payment = (
            RemittancePayment.objects.visible_to(request.user)
            .in_organization(organization)
            .filter(reference=form.cleaned_data["payment"])
            .first()
        )
        if payment is None:
            form.add_error("payment", "No such remittance in this organization.")
        elif run(
            form,
            deposit_services.deposit_match,
            deposit=deposit,
            payment=payment,
            by=request.user,
            reason=form.cleaned_data["reason"],
        ):
            messages.success(
                request,
                f"Deposit {deposit.trace_number} matched to the remittance "
                f"{payment.trace_number or '(no trace)'} of {format_money(payment.total_paid)}.",
            )
            return redirect("claims:deposit_detail", deposit.reference)
    messages.error(request, f"Deposit not matched. {error_summary(form)}")
    return _render_deposit(
        request, organization, _deposit_in(request, organization, reference), match_form=form, status=400
    )


@login_required
@require_POST
def deposit_unmatch(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request, can_reconcile_deposits)
    deposit = _deposit_in(request, organization, reference)
    form = DepositUnmatchForm(request.POST, auto_id="unmatch_%s")
    if form.is_valid() and run(
        form,
        deposit_services.deposit_unmatch,
        deposit=deposit,
        by=request.user,
        reason=form.cleaned_data["reason"],
    ):
        messages.success(
            request, f"Deposit {deposit.trace_number} unmatched; both it and the remittance are open again."
        )
        return redirect("claims:deposit_detail", deposit.reference)
    messages.error(request, f"Deposit not unmatched. {error_summary(form)}")
    return _render_deposit(
        request, organization, _deposit_in(request, organization, reference), unmatch_form=form, status=400
    )


@login_required
@require_POST
def deposit_match_pending(request: HttpRequest) -> HttpResponse:
    """Match every open deposit an open remittance explains (the 835 import does this too)."""
    organization = active_organization(request, can_reconcile_deposits)
    matched = deposit_services.deposit_match_pending(organization=organization, by=request.user)
    if matched:
        messages.success(
            request, f"{matched} deposit{'s' if matched != 1 else ''} matched by trace number and amount."
        )
    else:
        messages.info(request, "No open deposit has a remittance of the same trace number and amount yet.")
    return redirect("claims:deposit_list")


# --- daily reconciliation ----------------------------------------------------------------------------


def _report_for(
    request: HttpRequest, organization: Organization
) -> tuple[ReconciliationFilterForm, ReconciliationReport | None]:
    """The report the query string asks for; the last seven days of every payer by default."""
    start, end = default_range(_today(organization))
    data = request.GET.copy()
    data.setdefault("start", start.isoformat())
    data.setdefault("end", end.isoformat())
    form = ReconciliationFilterForm(data, organization=organization)
    if not form.is_valid():
        return form, None
    cleaned = form.cleaned_data
    report = daily_reconciliation(
        organization, start=cleaned["start"], end=cleaned["end"], payer=cleaned["payer"]
    )
    return form, report


@login_required
@require_safe
def reconciliation(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    form, report = _report_for(request, organization)
    return render(
        request,
        "claims/reconciliation.html",
        {
            "organization": organization,
            "form": form,
            "report": report,
            "query": request.GET.urlencode(),
            "can_reconcile": can_reconcile_deposits(request.user, organization),
        },
        status=200 if report is not None else 400,
    )


REPORT_COLUMNS = [
    "date",
    "payer",
    "deposits_count",
    "deposits_total",
    "remittances_count",
    "remittances_total",
    "posted_total",
    "unmatched_deposits_count",
    "unmatched_deposits_total",
    "unmatched_remittances_count",
    "unmatched_remittances_total",
    "difference",
    "bank_difference",
]


def report_values(row: Any) -> list[Any]:
    """One report row as the export's cells (amounts as plain decimals, for spreadsheets)."""
    return [
        row.day.isoformat() if row.day else "total",
        row.payer_name if row.day else "",
        row.deposits_count,
        f"{row.deposits_total:.2f}",
        row.remittances_count,
        f"{row.remittances_total:.2f}",
        f"{row.posted_total:.2f}",
        row.unmatched_deposits_count,
        f"{row.unmatched_deposits_total:.2f}",
        row.unmatched_remittances_count,
        f"{row.unmatched_remittances_total:.2f}",
        f"{row.difference:.2f}",
        f"{row.bank_difference:.2f}",
    ]


@login_required
@require_safe
def reconciliation_export(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    form, report = _report_for(request, organization)
    if report is None:
        messages.error(request, f"Report not exported. {error_summary(form)}")
        return redirect("claims:reconciliation")

    def rows() -> Iterator[list[Any]]:
        yield REPORT_COLUMNS
        for row in report.rows:
            yield report_values(row)
        yield report_values(report.totals)

    return _csv_response(
        rows(), f"reconciliation-{organization.slug}-{report.start:%Y%m%d}-{report.end:%Y%m%d}.csv"
    )


@login_required
@require_safe
def reconciliation_day_view(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    form = ReconciliationDayForm(request.GET)
    if not form.is_valid():
        raise Http404("No such day")
    payer_key = form.cleaned_data["payer"]
    payer = None
    if payer_key != UNIDENTIFIED:
        try:
            payer_reference = UUID(payer_key)
        except ValueError:
            raise Http404("No such payer") from None
        payer = get_object_or_404(
            Payer.objects.visible_to(request.user).in_organization(organization), reference=payer_reference
        )
    day = form.cleaned_data["day"]
    detail = reconciliation_day(organization, day=day, payer=payer)
    start, _ = default_range(day)
    return render(
        request,
        "claims/reconciliation_day.html",
        {
            "organization": organization,
            "detail": detail,
            "back": f"{reverse('claims:reconciliation')}?start={start:%Y-%m-%d}&end={day:%Y-%m-%d}",
            "can_reconcile": can_reconcile_deposits(request.user, organization),
        },
    )


# --- insurance audits ----------------------------------------------------------------------------


def _audit_in(request: HttpRequest, organization: Organization, reference: UUID) -> InsuranceAudit:
    return get_object_or_404(
        InsuranceAudit.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("organization", "payer", "owner"),
        reference=reference,
    )


@login_required
@require_safe
def audit_list(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    audits = (
        InsuranceAudit.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("payer", "owner")
        .annotate(
            claim_count=Count("claims", distinct=True), document_count=Count("documents", distinct=True)
        )
    )
    # Open audits are few (a payer audits a handful of times a year) and are all shown, due first;
    # closed ones accumulate and are paged.
    open_audits = list(audits.exclude(status=InsuranceAudit.Status.CLOSED).order_by("due_date", "id"))
    closed = keyset_page(audits.filter(status=InsuranceAudit.Status.CLOSED), before_param(request))
    return render(
        request,
        "claims/audit_list.html",
        {
            "organization": organization,
            "open_audits": open_audits,
            "overdue_count": sum(1 for a in open_audits if a.is_overdue),
            "page": closed,
            "query": query_without_before(request),
            "can_manage": can_manage_audits(request.user, organization),
        },
    )


@login_required
@FORM_METHODS
def audit_create(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request, can_manage_audits)
    form = AuditOpenForm(
        request.POST or None, organization=organization, initial={"requested_on": _today(organization)}
    )
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            numbers = split_numbers(data.pop("claim_numbers"))
            claims, missing = claims_by_number(organization, data["payer"], numbers)
            if missing:
                form.add_error(
                    "claim_numbers",
                    f"No claim of {data['payer'].name} has the number {', '.join(missing[:10])}"
                    + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
                    + ".",
                )
            else:
                audit = run(
                    form,
                    audit_services.audit_open,
                    organization=organization,
                    by=request.user,
                    claims=claims,
                    **data,
                )
                if audit is not None:
                    messages.success(
                        request,
                        f"{audit.get_kind_display()} by {audit.payer.name} opened; the response is due "
                        f"{audit.due_date:%m/%d/%Y}.",
                    )
                    return redirect("claims:audit_detail", audit.reference)
        messages.error(request, f"Audit not opened. {error_summary(form)}")
    return render(
        request,
        "claims/audit_form.html",
        {"organization": organization, "form": form},
        status=400 if form.is_bound else 200,
    )


def _render_audit(
    request: HttpRequest,
    organization: Organization,
    audit: InsuranceAudit,
    *,
    status: int = 200,
    **forms_given: forms.Form,
) -> HttpResponse:
    phi_access_record(request=request, subject=audit, organization=organization)
    can_manage = can_manage_audits(request.user, audit)
    is_open = audit.status != InsuranceAudit.Status.CLOSED
    next_statuses = [
        InsuranceAudit.Status(s)
        for s in InsuranceAudit.Status.values
        if audit.can_transition_to(s) and s != InsuranceAudit.Status.FINDINGS
    ]
    findings_allowed = audit.status == InsuranceAudit.Status.FINDINGS or audit.can_transition_to(
        InsuranceAudit.Status.FINDINGS
    )
    context: dict[str, Any] = {
        "organization": organization,
        "audit": audit,
        "claims": audit.claims.order_by("service_from", "id"),
        "documents": AuditDocument.objects.filter(audit=audit).defer("content").select_related("uploaded_by"),
        "timeline": timeline_for(audit).order_by("-occurred_at", "-id")[:TIMELINE_LENGTH],
        "history": history_rows(audit, limit=50),
        "business_days_left": None,
        "business_days_late": 0,
        "can_manage": can_manage and is_open,
        "next_statuses": next_statuses,
        "findings_allowed": findings_allowed,
    }
    if audit.status in (InsuranceAudit.Status.REQUESTED, InsuranceAudit.Status.GATHERING):
        # The clock runs until the records are sent.
        left = calendar_for(organization).business_days_between(_today(organization), audit.due_date)
        context["business_days_left"] = max(left, 0)
        context["business_days_late"] = max(-left, 0)
    if can_manage and is_open:
        context.update(
            {
                "status_form": forms_given.get("status_form") or AuditStatusForm(auto_id="status_%s"),
                "findings_form": forms_given.get("findings_form")
                or AuditFindingsForm(
                    auto_id="findings_%s",
                    initial={
                        "findings": audit.findings,
                        "recoupment_amount": f"{audit.recoupment_amount:.2f}",
                    },
                ),
                "claims_form": forms_given.get("claims_form") or AuditClaimsForm(auto_id="claims_%s"),
                "document_form": forms_given.get("document_form") or AuditDocumentForm(auto_id="document_%s"),
            }
        )
    return render(request, "claims/audit_detail.html", context, status=status)


@login_required
@require_safe
def audit_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = active_organization(request)
    return _render_audit(request, organization, _audit_in(request, organization, reference))


def _audit_action(
    request: HttpRequest,
    reference: UUID,
    form_class: type[forms.Form],
    form_name: str,
    act: Callable[[InsuranceAudit, forms.Form], str | None],
    failure: str,
) -> HttpResponse:
    """The shape of every audit action: check the role, load, validate, call one service, PRG."""
    organization = active_organization(request, can_manage_audits)
    audit = _audit_in(request, organization, reference)
    form = form_class(request.POST, request.FILES, auto_id=f"{form_name.removesuffix('_form')}_%s")
    if form.is_valid():
        message = act(audit, form)
        if message is not None:
            messages.success(request, message)
            return redirect("claims:audit_detail", audit.reference)
    messages.error(request, f"{failure} {error_summary(form)}")
    return _render_audit(
        request, organization, _audit_in(request, organization, reference), status=400, **{form_name: form}
    )


@login_required
@require_POST
def audit_status(request: HttpRequest, reference: UUID) -> HttpResponse:
    def act(audit: InsuranceAudit, form: forms.Form) -> str | None:
        data = form.cleaned_data
        changed = run(
            form,
            audit_services.audit_change_status,
            audit=audit,
            status=data["status"],
            by=request.user,
            reason=data["reason"],
        )
        return f"The audit is now “{changed.get_status_display()}”." if changed else None

    return _audit_action(request, reference, AuditStatusForm, "status_form", act, "Status not changed.")


@login_required
@require_POST
def audit_findings(request: HttpRequest, reference: UUID) -> HttpResponse:
    def act(audit: InsuranceAudit, form: forms.Form) -> str | None:
        data = form.cleaned_data
        changed = run(
            form,
            audit_services.audit_record_findings,
            audit=audit,
            findings=data["findings"],
            recoupment_amount=data["recoupment_amount"],
            by=request.user,
        )
        return (
            f"Findings recorded; recoupment {format_money(changed.recoupment_amount)}." if changed else None
        )

    return _audit_action(
        request, reference, AuditFindingsForm, "findings_form", act, "Findings not recorded."
    )


@login_required
@require_POST
def audit_add_claims(request: HttpRequest, reference: UUID) -> HttpResponse:
    def act(audit: InsuranceAudit, form: forms.Form) -> str | None:
        numbers = split_numbers(form.cleaned_data["claim_numbers"])
        claims, missing = claims_by_number(audit.organization, audit.payer, numbers)
        if missing:
            form.add_error(
                "claim_numbers", f"No claim of {audit.payer.name} has the number {', '.join(missing[:10])}."
            )
            return None
        before = audit.claims.count()
        changed = run(form, audit_services.audit_add_claims, audit=audit, claims=claims, by=request.user)
        if changed is None:
            return None
        added = changed.claims.count() - before
        return (
            f"{added} claim{'s' if added != 1 else ''} added to the audit."
            if added
            else "Those claims were already on the audit."
        )

    return _audit_action(request, reference, AuditClaimsForm, "claims_form", act, "Claims not added.")


@login_required
@require_POST
def audit_document_upload(request: HttpRequest, reference: UUID) -> HttpResponse:
    def act(audit: InsuranceAudit, form: forms.Form) -> str | None:
        document = run(
            form,
            audit_services.audit_attach_document,
            audit=audit,
            title=form.cleaned_data["title"],
            uploaded_file=form.cleaned_data["file"],
            by=request.user,
        )
        return f"{document.filename} attached as “{document.title}”." if document else None

    return _audit_action(
        request, reference, AuditDocumentForm, "document_form", act, "Document not attached."
    )


@login_required
@require_safe
def audit_document_download(request: HttpRequest, reference: UUID, document_reference: UUID) -> HttpResponse:
    organization = active_organization(request)
    audit = _audit_in(request, organization, reference)
    document = get_object_or_404(AuditDocument, audit=audit, reference=document_reference)
    phi_access_record(
        request=request, subject=audit, organization=organization, action=PhiAccessLog.Action.DOWNLOAD
    )
    response = HttpResponse(bytes(document.content), content_type=document.content_type)
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- code texts ------------------------------------------------------------------------------------


def _render_codes(
    request: HttpRequest,
    organization: Organization,
    upload_form: CodeUploadForm,
    *,
    rejected: CsvRejected | None = None,
    filename: str = "",
) -> HttpResponse:
    filter_form = CodeFilterForm(request.GET or None)
    codes = CodeDescription.objects.in_organization(organization).order_by("code_set", "code")
    if filter_form.is_valid():
        if filter_form.cleaned_data["code_set"]:
            codes = codes.filter(code_set=filter_form.cleaned_data["code_set"])
        term = filter_form.cleaned_data["q"].strip()
        if term:
            codes = codes.filter(Q(code__iexact=term) | Q(description__icontains=term))
    # An organization holds at most a few thousand texts (both lists together), so page numbers
    # and their count are cheap here.
    page = Paginator(codes, CODES_PER_PAGE).get_page(request.GET.get("page"))
    counts = dict(
        CodeDescription.objects.in_organization(organization)
        .values_list("code_set")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return render(
        request,
        "claims/codes_list.html",
        {
            "organization": organization,
            "filter_form": filter_form,
            "page": page,
            "counts": {label: counts.get(value, 0) for value, label in CodeDescription.CodeSet.choices},
            "today": _today(organization),
            "upload_form": upload_form,
            "rejected": rejected,
            "filename": filename,
        },
        status=400 if upload_form.is_bound or rejected is not None else 200,
    )


@login_required
@require_safe
def code_list(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request, can_load_code_descriptions)
    return _render_codes(request, organization, CodeUploadForm())


@login_required
@require_POST
def code_upload(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request, can_load_code_descriptions)
    form = CodeUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, f"Codes not loaded. {error_summary(form)}")
        return _render_codes(request, organization, form)
    upload, code_set = form.cleaned_data["file"], form.cleaned_data["code_set"]
    try:
        result = code_services.code_descriptions_load(
            organization=organization,
            code_set=code_set,
            data=upload.read(),
            by=request.user,
            filename=upload.name,
        )
    except CsvRejected as exc:
        messages.error(
            request,
            f"{upload.name} was not loaded: {exc.total} problem{'s' if exc.total != 1 else ''} found; "
            "nothing was loaded.",
        )
        again = CodeUploadForm(initial={"code_set": code_set})
        return _render_codes(request, organization, again, rejected=exc, filename=upload.name)
    except REFUSALS as exc:
        add_refusal(form, exc)
        messages.error(request, f"Codes not loaded. {error_summary(form)}")
        return _render_codes(request, organization, form)
    messages.success(request, f"{code_set.upper()} texts loaded from {upload.name}: {result.summary}.")
    return redirect(f"{reverse('claims:code_list')}?code_set={code_set}")
