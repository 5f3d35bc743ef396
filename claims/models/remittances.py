"""835 remittances as stored structure: file → payment (one ST/SE) → claim payment (CLP) →
service-line payment (SVC) → adjustments (CAS), plus provider-level adjustments (PLB).

Rows are what the payer said, kept as read (every node keeps the position of its first
segment in the stored file text). Only the posting state columns change afterwards, and
those changes are recorded on the timeline by the posting service.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Upper

from core.models import BaseModel, choice_check
from core.money import MoneyField
from staff.querysets import OrganizationScopedQuerySet

ZERO = Decimal("0.00")


class RemittanceFileChannel(models.TextChoices):
    UPLOAD = "upload", "Uploaded on the remittance inbox"
    API = "api", "REST API"
    DROP_FOLDER = "drop_folder", "Drop folder"
    COMMAND = "command", "Command line"
    MANUAL = "manual", "Manual EOB entry"


class RemittanceFileStatus(models.TextChoices):
    RECEIVED = "received", "Received, not yet posted"
    POSTING = "posting", "Posting"
    POSTED = "posted", "Posted"
    POSTED_WITH_EXCEPTIONS = "exceptions", "Posted with exceptions"
    UNREADABLE = "unreadable", "Unreadable: nothing posted"


class RemittanceFile(BaseModel):
    """One received 835 file (or one hand-keyed paper EOB), with what reading it found."""

    contains_phi = True

    Channel = RemittanceFileChannel

    Status = RemittanceFileStatus

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    byte_size = models.PositiveIntegerField()
    channel = models.CharField(max_length=12, choices=Channel.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    content = models.TextField(help_text="The file as received (decoded), kept for audit and re-reading.")
    interchange_control = models.CharField(max_length=20, blank=True, default="")
    sender_id = models.CharField(max_length=30, blank=True, default="")
    version = models.CharField(max_length=20, blank=True, default="")
    diagnostics = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField(null=True, blank=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Re-sending the same bytes is recognised before anything is read.
            models.UniqueConstraint(fields=["organization", "sha256"], name="claims_remitfile_sha_unique"),
            choice_check("channel", RemittanceFileChannel),
            choice_check("status", RemittanceFileStatus),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="claims_remitfile_inbox")]

    def __str__(self) -> str:
        return self.filename

    @property
    def error_count(self) -> int:
        return sum(1 for d in self.diagnostics if d.get("severity") == "error")


class RemittancePaymentStatus(models.TextChoices):
    PENDING = "pending", "Not yet posted"
    POSTED = "posted", "Posted"
    EXCEPTIONS = "exceptions", "Posted with exceptions"
    DUPLICATE = "duplicate", "Duplicate of an earlier payment: not posted"


class RemittancePayment(BaseModel):
    """One payment (an 835 ST/SE): a check or EFT, or a zero-pay notice, from one payer."""

    contains_phi = True

    Status = RemittancePaymentStatus

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    file = models.ForeignKey(RemittanceFile, on_delete=models.PROTECT, related_name="payments")
    sequence = models.PositiveSmallIntegerField(help_text="Position of the ST/SE in the file, from 1.")
    payer = models.ForeignKey(
        "payers.Payer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payer_name = models.CharField(max_length=120, blank=True, default="")
    payer_identifier = models.CharField(
        max_length=80, blank=True, default="", help_text="TRN03, else the payer's id in N1*PR/REF*2U."
    )
    payee_name = models.CharField(max_length=120, blank=True, default="")
    payee_identifier = models.CharField(max_length=80, blank=True, default="")
    handling_code = models.CharField(max_length=2, blank=True, default="", help_text="BPR01")
    total_paid = MoneyField(default=ZERO, help_text="BPR02")
    credit_debit = models.CharField(max_length=1, blank=True, default="")
    method = models.CharField(
        max_length=3, blank=True, default="", help_text="BPR04: ACH, CHK, NON, FWT, BOP"
    )
    payment_date = models.DateField(null=True, blank=True, help_text="BPR16: check or EFT effective date")
    trace_number = models.CharField(max_length=50, blank=True, default="", help_text="TRN02")
    production_date = models.DateField(null=True, blank=True)
    duplicate_key = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="payer | trace | date | amount; empty for duplicates.",
    )
    balanced = models.BooleanField(default=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    segment_index = models.PositiveIntegerField(default=0)
    diagnostics = models.JSONField(default=list, blank=True)
    claim_count = models.PositiveIntegerField(default=0)
    posted_at = models.DateTimeField(null=True, blank=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["file", "sequence"]
        constraints = [
            # The 835's identity (DOMAIN §1.2): the same payment is posted once, from any file.
            models.UniqueConstraint(
                fields=["organization", "duplicate_key"],
                condition=~models.Q(duplicate_key=""),
                name="claims_payment_duplicate_key_unique",
            ),
            choice_check("status", RemittancePaymentStatus),
        ]
        indexes = [
            # Deposit reconciliation: payments by trace number, and by day per payer.
            models.Index(Upper("trace_number"), "organization", name="claims_payment_trace"),
            models.Index(fields=["organization", "payment_date"], name="claims_payment_date"),
        ]

    def __str__(self) -> str:
        return f"{self.payer_name or 'Payer'} {self.trace_number} {self.total_paid}"


class ClaimPaymentMatch(models.TextChoices):
    NONE = "none", "Not matched"
    CONTROL_NUMBER = "pcn", "Patient control number"
    PAYER_CLAIM_NUMBER = "icn", "Payer claim number"
    PATIENT_DATES = "patient_dates", "Patient and service dates"
    MANUAL = "manual", "Matched by hand"


class ClaimPaymentPosting(models.TextChoices):
    PENDING = "pending", "Not yet posted"
    POSTED = "posted", "Posted"
    EXCEPTION = "exception", "Held as an exception"
    NOTHING = "nothing", "Nothing to post"


class ClaimPayment(models.Model):
    """One claim as the payer adjudicated it (CLP loop), and how it was matched and posted."""

    contains_phi = True

    Match = ClaimPaymentMatch

    Posting = ClaimPaymentPosting

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(RemittancePayment, on_delete=models.PROTECT, related_name="claim_payments")
    sequence = models.PositiveIntegerField(help_text="Position of the claim in its payment, from 1.")
    claim = models.ForeignKey(
        "claims.Claim", on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    account = models.ForeignKey(
        "accounts.PatientAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient_control_number = models.CharField(max_length=38, blank=True, default="")
    status_code = models.CharField(max_length=4, blank=True, default="", help_text="CLP02")
    charge = MoneyField(default=ZERO)
    paid = MoneyField(default=ZERO)
    patient_responsibility = MoneyField(default=ZERO)
    allowed = MoneyField(null=True, blank=True, help_text="AMT*AU")
    interest = MoneyField(null=True, blank=True, help_text="AMT*I")
    filing_indicator = models.CharField(max_length=2, blank=True, default="")
    payer_claim_number = models.CharField(max_length=50, blank=True, default="")
    original_reference = models.CharField(max_length=50, blank=True, default="", help_text="REF*F8")
    facility_type = models.CharField(max_length=4, blank=True, default="")
    frequency = models.CharField(max_length=1, blank=True, default="")
    drg_code = models.CharField(max_length=4, blank=True, default="")
    patient_last_name = models.CharField(max_length=60, blank=True, default="")
    patient_first_name = models.CharField(max_length=35, blank=True, default="")
    member_id = models.CharField(max_length=80, blank=True, default="")
    crossover_carrier = models.CharField(max_length=80, blank=True, default="", help_text="NM1*TT")
    statement_from = models.DateField(null=True, blank=True)
    statement_to = models.DateField(null=True, blank=True)
    received_date = models.DateField(null=True, blank=True)
    remark_codes = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    balanced = models.BooleanField(default=True)
    complete = models.BooleanField(default=True)
    match = models.CharField(max_length=16, choices=Match.choices, default=Match.NONE)
    posting = models.CharField(max_length=12, choices=Posting.choices, default=Posting.PENDING)
    segment_index = models.PositiveIntegerField(default=0)
    end_index = models.PositiveIntegerField(default=0)
    diagnostics = models.JSONField(default=list, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["payment", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "sequence"], name="claims_claimpayment_seq_unique"),
            choice_check("match", ClaimPaymentMatch),
            choice_check("posting", ClaimPaymentPosting),
        ]
        indexes = [
            models.Index(fields=["claim", "id"], name="claims_claimpayment_claim"),
            models.Index(fields=["organization", "payer_claim_number"], name="claims_claimpayment_icn"),
        ]

    def __str__(self) -> str:
        return f"CLP {self.patient_control_number} status {self.status_code} paid {self.paid}"

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"

    @property
    def is_denial(self) -> bool:
        return self.status_code == "4"


class ServicePayment(models.Model):
    """One service line as adjudicated (SVC loop)."""

    claim_payment = models.ForeignKey(ClaimPayment, on_delete=models.CASCADE, related_name="lines")
    claim_line = models.ForeignKey(
        "claims.ClaimLine", on_delete=models.SET_NULL, null=True, blank=True, related_name="payments"
    )
    qualifier = models.CharField(max_length=2, blank=True, default="")
    code = models.CharField(max_length=48, blank=True, default="")
    modifiers = ArrayField(models.CharField(max_length=2), size=4, default=list, blank=True)
    revenue_code = models.CharField(max_length=4, blank=True, default="")
    charge = MoneyField(default=ZERO)
    paid = MoneyField(default=ZERO)
    allowed = MoneyField(null=True, blank=True, help_text="AMT*B6")
    expected = MoneyField(null=True, blank=True, help_text="What the contract says should be allowed.")
    units_paid = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    original_code = models.CharField(max_length=48, blank=True, default="")
    service_from = models.DateField(null=True, blank=True)
    service_to = models.DateField(null=True, blank=True)
    line_control_number = models.CharField(max_length=50, blank=True, default="")
    remark_codes = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    balanced = models.BooleanField(default=True)
    segment_index = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["claim_payment", "segment_index"]

    def __str__(self) -> str:
        return f"SVC {self.code} paid {self.paid}"


class RemittanceAdjustmentGroup(models.TextChoices):
    CO = "CO", "Contractual obligation"
    PR = "PR", "Patient responsibility"
    OA = "OA", "Other adjustment"
    PI = "PI", "Payer-initiated reduction"
    CR = "CR", "Correction or reversal (4010)"


class RemittanceAdjustment(models.Model):
    """One CAS triplet: a group code, a reason (CARC) and an amount, on a claim or a line."""

    Group = RemittanceAdjustmentGroup

    claim_payment = models.ForeignKey(ClaimPayment, on_delete=models.CASCADE, related_name="adjustments")
    service_payment = models.ForeignKey(
        ServicePayment, on_delete=models.CASCADE, null=True, blank=True, related_name="adjustments"
    )
    group = models.CharField(max_length=2)
    reason = models.CharField(max_length=5)
    amount = MoneyField()
    quantity = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    segment_index = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["claim_payment", "segment_index", "id"]
        indexes = [models.Index(fields=["reason"], name="claims_adjustment_reason")]

    def __str__(self) -> str:
        return f"{self.group}-{self.reason} {self.amount}"


class ProviderAdjustmentPosting(models.TextChoices):
    PENDING = "pending", "Not yet posted"
    POSTED = "posted", "Posted to the referenced account"
    EXCEPTION = "exception", "Held as an exception"
    NOTHING = "nothing", "Provider-level only, nothing to post"


class ProviderAdjustment(models.Model):
    """One PLB pair: a provider-level adjustment (interest, recoupment, forwarding balance…).

    Positive amounts reduce the payment (withholding), negative ones increase it (interest).
    """

    Posting = ProviderAdjustmentPosting

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(
        RemittancePayment, on_delete=models.CASCADE, related_name="provider_adjustments"
    )
    provider_id = models.CharField(max_length=50, blank=True, default="")
    fiscal_period_date = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=2)
    reference = models.CharField(max_length=50, blank=True, default="")
    amount = MoneyField()
    claim = models.ForeignKey(
        "claims.Claim", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    account = models.ForeignKey(
        "accounts.PatientAccount", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    posting = models.CharField(max_length=12, choices=Posting.choices, default=Posting.PENDING)
    segment_index = models.PositiveIntegerField(default=0)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["payment", "segment_index", "id"]
        constraints = [choice_check("posting", ProviderAdjustmentPosting)]

    def __str__(self) -> str:
        return f"PLB {self.reason} {self.amount}"

    @property
    def is_recoupment(self) -> bool:
        return self.reason in ("WO", "FB")

    @property
    def is_interest(self) -> bool:
        return self.reason == "L6"
