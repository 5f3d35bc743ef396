"""Forms of the claim pages: the list's filters, creating a claim from charges, the actions on a
claim (submit, change status, correct, note) and the 837 upload. They check the shape of the
input; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import Charge, Coverage
from claims.intake837 import MAX_FILE_BYTES
from claims.models import Claim
from claims.services.claims import NOTE_MAX_LENGTH
from payers.models import Payer

REASON_MAX_LENGTH = 100


class ClaimFilterForm(forms.Form):
    q = forms.CharField(label="Patient control number", required=False, max_length=38)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Claim.Status.choices]
    )
    payer = forms.ModelChoiceField(
        label="Payer",
        required=False,
        queryset=Payer.objects.none(),
        to_field_name="reference",
        empty_label="Any payer",
    )

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = Payer.objects.filter(organization=organization).order_by("name")


class CoverageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Coverage) -> str:
        ended = "" if obj.is_active else " (inactive)"
        return f"{obj.get_priority_display()}: {obj.plan.payer} / {obj.plan.name} #{obj.member_id}{ended}"


class ChargeChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Charge) -> str:
        return f"{obj.service_date:%m/%d/%Y} {obj} ${obj.amount}"


class ClaimCreateForm(forms.Form):
    coverage = CoverageChoiceField(
        label="Bill to", queryset=Coverage.objects.none(), to_field_name="reference", empty_label=None
    )
    charges = ChargeChoiceField(
        label="Charges on the claim",
        queryset=Charge.objects.none(),
        to_field_name="reference",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one charge to bill."},
    )
    kind = forms.ChoiceField(
        label="Kind of claim",
        required=False,
        choices=[
            ("", "From the account (hospital → 837I, professional → 837P, pharmacy → PBM)"),
            *Claim.Kind.choices,
        ],
    )

    def __init__(self, *args: Any, coverages: Any, charges: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coverage"].queryset = coverages
        self.fields["charges"].queryset = charges


class ClaimSubmitForm(forms.Form):
    submitted_on = forms.DateField(
        label="Sent on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty means today.",
    )

    def clean_submitted_on(self) -> Any:
        return self.cleaned_data["submitted_on"] or timezone.localdate()


class ClaimStatusForm(forms.Form):
    status = forms.ChoiceField(label="New status")
    reason = forms.CharField(
        label="Reason", max_length=REASON_MAX_LENGTH, help_text="Kept in the claim's history."
    )

    def __init__(self, *args: Any, claim: Claim, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = Claim.TRANSITIONS.get(claim.status, set())
        self.fields["status"].choices = [
            (value, label) for value, label in Claim.Status.choices if value in allowed
        ]


class ClaimCorrectForm(forms.Form):
    frequency = forms.ChoiceField(
        label="Correction",
        choices=[
            (Claim.Frequency.REPLACEMENT, "Replacement (7): the payer replaces the claim with this one"),
            (Claim.Frequency.VOID, "Void (8): the payer cancels the claim"),
        ],
    )
    reason = forms.CharField(label="Reason", max_length=REASON_MAX_LENGTH)


class ClaimNoteForm(forms.Form):
    text = forms.CharField(
        label="Note", max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}), strip=True
    )


class IntakeUploadForm(forms.Form):
    file = forms.FileField(
        label="837 file", help_text="An X12 837P (professional) or 837I (institutional) claim file."
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it into smaller files."
            )
        return upload
