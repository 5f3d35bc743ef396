"""Ledger invariants under any sequence of operations, and under concurrent tellers.

The test keeps its own books from the operations' inputs alone and compares them with
what the services stored: every bucket balance, the account totals, and the sum of the
entries. Money is neither created nor lost.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services
from accounts.ledger import EntrySpec, ledger_drift, lock_account, post_entries
from accounts.models import AccountBucket, LedgerEntry, PatientAccount
from core.errors import DomainError
from staff.models import Role
from tests.factories import AccountFactory, ApprovalLimitFactory, CoverageFactory

D = Decimal
cents = st.integers(min_value=1, max_value=500_00).map(lambda n: D(n) / 100)
bucket = st.sampled_from(["primary", "secondary", "patient"])
operation = st.one_of(
    st.tuples(st.just("charge"), cents),
    st.tuples(st.just("transfer"), bucket, cents),
    st.tuples(st.just("adjust"), bucket, cents),
    st.tuples(st.just("pay"), bucket, cents),
    st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=50)),
)


def stored_buckets(account: PatientAccount) -> dict:
    return {
        cov: bal
        for cov, bal in AccountBucket.objects.filter(account=account).values_list("coverage_id", "balance")
    }


def check_books(account: PatientAccount, books: dict) -> None:
    account.refresh_from_db()
    expected = {k: v for k, v in books.items() if v or k in stored_buckets(account)}
    assert {k: v for k, v in stored_buckets(account).items() if v or k in expected} == expected
    entries = LedgerEntry.objects.filter(account=account)
    assert entries.total() == account.balance == sum(books.values(), D("0.00"))
    assert account.patient_balance == books.get(None, D("0.00"))
    assert account.insurance_balance == account.balance - account.patient_balance


@pytest.fixture
def limits(org):
    for kind in ("adjustment", "write_off"):
        ApprovalLimitFactory(
            organization=org, role=Role.POSTING_SPECIALIST, kind=kind, max_amount=D("1000000")
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=14))
def test_any_sequence_of_operations_keeps_balances_equal_to_the_ledger(org, posting_specialist, limits, ops):
    account = AccountFactory(patient__organization=org)
    coverages = {
        "primary": CoverageFactory(patient=account.patient, priority=1),
        "secondary": CoverageFactory(patient=account.patient, priority=2),
        "patient": None,
    }
    books: dict = defaultdict(lambda: D("0.00"))
    by = posting_specialist

    def key(name: str):
        return coverages[name].pk if coverages[name] else None

    for op in ops:
        try:
            if op[0] == "charge":
                services.charge_post(
                    account=account,
                    items=[
                        services.ChargeInput(date(2026, 9, 1), "cpt", "99213", op[1], diagnoses=("E119",))
                    ],
                    by=by,
                )
                books[key("primary")] += op[1]
            elif op[0] == "transfer":
                source = coverages[op[1]]
                target = services.next_responsible(account, source)
                services.balance_transfer(
                    account=account, from_coverage=source, amount=op[2], reason="t", by=by
                )
                books[key(op[1])] -= op[2]
                books[target.pk if target else None] += op[2]
            elif op[0] == "adjust":
                services.adjustment_submit(
                    account=account,
                    kind="other_adjustment",
                    amount=op[2],
                    reason_code="COURTESY",
                    memo="m",
                    coverage=coverages[op[1]],
                    by=by,
                )
                books[key(op[1])] -= op[2]
            elif op[0] == "pay":
                with transaction.atomic():
                    lock_account(account)
                    post_entries(
                        account=account,
                        specs=[EntrySpec("patient_payment", -op[2], key(op[1]))],
                        source="test",
                        by=by,
                    )
                books[key(op[1])] -= op[2]
            else:
                candidates = list(
                    LedgerEntry.objects.filter(account=account, reversed_by__isnull=True)
                    .exclude(kind="reversal")
                    .order_by("id")
                )
                if not candidates:
                    continue
                entry = candidates[op[1] % len(candidates)]
                group = (
                    list(LedgerEntry.objects.filter(transfer_group=entry.transfer_group))
                    if entry.transfer_group
                    else [entry]
                )
                if any(LedgerEntry.objects.filter(reverses=e).exists() for e in group):
                    continue
                services.entry_reverse(entry=entry, reason="r", by=by)
                for original in group:
                    books[original.coverage_id] -= original.amount
        except DomainError:
            # A refused operation (more than the bucket holds, say) must change nothing.
            pass
        check_books(account, books)


@pytest.mark.django_db(transaction=True)
def test_concurrent_operations_on_one_account_stay_consistent(org, posting_specialist, limits):
    account = AccountFactory(patient__organization=org)
    primary = CoverageFactory(patient=account.patient, priority=1)
    services.charge_post(
        account=account,
        items=[services.ChargeInput(date(2026, 9, 1), "cpt", "99213", D("1000.00"), diagnoses=("E119",))],
        by=posting_specialist,
    )
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def teller(n: int) -> None:
        try:
            start.wait()
            for _ in range(5):
                mine = PatientAccount.objects.get(pk=account.pk)
                if n % 2:
                    services.balance_transfer(
                        account=mine,
                        from_coverage=primary,
                        amount="7.00",
                        reason="split",
                        by=posting_specialist,
                    )
                else:
                    services.adjustment_submit(
                        account=mine,
                        kind="contractual_adjustment",
                        amount="3.00",
                        reason_code="CONTRACT",
                        memo="c",
                        coverage=primary,
                        by=posting_specialist,
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=teller, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    assert errors == []
    account.refresh_from_db()
    # 3 tellers x 5 transfers of 7.00 left insurance; 3 x 5 adjustments of 3.00 were written off it.
    assert account.patient_balance == D("105.00")
    assert account.insurance_balance == D("1000.00") - D("105.00") - D("45.00")
    assert account.balance == LedgerEntry.objects.filter(account=account).total() == D("955.00")
    assert ledger_drift() == []
