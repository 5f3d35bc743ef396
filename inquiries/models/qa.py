"""Quality reviews: an organization's scorecards and supervisors' reviews of interactions against them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.audit import audit_history
from core.models import BaseModel, choice_check
from inquiries.querysets import InquiriesQuerySet


class Scorecard(BaseModel):
    """What a good contact looks like, as weighted criteria; compliance items can fail a review alone."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    compliance_fails_review = models.BooleanField(
        "a missed compliance item scores the review 0",
        default=True,
    )

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="inquiries_scorecard_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ScorecardCriterion(models.Model):
    """One thing a reviewer scores. Criteria are fixed once the scorecard is made, so averages compare."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="criteria")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=200)
    weight = models.PositiveSmallIntegerField()
    is_compliance = models.BooleanField(default=False)

    class Meta:
        ordering = ["scorecard", "position"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "position"], name="inquiries_criterion_unique"),
            models.CheckConstraint(
                condition=models.Q(weight__gte=1, weight__lte=100), name="%(app_label)s_%(class)s_weight"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class QAReview(BaseModel):
    """A supervisor's scoring of one interaction; the representative who logged it can read it."""

    organization = models.ForeignKey("staff.Organization", on_delete=models.PROTECT, related_name="+")
    interaction = models.ForeignKey("inquiries.Interaction", on_delete=models.PROTECT, related_name="reviews")
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="reviews")
    representative = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    score = models.DecimalField(max_digits=5, decimal_places=2, help_text="0 to 100, weighted.")
    compliance_failed = models.BooleanField(default=False)
    comments = models.TextField(blank=True, default="")
    reviewed_at = models.DateTimeField()

    history = audit_history()
    objects = InquiriesQuerySet.as_manager()

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interaction", "scorecard"], name="inquiries_review_once_per_scorecard"
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=100), name="%(app_label)s_%(class)s_score_range"
            ),
        ]
        indexes = [
            models.Index(fields=["representative", "-reviewed_at"], name="inquiries_review_rep"),
            models.Index(fields=["organization", "-reviewed_at"], name="inquiries_review_org"),
        ]

    def __str__(self) -> str:
        return f"QA review {self.score}"


class Mark(models.TextChoices):
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"
    NOT_APPLICABLE = "na", "Not applicable"


class QAScore(models.Model):
    """How one criterion was marked in a review."""

    Mark = Mark

    review = models.ForeignKey(QAReview, on_delete=models.PROTECT, related_name="scores")
    criterion = models.ForeignKey(ScorecardCriterion, on_delete=models.PROTECT, related_name="+")
    mark = models.CharField(max_length=8, choices=Mark.choices)
    note = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["review", "criterion__position"]
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="inquiries_score_unique"),
            choice_check("mark", Mark),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id}: {self.mark}"
