from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.utils import timezone


@shared_task(ignore_result=True)
def phi_access_log_purge_expired() -> int:
    """Delete PHI access rows past the retention period (the trigger refuses anything younger)."""
    cutoff = timezone.now() - timedelta(days=settings.PHI_ACCESS_LOG_RETENTION_DAYS)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM staff_phiaccesslog WHERE accessed_at < %s", [cutoff])
        return cursor.rowcount
