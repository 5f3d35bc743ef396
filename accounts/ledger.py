"""The one place that writes ledger entries and keeps the stored balances equal to their sum.

Callers are services that already hold the account's row lock (``lock_account``) inside
their transaction; ``post_entries`` inserts the entries and moves the bucket and account
totals by exactly their amounts, so a balance can never drift from the entries unless
someone bypasses this module (which the nightly ``ledger_verify`` would report).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ZERO, AccountBucket, LedgerEntry, PatientAccount
from core.errors import InvalidInput
from core.money import quantize_cents

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EntrySpec:
    """One entry to post. ``amount`` is signed: positive raises the balance, negative lowers it."""

    kind: str
    amount: Decimal
    coverage_id: int | None = None
    reason_code: str = ""
    memo: str = ""
    charge: Any = None
    reverses: Any = None
    transfer_group: Any = None
    effective_date: date | None = None
    source_ref: str = ""
    extra: dict = field(default_factory=dict)


def lock_account(account: PatientAccount) -> PatientAccount:
    """Take the account's row lock for the rest of the transaction and reload it.

    ``FOR NO KEY UPDATE`` serialises every money movement on this account (two tellers
    never interleave) while still letting other transactions insert rows that merely
    reference the account (timeline events, PHI log).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_account must run inside a transaction")
    account.refresh_from_db(from_queryset=PatientAccount.objects.select_for_update(no_key=True))
    return account


def lock_accounts(account_ids: set[int] | list[int]) -> dict[int, PatientAccount]:
    """Row locks on many accounts for the rest of the transaction, taken in id order so two
    bulk posters never deadlock; returns the fresh rows by id."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_accounts must run inside a transaction")
    rows = PatientAccount.objects.select_for_update(no_key=True).filter(pk__in=account_ids).order_by("pk")
    return {account.pk: account for account in rows}


def post_entries(
    *, account: PatientAccount, specs: list[EntrySpec], source: str, by: Any
) -> list[LedgerEntry]:
    """Insert ``specs`` on ``account`` (locked by the caller) and move its stored balances."""
    return post_entries_many(postings=[(account, spec) for spec in specs], source=source, by=by)


def post_entries_many(
    *, postings: list[tuple[PatientAccount, EntrySpec]], source: str, by: Any
) -> list[LedgerEntry]:
    """Insert entries on several accounts (all locked by the caller) in a fixed number of
    statements, and move each account's stored balances by exactly their amounts.

    The bulk path of remittance posting: one INSERT for the entries, one read and at most
    two writes for the buckets, one UPDATE for the accounts, however many accounts.
    """
    if not postings:
        return []
    now = timezone.now()
    today = timezone.localdate()
    entries = []
    accounts: dict[int, PatientAccount] = {}
    for account, spec in postings:
        amount = quantize_cents(spec.amount)
        if amount == ZERO:
            raise InvalidInput("amount: a ledger entry cannot be zero", field="amount")
        accounts[account.pk] = account
        entries.append(
            LedgerEntry(
                organization_id=account.organization_id,
                account=account,
                kind=spec.kind,
                amount=amount,
                coverage_id=spec.coverage_id,
                reason_code=spec.reason_code,
                memo=spec.memo[:300],
                charge=spec.charge,
                reverses=spec.reverses,
                transfer_group=spec.transfer_group,
                source=source,
                source_ref=spec.source_ref,
                actor=by,
                posted_at=now,
                effective_date=spec.effective_date or today,
            )
        )
    LedgerEntry.objects.bulk_create(entries)
    _move_balances(accounts, entries, today)
    for account in accounts.values():
        if account.status == PatientAccount.Status.CLOSED:
            _reopen(account, by)
    return entries


def _reopen(account: PatientAccount, by: Any) -> None:
    """Money arriving on a closed account (a late charge, a refund) opens it again, so the
    balance is worked rather than hidden among closed accounts."""
    from core.audit import mark_change
    from core.timeline import event_record

    account.status = PatientAccount.Status.OPEN
    mark_change(account, by=by, reason="money posted to a closed account")
    account.save(update_fields=["status", "updated_at"])
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.account.reopened",
        summary="Account reopened: money was posted to it after it was closed",
        by=by,
    )


# The balance columns hold 14 digits with 2 decimals.
BALANCE_LIMIT = Decimal("1000000000000.00")


def _check_room(account: PatientAccount, deltas: dict[int | None, Decimal], buckets: dict) -> None:
    totals = [b.balance + deltas.get(c, ZERO) for c, b in buckets.items()]
    totals += [d for c, d in deltas.items() if c not in buckets]
    totals.append(account.balance + sum(deltas.values(), ZERO))
    if any(abs(t) >= BALANCE_LIMIT for t in totals):
        raise InvalidInput(
            "amount: the account's balance would exceed 999,999,999,999.99; check the amounts", field="amount"
        )


def _move_balances(accounts: dict[int, PatientAccount], entries: list[LedgerEntry], today: date) -> None:
    deltas: dict[int, dict[int | None, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for entry in entries:
        deltas[entry.account_id][entry.coverage_id] += entry.amount
    buckets: dict[int, dict[int | None, AccountBucket]] = defaultdict(dict)
    for bucket in AccountBucket.objects.filter(account_id__in=list(deltas)):
        buckets[bucket.account_id][bucket.coverage_id] = bucket
    new, changed = [], []
    for account_id, account_deltas in deltas.items():
        account = accounts[account_id]
        own = buckets[account_id]
        _check_room(account, account_deltas, own)
        for coverage_id, delta in account_deltas.items():
            bucket = own.get(coverage_id)
            if bucket is None:
                bucket = AccountBucket(account=account, coverage_id=coverage_id, balance=delta)
                own[coverage_id] = bucket
                new.append(bucket)
            else:
                bucket.balance += delta
                changed.append(bucket)
        patient_delta = account_deltas.get(None, ZERO)
        account.patient_balance += patient_delta
        account.insurance_balance += sum(account_deltas.values(), ZERO) - patient_delta
        account.balance = account.patient_balance + account.insurance_balance
        in_credit = any(b.balance < ZERO for b in own.values())
        if not in_credit:
            account.credit_identified_on = None
        elif account.credit_identified_on is None:
            account.credit_identified_on = today
        account.updated_at = timezone.now()
    AccountBucket.objects.bulk_create(new)
    AccountBucket.objects.bulk_update(changed, ["balance"])
    # A plain UPDATE: these columns are excluded from row history because the ledger
    # entries just inserted are their audit trail; the rows are locked by the caller.
    PatientAccount.objects.bulk_update(
        [accounts[account_id] for account_id in deltas],
        ["balance", "insurance_balance", "patient_balance", "credit_identified_on", "updated_at"],
    )


def bucket_balances(account: PatientAccount) -> dict[int | None, Decimal]:
    return dict(AccountBucket.objects.filter(account=account).values_list("coverage_id", "balance"))


@dataclass(frozen=True)
class Drift:
    account_id: int
    coverage_id: int | None
    stored: Decimal
    ledger: Decimal


_DRIFT_SQL = """
WITH sums AS (
    SELECT account_id, coverage_id, SUM(amount) AS total
    FROM accounts_ledgerentry GROUP BY account_id, coverage_id
)
SELECT COALESCE(b.account_id, s.account_id), COALESCE(b.coverage_id, s.coverage_id),
       COALESCE(b.balance, 0), COALESCE(s.total, 0)
FROM accounts_accountbucket b
FULL OUTER JOIN sums s
  ON s.account_id = b.account_id AND s.coverage_id IS NOT DISTINCT FROM b.coverage_id
WHERE COALESCE(b.balance, 0) <> COALESCE(s.total, 0)
UNION ALL
SELECT a.id, NULL, a.balance, COALESCE(t.total, 0)
FROM accounts_patientaccount a
LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM accounts_ledgerentry GROUP BY account_id) t
  ON t.account_id = a.id
WHERE a.balance <> COALESCE(t.total, 0)
   OR a.patient_balance <> COALESCE((
        SELECT balance FROM accounts_accountbucket pb
        WHERE pb.account_id = a.id AND pb.coverage_id IS NULL), 0)
"""


def ledger_drift(limit: int = 1000) -> list[Drift]:
    """Buckets and accounts whose stored balance differs from the sum of their entries."""
    with connection.cursor() as cursor:
        cursor.execute(_DRIFT_SQL + " LIMIT %s", [limit])
        return [Drift(*row) for row in cursor.fetchall()]
