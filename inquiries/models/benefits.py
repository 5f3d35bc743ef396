"""Benefit investigations (what a payer confirmed about a coverage) and patient estimates made from them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from core.audit import audit_history
from core.models import BaseModel
from core.money import MoneyField
from inquiries.querysets import InquiriesQuerySet

ZERO = Decimal("0.00")


class BenefitInvestigation(BaseModel):
    """The benefits of one coverage as the payer confirmed them on a date, and who confirmed them."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(
        "inquiries.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="benefit_investigations",
    )
    coverage = models.ForeignKey("accounts.Coverage", on_delete=models.PROTECT, related_name="+")
    plan_active = models.BooleanField()
    deductible = MoneyField(default=ZERO)
    deductible_met = MoneyField(default=ZERO)
    coinsurance_percent = models.DecimalField(
        "coinsurance %", max_digits=5, decimal_places=2, default=Decimal("0.00")
    )
    copay = MoneyField(default=ZERO, help_text="Per service.")
    out_of_pocket_max = MoneyField(default=ZERO)
    out_of_pocket_met = MoneyField(default=ZERO)
    prior_auth_required = models.BooleanField(default=False)
    prior_auth_number = models.CharField(max_length=50, blank=True, default="")
    payer_rep_name = models.CharField("payer representative", max_length=120, blank=True, default="")
    reference_number = models.CharField("call reference number", max_length=60, blank=True, default="")
    investigated_on = models.DateField()
    notes = models.TextField(blank=True, default="")
    investigated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["-investigated_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(deductible__gte=0)
                & models.Q(deductible_met__gte=0)
                & models.Q(copay__gte=0)
                & models.Q(out_of_pocket_max__gte=0)
                & models.Q(out_of_pocket_met__gte=0),
                violation_error_message="deductible: amounts cannot be negative",
                name="%(app_label)s_%(class)s_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(coinsurance_percent__gte=0, coinsurance_percent__lte=100),
                violation_error_message="coinsurance_percent: between 0 and 100",
                name="%(app_label)s_%(class)s_coinsurance_range",
            ),
            models.CheckConstraint(
                condition=models.Q(deductible_met__lte=models.F("deductible")),
                violation_error_message="deductible_met: cannot be more than the deductible",
                name="%(app_label)s_%(class)s_deductible_met",
            ),
            models.CheckConstraint(
                condition=models.Q(out_of_pocket_met__lte=models.F("out_of_pocket_max")),
                violation_error_message="out_of_pocket_met: cannot be more than the out-of-pocket maximum",
                name="%(app_label)s_%(class)s_oop_met",
            ),
        ]
        indexes = [models.Index(fields=["coverage", "-investigated_on"], name="inquiries_bi_coverage")]

    def __str__(self) -> str:
        return f"Benefits of {self.coverage_id} on {self.investigated_on:%Y-%m-%d}"

    @property
    def deductible_remaining(self) -> Decimal:
        return max(self.deductible - self.deductible_met, ZERO)

    @property
    def out_of_pocket_remaining(self) -> Decimal:
        return max(self.out_of_pocket_max - self.out_of_pocket_met, ZERO)


class BenefitEstimate(BaseModel):
    """What the patient would owe for some services under an investigation's benefits."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    investigation = models.ForeignKey(
        BenefitInvestigation, on_delete=models.PROTECT, related_name="estimates"
    )
    total_amount = MoneyField()
    deductible_amount = MoneyField()
    coinsurance_amount = MoneyField()
    copay_amount = MoneyField()
    patient_amount = MoneyField()
    capped_by_out_of_pocket = models.BooleanField(default=False)
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(patient_amount__gte=0)
                & models.Q(patient_amount__lte=models.F("total_amount")),
                name="%(app_label)s_%(class)s_patient_amount_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Estimate {self.patient_amount} of {self.total_amount}"

    @property
    def plan_pays(self) -> Decimal:
        return self.total_amount - self.patient_amount


class EstimateLine(models.Model):
    """One service of an estimate, with how its amount splits between the plan and the patient."""

    estimate = models.ForeignKey(BenefitEstimate, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=16, blank=True, default="")
    description = models.CharField(max_length=200)
    amount = MoneyField()
    deductible_amount = MoneyField()
    coinsurance_amount = MoneyField()
    copay_amount = MoneyField()
    patient_amount = MoneyField()

    class Meta:
        ordering = ["estimate", "position"]
        constraints = [
            models.UniqueConstraint(fields=["estimate", "position"], name="inquiries_estimate_line_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="%(app_label)s_%(class)s_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.code or self.description}: {self.amount}"
