"""Deposits: entry, matching to remittances (automatic and by hand), and the bank CSV import."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.models import Deposit, RemittancePayment
from claims.services.reconciliation import (
    deposit_create,
    deposit_import_csv,
    deposit_match,
    deposit_match_pending,
    deposit_unmatch,
)
from core.csvimport import CsvRejected
from core.errors import Conflict, InvalidInput, InvalidTransition
from core.models import TimelineEvent
from tests.factories import PayerFactory
from tests.factories.remittances import RemittancePaymentFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 2)


@pytest.fixture
def payer(org):
    return PayerFactory(organization=org, name="Prairie Mutual", edi_payer_id="PM001")


@pytest.fixture
def other_payer(org):
    return PayerFactory(organization=org, name="Great Lakes Medicaid", edi_payer_id="GLM77")


def payment(org, **kwargs):
    kwargs.setdefault("file__organization", org)
    return RemittancePaymentFactory(**kwargs)


def enter(org, by, **kwargs):
    values = {
        "organization": org,
        "deposit_date": DAY,
        "amount": "1250.00",
        "trace_number": "EFT0001",
        "by": by,
    }
    values.update(kwargs)
    return deposit_create(**values)


def events(deposit, kind=None):
    queryset = TimelineEvent.objects.filter(subject_id=deposit.pk, subject_type__model="deposit").order_by(
        "id"
    )
    return queryset.filter(kind=kind) if kind else queryset


# --- entry and automatic matching --------------------------------------------------------------


def test_an_entered_deposit_matches_the_remittance_with_its_trace_and_amount(org, posting_specialist, payer):
    remittance = payment(org, payer=payer, trace_number="eft0001", total_paid=Decimal("1250.00"))
    deposit = enter(org, posting_specialist, trace_number=" eft0001 ", payer=payer)

    deposit.refresh_from_db()
    assert deposit.trace_number == "EFT0001"
    assert deposit.payment == remittance
    assert deposit.matched_at is not None
    assert deposit.source == Deposit.Source.MANUAL
    assert [e.kind for e in events(deposit)] == ["claims.deposit.created", "claims.deposit.matched"]
    assert events(deposit, "claims.deposit.matched").get().data == {
        "payment": str(remittance.reference),
        "how": "automatic",
    }
    history = deposit.history.order_by("history_id")
    assert [h.history_type for h in history] == ["+", "~"]
    assert history.last().history_user == posting_specialist
    assert history.last().history_change_reason == "matched by trace number and amount"


def test_a_deposit_whose_amount_differs_stays_unmatched(org, posting_specialist):
    payment(org, trace_number="EFT0001", total_paid=Decimal("1200.00"))
    deposit = enter(org, posting_specialist)
    deposit.refresh_from_db()
    assert deposit.payment is None
    assert not events(deposit, "claims.deposit.matched").exists()


def test_payers_must_agree_when_both_are_known(org, posting_specialist, payer, other_payer):
    payment(org, payer=other_payer, trace_number="EFT0001", total_paid=Decimal("1250.00"))
    deposit = enter(org, posting_specialist, payer=payer)
    assert Deposit.objects.get(pk=deposit.pk).payment is None
    # A deposit without a payer matches a payment of any payer.
    unknown = enter(org, posting_specialist, deposit_date=DAY - timedelta(days=1))
    assert Deposit.objects.get(pk=unknown.pk).payment is not None


def test_duplicates_and_payments_of_other_organizations_are_never_matched(org, other_org, posting_specialist):
    payment(
        org, trace_number="EFT0001", total_paid=Decimal("1250.00"), status=RemittancePayment.Status.DUPLICATE
    )
    payment(other_org, trace_number="EFT0001", total_paid=Decimal("1250.00"))
    deposit = enter(org, posting_specialist)
    assert Deposit.objects.get(pk=deposit.pk).payment is None


def test_the_same_deposit_twice_is_a_conflict(org, posting_specialist):
    enter(org, posting_specialist)
    with pytest.raises(Conflict) as caught:
        enter(org, posting_specialist, trace_number="eft0001")
    assert caught.value.field == "trace_number"
    assert Deposit.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"trace_number": "  "}, "trace_number"),
        ({"trace_number": "X" * 51}, "trace_number"),
        ({"method": "bitcoin"}, "method"),
        ({"deposit_date": date.today() + timedelta(days=5)}, "deposit_date"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(org, posting_specialist, changes, field):
    with pytest.raises(InvalidInput) as caught:
        enter(org, posting_specialist, **changes)
    assert caught.value.field == field
    assert not Deposit.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_a_payer_of_another_organization_is_refused(org, other_org, posting_specialist):
    with pytest.raises(InvalidInput) as caught:
        enter(org, posting_specialist, payer=PayerFactory(organization=other_org))
    assert caught.value.field == "payer"


@pytest.mark.parametrize("who", ["rep", "senior_rep", "appeals_coordinator", "outsider"])
def test_only_posters_record_deposits(org, request, who):
    with pytest.raises(PermissionDenied):
        enter(org, request.getfixturevalue(who))
    assert not Deposit.objects.exists()


@pytest.mark.parametrize("who", ["posting_specialist", "supervisor", "admin_user"])
def test_posters_record_deposits(org, request, who):
    assert enter(org, request.getfixturevalue(who)).pk


# --- deposit_match_pending -----------------------------------------------------------------------


def test_pending_deposits_match_when_their_remittance_arrives(org, posting_specialist, payer):
    first = enter(org, posting_specialist, trace_number="A1", amount="10.00")
    second = enter(org, posting_specialist, trace_number="B2", amount="20.00", payer=payer)
    differs = enter(org, posting_specialist, trace_number="C3", amount="30.00")
    assert deposit_match_pending(organization=org) == 0

    p1 = payment(org, trace_number="a1", total_paid=Decimal("10.00"))
    p2 = payment(org, trace_number="B2", total_paid=Decimal("20.00"), payer=payer)
    payment(org, trace_number="C3", total_paid=Decimal("31.00"))

    assert deposit_match_pending(organization=org, by=posting_specialist) == 2
    assert Deposit.objects.get(pk=first.pk).payment == p1
    assert Deposit.objects.get(pk=second.pk).payment == p2
    assert Deposit.objects.get(pk=differs.pk).payment is None
    event = events(first, "claims.deposit.matched").get()
    assert event.actor == posting_specialist
    assert Deposit.objects.get(pk=first.pk).history.latest("history_id").history_user == posting_specialist
    # Running again changes nothing.
    assert deposit_match_pending(organization=org) == 0


def test_pending_matching_pairs_repeated_traces_in_date_order(org, posting_specialist):
    early = enter(
        org, posting_specialist, trace_number="CHK1", amount="50.00", deposit_date=DAY - timedelta(days=30)
    )
    late = enter(org, posting_specialist, trace_number="CHK1", amount="50.00", deposit_date=DAY)
    p_late = payment(org, trace_number="CHK1", total_paid=Decimal("50.00"), payment_date=DAY)
    p_early = payment(
        org, trace_number="CHK1", total_paid=Decimal("50.00"), payment_date=DAY - timedelta(days=31)
    )
    assert deposit_match_pending(organization=org) == 2
    assert Deposit.objects.get(pk=early.pk).payment == p_early
    assert Deposit.objects.get(pk=late.pk).payment == p_late


def test_pending_matching_without_an_actor_records_the_system_user(org, posting_specialist):
    deposit = enter(org, posting_specialist)
    payment(org, trace_number="EFT0001", total_paid=Decimal("1250.00"))
    assert deposit_match_pending(organization=org) == 1
    record = Deposit.objects.get(pk=deposit.pk).history.latest("history_id")
    assert record.history_user.email == "system@pfs.invalid"


def test_pending_matching_takes_a_fixed_number_of_queries(org, posting_specialist):
    def run(count: int) -> int:
        for n in range(count):
            trace = f"Q{count}-{n}"
            enter(org, posting_specialist, trace_number=trace, amount="5.00")
            payment(org, trace_number=trace, total_paid=Decimal("5.00"))
        with CaptureQueriesContext(connection) as queries:
            assert deposit_match_pending(organization=org, by=posting_specialist) == count
        return len(queries)

    assert run(2) == run(12)


def test_pending_matching_with_nothing_to_do_is_one_read(org):
    with CaptureQueriesContext(connection) as queries:
        assert deposit_match_pending(organization=org) == 0
    assert len([q for q in queries if "SAVEPOINT" not in q["sql"]]) == 1


# --- manual match and unmatch ------------------------------------------------------------------


def test_a_deposit_is_matched_by_hand_with_a_reason_and_the_difference_noted(org, posting_specialist):
    remittance = payment(org, trace_number="EFT0001", total_paid=Decimal("1200.00"))
    deposit = enter(org, posting_specialist)
    deposit_match(deposit=deposit, payment=remittance, by=posting_specialist, reason="bank fee of 50.00")
    deposit.refresh_from_db()
    assert deposit.payment == remittance
    event = events(deposit, "claims.deposit.matched").get()
    assert event.data["how"] == "manual"
    assert event.data["difference"] == "50.00"
    assert "differs by $50.00" in event.summary
    assert deposit.history.latest("history_id").history_change_reason == "bank fee of 50.00"


def test_manual_matching_refuses_what_makes_no_sense(org, other_org, posting_specialist):
    remittance = payment(org, trace_number="X", total_paid=Decimal("10.00"))
    deposit = enter(org, posting_specialist)
    with pytest.raises(InvalidInput) as caught:
        deposit_match(deposit=deposit, payment=remittance, by=posting_specialist, reason=" ")
    assert caught.value.field == "reason"
    with pytest.raises(InvalidInput):
        deposit_match(deposit=deposit, payment=payment(other_org), by=posting_specialist, reason="x")
    duplicate = payment(org, status=RemittancePayment.Status.DUPLICATE)
    with pytest.raises(InvalidInput):
        deposit_match(deposit=deposit, payment=duplicate, by=posting_specialist, reason="x")

    deposit_match(deposit=deposit, payment=remittance, by=posting_specialist, reason="same check")
    with pytest.raises(InvalidTransition):
        deposit_match(deposit=deposit, payment=payment(org), by=posting_specialist, reason="again")
    another = enter(org, posting_specialist, trace_number="OTHER")
    with pytest.raises(Conflict):
        deposit_match(deposit=another, payment=remittance, by=posting_specialist, reason="taken")


def test_unmatching_opens_both_sides_again(org, posting_specialist, rep):
    remittance = payment(org, trace_number="EFT0001", total_paid=Decimal("1250.00"))
    deposit = enter(org, posting_specialist)
    with pytest.raises(PermissionDenied):
        deposit_unmatch(deposit=deposit, by=rep, reason="no")
    deposit_unmatch(deposit=deposit, by=posting_specialist, reason="wrong payer")
    deposit.refresh_from_db()
    assert deposit.payment is None and deposit.matched_at is None
    record = deposit.history.latest("history_id")
    assert (record.history_user, record.history_change_reason) == (posting_specialist, "wrong payer")
    assert events(deposit, "claims.deposit.unmatched").get().data == {
        "payment": str(remittance.reference),
        "reason": "wrong payer",
    }
    with pytest.raises(InvalidTransition):
        deposit_unmatch(deposit=deposit, by=posting_specialist, reason="again")


def test_representatives_may_not_match_by_hand(org, posting_specialist, rep):
    remittance = payment(org, trace_number="Z", total_paid=Decimal("1.00"))
    deposit = enter(org, posting_specialist)
    with pytest.raises(PermissionDenied):
        deposit_match(deposit=deposit, payment=remittance, by=rep, reason="x")
    assert Deposit.objects.get(pk=deposit.pk).payment is None


# --- CSV import -----------------------------------------------------------------------------------

GOOD_FILE = (
    "deposit_date,amount,trace_number,method,payer,bank_reference\n"
    "2026-11-02,1250.00,eft0001,eft,PM001,BANK-1\n"
    '11/02/2026,"$310.45",88123,CHK,Prairie Mutual,\n'
    "2026-11-01,75.10,WIRE9,fwt,,\n"
)


def test_a_bank_file_is_imported_and_matched(org, posting_specialist, payer):
    remittance = payment(org, trace_number="EFT0001", total_paid=Decimal("1250.00"), payer=payer)
    result = deposit_import_csv(
        organization=org, data=GOOD_FILE.encode(), by=posting_specialist, filename="nov-02.csv"
    )
    assert (result.rows, result.created, result.existing, result.matched) == (3, 3, 0, 1)
    assert result.summary == "3 deposits added, 0 already recorded, 1 matched to a remittance"
    deposits = {d.trace_number: d for d in Deposit.objects.all()}
    assert deposits["EFT0001"].payment == remittance
    assert deposits["88123"].method == Deposit.Method.CHECK
    assert deposits["88123"].amount == Decimal("310.45")
    assert deposits["88123"].payer == payer
    assert deposits["WIRE9"].method == Deposit.Method.WIRE
    assert deposits["WIRE9"].payer is None
    assert {d.source for d in deposits.values()} == {Deposit.Source.CSV}
    created = deposits["WIRE9"].history.get()
    assert (created.history_user, created.history_change_reason) == (
        posting_specialist,
        "imported from nov-02.csv",
    )
    assert events(deposits["WIRE9"], "claims.deposit.created").get().data["filename"] == "nov-02.csv"


def test_importing_the_same_file_again_adds_nothing(org, posting_specialist, payer):
    deposit_import_csv(organization=org, data=GOOD_FILE.encode(), by=posting_specialist)
    result = deposit_import_csv(organization=org, data=GOOD_FILE.encode(), by=posting_specialist)
    assert (result.created, result.existing, result.matched) == (0, 3, 0)
    assert Deposit.objects.count() == 3


def test_every_problem_is_listed_by_line_and_column_and_nothing_is_written(org, posting_specialist, payer):
    PayerFactory(organization=org, name="Twin One", edi_payer_id="TWIN1")
    PayerFactory(organization=org, name="Twin Two", edi_payer_id="twin1")
    future = (date.today() + timedelta(days=3)).isoformat()
    content = (
        "deposit_date,amount,trace_number,method,payer\n"
        "2026-13-40,10.00,T1,eft,\n"
        "2026-11-02,abc,T2,eft,\n"
        "2026-11-02,10.00,,eft,\n"
        "2026-11-02,10.00,T4,cash,\n"
        "2026-11-02,10.00,T5,eft,Nobody Insurance\n"
        "2026-11-02,10.00,T6,eft,Twin1\n"
        f"{future},10.00,T7,eft,\n"
        "2026-11-02,10.00,T8,eft,PM001\n"
        "2026-11-02,10.00,t8,eft,\n"
        "2026-11-02,0,T9,eft,\n"
    )
    with pytest.raises(CsvRejected) as caught:
        deposit_import_csv(organization=org, data=content.encode(), by=posting_specialist)
    found = [(e.line, e.column) for e in caught.value.errors]
    assert found == [
        (2, "deposit_date"),
        (3, "amount"),
        (4, "trace_number"),
        (5, "method"),
        (6, "payer"),
        (7, "payer"),
        (8, "deposit_date"),
        (10, "trace_number"),
        (11, "amount"),
    ]
    messages = {(e.line, e.column): e.message for e in caught.value.errors}
    assert "also on line 9" in messages[(10, "trace_number")]
    assert "names 2 payers" in messages[(7, "payer")]
    assert "Nobody Insurance" in messages[(6, "payer")]
    assert "in the future" in messages[(8, "deposit_date")]
    assert not Deposit.objects.exists()
    assert not TimelineEvent.objects.exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the file is empty"),
        (b"deposit_date,amount\n2026-11-02,1.00\n", "required column is missing"),
        (b"deposit_date,amount,trace_number,color\n2026-11-02,1,T,red\n", "unknown column"),
        (b"deposit_date,amount,trace_number\n", "no rows"),
        (b"\xff\xfe\x00d", "not UTF-8"),
    ],
)
def test_unreadable_files_are_refused_with_the_reason(org, posting_specialist, content, problem):
    with pytest.raises(CsvRejected) as caught:
        deposit_import_csv(organization=org, data=content, by=posting_specialist)
    assert problem in str(caught.value.errors[0])


def test_only_posters_import_deposits(org, rep):
    with pytest.raises(PermissionDenied):
        deposit_import_csv(organization=org, data=GOOD_FILE.encode(), by=rep)


# --- races -----------------------------------------------------------------------------------------


def test_a_deposit_matched_meanwhile_is_not_matched_again(org, posting_specialist):
    first = payment(org, trace_number="R1", total_paid=Decimal("10.00"))
    second = payment(org, trace_number="R2", total_paid=Decimal("10.00"))
    deposit = enter(org, posting_specialist, trace_number="R0", amount="10.00")
    stale = Deposit.objects.get(pk=deposit.pk)  # the page was loaded before someone else matched it
    deposit_match(deposit=deposit, payment=first, by=posting_specialist, reason="first person")
    with pytest.raises(InvalidTransition):
        deposit_match(deposit=stale, payment=second, by=posting_specialist, reason="second person")
    assert Deposit.objects.get(pk=deposit.pk).payment == first


def test_a_payment_taken_while_waiting_for_its_lock_is_not_given_twice(org, posting_specialist, monkeypatch):
    from claims.services import reconciliation

    remittance = payment(org, trace_number="RACE", total_paid=Decimal("10.00"))
    winner = enter(org, posting_specialist, trace_number="RACE", amount="10.00")
    assert Deposit.objects.get(pk=winner.pk).payment == remittance
    loser = Deposit.objects.create(
        organization=org,
        deposit_date=DAY - timedelta(days=1),
        amount=Decimal("10.00"),
        trace_number="RACE",
        entered_by=posting_specialist,
    )
    # As if the NOT EXISTS was read before the winner's match committed: the payment still looks open.
    unfiltered = RemittancePayment.objects.filter(organization=org)
    monkeypatch.setattr(reconciliation, "open_payments", lambda organization: unfiltered)
    assert deposit_match_pending(organization=org) == 0
    assert Deposit.objects.get(pk=loser.pk).payment is None
