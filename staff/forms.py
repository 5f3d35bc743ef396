from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from staff.models import ApprovalLimit, Organization, Role, Team, validate_time_zone


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"})
    )
    error_messages = {
        "invalid_login": "That email and password do not match an active account. "
        "Check both and try again; after repeated failures the account is locked for a while.",
        "inactive": "This account is inactive. Ask an administrator of your organization.",
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class SwitchOrganizationForm(forms.Form):
    organization = forms.UUIDField()


# Offered first on the organization page; any other IANA zone may be typed in.
COMMON_US_TIME_ZONES = [
    ("America/New_York", "Eastern (America/New_York)"),
    ("America/Chicago", "Central (America/Chicago)"),
    ("America/Denver", "Mountain (America/Denver)"),
    ("America/Phoenix", "Arizona (America/Phoenix)"),
    ("America/Los_Angeles", "Pacific (America/Los_Angeles)"),
    ("America/Anchorage", "Alaska (America/Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Pacific/Honolulu)"),
    ("America/Puerto_Rico", "Atlantic (America/Puerto_Rico)"),
]


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Recorded in the change history.")


class MembershipAddForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(
        max_length=150, required=False, help_text="Needed when the person is new here."
    )
    role = forms.ChoiceField(choices=Role.choices)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="No team", to_field_name="reference"
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        # Distinct ids: the members page also shows the role and team filters.
        kwargs.setdefault("auto_id", "add_member_%s")
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.in_organization(organization)


class MembershipRoleForm(ReasonForm):
    role = forms.ChoiceField(choices=Role.choices)


class MembershipTeamForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="No team", to_field_name="reference"
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.in_organization(organization)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, label="Team name")
    description = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "new_team_%s")
        super().__init__(*args, **kwargs)


class ApprovalLimitForm(ReasonForm):
    role = forms.ChoiceField(choices=Role.choices)
    kind = forms.ChoiceField(choices=ApprovalLimit.Kind.choices, label="Limit")
    # Text, not DecimalField: core.money.parse_money (called by the service) is the one
    # parser of amounts and accepts "$1,250.00" as typed.
    max_amount = forms.CharField(max_length=32, label="Amount", help_text="In dollars, e.g. 250.00.")


class OrganizationForm(ReasonForm):
    name = forms.CharField(max_length=200)
    time_zone = forms.CharField(max_length=64, widget=forms.Select)
    time_zone_other = forms.CharField(
        max_length=64,
        required=False,
        label="Other time zone",
        help_text="Any IANA time zone, e.g. America/Boise; overrides the list above.",
    )

    field_order = ["name", "time_zone", "time_zone_other", "reason"]

    def __init__(self, *args, current_time_zone: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        choices = list(COMMON_US_TIME_ZONES)
        if current_time_zone and current_time_zone not in dict(choices):
            choices.append((current_time_zone, current_time_zone))
        self.fields["time_zone"].widget.choices = choices

    def clean(self) -> dict:
        cleaned = super().clean()
        other = cleaned.get("time_zone_other", "").strip()
        zone = other or cleaned.get("time_zone", "")
        field = "time_zone_other" if other else "time_zone"
        if zone:
            try:
                validate_time_zone(zone)
            except ValidationError as exc:
                self.add_error(field, exc)
            else:
                cleaned["time_zone"] = zone
        return cleaned


class ClosureForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=120)

    def __init__(self, *args, **kwargs):
        # Distinct ids: the organization form on the same page has a reason field too.
        kwargs.setdefault("auto_id", "closure_%s")
        super().__init__(*args, **kwargs)
