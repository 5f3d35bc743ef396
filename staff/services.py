"""Every change to organizations, memberships, teams, limits and closures goes through here.

Each service runs in its own transaction (``durable=True``), locks what it changes,
checks the acting user's permission again (defence in depth), records row history with
a reason and a timeline event on the organization.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.audit import mark_change
from core.errors import Conflict, InvalidInput, NotPermitted, invalid_from_validation
from core.money import parse_money
from core.timeline import event_record
from staff.models import ApprovalLimit, Membership, Organization, OrganizationClosure, Role, Team, User
from staff.permissions import (
    can_create_organization,
    can_manage_approval_limits,
    can_manage_members,
    can_manage_organization,
    forget_memberships,
)


def _validate(obj: object, **kwargs: object) -> None:
    try:
        obj.full_clean(**kwargs)  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise invalid_from_validation(exc) from None


def _insert(obj: object, conflict: Conflict) -> None:
    """Save a new row; a unique constraint hit by a concurrent request becomes ``conflict``."""
    try:
        with transaction.atomic(savepoint=True):
            obj.save()  # type: ignore[attr-defined]
    except IntegrityError:
        raise conflict from None


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotPermitted(message)


def _validate_role(role: str) -> Role:
    if role not in Role.values:
        raise InvalidInput(
            f"role: {role!r} is not a role; choose one of {', '.join(Role.values)}", field="role"
        )
    return Role(role)


@transaction.atomic(durable=True)
def organization_create(*, name: str, slug: str, kind: str, time_zone: str, by: User) -> Organization:
    """Create a client organization; its creator becomes its first admin."""
    _require(can_create_organization(by), "Only platform operators may create client organizations.")
    if kind not in Organization.Kind.values:
        raise InvalidInput(f"kind: {kind!r} is not an organization kind", field="kind")
    organization = Organization(name=name.strip(), slug=slug.strip(), kind=kind, time_zone=time_zone)
    # Uniqueness is left to the database so that a taken slug is a Conflict, not a crash.
    _validate(organization, validate_unique=False)
    mark_change(organization, by=by, reason="organization created")
    _insert(
        organization, Conflict(f"slug: an organization with the slug {slug!r} already exists", field="slug")
    )
    membership = Membership(user=by, organization=organization, role=Role.ADMIN)
    mark_change(membership, by=by, reason="creator of the organization")
    membership.save()
    event_record(
        organization=organization,
        subject=organization,
        kind="staff.organization.created",
        summary=f"Organization {organization.name} created",
        by=by,
    )
    forget_memberships(by)
    return organization


@transaction.atomic(durable=True)
def organization_update(
    *,
    organization: Organization,
    by: User,
    reason: str,
    name: str | None = None,
    time_zone: str | None = None,
) -> Organization:
    """Rename an organization or change its time zone; a value left as None stays as it is."""
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    _require(can_manage_organization(by, organization), "Only an admin of this organization may change it.")
    old = {"name": organization.name, "time_zone": organization.time_zone}
    if not reason.strip():
        raise InvalidInput("reason: say why the settings change", field="reason")
    if name is not None:
        organization.name = name.strip()
    if time_zone is not None:
        organization.time_zone = time_zone.strip()
    _validate(organization)
    mark_change(organization, by=by, reason=reason)
    organization.save(update_fields=["name", "time_zone", "updated_at"])
    event_record(
        organization=organization,
        subject=organization,
        kind="staff.organization.updated",
        summary="Organization settings changed",
        by=by,
        data={
            "old": old,
            "new": {"name": organization.name, "time_zone": organization.time_zone},
            "reason": reason,
        },
    )
    return organization


def _send_password_setup(user: User) -> None:
    from urllib.parse import urlsplit

    from django.conf import settings

    site = urlsplit(settings.SITE_URL)
    form = PasswordResetForm({"email": user.email})
    if form.is_valid():
        # Django only mails users with a usable password, so new users get one they
        # cannot know before the link sets theirs.
        form.get_users = lambda email: [user]  # type: ignore[method-assign]
        form.save(
            subject_template_name="registration/account_setup_subject.txt",
            email_template_name="registration/account_setup_email.txt",
            use_https=site.scheme == "https",
            domain_override=site.netloc,
        )


@transaction.atomic(durable=True)
def membership_add(
    *, organization: Organization, email: str, full_name: str, role: str, by: User, team: Team | None = None
) -> Membership:
    """Give a person a role in the organization, creating their user (with a set-password email) if new."""
    _require(can_manage_members(by, organization), "Only an admin of this organization may add members.")
    role = _validate_role(role)
    email = User.objects.normalize_email(email.strip()).lower()
    if not email or "@" not in email:
        raise InvalidInput("email: enter the person's email address", field="email")
    if team is not None and team.organization_id != organization.pk:
        raise InvalidInput("team: the team belongs to another organization", field="team")
    user = User.objects.select_for_update().filter(email=email).first()
    created_user = user is None
    if created_user:
        if not full_name.strip():
            raise InvalidInput("full_name: enter the person's name", field="full_name")
        user = User.objects.create_user(email=email, full_name=full_name.strip())
    membership = Membership(user=user, organization=organization, role=role, team=team)
    mark_change(membership, by=by, reason=f"added as {role.label}")
    _insert(
        membership,
        Conflict(
            f"email: {email} is already a member of {organization.name}; change their role instead",
            field="email",
        ),
    )
    event_record(
        organization=organization,
        subject=organization,
        kind="staff.membership.added",
        summary=f"{user.full_name} added as {role.label}",
        by=by,
        data={"membership": str(membership.reference), "role": role.value},
    )
    if created_user:
        transaction.on_commit(lambda: _send_password_setup(user))
    return membership


def _lock_membership(membership: Membership) -> Membership:
    return Membership.objects.select_for_update().select_related("user", "organization").get(pk=membership.pk)


@transaction.atomic(durable=True)
def membership_change_role(*, membership: Membership, role: str, by: User, reason: str) -> Membership:
    """Change a member's role.

    Nobody changes their own role or access, so the acting admin always remains: an
    organization can never be left without an admin through these services.
    """
    membership = _lock_membership(membership)
    organization = membership.organization
    _require(can_manage_members(by, organization), "Only an admin of this organization may change roles.")
    role = _validate_role(role)
    if membership.user_id == by.pk:
        raise NotPermitted("You cannot change your own role; ask another admin.")
    if not reason.strip():
        raise InvalidInput("reason: say why the role changes", field="reason")
    if membership.role == role:
        return membership
    old = membership.role
    membership.role = role
    mark_change(membership, by=by, reason=reason)
    membership.save(update_fields=["role", "updated_at"])
    event_record(
        organization=organization,
        subject=organization,
        kind="staff.membership.role_changed",
        summary=f"{membership.user.full_name}: {Role(old).label} → {role.label}",
        by=by,
        data={"membership": str(membership.reference), "old": old, "new": role.value, "reason": reason},
    )
    return membership


@transaction.atomic(durable=True)
def membership_set_active(*, membership: Membership, active: bool, by: User, reason: str) -> Membership:
    """Deactivate (or reactivate) a membership; the person loses access to this organization at once."""
    membership = _lock_membership(membership)
    organization = membership.organization
    _require(can_manage_members(by, organization), "Only an admin of this organization may change access.")
    if membership.user_id == by.pk:
        raise NotPermitted("You cannot change your own access; ask another admin.")
    if not reason.strip():
        raise InvalidInput("reason: say why access changes", field="reason")
    if membership.is_active == active:
        return membership
    membership.is_active = active
    mark_change(membership, by=by, reason=reason)
    membership.save(update_fields=["is_active", "updated_at"])
    verb = "reactivated" if active else "deactivated"
    event_record(
        organization=organization,
        subject=organization,
        kind=f"staff.membership.{verb}",
        summary=f"{membership.user.full_name} {verb}",
        by=by,
        data={"membership": str(membership.reference), "reason": reason},
    )
    return membership


@transaction.atomic(durable=True)
def membership_assign_team(*, membership: Membership, team: Team | None, by: User) -> Membership:
    membership = _lock_membership(membership)
    _require(
        can_manage_members(by, membership.organization),
        "Only an admin of this organization may assign teams.",
    )
    if team is not None and team.organization_id != membership.organization_id:
        raise InvalidInput("team: the team belongs to another organization", field="team")
    old = membership.team.name if membership.team else None
    membership.team = team
    mark_change(membership, by=by, reason="team assignment")
    membership.save(update_fields=["team", "updated_at"])
    event_record(
        organization=membership.organization,
        subject=membership.organization,
        kind="staff.membership.team_changed",
        summary=f"{membership.user.full_name} moved to {team.name if team else 'no team'}",
        by=by,
        data={"membership": str(membership.reference), "old": old, "new": team.name if team else None},
    )
    return membership


@transaction.atomic(durable=True)
def team_create(*, organization: Organization, name: str, description: str = "", by: User) -> Team:
    _require(can_manage_members(by, organization), "Only an admin of this organization may create teams.")
    if not name.strip():
        raise InvalidInput("name: enter the team's name", field="name")
    duplicate = Conflict(f"name: a team called {name.strip()!r} already exists", field="name")
    # Case-insensitive here; the database constraint catches an exact twin sent concurrently.
    if Team.objects.filter(organization=organization, name__iexact=name.strip()).exists():
        raise duplicate
    team = Team(organization=organization, name=name.strip(), description=description.strip())
    mark_change(team, by=by, reason="team created")
    _insert(team, duplicate)
    event_record(
        organization=organization,
        subject=organization,
        kind="staff.team.created",
        summary=f"Team {team.name} created",
        by=by,
    )
    return team


@transaction.atomic(durable=True)
def approval_limit_set(
    *, organization: Organization, role: str, kind: str, max_amount: Decimal | str, by: User, reason: str
) -> ApprovalLimit:
    """Set how much a role may write off, refund or adjust without a supervisor's approval."""
    _require(
        can_manage_approval_limits(by, organization), "Only an admin of this organization may set limits."
    )
    role = _validate_role(role)
    if kind not in ApprovalLimit.Kind.values:
        raise InvalidInput(f"kind: {kind!r} is not a limit kind", field="kind")
    amount = parse_money(max_amount, field="max_amount")
    if amount < 0:
        raise InvalidInput("max_amount: a limit cannot be negative", field="max_amount")
    if not reason.strip():
        raise InvalidInput("reason: say why the limit changes", field="reason")
    limit, created = ApprovalLimit.objects.select_for_update().get_or_create(
        organization=organization, role=role, kind=kind, defaults={"max_amount": amount}
    )
    old = None if created else limit.max_amount
    limit.max_amount = amount
    mark_change(limit, by=by, reason=reason)
    limit.save(update_fields=["max_amount", "updated_at"])
    event_record(
        organization=organization,
        subject=organization,
        kind="staff.approval_limit.changed",
        summary=f"{ApprovalLimit.Kind(kind).label} limit for {role.label}: {old} → {amount}",
        by=by,
        data={
            "role": role.value,
            "kind": kind,
            "old": None if old is None else str(old),
            "new": str(amount),
            "reason": reason,
        },
    )
    return limit


def approval_limit_for(user: Any, organization: Organization, kind: str) -> Decimal:
    """The most ``user`` may approve alone; zero when no limit is configured for their role."""
    from staff.permissions import role_in

    role = role_in(user, organization)
    if role is None:
        return Decimal("0.00")
    value = (
        ApprovalLimit.objects.filter(organization=organization, role=role, kind=kind)
        .values_list("max_amount", flat=True)
        .first()
    )
    return value if value is not None else Decimal("0.00")


@transaction.atomic(durable=True)
def closure_add(*, organization: Organization, day: date, reason: str, by: User) -> OrganizationClosure:
    _require(
        can_manage_organization(by, organization), "Only an admin of this organization may add closures."
    )
    if not reason.strip():
        raise InvalidInput("reason: say why the office is closed", field="reason")
    closure = OrganizationClosure(organization=organization, date=day, reason=reason.strip())
    mark_change(closure, by=by, reason="closure added")
    _insert(closure, Conflict(f"date: {day:%Y-%m-%d} is already a closure day", field="date"))
    event_record(
        organization=organization,
        subject=organization,
        kind="staff.closure.added",
        summary=f"Closed on {day:%Y-%m-%d}: {closure.reason}",
        by=by,
    )
    return closure


@transaction.atomic(durable=True)
def closure_remove(*, closure: OrganizationClosure, by: User) -> None:
    closure = (
        OrganizationClosure.objects.select_for_update()
        .select_related("organization")
        .filter(pk=closure.pk)
        .first()
    )
    if closure is None:
        raise Conflict("This closure day was removed meanwhile.")
    organization = closure.organization
    _require(
        can_manage_organization(by, organization), "Only an admin of this organization may remove closures."
    )
    mark_change(closure, by=by, reason="closure removed")
    closure.delete()
    event_record(
        organization=organization,
        subject=organization,
        kind="staff.closure.removed",
        summary=f"No longer closed on {closure.date:%Y-%m-%d}",
        by=by,
    )
