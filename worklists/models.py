"""Work queues, who works them with which skills, and the work items that drive the day.

A ``WorkItem`` is a piece of follow-up work about one subject (a case, an account, a
denial…), produced by a rule of ``worklists.registry`` and kept current by the refresh:
at most one item per organization, rule kind and dedupe key is not done at any time. A
person takes items with "get next", completes them with an outcome that lands on the
subject's timeline, or snoozes them until a date.

Worklists sit below accounts, claims and inquiries: nothing here imports them. The
subject is a generic relation; each app says how its subjects are linked
(``registry.register_subject``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core.audit import audit_history
from core.models import BaseModel, choice_check
from worklists.querysets import QueueMemberQuerySet, QueueQuerySet, WorkItemQuerySet

PRIORITY_MAX = 1000

# "lang:es", "payer:3f1c…", "org:riverside": a prefix naming what the skill is about, then a value.
SKILL_PATTERN = r"^[a-z]+:[A-Za-z0-9_.-]+$"
validate_skill = RegexValidator(
    SKILL_PATTERN, 'A skill is written "kind:value", e.g. "lang:es" or "payer:<payer reference>".'
)


class Queue(BaseModel):
    """A line of work in one organization (denials, credit balances, case follow-up…)."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True, default="")
    cap_per_person = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
        help_text="Most items one person may have in progress in this queue; empty means no cap.",
    )
    escalate_after_hours = models.PositiveIntegerField(
        default=24,
        validators=[MaxValueValidator(24 * 90)],
        help_text="Hours past an item's due time before it is escalated to the supervisors.",
    )
    is_active = models.BooleanField(default=True, help_text="Get next serves only active queues.")

    history = audit_history()
    objects = QueueQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="worklists_queue_slug_unique"),
            models.CheckConstraint(
                condition=models.Q(cap_per_person__isnull=True) | models.Q(cap_per_person__gte=1),
                violation_error_message="cap_per_person: must be at least 1, or empty for no cap",
                name="%(app_label)s_%(class)s_cap_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class QueueMember(BaseModel):
    """A person who works a queue, with the skills that open items needing them (language, payer…)."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    skills = ArrayField(
        models.CharField(max_length=64, validators=[validate_skill]), default=list, blank=True, size=50
    )

    history = audit_history()
    objects = QueueMemberQuerySet.as_manager()

    class Meta:
        ordering = ["queue", "user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "user"], name="worklists_member_unique"),
        ]
        indexes = [
            # "Which queues do I work?" (get next, My work).
            models.Index(fields=["user", "organization"], name="worklists_member_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.queue}"


class WorkStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    SNOOZED = "snoozed", "Snoozed"
    DONE = "done", "Done"


class Outcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    LEFT_MESSAGE = "left_message", "Left a message"
    CALLBACK_SCHEDULED = "callback_scheduled", "Callback scheduled"
    WAITING_ON_PAYER = "waiting_on_payer", "Waiting on the payer"
    ESCALATED = "escalated", "Escalated"
    NO_ACTION_NEEDED = "no_action_needed", "No action needed"
    RESOLVED_ELSEWHERE = "resolved_elsewhere", "Resolved elsewhere"


# What a person may choose when completing an item; "resolved elsewhere" is the refresh's.
PERSON_OUTCOMES = [choice for choice in Outcome if choice != Outcome.RESOLVED_ELSEWHERE]

# After a person completes an item whose rule still finds the work (the denial is still
# open, the credit still there), the refresh raises it again only after this many days:
# completing "left a message" means "not today", not "never".
RESURFACE_DAYS = {
    Outcome.RESOLVED: 7,
    Outcome.LEFT_MESSAGE: 2,
    Outcome.CALLBACK_SCHEDULED: 3,
    Outcome.WAITING_ON_PAYER: 14,
    Outcome.ESCALATED: 7,
    Outcome.NO_ACTION_NEEDED: 30,
}


class WorkItem(BaseModel):
    """One piece of follow-up work about a subject, in a queue, with a due time and a priority."""

    Status = WorkStatus
    Outcome = Outcome

    TRANSITIONS = {
        Status.OPEN: {Status.IN_PROGRESS, Status.SNOOZED, Status.DONE},
        Status.IN_PROGRESS: {Status.OPEN, Status.SNOOZED, Status.DONE},
        Status.SNOOZED: {Status.OPEN, Status.IN_PROGRESS, Status.SNOOZED, Status.DONE},
        Status.DONE: set(),
    }

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=80, help_text="The rule that produces this kind of work.")
    source_rule = models.CharField(max_length=200, help_text="The function that produced the item.")
    dedupe_key = models.CharField(max_length=120)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.BigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="items")
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    priority = models.PositiveSmallIntegerField(validators=[MaxValueValidator(PRIORITY_MAX)])
    priority_reason = models.CharField(max_length=300)
    required_skills = ArrayField(models.CharField(max_length=64), default=list, blank=True, size=10)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    taken_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snoozed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    snooze_reason = models.CharField(max_length=300, blank=True, default="")
    escalated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the item went past due beyond its queue's grace."
    )
    outcome = models.CharField(max_length=24, choices=Outcome.choices, blank=True, default="")
    outcome_note = models.TextField(blank=True, default="")
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resurface_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Done by a person: the rule may raise the same work again from this time.",
    )

    history = audit_history()
    objects = WorkItemQuerySet.as_manager()

    class Meta:
        ordering = ["-priority", "due_at", "id"]
        constraints = [
            choice_check("status", WorkStatus),
            models.CheckConstraint(
                condition=models.Q(outcome="") | models.Q(outcome__in=Outcome.values),
                name="%(app_label)s_%(class)s_outcome_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(priority__lte=PRIORITY_MAX), name="%(app_label)s_%(class)s_priority_range"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="done")
                | (~models.Q(outcome="") & models.Q(done_at__isnull=False)),
                violation_error_message="outcome: a done item needs an outcome",
                name="%(app_label)s_%(class)s_done_has_outcome",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="snoozed") | models.Q(snoozed_until__isnull=False),
                name="%(app_label)s_%(class)s_snooze_has_date",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="in_progress") | models.Q(assignee__isnull=False),
                name="%(app_label)s_%(class)s_in_progress_assigned",
            ),
            # The refresh's promise: never two live items for the same work.
            models.UniqueConstraint(
                fields=["organization", "kind", "dedupe_key"],
                condition=~models.Q(status="done"),
                name="worklists_item_live_unique",
            ),
        ]
        indexes = [
            # Get next, per queue: the highest priority, then the earliest due, among open items.
            models.Index(
                fields=["queue", "-priority", "due_at", "id"],
                condition=models.Q(status="open"),
                name="worklists_item_next",
            ),
            # My work's "due by end of today", per queue, earliest first.
            models.Index(
                fields=["queue", "due_at"], condition=models.Q(status="open"), name="worklists_item_due"
            ),
            # Snoozed items coming back (get next and the refresh's wake-up).
            models.Index(
                fields=["queue", "snoozed_until"],
                condition=models.Q(status="snoozed"),
                name="worklists_item_snoozed",
            ),
            # My work's "in progress" and the cap per person.
            models.Index(
                fields=["assignee", "queue"],
                condition=models.Q(status="in_progress"),
                name="worklists_item_assignee",
            ),
            # My work's "snoozed by me".
            models.Index(
                fields=["snoozed_by", "snoozed_until"],
                condition=models.Q(status="snoozed"),
                name="worklists_item_snoozed_by",
            ),
            # Escalated items per queue (supervisors' counts), read from the index alone.
            models.Index(
                fields=["queue"],
                condition=models.Q(status__in=["open", "in_progress"], escalated_at__isnull=False),
                name="worklists_item_escalated",
            ),
            # The SLA escalation: live items past due and not yet escalated.
            models.Index(
                fields=["due_at"],
                condition=models.Q(status__in=["open", "in_progress"], escalated_at__isnull=True),
                name="worklists_item_escalation",
            ),
            # The refresh: items a person completed that must not come back before resurface_at.
            models.Index(
                fields=["organization", "kind", "dedupe_key", "resurface_at"],
                condition=models.Q(status="done", resurface_at__isnull=False),
                name="worklists_item_resurface",
            ),
            # Work items about one subject (the case or account page's "open work").
            models.Index(fields=["subject_type", "subject_id"], name="worklists_item_subject"),
        ]

    def __str__(self) -> str:
        return self.title

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    def get_absolute_url(self) -> str:
        return reverse("worklists:item_detail", args=[self.reference])

    @property
    def is_live(self) -> bool:
        return self.status != self.Status.DONE

    def is_available(self, now=None) -> bool:
        """Open, or snoozed with its date reached: get next may hand it out."""
        now = now or timezone.now()
        if self.status == self.Status.OPEN:
            return True
        return (
            self.status == self.Status.SNOOZED
            and self.snoozed_until is not None
            and self.snoozed_until <= now
        )

    def is_overdue(self, now=None) -> bool:
        return self.is_live and self.due_at < (now or timezone.now())


class RefreshTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Scheduled"
    ON_DEMAND = "on_demand", "On demand"


class RefreshRun(models.Model):
    """One run of the rules refresh: when, for whom, and what it changed.

    A scheduled run over every organization is one row without an organization and
    without counts (they would mix clients); an on-demand run for one organization keeps
    its counts, so the supervisor who asked sees what it did. Operational data, not
    history-tracked; rows older than ``RefreshRun.KEEP_DAYS`` are deleted by the refresh.
    """

    KEEP_DAYS = 14

    Trigger = RefreshTrigger

    organization = models.ForeignKey(
        "staff.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    woken = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    failed_rules = ArrayField(models.CharField(max_length=80), default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [choice_check("trigger", RefreshTrigger)]
        indexes = [models.Index(fields=["organization", "-started_at"], name="worklists_refresh_org")]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} refresh at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
