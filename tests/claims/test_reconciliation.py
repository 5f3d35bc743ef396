"""The daily reconciliation report and its drill-down: what each figure counts, and that the
number of queries does not grow with the rows."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.models import ClaimPayment, ProviderAdjustment, RemittancePayment
from claims.reconciliation import claims_by_number, daily_reconciliation, match_candidates, reconciliation_day
from claims.services.reconciliation import deposit_create
from tests.factories import AccountFactory, PayerFactory
from tests.factories.claims import ClaimFactory
from tests.factories.remittances import (
    ClaimPaymentFactory,
    ProviderAdjustmentFactory,
    RemittancePaymentFactory,
)

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 2)
D = Decimal


@pytest.fixture
def payer(org):
    return PayerFactory(organization=org, name="Prairie Mutual")


@pytest.fixture
def medicaid(org):
    return PayerFactory(organization=org, name="Great Lakes Medicaid")


def payment(org, **kwargs):
    kwargs.setdefault("file__organization", org)
    return RemittancePaymentFactory(**kwargs)


def deposit(org, by, **kwargs):
    values = {"organization": org, "deposit_date": DAY, "amount": "100.00", "trace_number": "T", "by": by}
    values.update(kwargs)
    return deposit_create(**values)


@pytest.fixture
def scenery(org, other_org, posting_specialist, payer, medicaid):
    """Prairie Mutual on DAY: two payments (one fully posted, one partly), a duplicate, a zero-pay
    notice; deposits for one payment exactly and for the other with a different amount.
    Medicaid on DAY: an unmatched deposit. Noise: another day, another organization."""
    posted = payment(org, payer=payer, trace_number="P1", total_paid=D("900.00"))
    ClaimPaymentFactory(payment=posted, paid=D("500.00"))
    ClaimPaymentFactory(payment=posted, paid=D("425.00"))
    ProviderAdjustmentFactory(payment=posted, amount=D("25.00"))  # withheld: 500 + 425 - 25 = 900
    partly = payment(org, payer=payer, trace_number="P2", total_paid=D("300.00"))
    ClaimPaymentFactory(payment=partly, paid=D("200.00"))
    ClaimPaymentFactory(payment=partly, paid=D("100.00"), posting=ClaimPayment.Posting.EXCEPTION)
    ProviderAdjustmentFactory(payment=partly, amount=D("-5.00"), posting=ProviderAdjustment.Posting.PENDING)
    payment(
        org, payer=payer, trace_number="P1", total_paid=D("900.00"), status=RemittancePayment.Status.DUPLICATE
    )
    payment(org, payer=payer, trace_number="", total_paid=D("0.00"), handling_code="H")
    payment(
        org, payer=payer, trace_number="OLD", total_paid=D("50.00"), payment_date=DAY - timedelta(days=30)
    )
    payment(other_org, trace_number="P9", total_paid=D("999.00"))

    deposit(org, posting_specialist, trace_number="P1", amount="900.00")
    deposit(org, posting_specialist, trace_number="P2", amount="310.00", payer=payer)
    deposit(org, posting_specialist, trace_number="M7", amount="42.00", payer=medicaid)
    return {"posted": posted, "partly": partly}


def test_each_payer_and_day_is_one_row_with_its_figures(org, payer, medicaid, scenery):
    report = daily_reconciliation(org, start=DAY - timedelta(days=6), end=DAY)
    assert [(r.day, r.payer_name) for r in report.rows] == [
        (DAY, "Great Lakes Medicaid"),
        (DAY, "Prairie Mutual"),
    ]
    medicaid_row, prairie = report.rows

    assert (prairie.deposits_count, prairie.deposits_total) == (2, D("1210.00"))
    # The duplicate is left out; the zero-pay notice counts but expects no deposit.
    assert (prairie.remittances_count, prairie.remittances_total) == (3, D("1200.00"))
    # Posted: 500 + 425 + 200 claim payments, less the posted 25.00 withholding.
    assert prairie.posted_total == D("1100.00")
    assert prairie.difference == D("100.00")
    assert prairie.bank_difference == D("10.00")
    assert (prairie.unmatched_deposits_count, prairie.unmatched_deposits_total) == (1, D("310.00"))
    assert (prairie.unmatched_remittances_count, prairie.unmatched_remittances_total) == (1, D("300.00"))
    assert not prairie.is_reconciled
    assert prairie.payer_key == str(payer.reference)

    assert (medicaid_row.deposits_total, medicaid_row.unmatched_deposits_count) == (D("42.00"), 1)
    assert medicaid_row.remittances_count == 0

    assert report.totals.deposits_total == D("1252.00")
    assert report.totals.remittances_total == D("1200.00")


def test_the_report_filters_by_payer_and_dates(org, payer, medicaid, scenery):
    only = daily_reconciliation(org, start=DAY, end=DAY, payer=medicaid)
    assert [r.payer_name for r in only.rows] == ["Great Lakes Medicaid"]
    earlier = daily_reconciliation(org, start=DAY - timedelta(days=40), end=DAY - timedelta(days=1))
    assert [(r.day, r.remittances_total) for r in earlier.rows] == [(DAY - timedelta(days=30), D("50.00"))]


def test_deposits_without_a_payer_count_under_their_remittances_payer(org, posting_specialist, payer):
    ClaimPaymentFactory(
        payment=payment(org, payer=payer, trace_number="X1", total_paid=D("80.00")), paid=D("80.00")
    )
    deposit(org, posting_specialist, trace_number="X1", amount="80.00")  # no payer given: matched to X1
    deposit(org, posting_specialist, trace_number="Y1", amount="12.00")  # no payer, unmatched
    rows = daily_reconciliation(org, start=DAY, end=DAY).rows
    assert [(r.payer_name, r.deposits_total, r.payer_key) for r in rows] == [
        ("Prairie Mutual", D("80.00"), str(payer.reference)),
        ("Payer not identified", D("12.00"), "unidentified"),
    ]
    assert rows[0].is_reconciled


def test_the_report_takes_the_same_queries_for_one_row_or_many(org, posting_specialist):
    def queries_for(payers: int, days: int) -> int:
        for p in range(payers):
            payer = PayerFactory(organization=org)
            for d in range(days):
                remittance = payment(org, payer=payer, payment_date=DAY - timedelta(days=d))
                ClaimPaymentFactory(payment=remittance)
                ProviderAdjustmentFactory(payment=remittance)
                deposit(
                    org,
                    posting_specialist,
                    trace_number=f"{payers}-{p}-{d}",
                    deposit_date=DAY - timedelta(days=d),
                )
        with CaptureQueriesContext(connection) as captured:
            report = daily_reconciliation(org, start=DAY - timedelta(days=6), end=DAY)
        assert len(report.rows) >= payers * days
        return len(captured)

    assert queries_for(1, 1) == queries_for(4, 5) == 5


def test_a_day_lists_its_deposits_and_payments_with_trace_matches(
    org, payer, scenery, django_assert_max_num_queries
):
    with django_assert_max_num_queries(5):
        detail = reconciliation_day(org, day=DAY, payer=payer)
    assert [d.trace_number for d in detail.deposits] == ["P1", "P2"]
    p1, p2 = detail.deposits
    assert p1.payment == scenery["posted"]
    assert [(m.trace_number, m.difference) for m in p2.trace_matches] == [("P2", D("10.00"))]
    by_trace = {(p.trace_number, p.status): p for p in detail.payments}
    partly = by_trace[("P2", RemittancePayment.Status.POSTED)]
    assert (partly.posted_claims, partly.posted_adjustments) == (D("200.00"), D("0.00"))
    assert [(d.trace_number, d.difference) for d in partly.trace_matches] == [("P2", D("10.00"))]
    assert detail.summary.remittances_total == D("1200.00")
    assert detail.summary.posted_total == D("1100.00")
    assert detail.summary.unmatched_remittances_count == 1


def test_an_unidentified_payers_day_is_its_own(org, posting_specialist):
    payment(org, payer=None, trace_number="U1", total_paid=D("70.00"))
    deposit(org, posting_specialist, trace_number="U2", amount="5.00")
    detail = reconciliation_day(org, day=DAY, payer=None)
    assert [d.trace_number for d in detail.deposits] == ["U2"]
    assert [p.trace_number for p in detail.payments] == ["U1"]


def test_match_candidates_put_the_same_trace_first(org, posting_specialist, payer, medicaid):
    same_trace = payment(org, payer=payer, trace_number="T", total_paid=D("95.00"))
    same_amount = payment(org, payer=payer, trace_number="OTHER", total_paid=D("100.00"), payment_date=DAY)
    payment(org, payer=medicaid, trace_number="M", total_paid=D("100.00"))  # another payer
    payment(
        org, payer=payer, trace_number="FAR", total_paid=D("100.00"), payment_date=DAY - timedelta(days=40)
    )
    searched = payment(org, payer=medicaid, trace_number="LOOKUP", total_paid=D("1.00"))
    subject = deposit(org, posting_specialist, payer=payer)
    assert [c.pk for c in match_candidates(subject)] == [same_trace.pk, same_amount.pk]
    assert match_candidates(subject)[0].difference == D("5.00")
    assert searched.pk in [c.pk for c in match_candidates(subject, trace="lookup")]


def test_claims_are_found_by_either_number_of_the_payer(org, payer):
    claim = ClaimFactory(
        account=AccountFactory(patient__organization=org), payer=payer, payer_claim_number="ICN55"
    )
    other = ClaimFactory(
        account=AccountFactory(patient__organization=org), payer=PayerFactory(organization=org)
    )
    found, missing = claims_by_number(
        org, payer, [claim.patient_control_number.lower(), "icn55", other.patient_control_number, " "]
    )
    assert found == [claim]
    assert missing == [other.patient_control_number]
