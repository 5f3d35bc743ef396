"""A real Celery worker, on the configured broker, runs tasks as the user who enqueued them."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from config.celery import app
from core.audit import audit_context
from core.models import WorkerHeartbeat
from staff.models import Organization


@app.task(name="tests.rename_organization")
def rename_organization(organization_id: int, name: str) -> None:
    organization = Organization.objects.get(pk=organization_id)
    organization.name = name
    organization.save(update_fields=["name", "updated_at"])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_runs_task_after_commit_as_the_enqueuing_user(org, admin_user):
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with transaction.atomic(), audit_context(actor=admin_user, reason="POST /settings"):
            rename_organization.delay(org.pk, "Renamed by the worker")

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            org.refresh_from_db()
            if org.name == "Renamed by the worker":
                break
            time.sleep(0.2)
    assert org.name == "Renamed by the worker"
    record = org.history.first()
    assert record.history_user == admin_user
    assert record.history_change_reason == "task tests.rename_organization"


@pytest.mark.django_db
def test_worker_ready_signal_writes_a_heartbeat():
    from celery.signals import worker_ready

    class Consumer:
        hostname = "celery@box"

    worker_ready.send(sender=Consumer())
    beat = WorkerHeartbeat.objects.get(hostname="celery@box")
    assert beat.started_at == beat.last_seen
