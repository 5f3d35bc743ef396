"""Benefit investigations, patient estimates, and sending the results to the patient or the physician office.

Results are documents drawn from the organization's letter templates
(``correspondence``); the PDF is drawn before the transaction that stores it, the
email goes out after that transaction commits, and both the sending and the contact
it was are recorded on the case (an outbound interaction and a timeline event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import Coverage
from core.audit import mark_change
from core.errors import InvalidInput, InvalidTransition
from core.money import ZERO, quantize_cents
from correspondence import rendering
from correspondence import services as correspondence
from correspondence.models import Document, DocumentKind, Letterhead, LetterTemplate
from inquiries import letters
from inquiries.estimates import Service, estimate_out_of_pocket
from inquiries.models import BenefitEstimate, BenefitInvestigation, Case, EstimateLine
from inquiries.permissions import can_manage_case_settings, can_work_cases
from inquiries.services.cases import interaction_log_locked
from inquiries.services.common import case_event, local_today, lock, require, save, validate

INVESTIGATION_FIELDS = (
    "plan_active",
    "deductible",
    "deductible_met",
    "coinsurance_percent",
    "copay",
    "out_of_pocket_max",
    "out_of_pocket_met",
    "prior_auth_required",
    "prior_auth_number",
    "payer_rep_name",
    "reference_number",
    "investigated_on",
    "notes",
)
MAX_SERVICES = 30


def _money(value: Any, field: str) -> Decimal:
    if value is None or value == "":
        return ZERO
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    amount = quantize_cents(Decimal(value))
    if amount < ZERO:
        raise InvalidInput(f"{field}: cannot be negative", field=field)
    return amount


@transaction.atomic(durable=True)
def benefit_investigation_record(
    *, case: Case, coverage: Coverage, by: Any, now: datetime | None = None, **fields: Any
) -> BenefitInvestigation:
    """Record what the payer confirmed about one of the case patient's coverages."""
    lock(case)
    require(can_work_cases(by, case), "You may not record benefit investigations on this case.")
    if not case.is_open:
        raise InvalidTransition("status: reopen the case before adding an investigation", field="status")
    if case.patient_id is None or coverage.patient_id != case.patient_id:
        raise InvalidInput("coverage: choose one of the case patient's coverages", field="coverage")
    unknown = set(fields) - set(INVESTIGATION_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"{field}: not a benefit investigation field", field=field)
    values = dict(fields)
    for name in ("deductible", "deductible_met", "copay", "out_of_pocket_max", "out_of_pocket_met"):
        values[name] = _money(values.get(name), name)
    percent = values.get("coinsurance_percent")
    percent = Decimal("0") if percent in (None, "") else Decimal(percent)
    if not Decimal("0") <= percent <= Decimal("100"):
        raise InvalidInput("coinsurance_percent: between 0 and 100", field="coinsurance_percent")
    values["coinsurance_percent"] = percent.quantize(Decimal("0.01"))
    if values["deductible_met"] > values["deductible"]:
        raise InvalidInput("deductible_met: cannot be more than the deductible", field="deductible_met")
    if values["out_of_pocket_met"] > values["out_of_pocket_max"]:
        raise InvalidInput(
            "out_of_pocket_met: cannot be more than the out-of-pocket maximum", field="out_of_pocket_met"
        )
    if values.get("prior_auth_number") and not values.get("prior_auth_required"):
        raise InvalidInput(
            "prior_auth_number: tick 'prior authorization required' or leave the number empty",
            field="prior_auth_number",
        )
    today = local_today(case.organization, now)
    investigated_on = values.get("investigated_on") or today
    if investigated_on > today:
        raise InvalidInput("investigated_on: cannot be in the future", field="investigated_on")
    values["investigated_on"] = investigated_on
    investigation = BenefitInvestigation(
        organization_id=case.organization_id,
        case=case,
        coverage=coverage,
        investigated_by=by,
        plan_active=bool(values.pop("plan_active", False)),
        prior_auth_required=bool(values.pop("prior_auth_required", False)),
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()},
    )
    validate(
        investigation,
        exclude=["organization", "case", "coverage", "investigated_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    mark_change(investigation, by=by, reason="benefit investigation recorded")
    save(investigation)
    payer = coverage.plan.payer.name
    status = "active" if investigation.plan_active else "NOT active"
    case_event(
        case,
        "benefits.investigated",
        f"Benefits checked with {payer}: plan {status}"
        + (f", reference {investigation.reference_number}" if investigation.reference_number else ""),
        by,
        investigation=str(investigation.reference),
        plan_active=investigation.plan_active,
        prior_auth_required=investigation.prior_auth_required,
    )
    return investigation


@dataclass(frozen=True)
class ServiceInput:
    description: str
    amount: Decimal
    code: str = ""


@transaction.atomic(durable=True)
def benefit_estimate_make(
    *, investigation: BenefitInvestigation, services: list[ServiceInput], by: Any
) -> BenefitEstimate:
    """Estimate what the patient would owe for ``services`` under the investigation's benefits."""
    case = lock(investigation.case)
    require(can_work_cases(by, case), "You may not make estimates on this case.")
    if not services:
        raise InvalidInput("services: list at least one service with its amount", field="services")
    if len(services) > MAX_SERVICES:
        raise InvalidInput(f"services: at most {MAX_SERVICES} services", field="services")
    for number, service in enumerate(services, start=1):
        if not service.description.strip():
            raise InvalidInput(f"services: line {number} needs a description", field="services")
        if service.amount <= ZERO:
            raise InvalidInput(f"services: line {number} needs an amount above 0.00", field="services")
    result = estimate_out_of_pocket(
        services=[Service(s.description.strip(), quantize_cents(s.amount), s.code.strip()) for s in services],
        plan_active=investigation.plan_active,
        deductible_remaining=investigation.deductible_remaining,
        coinsurance_percent=investigation.coinsurance_percent,
        copay=investigation.copay,
        out_of_pocket_remaining=investigation.out_of_pocket_remaining,
    )
    estimate = BenefitEstimate(
        organization_id=investigation.organization_id,
        investigation=investigation,
        total_amount=result.total,
        deductible_amount=result.deductible,
        coinsurance_amount=result.coinsurance,
        copay_amount=result.copay,
        patient_amount=result.patient,
        capped_by_out_of_pocket=result.capped,
        made_by=by,
    )
    mark_change(estimate, by=by, reason="estimate made")
    save(estimate)
    EstimateLine.objects.bulk_create(
        EstimateLine(
            estimate=estimate,
            position=position,
            code=line.service.code[:16],
            description=line.service.description[:200],
            amount=line.service.amount,
            deductible_amount=line.deductible,
            coinsurance_amount=line.coinsurance,
            copay_amount=line.copay,
            patient_amount=line.patient,
        )
        for position, line in enumerate(result.lines, start=1)
    )
    case_event(
        case,
        "benefits.estimated",
        f"Estimate: patient pays {result.patient} of {result.total}"
        + (" (out-of-pocket maximum)" if result.capped else ""),
        by,
        estimate=str(estimate.reference),
        total=str(result.total),
        patient=str(result.patient),
    )
    return estimate


# --- sending results ------------------------------------------------------------------------------


class Recipient:
    PATIENT = "patient"
    PHYSICIAN = "physician"
    CHOICES = [(PATIENT, "The patient"), (PHYSICIAN, "The physician office")]


def _day(value: date | None) -> str:
    return f"{value:%m/%d/%Y}" if value else ""


def _address_lines(line1: str, line2: str, city: str, state: str, postal_code: str) -> list[str]:
    place = " ".join(part for part in (f"{city}," if city and state else city, state, postal_code) if part)
    return [line for line in (line1.strip(), line2.strip(), place.strip()) if line]


def results_context(
    estimate: BenefitEstimate | None,
    investigation: BenefitInvestigation,
    *,
    recipient: str,
    recipient_name: str,
    recipient_address: list[str],
    today: date,
) -> dict[str, Any]:
    """What a benefit-results letter or email may print, as plain data (dates as MM/DD/YYYY strings)."""
    case = investigation.case
    patient = case.patient
    coverage = investigation.coverage
    is_patient = recipient == Recipient.PATIENT
    lines = list(estimate.lines.all()) if estimate else []
    return {
        "organization": Letterhead.of(case.organization).as_context(),
        "letter": {"date": _day(today)},
        "case": {"number": case.number},
        "recipient": {"name": recipient_name, "address_lines": recipient_address, "is_patient": is_patient},
        "patient": {
            "name": patient.full_name,
            # Identifies the patient to the office; a patient's own letter does not need it.
            "date_of_birth": "" if is_patient else _day(patient.date_of_birth),
        },
        "benefits": {
            "payer": coverage.plan.payer.name,
            "plan": coverage.plan.name,
            "member_id": coverage.member_id,
            "plan_active": investigation.plan_active,
            "deductible": investigation.deductible,
            "deductible_met": investigation.deductible_met,
            "deductible_remaining": investigation.deductible_remaining,
            "coinsurance_percent": investigation.coinsurance_percent,
            "copay": investigation.copay,
            "out_of_pocket_max": investigation.out_of_pocket_max,
            "out_of_pocket_met": investigation.out_of_pocket_met,
            "out_of_pocket_remaining": investigation.out_of_pocket_remaining,
            "prior_auth_required": investigation.prior_auth_required,
            "prior_auth_number": investigation.prior_auth_number,
            "payer_rep_name": investigation.payer_rep_name,
            "reference_number": investigation.reference_number,
            "investigated_on": _day(investigation.investigated_on),
        },
        "estimate": {
            "lines": [
                {
                    "code": line.code,
                    "description": line.description,
                    "amount": line.amount,
                    "deductible": line.deductible_amount,
                    "coinsurance": line.coinsurance_amount,
                    "copay": line.copay_amount,
                    "patient": line.patient_amount,
                }
                for line in lines
            ],
            "total": estimate.total_amount if estimate else ZERO,
            "deductible": estimate.deductible_amount if estimate else ZERO,
            "coinsurance": estimate.coinsurance_amount if estimate else ZERO,
            "copay": estimate.copay_amount if estimate else ZERO,
            "patient": estimate.patient_amount if estimate else ZERO,
            "plan_pays": estimate.plan_pays if estimate else ZERO,
            "capped": estimate.capped_by_out_of_pocket if estimate else False,
        },
    }


def _clean_email(raw: str) -> str:
    address = (raw or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidInput("email_to: enter a valid email address", field="email_to") from None
    return address


def benefit_results_send(
    *,
    investigation: BenefitInvestigation,
    recipient: str,
    letter_template: LetterTemplate,
    by: Any,
    estimate: BenefitEstimate | None = None,
    email_template: LetterTemplate | None = None,
    email_to: str = "",
    recipient_name: str = "",
    recipient_address: str = "",
    now: datetime | None = None,
) -> Document:
    """Send the investigation (and its estimate) to the patient or the physician office.

    A patient's results go to the address on file, or by email only to the email on file
    and only when the patient agreed to email; an office's go to the name and address or
    email the rep enters. The PDF is drawn first, outside any transaction; then, under the
    case's lock, the document is stored on the case, an outbound contact and a timeline
    event are recorded, and the email (PDF attached) is sent after commit.
    """
    case = investigation.case
    require(can_work_cases(by, case), "You may not send results on this case.")
    if estimate is not None and estimate.investigation_id != investigation.pk:
        raise InvalidInput("estimate: belongs to another investigation", field="estimate")
    for template, kind, what in (
        (letter_template, DocumentKind.LETTER, "letter_template"),
        (email_template, DocumentKind.EMAIL, "email_template"),
    ):
        if template is not None and (
            template.organization_id != case.organization_id
            or template.kind != kind
            or not template.is_active
        ):
            raise InvalidInput(
                f"{what}: choose an active {DocumentKind(kind).label.lower()} template", field=what
            )
    patient = case.patient
    if recipient == Recipient.PATIENT:
        name = patient.full_name
        address = _address_lines(
            patient.address_line1, patient.address_line2, patient.city, patient.state, patient.postal_code
        )
        if email_to:
            email_to = _clean_email(email_to)
            if email_to.lower() != (patient.email or "").lower() or not patient.ok_to_email:
                raise InvalidInput(
                    "email_to: a patient's results are emailed only to the email on file, and only when the "
                    "patient agreed to email",
                    field="email_to",
                )
        elif not address:
            raise InvalidInput(
                "recipient: the patient has no address on file; email the results instead", field="recipient"
            )
    elif recipient == Recipient.PHYSICIAN:
        name = (recipient_name or case.provider_name).strip()
        if not name:
            raise InvalidInput("recipient_name: name the physician office", field="recipient_name")
        address = [line.strip() for line in (recipient_address or "").splitlines() if line.strip()]
        if email_to:
            email_to = _clean_email(email_to)
        elif not address:
            raise InvalidInput(
                "recipient_address: enter the office's address, or an email", field="recipient_address"
            )
    else:
        raise InvalidInput(f"recipient: {recipient!r} is not a recipient", field="recipient")
    if email_to and email_template is None:
        raise InvalidInput("email_template: choose the email the PDF is attached to", field="email_template")

    now = now or timezone.now()
    today = local_today(case.organization, now)
    context = results_context(
        estimate,
        investigation,
        recipient=recipient,
        recipient_name=name,
        recipient_address=address,
        today=today,
    )
    rendered = rendering.render_printed(
        subject=letter_template.subject, body=letter_template.body, context=context
    )
    email = (
        rendering.render_email(subject=email_template.subject, body=email_template.body, context=context)
        if email_to
        else None
    )
    with transaction.atomic(durable=True):
        lock(case)
        require(can_work_cases(by, case), "You may not send results on this case.")
        document = correspondence.document_store(
            organization=case.organization,
            subject=case,
            kind=DocumentKind.LETTER,
            rendered=rendered,
            template=letter_template,
            by=by,
            email_to=email_to,
        )
        to_patient = recipient == Recipient.PATIENT
        interaction_log_locked(
            case=case,
            by=by,
            direction="outbound",
            channel="email_outbound" if email_to else "letter",
            relationship="self" if to_patient else "physician_office",
            outcome="email_sent" if email_to else "letter_sent",
            person_contacted=name,
            contact_point=email_to or (address[0] if address else ""),
            notes=f"Benefit investigation results sent ({rendered.title}).",
            now=now,
        )
        who = "the patient" if to_patient else name
        how = "by email" if email_to else "by mail"
        case_event(
            case,
            "benefits.results_sent",
            f"Benefit results sent to {who} {how}",
            by,
            document=str(document.reference),
            investigation=str(investigation.reference),
            estimate=str(estimate.reference) if estimate else None,
            recipient=recipient,
            delivery=document.delivery,
        )
        if email is not None:
            transaction.on_commit(
                partial(correspondence.document_email_send, document=document, email=email, by=by)
            )
    return document


def benefit_templates_install(*, organization: Any, by: Any) -> list[LetterTemplate]:
    """Add the standard benefit-results letter and email to the organization's templates (admins).

    The organization's standard templates are added first, so these never become the
    default letter or email that statements use.
    """
    require(can_manage_case_settings(by, organization), "Only an admin may add letter templates.")
    correspondence.templates_ensure_defaults(organization=organization, by=by)
    existing = set(LetterTemplate.objects.filter(organization=organization).values_list("name", flat=True))
    created = []
    for kind, name, subject, body in (
        (DocumentKind.LETTER, letters.LETTER_NAME, letters.LETTER_SUBJECT, letters.letter_body()),
        (DocumentKind.EMAIL, letters.EMAIL_NAME, letters.EMAIL_SUBJECT, letters.email_body()),
    ):
        if name in existing:
            continue
        created.append(
            correspondence.template_create(
                organization=organization,
                kind=kind,
                name=name,
                subject=subject,
                body=body,
                by=by,
                is_default=False,
            )
        )
    return created
