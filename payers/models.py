"""The payer master of each client organization: payers, plans, effective-dated rules,
contracts with fee schedules, and notices staff must read.

Payer rules and fee schedules are data with effective dates, never code: a payer that
shortens its timely-filing limit on 1 July gets a new rule row from that day, and claims
with earlier service dates keep the old one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.audit import audit_history
from core.models import BaseModel
from core.money import MoneyField
from payers.querysets import PayerNoticeQuerySet, PayerQuerySet, PlanQuerySet
from staff.querysets import OrganizationScopedQuerySet


class EffectiveQuerySet(OrganizationScopedQuerySet):
    """Rows in force on a day: ``effective_from <= day`` and no end or ``effective_to >= day``."""

    def effective_on(self, day: date) -> models.QuerySet:
        return self.filter(effective_from__lte=day).filter(
            models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=day)
        )


def status_on(obj: PayerRule | Contract | FeeScheduleEntry, day: date) -> str:
    """``"future"``, ``"current"`` or ``"ended"``: where an effective-dated row stands on ``day``."""
    if obj.effective_from > day:
        return "future"
    if obj.effective_to is not None and obj.effective_to < day:
        return "ended"
    return "current"


def _dates_ordered() -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(effective_to__isnull=True)
        | models.Q(effective_to__gte=models.F("effective_from")),
        name="%(app_label)s_%(class)s_dates_ordered",
    )


class PayerKind(models.TextChoices):
    MEDICARE = "medicare", "Medicare"
    MEDICAID = "medicaid", "Medicaid"
    MEDICARE_ADVANTAGE = "medicare_advantage", "Medicare Advantage"
    MEDICAID_MANAGED_CARE = "medicaid_managed_care", "Medicaid managed care"
    COMMERCIAL = "commercial", "Commercial"
    PBM = "pbm", "Pharmacy benefit manager"
    WORKERS_COMP = "workers_comp", "Workers' compensation"
    TRICARE_VA = "tricare_va", "TRICARE / VA"
    SELF_PAY = "self_pay", "Self-pay"


class Payer(BaseModel):
    """An insurer, government program or PBM that pays this organization's claims."""

    Kind = PayerKind

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="payers")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    edi_payer_id = models.CharField("EDI payer id", max_length=80, blank=True)
    bin = models.CharField("BIN", max_length=6, blank=True, help_text="Pharmacy BIN (six digits), PBMs only.")
    pcn = models.CharField("PCN", max_length=20, blank=True, help_text="Processor control number, PBMs only.")
    phone = models.CharField(max_length=32, blank=True)
    fax = models.CharField(max_length=32, blank=True)
    portal_url = models.URLField(blank=True)
    claims_address = models.TextField(blank=True)
    appeals_address = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    history = audit_history()
    objects = PayerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="payers_payer_name_unique"),
            models.CheckConstraint(
                condition=models.Q(kind__in=PayerKind.values),
                name="%(app_label)s_%(class)s_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(bin="") | models.Q(bin__regex=r"^[0-9]{6}$"),
                name="%(app_label)s_%(class)s_bin_six_digits",
            ),
        ]
        indexes = [
            # 835 intake finds the payer by its EDI id (N1*PR / REF*2U).
            models.Index(fields=["organization", "edi_payer_id"], name="payers_payer_edi_id"),
        ]

    def __str__(self) -> str:
        return self.name

    def rule_on(self, day: date) -> PayerRule | None:
        return PayerRule.objects.filter(payer=self).effective_on(day).order_by("-effective_from").first()


class PlanType(models.TextChoices):
    HMO = "hmo", "HMO"
    PPO = "ppo", "PPO"
    EPO = "epo", "EPO"
    POS = "pos", "POS"
    HDHP = "hdhp", "High-deductible"
    INDEMNITY = "indemnity", "Indemnity"
    MEDICARE_SUPPLEMENT = "medicare_supplement", "Medicare supplement"
    PART_D = "part_d", "Part D / pharmacy"
    GOVERNMENT = "government", "Government program"
    OTHER = "other", "Other"


class Plan(BaseModel):
    """A product of a payer that patients are covered by (HMO, PPO, Part D…)."""

    PlanType = PlanType

    class Network(models.TextChoices):
        IN_NETWORK = "in_network", "In network"
        OUT_OF_NETWORK = "out_of_network", "Out of network"

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="plans")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField("product", max_length=120)
    group_number = models.CharField(max_length=40, blank=True)
    plan_type = models.CharField(max_length=32, choices=PlanType.choices, default=PlanType.OTHER)
    network = models.CharField(max_length=16, choices=Network.choices, default=Network.IN_NETWORK)
    is_active = models.BooleanField(default=True)

    history = audit_history()
    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["payer__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["payer", "name", "group_number"], name="payers_plan_product_group_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(plan_type__in=PlanType.values),
                name="%(app_label)s_%(class)s_plan_type_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(network__in=["in_network", "out_of_network"]),
                name="%(app_label)s_%(class)s_network_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payer.name} / {self.name}"


class PayerRule(BaseModel):
    """A payer's filing and follow-up rules in force from ``effective_from`` (to ``effective_to``)."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="rules")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    timely_filing_days = models.PositiveIntegerField(help_text="Days after the date of service to file.")
    corrected_claim_days = models.PositiveIntegerField(
        help_text="Days after the original decision to file a corrected or replacement claim."
    )
    follow_up_days = models.PositiveIntegerField(
        help_text="Days without a payer response before a claim needs follow-up."
    )
    secondary_crossover = models.BooleanField(
        default=False, help_text="The payer forwards claims to the secondary payer automatically."
    )
    notes = models.TextField(blank=True)

    history = audit_history()
    objects = EffectiveQuerySet.as_manager()

    class Meta:
        ordering = ["payer__name", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["payer", "effective_from"], name="payers_rule_payer_from_unique"),
            _dates_ordered(),
        ]

    def __str__(self) -> str:
        return f"{self.payer.name} rules from {self.effective_from:%Y-%m-%d}"


class AppealLevel(BaseModel):
    """One level of a payer's appeal process under a rule: how long to file, how long they take."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(PayerRule, on_delete=models.CASCADE, related_name="appeal_levels")
    level = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=80)
    filing_days = models.PositiveIntegerField(help_text="Days after the decision to file this level.")
    decision_days = models.PositiveIntegerField(help_text="Days the payer has to decide.")

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["rule", "level"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "level"], name="payers_appeal_level_unique"),
            models.CheckConstraint(
                condition=models.Q(level__gte=1), name="%(app_label)s_%(class)s_level_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Level {self.level}: {self.name}"


class Contract(BaseModel):
    """What a payer agreed to pay: a fee schedule, with a percentage of charges for unlisted codes."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="contracts")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="contracts")
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contracts",
        help_text="Leave empty when the contract covers every plan of the payer.",
    )
    name = models.CharField(max_length=120)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    default_percent_of_charges = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Expected allowed amount, as a percentage of charges, for codes not in the fee schedule.",
    )
    variance_tolerance = MoneyField(
        default=Decimal("1.00"), help_text="Differences up to this amount are not variances."
    )

    history = audit_history()
    objects = EffectiveQuerySet.as_manager()

    class Meta:
        ordering = ["payer__name", "-effective_from"]
        constraints = [
            _dates_ordered(),
            models.CheckConstraint(
                condition=models.Q(default_percent_of_charges__isnull=True)
                | models.Q(default_percent_of_charges__gte=0, default_percent_of_charges__lte=100),
                name="%(app_label)s_%(class)s_percent_range",
            ),
            models.CheckConstraint(
                condition=models.Q(variance_tolerance__gte=0),
                name="%(app_label)s_%(class)s_tolerance_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FeeScheduleEntry(BaseModel):
    """The expected allowed amount for a code (+ modifier) under a contract, from a date."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="fee_entries")
    code = models.CharField(max_length=16)
    modifier = models.CharField(max_length=2, blank=True, default="")
    allowed_amount = MoneyField(null=True, blank=True)
    percent_of_charges = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)

    history = audit_history()
    objects = EffectiveQuerySet.as_manager()

    class Meta:
        ordering = ["code", "modifier", "-effective_from"]
        verbose_name_plural = "fee schedule entries"
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "code", "modifier", "effective_from"], name="payers_fee_entry_unique"
            ),
            _dates_ordered(),
            # Exactly one way of pricing the code.
            models.CheckConstraint(
                condition=(
                    models.Q(allowed_amount__isnull=False, percent_of_charges__isnull=True)
                    | models.Q(allowed_amount__isnull=True, percent_of_charges__isnull=False)
                ),
                name="%(app_label)s_%(class)s_one_price",
            ),
            models.CheckConstraint(
                condition=models.Q(allowed_amount__isnull=True) | models.Q(allowed_amount__gte=0),
                name="%(app_label)s_%(class)s_amount_non_negative",
            ),
        ]
        indexes = [
            # Expected-amount lookup at charge-edit and posting time.
            models.Index(fields=["contract", "code", "modifier", "effective_from"], name="payers_fee_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.code}{'-' + self.modifier if self.modifier else ''}"


class PayerNotice(BaseModel):
    """A payer policy or plan change that staff must read and acknowledge."""

    organization = models.ForeignKey(
        "staff.Organization", on_delete=models.PROTECT, related_name="payer_notices"
    )
    title = models.CharField(max_length=200)
    body = models.TextField()
    effective_date = models.DateField()
    payers = models.ManyToManyField(Payer, blank=True, related_name="notices")
    plans = models.ManyToManyField(Plan, blank=True, related_name="notices")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(
        default=True, help_text="Withdrawn notices no longer ask for acknowledgement."
    )

    history = audit_history()
    objects = PayerNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_date", "-created_at"]

    def __str__(self) -> str:
        return self.title


class NoticeAcknowledgement(models.Model):
    """That a person read a notice, and when. Written once, never changed."""

    notice = models.ForeignKey(PayerNotice, on_delete=models.CASCADE, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "user"], name="payers_notice_ack_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.notice}"
