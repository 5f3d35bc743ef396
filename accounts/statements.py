"""Patient and itemized statements of an account: their context, generation, and the account's documents.

The context is built here, from the account, as plain data (the contract is the
example in ``correspondence.samples``); ``correspondence`` renders it with the
organization's default template and stores the document. Drawing the PDF takes up to
a second, so it happens before the transaction that stores the document, and a
statement is only kept if the ledger did not move while it was being drawn.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.aging import BANDS, account_aging
from accounts.choices import AdjustmentReason
from accounts.ledger import bucket_balances, lock_account
from accounts.models import ZERO, Charge, Coverage, Language, LedgerEntry, PatientAccount
from accounts.permissions import can_edit_patient, can_view_account
from accounts.services import statement_recorded
from core.errors import Conflict, InvalidInput, NotPermitted
from core.timeline import event_record
from correspondence import rendering
from correspondence import services as correspondence
from correspondence.models import Document, DocumentKind, Letterhead

STATEMENT_KINDS = (DocumentKind.PATIENT_STATEMENT, DocumentKind.ITEMIZED_STATEMENT)

# How often the statement is drawn again when the ledger changes while it is drawn.
_ATTEMPTS = 3

_BAND_LABELS = {"0-30": "0-30 days", "31-60": "31-60 days", "61-90": "61-90 days", "91-120": "91-120 days"}

_ADJUSTMENT_KINDS = frozenset(
    {
        LedgerEntry.Kind.CONTRACTUAL_ADJUSTMENT,
        LedgerEntry.Kind.OTHER_ADJUSTMENT,
        LedgerEntry.Kind.WRITE_OFF,
    }
)
_TOTAL_OF_KIND = {
    LedgerEntry.Kind.CHARGE: "charges",
    LedgerEntry.Kind.INSURANCE_PAYMENT: "insurance_payments",
    LedgerEntry.Kind.PATIENT_PAYMENT: "patient_payments",
    LedgerEntry.Kind.REFUND: "refunds",
    LedgerEntry.Kind.TRANSFER: "transfers",
    **dict.fromkeys(_ADJUSTMENT_KINDS, "adjustments"),
}


# --- context ------------------------------------------------------------------------------------


def _day(value: date | None) -> str:
    return f"{value:%m/%d/%Y}" if value else ""


def _units(value: Decimal) -> str:
    """``Decimal("1.000")`` → ``"1"``, ``Decimal("2.500")`` → ``"2.5"``."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _address_lines(line1: str, line2: str, city: str, state: str, postal_code: str) -> list[str]:
    place = " ".join(part for part in (f"{city}," if city and state else city, state, postal_code) if part)
    return [line for line in (line1.strip(), line2.strip(), place.strip()) if line]


def _party(entry: LedgerEntry, *, in_sentence: bool = False) -> str:
    """Who the entry's bucket is: the payer's name, or the person reading the statement."""
    if entry.coverage_id is None:
        return "you" if in_sentence else "You"
    return entry.coverage.plan.payer.name


def _adjustment_reason(entry: LedgerEntry) -> str:
    if entry.reason_code in AdjustmentReason.values:
        return AdjustmentReason(entry.reason_code).label
    return entry.get_kind_display() + (f" {entry.reason_code}" if entry.reason_code else "")


def _describe(entry: LedgerEntry) -> str:
    """What a line means to the person paying; memos are staff notes and never printed."""
    kind = entry.kind
    party = _party(entry, in_sentence=True)
    if kind == LedgerEntry.Kind.CHARGE:
        return (entry.charge.description or entry.charge.code) if entry.charge else "Charge"
    if kind == LedgerEntry.Kind.REVERSAL:
        original = entry.reverses
        what = original.get_kind_display().lower()
        return f"Correction: reverses the {what} of {_day(original.effective_date)}"
    if kind == LedgerEntry.Kind.INSURANCE_PAYMENT:
        return f"Paid by {party}"
    if kind == LedgerEntry.Kind.PATIENT_PAYMENT:
        return "Your payment"
    if kind in _ADJUSTMENT_KINDS:
        reason = _adjustment_reason(entry)
        return reason if entry.coverage_id is None else f"{reason} ({party})"
    if kind == LedgerEntry.Kind.TRANSFER:
        return f"Moved from {party}" if entry.amount < ZERO else f"Moved to {party}"
    if kind == LedgerEntry.Kind.REFUND:
        return f"Refund to {party}"
    return entry.get_kind_display()


def _line(entry: LedgerEntry) -> dict[str, Any]:
    charge = entry.charge if entry.kind in (LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.REVERSAL) else None
    return {
        "date": _day(entry.effective_date),
        "kind": entry.get_kind_display(),
        "code": charge.code if charge else "",
        "modifiers": ", ".join(charge.modifiers) if charge else "",
        "description": _describe(entry),
        "units": _units(charge.units) if charge and entry.kind == LedgerEntry.Kind.CHARGE else "",
        "party": _party(entry),
        "amount": entry.amount,
        "running_balance": entry.running_balance,
        "is_charge": entry.kind == LedgerEntry.Kind.CHARGE,
    }


def _totals(entries: Iterable[LedgerEntry]) -> dict[str, Decimal]:
    """Sums by what the money was; a reversal counts against the kind of entry it reverses."""
    totals = dict.fromkeys(
        ("charges", "insurance_payments", "patient_payments", "adjustments", "refunds", "transfers"), ZERO
    )
    balance = ZERO
    for entry in entries:
        kind = entry.reverses.kind if entry.kind == LedgerEntry.Kind.REVERSAL else entry.kind
        totals[_TOTAL_OF_KIND[kind]] += entry.amount
        balance += entry.amount
    return {**totals, "balance": balance}


def _charge(charge: Charge) -> dict[str, Any]:
    return {
        "date": _day(charge.service_date),
        "code_type": charge.get_code_type_display(),
        "code": charge.code,
        "modifiers": ", ".join(charge.modifiers),
        "revenue_code": charge.revenue_code,
        "description": charge.description,
        "units": _units(charge.units),
        "amount": charge.amount,
        "reversed": charge.status == Charge.Status.REVERSED,
    }


def office_today(organization: Any) -> date:
    """Today where the organization's back office is (statement and due dates are its calendar days)."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(organization.time_zone))


def statement_context(account: PatientAccount, kind: str, *, today: date | None = None) -> dict[str, Any]:
    """Everything a statement template may print about ``account``, as plain data.

    Dates are ``MM/DD/YYYY`` strings and money is ``Decimal`` (signed as in the ledger:
    payments and adjustments are negative). The shape is ``correspondence.samples``'.
    """
    account = PatientAccount.objects.select_related("organization", "patient", "guarantor").get(pk=account.pk)
    organization, patient, guarantor = account.organization, account.patient, account.guarantor
    letterhead = Letterhead.of(organization)
    today = today or office_today(organization)
    entries = list(
        LedgerEntry.objects.filter(account=account)
        .with_running_balance()
        .select_related("charge", "reverses", "coverage__plan__payer")
        .order_by("id")
    )
    buckets = bucket_balances(account)
    coverages = (
        Coverage.objects.filter(pk__in=[pk for pk in buckets if pk is not None])
        .select_related("plan__payer")
        .in_order()
    )
    patient_aging = account_aging(account.pk, today).get(None)
    service_dates = _day(account.service_from)
    if account.service_to and account.service_to != account.service_from:
        service_dates = f"{service_dates} to {_day(account.service_to)}"
    return {
        "organization": letterhead.as_context(),
        "statement": {
            "kind": DocumentKind(kind).label,
            "date": _day(today),
            "due_date": _day(today + timedelta(days=letterhead.statement_due_days)),
        },
        "guarantor": {
            "name": f"{guarantor.first_name} {guarantor.last_name}".strip(),
            "relationship": guarantor.get_relationship_display(),
            "address_lines": _address_lines(
                guarantor.address_line1,
                guarantor.address_line2,
                guarantor.city,
                guarantor.state,
                guarantor.postal_code,
            ),
        },
        "patient": {
            "name": patient.full_name,
            "preferred_language": Language(patient.preferred_language).label
            if patient.preferred_language in Language.values
            else "",
        },
        "account": {
            "number": account.account_number,
            "facility": account.facility,
            "kind": account.get_kind_display(),
            "financial_class": account.get_financial_class_display(),
            "status": account.get_status_display(),
            "service_dates": service_dates,
            "service_from": _day(account.service_from),
            "service_to": _day(account.service_to),
            "financial_assistance_pending": account.financial_assistance_pending,
            "dispute_hold": account.dispute_hold,
        },
        "balances": {
            "total": account.balance,
            "patient": account.patient_balance,
            "insurance_pending": account.insurance_balance,
            "amount_due": max(account.patient_balance, ZERO),
            "credit": max(-account.patient_balance, ZERO),
        },
        "aging": [
            {
                "band": band,
                "label": _BAND_LABELS.get(band, "Over 120 days"),
                "amount": patient_aging.bands[index] if patient_aging else ZERO,
            }
            for index, band in enumerate(BANDS)
        ],
        "coverages": [
            {
                "priority": coverage.get_priority_display(),
                "payer": coverage.plan.payer.name,
                "plan": coverage.plan.name,
                "member_id": coverage.member_id,
                "pending": buckets.get(coverage.pk, ZERO),
            }
            for coverage in coverages
        ],
        "charges": [
            _charge(charge)
            for charge in Charge.objects.filter(account=account).order_by("service_date", "id")
        ],
        "lines": [_line(entry) for entry in entries],
        "totals": _totals(entries),
    }


# --- generation --------------------------------------------------------------------------------


def _ledger_version(account: PatientAccount) -> tuple[int, int | None]:
    # Entries are only ever inserted, so any posting committed since the last look
    # changes the count (the highest id alone could miss a slower, lower id).
    row = LedgerEntry.objects.filter(account=account).aggregate(count=Count("id"), last=Max("id"))
    return row["count"], row["last"]


def _clean_email(raw: str) -> str:
    address = (raw or "").strip()
    if not address:
        return ""
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidInput("email_to: enter a valid email address", field="email_to") from None
    return address


def statement_generate(*, account: PatientAccount, kind: str, by: Any, email_to: str = "") -> Document:
    """Draw a patient or itemized statement, keep it on the account, and email it when asked.

    Anyone who may see the account may print one; emailing it also needs
    ``can_edit_patient``. The PDF is drawn outside any transaction; then, under the
    account's lock, the document is stored, the account's statement dates move
    (``statement_recorded``) and the timeline notes it. If the ledger changed while the
    PDF was drawn, it is drawn again, so a stored statement always matches the ledger
    it was stored with. The email (PDF attached) goes out only after that commit.
    """
    if kind not in STATEMENT_KINDS:
        raise InvalidInput(
            f"kind: {kind!r} is not a statement; choose {' or '.join(STATEMENT_KINDS)}", field="kind"
        )
    if not can_view_account(by, account):
        raise NotPermitted("You may not see this account.")
    email_to = _clean_email(email_to)
    if email_to and not can_edit_patient(by, account):
        raise NotPermitted("Your role may print statements but not email them.")
    organization = account.organization
    template = correspondence.template_default(organization=organization, kind=kind, by=by)
    email_template = (
        correspondence.template_default(organization=organization, kind=DocumentKind.EMAIL, by=by)
        if email_to
        else None
    )
    today = office_today(organization)
    label = DocumentKind(kind).label
    for _attempt in range(_ATTEMPTS):
        version = _ledger_version(account)
        context = statement_context(account, kind, today=today)
        rendered = rendering.render_printed(subject=template.subject, body=template.body, context=context)
        email = (
            rendering.render_email(subject=email_template.subject, body=email_template.body, context=context)
            if email_template
            else None
        )
        with transaction.atomic(durable=True):
            lock_account(account)
            if not can_view_account(by, account):
                raise NotPermitted("You may not see this account.")
            if _ledger_version(account) != version:
                continue  # a posting landed while drawing: draw again from the new ledger
            document = correspondence.document_store(
                organization=organization,
                subject=account,
                kind=kind,
                rendered=rendered,
                template=template,
                by=by,
                email_to=email_to,
            )
            statement_recorded(account=account, on=today, by=by)
            pages = f"{rendered.page_count} page{'s' if rendered.page_count != 1 else ''}"
            event_record(
                organization=organization,
                subject=account,
                kind="accounts.statement.generated",
                summary=f"{label} generated ({pages})" + (", to be emailed" if email_to else ""),
                by=by,
                data={
                    "document": str(document.reference),
                    "kind": kind,
                    "pages": rendered.page_count,
                    "delivery": document.delivery,
                    "template": str(template.reference),
                },
            )
            if email is not None:
                transaction.on_commit(
                    partial(correspondence.document_email_send, document=document, email=email, by=by)
                )
        return document
    raise Conflict(
        "account: the account kept changing while the statement was drawn; try again", field="account"
    )


# --- reads ------------------------------------------------------------------------------------------


def documents_for(account: PatientAccount) -> models.QuerySet[Document]:
    """The account's documents, newest first, without their HTML and PDF bytes."""
    return Document.objects.for_subject(account).without_content().select_related("created_by")
