"""Every change records who made it and why: in requests, tasks and management commands."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from config.celery import app
from core.audit import SYSTEM_USER_EMAIL, audit_context, current_actor
from core.tasks import ACTOR_HEADER, ActorTask
from staff.models import Organization, User


@app.task(name="tests.echo_actor")
def echo_actor(marker: str) -> None:
    """Records who the task body ran as."""
    from django.core.cache import cache

    actor = current_actor()
    cache.set(f"echo_actor:{marker}", actor.pk if actor is not None else None, 60)


def test_history_records_the_context_actor_and_reason(org, admin_user):
    with audit_context(actor=admin_user, reason="renamed for the demo") as request_id:
        org.name = "Renamed"
        org.save()
    record = org.history.first()
    assert record.history_user == admin_user
    assert record.history_change_reason == "renamed for the demo"
    assert record.request_id == request_id


def test_explicit_change_reason_wins_over_the_context(org, admin_user):
    with audit_context(actor=admin_user, reason="default"):
        org.name = "Renamed"
        org._change_reason = "explicit"
        org.save()
    assert org.history.first().history_change_reason == "explicit"


def test_each_request_gets_an_id_it_echoes(client, rep):
    client.force_login(rep)
    given = "2f1d8f9e-6a55-4f7f-9a53-0c3b9e1d2a10"
    assert client.get("/", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given
    # A malformed id is replaced, never echoed into logs.
    assert client.get("/", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"] != "<script>"


@pytest.mark.django_db
def test_management_commands_act_as_the_system_user(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    org = Organization.objects.get(slug="riverside")
    record = org.history.earliest()
    assert record.history_user.email == SYSTEM_USER_EMAIL
    assert record.history_change_reason == "manage.py seed_demo"
    system = User.objects.get(email=SYSTEM_USER_EMAIL)
    assert not system.is_active and not system.has_usable_password()


def test_task_is_sent_only_after_commit(rep, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(
        ActorTask.__mro__[1], "apply_async", lambda self, args=None, kwargs=None, **o: sent.append(o)
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        with audit_context(actor=rep):
            echo_actor.delay("m1")
        assert sent == []
    assert len(callbacks) == 1
    assert sent[0]["headers"][ACTOR_HEADER] == rep.pk


def test_task_body_runs_as_the_enqueuing_user(rep):
    from django.core.cache import cache

    echo_actor.apply(args=["m2"], headers={ACTOR_HEADER: rep.pk})
    assert cache.get("echo_actor:m2") == rep.pk


@pytest.mark.django_db
def test_task_without_actor_runs_as_system_user():
    from django.core.cache import cache

    echo_actor.apply(args=["m3"])
    assert cache.get("echo_actor:m3") == User.objects.get(email=SYSTEM_USER_EMAIL).pk
