from __future__ import annotations

from typing import Any

from celery.signals import worker_ready


@worker_ready.connect
def _worker_ready(sender: Any = None, **kwargs: Any) -> None:
    # Written as soon as the worker can take tasks, so /health/ turns green without
    # waiting for beat's first heartbeat.
    from core.tasks import record_heartbeat

    record_heartbeat(getattr(sender, "hostname", None) or "worker", starting=True)
