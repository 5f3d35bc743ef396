"""Shared fixtures of the worklists tests: a queue the representative works, and a stub rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories.worklists import QueueFactory, QueueMemberFactory
from worklists import registry
from worklists.registry import Candidate

NOW = timezone.now()


@pytest.fixture
def queue(org):
    return QueueFactory(organization=org, slug="follow-up", name="Follow-up")


@pytest.fixture
def membership(queue, rep):
    return QueueMemberFactory(queue=queue, user=rep)


class StubRule:
    """A registered rule whose candidates a test sets: ``stub.candidates = [Candidate(...)]``."""

    kind = "tests.stub"

    def __init__(self) -> None:
        self.candidates: list[registry.Candidate] = []
        self.error: Exception | None = None
        self.calls: list[list[int]] = []


@pytest.fixture
def stub_rule() -> Iterator[StubRule]:
    stub = StubRule()

    def stub_candidates(organization_ids: list[int], now) -> list[registry.Candidate]:
        stub.calls.append(list(organization_ids))
        if stub.error is not None:
            raise stub.error
        return [c for c in stub.candidates if c.organization_id in organization_ids]

    registry.register(StubRule.kind, label="Stub work", queue="stub-queue", queue_name="Stub queue")(
        stub_candidates
    )
    try:
        yield stub
    finally:
        registry._rules.pop(StubRule.kind, None)


def candidate(account, key: str = "", **kwargs) -> Candidate:
    """A candidate about ``account``, due in two days; keyword arguments override any field."""
    values = {
        "organization_id": account.organization_id,
        "dedupe_key": key or f"tests.account:{account.pk}",
        "subject": account,
        "title": f"Work on account {account.account_number}",
        "due_at": NOW + timedelta(days=2),
        "priority": 400,
        "reason": "Because a test says so",
    }
    return Candidate(**{**values, **kwargs})
