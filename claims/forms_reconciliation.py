"""Forms of the deposit, reconciliation, audit and code-text pages.

They check the shape of what was typed; the services check the rules. Amounts are text
fields on purpose: ``core.money.parse_money`` (called by the services) is the one parser,
and accepts "$1,250.00" as people type it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django import forms

from claims.deposit_import import MAX_FILE_BYTES as MAX_DEPOSIT_FILE_BYTES
from claims.models import CodeDescription, Deposit, InsuranceAudit
from claims.reconciliation import MAX_DAYS, UNIDENTIFIED
from claims.services.audits import ALLOWED_EXTENSIONS, MAX_DOCUMENT_BYTES, MAX_RESPONSE_BUSINESS_DAYS
from claims.services.codes import MAX_FILE_BYTES as MAX_CODE_FILE_BYTES
from payers.models import Payer

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_NUMBER_SEPARATORS = re.compile(r"[\s,;]+")
REASON_MAX_LENGTH = 100  # what the row history keeps of a change reason


def _date(label: str, *, required: bool = True, help_text: str = "") -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=_DATE, help_text=help_text)


def _payer_field(organization: Any, *, required: bool, empty_label: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Payer.objects.in_organization(organization).order_by("name"),
        to_field_name="reference",
        required=required,
        empty_label=empty_label,
    )


def _reason(help_text: str = "Kept in the change history.") -> forms.CharField:
    return forms.CharField(max_length=REASON_MAX_LENGTH, help_text=help_text)


def _limited_file(upload: Any, limit: int) -> Any:
    if upload.size > limit:
        raise forms.ValidationError(f"The file is larger than {limit // (1024 * 1024)} MB; split it.")
    return upload


def split_numbers(text: str) -> list[str]:
    """Claim numbers typed one per line, or separated by commas, semicolons or spaces."""
    return [n for n in _NUMBER_SEPARATORS.split(text or "") if n]


# --- deposits ------------------------------------------------------------------------------------


class DepositForm(forms.Form):
    deposit_date = _date("Deposit date", help_text="The day the money reached the bank.")
    amount = forms.CharField(max_length=20, help_text="As on the bank statement, e.g. 1,250.00.")
    trace_number = forms.CharField(
        max_length=50, label="EFT trace or check number", help_text="TRN02 of the 835: how the match is made."
    )
    method = forms.ChoiceField(choices=Deposit.Method.choices)
    payer = forms.ModelChoiceField(queryset=Payer.objects.none())
    bank_reference = forms.CharField(max_length=80, required=False, label="Bank reference")
    notes = forms.CharField(max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, organization: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["payer"] = _payer_field(organization, required=False, empty_label="Not known")
        self.fields["payer"].help_text = "Leave as not known when the bank line does not say."
        self.order_fields(["deposit_date", "amount", "trace_number", "method", "payer"])


class DepositFilterForm(forms.Form):
    STATES = [("", "Matched or not"), ("unmatched", "Unmatched"), ("matched", "Matched")]

    state = forms.ChoiceField(choices=STATES, required=False, label="Match")
    payer = forms.ModelChoiceField(queryset=Payer.objects.none(), required=False)
    date_from = _date("From", required=False)
    date_to = _date("To", required=False)
    trace = forms.CharField(max_length=50, required=False, label="Trace number")

    def __init__(self, *args: Any, organization: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["payer"] = _payer_field(organization, required=False, empty_label="Any payer")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end is before the start.")
        return cleaned


class DepositImportForm(forms.Form):
    file = forms.FileField(
        label="Bank deposit file (CSV)",
        help_text="UTF-8, comma-separated, with the column names on the first line.",
    )

    def clean_file(self) -> Any:
        return _limited_file(self.cleaned_data["file"], MAX_DEPOSIT_FILE_BYTES)


class DepositMatchForm(forms.Form):
    payment = forms.UUIDField(
        error_messages={
            "required": "Choose the remittance to match.",
            "invalid": "Choose the remittance to match.",
        }
    )
    reason = _reason("Why these belong together, e.g. “bank fee of $15.00 taken from the EFT”.")


class DepositUnmatchForm(forms.Form):
    reason = _reason()


# --- reconciliation ----------------------------------------------------------------------------------


class ReconciliationFilterForm(forms.Form):
    start = _date("From")
    end = _date("To")
    payer = forms.ModelChoiceField(queryset=Payer.objects.none(), required=False)

    def __init__(self, *args: Any, organization: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["payer"] = _payer_field(organization, required=False, empty_label="Every payer")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end is before the start.")
            elif end - start > timedelta(days=MAX_DAYS - 1):
                self.add_error("end", f"Choose at most {MAX_DAYS} days.")
        return cleaned


class ReconciliationDayForm(forms.Form):
    day = forms.DateField(input_formats=["%Y-%m-%d"])
    payer = forms.CharField(max_length=36, help_text=f"A payer's reference, or “{UNIDENTIFIED}”.")


# --- audits --------------------------------------------------------------------------------------


class AuditOpenForm(forms.Form):
    payer = forms.ModelChoiceField(queryset=Payer.objects.none())
    kind = forms.ChoiceField(choices=InsuranceAudit.Kind.choices)
    requested_on = _date("Requested on", help_text="The date of the payer's letter or portal request.")
    response_business_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_RESPONSE_BUSINESS_DAYS,
        initial=30,
        label="Business days to respond",
        help_text="The due date is counted on the organization's business-day calendar.",
    )
    payer_reference = forms.CharField(max_length=60, required=False, label="Payer's audit reference")
    auditor = forms.CharField(max_length=120, required=False, help_text="Auditor or audit firm contact.")
    onsite_date = _date("Onsite visit", required=False, help_text="Onsite audits only.")
    claim_numbers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Claims requested",
        help_text="Our patient control numbers or the payer's claim numbers, one per line.",
    )

    def __init__(self, *args: Any, organization: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["payer"] = _payer_field(organization, required=True, empty_label="Choose the payer")
        self.order_fields(["payer", "kind", "requested_on", "response_business_days"])


class AuditStatusForm(forms.Form):
    status = forms.ChoiceField(choices=InsuranceAudit.Status.choices)
    reason = _reason()


class AuditFindingsForm(forms.Form):
    findings = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), help_text="What the auditor found.")
    recoupment_amount = forms.CharField(
        max_length=20, label="Recoupment amount", help_text="What the payer will take back; 0.00 if nothing."
    )


class AuditClaimsForm(forms.Form):
    claim_numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Claims to add",
        help_text="Our patient control numbers or the payer's claim numbers, one per line.",
    )


class AuditDocumentForm(forms.Form):
    title = forms.CharField(max_length=200, required=False, help_text="Leave blank to use the file name.")
    file = forms.FileField(
        help_text=f"{', '.join(e.lstrip('.').upper() for e in ALLOWED_EXTENSIONS)}; "
        f"at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB."
    )


# --- code texts ----------------------------------------------------------------------------------


class CodeUploadForm(forms.Form):
    code_set = forms.ChoiceField(choices=CodeDescription.CodeSet.choices, label="Code set")
    file = forms.FileField(
        help_text="The list downloaded from x12.org: CSV or tab-separated, with the columns code, "
        "description and optionally start_date, last_modified, stop_date."
    )

    def clean_file(self) -> Any:
        return _limited_file(self.cleaned_data["file"], MAX_CODE_FILE_BYTES)


class CodeFilterForm(forms.Form):
    code_set = forms.ChoiceField(
        choices=[("", "Both sets"), *CodeDescription.CodeSet.choices], required=False, label="Code set"
    )
    q = forms.CharField(max_length=60, required=False, label="Code or words")
