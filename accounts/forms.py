"""Forms of the account workspace. They validate shape; the services validate business rules."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from accounts.choices import ADJUSTMENT_KINDS, AdjustmentReason
from accounts.models import AuthorizedContact, Coverage, Patient, PatientAccount
from accounts.querysets import phone_digits
from core.money import parse_money
from payers.models import Plan

PATIENT_BUCKET = "patient"
DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label="Search patients",
        max_length=100,
        required=False,
        help_text="Name (typos are fine), date of birth (MM/DD/YYYY), account number, member id or phone.",
    )


class MoneyFormField(forms.CharField):
    """A money amount typed by a person: ``$1,250.00`` or ``1250``; never a float."""

    def clean(self, value):
        value = super().clean(value)
        if value in ("", None):
            return None
        from core.errors import InvalidInput

        try:
            return parse_money(value, field=self.label or "amount")
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message.split(": ", 1)[-1]) from None


def bucket_choices(account: PatientAccount, coverages: list[Coverage]) -> list[tuple[str, str]]:
    return [(str(c.reference), f"{c.get_priority_display()}: {c.plan}") for c in coverages] + [
        (PATIENT_BUCKET, "Patient")
    ]


class BucketFormMixin:
    """Turns a chosen bucket (coverage reference or "patient") back into a Coverage or None."""

    coverages: list[Coverage]

    def coverage_for(self, value: str) -> Coverage | None:
        if value == PATIENT_BUCKET:
            return None
        return next(c for c in self.coverages if str(c.reference) == value)


class AdjustmentForm(BucketFormMixin, forms.Form):
    kind = forms.ChoiceField(
        choices=[
            ("contractual_adjustment", "Contractual adjustment"),
            ("other_adjustment", "Other adjustment"),
            ("write_off", "Write-off"),
        ]
    )
    bucket = forms.ChoiceField(label="Balance to adjust")
    amount = MoneyFormField(label="amount", help_text="The amount the balance goes down by, e.g. 25.00.")
    reason_code = forms.ChoiceField(label="Reason", choices=AdjustmentReason.choices)
    memo = forms.CharField(
        max_length=300, widget=forms.Textarea(attrs={"rows": 2}), help_text="Why, for the record."
    )

    def __init__(self, *args, account: PatientAccount, coverages: list[Coverage], **kwargs):
        super().__init__(*args, **kwargs)
        self.coverages = coverages
        self.fields["bucket"].choices = bucket_choices(account, coverages)
        self.fields["amount"].label = "Amount"

    def clean(self):
        data = super().clean()
        kind, reason = data.get("kind"), data.get("reason_code")
        if kind and reason and reason not in ADJUSTMENT_KINDS[kind]:
            allowed = ", ".join(AdjustmentReason(r).label for r in ADJUSTMENT_KINDS[kind])
            self.add_error(
                "reason_code", f"Not a reason for this kind of adjustment; choose one of: {allowed}."
            )
        return data


class TransferForm(BucketFormMixin, forms.Form):
    NEXT = "next"
    from_bucket = forms.ChoiceField(label="Move from")
    to_bucket = forms.ChoiceField(label="Move to")
    amount = MoneyFormField(label="Amount")
    reason = forms.CharField(max_length=300, help_text="E.g. “Primary EOB: deductible and coinsurance”.")

    def __init__(self, *args, account: PatientAccount, coverages: list[Coverage], **kwargs):
        super().__init__(*args, **kwargs)
        self.coverages = coverages
        choices = bucket_choices(account, coverages)
        self.fields["from_bucket"].choices = choices
        self.fields["to_bucket"].choices = [
            (self.NEXT, "Next responsible party (next coverage, else patient)")
        ] + [c for c in choices]


class CoverageForm(forms.ModelForm):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), to_field_name="reference")

    class Meta:
        model = Coverage
        fields = [
            "plan",
            "member_id",
            "group_number",
            "subscriber_name",
            "subscriber_date_of_birth",
            "relationship_to_subscriber",
            "priority",
            "effective_from",
            "effective_to",
        ]
        widgets = {
            "subscriber_date_of_birth": DATE_INPUT,
            "effective_from": DATE_INPUT,
            "effective_to": DATE_INPUT,
        }

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = (
            Plan.objects.in_organization(organization).filter(is_active=True).select_related("payer")
        )


class VerificationForm(forms.Form):
    method = forms.ChoiceField(choices=Coverage.Method.choices)
    result = forms.ChoiceField(choices=Coverage.Result.choices)
    reference = forms.CharField(
        max_length=60, required=False, help_text="Call reference or eligibility transaction number."
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class AuthorizedContactForm(forms.Form):
    name = forms.CharField(max_length=120)
    relationship = forms.ChoiceField(choices=AuthorizedContact.Relationship.choices)
    phone = forms.CharField(max_length=20, required=False)
    scopes = forms.MultipleChoiceField(
        label="May be told about",
        choices=AuthorizedContact.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    is_personal_representative = forms.BooleanField(
        label="Personal representative (guardian, health-care power of attorney): may be told everything",
        required=False,
    )
    start_date = forms.DateField(widget=DATE_INPUT, required=False)
    end_date = forms.DateField(widget=DATE_INPUT, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean_phone(self):
        raw = self.cleaned_data["phone"]
        if raw and len(phone_digits(raw)) != 10:
            raise forms.ValidationError("Enter a 10-digit phone number.")
        return phone_digits(raw)

    def clean(self):
        data = super().clean()
        if not data.get("scopes") and not data.get("is_personal_representative"):
            self.add_error("scopes", "Choose at least one thing this person may be told.")
        return data


class EndContactForm(forms.Form):
    end_date = forms.DateField(widget=DATE_INPUT)
    reason = forms.CharField(max_length=300, help_text="E.g. “Patient revoked the authorization by phone”.")


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=PatientAccount.Status.choices)
    reason = forms.CharField(max_length=300)


class FlagsForm(forms.Form):
    dispute_hold = forms.BooleanField(required=False, label="Dispute hold (stops collection activity)")
    interpreter_needed = forms.BooleanField(required=False, label="Interpreter needed")
    financial_assistance_pending = forms.BooleanField(
        required=False, label="Financial assistance application pending"
    )
    reason = forms.CharField(max_length=300)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300)


class DecisionForm(forms.Form):
    note = forms.CharField(max_length=300, required=False)


class ChargeCorrectionForm(forms.Form):
    code = forms.CharField(max_length=16)
    modifiers = forms.CharField(max_length=20, required=False, help_text="Separated by spaces, e.g. 25 59.")
    diagnoses = forms.CharField(
        max_length=120, required=False, help_text="ICD-10-CM codes separated by spaces, e.g. E11.9 I10."
    )
    units = forms.DecimalField(max_digits=9, decimal_places=3, min_value=Decimal("0.001"))
    description = forms.CharField(max_length=200, required=False)
    reason = forms.CharField(max_length=300)

    def changes(self) -> dict:
        data = self.cleaned_data
        return {
            "code": data["code"],
            "modifiers": data["modifiers"].replace(",", " ").split(),
            "diagnoses": data["diagnoses"].replace(",", " ").split(),
            "units": data["units"],
            "description": data["description"],
        }


class PatientForm(forms.ModelForm):
    """Demographics and communication preferences; phones are kept as ten digits."""

    reason = forms.CharField(max_length=300, help_text="E.g. “Patient called with a new address”.")

    class Meta:
        model = Patient
        fields = [
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
        ]
        widgets = {"date_of_birth": DATE_INPUT}

    def _clean_phone(self, name: str) -> str:
        raw = self.cleaned_data[name]
        if raw and len(phone_digits(raw)) != 10:
            raise forms.ValidationError("Enter a 10-digit phone number.")
        return phone_digits(raw)

    def clean_phone(self) -> str:
        return self._clean_phone("phone")

    def clean_mobile_phone(self) -> str:
        return self._clean_phone("mobile_phone")
