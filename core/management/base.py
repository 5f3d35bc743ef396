from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class AuditedCommand(BaseCommand):
    """A management command whose changes are recorded as the system user, with the command as reason."""

    def execute(self, *args: Any, **options: Any) -> Any:
        from core.audit import audit_context, system_user

        name = type(self).__module__.rsplit(".", 1)[-1]
        with audit_context(actor=system_user(), reason=f"manage.py {name}"):
            return super().execute(*args, **options)
