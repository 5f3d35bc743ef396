"""Races: twenty people pressing get next at once, and two refreshes running at once.

Real transactions on real connections (``transaction=True``): each thread has its own
database connection and closes it when done.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from staff.models import Role
from tests.factories import AccountFactory, MembershipFactory, OrganizationFactory, UserFactory
from tests.factories.worklists import QueueFactory, QueueMemberFactory, WorkItemFactory
from worklists import services
from worklists.models import WorkItem
from worklists.refresh import refresh_work_items
from worklists.registry import Candidate

PEOPLE = 20


def _in_threads(count: int, work) -> list:
    """Run ``work(index)`` in ``count`` threads started together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


@pytest.mark.django_db(transaction=True)
def test_twenty_people_taking_next_at_once_never_get_the_same_item():
    organization = OrganizationFactory()
    queue = QueueFactory(organization=organization)
    people = []
    for _ in range(PEOPLE):
        person = UserFactory()
        MembershipFactory(organization=organization, user=person, role=Role.REPRESENTATIVE)
        QueueMemberFactory(queue=queue, user=person)
        people.append(person)
    # Fewer items than takes, so people also race for the last ones and some get nothing.
    for index in range(PEOPLE * 2 - 5):
        WorkItemFactory(queue=queue, priority=index % 7 * 100)

    def take_all(index: int) -> list[int]:
        taken = []
        while (
            item := services.work_item_get_next(user=people[index], organization=organization)
        ) is not None:
            taken.append(item.pk)
        return taken

    batches = _in_threads(PEOPLE, take_all)
    taken = [pk for batch in batches for pk in batch]

    assert len(taken) == PEOPLE * 2 - 5
    assert Counter(taken).most_common(1)[0][1] == 1
    owner = dict(WorkItem.objects.values_list("pk", "assignee_id"))
    for person, batch in zip(people, batches, strict=True):
        assert all(owner[pk] == person.pk for pk in batch)
    assert not WorkItem.objects.filter(status="open").exists()


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_make_each_item_once(stub_rule):
    organization = OrganizationFactory()
    accounts = [AccountFactory(patient__organization=organization) for _ in range(30)]
    due = timezone.now() + timedelta(days=1)
    stub_rule.candidates = [
        Candidate(
            organization_id=organization.pk,
            dedupe_key=f"tests.account:{account.pk}",
            subject=account,
            title=f"Account {account.account_number}",
            due_at=due,
            priority=300,
            reason="Race",
        )
        for account in accounts
    ]

    results = _in_threads(4, lambda index: refresh_work_items(kinds=["tests.stub"]))

    assert sum(result.rules[0].created for result in results) == 30
    assert WorkItem.objects.count() == 30
    assert WorkItem.history.model.objects.count() == 30
