"""Reads for the reconciliation pages: the daily report per payer, one payer's day, and the
remittances a deposit could be matched to.

Definitions the report uses (one row per payer and day):

- **deposits**: deposits dated that day; a deposit without a payer counts under the payer of
  the remittance it is matched to;
- **remittances**: payments (835 BPR02) dated that day (BPR16), duplicates left out;
- **posted**: for those payments, Σ claim payments (CLP04) posted - Σ provider-level
  adjustments (PLB) posted: a positive PLB amount is money withheld, a negative one (interest)
  money added, as in BPR02 = Σ CLP04 - Σ PLB;
- **unmatched**: deposits without a remittance, and remittances that paid money without a
  deposit (zero-pay notices expect none);
- **difference**: remittances - posted, the money the payer reports that is not on the
  ledger yet; **bank difference**: deposits - remittances.

Every read runs a fixed number of queries, whatever the number of rows (tests pin them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import BigIntegerField, Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Upper

from claims.models import Claim, ClaimPayment, Deposit, ProviderAdjustment, RemittancePayment
from claims.services.reconciliation import open_payments
from core.money import ZERO
from payers.models import Payer

DEFAULT_DAYS = 7
MAX_DAYS = 92
UNIDENTIFIED = "unidentified"  # the payer "key" of rows whose payer is not on file
CANDIDATES_SHOWN = 20
NEAR_DAYS = 10  # how far apart a deposit and a remittance of the same amount may be dated to be offered


def default_range(today: date) -> tuple[date, date]:
    return today - timedelta(days=DEFAULT_DAYS - 1), today


@dataclass
class ReconciliationRow:
    day: date | None
    payer_id: int | None
    payer_name: str = "Payer not identified"
    payer_reference: Any = None
    deposits_count: int = 0
    deposits_total: Decimal = ZERO
    remittances_count: int = 0
    remittances_total: Decimal = ZERO
    posted_claims: Decimal = ZERO
    posted_adjustments: Decimal = ZERO
    unmatched_deposits_count: int = 0
    unmatched_deposits_total: Decimal = ZERO
    unmatched_remittances_count: int = 0
    unmatched_remittances_total: Decimal = ZERO

    @property
    def posted_total(self) -> Decimal:
        return self.posted_claims - self.posted_adjustments

    @property
    def difference(self) -> Decimal:
        return self.remittances_total - self.posted_total

    @property
    def bank_difference(self) -> Decimal:
        return self.deposits_total - self.remittances_total

    @property
    def payer_key(self) -> str:
        return str(self.payer_reference) if self.payer_reference else UNIDENTIFIED

    @property
    def is_reconciled(self) -> bool:
        return (
            not self.difference
            and not self.bank_difference
            and not self.unmatched_deposits_count
            and not self.unmatched_remittances_count
        )

    def add(self, other: ReconciliationRow) -> None:
        for name in (
            "deposits_count",
            "deposits_total",
            "remittances_count",
            "remittances_total",
            "posted_claims",
            "posted_adjustments",
            "unmatched_deposits_count",
            "unmatched_deposits_total",
            "unmatched_remittances_count",
            "unmatched_remittances_total",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class ReconciliationReport:
    start: date
    end: date
    payer: Payer | None
    rows: list[ReconciliationRow]
    totals: ReconciliationRow = field(default_factory=lambda: ReconciliationRow(day=None, payer_id=None))


def _payer_key_expression() -> Coalesce:
    return Coalesce("payer_id", "payment__payer_id", output_field=BigIntegerField())


def _scoped_deposits(organization: Any, payer: Payer | None) -> QuerySet[Deposit]:
    deposits = Deposit.objects.filter(organization=organization).annotate(payer_key=_payer_key_expression())
    return deposits.filter(payer_key=payer.pk) if payer is not None else deposits


def _counted_payments(organization: Any) -> QuerySet[RemittancePayment]:
    return RemittancePayment.objects.filter(organization=organization).exclude(
        status=RemittancePayment.Status.DUPLICATE
    )


def daily_reconciliation(
    organization: Any, *, start: date, end: date, payer: Payer | None = None
) -> ReconciliationReport:
    """One row per payer and day from ``start`` to ``end``, newest day first; five queries."""
    rows: dict[tuple[date, int | None], ReconciliationRow] = {}

    def row(day: date, payer_id: int | None) -> ReconciliationRow:
        return rows.setdefault((day, payer_id), ReconciliationRow(day=day, payer_id=payer_id))

    unmatched_deposit = Q(payment__isnull=True)
    for values in (
        _scoped_deposits(organization, payer)
        .filter(deposit_date__range=(start, end))
        .values("deposit_date", "payer_key")
        .annotate(
            count=Count("pk"),
            total=Sum("amount"),
            unmatched_count=Count("pk", filter=unmatched_deposit),
            unmatched_total=Sum("amount", filter=unmatched_deposit),
        )
        .order_by()
    ):
        target = row(values["deposit_date"], values["payer_key"])
        target.deposits_count = values["count"]
        target.deposits_total = values["total"] or ZERO
        target.unmatched_deposits_count = values["unmatched_count"]
        target.unmatched_deposits_total = values["unmatched_total"] or ZERO

    payments = _counted_payments(organization).filter(payment_date__range=(start, end))
    if payer is not None:
        payments = payments.filter(payer=payer)
    # The reverse one-to-one join adds at most one row per payment, so sums stay right.
    unmatched_payment = Q(deposit__isnull=True, total_paid__gt=ZERO)
    for values in (
        payments.values("payment_date", "payer_id")
        .annotate(
            count=Count("pk"),
            total=Sum("total_paid"),
            unmatched_count=Count("pk", filter=unmatched_payment),
            unmatched_total=Sum("total_paid", filter=unmatched_payment),
        )
        .order_by()
    ):
        target = row(values["payment_date"], values["payer_id"])
        target.remittances_count = values["count"]
        target.remittances_total = values["total"] or ZERO
        target.unmatched_remittances_count = values["unmatched_count"]
        target.unmatched_remittances_total = values["unmatched_total"] or ZERO

    posted_of_payments = {
        "payment__in": payments.values("pk"),
        "posting": ClaimPayment.Posting.POSTED,
    }
    for values in (
        ClaimPayment.objects.filter(**posted_of_payments)
        .values("payment__payment_date", "payment__payer_id")
        .annotate(total=Sum("paid"))
        .order_by()
    ):
        row(values["payment__payment_date"], values["payment__payer_id"]).posted_claims = (
            values["total"] or ZERO
        )
    for values in (
        ProviderAdjustment.objects.filter(**posted_of_payments)
        .values("payment__payment_date", "payment__payer_id")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        row(values["payment__payment_date"], values["payment__payer_id"]).posted_adjustments = (
            values["total"] or ZERO
        )

    payer_ids = {payer_id for _, payer_id in rows if payer_id is not None}
    payers = {p.pk: p for p in Payer.objects.filter(pk__in=payer_ids).only("pk", "name", "reference")}
    for (_, payer_id), target in rows.items():
        if payer_id in payers:
            target.payer_name = payers[payer_id].name
            target.payer_reference = payers[payer_id].reference
    ordered = sorted(
        rows.values(), key=lambda r: (-r.day.toordinal(), r.payer_id is None, r.payer_name.lower())
    )
    report = ReconciliationReport(start=start, end=end, payer=payer, rows=ordered)
    for target in ordered:
        report.totals.add(target)
    return report


# --- one payer's day ---------------------------------------------------------------------------------


@dataclass
class DayDetail:
    day: date
    payer: Payer | None
    deposits: list[Deposit]
    payments: list[RemittancePayment]
    summary: ReconciliationRow


def _posted_sum(model: type, amount_field: str) -> Coalesce:
    total = (
        model.objects.filter(payment=OuterRef("pk"), posting="posted")
        .order_by()
        .values("payment")
        .annotate(total=Sum(amount_field))
        .values("total")
    )
    return Coalesce(Subquery(total), ZERO)


def with_posted(payments: QuerySet[RemittancePayment]) -> QuerySet[RemittancePayment]:
    """Payments with ``posted_claims`` (Σ CLP04 posted) and ``posted_adjustments`` (Σ PLB posted)."""
    return payments.annotate(
        posted_claims=_posted_sum(ClaimPayment, "paid"),
        posted_adjustments=_posted_sum(ProviderAdjustment, "amount"),
    )


def reconciliation_day(organization: Any, *, day: date, payer: Payer | None) -> DayDetail:
    """The deposits and payments behind one report row, each with its match state; five queries.

    Unmatched deposits carry ``trace_matches``: open payments of the same trace number
    (whatever their amount or date), so a difference in amount shows beside the deposit.
    Unmatched payments carry ``trace_matches`` the other way round.
    """
    payer_id = payer.pk if payer is not None else None
    payer_filter = Q(payer_key=payer_id) if payer_id is not None else Q(payer_key__isnull=True)
    deposits = list(
        Deposit.objects.filter(organization=organization, deposit_date=day)
        .annotate(payer_key=_payer_key_expression())
        .filter(payer_filter)
        .select_related("payer", "payment__file", "payment__payer", "entered_by")
        .order_by("trace_number", "pk")
    )
    payments = list(
        with_posted(
            RemittancePayment.objects.filter(organization=organization, payment_date=day, payer_id=payer_id)
        )
        .select_related("file", "deposit", "payer")
        .order_by("trace_number", "pk")
    )
    _attach_trace_matches(organization, deposits, payments)

    summary = ReconciliationRow(day=day, payer_id=payer_id)
    if payer is not None:
        summary.payer_name, summary.payer_reference = payer.name, payer.reference
    for deposit in deposits:
        summary.deposits_count += 1
        summary.deposits_total += deposit.amount
        if deposit.payment_id is None:
            summary.unmatched_deposits_count += 1
            summary.unmatched_deposits_total += deposit.amount
    for payment in payments:
        # The reverse one-to-one raises when there is no deposit; templates read this instead.
        payment.matched_deposit = getattr(payment, "deposit", None)
        payment.unposted = payment.total_paid - (payment.posted_claims - payment.posted_adjustments)
        if payment.status == RemittancePayment.Status.DUPLICATE:
            continue
        summary.remittances_count += 1
        summary.remittances_total += payment.total_paid
        summary.posted_claims += payment.posted_claims
        summary.posted_adjustments += payment.posted_adjustments
        if payment.total_paid > ZERO and payment.matched_deposit is None:
            summary.unmatched_remittances_count += 1
            summary.unmatched_remittances_total += payment.total_paid
    return DayDetail(day=day, payer=payer, deposits=deposits, payments=payments, summary=summary)


def _attach_trace_matches(
    organization: Any, deposits: list[Deposit], payments: list[RemittancePayment]
) -> None:
    open_deposits = [d for d in deposits if d.payment_id is None]
    open_payment_rows = [
        p
        for p in payments
        if p.status != RemittancePayment.Status.DUPLICATE and p.trace_number and not hasattr(p, "deposit")
    ]
    for deposit in open_deposits:
        deposit.trace_matches = []
    for payment in open_payment_rows:
        payment.trace_matches = []
    if open_deposits:
        by_trace: dict[str, list[RemittancePayment]] = {}
        for candidate in (
            open_payments(organization)
            .annotate(trace_key=Upper("trace_number"))
            .filter(trace_key__in={d.trace_number.upper() for d in open_deposits})
            .order_by("payment_date", "pk")[:200]
        ):
            by_trace.setdefault(candidate.trace_key, []).append(candidate)
        for deposit in open_deposits:
            deposit.trace_matches = [
                _with_difference(p, deposit.amount - p.total_paid)
                for p in by_trace.get(deposit.trace_number.upper(), [])
            ]
    if open_payment_rows:
        by_trace_d: dict[str, list[Deposit]] = {}
        for candidate in (
            Deposit.objects.filter(organization=organization, payment__isnull=True)
            .annotate(trace_key=Upper("trace_number"))
            .filter(trace_key__in={p.trace_number.upper() for p in open_payment_rows})
            .order_by("deposit_date", "pk")[:200]
        ):
            by_trace_d.setdefault(candidate.trace_key, []).append(candidate)
        for payment in open_payment_rows:
            payment.trace_matches = [
                _with_difference(d, d.amount - payment.total_paid)
                for d in by_trace_d.get(payment.trace_number.upper(), [])
            ]


def _with_difference(obj: Any, difference: Decimal) -> Any:
    obj.difference = difference
    return obj


# --- the deposit page ------------------------------------------------------------------------------


def match_candidates(deposit: Deposit, *, trace: str = "") -> list[RemittancePayment]:
    """Open payments a person might match ``deposit`` to, best first; at most ``CANDIDATES_SHOWN``.

    The same trace number (any amount), then the same amount dated within ``NEAR_DAYS`` days
    of the deposit from the same or an unknown payer, plus payments of ``trace`` when a
    person searched for another trace number. One query.
    """
    trace_keys = {deposit.trace_number.upper()}
    if trace.strip():
        trace_keys.add(trace.strip().upper())
    near = Q(
        total_paid=deposit.amount,
        payment_date__range=(
            deposit.deposit_date - timedelta(days=NEAR_DAYS),
            deposit.deposit_date + timedelta(days=NEAR_DAYS),
        ),
    )
    if deposit.payer_id is not None:
        near &= Q(payer_id=deposit.payer_id) | Q(payer__isnull=True)
    candidates = list(
        with_posted(open_payments(deposit.organization))
        .annotate(trace_key=Upper("trace_number"))
        .filter(Q(trace_key__in=trace_keys) | near)
        .select_related("file", "payer")
        .order_by("payment_date", "pk")[: CANDIDATES_SHOWN * 2]
    )
    for candidate in candidates:
        candidate.difference = deposit.amount - candidate.total_paid
        candidate.same_trace = candidate.trace_key == deposit.trace_number.upper()
    candidates.sort(
        key=lambda c: (
            not c.same_trace,
            c.difference != ZERO,
            abs((c.payment_date or deposit.deposit_date) - deposit.deposit_date),
        )
    )
    return candidates[:CANDIDATES_SHOWN]


# --- audits --------------------------------------------------------------------------------------


def claims_by_number(
    organization: Any, payer: Payer, numbers: Iterable[str]
) -> tuple[list[Claim], list[str]]:
    """The payer's claims named by our patient control number or the payer's claim number (ICN),
    as written on an auditor's letter, and the numbers that name none. A number shared by an
    original claim and its corrections names all of them. One query."""
    wanted = {n.strip().upper(): n.strip() for n in numbers if n and n.strip()}
    if not wanted:
        return [], []
    claims = list(
        Claim.objects.filter(organization=organization, payer=payer)
        .annotate(pcn_key=Upper("patient_control_number"), icn_key=Upper("payer_claim_number"))
        .filter(Q(pcn_key__in=wanted) | Q(icn_key__in=wanted))
        .order_by("pk")
    )
    found = {c.pcn_key for c in claims} | {c.icn_key for c in claims}
    return claims, [text for key, text in wanted.items() if key not in found]
