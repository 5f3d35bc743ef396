"""Demo case work (``manage.py seed_demo``), made after the demo accounts through the real services.

Each demo organization gets a department directory, a general call script and one for
self-pay balances, a QA scorecard and the standard benefit-results letter, written by its
demo admin. Then a few cases on its accounts, each showing one part of the day: a pended
case whose follow-up is due today, a complaint waiting in the appeals & grievances queue,
a callback owed within the hour, an email waiting for an answer, and a resolved case.

An organization that already has departments is skipped: a second run creates nothing.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import PatientAccount
from core.audit import system_user
from inquiries.models import Case, Department
from inquiries.services import benefits, cases, email, qa, routing, scripts
from staff import demo as staff_demo
from staff.calendar import calendar_for
from staff.models import Membership, Organization, Role, User

DEPARTMENTS = [
    (
        "Utilization management",
        Department.Kind.UTILIZATION_MANAGEMENT,
        "8005550110",
        "Providers only: prior authorizations",
    ),
    ("Clinical staff", Department.Kind.CLINICAL, "8005550120", "Questions about care, not bills"),
    ("Appeals & grievances", Department.Kind.APPEALS_GRIEVANCES, "8005550130", "Every grievance and appeal"),
    (
        "Financial assistance",
        Department.Kind.FINANCIAL_ASSISTANCE,
        "8005550140",
        "Applications and screening",
    ),
    ("Supervisor line", Department.Kind.SUPERVISOR, "8005550150", "Escalations the rep cannot resolve"),
]
HOURS = "Mon-Fri 8 a.m. to 5 p.m."

GENERAL_SCRIPT = """Thank the caller for calling and give your first name.
!Tell the caller the call may be recorded for quality and training.
Ask who is calling and their relationship to the patient.
Verify the caller before you discuss the account (the case page checks the answers).
Listen to the question and repeat it back.
Explain the next step and when the caller will hear from us.
!Offer free interpreter services and tell the caller about financial assistance."""

SELF_PAY_SCRIPT = """Greet the caller and give your first name.
!Tell the caller the call may be recorded for quality and training.
Verify the caller before you discuss the balance.
State the balance and what it is for.
!Tell the caller about financial assistance and how to apply, free of charge.
Offer to pay today or set up a payment plan.
Confirm the mailing address and the best number to call back."""

SCORECARD = """15 Greeted the caller and gave their name
!30 Verified the caller before disclosing account details
!15 Read the required disclosures of the script
20 Answered the question correctly
10 Explained the next step
10 Logged the contact completely"""


def _member(organization: Organization, role: str) -> User | None:
    membership = (
        Membership.objects.filter(organization=organization, role=role, is_active=True)
        .select_related("user")
        .order_by("user__email")
        .first()
    )
    return membership.user if membership else None


def _worker(organization: Organization) -> User | None:
    for role in (Role.REPRESENTATIVE, Role.SENIOR_REPRESENTATIVE, Role.SUPERVISOR):
        user = _member(organization, role)
        if user is not None:
            return user
    return None


def seed_organization(organization: Organization) -> int:
    """Directory, scripts, scorecard, letter and demo cases; returns how many cases were opened."""
    if Department.objects.filter(organization=organization).exists():
        return 0
    admin = _member(organization, Role.ADMIN)
    worker = _worker(organization)
    if admin is None or worker is None:
        return 0
    for name, kind, phone, notes in DEPARTMENTS:
        routing.department_create(
            organization=organization, name=name, kind=kind, phone=phone, hours=HOURS, notes=notes, by=admin
        )
    scripts.script_create(
        organization=organization, name="General call", category="", steps=GENERAL_SCRIPT, by=admin
    )
    scripts.script_create(
        organization=organization,
        name="Self-pay balance",
        category="payment",
        steps=SELF_PAY_SCRIPT,
        by=admin,
    )
    qa.scorecard_create(organization=organization, name="Inbound calls", criteria=SCORECARD, by=admin)
    benefits.benefit_templates_install(organization=organization, by=admin)
    return _seed_cases(organization, worker)


def _seed_cases(organization: Organization, worker: User) -> int:
    accounts = list(
        PatientAccount.objects.filter(organization=organization).select_related("patient").order_by("pk")[:4]
    )
    if len(accounts) < 4:
        return 0
    now = timezone.now()
    zone = zoneinfo.ZoneInfo(organization.time_zone)
    calendar = calendar_for(organization)
    today = timezone.localtime(now, zone).date()
    opened = 0

    # Pended two weeks ago until the last business day: due for follow-up now.
    earlier = datetime.combine(today - timedelta(days=14), time(10, 0), tzinfo=zone)
    due = calendar.add_business_days(today, -1)
    pended = _open(
        organization, worker, accounts[0], "billing_question", "Asks why insurance has not paid", earlier
    )
    cases.case_pend(
        case=pended,
        follow_up_on=due,
        reason="Waiting for the payer to reprocess the claim",
        by=worker,
        now=earlier,
    )
    opened += 1

    _open(
        organization,
        worker,
        accounts[1],
        "complaint_grievance",
        "Unhappy with the wait on the phone and the bill",
        now,
    )
    opened += 1

    callback_case = _open(organization, worker, accounts[2], "payment_plan", "Wants a payment plan", now)
    phone = accounts[2].patient.phone or "3125550100"
    cases.callback_request(
        case=callback_case, requested_for=now + timedelta(minutes=30), phone=phone, by=worker
    )
    opened += 1

    writer = (
        PatientAccount.objects.filter(organization=organization)
        .exclude(patient__email="")
        .exclude(pk__in=[a.pk for a in accounts])
        .select_related("patient")
        .order_by("pk")
        .first()
    )
    if writer is not None:
        patient = writer.patient
        raw = (
            f"Message-ID: <demo-{organization.slug}-1@example.com>\r\n"
            f"From: {patient.full_name} <{patient.email}>\r\n"
            "Subject: Itemized statement please\r\n\r\nCould you send me an itemized statement?\r\n"
        ).encode()
        # Five days ago: past its reply service level whatever the weekday.
        email.email_receive(organization=organization, raw=raw, by=system_user(), now=now - timedelta(days=5))
        opened += 1

    done = _open(organization, worker, accounts[3], "claim_status", "Claim status for the last visit", now)
    cases.interaction_log(
        case=done,
        by=worker,
        direction="inbound",
        channel="phone_inbound",
        relationship="self",
        outcome="reached",
        person_contacted=accounts[3].patient.full_name,
        notes="Explained the claim is with the payer.",
    )
    cases.case_resolve(case=done, resolution="Explained the claim status", by=worker)
    opened += 1
    return opened


def _open(
    organization: Organization,
    worker: User,
    account: PatientAccount,
    category: str,
    summary: str,
    now: datetime,
) -> Case:
    return cases.case_open(
        organization=organization,
        by=worker,
        channel="phone_inbound",
        category=category,
        caller_type="patient",
        summary=summary,
        account=account,
        now=now,
    )


def seed() -> int:
    """Seed case work in every demo organization that has none; returns how many cases were opened."""
    slugs = [row[0] for row in staff_demo.ORGANIZATIONS]
    return sum(
        seed_organization(organization) for organization in Organization.objects.filter(slug__in=slugs)
    )
