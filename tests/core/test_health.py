from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import WorkerHeartbeat


def _beat(seconds_ago: int) -> None:
    now = timezone.now() - timedelta(seconds=seconds_ago)
    WorkerHeartbeat.objects.create(hostname="celery@test", last_seen=now, started_at=now)


@pytest.mark.django_db
def test_health_is_ok_with_a_recent_worker_heartbeat(client):
    _beat(5)
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "worker"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_health_is_503_without_a_worker(client):
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {
        "ok": False,
        "error": "LookupError",
        "ms": pytest.approx(0, abs=1000),
    }


@pytest.mark.django_db
def test_health_is_503_with_a_stale_worker(client, settings):
    _beat(settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS + 10)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["error"] == "TimeoutError"


@pytest.mark.django_db
def test_health_is_503_when_the_broker_is_down(client, monkeypatch):
    _beat(1)
    from core import views

    def broken():
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr(views, "_check_broker", broken)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["error"] == "ConnectionRefusedError"


def test_error_pages_are_friendly(client, rep):
    client.force_login(rep)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"We could not find that page" in response.content
    response = client.get("/settings/members/")
    assert response.status_code == 403
    assert b"You do not have access to this page" in response.content
