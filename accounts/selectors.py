"""What the account workspace shows, read in a fixed number of queries whatever the ledger's size."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounts.aging import BANDS, account_aging
from accounts.models import (
    ZERO,
    AccountBucket,
    AdjustmentRequest,
    AuthorizedContact,
    Charge,
    ChargeEdit,
    Coverage,
    LedgerEntry,
    Patient,
    PatientAccount,
)
from core.models import TimelineEvent

LEDGER_PAGE = 100
CHARGES_SHOWN = 100
TIMELINE_SHOWN = 50


@dataclass
class BucketRow:
    label: str
    coverage: Coverage | None
    balance: Decimal
    bands: list[Decimal]


@dataclass
class LedgerRow:
    entry: LedgerEntry
    running_balance: Decimal


@dataclass
class LedgerPage:
    rows: list[LedgerRow]
    older_than: int | None  # the id to continue from, when there are older entries
    is_latest: bool


def coverages_of(patient_id: int) -> list[Coverage]:
    return list(
        Coverage.objects.filter(patient_id=patient_id)
        .select_related("plan__payer", "verified_by")
        .order_by("-is_active", "priority", "-effective_from", "id")
    )


def bucket_rows(account: PatientAccount, coverages: list[Coverage]) -> list[BucketRow]:
    """One row per responsible party holding a balance (active coverages always shown), patient last."""
    balances = dict(AccountBucket.objects.filter(account=account).values_list("coverage_id", "balance"))
    aging = account_aging(account.pk)
    rows = []
    for coverage in coverages:
        if coverage.is_active or balances.get(coverage.pk):
            bands = aging[coverage.pk].bands if coverage.pk in aging else [ZERO] * len(BANDS)
            rows.append(BucketRow(str(coverage.plan.payer), coverage, balances.get(coverage.pk, ZERO), bands))
    bands = aging[None].bands if None in aging else [ZERO] * len(BANDS)
    rows.append(BucketRow("Patient", None, balances.get(None, ZERO), bands))
    return rows


def ledger_page(
    account: PatientAccount, older_than: int | None = None, size: int = LEDGER_PAGE
) -> LedgerPage:
    """Newest entries first, each with the balance after it.

    The running balance is the stored account balance minus everything posted after the
    entry, so a page costs one indexed range read (plus one sum when paging back),
    never a scan of the whole ledger.
    """
    entries = LedgerEntry.objects.filter(account=account).select_related(
        "coverage__plan__payer", "actor", "reverses"
    )
    after = ZERO
    if older_than is not None:
        entries = entries.filter(id__lt=older_than)
        after = LedgerEntry.objects.filter(account=account, id__gte=older_than).aggregate(
            s=Coalesce(Sum("amount"), ZERO)
        )["s"]
    batch = list(entries.order_by("-id")[: size + 1])
    more = len(batch) > size
    batch = batch[:size]
    running = account.balance - after
    rows = []
    for entry in batch:
        rows.append(LedgerRow(entry, running))
        running -= entry.amount
    return LedgerPage(rows, batch[-1].pk if more and batch else None, older_than is None)


def charges_with_edits(account: PatientAccount) -> tuple[list[Charge], int]:
    """The most recent charges with their edits, and how many the account has in all."""
    charges = (
        Charge.objects.filter(account=account)
        .prefetch_related(
            Prefetch("edits", queryset=ChargeEdit.objects.order_by("rule").select_related("resolved_by"))
        )
        .order_by("-service_date", "-id")
    )
    # Always counted, so the page costs the same number of queries for any account.
    return list(charges[:CHARGES_SHOWN]), Charge.objects.filter(account=account).count()


def open_edit_count(account: PatientAccount) -> int:
    return ChargeEdit.objects.filter(
        charge__account=account, charge__status=Charge.Status.POSTED, status=ChargeEdit.Status.OPEN
    ).count()


def timeline(account: PatientAccount, limit: int = TIMELINE_SHOWN) -> list[TimelineEvent]:
    """Events on the account and on its patient (coverages, contacts, demographics), newest first."""
    types = ContentType.objects.get_for_models(PatientAccount, Patient)
    return list(
        TimelineEvent.objects.filter(
            Q(subject_type=types[PatientAccount], subject_id=account.pk)
            | Q(subject_type=types[Patient], subject_id=account.patient_id)
        )
        .select_related("actor")
        .order_by("-occurred_at", "-id")[:limit]
    )


def contacts_of(patient_id: int) -> list[AuthorizedContact]:
    return list(AuthorizedContact.objects.filter(patient_id=patient_id).order_by("-start_date", "name"))


def pending_requests(account: PatientAccount) -> list[AdjustmentRequest]:
    return list(
        AdjustmentRequest.objects.filter(account=account, status=AdjustmentRequest.Status.PENDING)
        .select_related("requested_by", "coverage__plan__payer")
        .order_by("created_at")
    )


def patient_accounts(patient: Patient) -> QuerySet[PatientAccount]:
    return PatientAccount.objects.filter(patient=patient).order_by("-service_from", "account_number")


def search_results(queryset: QuerySet[Patient], limit: int = 50) -> list[Patient]:
    """Matching patients with their accounts and active coverages, for the results table."""
    return list(
        queryset.prefetch_related(
            Prefetch("accounts", queryset=PatientAccount.objects.order_by("-service_from")),
            Prefetch(
                "coverages",
                queryset=Coverage.objects.filter(is_active=True)
                .select_related("plan__payer")
                .order_by("priority"),
                to_attr="active_coverages",
            ),
        )[:limit]
    )
