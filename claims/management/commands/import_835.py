"""``manage.py import_835 PATH [--organization SLUG] [--json]``.

Reads, stores and posts one 835 file as the system user and prints a summary (claims,
matched, posted, exceptions, denials, variances, total paid, diagnostics, duplicate or
not). Exits with status 1 and a message naming the file when it cannot be read or is not
an 835; a file already imported exits 0 and says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from claims.models import RemittanceFile
from claims.services.remittances import MAX_FILE_BYTES, remittance_import
from core.audit import system_user
from core.errors import DomainError
from core.management.base import AuditedCommand
from staff.models import Organization


class Command(AuditedCommand):
    help = "Import an X12 835 remittance file: store it, match its claims and post them to the ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The 835 file.")
        parser.add_argument(
            "--organization",
            metavar="SLUG",
            help="Slug of the organization the remittance is for (needed when there is more than one).",
        )
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = self._organization(options["organization"])
        path = Path(options["path"])
        data = self.read_input(path, max_bytes=MAX_FILE_BYTES)
        try:
            outcome = remittance_import(
                organization=organization,
                data=data,
                filename=path.name,
                channel=RemittanceFile.Channel.COMMAND,
                by=system_user(),
            )
        except DomainError as exc:
            raise CommandError(f"{path} was not imported: {exc.message}") from None
        summary = {**outcome.summary, "duplicate": outcome.duplicate}
        if options["json"]:
            summary["diagnostic_list"] = outcome.diagnostics
            self.stdout.write(json.dumps(summary, indent=2))
            return
        if outcome.duplicate:
            self.stdout.write(
                self.style.WARNING(
                    f"{path.name} was already imported on {outcome.file.created_at:%Y-%m-%d %H:%M} "
                    "(same content): nothing new was posted."
                )
            )
        lines = [
            f"File:        {path.name} → {organization.slug} ({summary['status']})",
            f"Payments:    {summary['payments']} "
            f"(duplicates of earlier payments: {summary['duplicate_payments']})",
            f"Claims:      {summary['claims']}, matched {summary['matched']}, posted {summary['posted']}",
            f"Exceptions:  {summary['exceptions']}",
            f"Denials:     {summary['denials']}",
            f"Variances:   {summary['variances']}",
            f"Total paid:  {summary['total_paid']}",
            f"Diagnostics: {summary['diagnostics']} ({summary['errors']} errors)",
            f"Duplicate:   {'yes' if outcome.duplicate else 'no'}",
        ]
        for diagnostic in outcome.diagnostics[:50]:
            lines.append(
                f"  {diagnostic['severity']:<7} {diagnostic['code']:<28} segment "
                f"{diagnostic['segment_index']}: {diagnostic['message']}"
            )
        self.stdout.write("\n".join(lines))

    def _organization(self, slug: str | None) -> Organization:
        active = Organization.objects.filter(is_active=True)
        if slug:
            organization = active.filter(slug=slug).first()
            if organization is None:
                raise CommandError(f"No active organization has the slug {slug!r}.")
            return organization
        found = list(active[:2])
        if len(found) != 1:
            raise CommandError(
                "Say which organization the remittance is for with --organization SLUG "
                f"({'there is none' if not found else 'there is more than one'})."
            )
        return found[0]
