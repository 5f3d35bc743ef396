"""Worklists factories: queues, the people who work them, and work items.

Items made here stand for what a rule produced; the refresh itself is tested through
``worklists.refresh`` with registered test rules, and state changes go through
``worklists.services``.
"""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from tests.factories.staff import OrganizationFactory, UserFactory
from worklists.models import Queue, QueueMember, WorkItem


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue

    organization = factory.SubFactory(OrganizationFactory)
    slug = factory.Sequence(lambda n: f"queue-{n}")
    name = factory.Sequence(lambda n: f"Queue {n}")


class QueueMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QueueMember

    queue = factory.SubFactory(QueueFactory)
    organization = factory.SelfAttribute("queue.organization")
    user = factory.SubFactory(UserFactory)
    skills = factory.LazyFunction(list)


class WorkItemFactory(factory.django.DjangoModelFactory):
    """An open item about ``subject`` (the queue's organization unless given)."""

    class Meta:
        model = WorkItem

    queue = factory.SubFactory(QueueFactory)
    organization = factory.SelfAttribute("queue.organization")
    subject = factory.SelfAttribute("organization")
    kind = "tests.sample"
    source_rule = "tests.factories.worklists"
    dedupe_key = factory.Sequence(lambda n: f"tests.sample:{n}")
    title = factory.Sequence(lambda n: f"Sample work {n}")
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    priority = 500
    priority_reason = "Sample priority"
    required_skills = factory.LazyFunction(list)
