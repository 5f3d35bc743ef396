"""Letter and email templates per organization, the letterhead they print on, and stored documents.

Templates are Django template language source written by an organization's admins and
rendered against plain data only (``correspondence.rendering``). A ``Document`` is what
one rendering produced: the HTML and the PDF bytes, kept in the database so that what a
patient received can always be shown again exactly, linked to its subject (an account,
a case…) through a generic relation so this app never imports the apps above it.
"""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from core.audit import audit_history
from core.models import BaseModel
from staff.querysets import OrganizationScopedQuerySet


class DocumentKind(models.TextChoices):
    PATIENT_STATEMENT = "patient_statement", "Patient statement"
    ITEMIZED_STATEMENT = "itemized_statement", "Itemized statement"
    LETTER = "letter", "Letter"
    EMAIL = "email", "Email"


# Kinds that are printed (HTML wrapped in the print layout, then PDF); email templates are plain text.
PRINTED_KINDS = frozenset(
    {DocumentKind.PATIENT_STATEMENT, DocumentKind.ITEMIZED_STATEMENT, DocumentKind.LETTER}
)


def _kind_check() -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(kind__in=DocumentKind.values), name="%(app_label)s_%(class)s_kind_valid"
    )


class LetterTemplateQuerySet(OrganizationScopedQuerySet):
    def default_for(self, organization: object, kind: str) -> LetterTemplate | None:
        return self.filter(organization=organization, kind=kind, is_default=True).first()


class LetterTemplate(BaseModel):
    """An organization's letter, statement or email, as template source its admins edit.

    One active template per kind is the organization's default: statements and emails
    generated without naming a template use it.
    """

    Kind = DocumentKind

    organization = models.ForeignKey(
        "staff.Organization", on_delete=models.PROTECT, related_name="letter_templates"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    name = models.CharField(max_length=120)
    subject = models.CharField(
        "subject line",
        max_length=200,
        help_text="The email subject, or the document title of a printed letter. Variables may be used.",
    )
    body = models.TextField(help_text="Django template language; variables come from the account.")
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(
        "default for its kind",
        default=False,
        help_text="Used when a statement or email of this kind is made.",
    )

    history = audit_history()
    objects = LetterTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="correspondence_template_name_unique"
            ),
            # At most one default per kind, so "the patient statement template" is never ambiguous.
            models.UniqueConstraint(
                fields=["organization", "kind"],
                condition=models.Q(is_default=True),
                name="correspondence_template_one_default",
            ),
            models.CheckConstraint(
                condition=models.Q(is_default=False) | models.Q(is_active=True),
                name="%(app_label)s_%(class)s_default_is_active",
            ),
            _kind_check(),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_printed(self) -> bool:
        return self.kind in PRINTED_KINDS


class Letterhead(BaseModel):
    """The return address, payment and financial assistance contacts an organization's letters print.

    One per organization, created the first time an admin saves it; until then every
    field reads as empty and the default templates leave out what is not known.
    """

    organization = models.OneToOneField("staff.Organization", on_delete=models.PROTECT, related_name="+")
    return_address = models.TextField(
        blank=True, default="", help_text="Printed under the name, one line each."
    )
    billing_phone = models.CharField(max_length=32, blank=True, default="")
    billing_hours = models.CharField(
        max_length=120, blank=True, default="", help_text="e.g. Monday to Friday, 8 a.m. to 5 p.m. Central"
    )
    payable_to = models.CharField(
        "make checks payable to",
        max_length=200,
        blank=True,
        default="",
        help_text="Empty: the organization name.",
    )
    payment_address = models.TextField(
        "mail payments to", blank=True, default="", help_text="One line each; empty: the return address."
    )
    payment_portal_url = models.URLField("online payment address", blank=True, default="")
    assistance_phone = models.CharField(
        "financial assistance phone",
        max_length=32,
        blank=True,
        default="",
        help_text="Empty: the billing phone.",
    )
    assistance_url = models.URLField("financial assistance web page", blank=True, default="")
    statement_due_days = models.PositiveSmallIntegerField(
        "days to pay a statement",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="The due date printed is the statement date plus this many days (1 to 120).",
    )

    history = audit_history()
    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(statement_due_days__gte=1, statement_due_days__lte=120),
                name="%(app_label)s_%(class)s_due_days_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Letterhead of {self.organization}"

    @classmethod
    def of(cls, organization: Any) -> Letterhead:
        """The organization's letterhead, or an unsaved empty one when none was saved yet."""
        letterhead = cls.objects.filter(organization=organization).first() or cls(organization=organization)
        letterhead.organization = organization  # already loaded by the caller: no query for its name
        return letterhead

    def as_context(self) -> dict[str, Any]:
        """The ``organization`` part of every letter's context, with the documented fallbacks applied."""
        name = self.organization.name
        return_lines = _lines(self.return_address)
        return {
            "name": name,
            "return_address_lines": return_lines,
            "billing_phone": self.billing_phone,
            "billing_hours": self.billing_hours,
            "payable_to": self.payable_to or name,
            "payment_address_lines": _lines(self.payment_address) or return_lines,
            "payment_portal_url": self.payment_portal_url,
            "assistance_phone": self.assistance_phone or self.billing_phone,
            "assistance_url": self.assistance_url,
        }


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class DocumentQuerySet(OrganizationScopedQuerySet):
    def for_subject(self, subject: models.Model) -> models.QuerySet:
        return self.filter(
            subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
            subject_id=subject.pk,
        )

    def of_subject_model(self, model: type[models.Model]) -> models.QuerySet:
        return self.filter(subject_type=ContentType.objects.get_for_model(model, for_concrete_model=True))

    def without_content(self) -> models.QuerySet:
        """Lists never need the HTML and PDF bytes, which are most of a row's size."""
        return self.defer("html", "pdf")


class Document(models.Model):
    """A generated letter, statement or email: exactly what was printed or sent, kept as it was.

    Never edited: a database trigger rejects every UPDATE except setting ``sent_at``
    once, and every DELETE. Not history-tracked for that reason; the subject's
    timeline records its creation and sending.
    """

    Kind = DocumentKind

    class Delivery(models.TextChoices):
        PRINT = "print", "Print and mail"
        EMAIL = "email", "Email"

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.BigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    template = models.ForeignKey(
        LetterTemplate, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    title = models.CharField(max_length=200)
    html = models.TextField()
    # In the database rather than on a file system: no media volume to back up or share
    # between web and worker hosts, and the document commits with the rest of the change.
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    byte_size = models.PositiveIntegerField()
    page_count = models.PositiveSmallIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.PRINT)
    email_to = models.EmailField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            _kind_check(),
            models.CheckConstraint(
                condition=(models.Q(delivery="print") & models.Q(email_to=""))
                | (models.Q(delivery="email") & ~models.Q(email_to="")),
                name="%(app_label)s_%(class)s_email_needs_address",
            ),
            models.CheckConstraint(
                condition=models.Q(byte_size__gt=0) & models.Q(page_count__gt=0),
                name="%(app_label)s_%(class)s_not_empty",
            ),
        ]
        indexes = [
            # The documents of one account (or case), newest first: the account page's list.
            models.Index(fields=["subject_type", "subject_id", "-created_at"], name="corr_document_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.created_at:%Y-%m-%d})"

    @property
    def is_sent(self) -> bool:
        return self.sent_at is not None

    @property
    def filename(self) -> str:
        """``itemized-statement-2026-11-03.pdf``: what a browser or mail client saves it as. The date
        is the organization's, so the name is the same whichever time zone is active."""
        day = self.created_at.astimezone(ZoneInfo(self.organization.time_zone)).date()
        return f"{slugify(self.title) or self.kind}-{day:%Y-%m-%d}.pdf"
