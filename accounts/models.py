"""Patients, the people who pay or may be told, their coverages, accounts, charges and the ledger.

The ledger (``LedgerEntry``) is the truth about money: rows are only ever inserted (a
trigger rejects UPDATE and DELETE), a correction is a reversing entry, and every entry
names its responsible bucket: a coverage, or the patient when ``coverage`` is empty.
``PatientAccount`` and ``AccountBucket`` keep running totals of those entries, updated in
the same transaction under the account's row lock and checked nightly against the sum.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Concat, Upper
from django.utils import timezone

from accounts.querysets import (
    AccountQuerySet,
    AuthorizedContactQuerySet,
    CoverageQuerySet,
    LedgerEntryQuerySet,
    PatientQuerySet,
)
from core.audit import audit_history
from core.models import BaseModel, choice_check
from core.money import MoneyField
from staff.querysets import OrganizationScopedQuerySet

ZERO = Decimal("0.00")


class Language(models.TextChoices):
    """Languages we most often meet; ``ase`` is American Sign Language (ISO 639-3)."""

    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    CHINESE = "zh", "Chinese"
    VIETNAMESE = "vi", "Vietnamese"
    TAGALOG = "tl", "Tagalog"
    ARABIC = "ar", "Arabic"
    KOREAN = "ko", "Korean"
    RUSSIAN = "ru", "Russian"
    FRENCH = "fr", "French"
    HAITIAN_CREOLE = "ht", "Haitian Creole"
    PORTUGUESE = "pt", "Portuguese"
    POLISH = "pl", "Polish"
    SOMALI = "so", "Somali"
    ASL = "ase", "American Sign Language"
    OTHER = "other", "Other"


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Unknown"
    OTHER = "X", "Other"


class Interpreter(models.TextChoices):
    NONE = "none", "No interpreter needed"
    SPOKEN = "spoken", "Spoken-language interpreter"
    SIGN = "sign", "Sign-language interpreter"
    OTHER = "other", "Other accommodation (e.g. TTY, captioning)"


class Patient(BaseModel):
    """A person who received care from the organization. Never holds a full SSN."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    Sex = Sex

    Interpreter = Interpreter

    class Contact(models.TextChoices):
        MAIL = "mail", "Mail"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        TEXT = "text", "Text message"
        PORTAL = "portal", "Patient portal"

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="patients")
    external_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The patient's id in the system the data came from."
    )
    mrn = models.CharField("MRN", max_length=32, blank=True, default="")
    first_name = models.CharField(max_length=60)
    middle_name = models.CharField(max_length=60, blank=True, default="")
    last_name = models.CharField(max_length=60)
    suffix = models.CharField(max_length=10, blank=True, default="")
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    address_line1 = models.CharField(max_length=120, blank=True, default="")
    address_line2 = models.CharField(max_length=120, blank=True, default="")
    city = models.CharField(max_length=60, blank=True, default="")
    state = models.CharField(max_length=2, blank=True, default="")
    postal_code = models.CharField(max_length=10, blank=True, default="")
    phone = models.CharField(max_length=15, blank=True, default="", help_text="Digits only.")
    mobile_phone = models.CharField(max_length=15, blank=True, default="", help_text="Digits only.")
    email = models.EmailField(blank=True, default="")
    preferred_language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    interpreter = models.CharField(max_length=8, choices=Interpreter.choices, default=Interpreter.NONE)
    preferred_contact = models.CharField(max_length=8, choices=Contact.choices, default=Contact.MAIL)
    ok_to_text = models.BooleanField(default=False)
    ok_to_email = models.BooleanField(default=False)
    ok_to_leave_voicemail = models.BooleanField(default=False)
    ssn_last4 = models.CharField("last four of SSN", max_length=4, blank=True, default="")
    # What name search matches against, maintained by PostgreSQL itself.
    search_name = models.GeneratedField(
        expression=Upper(Concat("last_name", models.Value(" "), "first_name")),
        output_field=models.CharField(max_length=121),
        db_persist=True,
    )

    history = audit_history(excluded_fields=["updated_at", "search_name"])
    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="accounts_patient_external_id_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(ssn_last4="") | models.Q(ssn_last4__regex=r"^[0-9]{4}$"),
                violation_error_message="ssn_last4: only the last four digits of the SSN may be stored",
                name="%(app_label)s_%(class)s_ssn_last4_only",
            ),
            choice_check("interpreter", Interpreter),
            choice_check("sex", Sex),
        ]
        indexes = [
            # Typo-tolerant name search (pg_trgm similarity on "LAST FIRST").
            GinIndex(OpClass("search_name", name="gin_trgm_ops"), name="accounts_patient_name_trgm"),
            models.Index(fields=["organization", "date_of_birth"], name="accounts_patient_dob"),
            models.Index(fields=["organization", "phone"], name="accounts_patient_phone"),
            models.Index(fields=["organization", "mobile_phone"], name="accounts_patient_mobile"),
            # Search by MRN, any case.
            models.Index(Upper("mrn"), name="accounts_patient_mrn_upper"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        parts = [
            self.first_name,
            self.middle_name[:1] + "." if self.middle_name else "",
            self.last_name,
            self.suffix,
        ]
        return " ".join(p for p in parts if p)

    @property
    def needs_interpreter(self) -> bool:
        return self.interpreter != self.Interpreter.NONE or self.preferred_language not in ("en", "")

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class GuarantorRelationship(models.TextChoices):
    SELF = "self", "Self"
    SPOUSE = "spouse", "Spouse"
    PARENT = "parent", "Parent"
    LEGAL_GUARDIAN = "legal_guardian", "Legal guardian"
    CHILD = "child", "Adult child"
    OTHER = "other", "Other"


class Guarantor(BaseModel):
    """The person financially responsible for an account; ``patient`` is set when it is the patient."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    Relationship = GuarantorRelationship

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=64, blank=True, default="")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="guarantor_roles"
    )
    relationship = models.CharField(max_length=16, choices=Relationship.choices, default=Relationship.SELF)
    first_name = models.CharField(max_length=60)
    last_name = models.CharField(max_length=60)
    date_of_birth = models.DateField(null=True, blank=True)
    address_line1 = models.CharField(max_length=120, blank=True, default="")
    address_line2 = models.CharField(max_length=120, blank=True, default="")
    city = models.CharField(max_length=60, blank=True, default="")
    state = models.CharField(max_length=2, blank=True, default="")
    postal_code = models.CharField(max_length=10, blank=True, default="")
    phone = models.CharField(max_length=15, blank=True, default="")
    email = models.EmailField(blank=True, default="")

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="accounts_guarantor_external_id_unique",
            ),
            choice_check("relationship", GuarantorRelationship),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_patient(self) -> bool:
        return self.patient_id is not None and self.relationship == self.Relationship.SELF


class ContactRelationship(models.TextChoices):
    PARENT = "parent", "Parent"
    SPOUSE = "spouse", "Spouse"
    DOMESTIC_PARTNER = "domestic_partner", "Domestic partner"
    CHILD = "child", "Adult child"
    LEGAL_GUARDIAN = "legal_guardian", "Legal guardian"
    POWER_OF_ATTORNEY = "power_of_attorney", "Power of attorney"
    PERSONAL_REPRESENTATIVE = "personal_representative", "Personal representative"
    CAREGIVER = "caregiver", "Caregiver"
    OTHER = "other", "Other"


class AuthorizedContact(BaseModel):
    """Someone other than the patient to whom staff may disclose, within ``scopes``, between two dates."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    Relationship = ContactRelationship

    class Scope(models.TextChoices):
        BALANCES = "balances", "Balances and statements"
        INSURANCE = "insurance", "Insurance and claims"
        PAYMENTS = "payments", "Payments and payment plans"
        FINANCIAL_ASSISTANCE = "financial_assistance", "Financial assistance"
        APPOINTMENTS_BILLING = "services", "Dates and descriptions of services"

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="authorized_contacts")
    name = models.CharField(max_length=120)
    relationship = models.CharField(max_length=32, choices=Relationship.choices)
    phone = models.CharField(max_length=15, blank=True, default="")
    # Empty only for a personal representative, who may be told everything.
    scopes = ArrayField(models.CharField(max_length=24, choices=Scope.choices), default=list, blank=True)
    is_personal_representative = models.BooleanField(
        default=False,
        help_text="A HIPAA personal representative (guardian, health-care power of attorney) is treated "
        "as the patient for disclosures.",
    )
    start_date = models.DateField(default=timezone.localdate)
    end_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")

    history = audit_history()
    objects = AuthorizedContactQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            choice_check("relationship", ContactRelationship),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                violation_error_message="end_date: cannot be before the start date",
                name="%(app_label)s_%(class)s_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relationship_display()})"

    def is_current(self, day: date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.start_date <= day and (self.end_date is None or self.end_date >= day)

    def covers(self, scope: str) -> bool:
        return self.is_personal_representative or scope in self.scopes

    def scope_labels(self) -> list[str]:
        if self.is_personal_representative:
            return ["Everything (personal representative)"]
        labels = dict(self.Scope.choices)
        return [labels.get(s, s) for s in self.scopes]


class Coverage(BaseModel):
    """A patient's insurance under a plan, in order of responsibility (1 primary, 2 secondary, 3 tertiary)."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    class Priority(models.IntegerChoices):
        PRIMARY = 1, "Primary"
        SECONDARY = 2, "Secondary"
        TERTIARY = 3, "Tertiary"

    class Relationship(models.TextChoices):
        SELF = "self", "Self"
        SPOUSE = "spouse", "Spouse"
        CHILD = "child", "Child"
        OTHER = "other", "Other"

    class Method(models.TextChoices):
        ELIGIBILITY = "eligibility", "Electronic eligibility (270/271)"
        PORTAL = "portal", "Payer portal"
        PHONE = "phone", "Phone call to payer"
        CARD = "card", "Insurance card"

    class Result(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive / terminated"
        NOT_FOUND = "not_found", "Member not found"
        PENDING = "pending", "Pending payer response"

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="coverages")
    plan = models.ForeignKey("payers.Plan", on_delete=models.PROTECT, related_name="coverages")
    external_id = models.CharField(max_length=64, blank=True, default="")
    member_id = models.CharField(max_length=40)
    group_number = models.CharField(max_length=40, blank=True, default="")
    subscriber_name = models.CharField(max_length=120)
    subscriber_date_of_birth = models.DateField(null=True, blank=True)
    relationship_to_subscriber = models.CharField(
        max_length=8, choices=Relationship.choices, default=Relationship.SELF
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.PRIMARY)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verification_method = models.CharField(max_length=16, choices=Method.choices, blank=True, default="")
    verification_result = models.CharField(max_length=16, choices=Result.choices, blank=True, default="")
    verification_reference = models.CharField(max_length=60, blank=True, default="")
    verification_note = models.TextField(blank=True, default="")

    history = audit_history()
    objects = CoverageQuerySet.as_manager()

    class Meta:
        ordering = ["-is_active", "priority", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="accounts_coverage_external_id_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=[1, 2, 3]), name="%(app_label)s_%(class)s_priority_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gte=models.F("effective_from")),
                violation_error_message="effective_to: cannot be before effective_from",
                name="%(app_label)s_%(class)s_dates_ordered",
            ),
        ]
        indexes = [
            # Search by member id, any case.
            models.Index(Upper("member_id"), name="accounts_coverage_member_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.get_priority_display()}: {self.plan} #{self.member_id}"

    @property
    def is_verified(self) -> bool:
        return self.verification_result == self.Result.ACTIVE

    def verification_age_days(self) -> int | None:
        if self.verified_at is None:
            return None
        return (timezone.now() - self.verified_at).days


class AccountKind(models.TextChoices):
    HOSPITAL = "hospital", "Hospital encounter"
    PROFESSIONAL = "professional", "Professional"
    PHARMACY = "pharmacy", "Pharmacy"


class FinancialClass(models.TextChoices):
    COMMERCIAL = "commercial", "Commercial"
    MEDICARE = "medicare", "Medicare"
    MEDICARE_ADVANTAGE = "medicare_advantage", "Medicare Advantage"
    MEDICAID = "medicaid", "Medicaid"
    MEDICAID_MANAGED_CARE = "medicaid_managed_care", "Medicaid managed care"
    WORKERS_COMP = "workers_comp", "Workers' compensation"
    TRICARE_VA = "tricare_va", "TRICARE / VA"
    SELF_PAY = "self_pay", "Self-pay"
    OTHER = "other", "Other"


class AccountStatus(models.TextChoices):
    OPEN = "open", "Open"
    SELF_PAY = "self_pay", "Self-pay"
    IN_COLLECTIONS = "in_collections", "In collections"
    BAD_DEBT = "bad_debt", "Bad debt"
    CLOSED = "closed", "Closed"


class PatientAccount(BaseModel):
    """An encounter, professional or pharmacy account: what is billed and owed for a stay or visit."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    Kind = AccountKind

    FinancialClass = FinancialClass

    Status = AccountStatus

    TRANSITIONS = {
        Status.OPEN: {Status.SELF_PAY, Status.IN_COLLECTIONS, Status.CLOSED},
        Status.SELF_PAY: {Status.OPEN, Status.IN_COLLECTIONS, Status.CLOSED},
        Status.IN_COLLECTIONS: {Status.SELF_PAY, Status.BAD_DEBT, Status.CLOSED},
        Status.BAD_DEBT: {Status.IN_COLLECTIONS, Status.CLOSED},
        Status.CLOSED: {Status.OPEN},
    }

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="accounts")
    account_number = models.CharField(max_length=38)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="accounts")
    guarantor = models.ForeignKey(Guarantor, on_delete=models.PROTECT, related_name="accounts")
    facility = models.CharField(max_length=120, blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    service_from = models.DateField()
    service_to = models.DateField(null=True, blank=True)
    financial_class = models.CharField(
        max_length=24, choices=FinancialClass.choices, default=FinancialClass.COMMERCIAL
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    interpreter_needed = models.BooleanField(default=False)
    dispute_hold = models.BooleanField(
        default=False, help_text="A billing dispute is open: no collection activity."
    )
    financial_assistance_pending = models.BooleanField(default=False)
    # Running totals of the ledger, kept under the row lock by accounts.ledger.
    balance = MoneyField(default=ZERO)
    insurance_balance = MoneyField(default=ZERO)
    patient_balance = MoneyField(default=ZERO)
    credit_identified_on = models.DateField(
        null=True, blank=True, help_text="First day a bucket of this account went below zero (refund clocks)."
    )
    first_statement_on = models.DateField(null=True, blank=True)
    last_statement_on = models.DateField(null=True, blank=True)

    # Balances are audited by the ledger itself; a history row per posting would only repeat it.
    history = audit_history(
        excluded_fields=[
            "updated_at",
            "balance",
            "insurance_balance",
            "patient_balance",
            "credit_identified_on",
        ]
    )
    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["-service_from", "account_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account_number"], name="accounts_account_number_unique"
            ),
            choice_check("status", AccountStatus),
            choice_check("kind", AccountKind),
            choice_check("financial_class", FinancialClass),
            models.CheckConstraint(
                condition=models.Q(balance=models.F("insurance_balance") + models.F("patient_balance")),
                name="%(app_label)s_%(class)s_balance_is_sum",
            ),
        ]
        indexes = [
            # Search and the statement's "go to account" box: the number as typed, any case.
            models.Index(Upper("account_number"), name="accounts_account_number_upper"),
            # Credit-balance review queue: only the few accounts below zero.
            models.Index(
                fields=["organization", "credit_identified_on"],
                condition=models.Q(credit_identified_on__isnull=False),
                name="accounts_account_credit",
            ),
        ]

    def __str__(self) -> str:
        return self.account_number

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    @property
    def has_credit_balance(self) -> bool:
        return self.credit_identified_on is not None


class AccountBucket(models.Model):
    """The running balance of one responsible party on an account (coverage, or patient when empty)."""

    account = models.ForeignKey(PatientAccount, on_delete=models.PROTECT, related_name="buckets")
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    balance = MoneyField(default=ZERO)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "coverage"], nulls_distinct=False, name="accounts_bucket_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.coverage_id or 'patient'}: {self.balance}"


class CodeType(models.TextChoices):
    CPT = "cpt", "CPT"
    HCPCS = "hcpcs", "HCPCS"
    REVENUE = "revenue", "Revenue code"
    NDC = "ndc", "NDC"


class ChargeStatus(models.TextChoices):
    POSTED = "posted", "Posted"
    REVERSED = "reversed", "Reversed"


class Charge(BaseModel):
    """A billed service or dispensed drug on an account; its money lives in a ledger entry."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    CodeType = CodeType

    Status = ChargeStatus

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(PatientAccount, on_delete=models.PROTECT, related_name="charges")
    external_id = models.CharField(max_length=64, blank=True, default="")
    service_date = models.DateField()
    code_type = models.CharField(max_length=8, choices=CodeType.choices)
    code = models.CharField(max_length=16)
    modifiers = ArrayField(models.CharField(max_length=2), size=4, default=list, blank=True)
    revenue_code = models.CharField(max_length=4, blank=True, default="")
    diagnoses = ArrayField(models.CharField(max_length=8), size=12, default=list, blank=True)
    description = models.CharField(max_length=200, blank=True, default="")
    units = models.DecimalField(max_digits=9, decimal_places=3, default=Decimal("1"))
    amount = MoneyField()
    place_of_service = models.CharField(max_length=2, blank=True, default="")
    # Pharmacy
    rx_number = models.CharField(max_length=20, blank=True, default="")
    fill_number = models.PositiveSmallIntegerField(null=True, blank=True)
    ndc = models.CharField("NDC", max_length=11, blank=True, default="")
    quantity = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    days_supply = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.POSTED)

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["service_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="accounts_charge_external_id_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0),
                violation_error_message="amount: a charge cannot be negative; reverse it instead",
                name="%(app_label)s_%(class)s_amount_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(units__gt=0),
                violation_error_message="units: must be more than zero",
                name="%(app_label)s_%(class)s_units_positive",
            ),
            choice_check("code_type", CodeType),
            choice_check("status", ChargeStatus),
        ]
        indexes = [models.Index(fields=["account", "service_date"], name="accounts_charge_account_date")]

    def __str__(self) -> str:
        mods = "-".join(self.modifiers)
        return f"{self.code}{'-' + mods if mods else ''} on {self.service_date:%Y-%m-%d}"


class EditStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    OVERRIDDEN = "overridden", "Overridden"


class ChargeEdit(BaseModel):
    """A problem found on a charge that must be fixed or overridden before the charge is billed."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    class Rule(models.TextChoices):
        DIAGNOSIS_INVALID = "diagnosis_invalid", "Diagnosis code not valid"
        DIAGNOSIS_MISSING = "diagnosis_missing", "Diagnosis missing"
        CODE_FORMAT = "code_format", "Procedure or drug code malformed"
        MODIFIER_FORMAT = "modifier_format", "Modifier malformed"
        DUPLICATE = "duplicate", "Possible duplicate charge"
        UNITS = "units", "Implausible units"
        FEE_DEVIATION = "fee_deviation", "Amount far from the fee schedule"
        PHARMACY_FIELDS = "pharmacy_fields", "Pharmacy fields incomplete"

    Status = EditStatus

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="edits")
    rule = models.CharField(max_length=24, choices=Rule.choices)
    field = models.CharField(max_length=24)
    message = models.CharField(max_length=300)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    override_reason = models.CharField(max_length=300, blank=True, default="")

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["charge", "rule"]
        constraints = [
            models.UniqueConstraint(fields=["charge", "rule", "field"], name="accounts_charge_edit_unique"),
            choice_check("status", EditStatus),
            models.CheckConstraint(
                condition=~models.Q(status="overridden") | ~models.Q(override_reason=""),
                name="%(app_label)s_%(class)s_override_has_reason",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "status"],
                condition=models.Q(status="open"),
                name="accounts_edit_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} ({self.get_status_display()})"


class EntryKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    INSURANCE_PAYMENT = "insurance_payment", "Insurance payment"
    PATIENT_PAYMENT = "patient_payment", "Patient payment"
    CONTRACTUAL_ADJUSTMENT = "contractual_adjustment", "Contractual adjustment"
    OTHER_ADJUSTMENT = "other_adjustment", "Other adjustment"
    TRANSFER = "transfer", "Transfer"
    WRITE_OFF = "write_off", "Write-off"
    REFUND = "refund", "Refund"
    REVERSAL = "reversal", "Reversal"


class LedgerEntry(models.Model):
    """One movement of money on an account, in one responsible bucket. Inserted, never changed.

    Sign: positive raises what is owed (charges, refunds paid out, reversals of credits),
    negative lowers it (payments, adjustments, write-offs). A transfer is two entries with
    the same ``transfer_group`` that sum to zero.
    """

    Kind = EntryKind

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(PatientAccount, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    amount = MoneyField()
    coverage = models.ForeignKey(
        Coverage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The responsible bucket; empty means the patient.",
    )
    reason_code = models.CharField(max_length=24, blank=True, default="")
    source = models.CharField(
        max_length=24, help_text="What produced the entry: manual, import, charge, 835…"
    )
    source_ref = models.CharField(max_length=80, blank=True, default="")
    charge = models.ForeignKey(
        Charge, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    transfer_group = models.UUIDField(null=True, blank=True)
    memo = models.CharField(max_length=300, blank=True, default="")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField(default=timezone.now)
    effective_date = models.DateField(help_text="The date aging counts from (service date for charges).")

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            choice_check("kind", EntryKind),
            models.CheckConstraint(
                condition=~models.Q(amount=0), name="%(app_label)s_%(class)s_amount_not_zero"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="reversal") | models.Q(reverses__isnull=False),
                name="%(app_label)s_%(class)s_reversal_names_original",
            ),
        ]
        indexes = [
            # The account page's ledger, in posting order, paged by id.
            models.Index(fields=["account", "id"], name="accounts_ledger_account_id"),
            models.Index(fields=["organization", "source", "source_ref"], name="accounts_ledger_source"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    @property
    def bucket_label(self) -> str:
        return "Patient" if self.coverage_id is None else str(self.coverage.plan.payer)


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved and posted"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class AdjustmentRequest(BaseModel):
    """An adjustment or write-off above the requester's limit, waiting for a supervisor."""

    contains_phi = True  # its history page is a read of patient data (PHI access log)

    Status = RequestStatus

    TRANSITIONS = {
        Status.PENDING: {Status.APPROVED, Status.REJECTED, Status.WITHDRAWN},
    }

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(PatientAccount, on_delete=models.PROTECT, related_name="adjustment_requests")
    kind = models.CharField(max_length=24, choices=LedgerEntry.Kind.choices)
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount = MoneyField(help_text="The reduction of the balance, a positive number.")
    reason_code = models.CharField(max_length=24)
    memo = models.CharField(max_length=300)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True, default="")
    entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            choice_check("status", RequestStatus),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"
            ),
        ]
        indexes = [
            # The supervisors' approval queue.
            models.Index(
                fields=["organization", "created_at"],
                condition=models.Q(status="pending"),
                name="accounts_adjreq_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.get_status_display()})"

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())
