"""Scheduled email intake: a thin wrapper around ``manage.py fetch_case_email`` for Celery beat."""

from __future__ import annotations

import io

from celery import shared_task
from django.core.management import call_command

from core.tasks import ActorTask


@shared_task(base=ActorTask, ignore_result=True)
def fetch_case_email(organization: str, maildir: str = "", imap_url: str = "") -> str:
    """Read one organization's mailbox (a maildir path or an IMAP URL) and file new mail on cases.

    Idempotent: a message already filed is skipped, so an overlapping or repeated run is
    harmless. Returns the command's one-line summary (counts only, no patient data).
    """
    out = io.StringIO()
    source = ["--maildir", maildir] if maildir else ["--imap-url", imap_url]
    call_command("fetch_case_email", "--organization", organization, *source, stdout=out)
    return out.getvalue().strip()
