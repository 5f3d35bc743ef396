"""Quality reviews: scorecards (admins) and supervisors' reviews of interactions against them.

A review marks every criterion met, not met or not applicable; its score is the weight
met over the weight that applied, 0 to 100. A compliance item not met flags the review,
and scores it 0 when the scorecard says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import mark_change
from core.errors import Conflict, InvalidInput
from core.timeline import event_record
from inquiries.models import Interaction, Mark, QAReview, QAScore, Scorecard, ScorecardCriterion
from inquiries.permissions import can_manage_case_settings, can_review_quality
from inquiries.services.common import case_event, lock, require, save

_LINE = re.compile(r"^(?P<compliance>!)?\s*(?P<weight>\d{1,3})\s+(?P<label>\S.*)$")
MAX_CRITERIA = 40


@dataclass(frozen=True)
class CriterionInput:
    label: str
    weight: int
    is_compliance: bool


def parse_criteria(text: str) -> list[CriterionInput]:
    """``"!50 Verified the caller"``: optional ``!`` for a compliance item, the weight (1-100), the label."""
    criteria = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _LINE.match(line)
        if match is None:
            raise InvalidInput(
                f'criteria: line {number} must be a weight then the criterion, e.g. "20 Greeted the caller"',
                field="criteria",
            )
        weight = int(match["weight"])
        if not 1 <= weight <= 100:
            raise InvalidInput(f"criteria: line {number} has a weight outside 1-100", field="criteria")
        criteria.append(CriterionInput(match["label"].strip()[:200], weight, bool(match["compliance"])))
    if not criteria:
        raise InvalidInput("criteria: write at least one criterion, one per line", field="criteria")
    if len(criteria) > MAX_CRITERIA:
        raise InvalidInput(f"criteria: at most {MAX_CRITERIA} criteria", field="criteria")
    return criteria


@transaction.atomic(durable=True)
def scorecard_create(
    *, organization: Any, name: str, criteria: str, by: Any, compliance_fails_review: bool = True
) -> Scorecard:
    require(can_manage_case_settings(by, organization), "Only an admin may write scorecards.")
    name = name.strip()
    if not name:
        raise InvalidInput("name: give the scorecard a name", field="name")
    conflict = Conflict(f"name: a scorecard named {name!r} already exists", field="name")
    if Scorecard.objects.filter(organization=organization, name__iexact=name).exists():
        raise conflict
    parsed = parse_criteria(criteria)
    scorecard = Scorecard(
        organization=organization, name=name, compliance_fails_review=compliance_fails_review
    )
    mark_change(scorecard, by=by, reason="scorecard written")
    save(scorecard, conflict)
    ScorecardCriterion.objects.bulk_create(
        ScorecardCriterion(
            scorecard=scorecard,
            position=position,
            label=c.label,
            weight=c.weight,
            is_compliance=c.is_compliance,
        )
        for position, c in enumerate(parsed, start=1)
    )
    event_record(
        organization=organization,
        subject=organization,
        kind="inquiries.scorecard.created",
        summary=f"QA scorecard {name} written ({len(parsed)} criteria)",
        by=by,
        data={"scorecard": str(scorecard.reference)},
    )
    return scorecard


@transaction.atomic(durable=True)
def scorecard_set_active(*, scorecard: Scorecard, is_active: bool, by: Any) -> Scorecard:
    lock(scorecard)
    require(can_manage_case_settings(by, scorecard), "Only an admin may change scorecards.")
    if scorecard.is_active == is_active:
        return scorecard
    scorecard.is_active = is_active
    mark_change(scorecard, by=by, reason="scorecard put in use" if is_active else "scorecard retired")
    scorecard.save(update_fields=["is_active", "updated_at"])
    event_record(
        organization=scorecard.organization,
        subject=scorecard.organization,
        kind="inquiries.scorecard.updated",
        summary=f"QA scorecard {scorecard.name} {'in use' if is_active else 'retired'}",
        by=by,
        data={"scorecard": str(scorecard.reference), "is_active": is_active},
    )
    return scorecard


def weighted_score(
    criteria: list[ScorecardCriterion], marks: dict[int, str], *, fails: bool
) -> tuple[Decimal, bool]:
    """(score 0-100, a compliance item was missed) for ``marks`` by criterion id."""
    applicable = [c for c in criteria if marks[c.pk] != Mark.NOT_APPLICABLE]
    if not applicable:
        raise InvalidInput("marks: at least one criterion must apply to the contact", field="marks")
    met = sum(c.weight for c in applicable if marks[c.pk] == Mark.MET)
    total = sum(c.weight for c in applicable)
    score = (Decimal(100) * met / total).quantize(Decimal("0.01"))
    compliance_failed = any(c.is_compliance and marks[c.pk] == Mark.NOT_MET for c in criteria)
    if compliance_failed and fails:
        score = Decimal("0.00")
    return score, compliance_failed


@transaction.atomic(durable=True)
def qa_review_record(
    *,
    interaction: Interaction,
    scorecard: Scorecard,
    marks: dict[int, str],
    by: Any,
    notes: dict[int, str] | None = None,
    comments: str = "",
    now: datetime | None = None,
) -> QAReview:
    """Score one interaction against a scorecard. Supervisors only, and never their own contact."""
    lock(interaction)
    require(can_review_quality(by, interaction), "Only a supervisor may review contacts.")
    if scorecard.organization_id != interaction.organization_id or not scorecard.is_active:
        raise InvalidInput("scorecard: choose one of the organization's scorecards in use", field="scorecard")
    if interaction.logged_by_id == by.pk:
        raise InvalidInput("interaction: you cannot review your own contact", field="interaction")
    if QAReview.objects.filter(interaction=interaction, scorecard=scorecard).exists():
        raise Conflict("scorecard: this contact was already reviewed with this scorecard", field="scorecard")
    criteria = list(scorecard.criteria.order_by("position"))
    missing = [c.label for c in criteria if marks.get(c.pk) not in Mark.values]
    if missing:
        raise InvalidInput(f"marks: mark every criterion; missing: {missing[0]}", field="marks")
    score, compliance_failed = weighted_score(criteria, marks, fails=scorecard.compliance_fails_review)
    review = QAReview(
        organization_id=interaction.organization_id,
        interaction=interaction,
        scorecard=scorecard,
        representative_id=interaction.logged_by_id,
        reviewer=by,
        score=score,
        compliance_failed=compliance_failed,
        comments=comments.strip(),
        reviewed_at=now or timezone.now(),
    )
    mark_change(review, by=by, reason="contact reviewed")
    save(
        review,
        Conflict("scorecard: this contact was already reviewed with this scorecard", field="scorecard"),
    )
    notes = notes or {}
    QAScore.objects.bulk_create(
        QAScore(review=review, criterion=c, mark=marks[c.pk], note=(notes.get(c.pk) or "").strip()[:300])
        for c in criteria
    )
    # The score stays on the review (the representative and supervisors read it); the case
    # timeline, which everyone on the case reads, only notes that a review happened.
    case_event(
        interaction.case,
        "interaction.reviewed",
        "Contact reviewed for quality" + (": a compliance item was missed" if compliance_failed else ""),
        by,
        interaction=str(interaction.reference),
        review=str(review.reference),
    )
    return review
