"""Worklists API: the persona matrix on every endpoint, get next, the actions and the PHI log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from staff.models import PhiAccessLog
from tests.conftest import PERSONAS
from tests.factories import AccountFactory
from tests.factories.worklists import QueueFactory, QueueMemberFactory, WorkItemFactory
from worklists.models import WorkItem

ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
SUPERVISING = {"supervisor", "admin"}


def matrix(allowed: set[str], ok: int = 200, outsider: int = 404) -> dict[str, int]:
    return {"outsider": outsider, **{role: ok if role in allowed else 403 for role in ROLES}}


def client_for(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_status(response: Any, who: str, expected: dict[str, int]) -> None:
    if who == "anonymous":
        assert response.status_code in (401, 403), response.content
    else:
        assert response.status_code == expected[who], (who, response.status_code, response.content)


@pytest.fixture
def everyone(rep, senior_rep, posting_specialist, appeals_coordinator, supervisor, admin_user, outsider):
    """Create every persona up front, so membership counts do not depend on the one under test."""


@pytest.fixture
def item(queue, membership, rep) -> WorkItem:
    account = AccountFactory(patient__organization=queue.organization)
    return WorkItemFactory(queue=queue, subject=account, status="in_progress", assignee=rep)


def url(name: str, *args: Any) -> str:
    return reverse(f"api:{name}", args=args)


# --- reads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_list_matrix(who, persona, everyone, item, other_org):
    WorkItemFactory(queue=QueueFactory(organization=other_org))
    response = client_for(persona(who)).get(url("work-item-list"))
    assert_status(response, who, matrix(set(ROLES), outsider=200))
    if response.status_code == 200:
        listed = {row["reference"] for row in response.json()["results"]}
        assert (str(item.reference) in listed) == (who != "outsider")
        assert len(listed) == 1


@pytest.mark.parametrize("who", PERSONAS)
def test_retrieve_matrix_logs_the_subject(who, persona, everyone, item):
    response = client_for(persona(who)).get(url("work-item-detail", item.reference))
    assert_status(response, who, matrix(set(ROLES)))
    if response.status_code == 200:
        body = response.json()
        assert body["subject"]["type"] == "accounts.patientaccount"
        assert body["subject"]["reference"] == str(item.subject.reference)
        assert body["subject"]["url"] == reverse("accounts:account_detail", args=[item.subject.reference])
        assert body["kind_label"] == "tests.sample"
        assert PhiAccessLog.objects.filter(user=persona(who), subject_id=item.subject_id).count() == 1


def test_list_filters(client, item, queue, rep):
    api = client_for(rep)
    WorkItemFactory(queue=queue, status="done", outcome="resolved", done_at=timezone.now())
    assert len(api.get(url("work-item-list"), {"mine": "true"}).json()["results"]) == 1
    assert len(api.get(url("work-item-list"), {"live": "false"}).json()["results"]) == 1
    assert len(api.get(url("work-item-list"), {"queue": str(queue.reference)}).json()["results"]) == 2
    assert len(api.get(url("work-item-list"), {"status": "in_progress"}).json()["results"]) == 1


# --- get next ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_next_matrix(who, persona, everyone, org, queue):
    user = persona(who)
    if user is not None and who != "outsider":
        QueueMemberFactory(queue=queue, user=user)
    waiting = WorkItemFactory(queue=queue)
    response = client_for(user).post(
        url("work-item-next"), {"organization": str(org.reference)}, format="json"
    )
    assert_status(response, who, matrix(set(ROLES)))
    if response.status_code == 200:
        assert response.json()["reference"] == str(waiting.reference)
        assert response.json()["status"] == "in_progress"
        assert response.json()["assignee"]["email"] == user.email


def test_next_answers_204_when_nothing_is_waiting(org, membership, rep):
    response = client_for(rep).post(
        url("work-item-next"), {"organization": str(org.reference)}, format="json"
    )
    assert response.status_code == 204


def test_next_answers_409_at_the_cap(org, queue, membership, rep):
    queue.cap_per_person = 1
    queue.save()
    WorkItemFactory(queue=queue, status="in_progress", assignee=rep)
    WorkItemFactory(queue=queue)
    response = client_for(rep).post(
        url("work-item-next"), {"organization": str(org.reference)}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_next_from_a_queue_the_person_does_not_work_is_403(org, membership, rep):
    other = QueueFactory(organization=org)
    response = client_for(rep).post(
        url("work-item-next"),
        {"organization": str(org.reference), "queue": str(other.reference)},
        format="json",
    )
    assert response.status_code == 403


# --- actions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_complete_matrix(who, persona, everyone, item):
    response = client_for(persona(who)).post(
        url("work-item-complete", item.reference), {"outcome": "resolved", "note": "Paid"}, format="json"
    )
    expected = matrix({"representative"} | SUPERVISING)
    assert_status(response, who, expected)
    item.refresh_from_db()
    assert (item.status == "done") == (response.status_code == 200)
    if response.status_code == 200:
        assert response.json()["outcome"] == "resolved"


def test_complete_needs_an_outcome(item, rep):
    response = client_for(rep).post(url("work-item-complete", item.reference), {"note": "x"}, format="json")
    assert response.status_code == 400
    assert "outcome" in response.json()
    again = client_for(rep).post(
        url("work-item-complete", item.reference), {"outcome": "resolved_elsewhere"}, format="json"
    )
    assert again.status_code == 400


def test_completing_a_done_item_is_409(item, rep):
    api = client_for(rep)
    api.post(url("work-item-complete", item.reference), {"outcome": "resolved"}, format="json")
    response = api.post(url("work-item-complete", item.reference), {"outcome": "resolved"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


@pytest.mark.parametrize("who", PERSONAS)
def test_snooze_matrix(who, persona, everyone, item):
    until = (timezone.now() + timedelta(days=2)).isoformat()
    response = client_for(persona(who)).post(
        url("work-item-snooze", item.reference),
        {"until": until, "reason": "Waiting for the EOB"},
        format="json",
    )
    assert_status(response, who, matrix({"representative"} | SUPERVISING))
    if response.status_code == 200:
        assert response.json()["status"] == "snoozed"


def test_snooze_refuses_a_past_date(item, rep):
    response = client_for(rep).post(
        url("work-item-snooze", item.reference),
        {"until": (timezone.now() - timedelta(days=1)).isoformat(), "reason": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "until"


@pytest.mark.parametrize("who", PERSONAS)
def test_release_matrix(who, persona, everyone, item):
    response = client_for(persona(who)).post(url("work-item-release", item.reference), {}, format="json")
    assert_status(response, who, matrix({"representative"} | SUPERVISING))
    if response.status_code == 200:
        assert (response.json()["status"], response.json()["assignee"]) == ("open", None)


@pytest.mark.parametrize("who", PERSONAS)
def test_reassign_matrix(who, persona, everyone, item, queue, other_rep):
    QueueMemberFactory(queue=queue, user=other_rep)
    response = client_for(persona(who)).post(
        url("work-item-reassign", item.reference),
        {"assignee": str(other_rep.reference), "reason": "Cover"},
        format="json",
    )
    assert_status(response, who, matrix(SUPERVISING))
    if response.status_code == 200:
        assert response.json()["assignee"]["email"] == other_rep.email


def test_reassign_to_nobody_and_to_a_stranger(item, supervisor):
    api = client_for(supervisor)
    stranger = api.post(
        url("work-item-reassign", item.reference),
        {"assignee": "5b1e7c1a-3f44-4b5c-9a51-0d7a3b0c2f11", "reason": "Cover"},
        format="json",
    )
    assert stranger.status_code == 400
    back = api.post(
        url("work-item-reassign", item.reference), {"assignee": None, "reason": "Cover"}, format="json"
    )
    assert back.status_code == 200
    assert back.json()["status"] == "open"


# --- queues ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_queue_list_and_members_matrix(who, persona, everyone, queue, membership):
    api = client_for(persona(who))
    listed = api.get(url("queue-list"))
    assert_status(listed, who, matrix(set(ROLES), outsider=200))
    if listed.status_code == 200:
        names = {row["name"] for row in listed.json()["results"]}
        assert ("Follow-up" in names) == (who != "outsider")
    members = api.get(url("queue-members", queue.reference))
    assert_status(members, who, matrix(SUPERVISING))
    if members.status_code == 200:
        assert [m["user"]["email"] for m in members.json()] == ["rep@example.test"]


@pytest.mark.parametrize("who", PERSONAS)
def test_refresh_matrix(who, persona, everyone, org):
    with mock.patch("worklists.tasks.refresh_work_items.delay") as delay:
        response = client_for(persona(who)).post(
            url("queue-refresh"), {"organization": str(org.reference)}, format="json"
        )
    assert_status(response, who, matrix(SUPERVISING, ok=202))
    if response.status_code == 202:
        delay.assert_called_once_with(org.pk)
    else:
        delay.assert_not_called()
