"""My work, an item's page and queue management: roles, actions, PHI log and query budgets."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import TimelineEvent
from staff.models import PhiAccessLog
from tests.conftest import PERSONAS
from tests.factories import AccountFactory
from tests.factories.worklists import QueueFactory, QueueMemberFactory, WorkItemFactory
from tests.worklists.conftest import candidate
from worklists.models import Queue, QueueMember, WorkItem

SUPERVISING = {"supervisor", "admin"}


def login(client, user):
    if user is not None:
        client.force_login(user)
    return client


def account_item(queue, **kwargs) -> WorkItem:
    account = AccountFactory(patient__organization=queue.organization)
    return WorkItemFactory(queue=queue, subject=account, title=f"Account {account.account_number}", **kwargs)


# --- My work --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_my_work_is_for_every_member(client, persona, who, queue):
    response = login(client, persona(who)).get(reverse("worklists:my_work"))
    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == 200


def test_my_work_shows_counts_the_next_item_and_what_i_have(client, org, queue, membership, rep):
    urgent = account_item(queue, priority=900, due_at=timezone.now() - timedelta(hours=1))
    later = account_item(queue, priority=100, due_at=timezone.now() + timedelta(days=5))
    mine = account_item(queue, priority=300, status="in_progress", assignee=rep)

    response = login(client, rep).get(reverse("worklists:my_work"))

    work = response.context["work"]
    assert work.next_item == urgent
    assert [(c.queue, c.open, c.due_today, c.mine) for c in work.counts] == [(queue, 2, 1, 1)]
    assert work.in_progress == [mine]
    assert work.due_today == [urgent]
    assert b'accesskey="n"' in response.content
    # Titles carry account numbers: the accounts shown (and only those) are in the PHI access log.
    logged = set(PhiAccessLog.objects.filter(user=rep).values_list("subject_id", flat=True))
    assert logged == {urgent.subject_id, mine.subject_id}
    assert later.subject_id not in logged


def test_my_work_tells_someone_without_a_queue_what_to_do(client, rep):
    response = login(client, rep).get(reverse("worklists:my_work"))
    assert b"You do not work any queue yet" in response.content


def test_my_work_reads_a_fixed_number_of_queries(client, org, queue, membership, rep):
    second = QueueFactory(organization=org)
    QueueMemberFactory(queue=second, user=rep)
    for index in range(3):
        account_item(queue, priority=index)
    login(client, rep)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("worklists:my_work"))
    for index in range(15):
        account_item(queue if index % 2 else second, priority=index, due_at=timezone.now())
        account_item(second, status="in_progress", assignee=rep)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("worklists:my_work"))
    assert len(many) == len(few) <= 16


# --- get next -------------------------------------------------------------------------------------


def test_take_next_opens_the_item_taken(client, queue, membership, rep):
    item = account_item(queue)
    response = login(client, rep).post(reverse("worklists:take_next"))
    assert response["Location"] == reverse("worklists:item_detail", args=[item.reference])
    item.refresh_from_db()
    assert (item.status, item.assignee) == ("in_progress", rep)


def test_take_next_opens_the_subjects_own_page_when_it_has_one(client, queue, membership, rep):
    # A work item stands in for any record with ``get_absolute_url`` (a case, say).
    record = WorkItemFactory(queue=QueueFactory(organization=queue.organization))
    WorkItemFactory(queue=queue, subject=record)
    response = login(client, rep).post(reverse("worklists:take_next"))
    assert response["Location"] == record.get_absolute_url()


def test_take_next_says_when_nothing_is_waiting(client, queue, membership, rep):
    response = login(client, rep).post(reverse("worklists:take_next"), follow=True)
    assert b"Nothing is waiting for you" in response.content


def test_take_next_from_a_queue_of_another_organization_is_404(client, other_org, membership, rep):
    theirs = QueueFactory(organization=other_org)
    response = login(client, rep).post(reverse("worklists:take_next"), {"queue": str(theirs.reference)})
    assert response.status_code == 404


def test_take_next_is_a_post(client, rep):
    assert login(client, rep).get(reverse("worklists:take_next")).status_code == 405


# --- an item --------------------------------------------------------------------------------------


def test_an_items_page_logs_the_patient_record_and_offers_the_actions(client, queue, membership, rep):
    item = account_item(queue)
    response = login(client, rep).get(reverse("worklists:item_detail", args=[item.reference]))
    assert response.status_code == 200
    assert response.context["can_work"] is True
    assert response.context["subject_url"] == reverse(
        "accounts:account_detail", args=[item.subject.reference]
    )
    assert PhiAccessLog.objects.get(user=rep).subject_id == item.subject_id
    assert response.context["reassign_form"] is None


def test_another_organizations_item_is_404(client, other_org, outsider, queue):
    item = account_item(queue)
    assert (
        login(client, outsider).get(reverse("worklists:item_detail", args=[item.reference])).status_code
        == 404
    )
    response = client.post(reverse("worklists:item_complete", args=[item.reference]), {"outcome": "resolved"})
    assert response.status_code == 404


def test_completing_from_the_page_needs_an_outcome(client, queue, membership, rep):
    item = account_item(queue, status="in_progress", assignee=rep)
    url = reverse("worklists:item_complete", args=[item.reference])
    refused = login(client, rep).post(url, {"outcome": "", "note": "Called"})
    assert refused.status_code == 400
    assert b"Choose what came of the work." in refused.content

    done = client.post(url, {"outcome": "callback_scheduled", "note": "Calls back Monday"})
    assert done["Location"] == reverse("worklists:my_work")
    item.refresh_from_db()
    assert (item.status, item.outcome) == ("done", "callback_scheduled")
    assert TimelineEvent.objects.get(kind="worklists.item.completed").subject_id == item.subject_id


def test_someone_elses_item_shows_no_actions_and_refuses_them(client, queue, membership, rep, other_rep):
    QueueMemberFactory(queue=queue, user=other_rep)
    item = account_item(queue, status="in_progress", assignee=other_rep)
    login(client, rep)
    assert client.get(reverse("worklists:item_detail", args=[item.reference])).context["can_work"] is False
    refused = client.post(reverse("worklists:item_complete", args=[item.reference]), {"outcome": "resolved"})
    assert refused.status_code == 403
    assert b"someone else is working it" in refused.content
    item.refresh_from_db()
    assert item.status == "in_progress"


def test_snoozing_from_the_page(client, org, queue, membership, rep):
    item = account_item(queue, status="in_progress", assignee=rep)
    url = reverse("worklists:item_snooze", args=[item.reference])
    login(client, rep)
    past = client.post(url, {"until": "2020-01-01", "reason": "later"})
    assert past.status_code == 400
    assert b"Must be in the future" in past.content

    back_on = timezone.localdate() + timedelta(days=3)
    assert (
        client.post(url, {"until": back_on.isoformat(), "reason": "Waiting for the EOB"}).status_code == 302
    )
    item.refresh_from_db()
    assert item.status == "snoozed"
    local = item.snoozed_until.astimezone(zoneinfo.ZoneInfo(org.time_zone))
    assert (local.date(), local.hour) == (back_on, 0)
    assert item in login(client, rep).get(reverse("worklists:my_work")).context["work"].snoozed


def test_releasing_from_the_page(client, queue, membership, rep):
    item = account_item(queue, status="in_progress", assignee=rep)
    response = login(client, rep).post(
        reverse("worklists:item_release", args=[item.reference]), {"reason": ""}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.assignee) == ("open", None)


@pytest.mark.parametrize("who", ["representative", "senior_representative", "supervisor", "admin"])
def test_only_supervisors_reassign_from_the_page(client, persona, who, queue, membership, rep):
    item = account_item(queue)
    response = login(client, persona(who)).post(
        reverse("worklists:item_reassign", args=[item.reference]), {"assignee": rep.pk, "reason": "Cover"}
    )
    item.refresh_from_db()
    if who in SUPERVISING:
        assert response.status_code == 302
        assert (item.status, item.assignee) == ("in_progress", rep)
    else:
        assert response.status_code == 403
        assert item.assignee is None


# --- queue management -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_queue_pages_are_for_supervisors(client, persona, who, queue):
    login(client, persona(who))
    for url in (reverse("worklists:queue_list"), reverse("worklists:queue_detail", args=[queue.reference])):
        response = client.get(url)
        if who == "anonymous":
            assert response.status_code == 302
        elif who in SUPERVISING:
            assert response.status_code == 200
        elif who == "outsider":
            # The outsider works in their own organization (as its admin); this queue is not there.
            assert response.status_code == (200 if url.endswith("/queues/") else 404)
        else:
            assert response.status_code == 403


def test_queue_list_counts_and_reads_a_fixed_number_of_queries(client, org, supervisor, rep):
    queues = [QueueFactory(organization=org) for _ in range(2)]
    login(client, supervisor)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("worklists:queue_list"))
    for index in range(10):
        QueueFactory(organization=org)
        WorkItemFactory(queue=queues[index % 2], escalated_at=timezone.now())
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("worklists:queue_list"))
    assert len(many) == len(few) <= 12
    assert sum(row.escalated for row in response.context["rows"]) == 10


def test_queue_detail_filters_pages_and_reads_a_fixed_number_of_queries(client, org, queue, supervisor, rep):
    QueueMemberFactory(queue=queue, user=rep)
    url = reverse("worklists:queue_detail", args=[queue.reference])
    login(client, supervisor)
    account_item(queue)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for index in range(60):
        account_item(queue, priority=index % 10, escalated_at=timezone.now() if index < 5 else None)
    with CaptureQueriesContext(connection) as many:
        first = client.get(url)
    assert len(many) == len(few)
    assert len(first.context["page"]) == 50
    cursor = first.context["page"].next_cursor
    second = client.get(url, {"after": cursor})
    assert len(second.context["page"]) == 11
    seen = [i.pk for i in first.context["page"]] + [i.pk for i in second.context["page"]]
    assert len(set(seen)) == 61
    escalated = client.get(url, {"status": "escalated"})
    assert len(escalated.context["page"]) == 5


def test_a_supervisor_creates_and_edits_a_queue(client, org, supervisor):
    login(client, supervisor)
    response = client.post(
        reverse("worklists:queue_create"),
        {"name": "Self-pay calls", "description": "", "cap_per_person": "3", "escalate_after_hours": "48"},
    )
    queue = Queue.objects.get(organization=org, slug="self-pay-calls")
    assert response["Location"] == reverse("worklists:queue_detail", args=[queue.reference])
    assert (queue.cap_per_person, queue.escalate_after_hours) == (3, 48)

    edit = reverse("worklists:queue_edit", args=[queue.reference])
    refused = client.post(
        edit, {"name": "Self-pay calls", "cap_per_person": "0", "escalate_after_hours": "48"}
    )
    assert refused.status_code == 400
    client.post(
        edit,
        {
            "name": "Self-pay",
            "cap_per_person": "",
            "escalate_after_hours": "24",
            "is_active": "on",
            "reason": "Merge",
        },
    )
    queue.refresh_from_db()
    assert (queue.name, queue.cap_per_person) == ("Self-pay", None)


def test_a_supervisor_manages_members_and_skills(client, queue, supervisor, rep):
    login(client, supervisor)
    client.post(
        reverse("worklists:member_add", args=[queue.reference]), {"user": rep.pk, "skills": "lang:es"}
    )
    member = QueueMember.objects.get(queue=queue, user=rep)
    assert member.skills == ["lang:es"]
    skills = reverse("worklists:member_skills", args=[queue.reference, member.reference])
    bad = client.post(skills, {"skills": "Spanish please"}, follow=True)
    assert b"is not a skill" in bad.content
    client.post(skills, {"skills": "lang:es, lang:vi"})
    member.refresh_from_db()
    assert member.skills == ["lang:es", "lang:vi"]
    client.post(reverse("worklists:member_remove", args=[queue.reference, member.reference]))
    assert not QueueMember.objects.filter(pk=member.pk).exists()


def test_a_supervisor_moves_and_reassigns_ticked_items(client, org, queue, membership, supervisor, rep):
    target = QueueFactory(organization=org, name="Backlog")
    items = [account_item(queue) for _ in range(3)]
    url = reverse("worklists:items_bulk", args=[queue.reference])
    login(client, supervisor)

    nothing = client.post(url, {"action": "move", "target_queue": target.pk, "reason": "Backlog"})
    assert nothing.status_code == 400
    assert b"Tick the items" in nothing.content

    given = client.post(
        url, {"action": "reassign", "assignee": rep.pk, "reason": "Cover", "items": [str(items[0].reference)]}
    )
    assert given.status_code == 302
    moved = client.post(
        url,
        {
            "action": "move",
            "target_queue": target.pk,
            "reason": "Backlog",
            "items": [str(i.reference) for i in items[1:]],
        },
    )
    assert moved.status_code == 302
    assert WorkItem.objects.filter(queue=target).count() == 2
    assert WorkItem.objects.get(pk=items[0].pk).assignee == rep


def test_refresh_now_runs_the_rules_in_the_background(client, org, supervisor, rep):
    with mock.patch("worklists.tasks.refresh_work_items.delay") as delay:
        response = login(client, supervisor).post(reverse("worklists:refresh"))
    assert response["Location"] == reverse("worklists:queue_list")
    delay.assert_called_once_with(org.pk)
    with mock.patch("worklists.tasks.refresh_work_items.delay") as delay:
        assert login(client, rep).post(reverse("worklists:refresh")).status_code == 403
    delay.assert_not_called()


def test_the_refresh_task_runs_for_one_organization_as_the_person_who_asked(org, supervisor, stub_rule):
    from core.audit import audit_context
    from worklists.models import RefreshRun
    from worklists.tasks import refresh_work_items

    # ``run`` is the task's body; the worker runs it inside the enqueuing person's audit context.
    with audit_context(actor=supervisor):
        refresh_work_items.run(org.pk)
    run = RefreshRun.objects.get()
    assert (run.organization, run.requested_by, run.trigger) == (org, supervisor, "on_demand")
    assert stub_rule.calls == [[org.pk]]


def test_the_subject_page_can_list_its_open_work(queue):
    item = account_item(queue)
    tag = Template("{% load worklists %}{% work_items_for subject %}")
    assert item.title in tag.render(Context({"subject": item.subject}))
    WorkItem.objects.filter(pk=item.pk).update(status="done", outcome="resolved", done_at=timezone.now())
    assert item.title not in tag.render(Context({"subject": item.subject}))


@pytest.mark.parametrize("who", ["representative", "supervisor"])
def test_navigation_offers_my_work_and_queues_to_supervisors(rf, persona, who, org):
    from worklists.context_processors import worklists_nav

    request = rf.get("/")
    request.user, request.organization = persona(who), org
    assert worklists_nav(request) == {"nav_worklists": {"my_work": True, "queues": who == "supervisor"}}


def test_my_work_counts_stop_at_the_cap(client, queue, membership, rep, monkeypatch):
    monkeypatch.setattr("worklists.selectors.COUNT_CAP", 2)
    for _ in range(3):
        account_item(queue, due_at=timezone.now() - timedelta(hours=1))
    response = login(client, rep).get(reverse("worklists:my_work"))
    [row] = response.context["work"].counts
    assert (row.open_text, row.due_today_text) == ("2+", "2+")
    account = WorkItem.objects.filter(status="open").first()
    WorkItem.objects.filter(pk=account.pk).update(status="done", outcome="resolved", done_at=timezone.now())
    [row] = login(client, rep).get(reverse("worklists:my_work")).context["work"].counts
    assert (row.open_text, row.due_today_text) == ("2", "2")


def test_a_supervisor_sees_the_reassign_form_and_a_done_items_outcome(
    client, queue, membership, rep, supervisor
):
    item = account_item(queue, status="in_progress", assignee=rep)
    login(client, supervisor)
    page = client.get(reverse("worklists:item_detail", args=[item.reference]))
    assert page.context["reassign_form"] is not None
    assert b'data-testid="reassign-form"' in page.content
    client.post(
        reverse("worklists:item_complete", args=[item.reference]), {"outcome": "resolved", "note": "Paid"}
    )
    done = client.get(reverse("worklists:item_detail", args=[item.reference]))
    assert done.context["can_work"] is False
    assert b"Resolved: Paid" in done.content
    assert b"Completed: Resolved" in done.content  # the history


def test_the_queue_list_shows_the_last_refresh_of_the_organization(client, org, supervisor, stub_rule):
    from worklists.refresh import refresh_work_items

    stub_rule.candidates = [candidate(AccountFactory(patient__organization=org))]
    refresh_work_items(organization_ids=[org.pk], by=supervisor, trigger="on_demand", kinds=["tests.stub"])
    response = login(client, supervisor).get(reverse("worklists:queue_list"))
    assert b"1 new, 0 updated, 0 closed" in response.content
    assert [row.queue.slug for row in response.context["rows"]] == ["stub-queue"]
