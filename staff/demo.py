"""Demo organizations and people for local runs (``manage.py seed_demo``).

Passwords are published in the README, which is why the command refuses to run with
``DJANGO_DEBUG`` off.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from core.timeline import event_record
from staff.models import ApprovalLimit, Membership, Organization, OrganizationClosure, Role, Team, User

ORGANIZATIONS = [
    # slug, name, kind, time zone, team
    (
        "riverside",
        "Riverside General Hospital",
        Organization.Kind.HOSPITAL,
        "America/Chicago",
        "Patient accounts",
    ),
    (
        "corner-drug",
        "Corner Drug Pharmacy",
        Organization.Kind.PHARMACY,
        "America/New_York",
        "Pharmacy billing",
    ),
    (
        "summit-ma",
        "Summit Medicare Advantage Plan",
        Organization.Kind.HEALTH_PLAN,
        "America/Denver",
        "Member services",
    ),
]

# email, name, role, organizations (slugs). Several people work for more than one
# client, as they do at an outsourcing vendor, so the organization switcher has work.
PEOPLE = [
    ("rep@demo.pfs.test", "Rosa Ramirez", Role.REPRESENTATIVE, ["riverside", "summit-ma"]),
    ("senior@demo.pfs.test", "Sam Okafor", Role.SENIOR_REPRESENTATIVE, ["riverside", "corner-drug"]),
    ("posting@demo.pfs.test", "Priya Natarajan", Role.POSTING_SPECIALIST, ["riverside", "corner-drug"]),
    ("appeals@demo.pfs.test", "Alex Chen", Role.APPEALS_COORDINATOR, ["summit-ma", "riverside"]),
    (
        "supervisor@demo.pfs.test",
        "Dana Whitfield",
        Role.SUPERVISOR,
        ["riverside", "corner-drug", "summit-ma"],
    ),
    ("admin@demo.pfs.test", "Morgan Lee", Role.ADMIN, ["riverside", "corner-drug", "summit-ma"]),
]
OPERATOR = ("operator@demo.pfs.test", "Platform Operator")

LIMITS = {
    # role: (write-off, refund, adjustment)
    Role.REPRESENTATIVE: ("25.00", "0.00", "50.00"),
    Role.SENIOR_REPRESENTATIVE: ("250.00", "100.00", "500.00"),
    Role.POSTING_SPECIALIST: ("100.00", "250.00", "1000.00"),
    Role.APPEALS_COORDINATOR: ("0.00", "0.00", "0.00"),
    Role.SUPERVISOR: ("5000.00", "2500.00", "10000.00"),
    Role.ADMIN: ("25000.00", "10000.00", "50000.00"),
}


def demo_present() -> bool:
    return Organization.objects.filter(slug=ORGANIZATIONS[0][0]).exists()


def login_table() -> list[tuple[str, str, str, str]]:
    rows = []
    for email, _name, role, slugs in PEOPLE:
        names = ", ".join(
            Organization.objects.filter(slug__in=slugs).order_by("name").values_list("name", flat=True)
        )
        rows.append((role.label, email, settings.DEMO_PASSWORD, names))
    rows.append(("Platform operator (Django admin)", OPERATOR[0], settings.DEMO_PASSWORD, "all three"))
    return rows


@transaction.atomic
def seed() -> None:
    password = settings.DEMO_PASSWORD
    organizations: dict[str, Organization] = {}
    for slug, name, kind, tz, team_name in ORGANIZATIONS:
        org = Organization.objects.create(slug=slug, name=name, kind=kind, time_zone=tz)
        Team.objects.create(organization=org, name=team_name)
        for role, amounts in LIMITS.items():
            for kind_value, amount in zip(ApprovalLimit.Kind.values, amounts, strict=True):
                ApprovalLimit.objects.create(
                    organization=org, role=role, kind=kind_value, max_amount=Decimal(amount)
                )
        OrganizationClosure.objects.create(
            organization=org, date=date(2026, 11, 27), reason="Day after Thanksgiving"
        )
        OrganizationClosure.objects.create(organization=org, date=date(2026, 12, 24), reason="Christmas Eve")
        event_record(
            organization=org,
            subject=org,
            kind="staff.organization.created",
            summary=f"Demo organization {name} created",
        )
        organizations[slug] = org

    operator = User.objects.create_superuser(email=OPERATOR[0], password=password, full_name=OPERATOR[1])
    for org in organizations.values():
        Membership.objects.create(user=operator, organization=org, role=Role.ADMIN)
    for email, name, role, slugs in PEOPLE:
        user = User.objects.create_user(email=email, password=password, full_name=name)
        for slug in slugs:
            org = organizations[slug]
            team = org.teams.first() if role != Role.ADMIN else None
            Membership.objects.create(user=user, organization=org, role=role, team=team)
