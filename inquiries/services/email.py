"""Email on cases: inbound mail opens or updates a case, replies thread onto it, outbound mail is logged.

A message threads onto a case by the token in its subject (``[Case #K7M2QX]``), else by
``In-Reply-To`` / ``References`` naming a message already filed on a case; otherwise it
opens a new case. The same ``Message-ID`` is never filed twice in an organization, so a
mailbox or webhook may deliver a message again without harm. Inbound mail starts the
reply clock (the first-response service level); an outbound answer stops it.
"""

from __future__ import annotations

import email
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.utils import getaddresses, make_msgid, parseaddr, parsedate_to_datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import strip_tags

from accounts.models import Patient
from core.audit import mark_change
from core.errors import InvalidInput, InvalidTransition
from inquiries import servicelevels
from inquiries.models import Case, CaseEmail, CaseStatus, Category, Direction, Priority
from inquiries.permissions import can_work_cases
from inquiries.services.cases import case_open_locked, interaction_log_locked
from inquiries.services.common import case_event, lock, require, save

logger = logging.getLogger(__name__)

TOKEN = re.compile(r"\[Case #([A-Z0-9]{4,8})\]", re.IGNORECASE)
MAX_BODY = 100_000
MAX_SUBJECT = 300


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    in_reply_to: str
    references: list[str]
    from_name: str
    from_address: str
    to_address: str
    subject: str
    body: str
    sent_at: datetime | None


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def parse_email(raw: bytes) -> ParsedEmail:
    """The parts of an RFC 5322 message a case needs. A message without a ``Message-ID`` gets
    one derived from its bytes, so a second delivery of it is still recognized."""
    message = email.message_from_bytes(raw, policy=policy.default)
    message_id = (_ids(str(message.get("Message-ID", ""))) or [""])[0]
    if not message_id:
        message_id = f"<sha256-{hashlib.sha256(raw).hexdigest()}@inquiries.invalid>"
    name, address = parseaddr(str(message.get("From", "")))
    to = getaddresses([str(message.get("To", ""))])
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if body_part is not None:
        try:
            body = body_part.get_content()
        except (LookupError, UnicodeDecodeError):  # an unknown or lying charset: keep what decodes
            body = body_part.get_payload(decode=True).decode("utf-8", errors="replace")
        if body_part.get_content_type() == "text/html":
            body = strip_tags(body)
    sent_at = None
    if message.get("Date"):
        try:
            sent_at = parsedate_to_datetime(str(message["Date"]))
        except (TypeError, ValueError):
            sent_at = None
        if sent_at is not None and timezone.is_naive(sent_at):
            sent_at = None
    return ParsedEmail(
        message_id=message_id[:255],
        in_reply_to=(_ids(str(message.get("In-Reply-To", ""))) or [""])[0][:255],
        references=_ids(str(message.get("References", ""))),
        from_name=name.strip()[:120],
        from_address=address.strip().lower()[:254],
        to_address=(to[0][1] if to else "")[:254],
        subject=re.sub(r"\s+", " ", str(message.get("Subject", ""))).strip()[:MAX_SUBJECT],
        body=body.strip()[:MAX_BODY],
        sent_at=sent_at,
    )


@dataclass(frozen=True)
class IntakeResult:
    case: Case | None
    created: bool = False
    duplicate: bool = False
    reopened: bool = False


def _thread_case(organization: Any, parsed: ParsedEmail) -> Case | None:
    match = TOKEN.search(parsed.subject)
    if match:
        case = Case.objects.filter(organization=organization, number=match.group(1).upper()).first()
        if case is not None:
            return case
    ids = [i for i in [parsed.in_reply_to, *parsed.references] if i]
    if ids:
        filed = (
            CaseEmail.objects.filter(organization=organization, message_id__in=ids)
            .select_related("case")
            .order_by("-occurred_at")
            .first()
        )
        if filed is not None:
            return filed.case
    return None


def _patient_for(organization: Any, address: str) -> Patient | None:
    """The one patient whose email on file is the sender's; none when no one or several match."""
    if not address:
        return None
    matches = list(Patient.objects.filter(organization=organization, email__iexact=address)[:2])
    return matches[0] if len(matches) == 1 else None


def email_receive(*, organization: Any, raw: bytes, by: Any, now: datetime | None = None) -> IntakeResult:
    """File one inbound message on its case (opening or reopening one when needed). Idempotent."""
    parsed = parse_email(raw)
    if CaseEmail.objects.filter(organization=organization, message_id=parsed.message_id).exists():
        return IntakeResult(case=None, duplicate=True)
    try:
        return _file_inbound(organization=organization, parsed=parsed, by=by, now=now or timezone.now())
    except IntegrityError:
        # Another delivery of the same message won the race between the check and the insert.
        if CaseEmail.objects.filter(organization=organization, message_id=parsed.message_id).exists():
            return IntakeResult(case=None, duplicate=True)
        raise


@transaction.atomic(durable=True)
def _file_inbound(*, organization: Any, parsed: ParsedEmail, by: Any, now: datetime) -> IntakeResult:
    case = _thread_case(organization, parsed)
    previous = None
    created = reopened = False
    if case is not None:
        lock(case)
        if case.status == CaseStatus.CLOSED:
            # A closed case stays closed: the reply starts a new case that points back to it.
            previous, case = case, None
        elif case.status == CaseStatus.RESOLVED:
            old = case.status
            case.status = CaseStatus.IN_PROGRESS
            case.resolved_at = None
            mark_change(case, by=by, reason="reopened by an email reply")
            save(case, update_fields=["status", "resolved_at", "updated_at"])
            case_event(
                case, "case.reopened", "Reopened: the caller replied by email", by, old=old, new=case.status
            )
            reopened = True
    if case is None:
        patient = _patient_for(organization, parsed.from_address)
        description = parsed.body[:4000]
        if previous is not None:
            description = f"Follows closed case #{previous.number}.\n\n{description}"
        case = case_open_locked(
            organization=organization,
            by=by,
            channel="email_inbound",
            category=Category.OTHER,
            caller_type="patient" if patient else "other",
            summary=parsed.subject or "(no subject)",
            description=description,
            priority=Priority.NORMAL,
            patient=patient,
            account=None,
            claim=None,
            provider_name="",
            caller_name=parsed.from_name,
            caller_phone="",
            caller_email=parsed.from_address,
            assigned_to=None,
            now=now,
        )
        created = True
    from_patient = case.patient_id is not None and parsed.from_address == (case.patient.email or "").lower()
    interaction = interaction_log_locked(
        case=case,
        by=by,
        direction="inbound",
        channel="email_inbound",
        relationship="self" if from_patient else "other",
        outcome="email_received",
        person_contacted=parsed.from_name or parsed.from_address,
        contact_point=parsed.from_address,
        notes=f"Email: {parsed.subject}"[:2000],
        now=now,
    )
    CaseEmail.objects.create(
        organization_id=organization.pk,
        case=case,
        interaction=interaction,
        direction=Direction.INBOUND,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        from_address=parsed.from_address,
        to_address=parsed.to_address,
        subject=parsed.subject,
        body=parsed.body,
        occurred_at=now,
    )
    if case.awaiting_reply_since is None:
        case.awaiting_reply_since = now
        case.reply_due_at = servicelevels.reply_due_at(organization, case.category, case.priority, now)
        mark_change(case, by=by, reason="email received")
        save(case, update_fields=["awaiting_reply_since", "reply_due_at", "updated_at"])
    case_event(
        case,
        "email.received",
        f"Email received: {parsed.subject or '(no subject)'}"[:300],
        by,
        interaction=str(interaction.reference),
        created=created,
    )
    return IntakeResult(case=case, created=created, reopened=reopened)


# --- outbound ----------------------------------------------------------------------------------------


def _domain() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"


def allowed_recipients(case: Case) -> set[str]:
    """Addresses already on the case: the caller's, the patient's on file (when email is allowed),
    and every address that wrote in on it."""
    addresses = {case.caller_email.lower()} if case.caller_email else set()
    if case.patient_id and case.patient.email and case.patient.ok_to_email:
        addresses.add(case.patient.email.lower())
    addresses |= {
        a.lower()
        for a in CaseEmail.objects.filter(case=case, direction=Direction.INBOUND).values_list(
            "from_address", flat=True
        )
    }
    return addresses - {""}


@transaction.atomic(durable=True)
def case_email_send(
    *, case: Case, to: str, body: str, by: Any, subject: str = "", now: datetime | None = None
) -> CaseEmail:
    """Email the caller from the case; logged as an outbound contact. Sent after the transaction commits.

    Only addresses already on the case may be written to, so account details never go to
    an address someone typed from a caller's say-so.
    """
    lock(case)
    require(can_work_cases(by, case), "You may not email from this case.")
    if case.status == CaseStatus.CLOSED:
        raise InvalidTransition("status: the case is closed; reopen it to write", field="status")
    to = (to or "").strip().lower()
    try:
        validate_email(to)
    except ValidationError:
        raise InvalidInput("to: enter a valid email address", field="to") from None
    if to not in allowed_recipients(case):
        raise InvalidInput(
            "to: write only to an address on the case (the caller's, the patient's on file, "
            "or one that wrote in)",
            field="to",
        )
    body = (body or "").strip()
    if not body:
        raise InvalidInput("body: write the message", field="body")
    last_in = (
        CaseEmail.objects.filter(case=case, direction=Direction.INBOUND)
        .order_by("-occurred_at", "-id")
        .first()
    )
    subject = (subject or "").strip() or (
        f"Re: {last_in.subject}" if last_in and last_in.subject else case.summary
    )
    if case.subject_token.lower() not in subject.lower():
        subject = f"{subject} {case.subject_token}"
    now = now or timezone.now()
    message_id = make_msgid(domain=_domain())
    interaction = interaction_log_locked(
        case=case,
        by=by,
        direction="outbound",
        channel="email_outbound",
        relationship="self" if case.patient_id and to == (case.patient.email or "").lower() else "other",
        outcome="email_sent",
        person_contacted=case.caller_name or to,
        contact_point=to,
        notes=f"Email: {subject}"[:2000],
        now=now,
    )
    sent = CaseEmail.objects.create(
        organization_id=case.organization_id,
        case=case,
        interaction=interaction,
        direction=Direction.OUTBOUND,
        message_id=message_id,
        in_reply_to=last_in.message_id if last_in else "",
        from_address=settings.DEFAULT_FROM_EMAIL[:254],
        to_address=to,
        subject=subject[:MAX_SUBJECT],
        body=body,
        occurred_at=now,
    )
    case_event(case, "email.sent", f"Email sent: {subject}"[:300], by, interaction=str(interaction.reference))
    transaction.on_commit(partial(_deliver, sent.pk, by))
    return sent


def _deliver(case_email_id: int, by: Any) -> None:
    """Hand the message to the mail server (after commit). A failure is noted on the case, not raised."""
    sent = CaseEmail.objects.select_related("case__organization").get(pk=case_email_id)
    headers = {"Message-ID": sent.message_id}
    if sent.in_reply_to:
        headers.update({"In-Reply-To": sent.in_reply_to, "References": sent.in_reply_to})
    message = EmailMessage(subject=sent.subject, body=sent.body, to=[sent.to_address], headers=headers)
    try:
        message.send()
    except Exception as exc:  # SMTP refusals, timeouts, DNS: all mean "not sent"
        logger.warning("case email %s could not be sent: %s", sent.message_id, type(exc).__name__)
        with transaction.atomic(durable=True):
            case_event(sent.case, "email.failed", f"Email could not be sent ({type(exc).__name__})", by)
