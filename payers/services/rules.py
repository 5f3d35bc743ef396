"""Payer rules (timely filing, corrected claims, follow-up, crossover) and their appeal levels."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models.deletion import ProtectedError

from core.audit import mark_change
from core.errors import Conflict, InvalidInput
from payers.models import (
    AppealLevel,
    Payer,
    PayerRule,
)
from payers.permissions import can_manage_payers
from payers.services._helpers import (
    apply_changes,
    check_dates_ordered,
    checked_reason,
    diff_data,
    end_row_in_force,
    insert_row,
    jsonable,
    lock_row,
    payer_event,
    positive_days,
    refuse_overlap,
    require_permission,
    save_changes,
    stripped,
    validate_fields,
)

# --- payer rules and appeal levels --------------------------------------------------------------

RULE_FIELDS = (
    "effective_from",
    "effective_to",
    "timely_filing_days",
    "corrected_claim_days",
    "follow_up_days",
    "secondary_crossover",
    "notes",
)
LEVEL_FIELDS = ("level", "name", "filing_days", "decision_days")


def _check_rule(rule: PayerRule) -> None:
    if rule.effective_from is None:
        raise InvalidInput("effective_from: enter the date the rule starts", field="effective_from")
    check_dates_ordered(rule.effective_from, rule.effective_to)
    rule.timely_filing_days = positive_days(rule.timely_filing_days, "timely_filing_days")
    rule.corrected_claim_days = positive_days(rule.corrected_claim_days, "corrected_claim_days")
    rule.follow_up_days = positive_days(rule.follow_up_days, "follow_up_days")
    validate_fields(rule)


def _new_level(
    rule: PayerRule, *, level: Any, name: str, filing_days: Any, decision_days: Any
) -> AppealLevel:
    try:
        number = int(level)
    except (TypeError, ValueError):
        raise InvalidInput("level: enter the level number (1, 2, 3…)", field="level") from None
    if number < 1:
        raise InvalidInput("level: levels are numbered from 1", field="level")
    appeal_level = AppealLevel(
        organization_id=rule.organization_id,
        rule=rule,
        level=number,
        name=(stripped(name) or ""),
        filing_days=positive_days(filing_days, "filing_days"),
        decision_days=positive_days(decision_days, "decision_days"),
    )
    _check_level(appeal_level)
    return appeal_level


def _check_level(appeal_level: AppealLevel) -> None:
    if not appeal_level.name:
        raise InvalidInput(f"name: name appeal level {appeal_level.level}", field="name")
    # The rule may not be saved yet (levels given with a new rule).
    validate_fields(appeal_level, exclude=["rule"])


def _level_taken(rule: PayerRule, number: int) -> Conflict:
    return Conflict(f"level: this rule already has a level {number}", field="level")


def _rule_summary(rule: PayerRule) -> dict[str, Any]:
    return {
        "rule": str(rule.reference),
        "effective_from": str(rule.effective_from),
        "effective_to": jsonable(rule.effective_to),
        "timely_filing_days": rule.timely_filing_days,
        "corrected_claim_days": rule.corrected_claim_days,
        "follow_up_days": rule.follow_up_days,
        "secondary_crossover": rule.secondary_crossover,
    }


@transaction.atomic(durable=True)
def payer_rule_create(
    *,
    payer: Payer,
    effective_from: date,
    timely_filing_days: int,
    corrected_claim_days: int,
    follow_up_days: int,
    by: Any,
    effective_to: date | None = None,
    secondary_crossover: bool = False,
    notes: str = "",
    appeal_levels: Iterable[dict[str, Any]] = (),
    end_previous: bool = False,
) -> PayerRule:
    """Add a payer's rules in force from ``effective_from``, with their appeal levels.

    ``appeal_levels`` are dicts with ``name``, ``filing_days``, ``decision_days`` and an
    optional ``level`` (their position, from 1, otherwise). With ``end_previous`` the rule
    in force on ``effective_from`` ends the day before; any other overlap is refused. The
    returned rule's ``ended_rule`` is the rule it ended, or None.
    """
    lock_row(Payer, payer)  # serializes rule changes of this payer: the overlap check holds until commit
    require_permission(
        can_manage_payers(by, payer), "Only an admin of this organization may change payer rules."
    )
    rule = PayerRule(
        organization_id=payer.organization_id,
        payer=payer,
        effective_from=effective_from,
        effective_to=effective_to,
        timely_filing_days=timely_filing_days,
        corrected_claim_days=corrected_claim_days,
        follow_up_days=follow_up_days,
        secondary_crossover=bool(secondary_crossover),
        notes=(stripped(notes) or ""),
    )
    _check_rule(rule)
    levels = [
        _new_level(
            rule,
            level=spec.get("level") or position,
            name=spec.get("name", ""),
            filing_days=spec.get("filing_days"),
            decision_days=spec.get("decision_days"),
        )
        for position, spec in enumerate(appeal_levels, start=1)
    ]
    numbers = [level.level for level in levels]
    for number in numbers:
        if numbers.count(number) > 1:
            raise InvalidInput(f"level: level {number} is given more than once", field="level")
    siblings = PayerRule.objects.filter(payer=payer)
    ended = None
    if end_previous:
        ended = end_row_in_force(
            siblings,
            rule.effective_from,
            by=by,
            reason=f"ended: new rules from {rule.effective_from:%Y-%m-%d}",
        )
    refuse_overlap(siblings, rule.effective_from, rule.effective_to, "rule")
    mark_change(rule, by=by, reason="payer rule added")
    insert_row(
        rule,
        Conflict(
            f"effective_from: this payer already has rules from {rule.effective_from:%Y-%m-%d}",
            field="effective_from",
        ),
    )
    for appeal_level in levels:
        appeal_level.rule = rule
        mark_change(appeal_level, by=by, reason="appeal level added with its rule")
        appeal_level.save()
    data = {**_rule_summary(rule), "appeal_levels": numbers}
    if ended is not None:
        previous, old_end = ended
        data["ended_rule"] = {
            "rule": str(previous.reference),
            "old_effective_to": jsonable(old_end),
            "new_effective_to": str(previous.effective_to),
        }
    payer_event(
        payer,
        "payers.rule.created",
        f"Rules for {payer.name} from {rule.effective_from:%Y-%m-%d}: timely filing "
        f"{rule.timely_filing_days} days"
        + (f"; previous rules end {ended[0].effective_to:%Y-%m-%d}" if ended else ""),
        by,
        data,
    )
    rule.ended_rule = ended[0] if ended else None
    return rule


@transaction.atomic(durable=True)
def payer_rule_update(*, rule: PayerRule, changes: dict[str, Any], reason: str, by: Any) -> PayerRule:
    """Correct a rule's limits or dates. A change of policy is a new rule, not an edit of the old."""
    lock_row(Payer, rule.payer)  # same lock order as payer_rule_create: payer, then rule
    lock_row(PayerRule, rule)
    require_permission(
        can_manage_payers(by, rule), "Only an admin of this organization may change payer rules."
    )
    reason = checked_reason(reason)
    if "notes" in changes and changes["notes"] is None:
        changes = {**changes, "notes": ""}
    diff = apply_changes(rule, changes, RULE_FIELDS)
    if not diff:
        return rule
    _check_rule(rule)
    if {"effective_from", "effective_to"} & set(diff):
        refuse_overlap(
            PayerRule.objects.filter(payer_id=rule.payer_id).exclude(pk=rule.pk),
            rule.effective_from,
            rule.effective_to,
            "rule",
        )
    try:
        with transaction.atomic(savepoint=True):
            save_changes(rule, diff, by=by, reason=reason)
    except IntegrityError:
        raise Conflict(
            f"effective_from: this payer already has rules from {rule.effective_from:%Y-%m-%d}",
            field="effective_from",
        ) from None
    payer_event(
        rule.payer,
        "payers.rule.updated",
        f"Rules for {rule.payer.name} from {rule.effective_from:%Y-%m-%d} changed: {', '.join(sorted(diff))}",
        by,
        {"rule": str(rule.reference), "changes": diff_data(diff), "reason": reason},
    )
    return rule


@transaction.atomic(durable=True)
def appeal_level_add(
    *,
    rule: PayerRule,
    name: str,
    filing_days: int,
    decision_days: int,
    by: Any,
    level: int | None = None,
) -> AppealLevel:
    """Add an appeal level to a rule; ``level`` defaults to the next number."""
    lock_row(PayerRule, rule)
    require_permission(
        can_manage_payers(by, rule), "Only an admin of this organization may change appeal levels."
    )
    if level is None:
        level = (rule.appeal_levels.aggregate(top=models.Max("level"))["top"] or 0) + 1
    appeal_level = _new_level(
        rule, level=level, name=name, filing_days=filing_days, decision_days=decision_days
    )
    if rule.appeal_levels.filter(level=appeal_level.level).exists():
        raise _level_taken(rule, appeal_level.level)
    mark_change(appeal_level, by=by, reason="appeal level added")
    insert_row(appeal_level, _level_taken(rule, appeal_level.level))
    payer_event(
        rule.payer,
        "payers.appeal_level.added",
        f"Appeal level {appeal_level.level} ({appeal_level.name}) added to the rules from "
        f"{rule.effective_from:%Y-%m-%d}",
        by,
        {
            "rule": str(rule.reference),
            "level": appeal_level.level,
            "name": appeal_level.name,
            "filing_days": appeal_level.filing_days,
            "decision_days": appeal_level.decision_days,
        },
    )
    return appeal_level


@transaction.atomic(durable=True)
def appeal_level_update(
    *, appeal_level: AppealLevel, changes: dict[str, Any], reason: str, by: Any
) -> AppealLevel:
    lock_row(AppealLevel, appeal_level)
    require_permission(
        can_manage_payers(by, appeal_level), "Only an admin of this organization may change appeal levels."
    )
    reason = checked_reason(reason)
    diff = apply_changes(appeal_level, changes, LEVEL_FIELDS)
    if not diff:
        return appeal_level
    checked = _new_level(
        appeal_level.rule,
        level=appeal_level.level,
        name=appeal_level.name,
        filing_days=appeal_level.filing_days,
        decision_days=appeal_level.decision_days,
    )
    appeal_level.level, appeal_level.filing_days, appeal_level.decision_days = (
        checked.level,
        checked.filing_days,
        checked.decision_days,
    )
    if "level" in diff and (
        AppealLevel.objects.filter(rule_id=appeal_level.rule_id, level=appeal_level.level)
        .exclude(pk=appeal_level.pk)
        .exists()
    ):
        raise _level_taken(appeal_level.rule, appeal_level.level)
    try:
        with transaction.atomic(savepoint=True):
            save_changes(appeal_level, diff, by=by, reason=reason)
    except IntegrityError:
        raise _level_taken(appeal_level.rule, appeal_level.level) from None
    rule = appeal_level.rule
    payer_event(
        rule.payer,
        "payers.appeal_level.updated",
        f"Appeal level {appeal_level.level} of the rules from {rule.effective_from:%Y-%m-%d} changed",
        by,
        {"rule": str(rule.reference), "changes": diff_data(diff), "reason": reason},
    )
    return appeal_level


@transaction.atomic(durable=True)
def appeal_level_remove(*, appeal_level: AppealLevel, reason: str, by: Any) -> None:
    """Remove a level entered by mistake; its history keeps who removed it and why."""
    lock_row(AppealLevel, appeal_level)
    require_permission(
        can_manage_payers(by, appeal_level), "Only an admin of this organization may change appeal levels."
    )
    reason = checked_reason(reason)
    rule = appeal_level.rule
    number, name = appeal_level.level, appeal_level.name
    mark_change(appeal_level, by=by, reason=reason)
    try:
        with transaction.atomic(savepoint=True):
            appeal_level.delete()
    except ProtectedError:
        raise Conflict(
            f"level: level {number} is referenced by appeals; change it instead of removing it", field="level"
        ) from None
    payer_event(
        rule.payer,
        "payers.appeal_level.removed",
        f"Appeal level {number} ({name}) removed from the rules from {rule.effective_from:%Y-%m-%d}",
        by,
        {"rule": str(rule.reference), "level": number, "name": name, "reason": reason},
    )
