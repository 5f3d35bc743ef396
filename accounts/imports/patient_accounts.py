"""Accounts file: one row per account, keyed by ``account_number``, with its guarantor.

The guarantor is the patient (``accounts.services.guarantor_for_patient``) unless
``guarantor_relationship`` names someone else. Another person is found again on
re-import by ``guarantor_external_id`` when the file has one, otherwise by relationship,
name and date of birth among the guarantors already on that patient's accounts.

What identifies an account (its patient, kind and first day of service) cannot be
changed by a file, as on the account page; facility, last day of service, financial
class and guarantor can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms

from accounts.imports.base import (
    DATE_HELP,
    ChoiceCell,
    Column,
    ImportContext,
    ImportKind,
    ParsedRow,
    PhoneCell,
    PostalCodeCell,
    StateCell,
    assign_changes,
    choices_help,
    date_cell,
    not_before_1900,
    present_values,
    text_cell,
)
from accounts.imports.patients import patients_by_external_id
from accounts.models import (
    AccountKind,
    FinancialClass,
    Guarantor,
    GuarantorRelationship,
    Patient,
    PatientAccount,
)
from accounts.services import guarantor_for_patient

ACCOUNT_FIELDS = {"service_to": "service_to", "facility": "facility", "financial_class": "financial_class"}
# Guarantor columns → Guarantor fields (relationship and external id are handled on their own).
GUARANTOR_FIELDS = {
    f"guarantor_{name}": name
    for name in (
        "first_name",
        "last_name",
        "date_of_birth",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "postal_code",
        "phone",
        "email",
    )
}
GUARANTOR_COLUMNS = {"guarantor_external_id", "guarantor_relationship", *GUARANTOR_FIELDS}
# Model field → column, to report a guarantor's model errors where the file has them.
GUARANTOR_ERROR_COLUMNS = {
    **{name: column for column, name in GUARANTOR_FIELDS.items()},
    "relationship": "guarantor_relationship",
    "external_id": "guarantor_external_id",
}
SELF = GuarantorRelationship.SELF


class AccountRowForm(forms.Form):
    account_number = text_cell(38, required=True)
    patient_external_id = text_cell(64, required=True)
    kind = ChoiceCell(AccountKind, required=True)
    service_from = date_cell(required=True)
    service_to = date_cell()
    facility = text_cell(120)
    financial_class = ChoiceCell(FinancialClass, default=FinancialClass.COMMERCIAL)
    guarantor_external_id = text_cell(64)
    guarantor_relationship = ChoiceCell(GuarantorRelationship, default="")
    guarantor_first_name = text_cell(60)
    guarantor_last_name = text_cell(60)
    guarantor_date_of_birth = date_cell()
    guarantor_address_line1 = text_cell(120)
    guarantor_address_line2 = text_cell(120)
    guarantor_city = text_cell(60)
    guarantor_state = StateCell(required=False)
    guarantor_postal_code = PostalCodeCell(required=False)
    guarantor_phone = PhoneCell(required=False)
    guarantor_email = forms.EmailField(max_length=254, required=False)

    def clean_service_from(self) -> date:
        day = self.cleaned_data["service_from"]
        not_before_1900(day)
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("service_from"), data.get("service_to")
        if start and end and end < start:
            self.add_error("service_to", "is before service_from")
        relationship = data.get("guarantor_relationship")
        someone = any(
            data.get(c) for c in ("guarantor_external_id", "guarantor_first_name", "guarantor_last_name")
        )
        if relationship == "" and someone and "guarantor_relationship" not in self.errors:
            self.add_error(
                "guarantor_relationship",
                "is required when a guarantor is named; use self when the patient is their own guarantor",
            )
        if relationship not in ("", SELF):
            for column in ("guarantor_first_name", "guarantor_last_name"):
                if not data.get(column) and column not in self.errors:
                    self.add_error(column, "is required when the guarantor is not the patient")
        return data


@dataclass
class GuarantorChoice:
    """Who a row makes the guarantor: the patient themself, or ``guarantor`` (saved or new)."""

    patient: Patient
    guarantor: Guarantor | None = None


@dataclass
class AccountPlan:
    new_guarantors: list[Guarantor] = field(default_factory=list)
    changed_guarantors: list[Guarantor] = field(default_factory=list)
    guarantor_fields: set[str] = field(default_factory=set)
    new_accounts: list[tuple[PatientAccount, GuarantorChoice]] = field(default_factory=list)
    changed_accounts: list[tuple[PatientAccount, GuarantorChoice | None]] = field(default_factory=list)
    account_fields: set[str] = field(default_factory=set)
    self_guarantors: dict[int, Guarantor] = field(default_factory=dict)
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Guarantors:
    """The guarantors a file may refer to, loaded in bulk, plus the ones its rows create."""

    by_external_id: dict[str, Guarantor]
    by_person: dict[tuple, Guarantor]
    # id(guarantor) → (line, values) of the first row that set its details.
    claimed: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)


def _person(patient_id: int, values: dict[str, Any]) -> tuple:
    return (
        patient_id,
        values["relationship"],
        values.get("first_name", "").lower(),
        values.get("last_name", "").lower(),
        values.get("date_of_birth"),
    )


class AccountImport(ImportKind):
    name = "accounts"
    label = "Accounts"
    key = "account_number"
    noun = "account"
    form_class = AccountRowForm
    columns = (
        Column("account_number", True, "The account (encounter) number; the key.", "A-2026-000123"),
        Column(
            "patient_external_id",
            True,
            "The patient's external_id; the patient must already be imported.",
            "P100234",
        ),
        Column("kind", True, f"{choices_help(AccountKind)}.", "professional"),
        Column("service_from", True, f"First day of service, {DATE_HELP}.", "2026-09-14"),
        Column("service_to", False, f"Last day of service, {DATE_HELP}.", "2026-09-14"),
        Column("facility", False, "Facility or location name.", "Riverside Main Campus"),
        Column(
            "financial_class", False, f"{choices_help(FinancialClass)}; empty means commercial.", "commercial"
        ),
        Column(
            "guarantor_external_id",
            False,
            "Your id for a guarantor who is not the patient; finds the same person on re-import.",
            "G5521",
        ),
        Column(
            "guarantor_relationship",
            False,
            f"{choices_help(GuarantorRelationship)}. Empty or self: the patient is their own guarantor "
            "and the other guarantor columns are not used.",
            "parent",
        ),
        Column("guarantor_first_name", False, "Required when the guarantor is not the patient.", "Rosa"),
        Column("guarantor_last_name", False, "Required when the guarantor is not the patient.", "Lopez"),
        Column("guarantor_date_of_birth", False, f"{DATE_HELP}.", "1961-11-02"),
        Column("guarantor_address_line1", False, "Street address.", "1420 W Addison St"),
        Column("guarantor_address_line2", False, "Apartment, suite…", ""),
        Column("guarantor_city", False, "City.", "Chicago"),
        Column("guarantor_state", False, "Two-letter state code.", "IL"),
        Column("guarantor_postal_code", False, "ZIP code.", "60613"),
        Column("guarantor_phone", False, "Ten-digit phone number.", "312-555-0177"),
        Column("guarantor_email", False, "Email address.", "rosa.lopez@example.com"),
    )

    def check(self, rows: list[ParsedRow], ctx: ImportContext) -> AccountPlan:
        organization = ctx.organization
        patients = patients_by_external_id(organization, [row.get("patient_external_id") for row in rows])
        numbers = {row.get("account_number") for row in rows if row.get("account_number")}
        existing = {
            account.account_number: account
            for account in PatientAccount.objects.filter(
                organization=organization, account_number__in=numbers
            )
        }
        plan = AccountPlan()
        patient_ids = {patient.pk for patient in patients.values()}
        for guarantor in Guarantor.objects.filter(
            organization=organization, patient_id__in=patient_ids, relationship=SELF
        ).order_by("pk"):
            plan.self_guarantors.setdefault(guarantor.patient_id, guarantor)
        guarantors = self._load_guarantors(rows, ctx, patient_ids) if self._names_guarantor(ctx) else None

        for row in rows:
            patient = patients.get(row.get("patient_external_id"))
            if row.get("patient_external_id") and patient is None:
                ctx.error(
                    row.line,
                    "patient_external_id",
                    f"no patient with this external id in {organization.name}; import the patient first",
                )
                continue
            if not row.valid or patient is None:
                continue
            choice = None
            guarantor_dirty = False
            if guarantors is not None:
                resolved = self._guarantor(row, patient, ctx, guarantors, plan)
                if resolved is None:
                    continue
                choice, guarantor_dirty = resolved
            values = present_values(row, ctx, ACCOUNT_FIELDS)
            account = existing.get(row.data["account_number"])
            if account is None:
                self._new_account(row, patient, values, choice or GuarantorChoice(patient), ctx, plan)
                continue
            if self._identity_changed(account, patient, row, ctx):
                continue
            changed = assign_changes(account, values)
            if choice is not None and self._target_id(choice, plan) != account.guarantor_id:
                changed.append("guarantor")
            else:
                choice = None
            if not changed and not guarantor_dirty:
                plan.unchanged += 1
                continue
            plan.updated += 1
            if changed:
                if ctx.model_errors(account, row.line, exclude=["organization", "patient", "guarantor"]):
                    continue
                plan.changed_accounts.append((account, choice))
                plan.account_fields.update(changed)
        return plan

    # --- guarantors ----------------------------------------------------------------------

    def _names_guarantor(self, ctx: ImportContext) -> bool:
        return any(ctx.has(column) for column in GUARANTOR_COLUMNS)

    def _load_guarantors(
        self, rows: list[ParsedRow], ctx: ImportContext, patient_ids: set[int]
    ) -> _Guarantors:
        organization = ctx.organization
        external_ids = {row.get("guarantor_external_id") for row in rows if row.get("guarantor_external_id")}
        by_external_id = {
            guarantor.external_id: guarantor
            for guarantor in Guarantor.objects.filter(organization=organization, external_id__in=external_ids)
        }
        # Guarantors (other than the patients themselves) already on these patients' accounts.
        links = list(
            PatientAccount.objects.filter(organization=organization, patient_id__in=patient_ids)
            .values_list("patient_id", "guarantor_id")
            .distinct()
        )
        linked = Guarantor.objects.filter(pk__in={g for _, g in links}, patient__isnull=True).in_bulk()
        by_person: dict[tuple, Guarantor] = {}
        for patient_id, guarantor_id in sorted(links):
            guarantor = linked.get(guarantor_id)
            if guarantor is not None:
                values = {
                    "relationship": guarantor.relationship,
                    "first_name": guarantor.first_name,
                    "last_name": guarantor.last_name,
                    "date_of_birth": guarantor.date_of_birth,
                }
                by_person.setdefault(_person(patient_id, values), guarantor)
        return _Guarantors(by_external_id, by_person)

    def _guarantor(
        self, row: ParsedRow, patient: Patient, ctx: ImportContext, known: _Guarantors, plan: AccountPlan
    ) -> tuple[GuarantorChoice, bool] | None:
        """The row's guarantor and whether the row changes its details; None after recording an error."""
        relationship = row.data["guarantor_relationship"] if ctx.has("guarantor_relationship") else ""
        if relationship in ("", SELF):
            return GuarantorChoice(patient), False
        values = {"relationship": relationship, **present_values(row, ctx, GUARANTOR_FIELDS)}
        external_id = row.data.get("guarantor_external_id", "") if ctx.has("guarantor_external_id") else ""
        if external_id:
            guarantor = known.by_external_id.get(external_id)
        else:
            guarantor = known.by_person.get(_person(patient.pk, values))
        if guarantor is None:
            guarantor = Guarantor(organization=ctx.organization, external_id=external_id, **values)
            if self._guarantor_invalid(guarantor, row, ctx):
                return None
            plan.new_guarantors.append(guarantor)
            known.claimed[id(guarantor)] = (row.line, values)
            if external_id:
                known.by_external_id[external_id] = guarantor
            else:
                known.by_person[_person(patient.pk, values)] = guarantor
            return GuarantorChoice(patient, guarantor), False
        if guarantor.patient_id is not None:
            ctx.error(
                row.line,
                "guarantor_external_id",
                "this guarantor id belongs to a patient who is their own guarantor; "
                "use relationship self for them, or another id",
            )
            return None
        claimed = known.claimed.get(id(guarantor))
        if claimed is not None:
            if claimed[1] != values:
                ctx.error(
                    row.line,
                    "guarantor_external_id" if external_id else "guarantor_first_name",
                    f"line {claimed[0]} gives this guarantor different details; give them once, the same way",
                )
                return None
            return GuarantorChoice(patient, guarantor), False
        known.claimed[id(guarantor)] = (row.line, values)
        changed = assign_changes(guarantor, values)
        if not changed:
            return GuarantorChoice(patient, guarantor), False
        if self._guarantor_invalid(guarantor, row, ctx):
            return None
        plan.changed_guarantors.append(guarantor)
        plan.guarantor_fields.update(changed)
        return GuarantorChoice(patient, guarantor), True

    def _guarantor_invalid(self, guarantor: Guarantor, row: ParsedRow, ctx: ImportContext) -> bool:
        return ctx.model_errors(
            guarantor, row.line, exclude=["organization", "patient"], columns=GUARANTOR_ERROR_COLUMNS
        )

    @staticmethod
    def _target_id(choice: GuarantorChoice, plan: AccountPlan) -> int | None:
        """The id the account's guarantor will have (None when it is still to be created)."""
        if choice.guarantor is not None:
            return choice.guarantor.pk
        own = plan.self_guarantors.get(choice.patient.pk)
        return own.pk if own is not None else None

    # --- accounts ------------------------------------------------------------------------

    def _new_account(
        self,
        row: ParsedRow,
        patient: Patient,
        values: dict[str, Any],
        choice: GuarantorChoice,
        ctx: ImportContext,
        plan: AccountPlan,
    ) -> None:
        account = PatientAccount(
            organization=ctx.organization,
            account_number=row.data["account_number"],
            patient=patient,
            kind=row.data["kind"],
            service_from=row.data["service_from"],
            # As account_create does: the account inherits the patient's interpreter need.
            interpreter_needed=patient.needs_interpreter,
            **values,
        )
        if not ctx.model_errors(account, row.line, exclude=["organization", "patient", "guarantor"]):
            plan.new_accounts.append((account, choice))

    def _identity_changed(
        self, account: PatientAccount, patient: Patient, row: ParsedRow, ctx: ImportContext
    ) -> bool:
        number = account.account_number
        problems = []
        if account.patient_id != patient.pk:
            problems.append(("patient_external_id", f"account {number} belongs to another patient"))
        if account.kind != row.data["kind"]:
            problems.append(("kind", f"account {number} is a {account.get_kind_display().lower()} account"))
        if account.service_from != row.data["service_from"]:
            problems.append(("service_from", f"account {number} starts on {account.service_from:%Y-%m-%d}"))
        for column, message in problems:
            ctx.error(row.line, column, f"{message}; an import cannot change it")
        return bool(problems)

    def write(self, plan: AccountPlan, ctx: ImportContext) -> tuple[int, int, int]:
        ctx.create(plan.new_guarantors, Guarantor)
        ctx.update(plan.changed_guarantors, Guarantor, plan.guarantor_fields)
        for account, choice in [*plan.new_accounts, *plan.changed_accounts]:
            if choice is not None:
                account.guarantor = self._resolve(choice, plan)
        ctx.create([account for account, _ in plan.new_accounts], PatientAccount)
        ctx.update([account for account, _ in plan.changed_accounts], PatientAccount, plan.account_fields)
        return len(plan.new_accounts), plan.updated, plan.unchanged

    @staticmethod
    def _resolve(choice: GuarantorChoice, plan: AccountPlan) -> Guarantor:
        if choice.guarantor is not None:
            return choice.guarantor
        own = plan.self_guarantors.get(choice.patient.pk)
        if own is None:
            own = plan.self_guarantors[choice.patient.pk] = guarantor_for_patient(choice.patient)
        return own
