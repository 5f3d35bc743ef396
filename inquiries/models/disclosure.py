"""Who the caller is and whether they may be told about the account: verification policy,
verifications and disclosure overrides."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.audit import audit_history
from core.models import BaseModel, choice_check
from inquiries.querysets import InquiriesQuerySet


class Identifier(models.TextChoices):
    """What a caller may be asked to confirm about the patient. Answers are compared with the
    record by the system and never stored."""

    DATE_OF_BIRTH = "dob", "Date of birth"
    ADDRESS = "address", "Street address"
    ACCOUNT_NUMBER = "account_number", "Account number"
    SSN_LAST4 = "ssn_last4", "Last four of SSN"
    MEMBER_ID = "member_id", "Member id"
    PHONE = "phone", "Phone number on file"


class Scope(models.TextChoices):
    """What may be disclosed; the values are ``accounts.AuthorizedContact.Scope``'s."""

    BALANCES = "balances", "Balances and statements"
    INSURANCE = "insurance", "Insurance and claims"
    PAYMENTS = "payments", "Payments and payment plans"
    FINANCIAL_ASSISTANCE = "financial_assistance", "Financial assistance"
    SERVICES = "services", "Dates and descriptions of services"


DEFAULT_IDENTIFIERS = [
    Identifier.DATE_OF_BIRTH,
    Identifier.ADDRESS,
    Identifier.ACCOUNT_NUMBER,
    Identifier.SSN_LAST4,
    Identifier.MEMBER_ID,
]
DEFAULT_REQUIRED = 2
DEFAULT_VALID_MINUTES = 60


class VerificationPolicy(BaseModel):
    """An organization's rule for verifying callers: which identifiers count and how many are needed."""

    organization = models.OneToOneField("staff.Organization", on_delete=models.PROTECT, related_name="+")
    identifiers = ArrayField(models.CharField(max_length=16, choices=Identifier.choices))
    required_count = models.PositiveSmallIntegerField(
        "identifiers needed", validators=[MinValueValidator(1), MaxValueValidator(6)]
    )
    valid_minutes = models.PositiveSmallIntegerField(
        "minutes a verification lasts",
        default=DEFAULT_VALID_MINUTES,
        validators=[MinValueValidator(5), MaxValueValidator(480)],
        help_text="After this the caller (or a new caller) is verified again.",
    )

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "verification policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(required_count__gte=1, required_count__lte=6),
                violation_error_message="required_count: between 1 and 6 identifiers",
                name="%(app_label)s_%(class)s_required_range",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_minutes__gte=5, valid_minutes__lte=480),
                violation_error_message="valid_minutes: between 5 and 480 minutes",
                name="%(app_label)s_%(class)s_valid_minutes_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.required_count} of {len(self.identifiers)} identifiers"

    @classmethod
    def of(cls, organization) -> VerificationPolicy:
        """The organization's policy, or the default (two of five identifiers, one hour) unsaved."""
        policy = cls.objects.filter(organization=organization).first()
        if policy is None:
            policy = cls(
                organization=organization,
                identifiers=list(DEFAULT_IDENTIFIERS),
                required_count=DEFAULT_REQUIRED,
                valid_minutes=DEFAULT_VALID_MINUTES,
            )
        return policy

    def identifier_labels(self) -> list[str]:
        labels = dict(Identifier.choices)
        return [labels.get(i, i) for i in self.identifiers]

    def identifier_phrase(self) -> str:
        """``"date of birth, street address, last four of SSN"``: the identifiers inside a sentence."""
        return identifier_phrase(self.identifiers)


def identifier_phrase(identifiers: list[str]) -> str:
    labels = dict(Identifier.choices)
    # Only the first letter is lowered, so "SSN" stays as written.
    return ", ".join(label[:1].lower() + label[1:] for label in (labels.get(i, i) for i in identifiers))


class CallerKind(models.TextChoices):
    PATIENT = "patient", "The patient / member"
    GUARANTOR = "guarantor", "The account's guarantor"
    AUTHORIZED_CONTACT = "authorized_contact", "An authorized contact of the patient"
    PROVIDER_OFFICE = "provider_office", "A provider or physician office"
    OTHER = "other", "Someone else"


class Verification(BaseModel):
    """One attempt to verify who a caller is: the checks that matched, who they said they are, the result.

    Only the names of the identifiers are kept (``matched``, ``mismatched``), never what
    the caller said. ``scopes`` is what this caller may be told when ``passed``.
    """

    CallerKind = CallerKind

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("inquiries.Case", on_delete=models.PROTECT, related_name="verifications")
    interaction = models.ForeignKey(
        "inquiries.Interaction", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    caller_kind = models.CharField(max_length=24, choices=CallerKind.choices)
    caller_name = models.CharField(max_length=120, blank=True, default="")
    authorized_contact = models.ForeignKey(
        "accounts.AuthorizedContact", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    matched = ArrayField(
        models.CharField(max_length=16, choices=Identifier.choices), default=list, blank=True
    )
    mismatched = ArrayField(
        models.CharField(max_length=16, choices=Identifier.choices), default=list, blank=True
    )
    required_count = models.PositiveSmallIntegerField(help_text="What the policy asked for at the time.")
    passed = models.BooleanField()
    scopes = ArrayField(models.CharField(max_length=24, choices=Scope.choices), default=list, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True, default="")
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField()

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["-verified_at", "-id"]
        constraints = [
            choice_check("caller_kind", CallerKind),
            models.CheckConstraint(
                condition=~models.Q(caller_kind="authorized_contact")
                | models.Q(authorized_contact__isnull=False),
                violation_error_message="authorized_contact: choose which authorized contact is calling",
                name="%(app_label)s_%(class)s_contact_named",
            ),
            models.CheckConstraint(
                condition=models.Q(passed=True) | ~models.Q(failure_reason=""),
                name="%(app_label)s_%(class)s_failure_explained",
            ),
        ]
        indexes = [models.Index(fields=["case", "-verified_at"], name="inquiries_verification_case")]

    def __str__(self) -> str:
        return f"{self.get_caller_kind_display()}: {'passed' if self.passed else 'failed'}"


class DisclosureOverride(BaseModel):
    """Account details shown to a caller who was not verified, on someone's say-so, with the reason.

    Lasts as long as a verification would; visible on the case and written to the PHI
    access log as a disclosure.
    """

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("inquiries.Case", on_delete=models.PROTECT, related_name="overrides")
    reason = models.CharField(max_length=300)
    scopes = ArrayField(models.CharField(max_length=24, choices=Scope.choices))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason=""),
                violation_error_message="reason: say why the caller may be told",
                name="%(app_label)s_%(class)s_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("granted_at")),
                name="%(app_label)s_%(class)s_expires_after_grant",
            ),
        ]
        indexes = [models.Index(fields=["case", "-granted_at"], name="inquiries_override_case")]

    def __str__(self) -> str:
        return f"Disclosure override at {self.granted_at:%Y-%m-%d %H:%M}"
