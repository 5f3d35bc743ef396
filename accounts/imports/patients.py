"""Patients file: one row per patient, keyed by ``external_id``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.imports.base import (
    DATE_HELP,
    ChoiceCell,
    Column,
    ImportContext,
    ImportKind,
    ParsedRow,
    PhoneCell,
    PostalCodeCell,
    SsnLast4Cell,
    StateCell,
    assign_changes,
    choices_help,
    date_cell,
    not_before_1900,
    present_values,
    text_cell,
)
from accounts.models import Interpreter, Language, Patient, Sex

# Every column but the key is a Patient field of the same name.
FIELDS = {
    name: name
    for name in (
        "first_name",
        "last_name",
        "date_of_birth",
        "middle_name",
        "suffix",
        "sex",
        "mrn",
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
        "ssn_last4",
    )
}


class PatientRowForm(forms.Form):
    external_id = text_cell(64, required=True)
    first_name = text_cell(60, required=True)
    last_name = text_cell(60, required=True)
    date_of_birth = date_cell(required=True)
    middle_name = text_cell(60)
    suffix = text_cell(10)
    sex = ChoiceCell(Sex, default=Sex.UNKNOWN)
    mrn = text_cell(32)
    address_line1 = text_cell(120)
    address_line2 = text_cell(120)
    city = text_cell(60)
    state = StateCell(required=False)
    postal_code = PostalCodeCell(required=False)
    phone = PhoneCell(required=False)
    mobile_phone = PhoneCell(required=False)
    email = forms.EmailField(max_length=254, required=False)
    preferred_language = ChoiceCell(Language, default=Language.ENGLISH)
    interpreter = ChoiceCell(Interpreter, default=Interpreter.NONE)
    preferred_contact = ChoiceCell(Patient.Contact, default=Patient.Contact.MAIL)
    ssn_last4 = SsnLast4Cell(required=False)

    def clean_date_of_birth(self) -> date:
        born = self.cleaned_data["date_of_birth"]
        not_before_1900(born)
        if born > timezone.localdate():
            raise ValidationError("is in the future", code="future")
        return born


@dataclass
class PatientPlan:
    create: list[Patient] = field(default_factory=list)
    update: list[Patient] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    unchanged: int = 0


class PatientImport(ImportKind):
    name = "patients"
    label = "Patients"
    key = "external_id"
    noun = "patient"
    form_class = PatientRowForm
    columns = (
        Column(
            "external_id",
            True,
            "The patient's id in your system; re-importing the same id updates the patient.",
            "P100234",
        ),
        Column("first_name", True, "First name.", "Maria"),
        Column("last_name", True, "Last name.", "Lopez"),
        Column("date_of_birth", True, f"Date of birth, {DATE_HELP}.", "1984-03-17"),
        Column("middle_name", False, "Middle name.", "Elena"),
        Column("suffix", False, "Jr, Sr, III…", ""),
        Column("sex", False, f"{choices_help(Sex)}; empty means U.", "F"),
        Column("mrn", False, "Medical record number.", "MRN-558201"),
        Column("address_line1", False, "Street address.", "1420 W Addison St"),
        Column("address_line2", False, "Apartment, suite…", "Apt 3B"),
        Column("city", False, "City.", "Chicago"),
        Column("state", False, "Two-letter state code.", "IL"),
        Column("postal_code", False, "ZIP code, 12345 or 12345-6789.", "60613"),
        Column(
            "phone", False, "Home phone: ten digits; punctuation and a leading 1 are ignored.", "3125550142"
        ),
        Column("mobile_phone", False, "Mobile phone, as phone.", "(773) 555-0199"),
        Column("email", False, "Email address.", "maria.lopez@example.com"),
        Column("preferred_language", False, f"{choices_help(Language)}; empty means en.", "es"),
        Column("interpreter", False, f"{choices_help(Interpreter)}; empty means none.", "spoken"),
        Column("preferred_contact", False, f"{choices_help(Patient.Contact)}; empty means mail.", "phone"),
        Column(
            "ssn_last4",
            False,
            "The last four digits of the SSN, nothing more: a full SSN rejects the file.",
            "1234",
        ),
    )

    def check(self, rows: list[ParsedRow], ctx: ImportContext) -> PatientPlan:
        existing = patients_by_external_id(ctx.organization, [row.get("external_id") for row in rows])
        plan = PatientPlan()
        for row in rows:
            if not row.valid:
                continue
            values = present_values(row, ctx, FIELDS)
            patient = existing.get(row.data["external_id"])
            if patient is None:
                patient = Patient(
                    organization=ctx.organization, external_id=row.data["external_id"], **values
                )
                if not self._invalid(patient, row, ctx):
                    plan.create.append(patient)
                continue
            changed = assign_changes(patient, values)
            if not changed:
                plan.unchanged += 1
            elif not self._invalid(patient, row, ctx):
                plan.update.append(patient)
                plan.changed_fields.update(changed)
        return plan

    def _invalid(self, patient: Patient, row: ParsedRow, ctx: ImportContext) -> bool:
        return ctx.model_errors(patient, row.line, exclude=["organization", "search_name"])

    def write(self, plan: PatientPlan, ctx: ImportContext) -> tuple[int, int, int]:
        ctx.create(plan.create, Patient)
        ctx.update(plan.update, Patient, plan.changed_fields)
        return len(plan.create), len(plan.update), plan.unchanged


def patients_by_external_id(organization: Any, keys: list[Any]) -> dict[str, Patient]:
    """The organization's patients with these external ids, in one query; other organizations' never match."""
    wanted = {key for key in keys if key}
    return {
        patient.external_id: patient
        for patient in Patient.objects.filter(organization=organization, external_id__in=wanted)
    }
