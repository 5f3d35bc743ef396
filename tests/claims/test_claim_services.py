"""Claim services: built from charges (and refused when they cannot be billed), submitted with a
timely-filing deadline on the business-day calendar, moved through the transition table, corrected
and noted; each change writes row history and a timeline event on the account."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction as django_transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.ledger import EntrySpec, lock_account, post_entries
from accounts.models import ChargeEdit, LedgerEntry
from claims import demo
from claims.models import Claim, ClaimNote
from claims.services.claims import (
    claim_change_status,
    claim_correct,
    claim_create_from_charges,
    claim_note_add,
    claim_submit,
    timely_filing_deadline_for,
)
from core.errors import Conflict, InvalidInput, InvalidTransition, NotPermitted
from core.models import TimelineEvent
from payers.models import Payer
from staff.models import OrganizationClosure
from tests.factories import AccountFactory, CoverageFactory, PayerFactory, PayerRuleFactory, PlanFactory

D = Decimal


def charge(code="99213", amount="150.00", day=date(2026, 9, 1), **kw):
    kw.setdefault("diagnoses", ("E119",))
    return account_services.ChargeInput(service_date=day, code_type="cpt", code=code, amount=D(amount), **kw)


@pytest.fixture
def account(org):
    return AccountFactory(patient__organization=org, account_number="PCN-1001")


@pytest.fixture
def coverage(account):
    coverage = CoverageFactory(patient=account.patient, priority=1)
    PayerRuleFactory(payer=coverage.plan.payer, timely_filing_days=90, corrected_claim_days=60)
    return coverage


@pytest.fixture
def charges(account, coverage, posting_specialist):
    return account_services.charge_post(
        account=account,
        items=[charge(day=date(2026, 9, 2), diagnoses=("I10", "E119")), charge("99214", "200.00")],
        by=posting_specialist,
    )


@pytest.fixture
def claim(account, coverage, charges, posting_specialist):
    return claim_create_from_charges(
        account=account, coverage=coverage, charges=charges, by=posting_specialist
    )


def events(account, kind):
    return [e for e in TimelineEvent.objects.filter(kind=kind) if e.subject_id == account.pk]


# --- creating from charges ---------------------------------------------------------------------------


def test_it_builds_a_claim_from_the_charges_with_lines_amounts_dates_and_diagnoses(
    account, coverage, charges, claim, posting_specialist
):
    assert claim.status == Claim.Status.CREATED
    assert claim.source == Claim.Source.CHARGES
    assert (claim.payer, claim.coverage, claim.patient_control_number) == (
        coverage.plan.payer,
        coverage,
        "PCN-1001",
    )
    assert claim.kind == Claim.Kind.PROFESSIONAL
    assert claim.billed_amount == D("350.00")
    assert (claim.service_from, claim.service_to) == (date(2026, 9, 1), date(2026, 9, 2))
    assert claim.diagnoses == ["E119", "I10"]
    lines = list(claim.lines.order_by("line_number"))
    assert [(line.line_number, line.code, line.billed_amount, line.charge_id) for line in lines] == [
        (1, "99214", D("200.00"), charges[1].pk),
        (2, "99213", D("150.00"), charges[0].pk),
    ]
    # The deadline is known as soon as the claim exists: 90 days from the last date of service.
    assert claim.timely_filing_deadline == date(2026, 12, 1)


def test_creating_a_claim_writes_history_and_a_timeline_event_on_the_account(
    account, claim, posting_specialist
):
    (row,) = claim.history.all()
    assert (row.history_type, row.history_user, row.history_change_reason) == (
        "+",
        posting_specialist,
        "claim created from charges",
    )
    (event,) = events(account, "claims.claim.created")
    assert event.actor == posting_specialist
    assert event.data["claim"] == str(claim.reference)
    assert "PCN-1001" in event.summary and "$350.00" in event.summary


def test_it_refuses_charges_with_open_edits_and_names_them(account, coverage, posting_specialist):
    (flagged,) = account_services.charge_post(
        account=account, items=[charge(diagnoses=())], by=posting_specialist
    )
    with pytest.raises(InvalidInput) as refused:
        claim_create_from_charges(
            account=account, coverage=coverage, charges=[flagged], by=posting_specialist
        )
    assert refused.value.field == "charges"
    assert "Diagnosis missing" in refused.value.message and "99213" in refused.value.message
    assert not Claim.objects.exists()

    edit = ChargeEdit.objects.get(charge=flagged)
    account_services.charge_edit_override(edit=edit, reason="Screening visit", by=posting_specialist)
    claim = claim_create_from_charges(
        account=account, coverage=coverage, charges=[flagged], by=posting_specialist
    )
    assert claim.lines.get().charge == flagged


def test_an_edit_on_another_charge_of_the_account_does_not_block_the_claim(
    account, coverage, posting_specialist
):
    good, _flagged = account_services.charge_post(
        account=account, items=[charge(), charge("99215", diagnoses=())], by=posting_specialist
    )
    claim = claim_create_from_charges(
        account=account, coverage=coverage, charges=[good], by=posting_specialist
    )
    assert claim.billed_amount == D("150.00")


def test_it_refuses_reversed_charges_and_charges_of_another_account(
    org, account, coverage, charges, posting_specialist
):
    entry = charges[0].ledger_entries.get()
    account_services.entry_reverse(entry=entry, reason="Posted in error", by=posting_specialist)
    with pytest.raises(InvalidInput, match="is reversed"):
        claim_create_from_charges(account=account, coverage=coverage, charges=charges, by=posting_specialist)

    other = AccountFactory(patient__organization=org)
    CoverageFactory(patient=other.patient)
    (foreign,) = account_services.charge_post(account=other, items=[charge()], by=posting_specialist)
    with pytest.raises(InvalidInput, match="belongs to another account"):
        claim_create_from_charges(
            account=account, coverage=coverage, charges=[charges[1], foreign], by=posting_specialist
        )


def test_a_charge_is_billed_once_to_a_payer_but_may_go_to_the_secondary(
    account, coverage, charges, claim, posting_specialist
):
    with pytest.raises(InvalidInput, match="already on open claim PCN-1001"):
        claim_create_from_charges(
            account=account, coverage=coverage, charges=charges[:1], by=posting_specialist
        )
    secondary = CoverageFactory(patient=account.patient, priority=2)
    second = claim_create_from_charges(
        account=account, coverage=secondary, charges=charges[:1], by=posting_specialist
    )
    assert second.payer == secondary.plan.payer
    # Once the first claim is voided, its charges may go on a new claim to the same payer.
    claim_change_status(claim=claim, status="void", by=posting_specialist, reason="Wrong payer")
    again = claim_create_from_charges(
        account=account, coverage=coverage, charges=charges, by=posting_specialist
    )
    assert again.lines.count() == 2


def test_it_refuses_a_coverage_of_another_patient_and_an_empty_selection(
    org, account, charges, posting_specialist
):
    stranger = CoverageFactory(patient__organization=org)
    with pytest.raises(InvalidInput, match="not a coverage of this account's patient"):
        claim_create_from_charges(account=account, coverage=stranger, charges=charges, by=posting_specialist)
    own = CoverageFactory(patient=account.patient)
    with pytest.raises(InvalidInput, match="at least one charge"):
        claim_create_from_charges(account=account, coverage=own, charges=[], by=posting_specialist)


@pytest.mark.parametrize("role", ["rep", "appeals_coordinator"])
def test_only_claim_workers_create_claims(request, role, account, coverage, charges):
    with pytest.raises(NotPermitted):
        claim_create_from_charges(
            account=account, coverage=coverage, charges=charges, by=request.getfixturevalue(role)
        )
    assert not Claim.objects.exists()


def test_a_pharmacy_claim_carries_the_prescription_fields_and_the_pbms_bin_and_pcn(org, posting_specialist):
    account = AccountFactory(patient__organization=org, kind="pharmacy")
    pbm = PayerFactory(organization=org, kind=Payer.Kind.PBM, bin="019901", pcn="KRXCOMM")
    plan = PlanFactory(payer=pbm, organization=org)
    coverage = CoverageFactory(patient=account.patient, plan=plan, group_number="RXG77")
    (fill,) = account_services.charge_post(
        account=account,
        items=[
            account_services.ChargeInput(
                service_date=date(2026, 9, 3),
                code_type="ndc",
                code="00002322730",
                amount=D("84.10"),
                rx_number="RX448812",
                fill_number=1,
                quantity=D("30"),
                days_supply=30,
            )
        ],
        by=posting_specialist,
    )
    claim = claim_create_from_charges(
        account=account, coverage=coverage, charges=[fill], by=posting_specialist
    )
    assert claim.kind == Claim.Kind.PHARMACY
    assert (claim.bin, claim.pcn, claim.rx_group) == ("019901", "KRXCOMM", "RXG77")
    line = claim.lines.get()
    assert (line.rx_number, line.fill_number, line.ndc, line.quantity, line.days_supply) == (
        "RX448812",
        1,
        "00002322730",
        D("30.000"),
        30,
    )


# --- submitting and the timely-filing deadline ---------------------------------------------------------


def test_submitting_stamps_the_day_and_the_deadline_and_records_both_layers(
    account, claim, posting_specialist
):
    claim_submit(claim=claim, by=posting_specialist, submitted_on=date(2026, 9, 20))
    claim.refresh_from_db()
    assert (claim.status, claim.submitted_on, claim.timely_filing_deadline) == (
        "submitted",
        date(2026, 9, 20),
        date(2026, 12, 1),
    )
    latest = claim.history.first()
    assert (latest.status, latest.history_user, latest.history_change_reason) == (
        "submitted",
        posting_specialist,
        "submitted to the payer",
    )
    (event,) = events(account, "claims.claim.submitted")
    assert "12/01/2026" in event.summary and event.data["late"] is False


@pytest.mark.parametrize(
    ("service_day", "deadline", "why"),
    [
        (date(2026, 1, 11), date(2026, 4, 13), "90 days after is Saturday 04/11: Monday"),
        (date(2025, 9, 26), date(2025, 12, 26), "90 days after is Christmas Day: the day after"),
        (date(2025, 9, 3), date(2025, 12, 2), "no weekend or holiday: as counted"),
    ],
)
def test_a_deadline_on_a_weekend_or_holiday_moves_to_the_next_business_day(
    org, service_day, deadline, why, posting_specialist
):
    account = AccountFactory(patient__organization=org, service_from=service_day)
    coverage = CoverageFactory(patient=account.patient)
    PayerRuleFactory(payer=coverage.plan.payer, effective_from=date(2020, 1, 1), timely_filing_days=90)
    charges = account_services.charge_post(
        account=account, items=[charge(day=service_day)], by=posting_specialist
    )
    claim = claim_create_from_charges(
        account=account, coverage=coverage, charges=charges, by=posting_specialist
    )
    assert claim.timely_filing_deadline == deadline, why


def test_an_organization_closure_also_moves_the_deadline(org, account, claim):
    OrganizationClosure.objects.create(organization=org, date=date(2026, 12, 1), reason="Systems move")
    assert timely_filing_deadline_for(claim) == date(2026, 12, 2)


def test_the_rule_in_force_on_the_date_of_service_decides(account, coverage, claim):
    # The payer shortened its limit from October: September services keep the 90 days.
    PayerRuleFactory(payer=coverage.plan.payer, effective_from=date(2026, 10, 1), timely_filing_days=30)
    assert timely_filing_deadline_for(claim) == date(2026, 12, 1)
    claim.payer.rules.all().delete()
    assert timely_filing_deadline_for(claim) is None


def test_a_late_submission_is_recorded_and_said_to_be_late(account, claim, posting_specialist):
    claim_submit(claim=claim, by=posting_specialist, submitted_on=date(2026, 12, 3))
    (event,) = events(account, "claims.claim.submitted")
    assert event.data["late"] is True and "after the deadline" in event.summary


def test_it_refuses_a_submission_date_in_the_future_or_before_the_service(claim, posting_specialist):
    with pytest.raises(InvalidInput, match="future"):
        claim_submit(
            claim=claim, by=posting_specialist, submitted_on=timezone.localdate() + timedelta(days=1)
        )
    with pytest.raises(InvalidInput, match="before the first date of service"):
        claim_submit(claim=claim, by=posting_specialist, submitted_on=date(2026, 8, 1))
    claim.refresh_from_db()
    assert claim.status == Claim.Status.CREATED


def test_a_submitted_claim_cannot_be_submitted_again_until_the_payer_answers(claim, posting_specialist):
    claim_submit(claim=claim, by=posting_specialist)
    with pytest.raises(InvalidTransition, match="submitted, awaiting payer cannot become submitted"):
        claim_submit(claim=claim, by=posting_specialist)


# --- the transition table ------------------------------------------------------------------------


def test_allowed_transitions_move_the_claim_and_write_both_audit_layers(account, claim, supervisor):
    claim_submit(claim=claim, by=supervisor)
    claim_change_status(claim=claim, status="denied", by=supervisor, reason="CO-16 missing information")
    claim_change_status(claim=claim, status="submitted", by=supervisor, reason="Resent with the referral")
    claim_change_status(claim=claim, status="paid", by=supervisor, reason="Paid per 835")
    claim_change_status(claim=claim, status="closed", by=supervisor, reason="Balance settled")
    claim.refresh_from_db()
    assert claim.status == "closed"
    statuses = [(h.status, h.history_change_reason) for h in claim.history.order_by("history_id")]
    assert statuses == [
        ("created", "claim created from charges"),
        ("submitted", "submitted to the payer"),
        ("denied", "CO-16 missing information"),
        ("submitted", "Resent with the referral"),
        ("paid", "Paid per 835"),
        ("closed", "Balance settled"),
    ]
    changed = events(account, "claims.claim.status_changed")
    assert [(e.data["old"], e.data["new"]) for e in reversed(changed)] == [
        ("submitted", "denied"),
        ("denied", "submitted"),
        ("submitted", "paid"),
        ("paid", "closed"),
    ]
    assert all(e.actor == supervisor and e.data["claim"] == str(claim.reference) for e in changed)


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "paid"),  # created: the payer has not seen it
        ([], "closed"),
        (["submitted", "void"], "submitted"),  # void is the end
        (["submitted", "pended"], "closed"),
        (["submitted"], "created"),
    ],
)
def test_forbidden_transitions_are_refused_and_change_nothing(claim, supervisor, path, target):
    for status in path:
        claim_change_status(claim=claim, status=status, by=supervisor, reason="step")
    before = claim.history.count()
    with pytest.raises(InvalidTransition) as refused:
        claim_change_status(claim=claim, status=target, by=supervisor, reason="try")
    assert refused.value.field == "status"
    claim.refresh_from_db()
    assert claim.status == (path[-1] if path else "created")
    assert claim.history.count() == before


def test_a_status_change_needs_a_known_status_a_reason_and_a_claim_worker(claim, supervisor, rep):
    with pytest.raises(InvalidInput, match="not a claim status"):
        claim_change_status(claim=claim, status="lost", by=supervisor, reason="x")
    with pytest.raises(InvalidInput, match="say why"):
        claim_change_status(claim=claim, status="submitted", by=supervisor, reason="  ")
    with pytest.raises(NotPermitted):
        claim_change_status(claim=claim, status="submitted", by=rep, reason="Sent")


def test_the_transition_is_checked_against_the_row_as_it_is_now(claim, supervisor):
    stale = Claim.objects.get(pk=claim.pk)
    claim_change_status(claim=claim, status="void", by=supervisor, reason="Duplicate")
    with pytest.raises(InvalidTransition):
        claim_change_status(claim=stale, status="submitted", by=supervisor, reason="Send")


# --- corrections and notes -----------------------------------------------------------------------------


def test_a_replacement_copies_the_lines_and_points_to_the_original(account, claim, posting_specialist):
    claim_submit(claim=claim, by=posting_specialist)
    claim_change_status(claim=claim, status="denied", by=posting_specialist, reason="Wrong modifier")
    Claim.objects.filter(pk=claim.pk).update(last_remittance_on=date(2026, 10, 15))
    claim.refresh_from_db()
    replacement = claim_correct(claim=claim, frequency="7", by=posting_specialist, reason="Modifier 25 added")
    assert (replacement.frequency, replacement.original_claim, replacement.status) == ("7", claim, "created")
    assert replacement.patient_control_number == claim.patient_control_number
    assert [(line.line_number, line.charge_id, line.billed_amount) for line in replacement.lines.all()] == [
        (line.line_number, line.charge_id, line.billed_amount) for line in claim.lines.all()
    ]
    # A correction has the payer's corrected-claim clock: 60 days from its decision on the original.
    assert replacement.timely_filing_deadline == date(2026, 12, 14)
    claim.refresh_from_db()
    assert claim.status == "denied"
    (event,) = events(account, "claims.claim.corrected")
    assert event.data == {
        "claim": str(replacement.reference),
        "patient_control_number": "PCN-1001",
        "original": str(claim.reference),
        "frequency": "7",
        "reason": "Modifier 25 added",
    }
    with pytest.raises(Conflict, match="replacement of this claim is already created"):
        claim_correct(claim=claim, frequency="8", by=posting_specialist, reason="Void it")


def test_a_claim_the_payer_never_saw_or_a_void_cannot_be_corrected(claim, posting_specialist):
    with pytest.raises(InvalidTransition, match="nothing to correct"):
        claim_correct(claim=claim, frequency="7", by=posting_specialist, reason="Fix")
    claim_submit(claim=claim, by=posting_specialist)
    void = claim_correct(claim=claim, frequency="8", by=posting_specialist, reason="Billed in error")
    claim_submit(claim=void, by=posting_specialist)
    with pytest.raises(InvalidTransition, match="void claim cannot be corrected"):
        claim_correct(claim=void, frequency="7", by=posting_specialist, reason="Fix")
    with pytest.raises(InvalidInput, match="choose 7"):
        claim_correct(claim=claim, frequency="1", by=posting_specialist, reason="Fix")


def test_anyone_in_the_organization_adds_notes_and_the_timeline_keeps_no_text(account, claim, rep, outsider):
    note = claim_note_add(claim=claim, text="  Called payer: in process, ref 8812.  ", by=rep)
    assert (note.text, note.author, note.organization_id) == (
        "Called payer: in process, ref 8812.",
        rep,
        claim.organization_id,
    )
    (event,) = events(account, "claims.claim.note_added")
    assert "8812" not in event.summary and "8812" not in str(event.data)
    with pytest.raises(InvalidInput, match="write the note"):
        claim_note_add(claim=claim, text=" ", by=rep)
    with pytest.raises(NotPermitted):
        claim_note_add(claim=claim, text="Hello", by=outsider)
    assert ClaimNote.objects.count() == 1


# --- demo data -------------------------------------------------------------------------------------


def test_the_demo_bills_clean_accounts_once_and_marks_those_already_paid(
    org, account, coverage, charges, posting_specialist, monkeypatch
):
    monkeypatch.setattr(demo, "SHARE", 100)
    blocked = AccountFactory(patient__organization=org)
    CoverageFactory(patient=blocked.patient)
    account_services.charge_post(account=blocked, items=[charge(diagnoses=())], by=posting_specialist)
    self_pay = AccountFactory(patient__organization=org)
    account_services.charge_post(account=self_pay, items=[charge()], by=posting_specialist)
    with django_transaction.atomic():
        lock_account(account)
        post_entries(
            account=account,
            specs=[
                EntrySpec(
                    LedgerEntry.Kind.INSURANCE_PAYMENT,
                    D("-120.00"),
                    coverage.pk,
                    effective_date=date(2026, 9, 30),
                )
            ],
            source="835",
            by=posting_specialist,
        )

    assert demo.seed_organization(org, posting_specialist, today=date(2026, 12, 6)) == 1
    claim = Claim.objects.get()
    assert (claim.account, claim.status, claim.paid_amount, claim.last_remittance_on) == (
        account,
        "paid",
        D("120.00"),
        date(2026, 9, 30),
    )
    assert claim.submitted_on is not None and claim.submitted_on > claim.service_to
    assert demo.seed_organization(org, posting_specialist) == 0
