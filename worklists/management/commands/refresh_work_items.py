"""``manage.py refresh_work_items [--organization SLUG]``: run the follow-up rules now.

What Celery beat runs every few minutes, for an operator (after an import, or to see the
figures): prints what each rule found and changed. No PHI: counts and rule names only.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.audit import system_user
from core.management.base import AuditedCommand
from staff.models import Organization
from worklists.models import RefreshRun
from worklists.refresh import refresh_work_items


class Command(AuditedCommand):
    help = "Run the follow-up rules for every active organization (or one) and update the work items."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", help="slug of one organization (default: every active one)")

    def handle(self, *args: Any, **options: Any) -> None:
        organization_ids = None
        trigger = RefreshRun.Trigger.SCHEDULE
        if options["organization"]:
            organization = Organization.objects.filter(slug=options["organization"], is_active=True).first()
            if organization is None:
                raise CommandError(f"No active organization has the slug {options['organization']!r}.")
            organization_ids, trigger = [organization.pk], RefreshRun.Trigger.ON_DEMAND
        result = refresh_work_items(organization_ids=organization_ids, by=system_user(), trigger=trigger)
        for rule in result.rules:
            if rule.failed:
                self.stdout.write(f"{rule.kind}: FAILED ({rule.failed}) in {rule.seconds:.1f} s")
                continue
            changed = f"{rule.created} created, {rule.updated} updated, {rule.closed} closed"
            self.stdout.write(f"{rule.kind}: {rule.candidates} found, {changed} in {rule.seconds:.1f} s")
        seconds = (result.finished_at - result.started_at).total_seconds()
        self.stdout.write(
            f"{result.woken} snoozed items back, {result.escalated} escalated; {seconds:.1f} s in all."
        )
        if result.failed_rules:
            raise CommandError(f"Rules that failed: {', '.join(result.failed_rules)} (see the log).")
