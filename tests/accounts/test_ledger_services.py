"""Money movements: charges, transfers, adjustments with approvals, reversals; both audit layers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from accounts import services
from accounts.aging import account_aging
from accounts.choices import AdjustmentReason
from accounts.ledger import ledger_drift
from accounts.models import AccountBucket, AdjustmentRequest, Charge, ChargeEdit, LedgerEntry, PatientAccount
from core.errors import ApprovalRequired, Conflict, InvalidInput, InvalidTransition, NotPermitted
from core.models import TimelineEvent
from staff.models import ApprovalLimit, Role
from tests.factories import AccountFactory, ApprovalLimitFactory, CoverageFactory

D = Decimal


def charge(code="99213", amount="150.00", day=date(2026, 9, 1), **kw):
    kw.setdefault("diagnoses", ("E119",))
    return services.ChargeInput(service_date=day, code_type="cpt", code=code, amount=D(amount), **kw)


@pytest.fixture
def account(org):
    return AccountFactory(patient__organization=org)


@pytest.fixture
def primary(account):
    return CoverageFactory(patient=account.patient, priority=1)


@pytest.fixture
def secondary(account):
    return CoverageFactory(patient=account.patient, priority=2)


def assert_consistent(account: PatientAccount) -> None:
    account.refresh_from_db()
    entries = LedgerEntry.objects.filter(account=account)
    assert account.balance == entries.total()
    assert account.patient_balance == entries.filter(coverage__isnull=True).total()
    assert account.insurance_balance == entries.filter(coverage__isnull=False).total()
    buckets = dict(AccountBucket.objects.filter(account=account).values_list("coverage_id", "balance"))
    assert buckets == {k: v for k, v in entries.bucket_totals().items()}
    assert ledger_drift() == []


def test_it_posts_charges_to_the_primary_coverage_bucket(account, primary, posting_specialist):
    charges = services.charge_post(
        account=account, items=[charge(), charge("99214", "200.00")], by=posting_specialist
    )
    assert [c.status for c in charges] == ["posted", "posted"]
    account.refresh_from_db()
    assert account.balance == D("350.00")
    assert account.insurance_balance == D("350.00")
    assert account.patient_balance == D("0.00")
    entry = LedgerEntry.objects.get(charge=charges[0])
    assert (entry.kind, entry.coverage_id, entry.actor) == ("charge", primary.pk, posting_specialist)
    assert entry.effective_date == date(2026, 9, 1)
    event = TimelineEvent.objects.get(kind="accounts.charges.posted")
    assert event.summary == "2 charges posted, $350.00"
    assert charges[0].history.first().history_change_reason == "charge posted (manual)"
    assert_consistent(account)


def test_self_pay_accounts_bill_the_patient(account, primary, posting_specialist):
    account.financial_class = "self_pay"
    account.save()
    services.charge_post(account=account, items=[charge()], by=posting_specialist)
    account.refresh_from_db()
    assert account.patient_balance == D("150.00")


def test_a_representative_cannot_post_charges(account, rep):
    with pytest.raises(NotPermitted):
        services.charge_post(account=account, items=[charge()], by=rep)
    assert not LedgerEntry.objects.exists()


def test_transfer_moves_insurance_to_the_next_coverage_then_the_patient(
    account, primary, secondary, posting_specialist, rep
):
    services.charge_post(account=account, items=[charge(amount="300.00")], by=posting_specialist)
    services.balance_transfer(account=account, from_coverage=primary, amount="100.00", reason="EOB", by=rep)
    services.balance_transfer(account=account, from_coverage=secondary, amount="40.00", reason="EOB", by=rep)
    buckets = dict(AccountBucket.objects.filter(account=account).values_list("coverage_id", "balance"))
    assert buckets == {primary.pk: D("200.00"), secondary.pk: D("60.00"), None: D("40.00")}
    transfers = LedgerEntry.objects.filter(kind="transfer")
    assert transfers.count() == 4
    assert transfers.total() == D("0.00")
    assert TimelineEvent.objects.filter(kind="accounts.balance.transferred").count() == 2
    assert_consistent(account)


def test_a_transfer_cannot_move_more_than_the_bucket_holds(account, primary, posting_specialist, rep):
    services.charge_post(account=account, items=[charge(amount="50.00")], by=posting_specialist)
    with pytest.raises(InvalidInput, match=r"\$80.00 is more than the .* balance of \$50.00"):
        services.balance_transfer(account=account, from_coverage=primary, amount="80.00", reason="x", by=rep)
    with pytest.raises(InvalidInput, match="reason"):
        services.balance_transfer(account=account, from_coverage=primary, amount="10.00", reason=" ", by=rep)
    assert LedgerEntry.objects.filter(kind="transfer").count() == 0


def test_adjustment_within_the_limit_posts_at_once(org, account, primary, posting_specialist, rep):
    ApprovalLimitFactory(
        organization=org, role=Role.REPRESENTATIVE, kind="adjustment", max_amount=D("100.00")
    )
    services.charge_post(account=account, items=[charge(amount="150.00")], by=posting_specialist)
    outcome = services.adjustment_submit(
        account=account,
        kind="other_adjustment",
        amount="25.50",
        reason_code=AdjustmentReason.COURTESY,
        memo="Long wait",
        coverage=primary,
        by=rep,
    )
    assert outcome.request is None
    assert outcome.entry.amount == D("-25.50")
    assert outcome.entry.reason_code == "COURTESY"
    assert_consistent(account)


def test_adjustment_above_the_limit_waits_for_a_supervisor(org, account, posting_specialist, rep, supervisor):
    ApprovalLimitFactory(organization=org, role=Role.REPRESENTATIVE, kind="write_off", max_amount=D("10.00"))
    ApprovalLimitFactory(organization=org, role=Role.SUPERVISOR, kind="write_off", max_amount=D("1000.00"))
    account.financial_class = "self_pay"
    account.save()
    services.charge_post(account=account, items=[charge(amount="150.00")], by=posting_specialist)
    outcome = services.adjustment_submit(
        account=account,
        kind="write_off",
        amount="150.00",
        reason_code=AdjustmentReason.BAD_DEBT,
        memo="Uncollectible",
        by=rep,
    )
    assert outcome.entry is None
    request = outcome.request
    assert request.status == "pending"
    assert LedgerEntry.objects.filter(kind="write_off").count() == 0

    with pytest.raises(NotPermitted):
        services.adjustment_request_approve(request=request, by=rep)
    services.adjustment_request_approve(request=request, by=supervisor, note="Reviewed")
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.decided_by == supervisor
    assert request.entry.amount == D("-150.00")
    assert request.history.first().history_change_reason == "Reviewed"
    with pytest.raises(InvalidTransition):
        services.adjustment_request_approve(request=request, by=supervisor)
    assert_consistent(account)


def test_a_supervisor_cannot_approve_above_their_own_limit_or_their_own_request(
    org, account, posting_specialist, supervisor
):
    ApprovalLimitFactory(organization=org, role=Role.SUPERVISOR, kind="adjustment", max_amount=D("50.00"))
    account.financial_class = "self_pay"
    account.save()
    services.charge_post(account=account, items=[charge(amount="150.00")], by=posting_specialist)
    outcome = services.adjustment_submit(
        account=account,
        kind="other_adjustment",
        amount="120.00",
        reason_code=AdjustmentReason.CHARITY,
        memo="FA",
        by=posting_specialist,
    )
    with pytest.raises(ApprovalRequired, match=r"above your approval limit of \$50.00"):
        services.adjustment_request_approve(request=outcome.request, by=supervisor)
    own = services.adjustment_submit(
        account=account,
        kind="other_adjustment",
        amount="60.00",
        reason_code=AdjustmentReason.CHARITY,
        memo="FA",
        by=supervisor,
    )
    with pytest.raises(NotPermitted, match="own request"):
        services.adjustment_request_approve(request=own.request, by=supervisor)


def test_rejected_and_withdrawn_requests_post_nothing(org, account, posting_specialist, rep, supervisor):
    account.financial_class = "self_pay"
    account.save()
    services.charge_post(account=account, items=[charge(amount="90.00")], by=posting_specialist)
    submit = dict(
        account=account, kind="write_off", amount="90.00", reason_code="SMALL_BAL", memo="m", by=rep
    )
    first = services.adjustment_submit(**submit).request
    with pytest.raises(InvalidInput, match="note"):
        services.adjustment_request_reject(request=first, by=supervisor, note="")
    services.adjustment_request_reject(request=first, by=supervisor, note="Collect first")
    second = services.adjustment_submit(**submit).request
    with pytest.raises(NotPermitted):
        services.adjustment_request_withdraw(request=second, by=supervisor)
    services.adjustment_request_withdraw(request=second, by=rep)
    assert AdjustmentRequest.objects.filter(status__in=["rejected", "withdrawn"]).count() == 2
    assert LedgerEntry.objects.filter(kind="write_off").count() == 0


def test_unknown_reason_codes_and_kinds_are_refused(account, rep):
    with pytest.raises(InvalidInput, match="reason_code"):
        services.adjustment_submit(
            account=account, kind="write_off", amount="1", reason_code="NOPE", memo="m", by=rep
        )
    with pytest.raises(InvalidInput, match="kind"):
        services.adjustment_submit(
            account=account, kind="charge", amount="1", reason_code="SMALL_BAL", memo="m", by=rep
        )


def test_reversing_a_charge_undoes_it_once(account, primary, posting_specialist, rep):
    (posted,) = services.charge_post(account=account, items=[charge()], by=posting_specialist)
    entry = LedgerEntry.objects.get(charge=posted)
    with pytest.raises(NotPermitted):
        services.entry_reverse(entry=entry, reason="typo", by=rep)
    (reversal,) = services.entry_reverse(entry=entry, reason="Wrong patient", by=posting_specialist)
    assert reversal.amount == D("-150.00")
    assert reversal.reverses == entry
    posted.refresh_from_db()
    assert posted.status == Charge.Status.REVERSED
    with pytest.raises(InvalidTransition, match="already been reversed"):
        services.entry_reverse(entry=entry, reason="again", by=posting_specialist)
    with pytest.raises(InvalidTransition, match="cannot itself be reversed"):
        services.entry_reverse(entry=reversal, reason="undo", by=posting_specialist)
    assert_consistent(account)


def test_reversing_one_half_of_a_transfer_reverses_both(account, primary, posting_specialist):
    services.charge_post(account=account, items=[charge()], by=posting_specialist)
    out, _in = services.balance_transfer(
        account=account, from_coverage=primary, amount="150.00", reason="PR", by=posting_specialist
    )
    reversals = services.entry_reverse(entry=out, reason="Posted to the wrong party", by=posting_specialist)
    assert len(reversals) == 2
    account.refresh_from_db()
    assert account.patient_balance == D("0.00")
    assert account.insurance_balance == D("150.00")
    assert_consistent(account)


def test_credit_balances_are_detected_and_cleared(account, posting_specialist):
    account.financial_class = "self_pay"
    account.save()
    from accounts.ledger import EntrySpec, lock_account, post_entries

    services.charge_post(account=account, items=[charge(amount="40.00")], by=posting_specialist)
    with transaction.atomic():
        lock_account(account)
        (payment,) = post_entries(
            account=account,
            specs=[EntrySpec("patient_payment", D("-60.00"))],
            source="test",
            by=posting_specialist,
        )
    account.refresh_from_db()
    assert account.credit_identified_on is not None
    assert PatientAccount.objects.with_credit_balance().get() == account
    services.entry_reverse(entry=payment, reason="Bounced", by=posting_specialist)
    account.refresh_from_db()
    assert account.credit_identified_on is None


def test_the_ledger_rejects_update_and_delete_in_sql(account, primary, posting_specialist):
    services.charge_post(account=account, items=[charge()], by=posting_specialist)
    entry_id = LedgerEntry.objects.get().pk
    for statement in (
        "UPDATE accounts_ledgerentry SET amount = 1 WHERE id = %s",
        "DELETE FROM accounts_ledgerentry WHERE id = %s",
    ):
        with (
            pytest.raises(ProgrammingError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(statement, [entry_id])
    assert LedgerEntry.objects.get().amount == D("150.00")


def test_aging_applies_credits_to_the_oldest_charges(account, posting_specialist):
    account.financial_class = "self_pay"
    account.save()
    services.charge_post(
        account=account,
        items=[
            charge(amount="100.00", day=date(2026, 6, 1)),
            charge("99214", "80.00", day=date(2026, 11, 1)),
        ],
        by=posting_specialist,
    )
    from accounts.ledger import EntrySpec, lock_account, post_entries

    with transaction.atomic():
        lock_account(account)
        post_entries(
            account=account,
            specs=[EntrySpec("patient_payment", D("-30.00"))],
            source="t",
            by=posting_specialist,
        )
    aging = account_aging(account.pk, today=date(2026, 11, 22))
    patient = aging[None]
    assert patient.bands == [D("80.00"), D("0.00"), D("0.00"), D("0.00"), D("70.00")]
    assert patient.total == D("150.00")


def test_account_status_follows_its_transition_table(account, senior_rep, rep, posting_specialist):
    with pytest.raises(NotPermitted):
        services.account_status_change(account=account, status="self_pay", reason="x", by=rep)
    services.account_status_change(account=account, status="self_pay", reason="No insurance", by=senior_rep)
    with pytest.raises(InvalidTransition, match="cannot become bad debt"):
        services.account_status_change(account=account, status="bad_debt", reason="x", by=senior_rep)
    services.charge_post(account=account, items=[charge()], by=posting_specialist)
    with pytest.raises(InvalidTransition, match=r"still has a balance of \$150.00"):
        services.account_status_change(account=account, status="closed", reason="x", by=senior_rep)
    services.account_update(account=account, changes={"dispute_hold": True}, reason="Disputes bill", by=rep)
    with pytest.raises(InvalidTransition, match="dispute hold"):
        services.account_status_change(account=account, status="in_collections", reason="x", by=senior_rep)
    account.refresh_from_db()
    assert account.status == "self_pay"
    assert account.history.first().history_change_reason == "Disputes bill"


def test_adjustment_limits_default_to_zero(org, account, posting_specialist, rep):
    assert not ApprovalLimit.objects.exists()
    account.financial_class = "self_pay"
    account.save()
    services.charge_post(account=account, items=[charge(amount="5.00")], by=posting_specialist)
    outcome = services.adjustment_submit(
        account=account, kind="write_off", amount="0.01", reason_code="SMALL_BAL", memo="m", by=rep
    )
    assert outcome.request is not None


def test_constraint_violations_name_the_field(org, account, posting_specialist, rep):
    from accounts.models import Patient

    with pytest.raises(InvalidInput, match="only the last four digits") as caught:
        services.patient_update(patient=account.patient, changes={"ssn_last4": "12ab"}, reason="typo", by=rep)
    assert caught.value.field == "ssn_last4"
    assert Patient.objects.get(pk=account.patient_id).ssn_last4 == ""
    services.charge_post(account=account, items=[charge(external_id="C-1")], by=posting_specialist)
    with pytest.raises(Conflict, match="C-1 was already posted"):
        services.charge_post(account=account, items=[charge(external_id="C-1")], by=posting_specialist)
    with pytest.raises(InvalidInput, match="units: must be more than zero"):
        services.charge_post(account=account, items=[charge(units=D("0"))], by=posting_specialist)
    assert LedgerEntry.objects.count() == 1


def test_a_personal_representative_needs_no_scopes(account, rep):
    contact = services.authorized_contact_add(
        patient=account.patient,
        name="Court guardian",
        relationship="legal_guardian",
        scopes=[],
        is_personal_representative=True,
        by=rep,
    )
    assert contact.covers("payments")
    with pytest.raises(InvalidInput, match="scopes"):
        services.authorized_contact_add(
            patient=account.patient, name="Neighbour", relationship="other", scopes=[], by=rep
        )


def test_approving_a_withdrawn_request_is_a_transition_error_whatever_the_limit(
    org, account, posting_specialist, rep, supervisor
):
    account.financial_class = "self_pay"
    account.save()
    services.charge_post(account=account, items=[charge(amount="90.00")], by=posting_specialist)
    request = services.adjustment_submit(
        account=account, kind="write_off", amount="90.00", reason_code="SMALL_BAL", memo="m", by=rep
    ).request
    services.adjustment_request_withdraw(request=request, by=rep)
    with pytest.raises(InvalidTransition, match="already withdrawn"):
        services.adjustment_request_approve(request=request, by=supervisor)


def test_fee_edits_price_multi_unit_lines_per_unit(org, account, posting_specialist):
    from tests.factories import ContractFactory, FeeScheduleEntryFactory

    coverage = CoverageFactory(patient=account.patient, priority=1)
    contract = ContractFactory(
        payer=coverage.plan.payer, organization=org, default_percent_of_charges=D("60")
    )
    FeeScheduleEntryFactory(contract=contract, organization=org, code="J1885", allowed_amount=D("12.00"))
    lines = services.charge_post(
        account=account,
        items=[
            services.ChargeInput(
                date(2026, 9, 1), "hcpcs", "J1885", D("30.00"), units=D("3"), diagnoses=("E119",)
            ),
            services.ChargeInput(
                date(2026, 9, 1), "hcpcs", "J1885", D("26.00"), units=D("2"), diagnoses=("M545",)
            ),
            services.ChargeInput(date(2026, 9, 1), "revenue", "0110", D("900.00"), units=D("3")),
        ],
        by=posting_specialist,
    )
    fee_edits = {e.charge_id: e.message for e in ChargeEdit.objects.filter(rule="fee_deviation")}
    # 3 x 12.00 = 36.00 allowed, 30.00 charged: the payer would pay no more than the charge.
    assert fee_edits == {
        lines[
            0
        ].pk: "$30.00 is below the $36.00 the contract allows; the payer will pay no more than the charge"
    }
