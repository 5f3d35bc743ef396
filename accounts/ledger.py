"""The one place that writes ledger entries and keeps the stored balances equal to their sum.

Callers are services that already hold the account's row lock (``lock_account``) inside
their transaction; ``post_entries`` inserts the entries and moves the bucket and account
totals by exactly their amounts, so a balance can never drift from the entries unless
someone bypasses this module (which the nightly ``ledger_verify`` would report).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ZERO, AccountBucket, LedgerEntry, PatientAccount
from core.bulk import insert_rows, update_rows
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

    One INSERT for the entries, one read and at most two writes for the buckets, one UPDATE
    for the accounts, however many accounts. Returns the entries; ``post_entries_bulk`` does
    the same without building them, for thousands of entries at once.
    """
    if not postings:
        return []
    now = timezone.now()
    today = timezone.localdate()
    entries = []
    accounts: dict[int, PatientAccount] = {}
    for account, spec in postings:
        amount = _checked_amount(spec)
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
    deltas: dict[int, dict[int | None, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for entry in entries:
        deltas[entry.account_id][entry.coverage_id] += entry.amount
    _move_balances(accounts, deltas, today)
    _reopen_closed(accounts, by)
    return entries


# Columns of the bulk path's INSERT, with their SQL types.
ENTRY_COLUMNS = (
    ("reference", "uuid"),
    ("organization_id", "bigint"),
    ("account_id", "bigint"),
    ("kind", "text"),
    ("amount", "numeric"),
    ("coverage_id", "bigint"),
    ("reason_code", "text"),
    ("memo", "text"),
    ("charge_id", "bigint"),
    ("reverses_id", "bigint"),
    ("transfer_group", "uuid"),
    ("source", "text"),
    ("source_ref", "text"),
    ("actor_id", "bigint"),
    ("posted_at", "timestamptz"),
    ("effective_date", "date"),
)


def post_entries_bulk(*, postings: list[tuple[PatientAccount, EntrySpec]], source: str, by: Any) -> int:
    """``post_entries_many`` for thousands of entries at once (remittance posting): the same
    checks, rows and balance moves, but no model instances are built and the entries go in
    with set-based INSERTs (``insert_rows``). Returns how many entries were inserted."""
    if not postings:
        return 0
    now = timezone.now()
    today = timezone.localdate()
    actor = by.pk
    accounts: dict[int, PatientAccount] = {}
    deltas: dict[int, dict[int | None, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    rows = []
    for reference, (account, spec) in zip(_uuid4_hex(len(postings)), postings, strict=True):
        amount = _checked_amount(spec)
        account_id = account.pk
        accounts[account_id] = account
        deltas[account_id][spec.coverage_id] += amount
        rows.append(
            (
                reference,
                account.organization_id,
                account_id,
                spec.kind,
                amount,
                spec.coverage_id,
                spec.reason_code,
                spec.memo[:300],
                spec.charge.pk if spec.charge is not None else None,
                spec.reverses.pk if spec.reverses is not None else None,
                spec.transfer_group,
                source,
                spec.source_ref,
                actor,
                now,
                spec.effective_date or today,
            )
        )
    insert_rows("accounts_ledgerentry", ENTRY_COLUMNS, rows)
    _move_balances(accounts, deltas, today)
    _reopen_closed(accounts, by)
    return len(rows)


UUID_VERSION_CLEAR = ~((0xF << 76) | (0x3 << 62))
UUID_VERSION_SET = (0x4 << 76) | (0x2 << 62)


def _uuid4_hex(count: int) -> list[str]:
    """``count`` version-4 UUIDs as 32 hex digits, from the same source as ``uuid.uuid4``
    (``os.urandom``) but without building a UUID object per entry."""
    raw = os.urandom(16 * count)
    return [
        f"{(int.from_bytes(raw[i : i + 16]) & UUID_VERSION_CLEAR) | UUID_VERSION_SET:032x}"
        for i in range(0, 16 * count, 16)
    ]


def _checked_amount(spec: EntrySpec) -> Decimal:
    amount = quantize_cents(spec.amount)
    if amount == ZERO:
        raise InvalidInput("amount: a ledger entry cannot be zero", field="amount")
    return amount


def _reopen_closed(accounts: dict[int, PatientAccount], by: Any) -> None:
    for account in accounts.values():
        if account.status == PatientAccount.Status.CLOSED:
            _reopen(account, by)


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
    """``buckets``: the account's buckets as ``coverage id: [bucket id, balance]``."""
    totals = [balance + deltas.get(c, ZERO) for c, (_pk, balance) in buckets.items()]
    totals += [d for c, d in deltas.items() if c not in buckets]
    totals.append(account.balance + sum(deltas.values(), ZERO))
    if any(abs(t) >= BALANCE_LIMIT for t in totals):
        raise InvalidInput(
            "amount: the account's balance would exceed 999,999,999,999.99; check the amounts", field="amount"
        )


def _move_balances(
    accounts: dict[int, PatientAccount], deltas: dict[int, dict[int | None, Decimal]], today: date
) -> None:
    """Move buckets and account totals by ``deltas`` (per account, per coverage; None is the
    patient): one read and at most two writes for the buckets, one write for the accounts."""
    buckets: dict[int, dict[int | None, list]] = defaultdict(dict)
    for pk, account_id, coverage_id, balance in AccountBucket.objects.filter(
        account_id__in=list(deltas)
    ).values_list("id", "account_id", "coverage_id", "balance"):
        buckets[account_id][coverage_id] = [pk, balance]
    new, changed, moved = [], [], []
    now = timezone.now()
    for account_id, account_deltas in deltas.items():
        account = accounts[account_id]
        own = buckets[account_id]
        _check_room(account, account_deltas, own)
        for coverage_id, delta in account_deltas.items():
            bucket = own.get(coverage_id)
            if bucket is None:
                own[coverage_id] = [None, delta]
                new.append((account_id, coverage_id, delta))
            else:
                bucket[1] += delta
                changed.append((bucket[0], bucket[1]))
        patient_delta = account_deltas.get(None, ZERO)
        account.patient_balance += patient_delta
        account.insurance_balance += sum(account_deltas.values(), ZERO) - patient_delta
        account.balance = account.patient_balance + account.insurance_balance
        in_credit = any(balance < ZERO for _pk, balance in own.values())
        if not in_credit:
            account.credit_identified_on = None
        elif account.credit_identified_on is None:
            account.credit_identified_on = today
        account.updated_at = now
        moved.append(
            (
                account_id,
                account.balance,
                account.insurance_balance,
                account.patient_balance,
                account.credit_identified_on,
                account.updated_at,
            )
        )
    insert_rows(
        "accounts_accountbucket",
        (("account_id", "bigint"), ("coverage_id", "bigint"), ("balance", "numeric")),
        new,
    )
    update_rows("accounts_accountbucket", (("id", "bigint"), ("balance", "numeric")), changed)
    # A plain UPDATE: these columns are excluded from row history because the ledger
    # entries just inserted are their audit trail; the rows are locked by the caller.
    update_rows(
        "accounts_patientaccount",
        (
            ("id", "bigint"),
            ("balance", "numeric"),
            ("insurance_balance", "numeric"),
            ("patient_balance", "numeric"),
            ("credit_identified_on", "date"),
            ("updated_at", "timestamptz"),
        ),
        moved,
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
