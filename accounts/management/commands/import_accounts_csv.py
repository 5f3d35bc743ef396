"""``manage.py import_accounts_csv KIND PATH --organization SLUG [--json]``.

Runs as the system user (``AuditedCommand``). Prints the report; a rejected file prints
every problem (on stderr, or as JSON on stdout with ``--json``) and exits with status 1,
as does a missing or unreadable file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.imports import KINDS, MAX_FILE_BYTES, ImportRejected, csv_import
from core.audit import system_user
from core.csvimport import CsvRejected
from core.errors import DomainError
from core.management.base import AuditedCommand
from staff.models import Organization


class Command(AuditedCommand):
    help = (
        "Import a CSV file of patients, accounts, coverages or charges into one organization. "
        "The whole file is checked first; if any row is invalid nothing is imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=list(KINDS), help="What the file holds.")
        parser.add_argument("path", help="The CSV file.")
        parser.add_argument(
            "--organization", required=True, metavar="SLUG", help="Slug of the organization to import into."
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"], is_active=True).first()
        if organization is None:
            raise CommandError(f"No active organization has the slug {options['organization']!r}.")
        path = Path(options["path"])
        content = self.read_input(path, max_bytes=MAX_FILE_BYTES)
        try:
            report = csv_import(
                organization=organization,
                kind=options["kind"],
                content=content,
                filename=path.name,
                by=system_user(),
            )
        except CsvRejected as exc:
            self._rejected(exc, path, as_json=options["json"])
        except DomainError as exc:
            raise CommandError(f"{path} was not imported: {exc.message}") from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            where = f"{report.kind} from {report.filename} into {organization.slug}"
            self.stdout.write(self.style.SUCCESS(f"Imported {where}: {report.summary()}"))

    def _rejected(self, exc: CsvRejected, path: Path, *, as_json: bool) -> None:
        if as_json:
            body = exc.report.as_dict() if isinstance(exc, ImportRejected) else {"errors": []}
            body["errors"] = [error.as_dict() for error in exc.errors]
            body["total_errors"] = exc.total
            self.stdout.write(json.dumps(body, indent=2))
        else:
            for error in exc.errors:
                self.stderr.write(str(error))
            if exc.total > len(exc.errors):
                self.stderr.write(f"… and {exc.total - len(exc.errors)} more.")
        raise CommandError(f"{path}: {exc.message}.", returncode=1)
