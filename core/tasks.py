"""Task base class and the worker heartbeat.

Tasks are thin: they take ids, re-fetch, and call one service (HOUSE_STYLE rule 8).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.db import transaction
from django.utils import timezone

from core.audit import audit_context, current_actor, current_request_id, system_user

ACTOR_HEADER = "pfs_actor_id"
REQUEST_ID_HEADER = "pfs_request_id"


class ActorTask(DjangoTask):
    """Enqueued only after the surrounding transaction commits, and run as the user who enqueued it.

    ``apply_async`` inside ``transaction.atomic`` defers sending to ``on_commit``: a
    worker must never pick up a task for a row that was rolled back or is not yet
    visible. The acting user's id and the request id travel in the message headers;
    the task body runs inside ``audit_context`` so history rows and timeline events
    name that user (or the system user for scheduled tasks).
    """

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        headers = dict(options.pop("headers", None) or {})
        actor = current_actor()
        headers.setdefault(ACTOR_HEADER, actor.pk if actor is not None else None)
        headers.setdefault(REQUEST_ID_HEADER, current_request_id())
        options["headers"] = headers
        send = partial(super().apply_async, args, kwargs, **options)
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(send)
            return None
        return send()

    def _header(self, name: str) -> Any:
        value = self.request.get(name)
        if value is None:
            value = (self.request.headers or {}).get(name)
        return value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from django.contrib.auth import get_user_model

        actor_id = self._header(ACTOR_HEADER)
        actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
        with audit_context(
            actor=actor or system_user(),
            reason=f"task {self.name}"[:100],
            request_id=self._header(REQUEST_ID_HEADER) or "",
        ):
            return super().__call__(*args, **kwargs)


def record_heartbeat(hostname: str, *, starting: bool = False) -> None:
    from core.models import WorkerHeartbeat

    now = timezone.now()
    defaults: dict[str, Any] = {"last_seen": now}
    if starting:
        defaults["started_at"] = now
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname[:255], defaults=defaults, create_defaults={"last_seen": now, "started_at": now}
    )


@shared_task(ignore_result=True)
def worker_heartbeat() -> None:
    """Scheduled by beat every 30 s: proves broker, beat and a worker all work."""
    from celery import current_task

    record_heartbeat(current_task.request.hostname or "unknown")
