"""The set-based writers of the ledger (``insert_rows``, ``update_rows``) and the bulk posting
path: what goes in comes back unchanged, and ``post_entries_bulk`` writes what
``post_entries_many`` writes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts import services
from accounts.ledger import EntrySpec, ledger_drift, lock_accounts, post_entries_bulk, post_entries_many
from accounts.models import AccountBucket, LedgerEntry, PatientAccount
from core.bulk import insert_rows, update_rows
from core.errors import InvalidInput
from core.models import TimelineEvent
from tests.factories import AccountFactory, CoverageFactory

pytestmark = pytest.mark.django_db
D = Decimal

AWKWARD = [
    "plain",
    'with "quotes"',
    "back\\slash",
    "{braces},commas",
    "NULL",
    "",
    "tab\tand\nnewline",
    "é ü 漢",
]


def test_insert_rows_keeps_every_awkward_value(org, posting_specialist):
    account = AccountFactory(patient__organization=org)
    columns = (
        ("organization_id", "bigint"),
        ("kind", "text"),
        ("summary", "text"),
        ("subject_type_id", "bigint"),
        ("subject_id", "bigint"),
        ("actor_id", "bigint"),
        ("occurred_at", "timestamptz"),
        ("data", "jsonb"),
        ("request_id", "text"),
    )
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(PatientAccount).pk
    when = timezone.now()
    rows = [
        (
            org.pk,
            "test.bulk",
            text,
            content_type,
            account.pk,
            None,
            when,
            {"text": text, "n": [1, None]},
            text[:36],
        )
        for text in AWKWARD
    ]
    insert_rows(TimelineEvent._meta.db_table, columns, rows)
    stored = list(
        TimelineEvent.objects.filter(kind="test.bulk")
        .order_by("id")
        .values_list("summary", "data", "actor_id")
    )
    assert stored == [(text, {"text": text, "n": [1, None]}, None) for text in AWKWARD]
    assert TimelineEvent.objects.filter(kind="test.bulk", occurred_at=when).count() == len(AWKWARD)


def test_update_rows_sets_only_the_rows_named_and_handles_nulls_and_arrays(org):
    accounts = [AccountFactory(patient__organization=org) for _ in range(3)]
    update_rows(
        "accounts_patientaccount",
        (("id", "bigint"), ("facility", "text"), ("credit_identified_on", "date")),
        [(accounts[0].pk, 'North "Wing", {2}', date(2026, 1, 2)), (accounts[1].pk, "back\\slash", None)],
    )
    values = dict(
        PatientAccount.objects.filter(pk__in=[a.pk for a in accounts]).values_list("pk", "facility")
    )
    assert values[accounts[0].pk] == 'North "Wing", {2}'
    assert values[accounts[1].pk] == "back\\slash"
    assert values[accounts[2].pk] == accounts[2].facility
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE bulk_probe (id bigint, codes varchar(8)[], day date, at timestamptz)"
        )
        insert_rows(
            "bulk_probe",
            (("id", "bigint"), ("codes", "varchar(8)[]"), ("day", "date"), ("at", "timestamptz")),
            [
                (1, ["M15", 'a"b', "c,d", ""], date(2026, 3, 1), datetime(2026, 3, 1, 12, tzinfo=UTC)),
                (2, [], None, None),
                (3, None, None, None),
            ],
        )
        cursor.execute("SELECT id, codes, day FROM bulk_probe ORDER BY id")
        assert cursor.fetchall() == [
            (1, ["M15", 'a"b', "c,d", ""], date(2026, 3, 1)),
            (2, [], None),
            (3, None, None),
        ]


@pytest.fixture
def two_accounts(org, posting_specialist):
    made = []
    for _ in range(2):
        account = AccountFactory(patient__organization=org)
        coverage = CoverageFactory(patient=account.patient, priority=1)
        services.charge_post(
            account=account,
            items=[
                services.ChargeInput(
                    service_date=date(2026, 9, 1),
                    code_type="cpt",
                    code="99213",
                    amount=D("150.00"),
                    diagnoses=("E119",),
                )
            ],
            by=posting_specialist,
        )
        made.append((account, coverage))
    return made


def _specs(coverage_id):
    group = uuid.uuid4()
    return [
        EntrySpec(
            "insurance_payment",
            D("-80.004"),
            coverage_id=coverage_id,
            reason_code="CLP-1",
            memo='835 "T1"\\x',
        ),
        EntrySpec("contractual_adjustment", D("-40.00"), coverage_id=coverage_id, reason_code="CO-45"),
        EntrySpec(
            "transfer",
            D("-30.00"),
            coverage_id=coverage_id,
            transfer_group=group,
            effective_date=date(2026, 9, 9),
        ),
        EntrySpec(
            "transfer", D("30.00"), coverage_id=None, transfer_group=group, effective_date=date(2026, 9, 9)
        ),
        EntrySpec("patient_payment", D("-45.00"), coverage_id=None),
    ]


COMPARED = (
    "kind",
    "amount",
    "coverage_id",
    "reason_code",
    "memo",
    "transfer_group",
    "source",
    "source_ref",
    "effective_date",
)


def test_the_bulk_path_writes_what_the_instance_path_writes(two_accounts, posting_specialist):
    (first, first_coverage), (second, second_coverage) = two_accounts
    with transaction.atomic():
        locked = lock_accounts({first.pk, second.pk})
        post_entries_many(
            postings=[(locked[first.pk], s) for s in _specs(first_coverage.pk)],
            source="835",
            by=posting_specialist,
        )
        count = post_entries_bulk(
            postings=[(locked[second.pk], s) for s in _specs(second_coverage.pk)],
            source="835",
            by=posting_specialist,
        )
    assert count == 5
    assert ledger_drift() == []

    def written(account, coverage):
        rows = []
        for row in (
            LedgerEntry.objects.filter(account=account, source="835")
            .order_by("id")
            .values(*COMPARED, "actor_id")
        ):
            row["coverage_id"] = "payer" if row["coverage_id"] == coverage.pk else row["coverage_id"]
            row["transfer_group"] = row["transfer_group"] is not None
            rows.append(row)
        return rows

    assert written(first, first_coverage) == written(second, second_coverage)
    for account in (first, second):
        account.refresh_from_db()
        assert (account.balance, account.patient_balance, account.credit_identified_on) == (
            D("-15.00"),
            D("-15.00"),
            timezone.localdate(),
        )
    buckets = sorted(AccountBucket.objects.filter(account=second).values_list("balance", flat=True))
    assert buckets == [D("-15.00"), D("0.00")]
    assert LedgerEntry.objects.filter(account=second).values("reference").distinct().count() == 6


def test_the_bulk_path_refuses_a_zero_entry_before_writing(two_accounts, posting_specialist):
    (account, coverage), _ = two_accounts
    before = LedgerEntry.objects.count()
    with pytest.raises(InvalidInput), transaction.atomic():
        locked = lock_accounts({account.pk})
        post_entries_bulk(
            postings=[
                (locked[account.pk], EntrySpec("insurance_payment", D("-10.00"), coverage_id=coverage.pk)),
                (locked[account.pk], EntrySpec("other_adjustment", D("0.004"), coverage_id=coverage.pk)),
            ],
            source="835",
            by=posting_specialist,
        )
    assert LedgerEntry.objects.count() == before
