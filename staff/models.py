from __future__ import annotations

import uuid
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from core.audit import audit_history
from core.models import BaseModel
from core.money import MoneyField
from staff.querysets import MembershipQuerySet, OrganizationQuerySet, OrganizationScopedQuerySet


class Role(models.TextChoices):
    REPRESENTATIVE = "representative", "Representative"
    SENIOR_REPRESENTATIVE = "senior_representative", "Senior representative"
    POSTING_SPECIALIST = "posting_specialist", "Posting specialist"
    APPEALS_COORDINATOR = "appeals_coordinator", "Appeals & grievances coordinator"
    SUPERVISOR = "supervisor", "Supervisor"
    ADMIN = "admin", "Admin"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (use a name such as America/Chicago).")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in; roles come from memberships, never from ``is_staff``.

    ``is_staff`` only opens the Django admin; ``is_superuser`` marks platform operators
    who may create client organizations.
    """

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    history = audit_history(excluded_fields=["password", "last_login"])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]
        indexes = [
            # "Name or email contains …" searches (members page, access log): Django's
            # icontains compares UPPER(column), so the trigram indexes are on that expression.
            GinIndex(OpClass(Upper("full_name"), name="gin_trgm_ops"), name="staff_user_name_trgm"),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="staff_user_email_trgm"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args, **kwargs) -> None:
        # A login only stamps last_login; that is not a change worth a history row.
        if kwargs.get("update_fields") and set(kwargs["update_fields"]) <= {"last_login"}:
            self.skip_history_when_saving = True
            try:
                return super().save(*args, **kwargs)
            finally:
                del self.skip_history_when_saving
        return super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Organization(BaseModel):
    """A client whose back office is run here; every domain record belongs to exactly one."""

    class Kind(models.TextChoices):
        HOSPITAL = "hospital", "Hospital"
        PHYSICIAN_GROUP = "physician_group", "Physician group"
        PHARMACY = "pharmacy", "Pharmacy"
        HEALTH_PLAN = "health_plan", "Health plan"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    time_zone = models.CharField(max_length=64, default="America/New_York", validators=[validate_time_zone])
    is_active = models.BooleanField(default=True)

    history = audit_history()
    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["hospital", "physician_group", "pharmacy", "health_plan"]),
                name="%(app_label)s_%(class)s_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def organization(self) -> Organization:
        """An organization is scoped to itself (lets generic helpers treat it like any record)."""
        return self


class OrganizationClosure(BaseModel):
    """A day the organization's back office is closed, on top of federal holidays."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=120)

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "date"], name="staff_closure_unique_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.reason}"


class Team(BaseModel):
    """A group of members inside one organization (a call-centre pod, the posting team…)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="staff_team_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(BaseModel):
    """A user's role in one organization. One membership per user and organization."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="memberships"
    )
    is_active = models.BooleanField(default=True)

    history = audit_history()
    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["organization__name", "user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="staff_membership_unique_user_org"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="%(app_label)s_%(class)s_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.organization}"


class ApprovalLimit(BaseModel):
    """The largest amount a role may approve alone in an organization; above it a supervisor approves."""

    class Kind(models.TextChoices):
        WRITE_OFF = "write_off", "Write-off"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="approval_limits")
    role = models.CharField(max_length=32, choices=Role.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    max_amount = MoneyField(default=Decimal("0.00"))

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "role", "kind"], name="staff_approval_limit_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(max_amount__gte=0), name="%(app_label)s_%(class)s_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="%(app_label)s_%(class)s_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["write_off", "refund", "adjustment"]),
                name="%(app_label)s_%(class)s_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} limit for {self.get_role_display()}: {self.max_amount}"


class PhiAccessLog(models.Model):
    """Who viewed which patient record, when and from where (HIPAA audit controls, 45 CFR 164.312(b)).

    Append-only: a database trigger rejects UPDATE, and DELETE of rows younger than the
    six-year retention period. Only ids are stored, never names or other PHI.
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        DOWNLOAD = "download", "Downloaded"
        PRINT = "print", "Printed"
        EXPORT = "export", "Exported"
        DISCLOSE = "disclose", "Disclosed to caller"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.VIEW)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.BigIntegerField()
    path = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    accessed_at = models.DateTimeField(default=timezone.now)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-accessed_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-accessed_at"], name="staff_phi_org_time"),
            models.Index(
                fields=["subject_type", "subject_id", "-accessed_at"], name="staff_phi_subject_time"
            ),
            models.Index(fields=["user", "-accessed_at"], name="staff_phi_user_time"),
            # Newest first across several organizations (the API list of a supervisor of
            # many clients walks it and stops after one page), and the retention purge.
            models.Index(fields=["-accessed_at", "-id"], name="staff_phi_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} {self.subject_type_id}:{self.subject_id}"
