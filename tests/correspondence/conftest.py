"""An account with every kind of ledger line, posted through the real services.

Ledger, in posting order (amount → account balance after it):

====  ==========================================  ========  =======
 #    entry                                          amount  balance
====  ==========================================  ========  =======
 1    charge 99214-25 (Prairie Health)               180.00   180.00
 2    charge 36415 (Prairie Health)                   35.00   215.00
 3    insurance payment (Prairie Health)            -100.00   115.00
 4    contractual adjustment (Prairie Health)        -20.00    95.00
 5    transfer out of Prairie Health                 -60.00    35.00
 6    transfer to the patient                         60.00    95.00
 7    patient payment                                -10.00    85.00
 8    charge 99213 (Prairie Health)                  180.00   265.00
 9    reversal of entry 8                           -180.00    85.00
====  ==========================================  ========  =======

Insurance still owes 35.00, the patient 50.00.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from accounts import services
from accounts.ledger import EntrySpec, lock_account, post_entries
from accounts.models import LedgerEntry
from staff.models import ApprovalLimit, Role
from tests.factories import AccountFactory, ApprovalLimitFactory, CoverageFactory

D = Decimal

EXPECTED_RUNNING = [
    D(v) for v in ("180.00", "215.00", "115.00", "95.00", "35.00", "95.00", "85.00", "265.00", "85.00")
]


def charge_input(code: str, amount: str, day: date, **kwargs) -> services.ChargeInput:
    kwargs.setdefault("diagnoses", ("E119",))
    return services.ChargeInput(service_date=day, code_type="cpt", code=code, amount=D(amount), **kwargs)


def post_payment(account, *, kind: str, amount: str, by, coverage=None) -> LedgerEntry:
    """A payment through the ledger's one writer, as the payments and remittance services will post it
    (their services are not part of this app)."""
    with transaction.atomic():
        lock_account(account)
        (entry,) = post_entries(
            account=account,
            specs=[EntrySpec(kind, -D(amount), coverage.pk if coverage else None)],
            source="test",
            by=by,
        )
    return entry


@pytest.fixture
def account(org):
    return AccountFactory(
        patient__organization=org,
        patient__first_name="Maria",
        patient__last_name="Gonzalez",
        patient__address_line1="418 Elm Street",
        patient__city="Springfield",
        patient__state="IL",
        patient__postal_code="62704",
        guarantor__address_line1="418 Elm Street",
        guarantor__city="Springfield",
        guarantor__state="IL",
        guarantor__postal_code="62704",
        account_number="A200001",
        service_from=date(2026, 9, 1),
        service_to=date(2026, 9, 3),
        facility="Riverside Family Clinic",
    )


@pytest.fixture
def primary(account):
    return CoverageFactory(
        patient=account.patient,
        priority=1,
        plan__name="Choice PPO",
        plan__payer__name="Prairie Health",
        member_id="PRH448812",
    )


@pytest.fixture
def activity(account, primary, posting_specialist, supervisor, rep):
    """Post the ledger of the module docstring; returns the account, fresh from the database."""
    ApprovalLimitFactory(
        organization=account.organization,
        role=Role.SUPERVISOR,
        kind=ApprovalLimit.Kind.ADJUSTMENT,
        max_amount=D("1000.00"),
    )
    services.charge_post(
        account=account,
        items=[
            charge_input(
                "99214",
                "180.00",
                date(2026, 9, 1),
                modifiers=("25",),
                description="Office visit, established",
            ),
            charge_input("36415", "35.00", date(2026, 9, 3), description="Routine venipuncture"),
        ],
        by=posting_specialist,
    )
    post_payment(
        account,
        kind=LedgerEntry.Kind.INSURANCE_PAYMENT,
        amount="100.00",
        coverage=primary,
        by=posting_specialist,
    )
    services.adjustment_submit(
        account=account,
        kind="contractual_adjustment",
        amount="20.00",
        reason_code="CONTRACT",
        memo="Contracted rate",
        coverage=primary,
        by=supervisor,
    )
    services.balance_transfer(
        account=account, from_coverage=primary, amount="60.00", reason="Deductible", by=rep
    )
    post_payment(account, kind=LedgerEntry.Kind.PATIENT_PAYMENT, amount="10.00", by=rep)
    (duplicate,) = services.charge_post(
        account=account,
        items=[charge_input("99213", "180.00", date(2026, 9, 2), description="Duplicate visit")],
        by=posting_specialist,
    )
    services.entry_reverse(
        entry=LedgerEntry.objects.get(charge=duplicate, kind=LedgerEntry.Kind.CHARGE),
        reason="Posted twice",
        by=posting_specialist,
    )
    account.refresh_from_db()
    return account
