"""Email on cases: reading fixture messages, threading replies (subject token, In-Reply-To), reopening,
the maildir and IMAP command, the signed webhook, and outbound email logged as a contact."""

from __future__ import annotations

import io
import mailbox
import time
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.audit import system_user
from core.errors import InvalidInput
from core.timeline import timeline_for
from inquiries.models import Case, CaseEmail, Interaction
from inquiries.services import cases as case_services
from inquiries.services.email import case_email_send, email_receive, parse_email
from inquiries.views_email import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_for
from tests.factories import AccountFactory
from tests.factories.inquiries import CaseFactory

MAIL = Path(__file__).resolve().parent / "mail"
SECRET = "test-webhook-secret-0123456789"


def raw(name: str) -> bytes:
    return (MAIL / name).read_bytes()


@pytest.fixture
def rosa(org):
    return AccountFactory(
        patient__organization=org, patient__email="rosa@example.test", patient__ok_to_email=True
    ).patient


def receive(org, name):
    return email_receive(organization=org, raw=raw(name), by=system_user())


def test_parsing_the_fixture_messages():
    question = parse_email(raw("question.eml"))
    assert question.message_id == "<q1-7781@mail.example.test>"
    assert (question.from_name, question.from_address) == ("Rosa Diaz", "rosa@example.test")
    assert question.subject == "Question about my bill from September"
    assert "$283.50" in question.body
    html = parse_email(raw("reply_with_token.eml"))
    assert html.body == "Thank you, we received the benefit results."
    anonymous = parse_email(raw("no_message_id.eml"))
    assert (
        anonymous.message_id.startswith("<sha256-")
        and anonymous.message_id == parse_email(raw("no_message_id.eml")).message_id
    )


def test_a_new_email_opens_a_case_linked_to_the_patient_and_starts_the_reply_clock(org, rosa):
    result = receive(org, "question.eml")
    case = result.case
    assert result.created and case.channel == "email_inbound" and case.status == "in_progress"
    assert case.patient == rosa and case.caller_email == "rosa@example.test" and case.assigned_to is None
    assert case.summary == "Question about my bill from September"
    assert case.awaiting_reply_since is not None and case.reply_due_at > case.awaiting_reply_since
    interaction = Interaction.objects.get(case=case)
    assert (interaction.direction, interaction.outcome, interaction.relationship) == (
        "inbound",
        "email_received",
        "self",
    )
    assert CaseEmail.objects.get(case=case).message_id == "<q1-7781@mail.example.test>"
    assert [e.kind for e in timeline_for(case).order_by("id")] == [
        "inquiries.case.opened",
        "inquiries.interaction.logged",
        "inquiries.email.received",
    ]


def test_the_same_message_is_never_filed_twice(org, rosa):
    receive(org, "question.eml")
    assert receive(org, "question.eml").duplicate
    assert Case.objects.count() == 1 and CaseEmail.objects.count() == 1


def test_a_reply_threads_by_in_reply_to(org, rosa):
    first = receive(org, "question.eml").case
    reply = receive(org, "reply_in_thread.eml")
    assert not reply.created and reply.case == first
    assert first.emails.count() == 2


def test_a_reply_threads_by_the_case_token_in_the_subject(org):
    case = CaseFactory(account__patient__organization=org, number="ABC234")
    result = receive(org, "reply_with_token.eml")
    assert result.case == case and not result.created
    # Another organization's case with the same number is not found from here.


def test_the_token_does_not_reach_another_organizations_case(org, other_org):
    CaseFactory(account__patient__organization=other_org, number="ABC234")
    result = receive(org, "reply_with_token.eml")
    assert result.created and result.case.organization == org


def test_a_reply_reopens_a_resolved_case_and_a_closed_one_gets_a_new_case(org, rosa, rep):
    first = receive(org, "question.eml").case
    case_services.case_resolve(case=first, resolution="Explained", by=rep)
    reply = receive(org, "reply_in_thread.eml")
    assert reply.reopened and reply.case == first
    first.refresh_from_db()
    assert first.status == "in_progress"
    case_services.case_resolve(case=first, resolution="Explained again", by=rep)
    case_services.case_close(case=first, by=rep)
    late = raw("reply_in_thread.eml").replace(b"<q2-7790@", b"<q9-7790@")
    result = email_receive(organization=org, raw=late, by=system_user())
    assert result.created and result.case != first
    assert f"Follows closed case #{first.number}" in result.case.description


# --- the command ---------------------------------------------------------------------------------------


def test_the_command_reads_a_maildir_once(org, rosa, tmp_path):
    box = mailbox.Maildir(str(tmp_path / "inbox"), create=True)
    for name in ("question.eml", "reply_in_thread.eml", "no_message_id.eml"):
        box.add(mailbox.MaildirMessage(raw(name)))
    out = io.StringIO()
    call_command(
        "fetch_case_email", "--organization", "riverside", "--maildir", str(tmp_path / "inbox"), stdout=out
    )
    assert "3 messages read: 2 new case(s), 1 added to cases, 0 already filed." in out.getvalue()
    assert all("S" in box.get_message(key).get_flags() for key in box.iterkeys())
    assert not list((tmp_path / "inbox" / "new").iterdir())
    out = io.StringIO()
    call_command(
        "fetch_case_email", "--organization", "riverside", "--maildir", str(tmp_path / "inbox"), stdout=out
    )
    assert "0 messages read" in out.getvalue()
    assert Case.objects.count() == 2


def test_the_command_refuses_a_missing_maildir_or_organization(org, tmp_path):
    with pytest.raises(CommandError, match="is not a maildir"):
        call_command("fetch_case_email", "--organization", "riverside", "--maildir", str(tmp_path))
    with pytest.raises(CommandError, match="No active organization"):
        call_command("fetch_case_email", "--organization", "nope", "--maildir", str(tmp_path))


class FakeImap:
    """Enough of imaplib.IMAP4_SSL for the command: two unseen messages, flags recorded."""

    instances: list[FakeImap] = []

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.messages = {b"1": raw("question.eml"), b"2": raw("reply_in_thread.eml")}
        self.flagged: list[bytes] = []
        self.login_args: tuple[str, str] | None = None
        FakeImap.instances.append(self)

    def login(self, user: str, password: str):
        self.login_args = (user, password)
        return "OK", [b""]

    def select(self, folder: str):
        return ("OK", [b"2"]) if folder == "INBOX" else ("NO", [b""])

    def uid(self, command: str, *args):
        if command == "SEARCH":
            return "OK", [b"1 2"]
        if command == "FETCH":
            return "OK", [(b"1 (BODY[] {100}", self.messages[args[0]]), b")"]
        if command == "STORE":
            self.flagged.append(args[0])
            return "OK", [b""]
        raise AssertionError(command)

    def logout(self):
        return "BYE", [b""]


def test_the_command_reads_an_imap_mailbox(org, rosa, monkeypatch):
    import imaplib

    FakeImap.instances = []
    monkeypatch.setattr(imaplib, "IMAP4_SSL", FakeImap)
    out = io.StringIO()
    call_command(
        "fetch_case_email",
        "--organization",
        "riverside",
        "--imap-url",
        "imaps://billing%40riverside.example:p%40ss@mail.example.test/INBOX",
        stdout=out,
    )
    client = FakeImap.instances[0]
    assert (client.host, client.port) == ("mail.example.test", 993)
    assert client.login_args == ("billing@riverside.example", "p@ss")
    assert client.flagged == [b"1", b"2"]
    assert "2 messages read: 1 new case(s), 1 added to cases" in out.getvalue()


# --- the webhook -----------------------------------------------------------------------------------------


def post_webhook(client, body: bytes, *, slug="riverside", secret=SECRET, timestamp=None, signature=None):
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    headers = {
        f"HTTP_{TIMESTAMP_HEADER.upper().replace('-', '_')}": timestamp,
        f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature
        or signature_for(secret, timestamp, body),
    }
    return client.post(
        reverse("inquiries:email_inbound", args=[slug]), data=body, content_type="message/rfc822", **headers
    )


def test_the_webhook_is_off_without_a_secret(client, org, settings):
    settings.INQUIRIES_EMAIL_WEBHOOK_SECRET = ""
    assert post_webhook(client, raw("question.eml")).status_code == 503
    assert not Case.objects.exists()


def test_the_webhook_refuses_bad_or_stale_signatures(client, org, settings):
    settings.INQUIRIES_EMAIL_WEBHOOK_SECRET = SECRET
    body = raw("question.eml")
    assert post_webhook(client, body, secret="wrong-secret").status_code == 403
    assert post_webhook(client, body, signature="sha256=00").status_code == 403
    stale = str(int(time.time()) - 3600)
    assert post_webhook(client, body, timestamp=stale).status_code == 403
    tampered_signature = signature_for(SECRET, str(int(time.time())), body)
    assert post_webhook(client, body + b"x", signature=tampered_signature).status_code == 403
    assert not Case.objects.exists()


def test_the_webhook_files_a_signed_message_once(client, org, rosa, settings):
    settings.INQUIRIES_EMAIL_WEBHOOK_SECRET = SECRET
    response = post_webhook(client, raw("question.eml"))
    assert response.status_code == 202
    case = Case.objects.get()
    assert response.json() == {"case": case.number, "created": True, "reopened": False}
    again = post_webhook(client, raw("question.eml"))
    assert again.status_code == 200 and again.json() == {"duplicate": True}
    reply = post_webhook(client, raw("reply_in_thread.eml"))
    assert reply.json()["case"] == case.number
    assert case.history.first().history_user == system_user()


def test_the_webhook_answers_404_for_an_unknown_organization(client, org, settings):
    settings.INQUIRIES_EMAIL_WEBHOOK_SECRET = SECRET
    assert post_webhook(client, raw("question.eml"), slug="nowhere").status_code == 404


# --- outbound ----------------------------------------------------------------------------------------


def test_a_reply_goes_only_to_an_address_on_the_case_and_threads(
    org, rosa, rep, django_capture_on_commit_callbacks
):
    case = receive(org, "question.eml").case
    with pytest.raises(InvalidInput) as exc:
        case_email_send(case=case, to="stranger@example.test", body="Your balance is...", by=rep)
    assert exc.value.field == "to"
    with django_capture_on_commit_callbacks(execute=True):
        sent = case_email_send(case=case, to="rosa@example.test", body="We are looking into it.", by=rep)
    message = mail.outbox[0]
    assert message.subject == f"Re: Question about my bill from September [Case #{case.number}]"
    assert message.extra_headers["In-Reply-To"] == "<q1-7781@mail.example.test>"
    assert message.extra_headers["Message-ID"] == sent.message_id
    case.refresh_from_db()
    assert case.awaiting_reply_since is None and case.reply_due_at is None
    assert sent.interaction.outcome == "email_sent" and sent.interaction.direction == "outbound"
    # The customer's answer to our email threads back by In-Reply-To.
    answer = (
        f"Message-ID: <a1@mail.example.test>\r\nIn-Reply-To: {sent.message_id}\r\nFrom: rosa@example.test\r\n"
        "Subject: thanks\r\n\r\nThanks!\r\n"
    ).encode()
    assert email_receive(organization=org, raw=answer, by=system_user()).case == case


def test_writing_from_the_case_page(client, org, rosa, rep):
    case = receive(org, "question.eml").case
    client.force_login(rep)
    page = client.get(reverse("inquiries:case_detail", args=[case.reference])).content.decode()
    assert 'data-testid="case-email"' in page
    response = client.post(
        reverse("inquiries:case_email", args=[case.reference]),
        {"email-to": "rosa@example.test", "email-body": "Hello Rosa"},
    )
    assert response.status_code == 302
    assert CaseEmail.objects.filter(case=case, direction="outbound").exists()


def test_a_second_delivery_racing_the_first_files_nothing(org, rosa, monkeypatch):
    from inquiries.services import email as module

    real = module._file_inbound

    def racing(**kwargs):
        real(**kwargs)  # the other delivery commits first
        return real(**kwargs)  # this one then hits the unique Message-ID and rolls back whole

    monkeypatch.setattr(module, "_file_inbound", racing)
    result = receive(org, "question.eml")
    assert result.duplicate
    assert Case.objects.count() == 1 and CaseEmail.objects.count() == 1


def test_the_beat_task_reads_a_maildir(org, rosa, tmp_path):
    from inquiries.tasks import fetch_case_email

    box = mailbox.Maildir(str(tmp_path / "inbox"), create=True)
    box.add(mailbox.MaildirMessage(raw("question.eml")))
    summary = fetch_case_email.run("riverside", maildir=str(tmp_path / "inbox"))
    assert summary == "1 message read: 1 new case(s), 0 added to cases, 0 already filed."
