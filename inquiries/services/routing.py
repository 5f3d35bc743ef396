"""The department directory, and the appeals & grievances coordinator's work on referrals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.audit import mark_change
from core.errors import Conflict, InvalidInput, InvalidTransition
from core.timeline import event_record
from inquiries.models import Department, Referral
from inquiries.permissions import can_manage_case_settings, can_work_referrals
from inquiries.services.common import case_event, lock, reason_text, require, save, validate

DEPARTMENT_FIELDS = frozenset({"name", "kind", "phone", "hours", "notes", "is_active"})


def _name_conflict(name: str) -> Conflict:
    return Conflict(f"name: a department named {name!r} already exists", field="name")


@transaction.atomic(durable=True)
def department_create(
    *, organization: Any, name: str, kind: str, by: Any, phone: str = "", hours: str = "", notes: str = ""
) -> Department:
    require(can_manage_case_settings(by, organization), "Only an admin may change the department directory.")
    name = name.strip()
    if not name:
        raise InvalidInput("name: give the department a name", field="name")
    if Department.objects.filter(organization=organization, name__iexact=name).exists():
        raise _name_conflict(name)
    department = Department(
        organization=organization,
        name=name,
        kind=kind,
        phone=phone.strip(),
        hours=hours.strip(),
        notes=notes.strip(),
    )
    validate(department, exclude=["organization"], validate_unique=False, validate_constraints=False)
    mark_change(department, by=by, reason="department added")
    save(department, _name_conflict(name))
    event_record(
        organization=organization,
        subject=organization,
        kind="inquiries.department.created",
        summary=f"Department {name} added to the directory",
        by=by,
        data={"department": str(department.reference), "kind": kind},
    )
    return department


@transaction.atomic(durable=True)
def department_update(*, department: Department, changes: dict[str, Any], by: Any) -> Department:
    lock(department)
    require(can_manage_case_settings(by, department), "Only an admin may change the department directory.")
    unknown = set(changes) - DEPARTMENT_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"{field}: not a department field", field=field)
    changes = {k: v.strip() if isinstance(v, str) else v for k, v in changes.items()}
    diff = [name for name, value in changes.items() if getattr(department, name) != value]
    if not diff:
        return department
    if "name" in diff:
        if not changes["name"]:
            raise InvalidInput("name: give the department a name", field="name")
        clash = Department.objects.filter(
            organization_id=department.organization_id, name__iexact=changes["name"]
        )
        if clash.exclude(pk=department.pk).exists():
            raise _name_conflict(changes["name"])
    for name in diff:
        setattr(department, name, changes[name])
    validate(department, exclude=["organization"], validate_unique=False, validate_constraints=False)
    mark_change(department, by=by, reason=f"department changed: {', '.join(sorted(diff))}")
    save(department, _name_conflict(department.name), update_fields=[*diff, "updated_at"])
    event_record(
        organization=department.organization,
        subject=department.organization,
        kind="inquiries.department.updated",
        summary=f"Department {department.name} changed: {', '.join(sorted(diff))}",
        by=by,
        data={"department": str(department.reference), "fields": sorted(diff)},
    )
    return department


@transaction.atomic(durable=True)
def referral_acknowledge(*, referral: Referral, by: Any, now: datetime | None = None) -> Referral:
    """The coordinator has the referral: it stays in their queue until closed."""
    lock(referral)
    require(can_work_referrals(by, referral), "Only the appeals & grievances coordinator works referrals.")
    if not referral.can_transition_to(Referral.Status.ACKNOWLEDGED):
        raise InvalidTransition(
            f"status: the referral is already {referral.get_status_display().lower()}", field="status"
        )
    referral.status = Referral.Status.ACKNOWLEDGED
    referral.acknowledged_by = by
    referral.acknowledged_at = now or timezone.now()
    mark_change(referral, by=by, reason="referral acknowledged")
    save(referral, update_fields=["status", "acknowledged_by", "acknowledged_at", "updated_at"])
    case_event(
        referral.case,
        "referral.acknowledged",
        f"{referral.get_kind_display()} referral acknowledged by appeals & grievances",
        by,
        referral=str(referral.reference),
    )
    return referral


@transaction.atomic(durable=True)
def referral_close(*, referral: Referral, outcome: str, by: Any, now: datetime | None = None) -> Referral:
    """Close a referral with what became of it (appeal filed, grievance resolved and answered…)."""
    lock(referral)
    require(can_work_referrals(by, referral), "Only the appeals & grievances coordinator works referrals.")
    if not referral.can_transition_to(Referral.Status.CLOSED):
        raise InvalidTransition("status: the referral is already closed", field="status")
    outcome = reason_text(outcome, "outcome")
    referral.status = Referral.Status.CLOSED
    referral.outcome = outcome[:500]
    referral.closed_by = by
    referral.closed_at = now or timezone.now()
    if referral.acknowledged_at is None:
        referral.acknowledged_by, referral.acknowledged_at = by, referral.closed_at
    mark_change(referral, by=by, reason="referral closed")
    save(
        referral,
        update_fields=[
            "status",
            "outcome",
            "closed_by",
            "closed_at",
            "acknowledged_by",
            "acknowledged_at",
            "updated_at",
        ],
    )
    case_event(
        referral.case,
        "referral.closed",
        f"{referral.get_kind_display()} referral closed: {outcome}",
        by,
        referral=str(referral.reference),
        outcome=outcome,
    )
    return referral
