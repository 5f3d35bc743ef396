"""Follow-up rules of the claims app, for the worklists (``worklists.registry``).

- no payer response after the payer rule's follow-up days;
- timely-filing deadline approaching (or just passed) on claims not yet safely with the payer;
- denials, payment variances and posting exceptions still open.

Each rule is a few queries for every organization at once. Priorities move in bands and
reasons quote dates rather than day counts where that is enough, so a refresh rewrites
an item only when something a person would notice changed.

Work on a claim, denial or variance is recorded on the account's timeline with the
claim's reference, like every claim event (the claim page reads them back).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import DateField, ExpressionWrapper, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from accounts.models import PatientAccount
from claims.models import Claim, Denial, PostingException, Variance
from core.money import format_money
from payers.models import AppealLevel, PayerRule
from staff.calendar import calendar_for
from staff.models import Organization
from worklists.registry import Candidate, bounded_priority, due_end_of, register, register_subject, time_zones

# A payer with no rule on file: the common commercial follow-up interval.
DEFAULT_FOLLOW_UP_DAYS = 30
# A denial whose payer has no appeal window on file is worked within this many days.
DEFAULT_DENIAL_DAYS = 30
# Timely filing: raise the work this many business days before the deadline, and keep it
# up for this many calendar days after it passed (file with proof, or write off).
TIMELY_FILING_WARNING_BUSINESS_DAYS = 10
TIMELY_FILING_AFTER_DAYS = 30
# Overpayments and credits: the 60-day report-and-return clock (DOMAIN 5.8).
REFUND_CLOCK_DAYS = 60

WAITING = [Claim.Status.SUBMITTED, Claim.Status.PENDED]
TO_SEND = [Claim.Status.CREATED, Claim.Status.DENIED, Claim.Status.REVERSED]
LIVE_WORK = [Denial.Status.OPEN, Denial.Status.IN_PROGRESS]


def _day(value: date) -> str:
    return f"{value:%m/%d/%Y}"


def _amount_points(amount: Decimal | None, per: int, cap: int) -> int:
    """One point per ``per`` dollars, at most ``cap``: larger amounts come first within a band."""
    return min(cap, int(abs(amount or Decimal("0")) // per))


def _rule_value(field: str, on: str) -> Subquery:
    """``field`` of the payer rule in force on the row's ``on`` date (the newest that started by then)."""
    return Subquery(
        PayerRule.objects.filter(payer=OuterRef("payer"), effective_from__lte=OuterRef(on))
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=OuterRef(on)))
        .order_by("-effective_from")
        .values(field)[:1]
    )


# --- claims waiting for the payer ----------------------------------------------------------------


@register(
    "claims.no_payer_response",
    label="No payer response",
    queue="claim-follow-up",
    queue_name="Claim follow-up",
    description="Claims the payer has not answered within its follow-up days: call or check the portal.",
)
def no_payer_response(organization_ids: list[int], now: datetime) -> Iterator[Candidate]:
    today = timezone.localdate(now)
    zones = time_zones(organization_ids)
    claims = (
        Claim.objects.filter(
            organization_id__in=organization_ids, status__in=WAITING, submitted_on__isnull=False
        )
        .annotate(
            follow_up_days=Coalesce(
                _rule_value("follow_up_days", "service_to"), Value(DEFAULT_FOLLOW_UP_DAYS)
            ),
            # A pended claim's clock restarts at the payer's last answer.
            since=Greatest("submitted_on", Coalesce("last_remittance_on", "submitted_on")),
        )
        .annotate(
            follow_up_on=ExpressionWrapper(F("since") + F("follow_up_days"), output_field=DateField()),
        )
        .filter(follow_up_on__lt=today)
        .select_related("payer")
        .only("id", "organization_id", "patient_control_number", "billed_amount", "status", "payer__name")
    )
    for claim in claims:
        weeks_late = (today - claim.follow_up_on).days // 7
        yield Candidate(
            organization_id=claim.organization_id,
            dedupe_key=f"claims.claim:{claim.pk}",
            subject=claim,
            title=f"No payer response: claim {claim.patient_control_number} · {claim.payer.name}",
            due_at=due_end_of(claim.follow_up_on, zones[claim.organization_id]),
            priority=bounded_priority(
                300 + min(400, 50 * weeks_late) + _amount_points(claim.billed_amount, 50, 200)
            ),
            reason=(
                f"{claim.get_status_display()}; follow-up was due {_day(claim.follow_up_on)} "
                f"({claim.follow_up_days}-day rule), {format_money(claim.billed_amount)} billed"
            ),
        )


@register(
    "claims.timely_filing",
    label="Timely filing deadline",
    queue="claim-follow-up",
    queue_name="Claim follow-up",
    description="Claims to send, or to confirm with the payer, before the timely-filing deadline.",
)
def timely_filing(organization_ids: list[int], now: datetime) -> Iterator[Candidate]:
    """Claims not safely with the payer whose deadline is within the warning period or just passed.

    Not safely with the payer: still to send (created, denied, reversed), or sent without
    any answer yet (the payer may never have received it).
    """
    today = timezone.localdate(now)
    # Ten business days are at most three calendar weeks, holidays and closures included.
    horizon = today + timedelta(days=21)
    claims = list(
        Claim.objects.filter(
            organization_id__in=organization_ids,
            timely_filing_deadline__range=(today - timedelta(days=TIMELY_FILING_AFTER_DAYS), horizon),
        )
        .filter(Q(status__in=TO_SEND) | Q(status__in=WAITING, last_remittance_on__isnull=True))
        .select_related("payer")
        .only(
            "id",
            "organization_id",
            "patient_control_number",
            "timely_filing_deadline",
            "status",
            "payer__name",
        )
    )
    organizations = {o.pk: o for o in Organization.objects.filter(pk__in={c.organization_id for c in claims})}
    calendars = {pk: calendar_for(o, around=today) for pk, o in organizations.items()}
    for claim in claims:
        deadline = claim.timely_filing_deadline
        left = calendars[claim.organization_id].business_days_between(today, deadline)
        if left > TIMELY_FILING_WARNING_BUSINESS_DAYS:
            continue
        if left > 0:
            reason = f"Timely filing ends {_day(deadline)}, in {left} business day{'s' if left != 1 else ''}"
        elif deadline >= today:
            reason = f"Timely filing ends today ({_day(deadline)})"
        else:
            reason = f"Timely filing ended {_day(deadline)}: file with proof of timely filing, or write off"
        yield Candidate(
            organization_id=claim.organization_id,
            dedupe_key=f"claims.claim:{claim.pk}",
            subject=claim,
            title=f"Timely filing: claim {claim.patient_control_number} · {claim.payer.name}",
            due_at=due_end_of(deadline, organizations[claim.organization_id].time_zone),
            priority=bounded_priority(1000 - 60 * max(left, 0)),
            reason=f"{reason} ({claim.get_status_display().lower()})",
        )


# --- what posting leaves for people ------------------------------------------------------------------


@register(
    "claims.denial_to_work",
    label="Denial to work",
    queue="denials",
    queue_name="Denials",
    description="Open denials: correct and resubmit, appeal, or write off, before the appeal window ends.",
)
def denials_to_work(organization_ids: list[int], now: datetime) -> Iterator[Candidate]:
    today = timezone.localdate(now)
    zones = time_zones(organization_ids)
    first_level_days = Subquery(
        AppealLevel.objects.filter(
            rule__payer=OuterRef("payer"), level=1, rule__effective_from__lte=OuterRef("denied_on")
        )
        .filter(Q(rule__effective_to__isnull=True) | Q(rule__effective_to__gte=OuterRef("denied_on")))
        .order_by("-rule__effective_from")
        .values("filing_days")[:1],
        output_field=IntegerField(),
    )
    denials = (
        Denial.objects.filter(organization_id__in=organization_ids, status__in=LIVE_WORK)
        .annotate(appeal_days=first_level_days)
        .select_related("claim", "payer", "claim_payment")
        .only(
            "id",
            "organization_id",
            "denied_on",
            "denied_amount",
            "carc_codes",
            "category",
            "claim__patient_control_number",
            "claim_payment__patient_control_number",
            "payer__name",
        )
    )
    for denial in denials:
        if denial.appeal_days is not None:
            deadline = denial.denied_on + timedelta(days=denial.appeal_days)
            window = f"appeal window ends {_day(deadline)}"
        else:
            deadline = denial.denied_on + timedelta(days=DEFAULT_DENIAL_DAYS)
            window = f"no appeal window on file; work by {_day(deadline)}"
        left = (deadline - today).days
        band = 500 if left < 0 else 900 if left <= 7 else 750 if left <= 14 else 600 if left <= 30 else 450
        if left < 0 and denial.appeal_days is not None:
            window = f"appeal window ended {_day(deadline)}"
        control = (denial.claim.patient_control_number if denial.claim else "") or (
            denial.claim_payment.patient_control_number or "(no claim)"
        )
        codes = "/".join(denial.carc_codes) or denial.get_category_display()
        payer = denial.payer.name if denial.payer else "payer not matched"
        yield Candidate(
            organization_id=denial.organization_id,
            dedupe_key=f"claims.denial:{denial.pk}",
            subject=denial,
            title=f"Denial {codes} · claim {control} · {payer}",
            due_at=due_end_of(deadline, zones[denial.organization_id]),
            priority=bounded_priority(band + _amount_points(denial.denied_amount, 100, 100)),
            reason=f"{denial.get_category_display()}: {window}; {format_money(denial.denied_amount)} denied",
        )


@register(
    "claims.variance_to_work",
    label="Payment variance",
    queue="variances",
    queue_name="Variances",
    description="Underpayments to recover from the payer, and overpayments and credits to refund.",
)
def variances_to_work(organization_ids: list[int], now: datetime) -> Iterator[Candidate]:
    today = timezone.localdate(now)
    zones = time_zones(organization_ids)
    variances = (
        Variance.objects.filter(organization_id__in=organization_ids, status__in=LIVE_WORK)
        .select_related("claim", "payer")
        .only(
            "id",
            "organization_id",
            "kind",
            "identified_on",
            "variance_amount",
            "claim__patient_control_number",
            "payer__name",
        )
    )
    for variance in variances:
        amount = format_money(abs(variance.variance_amount))
        control = variance.claim.patient_control_number if variance.claim else "(no claim)"
        payer = variance.payer.name if variance.payer else "payer not matched"
        if variance.kind == Variance.Kind.UNDERPAYMENT:
            due = variance.identified_on + timedelta(days=30)
            priority = 300 + _amount_points(variance.variance_amount, 25, 400)
            reason = f"Paid {amount} below the contract; identified {_day(variance.identified_on)}"
        else:
            due = variance.identified_on + timedelta(days=REFUND_CLOCK_DAYS)
            age = (today - variance.identified_on).days
            priority = 1000 if age > 60 else 850 if age > 50 else 650 if age > 30 else 400
            reason = (
                f"Refund review: {amount}; the 60-day clock from {_day(variance.identified_on)} "
                f"ends {_day(due)}"
            )
        yield Candidate(
            organization_id=variance.organization_id,
            dedupe_key=f"claims.variance:{variance.pk}",
            subject=variance,
            title=f"{variance.get_kind_display()} {amount} · claim {control} · {payer}",
            due_at=due_end_of(due, zones[variance.organization_id]),
            priority=bounded_priority(priority),
            reason=reason,
        )


@register(
    "claims.posting_exception",
    label="Posting exception",
    queue="posting-exceptions",
    queue_name="Posting exceptions",
    description="Remittance payments held from posting until a person places them.",
)
def posting_exceptions(organization_ids: list[int], now: datetime) -> Iterator[Candidate]:
    today = timezone.localdate(now)
    zones = time_zones(organization_ids)
    exceptions = (
        PostingException.objects.filter(organization_id__in=organization_ids, status__in=LIVE_WORK)
        .select_related("claim_payment", "payment")
        .only(
            "id",
            "organization_id",
            "kind",
            "amount",
            "created_at",
            "claim_payment__patient_control_number",
            "payment__payer_name",
        )
    )
    for exception in exceptions:
        held_since = timezone.localdate(exception.created_at)
        age = max(0, min((today - held_since).days, 15))
        control = (exception.claim_payment.patient_control_number if exception.claim_payment else "") or "—"
        payer = exception.payment.payer_name or "payer"
        yield Candidate(
            organization_id=exception.organization_id,
            dedupe_key=f"claims.posting_exception:{exception.pk}",
            subject=exception,
            title=f"{exception.get_kind_display()} · claim {control} · {payer}",
            due_at=due_end_of(held_since + timedelta(days=3), zones[exception.organization_id]),
            priority=bounded_priority(500 + 20 * age + _amount_points(exception.amount, 100, 200)),
            reason=f"Held from posting since {_day(held_since)}; {format_money(exception.amount)}",
        )


# --- where the work is done and recorded --------------------------------------------------------


def _on_account(account_id: int | None, claim_id: int | None, subject: Any) -> tuple[Any, dict]:
    """The account's timeline, naming the claim as every claim event does; else the subject's own."""
    if account_id is None and claim_id is not None:
        account_id = Claim.objects.filter(pk=claim_id).values_list("account_id", flat=True).first()
    if account_id is None:
        return subject, {}
    data = {}
    if claim_id is not None:
        reference, control = Claim.objects.filter(pk=claim_id).values_list(
            "reference", "patient_control_number"
        )[0]
        data = {"claim": str(reference), "patient_control_number": control}
    return PatientAccount(pk=account_id), data


register_subject(
    Claim,
    url=lambda claim: reverse("claims:claim_detail", args=[claim.reference]),
    timeline=lambda claim: _on_account(claim.account_id, claim.pk, claim),
)
register_subject(
    Denial,
    url=lambda denial: reverse("claims:denial_detail", args=[denial.reference]),
    timeline=lambda denial: _on_account(denial.account_id, denial.claim_id, denial),
)
register_subject(
    Variance,
    url=lambda variance: reverse("claims:variance_detail", args=[variance.reference]),
    timeline=lambda variance: _on_account(variance.account_id, variance.claim_id, variance),
)
register_subject(
    PostingException,
    url=lambda exception: reverse("claims:exception_detail", args=[exception.reference]),
    timeline=lambda exception: _on_account(
        exception.claim_payment.account_id if exception.claim_payment_id else None,
        exception.claim_payment.claim_id if exception.claim_payment_id else None,
        exception,
    ),
)
