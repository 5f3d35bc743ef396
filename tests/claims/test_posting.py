"""835 import and posting: matching, ledger effects, denials, reversals, PLB, variances,
exceptions, idempotency, crash recovery and permissions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import LedgerEntry
from claims.models import (
    Claim,
    ClaimPayment,
    Denial,
    PostingException,
    RemittanceFile,
    Variance,
)
from claims.posting import engine
from claims.services.remittances import exception_dismiss, exception_resolve, remittance_import
from core.errors import InvalidInput, NotPermitted
from core.models import TimelineEvent
from tests.claims.posting_helpers import SAMPLES, billed_claim, bucket, edi, make_payer
from tests.factories.payers import ContractFactory, FeeScheduleEntryFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _import(org, by, data, name="remit.835"):
    return remittance_import(organization=org, data=data, filename=name, channel="upload", by=by)


@pytest.fixture
def managed_care(org, posting_specialist):
    payer = make_payer(org)
    first = billed_claim(org, payer, "5554555444", [("99211", date(2002, 3, 1), 800)], posting_specialist)
    second = billed_claim(org, payer, "8765432112", [("93555", date(2002, 3, 10), 1200)], posting_specialist)
    return payer, first, second


def test_it_posts_payments_contractuals_and_patient_share(org, posting_specialist, managed_care):
    _payer, first, second = managed_care
    outcome = _import(org, posting_specialist, (SAMPLES / "managed-care.835").read_bytes())

    assert not outcome.duplicate
    assert (
        outcome.summary["claims"] == 2 and outcome.summary["posted"] == 2 and outcome.summary["matched"] == 2
    )
    assert outcome.summary["total_paid"] == "945.00"
    assert outcome.file.status == RemittanceFile.Status.POSTED
    for claim, patient_share in ((first, D("300.00")), (second, D("600.00"))):
        claim.refresh_from_db()
        account = claim.account
        account.refresh_from_db()
        assert bucket(account, claim.coverage_id) == D("0.00")
        assert bucket(account, None) == patient_share
        assert account.balance == patient_share
        assert claim.status == Claim.Status.PAID
        assert claim.payer_claim_number
        assert claim.history.first().history_change_reason == "remittance posted"
    kinds = sorted(
        LedgerEntry.objects.filter(account=second.account, source="835").values_list("kind", "amount")
    )
    assert ("contractual_adjustment", D("-55.00")) in kinds and (
        "contractual_adjustment",
        D("-50.00"),
    ) in kinds
    assert ("insurance_payment", D("-495.00")) in kinds
    assert TimelineEvent.objects.filter(kind="claims.remittance.posted", subject_id=first.account_id).exists()


def test_the_same_file_twice_posts_nothing_more(org, posting_specialist, managed_care):
    data = (SAMPLES / "managed-care.835").read_bytes()
    _import(org, posting_specialist, data)
    entries = LedgerEntry.objects.count()
    again = _import(org, posting_specialist, data, name="renamed.835")
    assert again.duplicate
    assert LedgerEntry.objects.count() == entries
    assert RemittanceFile.objects.count() == 1


def test_the_same_payment_in_another_file_is_a_duplicate_exception(org, posting_specialist, managed_care):
    data = (SAMPLES / "managed-care.835").read_bytes()
    _import(org, posting_specialist, data)
    entries = LedgerEntry.objects.count()
    other = _import(org, posting_specialist, data.replace(b"DTM*405*20020314", b"DTM*405*20020315"))
    assert not other.duplicate
    assert LedgerEntry.objects.count() == entries
    assert PostingException.objects.filter(kind="duplicate_payment", payment__file=other.file).count() == 1


def test_patient_share_moves_to_the_secondary_coverage(org, posting_specialist):
    payer = make_payer(org)
    secondary = make_payer(org, name="SECOND PAYER", edi="777")
    claim = billed_claim(
        org,
        payer,
        "PCN100",
        [("99213", date(2026, 3, 1), 200)],
        posting_specialist,
        secondary_payer=secondary,
    )
    data = edi("CLP*PCN100*1*200*120*50*12*ICN100", "CAS*CO*45*30", "CAS*PR*2*50", total="120")
    _import(org, posting_specialist, data)
    account = claim.account
    secondary_coverage = account.patient.coverages.get(priority=2)
    assert bucket(account, secondary_coverage.pk) == D("50.00")
    assert bucket(account, None) == D("0.00")
    assert bucket(account, claim.coverage_id) == D("0.00")


def test_a_denied_claim_becomes_a_denial_and_keeps_its_balance(org, posting_specialist):
    payer = make_payer(org)
    claim = billed_claim(org, payer, "PCN200", [("99213", date(2026, 1, 5), 150)], posting_specialist)
    data = edi("CLP*PCN200*4*150*0*0*12*ICN200", "CAS*CO*29*150", "MOA***MA130", total="0")
    outcome = _import(org, posting_specialist, data)
    denial = Denial.objects.get()
    assert denial.category == Denial.Category.TIMELY_FILING
    assert denial.carc_codes == ["29"] and denial.denied_amount == D("150.00")
    assert "timely filing" in denial.recommended_action.lower()
    assert denial.history.count() == 1
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DENIED
    assert bucket(claim.account, claim.coverage_id) == D("150.00")
    assert outcome.summary["denials"] == 1


def test_a_zero_paid_line_with_a_denial_reason_is_a_line_denial(org, posting_specialist):
    payer = make_payer(org)
    claim = billed_claim(
        org,
        payer,
        "PCN300",
        [("99213", date(2026, 2, 1), 100), ("97110", date(2026, 2, 1), 80)],
        posting_specialist,
    )
    data = edi(
        "CLP*PCN300*1*180*70*0*12*ICN300",
        "SVC*HC:99213*100*70",
        "DTM*472*20260201",
        "CAS*CO*45*30",
        "SVC*HC:97110*80*0",
        "DTM*472*20260201",
        "CAS*CO*197*80",
        total="70",
    )
    _import(org, posting_specialist, data)
    denial = Denial.objects.get()
    assert denial.level == "line" and denial.category == Denial.Category.AUTHORIZATION
    assert denial.service_code == "97110"
    claim.refresh_from_db()
    assert claim.status == Claim.Status.PARTIALLY_PAID
    assert bucket(claim.account, claim.coverage_id) == D("80.00")


def test_a_reversal_undoes_the_earlier_posting_before_the_correction(org, posting_specialist):
    payer = make_payer(org)
    claim = billed_claim(org, payer, "PCN400", [("99214", date(2026, 1, 10), 300)], posting_specialist)
    _import(org, posting_specialist, edi("CLP*PCN400*1*300*200*0*12*ICN400", "CAS*CO*45*100", total="200"))
    second = edi(
        "CLP*PCN400*22*-300*-200*0*12*ICN400",
        "CAS*CO*45*-100",
        "CLP*PCN400*1*300*250*0*12*ICN401",
        "CAS*CO*45*50",
        total="50",
        trace="TRACE2",
    )
    _import(org, posting_specialist, second)
    account = claim.account
    assert bucket(account, claim.coverage_id) == D("0.00")
    reversals = LedgerEntry.objects.filter(account=account, kind="reversal")
    assert reversals.count() == 2
    assert sum(e.amount for e in reversals) == D("300.00")
    claim.refresh_from_db()
    assert claim.paid_amount == D("250.00")


def test_a_reversal_of_a_payment_never_posted_is_an_exception(org, posting_specialist):
    payer = make_payer(org)
    billed_claim(org, payer, "PCN410", [("99214", date(2026, 1, 10), 300)], posting_specialist)
    _import(
        org, posting_specialist, edi("CLP*PCN410*22*-300*-200*0*12*ICN410", "CAS*CO*45*-100", total="-200")
    )
    assert PostingException.objects.get().kind == PostingException.Kind.REVERSAL_WITHOUT_ORIGINAL
    assert not LedgerEntry.objects.filter(source="835").exists()


def test_paid_more_than_billed_balances_through_the_negative_adjustment(org, posting_specialist):
    payer = make_payer(org)
    claim = billed_claim(org, payer, "PCN500", [("99223", date(2026, 1, 3), "3740.60")], posting_specialist)
    _import(
        org,
        posting_specialist,
        edi("CLP*PCN500*1*3740.6*5451.04*0*12*ICN500", "CAS*CO*94*-1710.44", total="5451.04"),
    )
    assert bucket(claim.account, claim.coverage_id) == D("0.00")


def test_an_unbalanced_claim_is_an_exception_with_the_numbers(org, posting_specialist):
    payer = make_payer(org)
    billed_claim(org, payer, "PCN600", [("99213", date(2026, 1, 3), 100)], posting_specialist)
    _import(org, posting_specialist, edi("CLP*PCN600*1*100*60*0*12*ICN600", "CAS*CO*45*30", total="60"))
    exception = PostingException.objects.get(kind="claim_unbalanced")
    assert "$100.00" in exception.message and "$60.00" in exception.message and "$70.00" in exception.message
    assert not LedgerEntry.objects.filter(source="835").exists()


def test_unmatched_claims_wait_in_the_queue_and_post_when_matched_by_hand(org, posting_specialist):
    payer = make_payer(org)
    outcome = _import(
        org, posting_specialist, edi("CLP*NOSUCH*1*100*80*0*12*ICN700", "CAS*CO*45*20", total="80")
    )
    exception = PostingException.objects.get()
    assert exception.kind == PostingException.Kind.UNMATCHED
    assert outcome.file.status == RemittanceFile.Status.POSTED_WITH_EXCEPTIONS
    claim = billed_claim(org, payer, "OTHER-NUMBER", [("99213", date(2026, 1, 3), 100)], posting_specialist)
    with pytest.raises(InvalidInput):
        exception_resolve(exception=exception, by=posting_specialist, resolution="")
    exception_resolve(exception=exception, by=posting_specialist, resolution="Typo in PCN", claim=claim)
    exception.refresh_from_db()
    assert exception.status == "resolved" and exception.resolved_by == posting_specialist
    claim_payment = ClaimPayment.objects.get()
    assert claim_payment.posting == ClaimPayment.Posting.POSTED and claim_payment.match == "manual"
    assert bucket(claim.account, claim.coverage_id) == D("0.00")


def test_only_posting_roles_import_and_work_exceptions(org, rep, posting_specialist):
    data = edi("CLP*NOSUCH*1*100*80*0*12*ICN700", "CAS*CO*45*20", total="80")
    with pytest.raises(NotPermitted):
        _import(org, rep, data)
    _import(org, posting_specialist, data)
    with pytest.raises(NotPermitted):
        exception_dismiss(exception=PostingException.objects.get(), by=rep, reason="no")


def test_a_file_that_is_not_an_835_is_refused_and_nothing_stored(org, posting_specialist):
    for bad in (b"", b"hello world", (SAMPLES / "demo.example1.837").read_bytes()):
        with pytest.raises(InvalidInput) as info:
            _import(org, posting_specialist, bad, name="bad.txt")
        assert "bad.txt" in info.value.message
    assert not RemittanceFile.objects.exists()


def test_recoupment_and_interest_post_to_the_referenced_claim(org, posting_specialist):
    payer = make_payer(org)
    claim = billed_claim(org, payer, "PCN800", [("99213", date(2026, 1, 3), 100)], posting_specialist)
    _import(org, posting_specialist, edi("CLP*PCN800*1*100*80*0*12*ICN800", "CAS*CO*45*20", total="80"))
    _import(
        org,
        posting_specialist,
        edi(
            "CLP*NOTHERE*25*10*0*0*12*X",
            "PLB*1234567890*20261231*WO:ICN800*30*L6:ICN800*-2.50",
            total="-27.50",
            trace="TRACE9",
        ),
    )
    account = claim.account
    assert bucket(account, claim.coverage_id) == D("30.00")
    assert LedgerEntry.objects.filter(account=account, reason_code="PLB-L6").get().amount == D("-2.50")


def test_allowed_amounts_are_compared_with_the_contract(org, posting_specialist):
    payer = make_payer(org)
    contract = ContractFactory(organization=org, payer=payer, variance_tolerance=D("1.00"))
    FeeScheduleEntryFactory(organization=org, contract=contract, code="99213", allowed_amount=D("90.00"))
    billed_claim(org, payer, "PCN900", [("99213", date(2026, 1, 3), 150)], posting_specialist)
    _import(
        org,
        posting_specialist,
        edi(
            "CLP*PCN900*1*150*60*10*12*ICN900",
            "SVC*HC:99213*150*60",
            "DTM*472*20260103",
            "CAS*CO*45*80",
            "CAS*PR*3*10",
            total="60",
        ),
    )
    variance = Variance.objects.get()
    assert variance.kind == Variance.Kind.UNDERPAYMENT
    assert (variance.expected_amount, variance.allowed_amount, variance.variance_amount) == (
        D("90.00"),
        D("70.00"),
        D("20.00"),
    )


def test_a_crash_mid_posting_then_a_rerun_equals_one_clean_run(
    org, posting_specialist, managed_care, monkeypatch
):
    data = (SAMPLES / "managed-care.835").read_bytes()
    real = engine._post_chunk
    calls = {"n": 0}

    def dies_on_second_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_post_chunk", dies_on_second_chunk)
    monkeypatch.setattr(engine, "CHUNK", 1)
    monkeypatch.setattr(engine.post_file, "__kwdefaults__", {"chunk_size": 1})
    with pytest.raises(KeyboardInterrupt):
        _import(org, posting_specialist, data)
    assert ClaimPayment.objects.filter(posting="posted").count() == 1
    monkeypatch.setattr(engine, "_post_chunk", real)
    again = _import(org, posting_specialist, data)
    assert again.duplicate and again.summary["posted"] == 2
    _payer, first, second = managed_care
    for claim, share in ((first, D("300.00")), (second, D("600.00"))):
        account = claim.account
        account.refresh_from_db()
        assert account.balance == share
        assert (
            LedgerEntry.objects.filter(account=account, source="835", kind="insurance_payment").count() == 1
        )


def test_the_file_keeps_the_summary_of_its_last_run(org, posting_specialist, managed_care):
    outcome = _import(org, posting_specialist, (SAMPLES / "managed-care.835").read_bytes())
    stored = RemittanceFile.objects.get(pk=outcome.file.pk).summary
    assert stored["posted"] == 2 and stored["status"] == RemittanceFile.Status.POSTED
    assert stored["total_paid"] == "945.00"
