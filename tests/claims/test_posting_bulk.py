"""Posting straight after storing takes the lines and adjustments the store just wrote from
memory; any later posting reads them back. Both must post exactly the same."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounts.ledger import ledger_drift
from accounts.models import LedgerEntry
from claims.models import Claim, ClaimPayment, Denial, ServicePayment, Variance
from claims.posting import store
from claims.services.remittances import remittance_import
from tests.claims.posting_helpers import billed_claim, edi, make_payer
from tests.factories.payers import ContractFactory, FeeScheduleEntryFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _remittance(pcn: str, trace: str) -> bytes:
    # Amounts with a third decimal (stored rounded to cents), several triplets in one CAS,
    # a patient name with an apostrophe, a denied line with a remark, an underpaid line.
    return edi(
        f"CLP*{pcn}*1*300*119.995*30*12*ICN-{pcn}",
        "NM1*QC*1*O'BRIEN*ANNE****MI*M1",
        "SVC*HC:99213:25*150*89.995",
        "DTM*472*20260301",
        "CAS*CO*45*30.005",
        "CAS*PR*1*10**2*20",
        "AMT*B6*119.995",
        "SVC*HC:97110*100*30",
        "DTM*472*20260301",
        "CAS*CO*45*70",
        "SVC*HC:93000*50*0",
        "DTM*472*20260301",
        "CAS*CO*197*50",
        "LQ*HE*N54",
        total="119.995",
        trace=trace,
    )


def _outcome(claim: Claim) -> dict:
    claim.refresh_from_db()
    cp = ClaimPayment.objects.get(claim=claim)
    return {
        "claim": (claim.status, claim.paid_amount, claim.patient_responsibility),
        "entries": sorted(
            LedgerEntry.objects.filter(account=claim.account, source="835").values_list(
                "kind", "amount", "reason_code"
            )
        ),
        "expected": list(
            ServicePayment.objects.filter(claim_payment=cp).order_by("id").values_list("code", "expected")
        ),
        "denials": list(
            Denial.objects.filter(claim=claim).values_list(
                "level", "carc_codes", "rarc_codes", "denied_amount"
            )
        ),
        "variances": list(
            Variance.objects.filter(claim=claim).values_list(
                "kind", "expected_amount", "allowed_amount", "paid_amount", "variance_amount"
            )
        ),
    }


def test_posting_from_memory_and_from_the_database_post_the_same(org, posting_specialist, monkeypatch):
    payer = make_payer(org)
    contract = ContractFactory(organization=org, payer=payer, variance_tolerance=D("1.00"))
    FeeScheduleEntryFactory(organization=org, contract=contract, code="99213", allowed_amount=D("130.00"))
    FeeScheduleEntryFactory(organization=org, contract=contract, code="97110", allowed_amount=D("30.00"))
    lines = [
        ("99213", date(2026, 3, 1), 150),
        ("97110", date(2026, 3, 1), 100),
        ("93000", date(2026, 3, 1), 50),
    ]
    from_memory = billed_claim(org, payer, "PCN-M", lines, posting_specialist)
    read_back = billed_claim(org, payer, "PCN-D", lines, posting_specialist)

    taken = []
    real_take = store.StoredRows.take

    def counting(self, ids):
        result = real_take(self, ids)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(store.StoredRows, "take", counting)
    remittance_import(
        organization=org,
        data=_remittance("PCN-M", "T-MEM"),
        filename="a.835",
        channel="upload",
        by=posting_specialist,
    )
    assert taken == [True]
    monkeypatch.setattr(store.StoredRows, "take", lambda self, ids: None)
    remittance_import(
        organization=org,
        data=_remittance("PCN-D", "T-DB"),
        filename="b.835",
        channel="upload",
        by=posting_specialist,
    )

    memory, database = _outcome(from_memory), _outcome(read_back)
    assert memory == database
    assert memory["claim"] == (Claim.Status.PARTIALLY_PAID, D("120.00"), D("30.00"))
    assert ("insurance_payment", D("-120.00"), "CLP-1") in memory["entries"]
    assert memory["denials"] and memory["variances"]
    assert ledger_drift() == []
