"""Follow-up rules of the accounts app, for the worklists (``worklists.registry``).

- credit balances to review, on the 60-day clock that starts the day a credit is
  identified (DOMAIN 5.8: report and return Medicare and Medicaid overpayments within 60
  days; other credits by policy);
- coverage to verify before the patient is sent a statement: an active coverage never
  verified, or last verified more than 90 days ago, on an account whose patient owes a
  balance and whose next statement is due.

Both are a single query each over every organization asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from accounts.models import Coverage, FinancialClass, Language, Patient, PatientAccount
from core.money import format_money
from worklists.registry import Candidate, bounded_priority, due_end_of, register, register_subject, time_zones

REFUND_CLOCK_DAYS = 60
GOVERNMENT = {
    FinancialClass.MEDICARE,
    FinancialClass.MEDICARE_ADVANTAGE,
    FinancialClass.MEDICAID,
    FinancialClass.MEDICAID_MANAGED_CARE,
    FinancialClass.TRICARE_VA,
}
VERIFICATION_VALID_DAYS = 90
STATEMENT_INTERVAL_DAYS = 30
# A never-verified coverage is due for verification this many days after the account opened.
FIRST_VERIFICATION_DAYS = 5
# Languages whose speakers a queue member must share to call the patient ("lang:es").
NO_SKILL_LANGUAGES = {Language.ENGLISH, Language.OTHER, ""}


def _day(value) -> str:
    return f"{value:%m/%d/%Y}"


def _language_skills(language: str) -> tuple[str, ...]:
    return () if language in NO_SKILL_LANGUAGES else (f"lang:{language}",)


@register(
    "accounts.credit_balance",
    label="Credit balance to review",
    queue="credit-balances",
    queue_name="Credit balances",
    description="Accounts with a credit: refund it, apply it or move it, within the 60-day clock.",
)
def credit_balances(organization_ids: list[int], now: datetime) -> Iterator[Candidate]:
    today = timezone.localdate(now)
    zones = time_zones(organization_ids)
    accounts = PatientAccount.objects.filter(
        organization_id__in=organization_ids, credit_identified_on__isnull=False
    ).only("id", "organization_id", "account_number", "balance", "credit_identified_on", "financial_class")
    for account in accounts:
        identified = account.credit_identified_on
        age = (today - identified).days
        ends = identified + timedelta(days=REFUND_CLOCK_DAYS)
        if account.financial_class in GOVERNMENT:
            band = 1000 if age > 60 else 900 if age > 50 else 700 if age > 30 else 450
            clock = f"the 60-day report-and-return clock ends {_day(ends)}"
        else:
            band = 700 if age > 60 else 500 if age > 30 else 300
            clock = f"refund by policy; 60 days from identification is {_day(ends)}"
        yield Candidate(
            organization_id=account.organization_id,
            dedupe_key=f"accounts.account:{account.pk}",
            subject=account,
            title=f"Credit balance · account {account.account_number} ({format_money(account.balance)})",
            due_at=due_end_of(ends, zones[account.organization_id]),
            priority=bounded_priority(band + min(100, int(abs(account.balance) // 50))),
            reason=f"Credit identified {_day(identified)} ({account.get_financial_class_display()}); {clock}",
        )


@register(
    "accounts.coverage_unverified",
    label="Coverage to verify before a statement",
    queue="coverage-verification",
    queue_name="Coverage verification",
    description="Patients due a statement whose active coverage was never verified, or not for 90 days.",
)
def coverage_unverified(organization_ids: list[int], now: datetime) -> Iterator[Candidate]:
    today = timezone.localdate(now)
    zones = time_zones(organization_ids)
    stale = now - timedelta(days=VERIFICATION_VALID_DAYS)
    # The patient's active coverages that need a check, the stalest (never verified) first.
    unverified = (
        Coverage.objects.filter(patient_id=OuterRef("patient_id"), is_active=True, effective_from__lte=today)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=today))
        .filter(Q(verified_at__isnull=True) | Q(verified_at__lt=stale))
        .order_by(F("verified_at").asc(nulls_first=True), "priority", "id")
    )
    accounts = (
        PatientAccount.objects.filter(
            organization_id__in=organization_ids,
            status__in=[PatientAccount.Status.OPEN, PatientAccount.Status.SELF_PAY],
            patient_balance__gt=Decimal("0.00"),
        )
        # The next statement is due: none sent yet, or the last one a statement cycle ago.
        .filter(
            Q(last_statement_on__isnull=True)
            | Q(last_statement_on__lte=today - timedelta(days=STATEMENT_INTERVAL_DAYS))
        )
        .filter(Exists(unverified))
        .annotate(
            stalest_verified_at=Subquery(unverified.values("verified_at")[:1]),
            stalest_priority=Subquery(unverified.values("priority")[:1]),
            language=F("patient__preferred_language"),
        )
        .only(
            "id", "organization_id", "account_number", "patient_balance", "created_at", "first_statement_on"
        )
    )
    for account in accounts:
        which = Coverage.Priority(account.stalest_priority).label
        verified_at = account.stalest_verified_at
        if verified_at is None:
            due = timezone.localdate(account.created_at) + timedelta(days=FIRST_VERIFICATION_DAYS)
            priority, state = 600, f"{which} coverage never verified"
        else:
            due = timezone.localdate(verified_at) + timedelta(days=VERIFICATION_VALID_DAYS)
            months_stale = (now - verified_at).days // 30
            priority, state = (
                350 + min(200, 25 * months_stale),
                f"{which} coverage last verified {_day(verified_at)}",
            )
        if account.first_statement_on is None:
            priority += 100
            state += "; first statement not yet sent"
        yield Candidate(
            organization_id=account.organization_id,
            dedupe_key=f"accounts.account:{account.pk}",
            subject=account,
            title=f"Verify coverage before the statement · account {account.account_number}",
            due_at=due_end_of(due, zones[account.organization_id]),
            priority=bounded_priority(priority + min(100, int(account.patient_balance // 25))),
            reason=f"{state}; {format_money(account.patient_balance)} patient balance",
            skills=_language_skills(account.language),
        )


register_subject(
    PatientAccount, url=lambda account: reverse("accounts:account_detail", args=[account.reference])
)
register_subject(Patient, url=lambda patient: reverse("accounts:patient_detail", args=[patient.reference]))
