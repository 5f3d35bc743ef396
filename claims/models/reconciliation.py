"""Money in the bank matched to remittances, and payers' audits of our claims."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from core.audit import audit_history
from core.models import BaseModel, choice_check
from core.money import MoneyField
from staff.querysets import OrganizationScopedQuerySet


class DepositMethod(models.TextChoices):
    EFT = "eft", "EFT / ACH"
    CHECK = "check", "Check"
    WIRE = "wire", "Wire"
    OTHER = "other", "Other"


class DepositSource(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    CSV = "csv", "Bank file (CSV)"


class Deposit(BaseModel):
    """A bank deposit (EFT or check) that should equal a remittance's payment."""

    Method = DepositMethod

    Source = DepositSource

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(
        "payers.Payer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deposit_date = models.DateField()
    amount = MoneyField()
    trace_number = models.CharField(max_length=50, help_text="EFT trace (TRN02) or check number.")
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.EFT)
    bank_reference = models.CharField(max_length=80, blank=True, default="")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    payment = models.OneToOneField(
        "claims.RemittancePayment", on_delete=models.PROTECT, null=True, blank=True, related_name="deposit"
    )
    matched_at = models.DateTimeField(null=True, blank=True)
    notes = models.CharField(max_length=300, blank=True, default="")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-deposit_date", "-id"]
        constraints = [
            # A bank file imported twice adds nothing.
            models.UniqueConstraint(
                fields=["organization", "trace_number", "deposit_date", "amount"],
                name="claims_deposit_unique",
            ),
            choice_check("method", DepositMethod),
            choice_check("source", DepositSource),
        ]
        indexes = [
            models.Index(Upper("trace_number"), "organization", name="claims_deposit_trace"),
            models.Index(fields=["organization", "deposit_date"], name="claims_deposit_date"),
            # Matching after every 835 import reads only the organization's unmatched deposits.
            models.Index(
                fields=["organization"],
                condition=models.Q(payment__isnull=True),
                name="claims_deposit_unmatched",
            ),
        ]

    def __str__(self) -> str:
        return f"Deposit {self.trace_number} {self.amount} on {self.deposit_date}"

    @property
    def is_matched(self) -> bool:
        return self.payment_id is not None


class InsuranceAuditKind(models.TextChoices):
    DESK = "desk", "Desk audit (records by mail or portal)"
    ONSITE = "onsite", "Onsite audit"


class InsuranceAuditStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    GATHERING = "gathering", "Gathering records"
    SUBMITTED = "submitted", "Records sent"
    FINDINGS = "findings", "Findings received"
    APPEALED = "appealed", "Findings appealed"
    CLOSED = "closed", "Closed"


class InsuranceAudit(BaseModel):
    """A payer's desk or onsite audit of our claims: what they asked for, when, and what came of it."""

    contains_phi = True

    Kind = InsuranceAuditKind

    Status = InsuranceAuditStatus

    TRANSITIONS = {
        Status.REQUESTED: {Status.GATHERING, Status.SUBMITTED, Status.CLOSED},
        Status.GATHERING: {Status.SUBMITTED, Status.CLOSED},
        Status.SUBMITTED: {Status.FINDINGS, Status.CLOSED},
        Status.FINDINGS: {Status.APPEALED, Status.CLOSED},
        Status.APPEALED: {Status.FINDINGS, Status.CLOSED},
        Status.CLOSED: set(),
    }

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey("payers.Payer", on_delete=models.PROTECT, related_name="audits")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    payer_reference = models.CharField(max_length=60, blank=True, default="")
    auditor = models.CharField(
        max_length=120, blank=True, default="", help_text="Auditor or audit firm contact."
    )
    requested_on = models.DateField()
    response_business_days = models.PositiveSmallIntegerField(default=30)
    due_date = models.DateField(help_text="Computed on the business-day calendar.")
    onsite_date = models.DateField(null=True, blank=True)
    claims = models.ManyToManyField("claims.Claim", blank=True, related_name="audits")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    findings = models.TextField(blank=True, default="")
    recoupment_amount = MoneyField(default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_on = models.DateField(null=True, blank=True)

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            choice_check("kind", InsuranceAuditKind),
            choice_check("status", InsuranceAuditStatus),
            models.CheckConstraint(
                condition=models.Q(recoupment_amount__gte=0),
                violation_error_message="recoupment_amount: cannot be negative",
                name="%(app_label)s_%(class)s_recoupment_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} audit by {self.payer} due {self.due_date}"

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    @property
    def is_overdue(self) -> bool:
        return (
            self.status in (self.Status.REQUESTED, self.Status.GATHERING)
            and self.due_date < timezone.localdate()
        )


class AuditDocument(models.Model):
    """A record sent to (or received from) the auditor, stored with the audit."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    audit = models.ForeignKey(InsuranceAudit, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=200)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()
    byte_size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return self.title
