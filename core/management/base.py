from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class AuditedCommand(BaseCommand):
    """A management command whose changes are recorded as the system user, with the command as reason."""

    def execute(self, *args: Any, **options: Any) -> Any:
        from core.audit import audit_context, system_user

        name = type(self).__module__.rsplit(".", 1)[-1]
        with audit_context(actor=system_user(), reason=f"manage.py {name}"):
            return super().execute(*args, **options)

    def read_input(self, path: Path, *, max_bytes: int) -> bytes:
        """The bytes of an input file, or a CommandError that names the file and the problem."""
        try:
            if path.stat().st_size > max_bytes:
                raise CommandError(f"{path} is larger than {max_bytes // (1024 * 1024)} MB; split it.")
            return path.read_bytes()
        except FileNotFoundError:
            raise CommandError(f"Cannot read {path}: there is no such file.") from None
        except IsADirectoryError:
            raise CommandError(f"Cannot read {path}: it is a directory, not a file.") from None
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
