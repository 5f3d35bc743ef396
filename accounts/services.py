"""Every change to patients, coverages, accounts, charges and the ledger goes through here.

Each entry-point service runs in its own durable transaction, locks what it changes
(the account row for every money movement), checks the actor's permission again,
records row history with a reason and a timeline event on the account (or patient).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts import edits
from accounts.choices import ADJUSTMENT_KINDS, AdjustmentReason
from accounts.ledger import EntrySpec, lock_account, post_entries
from accounts.models import (
    ZERO,
    AccountBucket,
    AdjustmentRequest,
    AuthorizedContact,
    Charge,
    ChargeEdit,
    Coverage,
    Guarantor,
    LedgerEntry,
    Patient,
    PatientAccount,
)
from accounts.permissions import (
    can_adjust_balance,
    can_approve_adjustments,
    can_change_account_status,
    can_create_account,
    can_edit_patient,
    can_override_edits,
    can_post_charges,
    can_reverse_entries,
)
from core.audit import mark_change
from core.errors import (
    ApprovalRequired,
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    error_from_integrity,
    invalid_from_validation,
)
from core.money import format_money, parse_money
from core.timeline import event_record
from staff.models import ApprovalLimit
from staff.services import approval_limit_for

# --- helpers ---------------------------------------------------------------------------------


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotPermitted(message)


def _validate(obj: Any, **kwargs: Any) -> None:
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        raise invalid_from_validation(exc) from None


def _save(obj: Any, conflict: Conflict | None = None, **kwargs: Any) -> None:
    """Save; a violated constraint becomes InvalidInput naming the field, or ``conflict``."""
    try:
        with transaction.atomic(savepoint=True):
            obj.save(**kwargs)
    except IntegrityError as exc:
        raise error_from_integrity(exc, type(obj), conflict) from None


def _insert(obj: Any, conflict: Conflict) -> None:
    _save(obj, conflict)


def _reason(reason: str, what: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(f"{what}: say why (it is kept in the account's history)", field=what)
    return reason


def _positive(raw: Any, field: str = "amount") -> Decimal:
    amount = parse_money(raw, field=field)
    if amount <= ZERO:
        raise InvalidInput(f"{field}: must be more than 0.00", field=field)
    return amount


def _lock(model: type, obj: Any) -> Any:
    obj.refresh_from_db(from_queryset=model.objects.select_for_update(no_key=True))
    return obj


def _same_org(obj: Any, other: Any, what: str) -> None:
    if other is not None and other.organization_id != obj.organization_id:
        raise InvalidInput(f"{what}: belongs to another organization", field=what)


def _apply_changes(obj: Any, changes: dict[str, Any], allowed: set[str]) -> dict[str, tuple[Any, Any]]:
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]}: cannot be changed here", field=sorted(unknown)[0])
    diff = {}
    for name, value in changes.items():
        old = getattr(obj, name)
        if old != value:
            diff[name] = (old, value)
            setattr(obj, name, value)
    return diff


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _diff_data(diff: dict[str, tuple[Any, Any]]) -> dict:
    return {name: {"old": _jsonable(old), "new": _jsonable(new)} for name, (old, new) in diff.items()}


# --- patients -----------------------------------------------------------------------------------

# In the order forms and the API show them.
PATIENT_FIELDS = (
    "external_id",
    "mrn",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "date_of_birth",
    "sex",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "phone",
    "mobile_phone",
    "email",
    "preferred_language",
    "interpreter",
    "preferred_contact",
    "ok_to_text",
    "ok_to_email",
    "ok_to_leave_voicemail",
    "ssn_last4",
)


@transaction.atomic(durable=True)
def patient_create(*, organization: Any, by: Any, **fields: Any) -> Patient:
    _require(can_edit_patient(by, organization), "You may not add patients in this organization.")
    unknown = set(fields) - set(PATIENT_FIELDS)
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]}: not a patient field", field=sorted(unknown)[0])
    patient = Patient(organization=organization, **fields)
    _validate(patient, validate_unique=False, validate_constraints=False)
    mark_change(patient, by=by, reason="patient registered")
    _insert(
        patient, Conflict("external_id: a patient with this external id already exists", field="external_id")
    )
    event_record(
        organization=organization,
        subject=patient,
        kind="accounts.patient.created",
        summary="Patient registered",
        by=by,
    )
    return patient


@transaction.atomic(durable=True)
def patient_update(*, patient: Patient, changes: dict[str, Any], reason: str, by: Any) -> Patient:
    """Change demographics or communication preferences; the timeline names the fields, not values."""
    _lock(Patient, patient)
    _require(can_edit_patient(by, patient), "You may not change this patient.")
    diff = _apply_changes(patient, changes, set(PATIENT_FIELDS))
    if not diff:
        return patient
    _validate(patient, validate_unique=False, validate_constraints=False)
    mark_change(patient, by=by, reason=_reason(reason))
    _save(
        patient,
        Conflict("external_id: another patient has this external id", field="external_id"),
        update_fields=[*diff, "updated_at"],
    )
    event_record(
        organization=patient.organization,
        subject=patient,
        kind="accounts.patient.updated",
        summary=f"Patient details changed: {', '.join(sorted(diff))}",
        by=by,
        # Field names only: demographics are PHI and the timeline is shown widely.
        data={"fields": sorted(diff), "reason": reason},
    )
    return patient


# --- authorized contacts -----------------------------------------------------------------------


@transaction.atomic(durable=True)
def authorized_contact_add(
    *,
    patient: Patient,
    name: str,
    relationship: str,
    scopes: list[str],
    by: Any,
    phone: str = "",
    is_personal_representative: bool = False,
    start_date: date | None = None,
    end_date: date | None = None,
    notes: str = "",
) -> AuthorizedContact:
    """Record someone the patient allows staff to talk to, and about what."""
    _lock(Patient, patient)
    _require(can_edit_patient(by, patient), "You may not change this patient's authorized contacts.")
    if not scopes and not is_personal_representative:
        raise InvalidInput("scopes: choose at least one thing this person may be told", field="scopes")
    bad = [s for s in scopes if s not in AuthorizedContact.Scope.values]
    if bad:
        raise InvalidInput(f"scopes: {bad[0]!r} is not a disclosure scope", field="scopes")
    contact = AuthorizedContact(
        organization_id=patient.organization_id,
        patient=patient,
        name=name.strip(),
        relationship=relationship,
        phone=phone,
        scopes=sorted(set(scopes)),
        is_personal_representative=is_personal_representative,
        start_date=start_date or timezone.localdate(),
        end_date=end_date,
        notes=notes,
    )
    _validate(contact)
    mark_change(contact, by=by, reason="authorized contact added")
    _save(contact)
    event_record(
        organization=patient.organization,
        subject=patient,
        kind="accounts.contact.added",
        summary=f"Authorized contact added: {contact.name} ({contact.get_relationship_display()})",
        by=by,
        data={"contact": str(contact.reference), "scopes": contact.scopes},
    )
    return contact


@transaction.atomic(durable=True)
def authorized_contact_end(
    *, contact: AuthorizedContact, end_date: date, reason: str, by: Any
) -> AuthorizedContact:
    """Stop disclosures to a contact from ``end_date`` (revocation); the row is kept for the record."""
    _lock(AuthorizedContact, contact)
    _require(can_edit_patient(by, contact), "You may not change this patient's authorized contacts.")
    if end_date < contact.start_date:
        raise InvalidInput("end_date: cannot be before the start date", field="end_date")
    contact.end_date = end_date
    mark_change(contact, by=by, reason=_reason(reason))
    _save(contact, update_fields=["end_date", "updated_at"])
    event_record(
        organization=contact.organization,
        subject=contact.patient,
        kind="accounts.contact.ended",
        summary=f"Authorization for {contact.name} ends {end_date:%m/%d/%Y}",
        by=by,
        data={"contact": str(contact.reference), "reason": reason},
    )
    return contact


# --- coverages ------------------------------------------------------------------------------------

COVERAGE_FIELDS = {
    "member_id",
    "group_number",
    "subscriber_name",
    "subscriber_date_of_birth",
    "relationship_to_subscriber",
    "priority",
    "effective_from",
    "effective_to",
    "is_active",
    "plan",
    "external_id",
}


def _make_room(patient: Patient, coverage: Coverage, by: Any) -> None:
    """Give ``coverage`` its priority: active coverages at or after it move one place down."""
    others = list(
        Coverage.objects.filter(patient=patient, is_active=True, priority__gte=coverage.priority)
        .exclude(pk=coverage.pk)
        .order_by("priority", "pk")
    )
    expected = coverage.priority
    for other in others:
        if other.priority != expected:
            break
        if other.priority >= Coverage.Priority.TERTIARY:
            raise InvalidInput(
                "priority: the patient already has a tertiary coverage; end one before adding another",
                field="priority",
            )
        other.priority += 1
        mark_change(other, by=by, reason=f"moved down for {coverage.plan}")
        other.save(update_fields=["priority", "updated_at"])
        expected += 1


@transaction.atomic(durable=True)
def coverage_add(
    *, patient: Patient, plan: Any, member_id: str, subscriber_name: str, by: Any, **fields: Any
) -> Coverage:
    """Add a coverage in its order; one already in that place moves down (primary → secondary)."""
    _lock(Patient, patient)
    _require(can_edit_patient(by, patient), "You may not change this patient's coverage.")
    _same_org(patient, plan, "plan")
    unknown = set(fields) - COVERAGE_FIELDS
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]}: not a coverage field", field=sorted(unknown)[0])
    fields.setdefault("effective_from", timezone.localdate())
    coverage = Coverage(
        organization_id=patient.organization_id,
        patient=patient,
        plan=plan,
        member_id=member_id.strip(),
        subscriber_name=subscriber_name.strip(),
        **fields,
    )
    _validate(coverage, validate_unique=False, validate_constraints=False)
    if coverage.is_active:
        _make_room(patient, coverage, by)
    mark_change(coverage, by=by, reason="coverage added")
    _insert(
        coverage,
        Conflict("external_id: a coverage with this external id already exists", field="external_id"),
    )
    event_record(
        organization=patient.organization,
        subject=patient,
        kind="accounts.coverage.added",
        summary=f"{coverage.get_priority_display()} coverage added: {plan}",
        by=by,
        data={"coverage": str(coverage.reference), "plan": str(plan), "priority": coverage.priority},
    )
    return coverage


@transaction.atomic(durable=True)
def coverage_update(*, coverage: Coverage, changes: dict[str, Any], reason: str, by: Any) -> Coverage:
    patient = _lock(Patient, coverage.patient)
    _lock(Coverage, coverage)
    _require(can_edit_patient(by, coverage), "You may not change this patient's coverage.")
    if "plan" in changes:
        _same_org(coverage, changes["plan"], "plan")
    diff = _apply_changes(coverage, changes, COVERAGE_FIELDS)
    if not diff:
        return coverage
    _validate(coverage, validate_unique=False, validate_constraints=False)
    if coverage.is_active and ("priority" in diff or "is_active" in diff):
        _make_room(patient, coverage, by)
    mark_change(coverage, by=by, reason=_reason(reason))
    _save(
        coverage,
        Conflict("external_id: another coverage has this external id", field="external_id"),
        update_fields=[*diff, "updated_at"],
    )
    event_record(
        organization=coverage.organization,
        subject=patient,
        kind="accounts.coverage.updated",
        summary=f"Coverage {coverage.plan} changed: {', '.join(sorted(diff))}",
        by=by,
        data={"coverage": str(coverage.reference), "changes": _diff_data(diff), "reason": reason},
    )
    return coverage


@transaction.atomic(durable=True)
def coverage_verify(
    *, coverage: Coverage, method: str, result: str, by: Any, reference: str = "", note: str = ""
) -> Coverage:
    """Record an eligibility check: when, by whom, how, and what the payer said."""
    _lock(Coverage, coverage)
    _require(can_edit_patient(by, coverage), "You may not verify this coverage.")
    if method not in Coverage.Method.values:
        raise InvalidInput(f"method: {method!r} is not a verification method", field="method")
    if result not in Coverage.Result.values:
        raise InvalidInput(f"result: {result!r} is not a verification result", field="result")
    coverage.verified_at = timezone.now()
    coverage.verified_by = by
    coverage.verification_method = method
    coverage.verification_result = result
    coverage.verification_reference = reference.strip()[:60]
    coverage.verification_note = note.strip()
    mark_change(coverage, by=by, reason="coverage verified")
    coverage.save(
        update_fields=[
            "verified_at",
            "verified_by",
            "verification_method",
            "verification_result",
            "verification_reference",
            "verification_note",
            "updated_at",
        ]
    )
    event_record(
        organization=coverage.organization,
        subject=coverage.patient,
        kind="accounts.coverage.verified",
        summary=f"Coverage {coverage.plan} verified by {coverage.get_verification_method_display().lower()}: "
        f"{coverage.get_verification_result_display()}",
        by=by,
        data={
            "coverage": str(coverage.reference),
            "method": method,
            "result": result,
            "reference": reference,
        },
    )
    return coverage


# --- accounts -------------------------------------------------------------------------------------


def guarantor_for_patient(patient: Patient) -> Guarantor:
    """The patient as their own guarantor (created once, reused by their other accounts)."""
    guarantor = Guarantor.objects.filter(patient=patient, relationship=Guarantor.Relationship.SELF).first()
    if guarantor is None:
        guarantor = Guarantor(
            organization_id=patient.organization_id,
            patient=patient,
            relationship=Guarantor.Relationship.SELF,
            first_name=patient.first_name,
            last_name=patient.last_name,
            date_of_birth=patient.date_of_birth,
            address_line1=patient.address_line1,
            address_line2=patient.address_line2,
            city=patient.city,
            state=patient.state,
            postal_code=patient.postal_code,
            phone=patient.phone or patient.mobile_phone,
            email=patient.email,
        )
        guarantor.save()
    return guarantor


ACCOUNT_FIELDS = {
    "facility",
    "service_to",
    "financial_class",
    "interpreter_needed",
    "dispute_hold",
    "financial_assistance_pending",
}


@transaction.atomic(durable=True)
def account_create(
    *,
    patient: Patient,
    account_number: str,
    kind: str,
    service_from: date,
    by: Any,
    guarantor: Guarantor | None = None,
    **fields: Any,
) -> PatientAccount:
    _require(can_create_account(by, patient.organization), "You may not open accounts in this organization.")
    _same_org(patient, guarantor, "guarantor")
    unknown = set(fields) - ACCOUNT_FIELDS
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]}: not an account field", field=sorted(unknown)[0])
    if guarantor is None:
        guarantor = guarantor_for_patient(patient)
    fields.setdefault("interpreter_needed", patient.needs_interpreter)
    account = PatientAccount(
        organization_id=patient.organization_id,
        patient=patient,
        guarantor=guarantor,
        account_number=account_number.strip(),
        kind=kind,
        service_from=service_from,
        **fields,
    )
    _validate(account, validate_unique=False, validate_constraints=False)
    mark_change(account, by=by, reason="account opened")
    _insert(
        account,
        Conflict(f"account_number: account {account.account_number} already exists", field="account_number"),
    )
    event_record(
        organization=patient.organization,
        subject=account,
        kind="accounts.account.opened",
        summary=f"Account {account.account_number} opened ({account.get_kind_display()})",
        by=by,
    )
    return account


@transaction.atomic(durable=True)
def account_status_change(*, account: PatientAccount, status: str, reason: str, by: Any) -> PatientAccount:
    lock_account(account)
    _require(
        can_change_account_status(by, account),
        "Only senior representatives and supervisors change account status.",
    )
    if status not in PatientAccount.Status.values:
        raise InvalidInput(f"status: {status!r} is not an account status", field="status")
    if not account.can_transition_to(status):
        raise InvalidTransition(
            f"status: an account that is {account.get_status_display().lower()} cannot become "
            f"{PatientAccount.Status(status).label.lower()}",
            field="status",
        )
    if (
        status in (PatientAccount.Status.IN_COLLECTIONS, PatientAccount.Status.BAD_DEBT)
        and account.dispute_hold
    ):
        raise InvalidTransition(
            "status: the account is on dispute hold; resolve the dispute first", field="status"
        )
    if status == PatientAccount.Status.CLOSED and account.balance != ZERO:
        raise InvalidTransition(
            f"status: the account still has a balance of {format_money(account.balance)}", field="status"
        )
    old = account.status
    account.status = status
    mark_change(account, by=by, reason=_reason(reason))
    account.save(update_fields=["status", "updated_at"])
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.account.status_changed",
        summary=f"Status {PatientAccount.Status(old).label} → {account.get_status_display()}",
        by=by,
        data={"old": old, "new": status, "reason": reason},
    )
    return account


@transaction.atomic(durable=True)
def account_update(
    *, account: PatientAccount, changes: dict[str, Any], reason: str, by: Any
) -> PatientAccount:
    """Flags (dispute hold, interpreter, financial assistance pending) and descriptive fields."""
    lock_account(account)
    _require(can_edit_patient(by, account), "You may not change this account.")
    diff = _apply_changes(account, changes, ACCOUNT_FIELDS)
    if not diff:
        return account
    _validate(account, validate_unique=False, validate_constraints=False)
    mark_change(account, by=by, reason=_reason(reason))
    _save(account, update_fields=[*diff, "updated_at"])
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.account.updated",
        summary="Account changed: "
        + ", ".join(PatientAccount._meta.get_field(f).verbose_name for f in sorted(diff)),
        by=by,
        data={"changes": _diff_data(diff), "reason": reason},
    )
    return account


# --- charges ----------------------------------------------------------------------------------------


def responsible_coverages(account: PatientAccount, days: set[date]) -> dict[date, Coverage | None]:
    """Who is billed first for services on each of ``days``: the primary coverage in force on
    that day (lowest priority number), or None for the patient when there is none or the
    account is self-pay. One query, however many days."""
    if account.financial_class == PatientAccount.FinancialClass.SELF_PAY or not days:
        return dict.fromkeys(days)
    coverages = list(
        Coverage.objects.filter(patient_id=account.patient_id, is_active=True, effective_from__lte=max(days))
        .in_order()
        .select_related("plan")
    )
    return {
        day: next(
            (
                c
                for c in coverages
                if c.effective_from <= day and (c.effective_to is None or c.effective_to >= day)
            ),
            None,
        )
        for day in days
    }


@dataclass(frozen=True)
class ChargeInput:
    service_date: date
    code_type: str
    code: str
    amount: Decimal
    units: Decimal = Decimal("1")
    modifiers: tuple[str, ...] = ()
    diagnoses: tuple[str, ...] = ()
    revenue_code: str = ""
    description: str = ""
    place_of_service: str = ""
    external_id: str = ""
    rx_number: str = ""
    fill_number: int | None = None
    ndc: str = ""
    quantity: Decimal | None = None
    days_supply: int | None = None


def post_charges_locked(
    *,
    account: PatientAccount,
    items: list[ChargeInput],
    by: Any,
    source: str = "manual",
    price_memo: dict | None = None,
) -> list[Charge]:
    """Charges and their ledger entries on an account the caller has locked; runs the edits.

    Used by ``charge_post`` and by the CSV and 837 importers inside their own transactions;
    an importer passes one ``price_memo`` for the whole file (see ``edits.refresh_account_edits``).
    """
    charges = []
    for item in items:
        charge = Charge(
            organization_id=account.organization_id,
            account=account,
            external_id=item.external_id,
            service_date=item.service_date,
            code_type=item.code_type,
            code=item.code.strip().upper(),
            modifiers=[m.strip().upper() for m in item.modifiers if m.strip()],
            revenue_code=item.revenue_code.strip(),
            diagnoses=[d.strip().upper().replace(".", "") for d in item.diagnoses if d.strip()],
            description=item.description.strip(),
            units=item.units,
            amount=item.amount,
            place_of_service=item.place_of_service,
            rx_number=item.rx_number,
            fill_number=item.fill_number,
            ndc=item.ndc,
            quantity=item.quantity,
            days_supply=item.days_supply,
        )
        # The organization and account are known good: skip their per-row lookups.
        _validate(
            charge, exclude=["organization", "account"], validate_unique=False, validate_constraints=False
        )
        if charge.amount <= ZERO:
            raise InvalidInput("amount: a charge must be more than 0.00", field="amount")
        charges.append(charge)
    duplicate = (
        f"external_id: charge {charges[0].external_id} was already posted"
        if len(charges) == 1
        else "external_id: one of these charges was already posted (same external id)"
    )
    try:
        with transaction.atomic(savepoint=True):
            bulk_create_with_history(
                charges, Charge, default_user=by, default_change_reason=f"charge posted ({source})"
            )
    except IntegrityError as exc:
        raise error_from_integrity(exc, Charge, Conflict(duplicate, field="external_id")) from None
    coverage_on = responsible_coverages(account, {c.service_date for c in charges})
    specs = []
    for charge in charges:
        coverage = coverage_on[charge.service_date]
        specs.append(
            EntrySpec(
                kind=LedgerEntry.Kind.CHARGE,
                amount=charge.amount,
                coverage_id=coverage.pk if coverage else None,
                charge=charge,
                effective_date=charge.service_date,
                source_ref=charge.external_id,
                memo=str(charge),
            )
        )
    post_entries(account=account, specs=specs, source=source, by=by)
    edits.refresh_account_edits(account, by=by, memo=price_memo)
    total = sum((c.amount for c in charges), ZERO)
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.charges.posted",
        summary=f"{len(charges)} charge{'s' if len(charges) != 1 else ''} posted, {format_money(total)}",
        by=by,
        data={"charges": [str(c.reference) for c in charges], "total": str(total), "source": source},
    )
    return charges


@transaction.atomic(durable=True)
def charge_post(*, account: PatientAccount, items: list[ChargeInput], by: Any) -> list[Charge]:
    lock_account(account)
    _require(can_post_charges(by, account), "Only posting specialists and supervisors post charges.")
    if not items:
        raise InvalidInput("charges: nothing to post", field="charges")
    return post_charges_locked(account=account, items=items, by=by)


CORRECTABLE_CHARGE_FIELDS = {
    "code",
    "modifiers",
    "revenue_code",
    "diagnoses",
    "description",
    "units",
    "place_of_service",
    "rx_number",
    "fill_number",
    "ndc",
    "quantity",
    "days_supply",
}


@transaction.atomic(durable=True)
def charge_correct(*, charge: Charge, changes: dict[str, Any], reason: str, by: Any) -> Charge:
    """Fix a coding mistake or typo on a charge; the edits are re-run.

    The amount and date are money facts in the ledger: to change them, reverse the
    charge and post it again.
    """
    account = lock_account(charge.account)
    _lock(Charge, charge)
    _require(can_post_charges(by, account), "Only posting specialists and supervisors correct charges.")
    if charge.status != Charge.Status.POSTED:
        raise InvalidTransition("charge: a reversed charge cannot be corrected", field="charge")
    if "modifiers" in changes:
        changes["modifiers"] = [m.strip().upper() for m in changes["modifiers"] if m.strip()]
    if "diagnoses" in changes:
        changes["diagnoses"] = [d.strip().upper().replace(".", "") for d in changes["diagnoses"] if d.strip()]
    if "code" in changes:
        changes["code"] = changes["code"].strip().upper()
    diff = _apply_changes(charge, changes, CORRECTABLE_CHARGE_FIELDS)
    if not diff:
        return charge
    _validate(charge, validate_unique=False, validate_constraints=False)
    mark_change(charge, by=by, reason=_reason(reason))
    _save(charge, update_fields=[*diff, "updated_at"])
    edits.refresh_account_edits(account, by=by)
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.charge.corrected",
        summary=f"Charge {charge} corrected: {', '.join(sorted(diff))}",
        by=by,
        data={"charge": str(charge.reference), "changes": _diff_data(diff), "reason": reason},
    )
    return charge


@transaction.atomic(durable=True)
def charge_edit_override(*, edit: ChargeEdit, reason: str, by: Any) -> ChargeEdit:
    """Accept a flagged charge as it is (a real 99 units, a real out-of-schedule price)."""
    _lock(ChargeEdit, edit)
    _require(can_override_edits(by, edit), "You may not override charge edits.")
    if edit.status != ChargeEdit.Status.OPEN:
        raise InvalidTransition(
            f"status: this edit is already {edit.get_status_display().lower()}", field="status"
        )
    edit.status = ChargeEdit.Status.OVERRIDDEN
    edit.override_reason = _reason(reason)[:300]
    edit.resolved_by = by
    edit.resolved_at = timezone.now()
    mark_change(edit, by=by, reason=reason)
    edit.save(update_fields=["status", "override_reason", "resolved_by", "resolved_at", "updated_at"])
    event_record(
        organization=edit.organization,
        subject=edit.charge.account,
        kind="accounts.charge_edit.overridden",
        summary=f"Edit overridden on {edit.charge}: {edit.get_rule_display()}",
        by=by,
        data={"edit": str(edit.reference), "rule": edit.rule, "reason": reason},
    )
    return edit


# --- money movements ----------------------------------------------------------------------------


def _coverage_on(account: PatientAccount, coverage: Coverage | None) -> Coverage | None:
    if coverage is not None and coverage.patient_id != account.patient_id:
        raise InvalidInput("coverage: is not a coverage of this account's patient", field="coverage")
    return coverage


def _bucket_balance(account: PatientAccount, coverage: Coverage | None) -> Decimal:
    row = (
        AccountBucket.objects.filter(account=account, coverage=coverage)
        .values_list("balance", flat=True)
        .first()
    )
    return row if row is not None else ZERO


def _bucket_name(coverage: Coverage | None) -> str:
    return "patient" if coverage is None else str(coverage.plan.payer)


def next_responsible(account: PatientAccount, after: Coverage | None) -> Coverage | None:
    """The coverage that pays after ``after`` (None: the patient)."""
    if after is None:
        return None
    on = account.service_from
    return (
        Coverage.objects.filter(patient_id=account.patient_id, priority__gt=after.priority)
        .active_on(on)
        .in_order()
        .first()
    )


@transaction.atomic(durable=True)
def balance_transfer(
    *,
    account: PatientAccount,
    from_coverage: Coverage | None,
    amount: Any,
    reason: str,
    by: Any,
    to_coverage: Coverage | None = None,
    to_next: bool = True,
) -> list[LedgerEntry]:
    """Move a balance between responsible parties: insurance → next coverage → patient.

    With ``to_next`` the destination is the coverage after ``from_coverage`` (or the patient);
    otherwise ``to_coverage`` (None meaning the patient). Two entries summing to zero.
    """
    lock_account(account)
    _require(can_adjust_balance(by, account), "You may not transfer balances on this account.")
    amount = _positive(amount)
    from_coverage = _coverage_on(account, from_coverage)
    target = next_responsible(account, from_coverage) if to_next else _coverage_on(account, to_coverage)
    if from_coverage == target:
        raise InvalidInput("to: the balance is already with that party", field="to")
    available = _bucket_balance(account, from_coverage)
    if amount > available:
        raise InvalidInput(
            f"amount: {format_money(amount)} is more than the {_bucket_name(from_coverage)} balance of "
            f"{format_money(available)}",
            field="amount",
        )
    reason = _reason(reason)
    group = uuid.uuid4()
    entries = post_entries(
        account=account,
        specs=[
            EntrySpec(
                LedgerEntry.Kind.TRANSFER,
                -amount,
                from_coverage.pk if from_coverage else None,
                memo=reason,
                transfer_group=group,
            ),
            EntrySpec(
                LedgerEntry.Kind.TRANSFER,
                amount,
                target.pk if target else None,
                memo=reason,
                transfer_group=group,
            ),
        ],
        source="manual",
        by=by,
    )
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.balance.transferred",
        summary=f"{format_money(amount)} moved from {_bucket_name(from_coverage)} to {_bucket_name(target)}",
        by=by,
        data={"amount": str(amount), "reason": reason, "entries": [str(e.reference) for e in entries]},
    )
    return entries


@dataclass(frozen=True)
class AdjustmentOutcome:
    """Either the posted entry, or the approval request sent to a supervisor."""

    entry: LedgerEntry | None = None
    request: AdjustmentRequest | None = None


def _limit_kind(kind: str) -> str:
    return (
        ApprovalLimit.Kind.WRITE_OFF if kind == LedgerEntry.Kind.WRITE_OFF else ApprovalLimit.Kind.ADJUSTMENT
    )


def _check_adjustment(
    account: PatientAccount, kind: str, reason_code: str, coverage: Coverage | None
) -> None:
    if kind not in ADJUSTMENT_KINDS:
        raise InvalidInput(f"kind: {kind!r} is not an adjustment kind", field="kind")
    if reason_code not in AdjustmentReason.values:
        raise InvalidInput(f"reason_code: {reason_code!r} is not an adjustment reason", field="reason_code")
    _coverage_on(account, coverage)


def _post_adjustment(
    account: PatientAccount,
    kind: str,
    coverage: Coverage | None,
    amount: Decimal,
    reason_code: str,
    memo: str,
    by: Any,
) -> LedgerEntry:
    (entry,) = post_entries(
        account=account,
        specs=[
            EntrySpec(kind, -amount, coverage.pk if coverage else None, reason_code=reason_code, memo=memo)
        ],
        source="manual",
        by=by,
    )
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.balance.adjusted",
        summary=f"{LedgerEntry.Kind(kind).label} of {format_money(amount)} on the {_bucket_name(coverage)} "
        f"balance ({AdjustmentReason(reason_code).label})",
        by=by,
        data={"entry": str(entry.reference), "amount": str(amount), "reason_code": reason_code, "memo": memo},
    )
    return entry


@transaction.atomic(durable=True)
def adjustment_submit(
    *,
    account: PatientAccount,
    kind: str,
    amount: Any,
    reason_code: str,
    memo: str,
    by: Any,
    coverage: Coverage | None = None,
) -> AdjustmentOutcome:
    """Lower a bucket's balance by ``amount``. Within the actor's limit it posts at once;
    above it, an approval request goes to a supervisor and nothing is posted yet."""
    lock_account(account)
    _require(can_adjust_balance(by, account), "You may not adjust balances on this account.")
    amount = _positive(amount)
    _check_adjustment(account, kind, reason_code, coverage)
    memo = _reason(memo, "memo")
    available = _bucket_balance(account, coverage)
    if amount > available:
        raise InvalidInput(
            f"amount: {format_money(amount)} is more than the {_bucket_name(coverage)} balance of "
            f"{format_money(available)}",
            field="amount",
        )
    if amount <= approval_limit_for(by, account.organization, _limit_kind(kind)):
        return AdjustmentOutcome(
            entry=_post_adjustment(account, kind, coverage, amount, reason_code, memo, by)
        )
    request = AdjustmentRequest(
        organization_id=account.organization_id,
        account=account,
        kind=kind,
        coverage=coverage,
        amount=amount,
        reason_code=reason_code,
        memo=memo,
        requested_by=by,
    )
    mark_change(request, by=by, reason="above the requester's approval limit")
    request.save()
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.adjustment.requested",
        summary=f"{LedgerEntry.Kind(kind).label} of {format_money(amount)} sent for supervisor approval",
        by=by,
        data={"request": str(request.reference), "amount": str(amount), "reason_code": reason_code},
    )
    return AdjustmentOutcome(request=request)


def _decide(request: AdjustmentRequest, status: str, by: Any, note: str) -> None:
    if not request.can_transition_to(status):
        raise InvalidTransition(
            f"status: this request is already {request.get_status_display().lower()}", field="status"
        )
    request.status = status
    request.decided_by = by
    request.decided_at = timezone.now()
    request.decision_note = note[:300]


@transaction.atomic(durable=True)
def adjustment_request_approve(*, request: AdjustmentRequest, by: Any, note: str = "") -> AdjustmentRequest:
    """Post a pending adjustment. The approver's own limit must cover it, and nobody approves their own."""
    account = lock_account(request.account)
    _lock(AdjustmentRequest, request)
    _require(can_approve_adjustments(by, request), "Only supervisors approve adjustments.")
    if not request.can_transition_to(AdjustmentRequest.Status.APPROVED):
        raise InvalidTransition(
            f"status: this request is already {request.get_status_display().lower()}", field="status"
        )
    if request.requested_by_id == by.pk:
        raise NotPermitted("You cannot approve your own request.")
    limit = approval_limit_for(by, account.organization, _limit_kind(request.kind))
    if request.amount > limit:
        raise ApprovalRequired(
            f"amount: {format_money(request.amount)} is above your approval limit of {format_money(limit)}",
            field="amount",
        )
    available = _bucket_balance(account, request.coverage)
    if request.amount > available:
        raise InvalidTransition(
            f"amount: the {_bucket_name(request.coverage)} balance is now {format_money(available)}, "
            f"less than the {format_money(request.amount)} requested; reject it and ask for a new request",
            field="amount",
        )
    _decide(request, AdjustmentRequest.Status.APPROVED, by, note)
    request.entry = _post_adjustment(
        account, request.kind, request.coverage, request.amount, request.reason_code, request.memo, by
    )
    mark_change(request, by=by, reason=note or "approved")
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "entry", "updated_at"])
    return request


@transaction.atomic(durable=True)
def adjustment_request_reject(*, request: AdjustmentRequest, by: Any, note: str) -> AdjustmentRequest:
    _lock(AdjustmentRequest, request)
    _require(can_approve_adjustments(by, request), "Only supervisors reject adjustments.")
    note = _reason(note, "note")
    _decide(request, AdjustmentRequest.Status.REJECTED, by, note)
    mark_change(request, by=by, reason=note)
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    event_record(
        organization=request.organization,
        subject=request.account,
        kind="accounts.adjustment.rejected",
        summary=f"{LedgerEntry.Kind(request.kind).label} of {format_money(request.amount)} rejected",
        by=by,
        data={"request": str(request.reference), "note": note},
    )
    return request


@transaction.atomic(durable=True)
def adjustment_request_withdraw(*, request: AdjustmentRequest, by: Any) -> AdjustmentRequest:
    _lock(AdjustmentRequest, request)
    if request.requested_by_id != by.pk:
        raise NotPermitted("Only the person who asked may withdraw a request.")
    _decide(request, AdjustmentRequest.Status.WITHDRAWN, by, "withdrawn")
    mark_change(request, by=by, reason="withdrawn by requester")
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    event_record(
        organization=request.organization,
        subject=request.account,
        kind="accounts.adjustment.withdrawn",
        summary=f"Request for {format_money(request.amount)} withdrawn",
        by=by,
    )
    return request


@transaction.atomic(durable=True)
def entry_reverse(*, entry: LedgerEntry, reason: str, by: Any) -> list[LedgerEntry]:
    """Undo a posted entry with its mirror image (both halves for a transfer).

    A reversal cannot be reversed (post the original again instead), and an entry is
    reversed at most once: a unique key on ``reverses`` enforces that under races.
    """
    account = lock_account(entry.account)
    _require(can_reverse_entries(by, account), "Only posting specialists and supervisors reverse entries.")
    reason = _reason(reason)
    originals = [entry]
    if entry.transfer_group is not None:
        originals = list(LedgerEntry.objects.filter(transfer_group=entry.transfer_group).order_by("id"))
    for original in originals:
        if original.kind == LedgerEntry.Kind.REVERSAL:
            raise InvalidTransition("entry: a reversal cannot itself be reversed", field="entry")
    if LedgerEntry.objects.filter(reverses__in=originals).exists():
        raise InvalidTransition("entry: this entry has already been reversed", field="entry")
    try:
        with transaction.atomic(savepoint=True):
            reversals = post_entries(
                account=account,
                specs=[
                    EntrySpec(
                        LedgerEntry.Kind.REVERSAL,
                        -original.amount,
                        original.coverage_id,
                        reason_code=original.reason_code,
                        memo=reason,
                        reverses=original,
                        charge=original.charge,
                    )
                    for original in originals
                ],
                source="manual",
                by=by,
            )
    except IntegrityError:
        raise InvalidTransition("entry: this entry has already been reversed", field="entry") from None
    charge_ids = {o.charge_id for o in originals if o.kind == LedgerEntry.Kind.CHARGE and o.charge_id}
    for charge in Charge.objects.filter(pk__in=charge_ids).select_for_update(no_key=True):
        charge.status = Charge.Status.REVERSED
        mark_change(charge, by=by, reason=reason)
        charge.save(update_fields=["status", "updated_at"])
    if charge_ids:
        edits.refresh_account_edits(account, by=by)
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.entry.reversed",
        summary=f"{entry.get_kind_display()} of {format_money(abs(entry.amount))} reversed",
        by=by,
        data={"entries": [str(o.reference) for o in originals], "reason": reason},
    )
    return reversals


def statement_recorded(*, account: PatientAccount, on: date, by: Any) -> None:
    """Note that a statement went out (first and last statement dates drive 501(r) clocks).

    Called by correspondence inside its own transaction, after it locked the account.
    """
    account.first_statement_on = account.first_statement_on or on
    account.last_statement_on = on
    mark_change(account, by=by, reason="statement sent")
    account.save(update_fields=["first_statement_on", "last_statement_on", "updated_at"])
