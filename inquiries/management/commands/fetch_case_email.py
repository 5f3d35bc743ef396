"""Read a mailbox and file each new message on its case.

    python manage.py fetch_case_email --organization riverside --maildir /var/mail/billing
    python manage.py fetch_case_email --organization riverside --imap-url imaps://user:pass@mail.example.org/INBOX

A maildir's unread messages are marked read once filed; an IMAP mailbox's unseen
messages are fetched without marking them and flagged ``\\Seen`` once filed. A message
already filed (same Message-ID) is skipped, so a run stopped half-way can be repeated.
Run it from cron or a Celery beat entry; it acts as the system user.
"""

from __future__ import annotations

import contextlib
import imaplib
import mailbox
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.management.base import CommandError

from core.audit import system_user
from core.management.base import AuditedCommand
from inquiries.services.email import email_receive
from staff.models import Organization


class Command(AuditedCommand):
    help = "File new email from a maildir or an IMAP mailbox on cases of one organization."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--organization", required=True, help="The organization's slug.")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--maildir", help="Path of a maildir (with new/ and cur/).")
        source.add_argument(
            "--imap-url",
            help="imaps://user:password@host[:port]/MAILBOX (password URL-encoded); imap:// for plain.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"], is_active=True).first()
        if organization is None:
            raise CommandError(f"No active organization with the slug {options['organization']!r}.")
        if options["maildir"]:
            counts = self._maildir(organization, Path(options["maildir"]))
        else:
            counts = self._imap(organization, options["imap_url"])
        total = sum(counts.values())
        self.stdout.write(
            f"{total} message{'s' if total != 1 else ''} read: {counts['created']} new case(s), "
            f"{counts['threaded']} added to cases, {counts['duplicate']} already filed."
        )

    def _file(self, organization: Organization, raw: bytes, counts: Counter) -> None:
        result = email_receive(organization=organization, raw=raw, by=system_user())
        counts["duplicate" if result.duplicate else "created" if result.created else "threaded"] += 1

    def _maildir(self, organization: Organization, path: Path) -> Counter:
        if not (path / "new").is_dir() or not (path / "cur").is_dir():
            raise CommandError(f"{path} is not a maildir (it needs new/ and cur/ folders).")
        box = mailbox.Maildir(str(path), factory=None, create=False)
        counts: Counter = Counter(created=0, threaded=0, duplicate=0)
        for key in sorted(box.keys()):
            message = box.get_message(key)
            if "S" in message.get_flags():
                continue
            self._file(organization, box.get_bytes(key), counts)
            message.set_subdir("cur")
            message.add_flag("S")
            box[key] = message
        return counts

    def _imap(self, organization: Organization, url: str) -> Counter:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise CommandError("--imap-url must look like imaps://user:password@host/MAILBOX")
        client_class = imaplib.IMAP4_SSL if parts.scheme == "imaps" else imaplib.IMAP4
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        counts: Counter = Counter(created=0, threaded=0, duplicate=0)
        try:
            client = client_class(parts.hostname, parts.port or (993 if parts.scheme == "imaps" else 143))
        except OSError as exc:
            raise CommandError(f"Cannot reach the mail server: {type(exc).__name__}") from None
        try:
            client.login(unquote(parts.username or ""), unquote(parts.password or ""))
            status, _ = client.select(folder)
            if status != "OK":
                raise CommandError(f"No mailbox {folder!r} on the server.")
            _, found = client.uid("SEARCH", None, "UNSEEN")
            for uid in (found[0] or b"").split():
                _, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((item[1] for item in data if isinstance(item, tuple)), None)
                if raw is None:
                    continue
                self._file(organization, raw, counts)
                client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        except imaplib.IMAP4.error as exc:
            raise CommandError(f"The mail server refused: {exc}") from None
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()
        return counts
