from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from core.management.base import AuditedCommand
from staff import demo


class Command(AuditedCommand):
    help = "Create demo organizations and one user per role (once), then print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates users whose passwords are published; it runs only with DJANGO_DEBUG=true."
            )
        if demo.demo_present():
            self.stdout.write("Demo data is already present; nothing was created.")
        else:
            demo.seed()
            self.stdout.write(self.style.SUCCESS("Demo data created."))
        rows = demo.login_table()
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        self.stdout.write(f"\nDemo sign-ins (password for all: {settings.DEMO_PASSWORD})")
        for role, email, _password, orgs in rows:
            self.stdout.write(f"  {role:<{widths[0]}}  {email:<{widths[1]}}  {orgs}")
