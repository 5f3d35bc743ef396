"""``manage.py seed_scale``: COPY-loaded bench data whose balances equal the ledger.

The command loads through its own connections (threads), so these tests commit for real
(``transaction=True``) and the tables are emptied afterwards.
"""

from __future__ import annotations

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Sum

from accounts.ledger import ledger_drift
from accounts.management.commands import seed_scale
from accounts.models import AccountBucket, Charge, Coverage, Guarantor, LedgerEntry, Patient, PatientAccount

pytestmark = pytest.mark.django_db(transaction=True)

PATIENTS = 2000


def _load(accounts: int = PATIENTS, **options) -> str:
    out = StringIO()
    call_command("seed_scale", accounts=accounts, chunk=700, stdout=out, **options)
    return out.getvalue()


def test_it_loads_patients_accounts_and_a_ledger_that_balances():
    output = _load()
    assert "balances equal the ledger" in output

    patients = Patient.objects.filter(organization__slug="scale")
    accounts = PatientAccount.objects.filter(organization__slug="scale")
    entries = LedgerEntry.objects.filter(organization__slug="scale")
    assert patients.count() == PATIENTS
    assert Guarantor.objects.filter(organization__slug="scale").count() == PATIENTS
    assert PATIENTS * 0.9 < accounts.count() < PATIENTS * 1.1
    assert 0.8 * PATIENTS < Coverage.objects.filter(organization__slug="scale").count() < 1.2 * PATIENTS
    assert Charge.objects.filter(organization__slug="scale").count() > accounts.count()
    assert 4.5 < entries.count() / accounts.count() < 5.5

    # The full check: every bucket and account equals the sum of its entries.
    assert ledger_drift() == []
    assert not accounts.exclude(balance=F("insurance_balance") + F("patient_balance")).exists()
    # Signs as accounts.ledger uses them; a transfer's two halves cancel out.
    assert not entries.filter(kind="charge", amount__lte=0).exists()
    for kind in ("insurance_payment", "contractual_adjustment", "other_adjustment", "write_off"):
        assert entries.filter(kind=kind).exists()
        assert not entries.filter(kind=kind, amount__gte=0).exists()
    transfers = (
        entries.filter(kind="transfer").values("transfer_group").annotate(n=Count("id"), s=Sum("amount"))
    )
    assert transfers and all(t["n"] == 2 and t["s"] == Decimal("0.00") for t in transfers)
    # Credit balances carry the day they began, and only they do.
    credits = accounts.with_credit_balance()
    assert credits.exists()
    assert all(AccountBucket.objects.filter(account=a, balance__lt=0).exists() for a in credits)
    assert not AccountBucket.objects.filter(
        account__in=accounts.filter(credit_identified_on=None), balance__lt=0
    )

    # search_name is PostgreSQL's own generated column, filled for every row.
    for patient in patients.order_by("?")[:50]:
        assert patient.search_name == f"{patient.last_name} {patient.first_name}".upper()
    assert all(
        re.fullmatch(r"[0-9a-f-]{36}", str(ref)) for ref in patients.values_list("reference", flat=True)
    )
    assert {str(ref)[14] for ref in entries.values_list("reference", flat=True)[:500]} == {"4"}
    assert (
        seed_scale.verify_foreign_keys({"accounts_ledgerentry": "true", "accounts_patientaccount": "true"})
        == []
    )

    # Running it again with the same target changes nothing.
    assert "nothing to do" in _load()
    assert patients.count() == PATIENTS


def test_a_top_up_with_row_by_row_checks_adds_only_what_is_missing(monkeypatch):
    _load(1000)
    monkeypatch.setattr(seed_scale, "may_skip_row_checks", lambda: False)
    output = _load(1600)
    assert "checked row by row" in output
    assert Patient.objects.filter(organization__slug="scale").count() == 1600
    external = set(Patient.objects.values_list("external_id", flat=True))
    assert len(external) == 1600 and "S000001599" in external
    assert ledger_drift() == []


def test_a_huge_ledger_can_be_added_to_one_account_and_still_balances():
    _load(300)
    account = PatientAccount.objects.filter(organization__slug="scale").order_by("id").first()
    before = account.ledger_entries.count()
    added = seed_scale.grow_ledger(account, 3000)
    assert 2900 < added <= 3000
    assert account.ledger_entries.count() == before + added
    assert ledger_drift() == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_charge WHERE account_id = %s", [account.pk])
        assert cursor.fetchone()[0] > 400


@pytest.mark.django_db(transaction=False)
def test_it_refuses_to_load_when_a_table_gained_a_column(monkeypatch):
    columns = dict(seed_scale.COLUMNS)
    columns["accounts_patient"] = columns["accounts_patient"].replace(" ssn_last4", "")
    monkeypatch.setattr(seed_scale, "COLUMNS", columns)
    with pytest.raises(Exception, match="columns of accounts_patient changed"):
        _load(10)
