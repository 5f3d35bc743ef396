from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from accounts import demo as accounts_demo
from claims import demo as claims_demo
from claims import demo_remittances
from core.management.base import AuditedCommand
from inquiries import demo as inquiries_demo
from payers import demo as payers_demo
from staff import demo


class Command(AuditedCommand):
    help = (
        "Create the demo organizations, people, payers, patients and accounts that are missing "
        "(each app in dependency order), then print how to sign in."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates users whose passwords are published; it runs only with DJANGO_DEBUG=true."
            )
        started = time.monotonic()
        created = []
        if not demo.demo_present():
            demo.seed()
            created.append("organizations and people")
        if payers_demo.seed():
            created.append("payers")
        accounts = accounts_demo.seed()
        if accounts:
            created.append(f"{accounts} patient accounts")
        claims = claims_demo.seed()
        if claims:
            created.append(f"{claims} claims")
        remittances = demo_remittances.seed()
        if remittances:
            created.append(f"{remittances} posted remittances")
        cases = inquiries_demo.seed()
        if cases:
            created.append(f"{cases} cases")
        if created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data created ({', '.join(created)}) in {time.monotonic() - started:.1f} s."
                )
            )
        else:
            self.stdout.write("Demo data is already present; nothing was created.")
        rows = demo.login_table()
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        self.stdout.write(f"\nDemo sign-ins (password for all: {settings.DEMO_PASSWORD})")
        for role, email, _password, orgs in rows:
            self.stdout.write(f"  {role:<{widths[0]}}  {email:<{widths[1]}}  {orgs}")
