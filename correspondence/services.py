"""Every change to letter templates, the letterhead and stored documents goes through here.

Template and letterhead changes run in their own transaction, take the organization's
row lock (so two admins never both make a template the default), check the actor's
role again, validate the source against the sample context, and record row history
and a timeline event on the organization.

Documents are written by the apps that know their subject (``accounts.statements``)
inside those apps' transactions; sending one by email happens after that transaction
commits, never inside it.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.utils import timezone

from core.audit import mark_change
from core.errors import Conflict, InvalidInput, NotPermitted, invalid_from_validation
from core.timeline import event_record
from correspondence import rendering
from correspondence.defaults import DEFAULTS
from correspondence.models import PRINTED_KINDS, Document, DocumentKind, Letterhead, LetterTemplate
from correspondence.permissions import can_manage_templates
from correspondence.samples import sample_context
from staff.models import Organization

logger = logging.getLogger(__name__)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotPermitted(message)


def _validate(obj: models.Model, **kwargs: Any) -> None:
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        raise invalid_from_validation(exc) from None


def _lock_organization(organization: Organization) -> Organization:
    # FOR NO KEY UPDATE serialises template and letterhead changes of one organization
    # (who is the default is decided under it) without blocking inserts that merely
    # reference the organization.
    return Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason: say why the template changes (it is kept in its history)", field="reason")
    return reason


def _newlines(text: str) -> str:
    # Browsers send a textarea's lines with CRLF; stored source uses LF, so an unchanged
    # template saved from the page is not recorded as changed.
    return text.replace("\r\n", "\n")


def preview_context(organization: Organization, kind: str) -> dict[str, Any]:
    """The sample context with the organization's own letterhead: what previews and checks render."""
    return sample_context(organization=Letterhead.of(organization).as_context(), kind_label=_kind_label(kind))


def _kind_label(kind: str) -> str:
    return DocumentKind(kind).label if kind in DocumentKind.values else ""


def _check_source(organization: Organization, kind: str, subject: str, body: str) -> None:
    if not subject.strip():
        raise InvalidInput("subject: enter a subject line or title", field="subject")
    if not body.strip():
        raise InvalidInput("body: the template is empty", field="body")
    rendering.check_source(
        subject=subject, body=body, printed=kind in PRINTED_KINDS, sample=preview_context(organization, kind)
    )


def _take_default(template: LetterTemplate, by: Any) -> None:
    """Make ``template`` its kind's default, taking the mark off the current one (organization locked)."""
    current = (
        LetterTemplate.objects.select_for_update()
        .filter(organization_id=template.organization_id, kind=template.kind, is_default=True)
        .exclude(pk=template.pk)
        .first()
    )
    if current is not None:
        current.is_default = False
        mark_change(current, by=by, reason=f"{template.name} became the default")
        current.save(update_fields=["is_default", "updated_at"])
    template.is_default = True


@transaction.atomic(durable=True)
def template_create(
    *,
    organization: Organization,
    kind: str,
    name: str,
    subject: str,
    body: str,
    by: Any,
    is_active: bool = True,
    is_default: bool = False,
) -> LetterTemplate:
    """Add a template. The first active template of a kind becomes that kind's default."""
    organization = _lock_organization(organization)
    _require(can_manage_templates(by, organization), "Only an admin of this organization may add templates.")
    if kind not in DocumentKind.values:
        raise InvalidInput(f"kind: {kind!r} is not a template kind", field="kind")
    name = name.strip()
    if not name:
        raise InvalidInput("name: give the template a name", field="name")
    if is_default and not is_active:
        raise InvalidInput("is_default: an inactive template cannot be the default", field="is_default")
    _check_source(organization, kind, subject, body)
    template = LetterTemplate(
        organization=organization,
        kind=kind,
        name=name,
        subject=subject.strip(),
        body=_newlines(body),
        is_active=is_active,
    )
    _validate(template, validate_unique=False, validate_constraints=False)
    if LetterTemplate.objects.filter(organization=organization, name__iexact=name).exists():
        raise Conflict(f"name: a template named {name!r} already exists", field="name")
    if is_default or (is_active and LetterTemplate.objects.default_for(organization, kind) is None):
        _take_default(template, by)
    mark_change(template, by=by, reason="template created")
    template.save()
    event_record(
        organization=organization,
        subject=organization,
        kind="correspondence.template.created",
        summary=f"Letter template {template.name} created ({template.get_kind_display()})",
        by=by,
        data={"template": str(template.reference), "kind": kind, "is_default": template.is_default},
    )
    return template


@transaction.atomic(durable=True)
def template_update(
    *,
    template: LetterTemplate,
    by: Any,
    reason: str,
    name: str | None = None,
    subject: str | None = None,
    body: str | None = None,
    is_active: bool | None = None,
    is_default: bool | None = None,
) -> LetterTemplate:
    """Change a template; a value left as None stays. The kind of a template never changes.

    A kind always keeps its default once it has one: the default cannot be switched off
    or deactivated, only replaced by making another template of the kind the default.
    """
    organization = _lock_organization(template.organization)
    template = LetterTemplate.objects.select_for_update().get(pk=template.pk)
    _require(
        can_manage_templates(by, organization), "Only an admin of this organization may change templates."
    )
    reason = _reason(reason)
    changes = {
        "name": name.strip() if name is not None else None,
        "subject": subject.strip() if subject is not None else None,
        "body": _newlines(body) if body is not None else None,
        "is_active": is_active,
    }
    diff = [
        field for field, value in changes.items() if value is not None and getattr(template, field) != value
    ]
    for field in diff:
        setattr(template, field, changes[field])
    if is_default is False and template.is_default:
        raise InvalidInput(
            f"is_default: every kind needs a default; make another {template.get_kind_display().lower()} "
            "template the default instead",
            field="is_default",
        )
    if not template.is_active and (template.is_default or is_default):
        raise InvalidInput(
            "is_active: the default template of a kind cannot be inactive; make another the default first",
            field="is_active",
        )
    if "name" in diff:
        if not template.name:
            raise InvalidInput("name: give the template a name", field="name")
        clash = LetterTemplate.objects.filter(organization=organization, name__iexact=template.name)
        if clash.exclude(pk=template.pk).exists():
            raise Conflict(f"name: a template named {template.name!r} already exists", field="name")
    if {"subject", "body"} & set(diff):
        _check_source(organization, template.kind, template.subject, template.body)
    if is_default and not template.is_default:
        _take_default(template, by)
        diff.append("is_default")
    if not diff:
        return template
    _validate(template, validate_unique=False, validate_constraints=False)
    mark_change(template, by=by, reason=reason)
    template.save(update_fields=[*diff, "updated_at"])
    event_record(
        organization=organization,
        subject=organization,
        kind="correspondence.template.updated",
        summary=f"Letter template {template.name} changed: {', '.join(diff)}",
        by=by,
        # Field names only: the body is long and its history row holds it.
        data={"template": str(template.reference), "fields": diff, "reason": reason},
    )
    return template


@transaction.atomic(durable=True)
def templates_ensure_defaults(*, organization: Organization, by: Any) -> list[LetterTemplate]:
    """Give the organization the standard template of every kind it has no default for.

    Idempotent, and open to anyone who works in the organization: it only copies the
    fixed standard templates (``correspondence/defaults/``), so the first person to need
    a statement gets one without waiting for an admin.
    """
    organization = _lock_organization(organization)
    have = set(
        LetterTemplate.objects.filter(organization=organization, is_default=True).values_list(
            "kind", flat=True
        )
    )
    taken = {
        n.lower()
        for n in LetterTemplate.objects.filter(organization=organization).values_list("name", flat=True)
    }
    created = []
    for default in DEFAULTS:
        if default.kind in have:
            continue
        name, number = default.name, 1
        while name.lower() in taken:
            number += 1
            name = f"{default.name} {number}"
        template = LetterTemplate(
            organization=organization,
            kind=default.kind,
            name=name,
            subject=default.subject,
            body=default.body,
            is_active=True,
            is_default=True,
        )
        mark_change(template, by=by, reason="standard template")
        template.save()
        taken.add(name.lower())
        created.append(template)
        event_record(
            organization=organization,
            subject=organization,
            kind="correspondence.template.created",
            summary=f"Standard letter template {template.name} added",
            by=by,
            data={"template": str(template.reference), "kind": template.kind, "is_default": True},
        )
    return created


def template_default(*, organization: Organization, kind: str, by: Any) -> LetterTemplate:
    """The organization's default template of ``kind``; the standard ones are added on first use.

    Must run outside a transaction (it may call ``templates_ensure_defaults``).
    """
    template = LetterTemplate.objects.default_for(organization, kind)
    if template is None:
        templates_ensure_defaults(organization=organization, by=by)
        template = LetterTemplate.objects.default_for(organization, kind)
    if template is None:  # only if an admin deactivated every template meanwhile
        raise InvalidInput(f"kind: there is no active {_kind_label(kind).lower()} template", field="kind")
    return template


LETTERHEAD_FIELDS = frozenset(
    {
        "return_address",
        "billing_phone",
        "billing_hours",
        "payable_to",
        "payment_address",
        "payment_portal_url",
        "assistance_phone",
        "assistance_url",
        "statement_due_days",
    }
)


@transaction.atomic(durable=True)
def letterhead_update(
    *, organization: Organization, changes: dict[str, Any], reason: str, by: Any
) -> Letterhead:
    """Change the return address, payment and assistance details every letter prints."""
    organization = _lock_organization(organization)
    _require(
        can_manage_templates(by, organization),
        "Only an admin of this organization may change the letterhead.",
    )
    unknown = set(changes) - LETTERHEAD_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"{field}: not a letterhead field", field=field)
    reason = _reason(reason)
    letterhead = Letterhead.objects.select_for_update().filter(organization=organization).first()
    created = letterhead is None
    if letterhead is None:
        letterhead = Letterhead(organization=organization)
    diff = []
    for field, value in changes.items():
        value = value.strip() if isinstance(value, str) else value
        if getattr(letterhead, field) != value:
            setattr(letterhead, field, value)
            diff.append(field)
    if not diff and not created:
        return letterhead
    _validate(letterhead, validate_unique=False)
    mark_change(letterhead, by=by, reason=reason)
    if created:
        letterhead.save()
    else:
        letterhead.save(update_fields=[*diff, "updated_at"])
    event_record(
        organization=organization,
        subject=organization,
        kind="correspondence.letterhead.updated",
        summary=f"Letterhead and payment details changed: {', '.join(sorted(diff)) or 'first saved'}",
        by=by,
        data={"fields": sorted(diff), "reason": reason},
    )
    return letterhead


# --- documents --------------------------------------------------------------------------------


def document_store(
    *,
    organization: Organization,
    subject: models.Model,
    kind: str,
    rendered: rendering.Rendered,
    by: Any,
    template: LetterTemplate | None = None,
    email_to: str = "",
) -> Document:
    """Keep a rendered document, inside the caller's transaction (which holds the subject's lock)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("document_store must run inside the caller's transaction")
    document = Document(
        organization=organization,
        subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
        subject_id=subject.pk,
        template=template,
        kind=kind,
        title=rendered.title or DocumentKind(kind).label,
        html=rendered.html,
        pdf=rendered.pdf,
        sha256=hashlib.sha256(rendered.pdf).hexdigest(),
        byte_size=len(rendered.pdf),
        page_count=rendered.page_count,
        created_by=by,
        delivery=Document.Delivery.EMAIL if email_to else Document.Delivery.PRINT,
        email_to=email_to,
    )
    document.save()
    return document


def document_email_send(*, document: Document, email: rendering.RenderedEmail, by: Any) -> bool:
    """Email ``document`` as a PDF attachment to ``document.email_to``; True when the mail server took it.

    Called after the document's transaction committed (``transaction.on_commit``): a
    mail server is slow and must never hold the account's lock, and a document that was
    rolled back must never have been sent. A failure is recorded on the subject's
    timeline rather than raised: the document stays stored, unsent, for someone to
    print or send again.
    """
    if document.sent_at is not None:
        return True
    message = EmailMessage(subject=email.subject, body=email.body, to=[document.email_to])
    message.attach(document.filename, bytes(document.pdf), "application/pdf")
    try:
        message.send()
    except Exception as exc:  # SMTP refusals, timeouts, DNS: all mean "not sent"
        # The reference only: addresses and names are patient data and stay out of logs.
        logger.warning("document %s could not be emailed: %s", document.reference, type(exc).__name__)
        _email_outcome_record(document=document, by=by, error=type(exc).__name__)
        return False
    _email_outcome_record(document=document, by=by, error="")
    return True


@transaction.atomic(durable=True)
def _email_outcome_record(*, document: Document, by: Any, error: str) -> None:
    label = document.get_kind_display()
    if error:
        event_record(
            organization=document.organization,
            subject=document.subject,
            kind="correspondence.document.email_failed",
            summary=f"{label} could not be emailed ({error})",
            by=by,
            data={"document": str(document.reference), "error": error},
        )
        return
    sent_at = timezone.now()
    # Documents are not history-tracked; this conditional UPDATE is the one change the
    # append-only trigger allows, and it makes a second delivery of the callback a no-op.
    if Document.objects.filter(pk=document.pk, sent_at__isnull=True).update(sent_at=sent_at) != 1:
        return
    document.sent_at = sent_at
    event_record(
        organization=document.organization,
        subject=document.subject,
        kind="correspondence.document.emailed",
        summary=f"{label} emailed",
        by=by,
        data={"document": str(document.reference), "email_to": document.email_to},
    )
