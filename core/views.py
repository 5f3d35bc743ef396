"""Health check and error pages."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _timed(check) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = check() or {}
        result = {"ok": True, **detail}
    except Exception as exc:  # a health check reports every failure, whatever its type
        result = {"ok": False, "error": type(exc).__name__}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _check_broker() -> dict[str, Any]:
    from config.celery import app

    transport = app.conf.broker_url.split("://", 1)[0]
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        if transport == "filesystem":
            # The filesystem transport "connects" to anything; prove the folder is usable.
            from pathlib import Path

            folder = Path(conn.transport_options["data_folder_in"])
            if not folder.is_dir():
                raise FileNotFoundError("broker folder missing")
    return {"transport": transport}


def _check_worker() -> dict[str, Any]:
    from core.models import WorkerHeartbeat

    newest = WorkerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()
    if newest is None:
        raise LookupError("no worker has reported")
    age = timezone.now() - newest
    if age > timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS):
        raise TimeoutError("worker heartbeat is stale")
    return {"last_seen_seconds_ago": int(age.total_seconds())}


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Database, broker and worker status; HTTP 503 when any is down. No authentication, no PHI."""
    checks = {"database": _timed(_check_database), "broker": _timed(_check_broker)}
    checks["worker"] = (
        _timed(_check_worker) if checks["database"]["ok"] else {"ok": False, "error": "database"}
    )
    healthy = all(check["ok"] for check in checks.values())
    response = JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )
    if not healthy:
        # A 503 here is an answer, not a server error: log which check failed, once, as a warning.
        failing = ", ".join(name for name, check in checks.items() if not check["ok"])
        logger.warning("health check failing: %s", failing)
        response._has_been_logged = True  # type: ignore[attr-defined]  (skips Django's ERROR line)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else ""
    return render(request, "errors/403.html", {"message": message}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without context processors: the failure may be in the database.
    from django.template import loader

    return HttpResponse(
        loader.get_template("errors/500.html").render({"request_id": getattr(request, "request_id", "")}),
        status=500,
    )
