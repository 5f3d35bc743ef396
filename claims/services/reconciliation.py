"""Bank deposits (EFT or check) and their match to the remittance that announced them.

A deposit matches a remittance payment when their trace numbers (TRN02: the EFT trace or
check number) are the same, ignoring case, and the amounts are equal; when both name a
payer, it must be the same payer. Matching is one to one (``Deposit.payment`` is unique).
A deposit whose trace matches but whose amount differs stays unmatched: the difference
is what the reconciliation report and the deposit page show, and a person decides
(``deposit_match`` with a reason).

Locks are always taken deposits first, then payments, each in primary-key order, so the
automatic matcher, manual matches and imports never wait on each other in a circle.
Trace numbers are stored stripped and in capitals, so "the same deposit" means the same
thing to the unique constraint (organization, trace, date, amount) and to matching.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Upper
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from claims import deposit_import
from claims.deposit_import import clean_deposit_amount, clean_method, clean_trace_number
from claims.models import Deposit, RemittancePayment
from claims.permissions import can_reconcile_deposits
from claims.services.claims import clean_filename, required_reason
from core.audit import current_actor, current_request_id, mark_change, system_user
from core.csvimport import CsvRejected, RowError
from core.errors import Conflict, InvalidInput, InvalidTransition
from core.models import TimelineEvent
from core.money import ZERO, format_money
from core.timeline import event_record, mask_secrets
from payers.models import Payer
from staff.permissions import require

AUTO_MATCH_REASON = "matched by trace number and amount"


# --- checks shared with the CSV import ------------------------------------------------------------


def organization_today(organization: Any) -> date:
    """Today in the organization's time zone: what "a deposit dated in the future" is measured against."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(organization.time_zone))


def clean_deposit_date(value: date | None, organization: Any, field: str = "deposit_date") -> date:
    if value is None:
        raise InvalidInput(f"{field}: enter the date the money reached the bank", field=field)
    if value > organization_today(organization):
        raise InvalidInput(f"{field}: {value:%Y-%m-%d} is in the future", field=field)
    return value


def _check_payer(organization: Any, payer: Any) -> None:
    if payer is not None and payer.organization_id != organization.pk:
        raise InvalidInput("payer: belongs to another organization", field="payer")


# --- matching ------------------------------------------------------------------------------------


def open_payments(organization: Any) -> QuerySet[RemittancePayment]:
    """Payments a deposit could still match: money was paid, not a duplicate, no deposit yet."""
    return (
        RemittancePayment.objects.filter(organization=organization, total_paid__gt=ZERO)
        .exclude(status=RemittancePayment.Status.DUPLICATE)
        .exclude(trace_number="")
        .filter(~Exists(Deposit.objects.filter(payment_id=OuterRef("pk"))))
    )


def _payers_agree(deposit: Deposit, payment: RemittancePayment) -> bool:
    return deposit.payer_id is None or payment.payer_id is None or deposit.payer_id == payment.payer_id


def _pair(deposits: list[Deposit], organization: Any, by: Any) -> list[Deposit]:
    """Match locked, unmatched ``deposits`` to open payments by trace and amount; saves and records.

    Several deposits of one trace and amount (a check number reused a year later) pair with
    payments of that trace and amount in date order. Returns the deposits matched.
    """
    traces = {d.trace_number.upper() for d in deposits}
    if not traces:
        return []
    payments = list(
        open_payments(organization)
        .annotate(trace_key=Upper("trace_number"))
        .filter(trace_key__in=traces)
        .select_for_update(no_key=True, of=("self",))
        .order_by("pk")
    )
    if not payments:
        return []
    # The NOT EXISTS above was read before the locks were granted: a payment matched by a
    # transaction that committed while we waited would look open. Read again, now.
    taken = set(
        Deposit.objects.filter(payment_id__in=[p.pk for p in payments]).values_list("payment_id", flat=True)
    )
    pools: dict[tuple[str, Decimal], list[RemittancePayment]] = defaultdict(list)
    for payment in sorted(payments, key=lambda p: (p.payment_date or date.max, p.pk)):
        if payment.pk not in taken:
            pools[(payment.trace_key, payment.total_paid)].append(payment)

    now = timezone.now()
    matched = []
    for deposit in sorted(deposits, key=lambda d: (d.deposit_date, d.pk)):
        pool = pools.get((deposit.trace_number.upper(), deposit.amount), [])
        payment = next((p for p in pool if _payers_agree(deposit, p)), None)
        if payment is None:
            continue
        pool.remove(payment)
        mark_change(deposit, by=by, reason=AUTO_MATCH_REASON)
        deposit.payment = payment
        deposit.matched_at = now
        deposit.updated_at = now
        matched.append(deposit)
    if not matched:
        return []
    bulk_update_with_history(
        matched,
        Deposit,
        ["payment", "matched_at", "updated_at"],
        default_user=by,
        default_change_reason=AUTO_MATCH_REASON,
        custom_historical_attrs={"request_id": current_request_id()},
    )
    _record_events(
        organization,
        matched,
        kind="claims.deposit.matched",
        by=by,
        summary=lambda d: (
            f"Matched to the remittance {d.payment.trace_number} of "
            f"{format_money(d.payment.total_paid)}{_paid_on(d.payment)} (trace number and amount)"
        ),
        data=lambda d: {"payment": str(d.payment.reference), "how": "automatic"},
    )
    return matched


def _paid_on(payment: RemittancePayment) -> str:
    return f" paid {payment.payment_date:%m/%d/%Y}" if payment.payment_date else ""


def _record_events(
    organization: Any, deposits: Iterable[Deposit], *, kind: str, by: Any, summary: Any, data: Any
) -> None:
    """One timeline event per deposit, in one insert (``event_record`` writes one row per call)."""
    subject_type = ContentType.objects.get_for_model(Deposit)
    actor = by if getattr(by, "is_authenticated", False) else None
    request_id = current_request_id()
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            organization_id=organization.pk,
            subject_type=subject_type,
            subject_id=deposit.pk,
            kind=kind,
            summary=summary(deposit)[:300],
            actor=actor,
            data=mask_secrets(data(deposit)),
            request_id=request_id,
        )
        for deposit in deposits
    )


@transaction.atomic
def deposit_match_pending(*, organization: Any, by: Any = None) -> int:
    """Match every unmatched deposit of ``organization`` that an open payment now explains.

    Set-based: a fixed handful of queries however many deposits wait. Runs inside the
    caller's transaction when there is one (the 835 import calls it after storing the
    payments), in its own otherwise; hence not ``durable``. The actor recorded is ``by``,
    else the audit context's actor, else the system user. Returns how many were matched.
    """
    open_traces = open_payments(organization).annotate(trace_key=Upper("trace_number")).values("trace_key")
    deposits = list(
        Deposit.objects.filter(organization=organization, payment__isnull=True)
        .annotate(trace_key=Upper("trace_number"))
        .filter(trace_key__in=open_traces)
        .select_for_update(no_key=True)
        .order_by("pk")
    )
    if not deposits:
        return 0
    actor = by or current_actor() or system_user()
    return len(_pair(deposits, organization, actor))


# --- one deposit -----------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def deposit_create(
    *,
    organization: Any,
    deposit_date: date,
    amount: Decimal | str,
    trace_number: str,
    by: Any,
    payer: Any = None,
    method: str = Deposit.Method.EFT,
    bank_reference: str = "",
    notes: str = "",
) -> Deposit:
    """Record a deposit entered by hand, then match it if an open payment explains it.

    Raises ``Conflict`` when a deposit of the same trace, date and amount is already recorded.
    """
    require(
        can_reconcile_deposits(by, organization),
        "Only posting specialists, supervisors and admins record deposits.",
    )
    _check_payer(organization, payer)
    deposit = Deposit(
        organization=organization,
        payer=payer,
        deposit_date=clean_deposit_date(deposit_date, organization),
        amount=clean_deposit_amount(amount),
        trace_number=clean_trace_number(trace_number),
        method=clean_method(method),
        bank_reference=(bank_reference or "").strip()[:80],
        notes=(notes or "").strip()[:300],
        source=Deposit.Source.MANUAL,
        entered_by=by,
    )
    mark_change(deposit, by=by, reason="deposit entered")
    try:
        with transaction.atomic(savepoint=True):
            deposit.save()
    except IntegrityError:
        raise Conflict(
            f"trace_number: a deposit {deposit.trace_number} of {format_money(deposit.amount)} on "
            f"{deposit.deposit_date:%m/%d/%Y} is already recorded",
            field="trace_number",
        ) from None
    event_record(
        organization=organization,
        subject=deposit,
        kind="claims.deposit.created",
        summary=f"Deposit {deposit.trace_number} of {format_money(deposit.amount)} entered",
        by=by,
        data={"source": deposit.source, "method": deposit.method},
    )
    _pair([deposit], organization, by)
    return deposit


def _lock_deposit(deposit: Deposit) -> Deposit:
    deposit.refresh_from_db(from_queryset=Deposit.objects.select_for_update(no_key=True))
    return deposit


@transaction.atomic(durable=True)
def deposit_match(*, deposit: Deposit, payment: RemittancePayment, by: Any, reason: str) -> Deposit:
    """Match a deposit to a payment by hand: a different trace or amount is allowed, with a reason.

    Raises ``InvalidTransition`` when the deposit is already matched, ``Conflict`` when the
    payment already has a deposit, ``InvalidInput`` for a duplicate payment or another
    organization's.
    """
    _lock_deposit(deposit)
    require(
        can_reconcile_deposits(by, deposit),
        "Only posting specialists, supervisors and admins match deposits.",
    )
    reason = required_reason(reason, record="deposit")
    if payment.organization_id != deposit.organization_id:
        raise InvalidInput("payment: belongs to another organization", field="payment")
    payment.refresh_from_db(from_queryset=RemittancePayment.objects.select_for_update(no_key=True))
    if deposit.payment_id is not None:
        raise InvalidTransition(
            "This deposit is already matched to a remittance; unmatch it first.", field="payment"
        )
    if payment.status == RemittancePayment.Status.DUPLICATE:
        raise InvalidInput(
            "payment: this remittance is a duplicate of an earlier one; match the original", field="payment"
        )
    other = Deposit.objects.filter(payment=payment).first()
    if other is not None:
        raise Conflict(
            f"payment: this remittance is already matched to the deposit {other.trace_number} of "
            f"{format_money(other.amount)} on {other.deposit_date:%m/%d/%Y}",
            field="payment",
        )
    deposit.payment = payment
    deposit.matched_at = timezone.now()
    mark_change(deposit, by=by, reason=reason)
    try:
        with transaction.atomic(savepoint=True):
            deposit.save(update_fields=["payment", "matched_at", "updated_at"])
    except IntegrityError:
        raise Conflict(
            "payment: this remittance was just matched to another deposit", field="payment"
        ) from None
    difference = deposit.amount - payment.total_paid
    summary = (
        f"Matched by hand to the remittance {payment.trace_number or '(no trace)'} of "
        f"{format_money(payment.total_paid)}"
    )
    if difference:
        summary += f"; the deposit differs by {format_money(difference)}"
    event_record(
        organization=deposit.organization,
        subject=deposit,
        kind="claims.deposit.matched",
        summary=summary,
        by=by,
        data={
            "payment": str(payment.reference),
            "how": "manual",
            "reason": reason,
            "difference": str(difference),
        },
    )
    return deposit


@transaction.atomic(durable=True)
def deposit_unmatch(*, deposit: Deposit, by: Any, reason: str) -> Deposit:
    """Undo a match (automatic or by hand); the deposit and the payment are open again."""
    _lock_deposit(deposit)
    require(
        can_reconcile_deposits(by, deposit),
        "Only posting specialists, supervisors and admins unmatch deposits.",
    )
    reason = required_reason(reason, record="deposit")
    if deposit.payment_id is None:
        raise InvalidTransition("This deposit is not matched to a remittance.", field="payment")
    payment = deposit.payment
    deposit.payment = None
    deposit.matched_at = None
    mark_change(deposit, by=by, reason=reason)
    deposit.save(update_fields=["payment", "matched_at", "updated_at"])
    event_record(
        organization=deposit.organization,
        subject=deposit,
        kind="claims.deposit.unmatched",
        summary=f"Unmatched from the remittance {payment.trace_number or '(no trace)'} of "
        f"{format_money(payment.total_paid)}",
        by=by,
        data={"payment": str(payment.reference), "reason": reason},
    )
    return deposit


# --- bank files -------------------------------------------------------------------------------------


@dataclass
class DepositImportResult:
    """What an import did: rows in the file, deposits added, rows already recorded, deposits matched."""

    filename: str
    rows: int = 0
    created: int = 0
    existing: int = 0
    matched: int = 0

    @property
    def summary(self) -> str:
        return (
            f"{self.created} deposit{'s' if self.created != 1 else ''} added, "
            f"{self.existing} already recorded, {self.matched} matched to a remittance"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "rows": self.rows,
            "created": self.created,
            "existing": self.existing,
            "matched": self.matched,
        }


@transaction.atomic(durable=True)
def deposit_import_csv(*, organization: Any, data: bytes, by: Any, filename: str = "") -> DepositImportResult:
    """Import a bank deposit CSV (``claims.deposit_import`` describes it): everything or nothing.

    The whole file is checked first; any problem raises ``core.csvimport.CsvRejected``
    listing every one with its line and column, and nothing is written. A row whose
    deposit (trace, date, amount) is already recorded counts as existing, so importing a
    file twice adds nothing. New deposits are matched to open payments at once.
    """
    require(
        can_reconcile_deposits(by, organization),
        "Only posting specialists, supervisors and admins import deposits.",
    )
    filename = clean_filename(filename, default="deposits.csv")
    if len(data) > deposit_import.MAX_FILE_BYTES:
        limit = deposit_import.MAX_FILE_BYTES // (1024 * 1024)
        raise CsvRejected([RowError(0, "", f"the file is larger than {limit} MB; split it")])
    rows, errors = deposit_import.parse_rows(data, today=organization_today(organization))
    errors += deposit_import.duplicate_errors(rows)
    keys = deposit_import.payer_keys(rows)
    payers = (
        Payer.objects.in_organization(organization)
        .annotate(edi_key=Upper("edi_payer_id"), name_key=Upper("name"))
        .filter(Q(edi_key__in=keys) | Q(name_key__in=keys))
        if keys
        else []
    )
    payer_of, payer_errors = deposit_import.resolve_payers(rows, payers)
    errors += payer_errors
    if errors:
        raise CsvRejected(deposit_import.in_file_order(errors))

    existing = set(
        Deposit.objects.filter(
            organization=organization, trace_number__in={row.trace_number for row in rows}
        ).values_list("trace_number", "deposit_date", "amount")
    )
    result = DepositImportResult(filename=filename, rows=len(rows))
    new = []
    for row in rows:
        if row.key in existing:
            result.existing += 1
            continue
        new.append(
            Deposit(
                organization=organization,
                payer=payer_of.get(row.line),
                deposit_date=row.deposit_date,
                amount=row.amount,
                trace_number=row.trace_number,
                method=row.method,
                bank_reference=row.bank_reference,
                source=Deposit.Source.CSV,
                entered_by=by,
            )
        )
    if not new:
        return result
    try:
        with transaction.atomic(savepoint=True):
            bulk_create_with_history(
                new,
                Deposit,
                batch_size=1000,
                default_user=by,
                default_change_reason=f"imported from {filename}"[:100],
                custom_historical_attrs={"request_id": current_request_id()},
            )
    except IntegrityError:
        raise Conflict(
            "Some of these deposits were recorded by someone else while the file was being imported; "
            "upload it again (deposits already recorded are skipped)."
        ) from None
    result.created = len(new)
    _record_events(
        organization,
        new,
        kind="claims.deposit.created",
        by=by,
        summary=lambda d: f"Deposit {d.trace_number} of {format_money(d.amount)} imported from {filename}",
        data=lambda d: {"source": d.source, "method": d.method, "filename": filename},
    )
    result.matched = len(_pair(new, organization, by))
    return result
