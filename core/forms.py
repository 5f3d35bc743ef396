"""Form helpers every app's pages share: a service's refusal shown on the form, and a
one-line summary of a form's errors for messages."""

from __future__ import annotations

from django import forms
from django.forms.forms import NON_FIELD_ERRORS

from core.errors import DomainError


def add_refusal(form: forms.Form, exc: Exception) -> None:
    """Attach a service's refusal to the form, on the field it names when the form has it."""
    if isinstance(exc, DomainError):
        field, text = exc.field, exc.message
        # Domain messages read "field: what is wrong"; the form shows the label instead.
        if field and text.startswith(f"{field}: "):
            text = text[len(field) + 2 :]
        if field in form.fields:
            form.add_error(field, text[:1].upper() + text[1:])
        else:
            form.add_error(None, exc.message)
        return
    form.add_error(None, str(exc) or "You do not have permission to do this.")


def error_summary(form: forms.Form) -> str:
    """``"Reason: This field is required."``: every error, prefixed with its field's label."""
    parts = []
    for name, errors in form.errors.items():
        label = None if name == NON_FIELD_ERRORS else form[name].label
        parts.extend(f"{label}: {error}" if label else str(error) for error in errors)
    return " ".join(parts)
