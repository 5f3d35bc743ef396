"""The rules refresh: creates, updates and closes items from candidates, never twice, with history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.audit import SYSTEM_USER_EMAIL
from core.models import TimelineEvent
from tests.factories import AccountFactory, OrganizationFactory
from tests.factories.worklists import QueueFactory, QueueMemberFactory
from tests.worklists.conftest import NOW, candidate
from worklists import registry, services
from worklists.models import Queue, RefreshRun, WorkItem
from worklists.refresh import ESCALATION_BONUS, ESCALATION_PREFIX, refresh_work_items


def refresh(**kwargs):
    kwargs.setdefault("kinds", ["tests.stub"])
    kwargs.setdefault("now", NOW)
    return refresh_work_items(**kwargs)


@pytest.fixture
def accounts(org):
    return [AccountFactory(patient__organization=org) for _ in range(3)]


def test_it_creates_items_and_the_queue_the_rule_names(org, stub_rule, accounts):
    stub_rule.candidates = [candidate(a) for a in accounts]

    result = refresh()

    assert (result.rules[0].created, result.rules[0].updated, result.rules[0].closed) == (3, 0, 0)
    queue = Queue.objects.get(organization=org, slug="stub-queue")
    assert queue.name == "Stub queue"
    items = WorkItem.objects.filter(kind="tests.stub").order_by("subject_id")
    assert [i.subject for i in items] == accounts
    first = items[0]
    assert (first.queue, first.status, first.priority, first.priority_reason) == (
        queue,
        "open",
        400,
        "Because a test says so",
    )
    assert first.source_rule.endswith("stub_candidates")
    history = first.history.get()
    assert (history.history_type, history.history_user.email) == ("+", SYSTEM_USER_EMAIL)
    assert history.history_change_reason == "Created by rule tests.stub"


def test_running_it_again_changes_nothing(stub_rule, accounts):
    stub_rule.candidates = [candidate(a) for a in accounts]
    refresh()
    again = refresh()
    assert (again.rules[0].created, again.rules[0].updated, again.rules[0].closed) == (0, 0, 0)
    assert WorkItem.objects.count() == 3
    assert WorkItem.history.model.objects.count() == 3


def test_it_updates_what_moved_and_keeps_the_queue_a_supervisor_chose(org, stub_rule, accounts, supervisor):
    stub_rule.candidates = [candidate(a) for a in accounts]
    refresh()
    moved = WorkItem.objects.get(subject_id=accounts[0].pk)
    elsewhere = QueueFactory(organization=org)
    services.work_items_bulk_move(items=[moved], queue=elsewhere, by=supervisor, reason="Specialist")

    stub_rule.candidates[0] = candidate(accounts[0], priority=900, reason="Now urgent", title="Renamed")
    result = refresh()

    assert result.rules[0].updated == 1
    moved.refresh_from_db()
    assert (moved.priority, moved.priority_reason, moved.title, moved.queue) == (
        900,
        "Now urgent",
        "Renamed",
        elsewhere,
    )
    assert moved.history.first().history_change_reason == "Refreshed by rule tests.stub"


def test_it_closes_items_whose_work_is_gone(stub_rule, accounts, rep, queue):
    stub_rule.candidates = [candidate(a) for a in accounts]
    refresh()
    taken = WorkItem.objects.get(subject_id=accounts[1].pk)
    taken.status, taken.assignee = "in_progress", rep
    taken.save()

    stub_rule.candidates = [candidate(accounts[0])]
    result = refresh()

    assert result.rules[0].closed == 2
    closed = WorkItem.objects.filter(status="done").order_by("subject_id")
    assert [i.subject_id for i in closed] == [accounts[1].pk, accounts[2].pk]
    assert {i.outcome for i in closed} == {"resolved_elsewhere"}
    assert closed[0].done_by.email == SYSTEM_USER_EMAIL


def test_work_that_comes_back_gets_a_new_item(stub_rule, accounts):
    stub_rule.candidates = [candidate(accounts[0])]
    refresh()
    stub_rule.candidates = []
    refresh()
    stub_rule.candidates = [candidate(accounts[0])]
    refresh()
    assert list(WorkItem.objects.order_by("id").values_list("status", flat=True)) == ["done", "open"]


def test_work_a_person_completed_does_not_come_back_before_its_resurface_time(org, stub_rule, accounts, rep):
    stub_rule.candidates = [candidate(accounts[0])]
    refresh()
    work = WorkItem.objects.get()
    QueueMemberFactory(queue=work.queue, user=rep)
    services.work_item_complete(item=work, outcome="left_message", note="", by=rep, now=NOW)

    assert refresh(now=NOW + timedelta(days=1)).rules[0].created == 0
    assert refresh(now=NOW + timedelta(days=3)).rules[0].created == 1
    assert WorkItem.objects.filter(status="open").count() == 1


def test_one_organization_at_a_time_leaves_the_others_alone(org, other_org, stub_rule, accounts):
    theirs = AccountFactory(patient__organization=other_org)
    stub_rule.candidates = [candidate(accounts[0]), candidate(theirs)]
    refresh()
    stub_rule.candidates = []
    result = refresh(organization_ids=[org.pk])
    assert stub_rule.calls[-1] == [org.pk]
    assert result.rules[0].closed == 1
    assert WorkItem.objects.get(organization=other_org).status == "open"


def test_a_failing_rule_closes_nothing_and_is_reported(stub_rule, accounts, caplog):
    stub_rule.candidates = [candidate(a) for a in accounts]
    refresh()
    stub_rule.error = RuntimeError("patient Jane Doe broke it")

    result = refresh()

    assert result.failed_rules == ["tests.stub"]
    assert WorkItem.objects.filter(status="open").count() == 3
    assert "RuntimeError" in caplog.text
    assert "Jane Doe" not in caplog.text
    assert RefreshRun.objects.latest("started_at").failed_rules == ["tests.stub"]


@pytest.mark.parametrize(
    "bad",
    [
        {"priority": 1001},
        {"priority": -1},
        {"due_at": NOW.replace(tzinfo=None)},
        {"dedupe_key": "x" * 121},
        {"skills": ("spanish",)},
        {"queue": "no spaces allowed"},
        {"title": " "},
    ],
)
def test_a_malformed_candidate_fails_its_rule_and_writes_nothing(stub_rule, accounts, bad):
    stub_rule.candidates = [candidate(accounts[0]), candidate(accounts[1], **bad)]
    result = refresh()
    assert result.failed_rules == ["tests.stub"]
    assert not WorkItem.objects.exists()


def test_a_candidate_for_an_organization_not_asked_for_fails_the_rule(org, other_org):
    theirs = AccountFactory(patient__organization=other_org)

    def careless(organization_ids, now):
        return [candidate(theirs)]

    registry.register("tests.careless", label="Careless", queue="careless", queue_name="Careless")(careless)
    try:
        result = refresh(organization_ids=[org.pk], kinds=["tests.careless"])
    finally:
        registry._rules.pop("tests.careless")
    assert result.failed_rules == ["tests.careless"]
    assert not WorkItem.objects.exists()


def test_duplicate_keys_from_a_rule_make_one_item(stub_rule, accounts):
    stub_rule.candidates = [candidate(accounts[0], key="same"), candidate(accounts[1], key="same")]
    refresh()
    assert WorkItem.objects.get().subject_id == accounts[0].pk


def test_skills_and_a_named_queue_are_kept(org, stub_rule, accounts):
    stub_rule.candidates = [candidate(accounts[0], skills=("lang:es",), queue="spanish-line")]
    refresh()
    work = WorkItem.objects.get()
    assert work.required_skills == ["lang:es"]
    assert (work.queue.slug, work.queue.name) == ("spanish-line", "Spanish line")


def test_past_due_items_are_escalated_to_the_supervisors(org, stub_rule, accounts):
    queue = QueueFactory(organization=org, slug="stub-queue", escalate_after_hours=24)
    stub_rule.candidates = [
        candidate(accounts[0], due_at=NOW - timedelta(hours=30), priority=500),
        candidate(accounts[1], due_at=NOW - timedelta(hours=10), priority=500),
    ]

    result = refresh()

    assert result.escalated == 1
    late = WorkItem.objects.get(subject_id=accounts[0].pk)
    assert late.queue == queue
    assert (late.priority, late.escalated_at) == (500 + ESCALATION_BONUS, NOW)
    assert late.priority_reason == ESCALATION_PREFIX + "Because a test says so"
    assert WorkItem.objects.get(subject_id=accounts[1].pk).escalated_at is None
    assert late.history.count() == 1  # created escalated: one version, one history row
    event = TimelineEvent.objects.get(kind="worklists.items.escalated")
    assert (event.subject, event.data["count"], event.data["items"]) == (org, 1, [str(late.reference)])

    # The next refresh keeps the raise while the item stays late, and nothing is escalated twice.
    again = refresh(now=NOW + timedelta(minutes=5))
    assert (again.escalated, again.rules[0].updated) == (0, 0)
    late.refresh_from_db()
    assert late.priority == 500 + ESCALATION_BONUS


def test_an_item_that_goes_past_due_later_is_escalated_by_the_pass(org, stub_rule, accounts):
    stub_rule.candidates = [candidate(accounts[0], due_at=NOW + timedelta(hours=2))]
    first = refresh()
    assert first.escalated == 0
    work = WorkItem.objects.get()
    assert work.history.count() == 1

    later = refresh(now=NOW + timedelta(hours=27))

    assert later.escalated == 1
    work.refresh_from_db()
    assert (work.escalated_at, work.priority) == (NOW + timedelta(hours=27), 400 + ESCALATION_BONUS)
    assert work.history.first().history_change_reason == "Past due beyond the queue's grace: escalated"
    assert TimelineEvent.objects.get(kind="worklists.items.escalated").data["count"] == 1


def test_an_escalated_item_whose_due_time_moves_out_of_grace_is_no_longer_escalated(org, stub_rule, accounts):
    stub_rule.candidates = [candidate(accounts[0], due_at=NOW - timedelta(days=3))]
    refresh()
    stub_rule.candidates = [candidate(accounts[0], due_at=NOW + timedelta(days=3))]
    refresh()
    work = WorkItem.objects.get()
    assert (work.escalated_at, work.priority, work.priority_reason) == (None, 400, "Because a test says so")


def test_snoozed_items_whose_date_came_are_reopened(org, stub_rule, accounts, queue, rep, membership):
    stub_rule.candidates = [candidate(accounts[0])]
    refresh()
    work = WorkItem.objects.get()
    QueueMemberFactory(queue=work.queue, user=rep)
    services.work_item_snooze(item=work, until=NOW + timedelta(days=1), reason="Later", by=rep, now=NOW)

    assert refresh().woken == 0
    assert refresh(now=NOW + timedelta(days=1)).woken == 1
    work.refresh_from_db()
    assert work.status == "open"
    assert work.history.first().history_change_reason == "Snooze ended: back in the queue"


def test_an_on_demand_run_records_its_counts_for_the_organization(org, stub_rule, accounts, supervisor):
    stub_rule.candidates = [candidate(a) for a in accounts]
    refresh(organization_ids=[org.pk], by=supervisor, trigger="on_demand")
    run = RefreshRun.objects.get()
    assert (run.organization, run.trigger, run.requested_by, run.created) == (org, "on_demand", supervisor, 3)


def test_a_scheduled_run_records_one_row_without_an_organization(stub_rule, accounts):
    stub_rule.candidates = [candidate(a) for a in accounts]
    refresh()
    run = RefreshRun.objects.get()
    assert (run.organization, run.trigger, run.requested_by) == (None, "schedule", None)


def test_inactive_organizations_are_not_refreshed(org, stub_rule):
    dormant = OrganizationFactory(is_active=False)
    refresh()
    assert org.pk in stub_rule.calls[-1]
    assert dormant.pk not in stub_rule.calls[-1]


def test_the_command_runs_the_rules_for_one_organization(org, stub_rule, accounts):
    from io import StringIO

    from django.core.management import CommandError, call_command

    stub_rule.candidates = [candidate(a) for a in accounts]
    out = StringIO()
    call_command("refresh_work_items", organization=org.slug, stdout=out)
    assert "tests.stub: 3 found, 3 created, 0 updated, 0 closed" in out.getvalue()
    assert stub_rule.calls == [[org.pk]]
    with pytest.raises(CommandError, match="No active organization"):
        call_command("refresh_work_items", organization="nowhere")
    stub_rule.error = RuntimeError("broken")
    with pytest.raises(CommandError, match=r"tests\.stub"):
        call_command("refresh_work_items", stdout=StringIO())
