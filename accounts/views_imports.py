"""The CSV import page: pick a kind and a file, read the column reference, download templates.

Imports go into the ACTIVE organization (``request.organization``) and need
``can_import_accounts``; everyone else gets 403. A clean file is imported and the page
redirects to itself with the report (PRG). A rejected file is shown at once with every
problem (line, column, message): nothing was written, so there is nothing to redirect to,
and the form keeps the chosen kind for the corrected file.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from accounts.imports import KINDS, MAX_FILE_BYTES, ImportRejected, csv_import, template_csv
from accounts.permissions import can_import_accounts
from core.csvimport import CsvRejected
from core.errors import DomainError
from staff.models import Organization
from staff.permissions import require

# The last successful report, kept in the session between the POST and the redirected GET.
SESSION_REPORT = "accounts_import_report"


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(kind.name, kind.label) for kind in KINDS.values()], label="What the file holds"
    )
    file = forms.FileField(
        label="CSV file", help_text="UTF-8, comma-separated, with the column names on the first line."
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it into smaller files."
            )
        return upload


def _organization(request: HttpRequest) -> Organization:
    organization = request.organization  # type: ignore[attr-defined]
    require(organization is not None and can_import_accounts(request.user, organization))
    return organization


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    if request.method != "POST":
        # Shown once: a HEAD request (a link checker) does not use it up.
        report = request.session.pop(SESSION_REPORT, None) if request.method == "GET" else None
        return _render(request, organization, ImportUploadForm(), report=report)
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, organization, form)
    upload, kind = form.cleaned_data["file"], form.cleaned_data["kind"]
    # After a refusal the form starts afresh with the same kind: a browser never keeps the file.
    again = ImportUploadForm(initial={"kind": kind})
    try:
        report = csv_import(
            organization=organization, kind=kind, content=upload.read(), filename=upload.name, by=request.user
        )
    except CsvRejected as exc:
        messages.error(request, f"{upload.name} was not imported: {exc.message}.")
        return _render(request, organization, again, rejected=exc)
    except DomainError as exc:
        messages.error(request, f"{upload.name} was not imported. {exc.message}")
        return _render(request, organization, again)
    request.session[SESSION_REPORT] = report.as_dict()
    messages.success(
        request, f"{KINDS[report.kind].label} imported from {report.filename}: {report.summary()}."
    )
    return redirect("accounts:import_upload")


def _render(
    request: HttpRequest,
    organization: Organization,
    form: ImportUploadForm,
    *,
    report: dict | None = None,
    rejected: CsvRejected | None = None,
) -> HttpResponse:
    context = {
        "organization": organization,
        "form": form,
        "kinds": list(KINDS.values()),
        "report": report,
        "rejected": rejected,
        "rejected_report": rejected.report if isinstance(rejected, ImportRejected) else None,
    }
    return render(request, "accounts/imports/upload.html", context)


@login_required
@require_safe
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    _organization(request)
    if kind not in KINDS:
        raise Http404("No such import kind.")
    response = HttpResponse(template_csv(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    return response
