"""Forms of the worklists pages. They check the shape of the input; the services decide."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime, time
from typing import Any

from django import forms

from worklists import registry
from worklists.models import PERSON_OUTCOMES, Queue, WorkItem


class CompleteForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("", "Choose what came of it…"), *[(o.value, o.label) for o in PERSON_OUTCOMES]],
        error_messages={"required": "Choose what came of the work."},
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the timeline with the outcome.",
    )


class SnoozeForm(forms.Form):
    until = forms.DateField(
        label="Back on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The item returns to its queue at the start of this day.",
    )
    reason = forms.CharField(max_length=300, help_text="Why it waits; shown on the timeline.")

    def until_datetime(self, time_zone: str) -> datetime:
        """The start of the chosen day in the organization's time zone."""
        return datetime.combine(self.cleaned_data["until"], time(0, 0), tzinfo=zoneinfo.ZoneInfo(time_zone))


class ReleaseForm(forms.Form):
    reason = forms.CharField(required=False, max_length=100)


class AssigneeField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.full_name or obj.email} ({obj.email})"


class ReassignForm(forms.Form):
    assignee = AssigneeField(
        queryset=None,
        required=False,
        empty_label="Nobody: back to the queue",
        help_text="Only people who work the item's queue are offered.",
    )
    reason = forms.CharField(max_length=100)

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = people


class BulkForm(forms.Form):
    """Selected items of a queue, moved to another queue or given to a person."""

    MOVE, REASSIGN = "move", "reassign"

    action = forms.ChoiceField(choices=[(MOVE, "Move to queue"), (REASSIGN, "Give to")])
    target_queue = forms.ModelChoiceField(queryset=None, required=False, label="Queue")
    assignee = AssigneeField(queryset=None, required=False, empty_label="Nobody: back to the queue")
    reason = forms.CharField(max_length=100)

    def __init__(self, *args: Any, queues: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_queue"].queryset = queues
        self.fields["assignee"].queryset = people
        self.items: list[uuid.UUID] = []
        if self.is_bound:
            for raw in self.data.getlist("items"):
                try:
                    self.items.append(uuid.UUID(raw))
                except ValueError:
                    continue

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.items:
            raise forms.ValidationError("Tick the items to change first.")
        if data.get("action") == self.MOVE and data.get("target_queue") is None:
            self.add_error("target_queue", "Choose the queue to move the items to.")
        return data


class QueueForm(forms.ModelForm):
    class Meta:
        model = Queue
        fields = ["name", "description", "cap_per_person", "escalate_after_hours", "is_active"]
        labels = {
            "cap_per_person": "Cap per person",
            "escalate_after_hours": "Escalate after (hours past due)",
        }


class QueueEditForm(QueueForm):
    reason = forms.CharField(max_length=100, help_text="Kept in the queue's history.")


class MemberAddForm(forms.Form):
    user = AssigneeField(queryset=None, label="Person", empty_label="Choose a person…")
    skills = forms.CharField(
        required=False,
        max_length=1000,
        help_text='Separated by commas, e.g. "lang:es, payer:<payer reference>".',
    )

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = people


class SkillsForm(forms.Form):
    skills = forms.CharField(required=False, max_length=1000)


class ItemFilterForm(forms.Form):
    """Filters of a queue's item list; an unknown value is ignored rather than refused."""

    STATUSES = [
        ("", "Open and in progress"),
        ("open", "Open"),
        ("in_progress", "In progress"),
        ("snoozed", "Snoozed"),
        ("escalated", "Escalated"),
        ("overdue", "Past due"),
    ]

    status = forms.ChoiceField(choices=STATUSES, required=False)
    kind = forms.ChoiceField(required=False, label="Rule")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Every rule")] + [
            (kind, rule.label) for kind, rule in registry.rules().items()
        ]

    def filter(self, queryset: Any, now: datetime) -> Any:
        data = self.cleaned_data if self.is_valid() else {}
        status = data.get("status", "")
        if status in ("open", "in_progress", "snoozed"):
            queryset = queryset.filter(status=status)
        else:
            queryset = queryset.filter(status__in=[WorkItem.Status.OPEN, WorkItem.Status.IN_PROGRESS])
            if status == "escalated":
                queryset = queryset.filter(escalated_at__isnull=False)
            elif status == "overdue":
                queryset = queryset.filter(due_at__lt=now)
        if data.get("kind"):
            queryset = queryset.filter(kind=data["kind"])
        return queryset

    @property
    def is_filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.values())
