from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from correspondence.models import DocumentKind, Letterhead

_BODY_WIDGET = forms.Textarea(attrs={"rows": 26, "class": "font-monospace", "spellcheck": "false"})


class TemplateFields(forms.Form):
    name = forms.CharField(max_length=120)
    subject = forms.CharField(
        max_length=200,
        label="Subject line or title",
        help_text="The email subject, or the title printed on the letter. Variables may be used.",
    )
    # Not stripped: indentation and trailing newlines are the admin's to keep.
    body = forms.CharField(widget=_BODY_WIDGET, strip=False, help_text="Django template language.")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    is_default = forms.BooleanField(
        required=False,
        label="Default for its kind",
        help_text="Statements and emails of this kind are made with it; the old default stops being one.",
    )


class TemplateCreateForm(TemplateFields):
    kind = forms.ChoiceField(choices=DocumentKind.choices)

    field_order = ["name", "kind", "subject", "body", "is_active", "is_default"]


class TemplateUpdateForm(TemplateFields):
    reason = forms.CharField(max_length=300, help_text="Recorded in the template's change history.")


class TemplatePreviewForm(forms.Form):
    kind = forms.ChoiceField(choices=DocumentKind.choices)
    subject = forms.CharField(max_length=200)
    body = forms.CharField(strip=False)


def _formfield(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    # A web address typed without a scheme ("pay.example.org") is taken as https.
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class LetterheadForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Recorded in the change history.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "letterhead_%s")
        super().__init__(*args, **kwargs)
        model_fields = forms.fields_for_model(
            Letterhead,
            fields=[
                "return_address",
                "billing_phone",
                "billing_hours",
                "payable_to",
                "payment_address",
                "payment_portal_url",
                "assistance_phone",
                "assistance_url",
                "statement_due_days",
            ],
            widgets={
                "return_address": forms.Textarea(attrs={"rows": 3}),
                "payment_address": forms.Textarea(attrs={"rows": 3}),
            },
            formfield_callback=_formfield,
        )
        reason = self.fields.pop("reason")
        self.fields.update(model_fields)
        self.fields["reason"] = reason

    @staticmethod
    def initial_from(letterhead: Letterhead) -> dict:
        return {name: getattr(letterhead, name) for name in LetterheadForm().fields if name != "reason"}
