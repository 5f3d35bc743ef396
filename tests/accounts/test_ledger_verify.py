from __future__ import annotations

from datetime import date
from decimal import Decimal

from accounts import services
from accounts.models import PatientAccount
from accounts.tasks import ledger_verify
from core.models import TimelineEvent
from tests.factories import AccountFactory


def test_the_nightly_check_is_quiet_when_balances_match(org, posting_specialist):
    account = AccountFactory(patient__organization=org)
    services.charge_post(
        account=account,
        items=[services.ChargeInput(date(2026, 9, 1), "cpt", "99213", Decimal("80.00"), diagnoses=("E119",))],
        by=posting_specialist,
    )
    assert ledger_verify() == 0
    assert not TimelineEvent.objects.filter(kind="accounts.ledger.drift_found").exists()


def test_the_nightly_check_reports_a_balance_written_outside_the_ledger(org, posting_specialist, caplog):
    account = AccountFactory(patient__organization=org)
    services.charge_post(
        account=account,
        items=[services.ChargeInput(date(2026, 9, 1), "cpt", "99213", Decimal("80.00"), diagnoses=("E119",))],
        by=posting_specialist,
    )
    # Someone "fixes" a balance by hand, bypassing the ledger.
    PatientAccount.objects.filter(pk=account.pk).update(
        balance=Decimal("70.00"), patient_balance=Decimal("70.00"), insurance_balance=Decimal("0.00")
    )
    assert ledger_verify() >= 1
    event = TimelineEvent.objects.get(kind="accounts.ledger.drift_found")
    assert event.organization == org
    assert str(account.reference) in event.data["accounts"]
    assert "drift" in caplog.text
    assert account.patient.last_name not in caplog.text
