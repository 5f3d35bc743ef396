"""Cases, the contacts made on them, callbacks owed, emails exchanged, and the service levels
that set when a case is due."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.urls import reverse

from accounts.models import Language
from core.audit import audit_history
from core.models import BaseModel, choice_check
from inquiries.querysets import CaseQuerySet, InquiriesQuerySet


class CallerType(models.TextChoices):
    PATIENT = "patient", "Patient / member"
    GUARANTOR = "guarantor", "Guarantor"
    PARENT = "parent", "Parent"
    SPOUSE = "spouse", "Spouse"
    AUTHORIZED_REPRESENTATIVE = "authorized_representative", "Authorized representative"
    PHYSICIAN_OFFICE = "physician_office", "Physician office"
    PROVIDER = "provider", "Provider"
    INSURER = "insurer", "Insurer / health plan"
    ATTORNEY = "attorney", "Attorney"
    COLLECTION_AGENCY = "collection_agency", "Collection agency"
    SALES_REPRESENTATIVE = "sales_representative", "Sales representative"
    OTHER = "other", "Other"


class Channel(models.TextChoices):
    PHONE_INBOUND = "phone_inbound", "Phone, inbound"
    PHONE_OUTBOUND = "phone_outbound", "Phone, outbound"
    EMAIL_INBOUND = "email_inbound", "Email, inbound"
    EMAIL_OUTBOUND = "email_outbound", "Email, outbound"
    FAX = "fax", "Fax"
    LETTER = "letter", "Letter"
    PORTAL = "portal", "Patient portal"
    WALK_IN = "walk_in", "Walk-in"


class Category(models.TextChoices):
    BILLING_QUESTION = "billing_question", "Billing question"
    CLAIM_STATUS = "claim_status", "Claim status"
    BENEFITS_COVERAGE = "benefits_coverage", "Benefits and coverage"
    BENEFIT_INVESTIGATION = "benefit_investigation", "Benefit investigation"
    PAYMENT = "payment", "Payment"
    PAYMENT_PLAN = "payment_plan", "Payment plan"
    FINANCIAL_ASSISTANCE = "financial_assistance", "Financial assistance"
    ITEMIZED_STATEMENT = "itemized_statement", "Itemized statement request"
    BILLING_DISPUTE = "billing_dispute", "Billing dispute"
    COMPLAINT_GRIEVANCE = "complaint_grievance", "Complaint or grievance"
    PROVIDER_DISPUTE = "provider_dispute", "Provider dispute"
    DEMOGRAPHICS_UPDATE = "demographics_update", "Demographics update"
    INSURANCE_UPDATE = "insurance_update", "Insurance update"
    OTHER = "other", "Other"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    PENDED = "pended", "Pended"
    TRANSFERRED = "transferred", "Transferred"
    ESCALATED = "escalated", "Escalated"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (
    CaseStatus.NEW,
    CaseStatus.IN_PROGRESS,
    CaseStatus.PENDED,
    CaseStatus.TRANSFERRED,
    CaseStatus.ESCALATED,
)


class ServiceLevel(BaseModel):
    """How fast an organization answers and resolves cases of a category and priority.

    Hours are counted on business days only (the organization's calendar: weekends,
    federal holidays and its closures do not count). An empty category or priority
    matches any; the most specific row wins (``inquiries.servicelevels``).
    """

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=32, choices=Category.choices, blank=True, default="")
    priority = models.CharField(max_length=8, choices=Priority.choices, blank=True, default="")
    first_response_hours = models.PositiveIntegerField()
    resolution_hours = models.PositiveIntegerField()

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["category", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "category", "priority"], name="inquiries_service_level_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(first_response_hours__gt=0)
                & models.Q(resolution_hours__gte=models.F("first_response_hours")),
                violation_error_message="resolution_hours: must be at least the hours to first response",
                name="%(app_label)s_%(class)s_hours_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(category="") | models.Q(category__in=Category.values),
                name="%(app_label)s_%(class)s_category_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(priority="") | models.Q(priority__in=Priority.values),
                name="%(app_label)s_%(class)s_priority_valid",
            ),
        ]

    def __str__(self) -> str:
        category = self.get_category_display() if self.category else "Any category"
        priority = self.get_priority_display() if self.priority else "any priority"
        return f"{category}, {priority.lower()}: {self.first_response_hours} h / {self.resolution_hours} h"


class Case(BaseModel):
    """One matter raised by or for a caller (a question, a dispute, a request), worked until resolved.

    Its subject is a patient and optionally one of their accounts and one claim; the
    member is the patient, and a provider is named when a physician office calls.
    """

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    CallerType = CallerType
    Channel = Channel
    Category = Category
    Priority = Priority
    Status = CaseStatus

    # Reopening is its own service (a resolved case by a case worker, a closed one by a
    # supervisor); it is in the table so that ``ensure_transition`` accepts it.
    TRANSITIONS = {
        CaseStatus.NEW: {
            CaseStatus.IN_PROGRESS,
            CaseStatus.PENDED,
            CaseStatus.TRANSFERRED,
            CaseStatus.ESCALATED,
            CaseStatus.RESOLVED,
        },
        CaseStatus.IN_PROGRESS: {
            CaseStatus.PENDED,
            CaseStatus.TRANSFERRED,
            CaseStatus.ESCALATED,
            CaseStatus.RESOLVED,
        },
        CaseStatus.PENDED: {
            CaseStatus.IN_PROGRESS,
            CaseStatus.PENDED,
            CaseStatus.TRANSFERRED,
            CaseStatus.ESCALATED,
            CaseStatus.RESOLVED,
        },
        CaseStatus.TRANSFERRED: {
            CaseStatus.IN_PROGRESS,
            CaseStatus.PENDED,
            CaseStatus.TRANSFERRED,
            CaseStatus.ESCALATED,
            CaseStatus.RESOLVED,
        },
        CaseStatus.ESCALATED: {
            CaseStatus.IN_PROGRESS,
            CaseStatus.PENDED,
            CaseStatus.TRANSFERRED,
            CaseStatus.RESOLVED,
        },
        CaseStatus.RESOLVED: {CaseStatus.CLOSED, CaseStatus.IN_PROGRESS},
        CaseStatus.CLOSED: {CaseStatus.IN_PROGRESS},
    }

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(
        max_length=8, help_text="Short reference read out on the phone and put in email subjects."
    )
    patient = models.ForeignKey(
        "accounts.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    account = models.ForeignKey(
        "accounts.PatientAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    claim = models.ForeignKey(
        "claims.Claim", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    provider_name = models.CharField(max_length=120, blank=True, default="")
    caller_type = models.CharField(max_length=32, choices=CallerType.choices)
    caller_name = models.CharField(max_length=120, blank=True, default="")
    caller_phone = models.CharField(max_length=15, blank=True, default="", help_text="Digits only.")
    caller_email = models.EmailField(blank=True, default="")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    category = models.CharField(max_length=32, choices=Category.choices)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.NEW)
    summary = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    department = models.ForeignKey(
        "inquiries.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        help_text="Where the case was last transferred.",
    )
    follow_up_on = models.DateField(null=True, blank=True)
    pend_reason = models.CharField(max_length=300, blank=True, default="")
    first_response_due_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="Resolution due, from the organization's service level.")
    first_responded_at = models.DateTimeField(null=True, blank=True)
    # An inbound email waiting for an answer: set when one arrives, cleared by an outbound contact.
    awaiting_reply_since = models.DateTimeField(null=True, blank=True)
    reply_due_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = audit_history()
    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="inquiries_case_number_unique"),
            choice_check("caller_type", CallerType),
            choice_check("channel", Channel),
            choice_check("category", Category),
            choice_check("priority", Priority),
            choice_check("status", CaseStatus),
            models.CheckConstraint(
                condition=~models.Q(status="pended")
                | (models.Q(follow_up_on__isnull=False) & ~models.Q(pend_reason="")),
                violation_error_message="follow_up_on: a pended case needs a follow-up date and a reason",
                name="%(app_label)s_%(class)s_pended_has_follow_up",
            ),
            models.CheckConstraint(
                condition=models.Q(due_at__gte=models.F("first_response_due_at")),
                name="%(app_label)s_%(class)s_due_ordered",
            ),
        ]
        indexes = [
            # Follow-up rule: pended cases whose follow-up date has come.
            models.Index(
                fields=["organization", "follow_up_on"],
                condition=models.Q(status="pended"),
                name="inquiries_case_pended",
            ),
            # Unanswered-email rule: open cases waiting for a reply, by reply due time.
            models.Index(
                fields=["organization", "reply_due_at"],
                condition=models.Q(awaiting_reply_since__isnull=False),
                name="inquiries_case_awaiting_reply",
            ),
            # Case list filtered by status, newest first (keyset on id).
            models.Index(fields=["organization", "status", "-id"], name="inquiries_case_status"),
            # "My cases": open cases by owner.
            models.Index(
                fields=["assigned_to", "-id"],
                condition=models.Q(status__in=["new", "in_progress", "pended", "transferred", "escalated"]),
                name="inquiries_case_open_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"Case #{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("inquiries:case_detail", kwargs={"reference": self.reference})

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def subject_token(self) -> str:
        """What an email subject carries so that replies thread onto this case."""
        return f"[Case #{self.number}]"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Relationship(models.TextChoices):
    """Who the person contacted is, relative to the patient."""

    SELF = "self", "Patient / member"
    GUARANTOR = "guarantor", "Guarantor"
    SPOUSE = "spouse", "Spouse"
    PARENT = "parent", "Parent"
    CHILD = "child", "Adult child"
    LEGAL_GUARDIAN = "legal_guardian", "Legal guardian"
    AUTHORIZED_REPRESENTATIVE = "authorized_representative", "Authorized representative"
    PHYSICIAN_OFFICE = "physician_office", "Physician office"
    PROVIDER = "provider", "Provider"
    INSURER = "insurer", "Insurer / health plan"
    ATTORNEY = "attorney", "Attorney"
    COLLECTION_AGENCY = "collection_agency", "Collection agency"
    OTHER = "other", "Other"


class Outcome(models.TextChoices):
    REACHED = "reached", "Reached"
    LEFT_MESSAGE = "left_message", "Left message"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    BUSY = "busy", "Busy"
    VOICEMAIL_FULL = "voicemail_full", "Voicemail full"
    DISCONNECTED = "disconnected", "Number disconnected"
    EMAIL_SENT = "email_sent", "Email sent"
    EMAIL_RECEIVED = "email_received", "Email received"
    LETTER_SENT = "letter_sent", "Letter sent"
    FAX_SENT = "fax_sent", "Fax sent"


class InterpreterKind(models.TextChoices):
    SPOKEN = "spoken", "Spoken-language interpreter"
    SIGN = "sign", "Sign-language interpreter"
    TTY = "tty", "TTY / text telephone"
    VRS = "vrs", "Video relay service (VRS)"
    RELAY = "relay", "Telecommunications relay service (711)"
    OTHER = "other", "Other"


class Interaction(BaseModel):
    """One contact on a case: a call made or taken, an email, a letter, a fax, a visit."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    Direction = Direction
    Channel = Channel
    Relationship = Relationship
    Outcome = Outcome
    InterpreterKind = InterpreterKind

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="interactions")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    contact_point = models.CharField(
        "number or address used", max_length=254, blank=True, default="", help_text="Phone, email or fax."
    )
    person_contacted = models.CharField(max_length=120, blank=True, default="")
    relationship = models.CharField(max_length=32, choices=Relationship.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    message_left_with = models.CharField(
        max_length=120, blank=True, default="", help_text="Who took the message (a spouse, voicemail…)."
    )
    notes = models.TextField(blank=True, default="")
    interpreter_used = models.BooleanField(default=False)
    interpreter_language = models.CharField(max_length=8, choices=Language.choices, blank=True, default="")
    interpreter_kind = models.CharField(max_length=8, choices=InterpreterKind.choices, blank=True, default="")
    interpreter_reference = models.CharField(
        "interpreter id or service", max_length=80, blank=True, default=""
    )
    script_version = models.ForeignKey(
        "inquiries.ScriptVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    steps_completed = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    # Positions of required disclosures of the script that were not read; kept as logged.
    disclosures_missed = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            choice_check("direction", Direction),
            choice_check("channel", Channel),
            choice_check("relationship", Relationship),
            choice_check("outcome", Outcome),
            models.CheckConstraint(
                condition=~models.Q(outcome="left_message") | ~models.Q(message_left_with=""),
                violation_error_message="message_left_with: say with whom the message was left",
                name="%(app_label)s_%(class)s_message_left_with_whom",
            ),
            models.CheckConstraint(
                condition=models.Q(interpreter_used=False)
                | (~models.Q(interpreter_kind="") & ~models.Q(interpreter_language="")),
                violation_error_message="interpreter_kind: name the interpreter service and language",
                name="%(app_label)s_%(class)s_interpreter_named",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                violation_error_message="ended_at: cannot be before the start",
                name="%(app_label)s_%(class)s_times_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["case", "-started_at"], name="inquiries_interaction_case"),
            # QA: a rep's contacts, newest first.
            models.Index(fields=["logged_by", "-started_at"], name="inquiries_interaction_rep"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_channel_display()} {self.get_outcome_display().lower()} on {self.started_at:%Y-%m-%d}"
        )

    @property
    def duration(self):
        return self.ended_at - self.started_at if self.ended_at else None

    @property
    def outcome_text(self) -> str:
        """``"Left message with spouse"``: the outcome as a rep says it."""
        text = self.get_outcome_display()
        if self.outcome == Outcome.LEFT_MESSAGE and self.message_left_with:
            return f"{text} with {self.message_left_with}"
        return text


class CallbackStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class CallbackKind(models.TextChoices):
    CALLBACK = "callback", "Callback requested"
    OUTBOUND = "outbound", "Outbound call to make"


class Callback(BaseModel):
    """A call owed on a case: a callback the caller asked for, or an outbound call to make."""

    Kind = CallbackKind
    Status = CallbackStatus

    TRANSITIONS = {CallbackStatus.OPEN: {CallbackStatus.DONE, CallbackStatus.CANCELLED}}

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="callbacks")
    kind = models.CharField(max_length=8, choices=CallbackKind.choices, default=CallbackKind.CALLBACK)
    requested_for = models.DateTimeField(help_text="When to call.")
    phone = models.CharField(max_length=15, help_text="Digits only.")
    contact_name = models.CharField(max_length=120, blank=True, default="")
    notes = models.CharField(max_length=300, blank=True, default="")
    status = models.CharField(max_length=10, choices=CallbackStatus.choices, default=CallbackStatus.OPEN)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["requested_for", "id"]
        constraints = [
            choice_check("kind", CallbackKind),
            choice_check("status", CallbackStatus),
            models.CheckConstraint(
                condition=models.Q(phone__regex=r"^[0-9]{10,15}$"),
                violation_error_message="phone: enter the number to call (10 digits)",
                name="%(app_label)s_%(class)s_phone_digits",
            ),
        ]
        indexes = [
            # Callback rule: open callbacks by time.
            models.Index(
                fields=["organization", "requested_for"],
                condition=models.Q(status="open"),
                name="inquiries_callback_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.requested_for:%Y-%m-%d %H:%M}"

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())


class CaseEmail(models.Model):
    """An email received or sent on a case, kept with the ids that thread replies onto it.

    Written once (intake or sending) and never changed; the case timeline records it.
    """

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="emails")
    interaction = models.OneToOneField(Interaction, on_delete=models.PROTECT, related_name="email")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    message_id = models.CharField(max_length=255)
    in_reply_to = models.CharField(max_length=255, blank=True, default="")
    from_address = models.CharField(max_length=254)
    to_address = models.CharField(max_length=254)
    subject = models.CharField(max_length=300, blank=True, default="")
    body = models.TextField(blank=True, default="")
    occurred_at = models.DateTimeField()

    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # Re-reading a mailbox must not file the same message twice.
            models.UniqueConstraint(fields=["organization", "message_id"], name="inquiries_email_message_id"),
            choice_check("direction", Direction),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} email {self.message_id}"
