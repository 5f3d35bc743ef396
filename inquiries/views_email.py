"""Email on cases: the mail provider's inbound webhook, and writing to the caller from a case.

The webhook is authenticated by an HMAC-SHA256 signature of ``<timestamp>.<raw body>``
with ``settings.INQUIRIES_EMAIL_WEBHOOK_SECRET``, sent as ``X-Inquiries-Signature:
sha256=<hex>`` with the Unix time in ``X-Inquiries-Timestamp``; a signature older than
five minutes is refused, so a captured request cannot be replayed later. The body is the
raw RFC 5322 message. Answers never contain patient data: only the case number.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.audit import audit_context, system_user
from inquiries import forms
from inquiries.services import email as services
from inquiries.views_cases import _case_action
from staff.models import Organization

SIGNATURE_HEADER = "X-Inquiries-Signature"
TIMESTAMP_HEADER = "X-Inquiries-Timestamp"
MAX_SKEW_SECONDS = 300


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: what a mail provider puts in ``X-Inquiries-Signature``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _refuse(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def email_inbound(request: HttpRequest, slug: str) -> HttpResponse:
    secret = getattr(settings, "INQUIRIES_EMAIL_WEBHOOK_SECRET", "") or ""
    if not secret:
        return _refuse(503, "The email webhook is not configured.")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        return _refuse(403, "Missing or stale timestamp.")
    try:
        body = request.body
    except RequestDataTooBig:
        return _refuse(413, "The message is too large.")
    expected = signature_for(secret, timestamp, body)
    if not hmac.compare_digest(expected, request.headers.get(SIGNATURE_HEADER, "")):
        return _refuse(403, "Bad signature.")
    organization = Organization.objects.filter(slug=slug, is_active=True).first()
    if organization is None:
        return _refuse(404, "No such organization.")
    if not body.strip():
        return _refuse(400, "The body must be the raw email message.")
    with audit_context(actor=system_user(), reason="email webhook"):
        result = services.email_receive(organization=organization, raw=body, by=system_user())
    if result.duplicate:
        return JsonResponse({"duplicate": True}, status=200)
    return JsonResponse(
        {"case": result.case.number, "created": result.created, "reopened": result.reopened}, status=202
    )


@login_required
@require_POST
def case_email(request: HttpRequest, reference: UUID) -> HttpResponse:
    def run(case, form) -> str:
        data = form.cleaned_data
        sent = services.case_email_send(
            case=case, to=data["to"], subject=data["subject"], body=data["body"], by=request.user
        )
        return f"Email to {sent.to_address} logged and on its way."

    def kwargs(case) -> dict:
        return {"recipients": sorted(services.allowed_recipients(case))}

    return _case_action(
        request, reference, name="email", form_class=forms.CaseEmailForm, run=run, form_kwargs=kwargs
    )
