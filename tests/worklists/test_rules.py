"""The follow-up rules of claims, accounts and payers: what each finds, its priority and reason."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.followups import coverage_unverified, credit_balances
from claims.followups import (
    denials_to_work,
    no_payer_response,
    posting_exceptions,
    timely_filing,
    variances_to_work,
)
from claims.models import Claim
from core.models import TimelineEvent
from payers.followups import notices_not_acknowledged
from payers.models import AppealLevel, NoticeAcknowledgement, PayerNotice
from tests.factories import AccountFactory, CoverageFactory, PayerFactory, PayerRuleFactory
from tests.factories.claims import ClaimFactory
from tests.factories.posting import DenialFactory, PostingExceptionFactory, VarianceFactory
from tests.factories.worklists import QueueMemberFactory
from worklists import registry, services
from worklists.models import WorkItem
from worklists.refresh import refresh_work_items

# A Tuesday afternoon; the tests' organizations keep their offices in Chicago.
NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


def run(rule, org) -> list[registry.Candidate]:
    return sorted(rule([org.pk], NOW), key=lambda c: c.dedupe_key)


@pytest.fixture
def payer(org):
    payer = PayerFactory(organization=org, name="Acme Health")
    PayerRuleFactory(payer=payer, follow_up_days=30, timely_filing_days=90)
    return payer


def claim(org, payer, **kwargs) -> Claim:
    kwargs.setdefault("coverage__plan__payer", payer)
    kwargs.setdefault("account__patient__organization", org)
    return ClaimFactory(**kwargs)


def test_every_rule_is_registered():
    assert {
        "claims.no_payer_response",
        "claims.timely_filing",
        "claims.denial_to_work",
        "claims.variance_to_work",
        "claims.posting_exception",
        "accounts.credit_balance",
        "accounts.coverage_unverified",
        "payers.notice_unacknowledged",
    } <= set(registry.rules())


# --- claims ------------------------------------------------------------------------------------------


def test_no_payer_response_after_the_payer_rules_follow_up_days(org, payer):
    late = claim(org, payer, submitted_on=date(2026, 10, 1), billed_amount=Decimal("100.00"))
    claim(org, payer, submitted_on=date(2026, 11, 20))  # still within 30 days
    claim(org, payer, submitted_on=date(2026, 10, 1), status=Claim.Status.PAID)
    # A pended claim's clock restarts at the payer's last answer.
    claim(org, payer, submitted_on=date(2026, 10, 1), status=Claim.Status.PENDED, last_remittance_on=TODAY)

    [found] = run(no_payer_response, org)

    assert (found.subject, found.dedupe_key) == (late, f"claims.claim:{late.pk}")
    assert found.title == f"No payer response: claim {late.patient_control_number} · Acme Health"
    assert found.priority == 300 + 50 * 4 + 2  # four weeks late, $100 billed
    assert (
        found.reason
        == "Submitted, awaiting payer; follow-up was due 10/31/2026 (30-day rule), $100.00 billed"
    )
    assert found.due_at.date() == date(2026, 10, 31)


def test_no_payer_response_uses_thirty_days_without_a_payer_rule(org):
    bare = PayerFactory(organization=org)
    waiting = claim(org, bare, submitted_on=date(2026, 10, 25))
    [found] = run(no_payer_response, org)
    assert found.subject == waiting
    assert "(30-day rule)" in found.reason


def test_timely_filing_approaching_rises_as_the_deadline_nears(org, payer):
    soon = claim(org, payer, status=Claim.Status.CREATED, timely_filing_deadline=date(2026, 12, 4))
    passed = claim(org, payer, status=Claim.Status.DENIED, timely_filing_deadline=date(2026, 11, 26))
    claim(org, payer, status=Claim.Status.CREATED, timely_filing_deadline=date(2027, 1, 30))  # far
    claim(  # with the payer, who answered: the deadline was met
        org,
        payer,
        status=Claim.Status.SUBMITTED,
        timely_filing_deadline=date(2026, 12, 3),
        last_remittance_on=date(2026, 11, 20),
    )

    found = {c.subject: c for c in run(timely_filing, org)}

    assert set(found) == {soon, passed}
    assert found[soon].priority == 1000 - 60 * 3
    assert (
        found[soon].reason == "Timely filing ends 12/04/2026, in 3 business days (created, not yet submitted)"
    )
    assert found[passed].priority == 1000
    assert found[passed].reason.startswith("Timely filing ended 11/26/2026: file with proof of timely filing")


def test_denials_to_work_against_the_appeal_window(org, payer):
    rule = payer.rules.get()
    AppealLevel.objects.create(
        organization=org, rule=rule, level=1, name="Reconsideration", filing_days=60, decision_days=30
    )
    account = AccountFactory(patient__organization=org)
    within = DenialFactory(
        claim_payment__payment__organization=org,
        claim_payment__payment__payer=payer,
        claim_payment__patient_control_number="A-1",
        account=account,
        denied_on=date(2026, 11, 2),
        denied_amount=Decimal("150.00"),
    )
    DenialFactory(claim_payment__payment__organization=org, status="resolved")

    [found] = run(denials_to_work, org)

    assert found.subject == within
    assert found.title == "Denial 29 · claim A-1 · Acme Health"
    assert found.priority == 450 + 1  # 31 days left, $150 denied
    assert found.reason == "Timely filing: appeal window ends 01/01/2027; $150.00 denied"


def test_a_denial_without_an_appeal_window_is_worked_within_thirty_days(org):
    denial = DenialFactory(claim_payment__payment__organization=org, denied_on=date(2026, 11, 2))
    [found] = run(denials_to_work, org)
    assert found.subject == denial
    assert found.priority == 900 + 1  # due 12/02: one day left
    assert "no appeal window on file; work by 12/02/2026" in found.reason
    assert found.title.endswith("payer not matched")


def test_variances_underpaid_and_to_refund(org):
    under = VarianceFactory(claim_payment__payment__organization=org, variance_amount=Decimal("250.00"))
    over = VarianceFactory(
        claim_payment__payment__organization=org,
        kind="overpayment",
        identified_on=date(2026, 9, 15),
        variance_amount=Decimal("-40.00"),
    )
    VarianceFactory(claim_payment__payment__organization=org, status="dismissed")

    found = {c.subject: c for c in run(variances_to_work, org)}

    assert set(found) == {under, over}
    assert found[under].priority == 300 + 10
    assert found[under].reason == "Paid $250.00 below the contract; identified 11/02/2026"
    assert found[over].priority == 1000  # past the 60-day clock
    assert "the 60-day clock from 09/15/2026 ends 11/14/2026" in found[over].reason


def test_posting_exceptions_held_from_posting(org):
    held = PostingExceptionFactory(
        claim_payment__payment__organization=org, amount=Decimal("300.00"), created_at=NOW - timedelta(days=4)
    )
    PostingExceptionFactory(claim_payment__payment__organization=org, status="resolved")
    [found] = run(posting_exceptions, org)
    assert found.subject == held
    assert found.title.startswith("No matching claim · claim PCN")
    assert found.priority == 500 + 20 * 4 + 3
    assert found.reason == "Held from posting since 11/27/2026; $300.00"


def test_claims_rules_see_only_the_organizations_asked_for(org, other_org, payer):
    claim(org, payer, submitted_on=date(2026, 9, 1))
    theirs = PayerFactory(organization=other_org)
    claim(other_org, theirs, submitted_on=date(2026, 9, 1))
    assert {c.organization_id for c in no_payer_response([org.pk], NOW)} == {org.pk}


def test_work_on_a_denial_is_recorded_on_its_accounts_timeline(org, payer, rep):
    the_claim = claim(org, payer)
    denial = DenialFactory(
        claim_payment__payment__organization=org,
        claim_payment__claim=the_claim,
        claim_payment__account=the_claim.account,
    )
    refresh_work_items(organization_ids=[org.pk], kinds=["claims.denial_to_work"], now=NOW)
    item = WorkItem.objects.get(kind="claims.denial_to_work")
    QueueMemberFactory(queue=item.queue, user=rep)
    assert registry.subject_url(item.subject) == reverse("claims:denial_detail", args=[denial.reference])

    services.work_item_complete(item=item, outcome="waiting_on_payer", note="Reprocessing", by=rep)

    event = TimelineEvent.objects.get(kind="worklists.item.completed")
    assert event.subject_type == ContentType.objects.get_for_model(the_claim.account)
    assert event.subject_id == the_claim.account_id
    assert event.data["claim"] == str(the_claim.reference)


# --- accounts --------------------------------------------------------------------------------------------


def test_credit_balances_on_the_sixty_day_clock(org):
    medicare = AccountFactory(
        patient__organization=org, financial_class="medicare", credit_identified_on=date(2026, 10, 20)
    )
    commercial = AccountFactory(patient__organization=org, credit_identified_on=date(2026, 11, 25))
    AccountFactory(patient__organization=org)  # no credit

    found = {c.subject: c for c in run(credit_balances, org)}

    assert set(found) == {medicare, commercial}
    assert found[medicare].priority == 700  # 42 days old, government
    assert found[medicare].reason == (
        "Credit identified 10/20/2026 (Medicare); the 60-day report-and-return clock ends 12/19/2026"
    )
    assert found[medicare].due_at.date() == date(2026, 12, 19)
    assert found[commercial].priority == 300
    assert found[commercial].title == f"Credit balance · account {commercial.account_number} ($0.00)"


def test_coverage_to_verify_before_a_statement(org):
    account = AccountFactory(
        patient__organization=org,
        patient__preferred_language="es",
        balance=Decimal("100.00"),
        patient_balance=Decimal("100.00"),
    )
    CoverageFactory(patient=account.patient, organization=org)  # never verified
    verified = AccountFactory(
        patient__organization=org, balance=Decimal("50.00"), patient_balance=Decimal("50.00")
    )
    CoverageFactory(patient=verified.patient, organization=org, verified_at=NOW - timedelta(days=10))
    stale = AccountFactory(
        patient__organization=org,
        balance=Decimal("50.00"),
        patient_balance=Decimal("50.00"),
        first_statement_on=date(2026, 9, 1),
        last_statement_on=date(2026, 10, 1),
    )
    CoverageFactory(
        patient=stale.patient, organization=org, verified_at=datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    )
    stated = AccountFactory(
        patient__organization=org,
        balance=Decimal("50.00"),
        patient_balance=Decimal("50.00"),
        last_statement_on=date(2026, 11, 20),  # next statement not due yet
    )
    CoverageFactory(patient=stated.patient, organization=org)
    owes_nothing = AccountFactory(patient__organization=org)
    CoverageFactory(patient=owes_nothing.patient, organization=org)

    found = {c.subject: c for c in run(coverage_unverified, org)}

    assert set(found) == {account, stale}
    assert found[account].priority == 600 + 100 + 4
    assert found[account].reason == (
        "Primary coverage never verified; first statement not yet sent; $100.00 patient balance"
    )
    assert found[account].skills == ("lang:es",)
    assert found[stale].priority == 350 + 25 * 6 + 2
    assert found[stale].reason == "Primary coverage last verified 06/01/2026; $50.00 patient balance"
    assert found[stale].skills == ()


# --- payers ------------------------------------------------------------------------------------------------


def test_payer_notices_not_read_a_week_after_publication(org, rep, supervisor, senior_rep):
    old = PayerNotice.objects.create(
        organization=org,
        title="Prior auth for MRI",
        body="…",
        effective_date=date(2026, 12, 5),
        published_by=supervisor,
    )
    PayerNotice.objects.filter(pk=old.pk).update(created_at=NOW - timedelta(days=10))
    NoticeAcknowledgement.objects.create(notice=old, user=supervisor)
    fresh = PayerNotice.objects.create(
        organization=org, title="New fax number", body="…", effective_date=TODAY, published_by=supervisor
    )
    PayerNotice.objects.filter(pk=fresh.pk).update(created_at=NOW - timedelta(days=2))

    [found] = run(notices_not_acknowledged, org)

    assert found.subject == old
    assert found.title == "Notice not read by 2 of 3: Prior auth for MRI"
    assert found.priority == 300 + 20 + 200  # in force within a week
    assert found.reason == "Published 11/21/2026, in force 12/05/2026; in force within a week"

    for person in (rep, senior_rep):
        NoticeAcknowledgement.objects.create(notice=old, user=person)
    assert run(notices_not_acknowledged, org) == []
