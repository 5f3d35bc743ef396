"""Forms of the case pages. They validate shape; the services validate business rules."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.forms import MoneyFormField
from accounts.models import AuthorizedContact, Language
from inquiries.models import (
    Callback,
    CallerKind,
    Case,
    Channel,
    Department,
    Direction,
    Identifier,
    InterpreterKind,
    Outcome,
    Referral,
    Relationship,
    ScriptVersion,
    VerificationPolicy,
)

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
OPEN = "open"
STEPS_HELP = "One step per line. Start a line with ! to make it a required disclosure (it must be read)."


def _blank(choices: Any, label: str = "Any") -> list[tuple[str, str]]:
    return [("", label), *choices]


class CaseFilterForm(forms.Form):
    q = forms.CharField(
        label="Case number or caller phone",
        max_length=40,
        required=False,
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), (OPEN, "Open (not resolved)"), *Case.Status.choices], required=False
    )
    category = forms.ChoiceField(choices=_blank(Case.Category.choices, "Any category"), required=False)
    priority = forms.ChoiceField(choices=_blank(Case.Priority.choices, "Any priority"), required=False)
    owner = forms.ChoiceField(
        label="Owner",
        choices=[("", "Anyone"), ("me", "Mine"), ("unassigned", "Unassigned")],
        required=False,
    )


class CaseOpenForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE_INBOUND)
    caller_type = forms.ChoiceField(label="Caller is", choices=Case.CallerType.choices)
    caller_name = forms.CharField(max_length=120, required=False)
    caller_phone = forms.CharField(label="Caller phone", max_length=20, required=False)
    caller_email = forms.EmailField(label="Caller email", required=False)
    provider_name = forms.CharField(
        label="Provider / physician office",
        max_length=120,
        required=False,
        help_text="When a provider calls.",
    )
    category = forms.ChoiceField(choices=Case.Category.choices)
    priority = forms.ChoiceField(choices=Case.Priority.choices, initial=Case.Priority.NORMAL)
    summary = forms.CharField(max_length=200, help_text="A few words: what the caller needs.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class CaseLinkForm(forms.Form):
    account_number = forms.CharField(
        label="Account number", max_length=38, help_text="Links the case to the account and its patient."
    )


class VerifyForm(forms.Form):
    """The caller's answers, typed as they say them; only the policy's identifiers are asked for."""

    caller_kind = forms.ChoiceField(
        label="The caller is", choices=CallerKind.choices, initial=CallerKind.PATIENT
    )
    authorized_contact = forms.ModelChoiceField(
        label="Which authorized contact",
        queryset=AuthorizedContact.objects.none(),
        required=False,
        to_field_name="reference",
    )
    caller_name = forms.CharField(label="Caller's name", max_length=120, required=False)
    dob = forms.DateField(label="Date of birth", required=False, widget=DATE_INPUT)
    address = forms.CharField(label="Street address", max_length=120, required=False)
    account_number = forms.CharField(label="Account number", max_length=38, required=False)
    ssn_last4 = forms.CharField(label="Last four of SSN", max_length=4, required=False)
    member_id = forms.CharField(label="Member id", max_length=40, required=False)
    phone = forms.CharField(label="Phone number on file", max_length=20, required=False)

    def __init__(
        self, *args: Any, contacts: list[AuthorizedContact], policy: VerificationPolicy, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.fields["authorized_contact"].queryset = AuthorizedContact.objects.filter(
            pk__in=[c.pk for c in contacts]
        ).order_by("name")
        self.fields["authorized_contact"].label_from_instance = _contact_label
        for identifier in Identifier.values:
            if identifier not in policy.identifiers:
                del self.fields[identifier]
        self.identifier_fields = [self[name] for name in Identifier.values if name in self.fields]
        self.policy = policy

    def answers(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in Identifier.values if name in self.fields}


def _contact_label(contact: AuthorizedContact) -> str:
    scopes = ", ".join(contact.scope_labels())
    return f"{contact.name} ({contact.get_relationship_display()}): {scopes}"


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label="Why may this caller be told?",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="At least 10 characters. Kept on the case, in its history and in the PHI access log.",
    )


class InteractionForm(forms.Form):
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.INBOUND)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE_INBOUND)
    contact_point = forms.CharField(label="Number or address used", max_length=254, required=False)
    person_contacted = forms.CharField(label="Person contacted", max_length=120, required=False)
    relationship = forms.ChoiceField(label="Their relationship", choices=Relationship.choices)
    outcome = forms.ChoiceField(choices=Outcome.choices, initial=Outcome.REACHED)
    message_left_with = forms.CharField(
        label="Message left with", max_length=120, required=False, help_text="Who took the message."
    )
    minutes = forms.IntegerField(label="Minutes", min_value=0, max_value=600, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    interpreter_used = forms.BooleanField(label="Interpreter used", required=False)
    interpreter_kind = forms.ChoiceField(
        label="Interpreter service", choices=_blank(InterpreterKind.choices, "—"), required=False
    )
    interpreter_language = forms.ChoiceField(
        label="Language", choices=_blank(Language.choices, "—"), required=False
    )
    interpreter_reference = forms.CharField(label="Interpreter id or service", max_length=80, required=False)
    steps = forms.TypedMultipleChoiceField(
        label="Script steps completed", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    callback = forms.ModelChoiceField(
        label="This call completes the callback",
        queryset=Callback.objects.none(),
        required=False,
        to_field_name="reference",
    )

    def __init__(
        self, *args: Any, script: ScriptVersion | None, callbacks: list[Callback], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.script = script
        self.fields["steps"].choices = [
            (step.position, f"{step.position}. {step.prompt}")
            for step in (script.steps.all() if script else [])
        ]
        self.fields["callback"].queryset = Callback.objects.filter(pk__in=[c.pk for c in callbacks])
        self.fields["callback"].label_from_instance = lambda c: (
            f"{c.get_kind_display()} at {c.requested_for:%m/%d %H:%M}"
        )


class PendForm(forms.Form):
    follow_up_on = forms.DateField(label="Follow up on", widget=DATE_INPUT)
    reason = forms.CharField(label="Why pended", max_length=300)


class ResolveForm(forms.Form):
    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300)


class EscalateForm(forms.Form):
    reason = forms.CharField(label="Reason for the escalation", max_length=300)


class ReopenForm(forms.Form):
    reason = forms.CharField(label="Why reopen", max_length=300)


class TransferForm(forms.Form):
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(), to_field_name="reference", empty_label="Choose a department"
    )
    reason = forms.CharField(label="Reason for the transfer", max_length=300)

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(
            organization=organization, is_active=True
        )


class ReferForm(forms.Form):
    kind = forms.ChoiceField(label="Refer as", choices=Referral.Kind.choices)
    reason = forms.CharField(label="What the caller wants", max_length=500)


class CallbackForm(forms.Form):
    kind = forms.ChoiceField(choices=Callback.Kind.choices)
    requested_for = forms.DateTimeField(label="Call at", widget=DATETIME_INPUT)
    phone = forms.CharField(max_length=20)
    contact_name = forms.CharField(label="Ask for", max_length=120, required=False)
    notes = forms.CharField(max_length=300, required=False)


class CaseEmailForm(forms.Form):
    to = forms.ChoiceField(label="To")
    subject = forms.CharField(max_length=250, required=False, help_text="Empty: a reply to the last email.")
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args: Any, recipients: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = [(address, address) for address in recipients]


class CaseEditForm(forms.Form):
    category = forms.ChoiceField(choices=Case.Category.choices)
    priority = forms.ChoiceField(choices=Case.Priority.choices)
    summary = forms.CharField(max_length=200)
    reason = forms.CharField(label="Why it changes", max_length=100)


INTERACTION_FIELDS = (
    "direction",
    "channel",
    "contact_point",
    "person_contacted",
    "relationship",
    "outcome",
    "message_left_with",
    "notes",
    "interpreter_used",
    "interpreter_kind",
    "interpreter_language",
    "interpreter_reference",
)


def interaction_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    return {
        name: data.get(name) or ("" if name != "interpreter_used" else False) for name in INTERACTION_FIELDS
    }


# --- directory, referrals, scripts, settings ----------------------------------------------------------


class DepartmentForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=Department.Kind.choices)
    phone = forms.CharField(max_length=32, required=False)
    hours = forms.CharField(max_length=120, required=False, help_text="e.g. Mon-Fri 8 a.m. to 5 p.m. CT")
    notes = forms.CharField(
        max_length=300, required=False, help_text="When to send callers here (e.g. providers only)."
    )


class DepartmentEditForm(DepartmentForm):
    is_active = forms.BooleanField(label="In the directory", required=False)


class ReferralCloseForm(forms.Form):
    outcome = forms.CharField(
        label="Outcome", max_length=500, help_text="What became of it: appeal filed, grievance answered…"
    )


class ScriptForm(forms.Form):
    name = forms.CharField(max_length=120)
    category = forms.ChoiceField(
        label="Shown on cases of",
        choices=_blank(Case.Category.choices, "Every category (general script)"),
        required=False,
    )
    steps = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=STEPS_HELP,
    )


class ScriptPublishForm(forms.Form):
    steps = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=STEPS_HELP,
    )
    note = forms.CharField(label="What changed", max_length=300)


class ScriptSettingsForm(forms.Form):
    category = forms.ChoiceField(
        label="Shown on cases of",
        choices=_blank(Case.Category.choices, "Every category (general script)"),
        required=False,
    )
    is_active = forms.BooleanField(label="In use", required=False)


class ServiceLevelForm(forms.Form):
    category = forms.ChoiceField(choices=_blank(Case.Category.choices, "Any category"), required=False)
    priority = forms.ChoiceField(choices=_blank(Case.Priority.choices, "Any priority"), required=False)
    first_response_hours = forms.IntegerField(label="Hours to first response", min_value=1)
    resolution_hours = forms.IntegerField(label="Hours to resolution", min_value=1)


class VerificationPolicyForm(forms.Form):
    identifiers = forms.MultipleChoiceField(
        label="Identifiers that count", choices=Identifier.choices, widget=forms.CheckboxSelectMultiple
    )
    required_count = forms.IntegerField(label="How many must match", min_value=1, max_value=6)
    valid_minutes = forms.IntegerField(
        label="Minutes a verification lasts", min_value=5, max_value=480, help_text="5 to 480."
    )


# --- benefit investigations ---------------------------------------------------------------------------


class BenefitInvestigationForm(forms.Form):
    coverage = forms.ModelChoiceField(queryset=None, to_field_name="reference", empty_label=None)
    plan_active = forms.BooleanField(label="Plan active", required=False, initial=True)
    deductible = MoneyFormField(label="Deductible", required=False)
    deductible_met = MoneyFormField(label="Deductible met", required=False)
    coinsurance_percent = forms.DecimalField(
        label="Coinsurance %", min_value=0, max_value=100, decimal_places=2, required=False
    )
    copay = MoneyFormField(label="Copay per service", required=False)
    out_of_pocket_max = MoneyFormField(label="Out-of-pocket maximum", required=False)
    out_of_pocket_met = MoneyFormField(label="Out-of-pocket met", required=False)
    prior_auth_required = forms.BooleanField(label="Prior authorization required", required=False)
    prior_auth_number = forms.CharField(label="Prior authorization number", max_length=50, required=False)
    payer_rep_name = forms.CharField(label="Payer representative", max_length=120, required=False)
    reference_number = forms.CharField(label="Call reference number", max_length=60, required=False)
    investigated_on = forms.DateField(label="Confirmed on", widget=DATE_INPUT, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, coverages: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coverage"].queryset = coverages
        self.fields["coverage"].label_from_instance = lambda c: (
            f"{c.get_priority_display()}: {c.plan.payer.name} {c.plan.name} #{c.member_id}"
            + ("" if c.is_active else " (inactive)")
        )


class EstimateLineForm(forms.Form):
    code = forms.CharField(label="Code", max_length=16, required=False)
    description = forms.CharField(label="Service", max_length=200, required=False)
    amount = MoneyFormField(label="Amount", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("amount") is not None and not (data.get("description") or "").strip():
            if not (data.get("code") or "").strip():
                self.add_error("description", "Describe the service.")
            else:
                data["description"] = data["code"]
        if (data.get("description") or "").strip() and data.get("amount") is None:
            self.add_error("amount", "Enter the amount.")
        return data


EstimateFormSet = forms.formset_factory(EstimateLineForm, extra=5, max_num=30)


class ResultsSendForm(forms.Form):
    estimate = forms.ModelChoiceField(
        label="Estimate to include",
        queryset=None,
        to_field_name="reference",
        required=False,
        empty_label="None",
    )
    recipient = forms.ChoiceField(choices=[("patient", "The patient"), ("physician", "The physician office")])
    email_to = forms.EmailField(
        label="Email to",
        required=False,
        help_text="Empty: printed and mailed. A patient's results are emailed only to the email on file.",
    )
    recipient_name = forms.CharField(label="Physician office name", max_length=120, required=False)
    recipient_address = forms.CharField(
        label="Physician office address", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    letter_template = forms.ModelChoiceField(
        label="Letter", queryset=None, to_field_name="reference", empty_label=None
    )
    email_template = forms.ModelChoiceField(
        label="Email message", queryset=None, to_field_name="reference", required=False
    )

    def __init__(self, *args: Any, estimates: Any, letters: Any, emails: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["estimate"].queryset = estimates
        self.fields["estimate"].label_from_instance = lambda e: (
            f"{e.created_at:%m/%d/%Y %H:%M}: patient pays ${e.patient_amount} of ${e.total_amount}"
        )
        self.fields["letter_template"].queryset = letters
        self.fields["email_template"].queryset = emails


# --- quality reviews ----------------------------------------------------------------------------------


class ScorecardForm(forms.Form):
    name = forms.CharField(max_length=120)
    criteria = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text='One criterion per line: its weight (1-100), then the words, e.g. "20 Greeted the caller". '
        'Start a line with ! for a compliance item, e.g. "!40 Verified the caller before disclosing".',
    )
    compliance_fails_review = forms.BooleanField(
        label="A missed compliance item scores the review 0", required=False, initial=True
    )


class QAReviewForm(forms.Form):
    """One mark (and an optional note) per criterion of the chosen scorecard, plus comments."""

    comments = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, criteria: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from inquiries.models import Mark

        self.criteria = criteria
        self.rows = []
        for criterion in criteria:
            mark_name, note_name = f"mark_{criterion.pk}", f"note_{criterion.pk}"
            self.fields[mark_name] = forms.ChoiceField(
                label=criterion.label, choices=Mark.choices, widget=forms.RadioSelect
            )
            self.fields[note_name] = forms.CharField(
                label=f"Note on {criterion.label}", max_length=300, required=False
            )
            self.rows.append((criterion, self[mark_name], self[note_name]))

    def marks(self) -> dict[int, str]:
        return {c.pk: self.cleaned_data[f"mark_{c.pk}"] for c in self.criteria}

    def notes(self) -> dict[int, str]:
        return {c.pk: self.cleaned_data.get(f"note_{c.pk}", "") for c in self.criteria}
