"""Work item services: get next, complete, snooze, release, reassign, bulk move, queues and members."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from core.errors import Conflict, InvalidInput, InvalidTransition
from core.models import TimelineEvent
from staff.models import Role
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.factories.worklists import QueueFactory, QueueMemberFactory, WorkItemFactory
from worklists import services
from worklists.models import RESURFACE_DAYS, Queue, QueueMember, WorkItem

NOW = timezone.now()


def item(queue, **kwargs) -> WorkItem:
    return WorkItemFactory(queue=queue, **kwargs)


# --- get next --------------------------------------------------------------------------------------


def test_get_next_takes_the_highest_priority_then_the_earliest_due(queue, membership, rep):
    item(queue, priority=300, title="low")
    later = item(queue, priority=800, due_at=NOW + timedelta(days=3), title="high, due later")
    sooner = item(queue, priority=800, due_at=NOW + timedelta(days=1), title="high, due sooner")

    taken = services.work_item_get_next(user=rep, organization=queue.organization)

    assert taken == sooner
    assert (taken.status, taken.assignee, taken.taken_at is not None) == ("in_progress", rep, True)
    assert services.work_item_get_next(user=rep, organization=queue.organization) == later
    history = taken.history.first()
    assert (history.history_user, history.history_change_reason) == (rep, "Taken with get next")


def test_get_next_returns_none_when_nothing_is_available(queue, membership, rep):
    item(queue, status="done", outcome="resolved", done_at=NOW)
    assert services.work_item_get_next(user=rep, organization=queue.organization) is None


def test_get_next_serves_only_queues_the_person_works(org, queue, membership, rep):
    other_queue = QueueFactory(organization=org)
    item(other_queue, priority=1000)
    mine = item(queue, priority=100)
    assert services.work_item_get_next(user=rep, organization=org) == mine


def test_get_next_needs_every_skill_an_item_requires(queue, membership, rep):
    spanish = item(queue, priority=900, required_skills=["lang:es"])
    both = item(queue, priority=950, required_skills=["lang:es", "payer:abc"])
    plain = item(queue, priority=100)
    assert services.work_item_get_next(user=rep, organization=queue.organization) == plain

    membership.skills = ["lang:es"]
    membership.save()
    assert services.work_item_get_next(user=rep, organization=queue.organization) == spanish

    membership.skills = ["lang:es", "payer:abc", "lang:vi"]
    membership.save()
    assert services.work_item_get_next(user=rep, organization=queue.organization) == both


def test_get_next_skips_items_assigned_to_someone_else_but_serves_mine(queue, membership, rep, other_rep):
    QueueMemberFactory(queue=queue, user=other_rep)
    item(queue, priority=900, assignee=other_rep)
    for_me = item(queue, priority=200, assignee=rep)
    assert services.work_item_get_next(user=rep, organization=queue.organization) == for_me


def test_get_next_from_one_queue(org, queue, membership, rep):
    second = QueueFactory(organization=org)
    QueueMemberFactory(queue=second, user=rep)
    item(queue, priority=900)
    wanted = item(second, priority=100)
    assert services.work_item_get_next(user=rep, organization=org, queue=second) == wanted


def test_get_next_refuses_a_queue_the_person_does_not_work(org, membership, rep):
    stranger = QueueFactory(organization=org)
    with pytest.raises(PermissionDenied):
        services.work_item_get_next(user=rep, organization=org, queue=stranger)


def test_get_next_does_not_serve_an_inactive_queue(queue, membership, rep):
    item(queue)
    Queue.objects.filter(pk=queue.pk).update(is_active=False)
    assert services.work_item_get_next(user=rep, organization=queue.organization) is None


def test_get_next_respects_the_cap_per_person(org, queue, membership, rep):
    queue.cap_per_person = 1
    queue.save()
    item(queue)
    item(queue)
    services.work_item_get_next(user=rep, organization=org)
    with pytest.raises(Conflict, match="as many items in progress"):
        services.work_item_get_next(user=rep, organization=org)


def test_a_capped_queue_leaves_the_other_queues_served(org, queue, membership, rep):
    queue.cap_per_person = 1
    queue.save()
    second = QueueFactory(organization=org)
    QueueMemberFactory(queue=second, user=rep)
    item(queue, priority=900)
    item(queue, priority=800)
    elsewhere = item(second, priority=100)
    services.work_item_get_next(user=rep, organization=org)
    assert services.work_item_get_next(user=rep, organization=org) == elsewhere


def test_get_next_is_for_members_of_the_organization_only(queue, membership, outsider):
    item(queue)
    with pytest.raises(PermissionDenied):
        services.work_item_get_next(user=outsider, organization=queue.organization)


def test_a_snoozed_item_returns_to_its_queue_on_its_date(queue, membership, rep):
    snoozed = item(queue)
    back_on = NOW + timedelta(days=3)
    services.work_item_snooze(
        item=snoozed, until=back_on, reason="Patient calls back Friday", by=rep, now=NOW
    )

    assert services.work_item_get_next(user=rep, organization=queue.organization, now=NOW) is None
    assert (
        services.work_item_get_next(
            user=rep, organization=queue.organization, now=back_on - timedelta(minutes=1)
        )
        is None
    )
    taken = services.work_item_get_next(user=rep, organization=queue.organization, now=back_on)
    assert taken == snoozed
    assert (taken.status, taken.snoozed_until, taken.assignee) == ("in_progress", None, rep)


# --- complete ----------------------------------------------------------------------------------------


def test_completing_writes_the_outcome_on_the_subjects_timeline(org, queue, membership, rep):
    account = AccountFactory(patient__organization=org)
    work = item(queue, subject=account, kind="accounts.credit_balance")
    services.work_item_get_next(user=rep, organization=org)

    done = services.work_item_complete(
        item=work, outcome="left_message", note="Left a message with the spouse", by=rep, now=NOW
    )

    assert (done.status, done.outcome, done.done_by, done.done_at) == ("done", "left_message", rep, NOW)
    assert done.resurface_at == NOW + timedelta(days=RESURFACE_DAYS["left_message"])
    event = TimelineEvent.objects.get(kind="worklists.item.completed")
    assert event.subject_type == ContentType.objects.get_for_model(account)
    assert event.subject_id == account.pk
    assert event.actor == rep
    assert event.summary == "Credit balance to review: Left a message. Left a message with the spouse"
    assert event.data["work_item"] == str(work.reference)
    assert event.data["outcome"] == "left_message"
    assert done.history.first().history_change_reason == "Completed: Left a message"


def test_completing_needs_an_outcome_a_person_may_choose(queue, membership, rep):
    work = item(queue)
    for outcome in ("", "resolved_elsewhere", "whatever"):
        with pytest.raises(InvalidInput) as refused:
            services.work_item_complete(item=work, outcome=outcome, note="", by=rep)
        assert refused.value.field == "outcome"
    work.refresh_from_db()
    assert work.status == "open"
    assert not TimelineEvent.objects.exists()


def test_a_done_item_cannot_be_completed_again(queue, membership, rep):
    work = item(queue)
    services.work_item_complete(item=work, outcome="resolved", note="", by=rep)
    with pytest.raises(InvalidTransition, match="already done"):
        services.work_item_complete(item=work, outcome="resolved", note="", by=rep)


def test_someone_elses_item_cannot_be_completed(queue, membership, rep, other_rep):
    QueueMemberFactory(queue=queue, user=other_rep)
    work = item(queue, status="in_progress", assignee=other_rep)
    with pytest.raises(PermissionDenied):
        services.work_item_complete(item=work, outcome="resolved", note="", by=rep)


def test_a_person_outside_the_queue_cannot_complete_an_unassigned_item(queue, rep):
    work = item(queue)
    with pytest.raises(PermissionDenied):
        services.work_item_complete(item=work, outcome="resolved", note="", by=rep)


def test_a_supervisor_may_complete_anyones_item(queue, membership, rep, supervisor):
    work = item(queue, status="in_progress", assignee=rep)
    services.work_item_complete(item=work, outcome="no_action_needed", note="Duplicate", by=supervisor)
    work.refresh_from_db()
    assert (work.status, work.done_by) == ("done", supervisor)


def test_an_outsider_cannot_complete_an_item(queue, outsider):
    with pytest.raises(PermissionDenied):
        services.work_item_complete(item=item(queue), outcome="resolved", note="", by=outsider)


# --- snooze and release --------------------------------------------------------------------------------


def test_snoozing_needs_a_future_date_and_a_reason(queue, membership, rep):
    work = item(queue)
    with pytest.raises(InvalidInput) as refused:
        services.work_item_snooze(item=work, until=NOW - timedelta(hours=1), reason="later", by=rep, now=NOW)
    assert refused.value.field == "until"
    with pytest.raises(InvalidInput) as refused:
        services.work_item_snooze(item=work, until=NOW + timedelta(days=400), reason="later", by=rep, now=NOW)
    assert refused.value.field == "until"
    with pytest.raises(InvalidInput) as refused:
        services.work_item_snooze(item=work, until=NOW + timedelta(days=1), reason=" ", by=rep, now=NOW)
    assert refused.value.field == "reason"


def test_snoozing_frees_the_item_and_notes_it_on_the_timeline(org, queue, membership, rep):
    account = AccountFactory(patient__organization=org)
    work = item(queue, subject=account)
    services.work_item_get_next(user=rep, organization=org)
    until = NOW + timedelta(days=2)
    snoozed = services.work_item_snooze(item=work, until=until, reason="Waiting for the EOB", by=rep, now=NOW)
    assert (snoozed.status, snoozed.assignee, snoozed.snoozed_by, snoozed.snoozed_until) == (
        "snoozed",
        None,
        rep,
        until,
    )
    event = TimelineEvent.objects.get(kind="worklists.item.snoozed")
    assert event.subject_id == account.pk
    assert "Waiting for the EOB" in event.summary


def test_releasing_gives_the_item_back_to_the_queue(queue, membership, rep):
    item(queue)
    taken = services.work_item_get_next(user=rep, organization=queue.organization)
    released = services.work_item_release(item=taken, by=rep)
    assert (released.status, released.assignee) == ("open", None)
    with pytest.raises(InvalidTransition, match="already in its queue"):
        services.work_item_release(item=released, by=rep)


def test_a_snoozed_or_done_item_cannot_be_released(queue, membership, rep):
    work = item(queue)
    services.work_item_snooze(item=work, until=NOW + timedelta(days=1), reason="later", by=rep, now=NOW)
    work.assignee = rep
    WorkItem.objects.filter(pk=work.pk).update(assignee=rep)
    with pytest.raises(InvalidTransition, match="snoozed"):
        services.work_item_release(item=work, by=rep)


# --- supervisors -------------------------------------------------------------------------------------------


def test_a_supervisor_reassigns_an_item_to_someone_who_works_the_queue(queue, membership, rep, supervisor):
    work = item(queue)
    given = services.work_item_reassign(item=work, assignee=rep, by=supervisor, reason="Spanish speaker")
    assert (given.status, given.assignee) == ("in_progress", rep)
    back = services.work_item_reassign(item=work, assignee=None, by=supervisor, reason="Out sick")
    assert (back.status, back.assignee) == ("open", None)
    assert back.history.first().history_change_reason == "Reassigned: Out sick"


def test_reassigning_refuses_someone_outside_the_queue(queue, supervisor, other_rep):
    with pytest.raises(InvalidInput, match="does not work") as refused:
        services.work_item_reassign(item=item(queue), assignee=other_rep, by=supervisor, reason="Cover")
    assert refused.value.field == "assignee"


def test_only_supervisors_reassign(queue, membership, rep, senior_rep):
    with pytest.raises(PermissionDenied):
        services.work_item_reassign(item=item(queue), assignee=rep, by=senior_rep, reason="Cover")


def test_bulk_move_moves_live_items_and_leaves_done_ones(org, queue, membership, rep, supervisor):
    target = QueueFactory(organization=org, name="Escalations")
    live = [item(queue), item(queue, status="in_progress", assignee=rep)]
    done = item(queue, status="done", outcome="resolved", done_at=NOW)

    moved = services.work_items_bulk_move(items=[*live, done], queue=target, by=supervisor, reason="Backlog")

    assert moved == 2
    assert set(WorkItem.objects.filter(queue=target).values_list("pk", flat=True)) == {i.pk for i in live}
    assert WorkItem.objects.get(pk=live[1].pk).assignee == rep
    done.refresh_from_db()
    assert done.queue == queue
    assert WorkItem.objects.get(pk=live[0].pk).history.first().history_user == supervisor


def test_bulk_move_stays_inside_the_organization(org, other_org, queue, supervisor):
    foreign = QueueFactory(organization=other_org)
    with pytest.raises(PermissionDenied):
        services.work_items_bulk_move(items=[item(queue)], queue=foreign, by=supervisor, reason="No")
    theirs = item(foreign)
    assert services.work_items_bulk_move(items=[theirs], queue=queue, by=supervisor, reason="No") == 0


def test_bulk_reassign(queue, membership, rep, supervisor):
    items = [item(queue), item(queue)]
    count = services.work_items_bulk_reassign(
        items=items, organization=queue.organization, assignee=rep, by=supervisor, reason="Morning batch"
    )
    assert count == 2
    assert set(WorkItem.objects.values_list("assignee", "status").distinct()) == {(rep.pk, "in_progress")}


def test_queue_settings_and_cap(queue, supervisor, rep):
    services.queue_set_cap(queue=queue, cap=5, by=supervisor)
    queue.refresh_from_db()
    assert queue.cap_per_person == 5
    with pytest.raises(InvalidInput) as refused:
        services.queue_set_cap(queue=queue, cap=0, by=supervisor)
    assert refused.value.field == "cap_per_person"
    with pytest.raises(PermissionDenied):
        services.queue_set_cap(queue=queue, cap=None, by=rep)
    with pytest.raises(InvalidInput, match="cannot be changed here"):
        services.queue_update(queue=queue, changes={"slug": "x"}, reason="Rename", by=supervisor)


def test_queue_create_refuses_a_duplicate(org, supervisor):
    services.queue_create(organization=org, name="Self-pay calls", by=supervisor)
    with pytest.raises(Conflict):
        services.queue_create(organization=org, name="Self-pay calls", by=supervisor)


def test_members_and_their_skills(queue, supervisor, rep, outsider):
    member = services.queue_member_add(queue=queue, user=rep, skills="LANG:ES, payer:abc-1", by=supervisor)
    assert member.skills == ["lang:es", "payer:abc-1"]
    with pytest.raises(Conflict):
        services.queue_member_add(queue=queue, user=rep, by=supervisor)
    with pytest.raises(InvalidInput) as refused:
        services.queue_member_add(queue=queue, user=outsider, by=supervisor)
    assert refused.value.field == "user"
    with pytest.raises(InvalidInput, match="is not a skill"):
        services.queue_member_set_skills(member=member, skills="spanish", by=supervisor)
    services.queue_member_set_skills(member=member, skills=["lang:vi"], by=supervisor)
    member.refresh_from_db()
    assert member.skills == ["lang:vi"]


def test_removing_a_member_releases_what_they_had(queue, membership, rep, supervisor):
    item(queue)
    taken = services.work_item_get_next(user=rep, organization=queue.organization)
    assert services.queue_member_remove(member=membership, by=supervisor) == 1
    taken.refresh_from_db()
    assert (taken.status, taken.assignee) == ("open", None)
    assert not QueueMember.objects.filter(pk=membership.pk).exists()


def test_members_can_be_added_only_by_supervisors(queue, rep, senior_rep):
    with pytest.raises(PermissionDenied):
        services.queue_member_add(queue=queue, user=rep, by=senior_rep)


def test_an_inactive_member_of_the_organization_gets_nothing(org, queue, rep):
    former = UserFactory()
    MembershipFactory(organization=org, user=former, role=Role.REPRESENTATIVE, is_active=False)
    QueueMemberFactory(queue=queue, user=former)
    item(queue)
    with pytest.raises(PermissionDenied):
        services.work_item_get_next(user=former, organization=org)
