"""An organization's case settings: service levels and the caller verification policy (admins)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.audit import mark_change
from core.errors import InvalidInput
from core.timeline import event_record
from inquiries.models import Category, Identifier, Priority, ServiceLevel, VerificationPolicy
from inquiries.permissions import can_manage_case_settings
from inquiries.services.common import require, save, validate
from staff.models import Organization

MAX_HOURS = 24 * 90


def _lock_organization(organization: Organization) -> Organization:
    # Serialises settings changes of one organization (two admins saving the same row).
    return Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)


@transaction.atomic(durable=True)
def service_level_set(
    *,
    organization: Organization,
    category: str,
    priority: str,
    first_response_hours: int,
    resolution_hours: int,
    by: Any,
) -> ServiceLevel:
    """Create or change the service level for a category and priority (empty = any). Open cases keep
    the due times they were given."""
    organization = _lock_organization(organization)
    require(can_manage_case_settings(by, organization), "Only an admin may change service levels.")
    if category and category not in Category.values:
        raise InvalidInput(f"category: {category!r} is not a case category", field="category")
    if priority and priority not in Priority.values:
        raise InvalidInput(f"priority: {priority!r} is not a priority", field="priority")
    if not 1 <= first_response_hours <= MAX_HOURS:
        raise InvalidInput(
            f"first_response_hours: between 1 and {MAX_HOURS} hours", field="first_response_hours"
        )
    if not first_response_hours <= resolution_hours <= MAX_HOURS:
        raise InvalidInput(
            f"resolution_hours: at least the hours to first response and at most {MAX_HOURS}",
            field="resolution_hours",
        )
    level = ServiceLevel.objects.filter(
        organization=organization, category=category, priority=priority
    ).first()
    created = level is None
    if created:
        level = ServiceLevel(organization=organization, category=category, priority=priority)
    old = None if created else (level.first_response_hours, level.resolution_hours)
    level.first_response_hours, level.resolution_hours = first_response_hours, resolution_hours
    if old == (first_response_hours, resolution_hours):
        return level
    mark_change(level, by=by, reason="service level set")
    save(level)
    event_record(
        organization=organization,
        subject=organization,
        kind="inquiries.service_level.set",
        summary=f"Service level {level}",
        by=by,
        data={
            "category": category,
            "priority": priority,
            "old": list(old) if old else None,
            "new": [first_response_hours, resolution_hours],
        },
    )
    return level


@transaction.atomic(durable=True)
def service_level_remove(*, level: ServiceLevel, by: Any) -> None:
    organization = _lock_organization(level.organization)
    require(can_manage_case_settings(by, organization), "Only an admin may change service levels.")
    described = str(level)
    mark_change(level, by=by, reason="service level removed")
    level.delete()
    event_record(
        organization=organization,
        subject=organization,
        kind="inquiries.service_level.removed",
        summary=f"Service level removed: {described}",
        by=by,
    )


@transaction.atomic(durable=True)
def verification_policy_set(
    *, organization: Organization, identifiers: list[str], required_count: int, valid_minutes: int, by: Any
) -> VerificationPolicy:
    """Which identifiers count when verifying a caller, how many must match, and for how long it holds."""
    organization = _lock_organization(organization)
    require(can_manage_case_settings(by, organization), "Only an admin may change the verification policy.")
    unknown = [i for i in identifiers if i not in Identifier.values]
    if unknown:
        raise InvalidInput(f"identifiers: {unknown[0]!r} is not an identifier", field="identifiers")
    identifiers = [i for i in Identifier.values if i in identifiers]
    if not identifiers:
        raise InvalidInput("identifiers: choose at least one identifier", field="identifiers")
    if not 1 <= required_count <= len(identifiers):
        raise InvalidInput(
            f"required_count: between 1 and the {len(identifiers)} identifiers chosen", field="required_count"
        )
    policy = VerificationPolicy.objects.filter(organization=organization).first()
    old = None
    if policy is None:
        policy = VerificationPolicy(organization=organization)
    else:
        old = {
            "identifiers": policy.identifiers,
            "required_count": policy.required_count,
            "valid_minutes": policy.valid_minutes,
        }
    policy.identifiers, policy.required_count, policy.valid_minutes = (
        identifiers,
        required_count,
        valid_minutes,
    )
    new = {"identifiers": identifiers, "required_count": required_count, "valid_minutes": valid_minutes}
    if old == new:
        return policy
    validate(policy, exclude=["organization"], validate_unique=False, validate_constraints=False)
    mark_change(policy, by=by, reason="verification policy set")
    save(policy)
    event_record(
        organization=organization,
        subject=organization,
        kind="inquiries.verification_policy.set",
        summary=f"Caller verification: {required_count} of {len(identifiers)}, {valid_minutes} minutes",
        by=by,
        data={"old": old, "new": new},
    )
    return policy
