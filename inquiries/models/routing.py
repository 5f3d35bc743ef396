"""Where calls and cases go: the department directory, and referrals to the appeals & grievances queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.audit import audit_history
from core.models import BaseModel, choice_check
from inquiries.querysets import InquiriesQuerySet


class DepartmentKind(models.TextChoices):
    UTILIZATION_MANAGEMENT = "utilization_management", "Utilization management"
    CLINICAL = "clinical", "Clinical staff"
    HEALTH_PLAN = "health_plan", "Health plan"
    APPEALS_GRIEVANCES = "appeals_grievances", "Appeals & grievances"
    SUPERVISOR = "supervisor", "Supervisor"
    BILLING = "billing", "Billing"
    PHARMACY = "pharmacy", "Pharmacy"
    CUSTOMER_SERVICE = "customer_service", "Customer service"
    FINANCIAL_ASSISTANCE = "financial_assistance", "Financial assistance"
    OTHER = "other", "Other"


class Department(BaseModel):
    """A team or outside party calls and cases are transferred to, with how to reach it."""

    Kind = DepartmentKind

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=24, choices=DepartmentKind.choices)
    phone = models.CharField(max_length=32, blank=True, default="")
    hours = models.CharField(
        max_length=120, blank=True, default="", help_text="e.g. Mon-Fri 8 a.m. to 5 p.m. CT"
    )
    notes = models.CharField(
        max_length=300, blank=True, default="", help_text="When to send callers here (e.g. providers only)."
    )
    is_active = models.BooleanField(default=True)

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="inquiries_department_name_unique"),
            choice_check("kind", DepartmentKind),
        ]

    def __str__(self) -> str:
        return self.name


class ReferralStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLOSED = "closed", "Closed"


class ReferralKind(models.TextChoices):
    GRIEVANCE = "grievance", "Grievance or complaint"
    APPEAL = "appeal", "Appeal request"
    DISPUTE = "dispute", "Provider dispute"


class Referral(BaseModel):
    """A case sent to the appeals & grievances coordinator: the record the coordinator works."""

    Kind = ReferralKind
    Status = ReferralStatus

    TRANSITIONS = {
        ReferralStatus.OPEN: {ReferralStatus.ACKNOWLEDGED, ReferralStatus.CLOSED},
        ReferralStatus.ACKNOWLEDGED: {ReferralStatus.CLOSED},
    }

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("inquiries.Case", on_delete=models.PROTECT, related_name="referrals")
    kind = models.CharField(max_length=12, choices=ReferralKind.choices)
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=14, choices=ReferralStatus.choices, default=ReferralStatus.OPEN)
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    referred_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=500, blank=True, default="")

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["referred_at", "id"]
        constraints = [
            choice_check("kind", ReferralKind),
            choice_check("status", ReferralStatus),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | ~models.Q(outcome=""),
                violation_error_message="outcome: say how the referral was closed",
                name="%(app_label)s_%(class)s_closed_has_outcome",
            ),
        ]
        indexes = [
            # The A&G queue: open and acknowledged referrals, oldest first.
            models.Index(
                fields=["organization", "referred_at"],
                condition=models.Q(status__in=["open", "acknowledged"]),
                name="inquiries_referral_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} referral ({self.get_status_display()})"

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())
