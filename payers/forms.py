"""Forms of the payer pages. They check the shape of what was typed; the services check the rules.

Amounts and percentages are text fields on purpose: ``core.money.parse_money`` and
``payers.fee_import.parse_percent`` (called by the services) are the one parser of each,
and accept "$1,250.00" or "80%" as people type them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from payers.models import AppealLevel, Payer, PayerKind, PayerRule, Plan, PlanType
from staff.forms import ReasonForm

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_ADDRESS = forms.Textarea(attrs={"rows": 3})

END_PREVIOUS_HELP = (
    "If a {what} that began earlier is still in force on the start date, end it the day before. "
    "Without this, overlapping dates are refused."
)


def _date_field(label: str, *, required: bool = True, help_text: str = "") -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=_DATE, help_text=help_text)


def _with_reason(form_class: type[forms.Form]) -> type[forms.Form]:
    """``form_class`` plus the change reason every edit asks for, as its last field."""
    order = [*form_class.base_fields, "reason"]
    return type(f"{form_class.__name__}WithReason", (form_class, ReasonForm), {"field_order": order})


def _initial(obj: Any, form_class: type[forms.Form]) -> dict[str, Any]:
    """A row's values as a form's initial data; amounts as text, as their text fields hold them
    (so an untouched "65.00" does not count as a change from ``Decimal("65.00")``)."""
    initial = {}
    for name in form_class.base_fields:
        if hasattr(obj, name):
            value = getattr(obj, name)
            initial[name] = str(value) if isinstance(value, Decimal) else value
    return initial


# --- payers and plans ---------------------------------------------------------------------------


class PayerForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=PayerKind.choices)
    edi_payer_id = forms.CharField(
        max_length=80, required=False, label="EDI payer id", help_text="As on the 837 and 835 (e.g. 60054)."
    )
    bin = forms.CharField(
        max_length=6, required=False, label="BIN", help_text="Pharmacy BIN, six digits (PBMs only)."
    )
    pcn = forms.CharField(max_length=20, required=False, label="PCN", help_text="Processor control number.")
    phone = forms.CharField(max_length=32, required=False, label="Provider services phone")
    fax = forms.CharField(max_length=32, required=False)
    portal_url = forms.URLField(
        required=False, label="Provider portal", assume_scheme="https", help_text="https://…"
    )
    claims_address = forms.CharField(required=False, widget=_ADDRESS, label="Claims address")
    appeals_address = forms.CharField(required=False, widget=_ADDRESS, label="Appeals address")

    @classmethod
    def initial_from(cls, payer: Payer) -> dict[str, Any]:
        return _initial(payer, PayerForm)


PayerEditForm = _with_reason(PayerForm)


class PlanForm(forms.Form):
    name = forms.CharField(
        max_length=120, label="Product", help_text="As on the member's card, e.g. Choice PPO."
    )
    group_number = forms.CharField(max_length=40, required=False)
    plan_type = forms.ChoiceField(choices=PlanType.choices, initial=PlanType.PPO)
    network = forms.ChoiceField(choices=Plan.Network.choices, initial=Plan.Network.IN_NETWORK)

    @classmethod
    def initial_from(cls, plan: Plan) -> dict[str, Any]:
        return _initial(plan, PlanForm)


PlanEditForm = _with_reason(PlanForm)


# --- rules and appeal levels ----------------------------------------------------------------------


class RuleForm(forms.Form):
    effective_from = _date_field("In force from")
    effective_to = _date_field("In force until", required=False, help_text="Leave empty while it applies.")
    timely_filing_days = forms.IntegerField(
        min_value=1, label="Timely filing (days)", help_text="Days after the date of service to file a claim."
    )
    corrected_claim_days = forms.IntegerField(
        min_value=1, label="Corrected claim window (days)", help_text="Days after the payer's decision."
    )
    follow_up_days = forms.IntegerField(
        min_value=1,
        label="Follow up after (days)",
        help_text="Days without a response before a claim needs follow-up.",
    )
    secondary_crossover = forms.BooleanField(
        required=False, label="Crosses over to the secondary payer automatically"
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    @classmethod
    def initial_from(cls, rule: PayerRule) -> dict[str, Any]:
        return _initial(rule, RuleForm)


class RuleCreateForm(RuleForm):
    end_previous = forms.BooleanField(
        required=False,
        label="End the rule in force on that date",
        help_text=END_PREVIOUS_HELP.format(what="rule"),
    )


RuleEditForm = _with_reason(RuleForm)


class AppealLevelForm(forms.Form):
    level = forms.IntegerField(min_value=1, label="Level")
    name = forms.CharField(max_length=80, label="Name", help_text="e.g. Redetermination")
    filing_days = forms.IntegerField(min_value=1, label="File within (days)")
    decision_days = forms.IntegerField(min_value=1, label="Decision within (days)")

    @classmethod
    def initial_from(cls, level: AppealLevel) -> dict[str, Any]:
        return _initial(level, AppealLevelForm)


MAX_APPEAL_LEVELS = 6
_SMALL = {"class": "form-control form-control-sm"}


class AppealLevelRows:
    """The appeal levels typed on the new-rules page: a fixed number of rows, blank rows ignored.

    Not a Django formset on purpose: rows are prefilled from the current rules, and a
    formset treats a prefilled row that nobody touched as "unchanged", i.e. absent.
    Here a row counts when anything is typed in it; its level defaults to its position.
    """

    def __init__(self, data: Any = None, *, initial: list[dict[str, Any]] | None = None):
        initial = initial or []
        self.forms: list[AppealLevelForm] = []
        self.non_form_errors: list[str] = []
        for index in range(MAX_APPEAL_LEVELS):
            prefix = f"levels-{index}"
            if data is None:
                form = AppealLevelForm(prefix=prefix, initial=initial[index] if index < len(initial) else {})
                form.blank = False
            else:
                form = AppealLevelForm(data, prefix=prefix)
                form.blank = not any(
                    str(data.get(f"{prefix}-{name}", "")).strip() for name in AppealLevelForm.base_fields
                )
            form.fields["level"].required = False
            for field in form.fields.values():
                field.widget.attrs.update(_SMALL)
            form.position = index + 1
            self.forms.append(form)

    def is_valid(self) -> bool:
        filled = [form for form in self.forms if not form.blank]
        valid = all([form.is_valid() for form in filled])  # a list: every row gets its errors
        if valid:
            numbers = [form.cleaned_data["level"] or form.position for form in filled]
            duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
            if duplicates:
                self.non_form_errors.append(f"Level {duplicates[0]} is given more than once.")
                return False
        return valid

    def levels(self) -> list[dict[str, Any]]:
        return [
            {**form.cleaned_data, "level": form.cleaned_data["level"] or form.position}
            for form in self.forms
            if not form.blank and form.is_valid()
        ]

    def error_summary(self) -> str:
        parts = list(self.non_form_errors)
        for form in self.forms:
            if not form.blank and form.is_bound and form.errors:
                for name, errors in form.errors.items():
                    label = form.fields[name].label if name in form.fields else ""
                    parts.extend(f"Appeal level row {form.position}, {label}: {e}" for e in errors)
        return " ".join(parts)


AppealLevelEditForm = _with_reason(AppealLevelForm)


# --- contracts and fee schedules ------------------------------------------------------------------


class ContractForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="e.g. Commercial PPO 2026 fee schedule.")
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.none(),
        required=False,
        empty_label="Every plan of this payer",
        to_field_name="reference",
        help_text="A contract for one plan wins over one for the whole payer.",
    )
    effective_from = _date_field("In force from")
    effective_to = _date_field("In force until", required=False, help_text="Leave empty while it applies.")
    default_percent_of_charges = forms.CharField(
        max_length=10,
        required=False,
        label="Default percent of charges",
        help_text="Expected allowed amount for codes not in the fee schedule, e.g. 65 (for 65%).",
    )
    variance_tolerance = forms.CharField(
        max_length=32,
        initial="1.00",
        label="Variance tolerance",
        help_text="Payments this close (in dollars) to the expected amount are not variances.",
    )

    def __init__(self, *args: Any, payer: Payer, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(payer=payer).order_by("name", "group_number")

    @classmethod
    def initial_from(cls, contract: Any) -> dict[str, Any]:
        initial = _initial(contract, ContractForm)
        initial["plan"] = contract.plan.reference if contract.plan_id else None
        return initial


class ContractCreateForm(ContractForm):
    end_previous = forms.BooleanField(
        required=False,
        label="End the contract in force on that date",
        help_text=END_PREVIOUS_HELP.format(what="contract for the same plans"),
    )


ContractEditForm = _with_reason(ContractForm)


class FeeEntryForm(forms.Form):
    code = forms.CharField(max_length=16, help_text="CPT/HCPCS, revenue code or NDC.")
    modifier = forms.CharField(max_length=2, required=False)
    allowed_amount = forms.CharField(
        max_length=32, required=False, label="Allowed amount", help_text="In dollars."
    )
    percent_of_charges = forms.CharField(
        max_length=10, required=False, label="Or percent of charges", help_text="Give one of the two."
    )
    effective_from = _date_field("In force from")
    effective_to = _date_field("In force until", required=False)
    end_previous = forms.BooleanField(
        required=False,
        label="End the earlier price",
        help_text=END_PREVIOUS_HELP.format(what="price for this code and modifier"),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        # Distinct ids: the contract page also shows the code filter and the import form.
        kwargs.setdefault("auto_id", "entry_%s")
        super().__init__(*args, **kwargs)


class FeeEntryEditForm(ReasonForm):
    allowed_amount = forms.CharField(
        max_length=32, required=False, label="Allowed amount", help_text="In dollars."
    )
    percent_of_charges = forms.CharField(
        max_length=10, required=False, label="Or percent of charges", help_text="Give one of the two."
    )
    effective_from = _date_field("In force from")
    effective_to = _date_field("In force until", required=False)

    field_order = ["allowed_amount", "percent_of_charges", "effective_from", "effective_to", "reason"]

    @classmethod
    def initial_from(cls, entry: Any) -> dict[str, Any]:
        return _initial(entry, FeeEntryEditForm)


class FeeScheduleImportForm(forms.Form):
    MAX_BYTES = 5 * 1024 * 1024

    file = forms.FileField(
        label="Fee schedule CSV",
        help_text="UTF-8 CSV with a header row, at most 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    end_previous = forms.BooleanField(
        required=False,
        label="End earlier prices",
        help_text="Where the file starts a new price for a code, end the price in force that day "
        "the day before.",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("auto_id", "import_%s")
        super().__init__(*args, **kwargs)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; split it into files under 5 MB."
            )
        return upload


class FeeEntryFilterForm(forms.Form):
    code = forms.CharField(max_length=16, required=False, label="Code starts with")


# --- notices ------------------------------------------------------------------------------------------


class NoticeForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="What changes, from when, and what staff must do differently.",
    )
    effective_date = _date_field("Takes effect on")
    payers = forms.ModelMultipleChoiceField(
        queryset=Payer.objects.none(),
        required=False,
        to_field_name="reference",
        widget=forms.CheckboxSelectMultiple,
        label="Affected payers",
    )
    plans = forms.ModelMultipleChoiceField(
        queryset=Plan.objects.none(),
        required=False,
        to_field_name="reference",
        widget=forms.CheckboxSelectMultiple,
        label="Affected plans",
    )

    def __init__(self, *args: Any, organization: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["payers"].queryset = Payer.objects.in_organization(organization).active().order_by("name")
        self.fields["plans"].queryset = (
            Plan.objects.in_organization(organization)
            .active()
            .select_related("payer")
            .order_by("payer__name", "name", "group_number")
        )

    @classmethod
    def initial_from(cls, notice: Any) -> dict[str, Any]:
        return {
            "title": notice.title,
            "body": notice.body,
            "effective_date": notice.effective_date,
            "payers": [p.reference for p in notice.payers.all()],
            "plans": [p.reference for p in notice.plans.all()],
        }


class NoticeEditForm(NoticeForm):
    field_order = ["title", "body", "effective_date", "payers", "plans", "reason"]

    reason = forms.CharField(
        max_length=300,
        help_text="Recorded in the change history. People who already acknowledged are not asked again; "
        "for a new policy, publish a new notice.",
    )
