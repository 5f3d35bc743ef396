from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from staff.models import ApprovalLimit, Organization, Role, Team


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True,
                                                                             "autocomplete": "username"}))
    error_messages = {
        "invalid_login": "That email and password do not match an active account. "
        "Check both and try again; after repeated failures the account is locked for a while.",
        "inactive": "This account is inactive. Ask an administrator of your organization.",
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class SwitchOrganizationForm(forms.Form):
    organization = forms.UUIDField()


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Recorded in the change history.")


class MembershipAddForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=150, required=False, help_text="Needed when the person is new here.")
    role = forms.ChoiceField(choices=Role.choices)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(organization=organization)


class MembershipRoleForm(ReasonForm):
    role = forms.ChoiceField(choices=Role.choices)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)


class ApprovalLimitForm(ReasonForm):
    role = forms.ChoiceField(choices=Role.choices)
    kind = forms.ChoiceField(choices=ApprovalLimit.Kind.choices)
    max_amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)


class OrganizationForm(ReasonForm):
    name = forms.CharField(max_length=200)
    time_zone = forms.CharField(max_length=64)


class ClosureForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=120)
