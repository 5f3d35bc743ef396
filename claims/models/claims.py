"""Claims and claim lines: what was billed to a payer for an account, and where it stands."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from claims.querysets import ClaimQuerySet
from core.audit import audit_history
from core.models import BaseModel, choice_check
from core.money import MoneyField
from staff.querysets import OrganizationScopedQuerySet

ZERO = Decimal("0.00")


class ClaimKind(models.TextChoices):
    PROFESSIONAL = "professional", "Professional (837P)"
    INSTITUTIONAL = "institutional", "Institutional (837I)"
    PHARMACY = "pharmacy", "Pharmacy"


class ClaimFrequency(models.TextChoices):
    ORIGINAL = "1", "Original"
    REPLACEMENT = "7", "Replacement"
    VOID = "8", "Void"


class ClaimStatus(models.TextChoices):
    CREATED = "created", "Created, not yet submitted"
    SUBMITTED = "submitted", "Submitted, awaiting payer"
    PENDED = "pended", "Pended by payer"
    PAID = "paid", "Paid"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    DENIED = "denied", "Denied"
    FORWARDED = "forwarded", "Paid and forwarded to the next payer"
    REVERSED = "reversed", "Payment reversed by payer"
    VOID = "void", "Voided"
    CLOSED = "closed", "Closed"


class ClaimSource(models.TextChoices):
    CHARGES = "charges", "Built from the account's charges"
    X12_837 = "837", "837 file from the billing system"
    MANUAL = "manual", "Entered by hand"
    REMITTANCE = "remittance", "Created from a remittance"


class Claim(BaseModel):
    """A bill to one payer (one coverage) for charges on one account."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    Kind = ClaimKind
    Frequency = ClaimFrequency
    Status = ClaimStatus
    Source = ClaimSource

    # Remittances can arrive in any order (a reversal before a late denial, a correction
    # after a close), so adjudicated states reach each other; CREATED and VOID are the ends.
    ADJUDICATED = {Status.PAID, Status.PARTIALLY_PAID, Status.DENIED, Status.FORWARDED, Status.REVERSED}
    TRANSITIONS = {
        Status.CREATED: {Status.SUBMITTED, Status.VOID},
        Status.SUBMITTED: {Status.PENDED, Status.VOID, Status.CLOSED} | ADJUDICATED,
        Status.PENDED: {Status.SUBMITTED, Status.VOID} | ADJUDICATED,
        Status.PAID: {Status.CLOSED, Status.SUBMITTED} | (ADJUDICATED - {Status.PAID}),
        Status.PARTIALLY_PAID: {Status.CLOSED, Status.SUBMITTED} | (ADJUDICATED - {Status.PARTIALLY_PAID}),
        Status.DENIED: {Status.CLOSED, Status.SUBMITTED} | (ADJUDICATED - {Status.DENIED}),
        Status.FORWARDED: {Status.CLOSED, Status.SUBMITTED} | (ADJUDICATED - {Status.FORWARDED}),
        Status.REVERSED: {Status.CLOSED, Status.SUBMITTED, Status.VOID} | (ADJUDICATED - {Status.REVERSED}),
        Status.CLOSED: {Status.SUBMITTED} | ADJUDICATED,
        Status.VOID: set(),
    }

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("accounts.PatientAccount", on_delete=models.PROTECT, related_name="claims")
    coverage = models.ForeignKey(
        "accounts.Coverage", on_delete=models.PROTECT, null=True, blank=True, related_name="claims"
    )
    payer = models.ForeignKey("payers.Payer", on_delete=models.PROTECT, related_name="claims")
    patient_control_number = models.CharField(
        max_length=38,
        help_text="CLM01 / CLP01: the number the payer echoes back (usually the account number).",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    frequency = models.CharField(max_length=1, choices=Frequency.choices, default=Frequency.ORIGINAL)
    original_claim = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.CHARGES)
    source_key = models.CharField(
        max_length=64, blank=True, default="", help_text="Identity of the claim in the file it came from."
    )
    billed_amount = MoneyField(default=ZERO)
    service_from = models.DateField()
    service_to = models.DateField()
    place_of_service = models.CharField(max_length=2, blank=True, default="")
    type_of_bill = models.CharField(max_length=4, blank=True, default="", help_text="Institutional only.")
    diagnoses = ArrayField(models.CharField(max_length=8), size=12, default=list, blank=True)
    prior_authorization = models.CharField(max_length=50, blank=True, default="")
    submitted_on = models.DateField(null=True, blank=True)
    timely_filing_deadline = models.DateField(
        null=True, blank=True, help_text="Last business day the payer accepts this claim (payer rule)."
    )
    payer_claim_number = models.CharField(
        max_length=50, blank=True, default="", help_text="CLP07: the payer's claim control number (ICN)."
    )
    last_remittance_on = models.DateField(null=True, blank=True)
    paid_amount = MoneyField(default=ZERO, help_text="Sum of the payer's payments posted for this claim.")
    patient_responsibility = MoneyField(default=ZERO)
    # Pharmacy claims (NCPDP header fields)
    bin = models.CharField("BIN", max_length=6, blank=True, default="")
    pcn = models.CharField("PCN", max_length=20, blank=True, default="")
    rx_group = models.CharField("Rx group", max_length=20, blank=True, default="")

    history = audit_history(excluded_fields=["updated_at", "paid_amount", "patient_responsibility"])
    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["-service_from", "-id"]
        constraints = [
            choice_check("status", ClaimStatus),
            choice_check("kind", ClaimKind),
            choice_check("frequency", ClaimFrequency),
            choice_check("source", ClaimSource),
            models.CheckConstraint(
                condition=models.Q(billed_amount__gte=0),
                violation_error_message="billed_amount: cannot be negative",
                name="%(app_label)s_%(class)s_billed_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(service_to__gte=models.F("service_from")),
                violation_error_message="service_to: cannot be before the first date of service",
                name="%(app_label)s_%(class)s_dates_ordered",
            ),
            models.UniqueConstraint(
                fields=["organization", "source_key"],
                condition=~models.Q(source_key=""),
                name="claims_claim_source_key_unique",
            ),
        ]
        indexes = [
            # Remittance matching, step 1 and 2: patient control number, then payer claim number.
            models.Index(Upper("patient_control_number"), "organization", name="claims_claim_pcn"),
            models.Index(
                fields=["organization", "payer_claim_number"],
                condition=~models.Q(payer_claim_number=""),
                name="claims_claim_icn",
            ),
            # Follow-up rules: claims waiting for the payer, oldest submission first.
            models.Index(
                fields=["organization", "submitted_on"],
                condition=models.Q(status__in=["submitted", "pended"]),
                name="claims_claim_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"Claim {self.patient_control_number} ({self.get_status_display()})"

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.CLOSED, self.Status.VOID)

    def days_to_timely_filing(self, today: date | None = None) -> int | None:
        if self.timely_filing_deadline is None:
            return None
        return (self.timely_filing_deadline - (today or timezone.localdate())).days


class ClaimLine(models.Model):
    """One billed service or dispensed drug on a claim, tied to the account's charge."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    charge = models.ForeignKey(
        "accounts.Charge", on_delete=models.PROTECT, null=True, blank=True, related_name="claim_lines"
    )
    code_type = models.CharField(max_length=8, blank=True, default="")
    code = models.CharField(max_length=16, blank=True, default="")
    modifiers = ArrayField(models.CharField(max_length=2), size=4, default=list, blank=True)
    revenue_code = models.CharField(max_length=4, blank=True, default="")
    units = models.DecimalField(max_digits=9, decimal_places=3, default=Decimal("1"))
    billed_amount = MoneyField()
    service_from = models.DateField()
    service_to = models.DateField()
    line_control_number = models.CharField(
        max_length=50, blank=True, default="", help_text="REF*6R, echoed on the 835 service line."
    )
    # Pharmacy
    rx_number = models.CharField(max_length=20, blank=True, default="")
    fill_number = models.PositiveSmallIntegerField(null=True, blank=True)
    ndc = models.CharField("NDC", max_length=11, blank=True, default="")
    quantity = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    days_supply = models.PositiveSmallIntegerField(null=True, blank=True)
    daw = models.CharField(
        "DAW code", max_length=1, blank=True, default="", help_text="Dispense-as-written / product selection."
    )

    class Meta:
        ordering = ["claim", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "line_number"], name="claims_line_number_unique"),
            models.CheckConstraint(
                condition=models.Q(billed_amount__gte=0),
                violation_error_message="billed_amount: a line cannot be negative",
                name="%(app_label)s_%(class)s_billed_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_number}: {self.code or self.ndc} {self.billed_amount}"


class ClaimNote(models.Model):
    """A note a person wrote on a claim (payer call, follow-up, what was agreed)."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Note on claim {self.claim_id} at {self.created_at:%Y-%m-%d %H:%M}"
