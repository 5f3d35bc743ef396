"""``manage.py load_code_descriptions PATH --organization SLUG --set carc|rarc``.

Loads the official CARC or RARC texts from the file the organization downloaded from
x12.org (CSV or tab-separated; see ``claims.services.codes``). Runs as the system user
(``AuditedCommand``). A rejected file prints every problem on stderr and exits with status
1, as does a missing or unreadable file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from claims.models import CodeDescription
from claims.services.codes import MAX_FILE_BYTES, code_descriptions_load
from core.audit import system_user
from core.csvimport import CsvRejected
from core.errors import DomainError
from core.management.base import AuditedCommand
from staff.models import Organization


class Command(AuditedCommand):
    help = (
        "Load the official texts of adjustment reason codes (CARC) or remark codes (RARC) into one "
        "organization from its licensed file. The whole file is checked first; if any row is invalid "
        "nothing is loaded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The CSV or tab-separated file.")
        parser.add_argument(
            "--organization", required=True, metavar="SLUG", help="Slug of the organization to load into."
        )
        parser.add_argument(
            "--set",
            required=True,
            dest="code_set",
            choices=CodeDescription.CodeSet.values,
            help="Which code set the file holds.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"], is_active=True).first()
        if organization is None:
            raise CommandError(f"No active organization has the slug {options['organization']!r}.")
        path = Path(options["path"])
        data = self.read_input(path, max_bytes=MAX_FILE_BYTES)
        try:
            result = code_descriptions_load(
                organization=organization,
                code_set=options["code_set"],
                data=data,
                by=system_user(),
                filename=path.name,
            )
        except CsvRejected as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            if exc.total > len(exc.errors):
                self.stderr.write(f"… and {exc.total - len(exc.errors)} more.")
            problems = f"{exc.total} problem{'s' if exc.total != 1 else ''}"
            raise CommandError(f"{path}: {problems} found; nothing was loaded.", returncode=1) from None
        except DomainError as exc:
            raise CommandError(f"{path} was not loaded: {exc.message}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {result.code_set.upper()} texts from {path.name} into {organization.slug}: "
                f"{result.summary}."
            )
        )
