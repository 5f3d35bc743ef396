"""Payer notices: publish, correct, withdraw, acknowledge."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction

from core.audit import mark_change
from core.errors import InvalidInput, InvalidTransition
from core.timeline import event_record
from payers.models import (
    NoticeAcknowledgement,
    Payer,
    PayerNotice,
    Plan,
)
from payers.permissions import can_acknowledge_notice, can_publish_notices
from payers.services._helpers import (
    apply_changes,
    checked_reason,
    diff_data,
    lock_row,
    require_permission,
    save_changes,
    stripped,
    validate_fields,
)

# --- notices ---------------------------------------------------------------------------------

NOTICE_FIELDS = ("title", "body", "effective_date", "payers", "plans")


def _notice_targets(
    organization_id: int, payers: Iterable[Payer], plans: Iterable[Plan]
) -> tuple[list[Payer], list[Plan]]:
    payers, plans = list(payers), list(plans)
    if any(p.organization_id != organization_id for p in payers):
        raise InvalidInput("payers: a payer belongs to another organization", field="payers")
    if any(p.organization_id != organization_id for p in plans):
        raise InvalidInput("plans: a plan belongs to another organization", field="plans")
    return payers, plans


def _check_notice(notice: PayerNotice) -> None:
    if not notice.title:
        raise InvalidInput("title: give the notice a title", field="title")
    if not notice.body:
        raise InvalidInput("body: say what changes and what staff must do", field="body")
    if notice.effective_date is None:
        raise InvalidInput("effective_date: enter the date the change takes effect", field="effective_date")
    validate_fields(notice)


@transaction.atomic(durable=True)
def notice_publish(
    *,
    organization: Any,
    title: str,
    body: str,
    effective_date: date,
    by: Any,
    payers: Iterable[Payer] = (),
    plans: Iterable[Plan] = (),
) -> PayerNotice:
    """Publish a payer policy or plan change; every member is asked to acknowledge it."""
    require_permission(
        can_publish_notices(by, organization), "Only supervisors and admins may publish payer notices."
    )
    payers, plans = _notice_targets(organization.pk, payers, plans)
    notice = PayerNotice(
        organization=organization,
        title=stripped(title) or "",
        body=stripped(body) or "",
        effective_date=effective_date,
        published_by=by,
    )
    _check_notice(notice)
    mark_change(notice, by=by, reason="notice published")
    notice.save()
    notice.payers.set(payers)
    notice.plans.set(plans)
    event_record(
        organization=organization,
        subject=notice,
        kind="payers.notice.published",
        summary=f"Payer notice published: {notice.title}",
        by=by,
        data={
            "effective_date": str(notice.effective_date),
            "payers": [str(p.reference) for p in payers],
            "plans": [str(p.reference) for p in plans],
        },
    )
    return notice


@transaction.atomic(durable=True)
def notice_update(*, notice: PayerNotice, changes: dict[str, Any], reason: str, by: Any) -> PayerNotice:
    """Correct a notice. Acknowledgements stay: a new policy is a new notice, not an edit."""
    lock_row(PayerNotice, notice)
    require_permission(
        can_publish_notices(by, notice), "Only supervisors and admins may change payer notices."
    )
    reason = checked_reason(reason)
    if not notice.is_active:
        raise InvalidTransition("This notice was withdrawn; publish a new one instead of editing it.")
    changes = dict(changes)
    new_payers = changes.pop("payers", None)
    new_plans = changes.pop("plans", None)
    unknown = sorted(set(changes) - set(NOTICE_FIELDS))
    if unknown:
        raise InvalidInput(f"{unknown[0]}: cannot be changed here", field=unknown[0])
    diff = apply_changes(notice, changes, NOTICE_FIELDS)
    targets: dict[str, tuple[list[str], list[str]]] = {}
    if new_payers is not None or new_plans is not None:
        payers, plans = _notice_targets(notice.organization_id, new_payers or [], new_plans or [])
        if new_payers is not None:
            old = sorted(str(r) for r in notice.payers.values_list("reference", flat=True))
            new = sorted(str(p.reference) for p in payers)
            if old != new:
                targets["payers"] = (old, new)
                notice.payers.set(payers)
        if new_plans is not None:
            old = sorted(str(r) for r in notice.plans.values_list("reference", flat=True))
            new = sorted(str(p.reference) for p in plans)
            if old != new:
                targets["plans"] = (old, new)
                notice.plans.set(plans)
    if not diff and not targets:
        return notice
    _check_notice(notice)
    # The row is saved even when only the payers or plans changed, so its history names who and why.
    save_changes(notice, diff, by=by, reason=reason)
    changed = sorted([*diff, *targets])
    event_record(
        organization=notice.organization,
        subject=notice,
        kind="payers.notice.updated",
        summary=f"Payer notice changed: {', '.join(changed)}",
        by=by,
        data={"changes": {**diff_data(diff), **diff_data(targets)}, "reason": reason},
    )
    return notice


@transaction.atomic(durable=True)
def notice_withdraw(*, notice: PayerNotice, reason: str, by: Any) -> PayerNotice:
    """Withdraw a notice: it stays readable but no longer asks anyone to acknowledge it."""
    lock_row(PayerNotice, notice)
    require_permission(
        can_publish_notices(by, notice), "Only supervisors and admins may withdraw payer notices."
    )
    reason = checked_reason(reason)
    if not notice.is_active:
        return notice
    notice.is_active = False
    mark_change(notice, by=by, reason=reason)
    notice.save(update_fields=["is_active", "updated_at"])
    event_record(
        organization=notice.organization,
        subject=notice,
        kind="payers.notice.withdrawn",
        summary=f"Payer notice withdrawn: {notice.title}",
        by=by,
        data={"reason": reason},
    )
    return notice


@transaction.atomic(durable=True)
def notice_acknowledge(*, notice: PayerNotice, by: Any) -> NoticeAcknowledgement:
    """Record that ``by`` read the notice. A second acknowledgement changes nothing and returns the first."""
    require_permission(
        can_acknowledge_notice(by, notice), "Only members of this organization may acknowledge its notices."
    )
    existing = NoticeAcknowledgement.objects.filter(notice=notice, user=by).first()
    if existing is not None:
        return existing
    if not PayerNotice.objects.filter(pk=notice.pk, is_active=True).exists():
        raise InvalidTransition("This notice was withdrawn; it no longer needs acknowledging.")
    # get_or_create: a double click sent twice at once meets the unique constraint and
    # gets the row the first request wrote.
    acknowledgement, _ = NoticeAcknowledgement.objects.get_or_create(notice=notice, user=by)
    return acknowledgement
