"""Approved call scripts: a script per organization, published in versions made of steps."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.audit import audit_history
from core.models import BaseModel
from inquiries.models.cases import Category
from inquiries.querysets import InquiriesQuerySet


class Script(BaseModel):
    """A call flow reps follow for a kind of case; what they read is its latest version."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    category = models.CharField(
        max_length=32,
        choices=Category.choices,
        blank=True,
        default="",
        help_text="Shown on cases of this category; empty for every case without a script of its own.",
    )
    is_active = models.BooleanField(default=True)
    current_version = models.ForeignKey(
        "inquiries.ScriptVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="inquiries_script_name_unique"),
            models.CheckConstraint(
                condition=models.Q(category="") | models.Q(category__in=Category.values),
                name="%(app_label)s_%(class)s_category_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScriptVersion(models.Model):
    """One published wording of a script. Never changed: a new wording is a new version."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    script = models.ForeignKey(Script, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    note = models.CharField(max_length=300, blank=True, default="", help_text="What changed.")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField()

    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["script", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["script", "number"], name="inquiries_script_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.script} v{self.number}"

    def required_positions(self) -> list[int]:
        return [step.position for step in self.steps.all() if step.is_required_disclosure]


class ScriptStep(models.Model):
    """What the rep says or does at one point of the call; a required disclosure must be read."""

    version = models.ForeignKey(ScriptVersion, on_delete=models.PROTECT, related_name="steps")
    position = models.PositiveSmallIntegerField()
    prompt = models.TextField()
    is_required_disclosure = models.BooleanField(default=False)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="inquiries_script_step_unique"),
            models.CheckConstraint(
                condition=models.Q(position__gte=1), name="%(app_label)s_%(class)s_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.prompt[:60]}"
