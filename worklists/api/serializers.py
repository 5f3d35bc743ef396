"""Worklists API serializers: one read serializer per model, small input serializers per action.

Related objects are read and written as their UUID ``reference``; a reference the caller
may not see fails like one that does not exist. Input serializers check shape only; the
services decide everything else.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from staff.api.serializers import REASON_MAX_LENGTH, UserSerializer
from worklists import registry
from worklists.models import PERSON_OUTCOMES, Queue, QueueMember, WorkItem


def _reference_field(**kwargs: Any) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="reference", read_only=True, **kwargs)


class QueueSerializer(serializers.ModelSerializer):
    organization = _reference_field()

    class Meta:
        model = Queue
        fields = [
            "reference",
            "organization",
            "slug",
            "name",
            "description",
            "cap_per_person",
            "escalate_after_hours",
            "is_active",
        ]
        read_only_fields = fields


class QueueMemberSerializer(serializers.ModelSerializer):
    queue = _reference_field()
    user = UserSerializer(read_only=True)

    class Meta:
        model = QueueMember
        fields = ["reference", "queue", "user", "skills"]
        read_only_fields = fields


class SubjectSerializer(serializers.Serializer):
    type = serializers.CharField(
        help_text='The kind of record, e.g. "claims.denial" or "accounts.patientaccount".'
    )
    reference = serializers.UUIDField(allow_null=True)
    url = serializers.CharField(allow_null=True, help_text="The page the record is worked on.")


class WorkItemSerializer(serializers.ModelSerializer):
    organization = _reference_field()
    queue = _reference_field()
    assignee = UserSerializer(read_only=True)
    done_by = UserSerializer(read_only=True)
    kind_label = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()

    class Meta:
        model = WorkItem
        fields = [
            "reference",
            "organization",
            "kind",
            "kind_label",
            "title",
            "subject",
            "queue",
            "status",
            "priority",
            "priority_reason",
            "due_at",
            "required_skills",
            "assignee",
            "taken_at",
            "snoozed_until",
            "snooze_reason",
            "escalated_at",
            "outcome",
            "outcome_note",
            "done_at",
            "done_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_kind_label(self, item: WorkItem) -> str:
        return registry.rule_label(item.kind)

    @extend_schema_field(SubjectSerializer)
    def get_subject(self, item: WorkItem) -> dict[str, Any]:
        subject = item.subject
        return {
            "type": f"{item.subject_type.app_label}.{item.subject_type.model}",
            "reference": getattr(subject, "reference", None),
            "url": registry.subject_url(subject),
        }


class GetNextInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization to work in.")
    queue = serializers.UUIDField(required=False, allow_null=True, help_text="Only from this queue.")


class CompleteInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[(o.value, o.label) for o in PERSON_OUTCOMES])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class SnoozeInputSerializer(serializers.Serializer):
    until = serializers.DateTimeField(help_text="When the item returns to its queue (with a time zone).")
    reason = serializers.CharField(max_length=300)


class ReleaseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=REASON_MAX_LENGTH)


class ReassignInputSerializer(serializers.Serializer):
    assignee = serializers.UUIDField(
        allow_null=True, help_text="Reference of a person; null puts it back in the queue."
    )
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH)


class RefreshInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization whose rules to run.")
