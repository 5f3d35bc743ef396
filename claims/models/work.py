"""What posting leaves for people to work: exceptions, denials and payment variances;
and the official texts of adjustment and remark codes, loaded from the organization's file."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from core.audit import audit_history
from core.models import BaseModel, choice_check
from core.money import MoneyField
from staff.querysets import OrganizationScopedQuerySet

ZERO = Decimal("0.00")


class WorkStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


WORK_TRANSITIONS = {
    WorkStatus.OPEN: {WorkStatus.IN_PROGRESS, WorkStatus.RESOLVED, WorkStatus.DISMISSED},
    WorkStatus.IN_PROGRESS: {WorkStatus.OPEN, WorkStatus.RESOLVED, WorkStatus.DISMISSED},
    WorkStatus.RESOLVED: {WorkStatus.OPEN},
    WorkStatus.DISMISSED: {WorkStatus.OPEN},
}


class WorkedItem(BaseModel):
    """Shared columns of the things a posting specialist works to an end."""

    Status = WorkStatus
    TRANSITIONS = WORK_TRANSITIONS

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=WorkStatus.choices, default=WorkStatus.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        abstract = True

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    @property
    def is_open(self) -> bool:
        return self.status in (WorkStatus.OPEN, WorkStatus.IN_PROGRESS)


class PostingExceptionKind(models.TextChoices):
    UNMATCHED = "unmatched", "No matching claim"
    AMBIGUOUS = "ambiguous", "More than one claim matches"
    CLAIM_UNBALANCED = "claim_unbalanced", "Claim does not balance"
    TRANSACTION_UNBALANCED = "transaction_unbalanced", "Payment total does not balance"
    INCOMPLETE = "incomplete", "Claim data incomplete or unreadable"
    UNKNOWN_STATUS = "unknown_status", "Unknown claim status code"
    REVERSAL_WITHOUT_ORIGINAL = "reversal_unmatched", "Reversal of a payment never posted"
    PROVIDER_ADJUSTMENT = "provider_adjustment", "Provider-level adjustment to place"
    DUPLICATE_PAYMENT = "duplicate_payment", "Payment already posted from another file"
    PAID_MORE_THAN_BILLED = "paid_over_billed", "Paid more than billed"


class PostingException(WorkedItem):
    """Something in a remittance that could not be posted as it stands and needs a person."""

    contains_phi = True

    Kind = PostingExceptionKind

    kind = models.CharField(max_length=24, choices=Kind.choices)
    payment = models.ForeignKey(
        "claims.RemittancePayment", on_delete=models.PROTECT, related_name="exceptions"
    )
    claim_payment = models.ForeignKey(
        "claims.ClaimPayment", on_delete=models.PROTECT, null=True, blank=True, related_name="exceptions"
    )
    provider_adjustment = models.ForeignKey(
        "claims.ProviderAdjustment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exceptions",
    )
    message = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    amount = MoneyField(default=ZERO)

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [choice_check("status", WorkStatus), choice_check("kind", PostingExceptionKind)]
        indexes = [
            # The exceptions queue: open items, oldest first.
            models.Index(
                fields=["organization", "created_at"],
                condition=models.Q(status__in=["open", "in_progress"]),
                name="claims_exception_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"


class DenialCategory(models.TextChoices):
    ELIGIBILITY = "eligibility", "Eligibility / coverage"
    AUTHORIZATION = "authorization", "Authorization / referral"
    TIMELY_FILING = "timely_filing", "Timely filing"
    MEDICAL_NECESSITY = "medical_necessity", "Medical necessity"
    CODING = "coding", "Coding / bundling"
    DUPLICATE = "duplicate", "Duplicate claim"
    COORDINATION_OF_BENEFITS = "cob", "Coordination of benefits"
    MISSING_INFORMATION = "missing_information", "Missing or invalid information"
    NON_COVERED = "non_covered", "Non-covered service"
    CAPITATION = "capitation", "Capitated / managed care"
    OTHER = "other", "Other"


class Denial(WorkedItem):
    """A claim or a line the payer refused to pay, with its codes and what to do next."""

    contains_phi = True

    Category = DenialCategory

    claim_payment = models.ForeignKey("claims.ClaimPayment", on_delete=models.PROTECT, related_name="denials")
    service_payment = models.ForeignKey(
        "claims.ServicePayment", on_delete=models.PROTECT, null=True, blank=True, related_name="denials"
    )
    claim = models.ForeignKey(
        "claims.Claim", on_delete=models.PROTECT, null=True, blank=True, related_name="denials"
    )
    account = models.ForeignKey(
        "accounts.PatientAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payer = models.ForeignKey(
        "payers.Payer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    denied_on = models.DateField()
    level = models.CharField(max_length=6, choices=[("claim", "Whole claim"), ("line", "Service line")])
    group_codes = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    carc_codes = ArrayField(models.CharField(max_length=5), default=list, blank=True)
    rarc_codes = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    category = models.CharField(max_length=24, choices=Category.choices)
    recommended_action = models.CharField(max_length=300)
    denied_amount = MoneyField(default=ZERO)
    service_code = models.CharField(max_length=48, blank=True, default="")

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-denied_on", "-id"]
        constraints = [choice_check("status", WorkStatus), choice_check("category", DenialCategory)]
        indexes = [
            # The denials list and its filters: newest first per organization, by payer and category.
            models.Index(fields=["organization", "-denied_on", "-id"], name="claims_denial_list"),
            models.Index(fields=["organization", "payer", "-denied_on"], name="claims_denial_payer"),
            models.Index(fields=["organization", "category", "-denied_on"], name="claims_denial_category"),
            models.Index(
                fields=["organization", "status"],
                condition=models.Q(status__in=["open", "in_progress"]),
                name="claims_denial_open",
            ),
        ]

    def __str__(self) -> str:
        return f"Denial {'/'.join(self.carc_codes)} ({self.get_category_display()})"


class VarianceKind(models.TextChoices):
    UNDERPAYMENT = "underpayment", "Underpayment"
    OVERPAYMENT = "overpayment", "Overpayment (refund review)"
    CREDIT_BALANCE = "credit_balance", "Credit balance (refund review)"


class Variance(WorkedItem):
    """A payment that differs from the contract beyond its tolerance, or a credit to refund."""

    contains_phi = True

    Kind = VarianceKind

    kind = models.CharField(max_length=16, choices=Kind.choices)
    claim_payment = models.ForeignKey(
        "claims.ClaimPayment", on_delete=models.PROTECT, related_name="variances"
    )
    service_payment = models.ForeignKey(
        "claims.ServicePayment", on_delete=models.PROTECT, null=True, blank=True, related_name="variances"
    )
    claim = models.ForeignKey(
        "claims.Claim", on_delete=models.PROTECT, null=True, blank=True, related_name="variances"
    )
    account = models.ForeignKey(
        "accounts.PatientAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payer = models.ForeignKey(
        "payers.Payer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contract = models.ForeignKey(
        "payers.Contract", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    identified_on = models.DateField()
    expected_amount = MoneyField(default=ZERO)
    allowed_amount = MoneyField(default=ZERO)
    paid_amount = MoneyField(default=ZERO)
    variance_amount = MoneyField(help_text="Expected minus allowed: positive is money still owed to us.")
    service_code = models.CharField(max_length=48, blank=True, default="")

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-identified_on", "-id"]
        constraints = [choice_check("status", WorkStatus), choice_check("kind", VarianceKind)]
        indexes = [
            models.Index(fields=["organization", "-identified_on", "-id"], name="claims_variance_list"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.variance_amount}"


class CodeDescriptionCodeSet(models.TextChoices):
    CARC = "carc", "Claim adjustment reason code"
    RARC = "rarc", "Remittance advice remark code"


class CodeDescription(models.Model):
    """The official text of a CARC or RARC, from the file the organization downloads (licensed)."""

    CodeSet = CodeDescriptionCodeSet

    organization = models.ForeignKey("staff.Organization", on_delete=models.CASCADE, related_name="+")
    code_set = models.CharField(max_length=4, choices=CodeSet.choices)
    code = models.CharField(max_length=8)
    description = models.TextField()
    start_date = models.DateField(null=True, blank=True)
    last_modified = models.DateField(null=True, blank=True)
    stop_date = models.DateField(null=True, blank=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["code_set", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code_set", "code"], name="claims_code_unique"),
            choice_check("code_set", CodeDescriptionCodeSet),
        ]

    def __str__(self) -> str:
        return f"{self.code_set.upper()} {self.code}"
