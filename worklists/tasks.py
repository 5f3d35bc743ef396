"""Background jobs of the worklists app: the rules refresh (beat every few minutes, and on demand)."""

from __future__ import annotations

import logging

from celery import shared_task

from core.audit import current_actor, system_user
from staff.models import Organization
from worklists.models import RefreshRun

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def refresh_work_items(organization_id: int | None = None) -> None:
    """Bring work items in line with the rules: every organization, or one when a supervisor asks.

    Idempotent: running it twice, or two at once, changes nothing more than running it once.
    """
    from worklists.refresh import refresh_work_items as refresh

    if organization_id is None:
        result = refresh(by=system_user(), trigger=RefreshRun.Trigger.SCHEDULE)
    else:
        if not Organization.objects.filter(pk=organization_id, is_active=True).exists():
            return
        result = refresh(
            organization_ids=[organization_id],
            by=current_actor() or system_user(),
            trigger=RefreshRun.Trigger.ON_DEMAND,
        )
    logger.info(
        "work items refreshed: %d created, %d updated, %d closed, %d woken, %d escalated, failed rules: %s",
        result.total("created"),
        result.total("updated"),
        result.total("closed"),
        result.woken,
        result.escalated,
        ", ".join(result.failed_rules) or "none",
    )
