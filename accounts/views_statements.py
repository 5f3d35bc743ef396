"""Statements from the account page: make one (POST, then back to the account) and open a stored PDF.

Accounts are loaded through ``accounts.views.get_account_for_user`` (active
organization only; anything else is a 404). Opening a document shows patient data, so
it writes the PHI access log against the account, as the account page does.
"""

from __future__ import annotations

from uuid import UUID

from csp.decorators import csp_exempt
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST, require_safe

from accounts import statements
from accounts.models import PatientAccount
from accounts.permissions import can_view_account
from accounts.views import get_account_for_user
from core.errors import DomainError
from correspondence.models import Document
from staff.models import PhiAccessLog
from staff.permissions import require
from staff.phi import phi_access_record


class StatementForm(forms.Form):
    kind = forms.ChoiceField(choices=[(kind.value, kind.label) for kind in statements.STATEMENT_KINDS])
    email_to = forms.EmailField(required=False)


@login_required
@require_POST
def statement_generate(request: HttpRequest, reference: UUID) -> HttpResponse:
    """Make a patient or itemized statement of the account; optionally email it."""
    account = get_account_for_user(request, reference)
    back = redirect(reverse("accounts:account_detail", args=[account.reference]))
    form = StatementForm(request.POST)
    if not form.is_valid():
        problems = " ".join(f"{form[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())
        messages.error(request, f"Statement not made. {problems}")
        return back
    try:
        document = statements.statement_generate(
            account=account,
            kind=form.cleaned_data["kind"],
            email_to=form.cleaned_data["email_to"],
            by=request.user,
        )
    except (DomainError, PermissionDenied) as exc:
        messages.error(request, f"Statement not made. {getattr(exc, 'message', None) or exc}")
        return back
    link = reverse("accounts:document_download", args=[document.reference])
    pages = f"{document.page_count} page{'s' if document.page_count != 1 else ''}"
    if not document.email_to:
        messages.success(
            request,
            format_html(
                '{} made ({}). <a href="{}" target="_blank">Open the PDF to print it</a>.',
                document.title,
                pages,
                link,
            ),
        )
    elif document.sent_at is not None:
        messages.success(
            request,
            format_html(
                '{} made ({}) and emailed. <a href="{}" target="_blank">Open the PDF</a>.',
                document.title,
                pages,
                link,
            ),
        )
    else:
        messages.warning(
            request,
            format_html(
                "{} made ({}) but the email could not be sent; the timeline says why. "
                '<a href="{}" target="_blank">Open the PDF</a> to print it instead.',
                document.title,
                pages,
                link,
            ),
        )
    return back


@csp_exempt()  # a browser's PDF viewer is a plugin, which the site's object-src 'none' would block
@login_required
@require_safe
def document_download(request: HttpRequest, reference: UUID) -> HttpResponse:
    """The stored PDF of one of the account's documents, inline (``?download=1``: as a file)."""
    organization = getattr(request, "organization", None)
    if organization is None:
        raise Http404("No active organization")
    document = get_object_or_404(
        Document.objects.visible_to(request.user)
        .in_organization(organization)
        .of_subject_model(PatientAccount),
        reference=reference,
    )
    account = PatientAccount.objects.filter(pk=document.subject_id).select_related("organization").first()
    if account is None:
        raise Http404("No such document")
    require(can_view_account(request.user, account))
    download = request.GET.get("download") == "1"
    phi_access_record(
        request=request,
        subject=account,
        organization=account.organization,
        action=PhiAccessLog.Action.DOWNLOAD if download else PhiAccessLog.Action.VIEW,
    )
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{document.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
