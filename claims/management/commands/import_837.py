"""``manage.py import_837 PATH --organization SLUG [--json]``.

Runs as the system user (``AuditedCommand``). Prints what the file created; a file with
problems prints every one (on stderr, or as JSON on stdout with ``--json``), imports
nothing and exits with status 1, as does a file that cannot be read or is not an 837.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from claims.intake837 import MAX_FILE_BYTES, IntakeRejected, import_837
from core.audit import system_user
from core.errors import DomainError
from core.management.base import AuditedCommand
from staff.models import Organization


class Command(AuditedCommand):
    help = (
        "Import an X12 837P or 837I file of claims made in the billing system into one organization. "
        "If any claim cannot be taken, nothing is imported; claims already received are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The 837 file.")
        parser.add_argument(
            "--organization", required=True, metavar="SLUG", help="Slug of the organization to import into."
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"], is_active=True).first()
        if organization is None:
            raise CommandError(f"No active organization has the slug {options['organization']!r}.")
        path = Path(options["path"])
        data = self.read_input(path, max_bytes=MAX_FILE_BYTES)
        try:
            result = import_837(organization=organization, data=data, filename=path.name, by=system_user())
        except IntakeRejected as exc:
            if options["json"]:
                self.stdout.write(json.dumps(exc.result.as_dict(), indent=2))
            else:
                for error in exc.result.errors:
                    self.stderr.write(str(error))
            raise CommandError(f"{path}: {exc.message}.", returncode=1) from None
        except DomainError as exc:
            raise CommandError(f"{path} was not imported: {exc.message}", returncode=1) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Imported {result.filename} into {organization.slug}: {result.summary()}")
            )
