"""Account statements: the context, the stored document, the timeline, statement dates and email."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any
from unittest import mock

import pypdf
import pytest
from django.core import mail
from django.db import DatabaseError, transaction

from accounts import services, statements
from accounts.models import PatientAccount
from core.errors import InvalidInput, NotPermitted
from core.models import TimelineEvent
from correspondence import rendering
from correspondence import services as correspondence_services
from correspondence.models import Document, LetterTemplate
from correspondence.rendering import ensure_plain
from correspondence.samples import sample_context
from tests.correspondence.conftest import EXPECTED_RUNNING, charge_input

D = Decimal
TODAY = date(2026, 11, 3)


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())


def shape(value: Any) -> Any:
    """The keys of a context, recursively; a list of records stands for the shape of its first one."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value and isinstance(value[0], dict) else "list"
    return type(value).__name__ if isinstance(value, bool) else "value"


# --- context --------------------------------------------------------------------------------------


def test_the_context_is_plain_data_shaped_like_the_sample(activity):
    context = statements.statement_context(activity, "itemized_statement", today=TODAY)
    ensure_plain(context)
    # The sample is what admins preview and what the template page documents.
    assert shape(context) == shape(sample_context())


def test_the_context_has_the_accounts_facts(activity, primary):
    context = statements.statement_context(activity, "patient_statement", today=TODAY)
    assert context["statement"] == {
        "kind": "Patient statement",
        "date": "11/03/2026",
        "due_date": "12/03/2026",
    }
    assert context["guarantor"]["name"] == "Maria Gonzalez"
    assert context["guarantor"]["address_lines"] == ["418 Elm Street", "Springfield, IL 62704"]
    assert context["account"]["number"] == "A200001"
    assert context["account"]["service_dates"] == "09/01/2026 to 09/03/2026"
    assert context["balances"] == {
        "total": D("85.00"),
        "patient": D("50.00"),
        "insurance_pending": D("35.00"),
        "amount_due": D("50.00"),
        "credit": D("0.00"),
    }
    assert context["coverages"] == [
        {
            "priority": "Primary",
            "payer": "Prairie Health",
            "plan": "Choice PPO",
            "member_id": "PRH448812",
            "pending": D("35.00"),
        }
    ]
    # The patient's 60.00 became theirs today (the transfer); 10.00 is paid.
    assert [band["amount"] for band in context["aging"]] == [D("50.00"), D("0"), D("0"), D("0"), D("0")]
    assert [band["label"] for band in context["aging"]][-1] == "Over 120 days"


def test_itemized_lines_carry_every_entry_with_a_running_balance(activity):
    context = statements.statement_context(activity, "itemized_statement", today=TODAY)
    lines = context["lines"]
    assert [line["running_balance"] for line in lines] == EXPECTED_RUNNING
    assert lines[-1]["running_balance"] == activity.balance
    assert [line["kind"] for line in lines] == [
        "Charge",
        "Charge",
        "Insurance payment",
        "Contractual adjustment",
        "Transfer",
        "Transfer",
        "Patient payment",
        "Charge",
        "Reversal",
    ]
    first = lines[0]
    assert (first["date"], first["code"], first["modifiers"], first["units"], first["amount"]) == (
        "09/01/2026",
        "99214",
        "25",
        "1",
        D("180.00"),
    )
    assert first["description"] == "Office visit, established"
    assert lines[2]["description"] == "Paid by Prairie Health"
    assert lines[3]["description"] == "Contractual allowance (Prairie Health)"
    assert (lines[4]["description"], lines[5]["description"]) == ("Moved from Prairie Health", "Moved to you")
    assert lines[8]["code"] == "99213"
    assert lines[8]["description"].startswith("Correction: reverses the charge of 09/02/2026")
    # Staff memos never reach a statement.
    assert not any(
        "Contracted rate" in line["description"] or "Deductible" in line["description"] for line in lines
    )


def test_totals_count_a_reversal_against_what_it_reverses(activity):
    totals = statements.statement_context(activity, "itemized_statement", today=TODAY)["totals"]
    assert totals == {
        "charges": D("215.00"),
        "insurance_payments": D("-100.00"),
        "patient_payments": D("-10.00"),
        "adjustments": D("-20.00"),
        "refunds": D("0.00"),
        "transfers": D("0.00"),
        "balance": D("85.00"),
    }


def test_charges_list_every_charge_reversed_ones_marked(activity):
    charges = statements.statement_context(activity, "itemized_statement", today=TODAY)["charges"]
    assert [(c["code"], c["amount"], c["reversed"]) for c in charges] == [
        ("99214", D("180.00"), False),
        ("99213", D("180.00"), True),
        ("36415", D("35.00"), False),
    ]


# --- generation -----------------------------------------------------------------------------------


def test_it_stores_the_itemized_statement_with_the_timeline_event_and_statement_dates(activity, rep):
    document = statements.statement_generate(account=activity, kind="itemized_statement", by=rep)

    document = Document.objects.get(pk=document.pk)
    assert document.subject == PatientAccount.objects.get(pk=activity.pk)
    assert (document.kind, document.title, document.delivery, document.created_by) == (
        "itemized_statement",
        "Itemized statement",
        "print",
        rep,
    )
    pdf = bytes(document.pdf)
    assert pdf.startswith(b"%PDF-")
    assert document.byte_size == len(pdf) and len(document.sha256) == 64
    text = pdf_text(pdf)
    for expected in (
        "99214",
        "36415",
        "99213",
        "$180.00",
        "$35.00",
        "-$100.00",
        "-$20.00",
        "-$60.00",
        "$85.00",
    ):
        assert expected in text, expected
    assert "Prairie Health" in document.html

    event = TimelineEvent.objects.get(kind="accounts.statement.generated")
    assert event.subject == PatientAccount.objects.get(pk=activity.pk)
    assert event.summary == f"Itemized statement generated ({document.page_count} page)"
    assert event.actor == rep and event.data["document"] == str(document.reference)

    activity.refresh_from_db()
    today = statements.office_today(activity.organization)
    assert activity.first_statement_on == today and activity.last_statement_on == today
    assert activity.history.first().history_change_reason == "statement sent"


def test_the_first_statement_adds_the_standard_templates(account, rep):
    assert not LetterTemplate.objects.filter(organization=account.organization).exists()
    document = statements.statement_generate(account=account, kind="patient_statement", by=rep)
    defaults = LetterTemplate.objects.filter(organization=account.organization, is_default=True)
    assert sorted(defaults.values_list("kind", flat=True)) == [
        "email",
        "itemized_statement",
        "letter",
        "patient_statement",
    ]
    assert document.template == defaults.get(kind="patient_statement")
    assert "You do not need to pay anything now." in pdf_text(bytes(document.pdf))


def test_an_edited_default_template_is_used(account, rep, admin_user):
    statements.statement_generate(account=account, kind="patient_statement", by=rep)
    template = LetterTemplate.objects.get(
        organization=account.organization, kind="patient_statement", is_default=True
    )
    correspondence_services.template_update(
        template=template,
        by=admin_user,
        reason="shorter",
        subject="Statement {{ account.number }}",
        body="<p>Account {{ account.number }} owes {{ balances.amount_due|money }}.</p>",
    )
    document = statements.statement_generate(account=account, kind="patient_statement", by=rep)
    assert document.title == "Statement A200001"
    assert "Account A200001 owes $0.00." in pdf_text(bytes(document.pdf))


def test_statement_generation_refuses_an_unknown_kind(account, rep):
    with pytest.raises(InvalidInput, match=r"^kind: 'letter' is not a statement"):
        statements.statement_generate(account=account, kind="letter", by=rep)


def test_an_outsider_cannot_make_a_statement(account, outsider):
    with pytest.raises(NotPermitted):
        statements.statement_generate(account=account, kind="patient_statement", by=outsider)
    assert not Document.objects.exists()


def test_an_appeals_coordinator_may_print_but_not_email(account, appeals_coordinator):
    document = statements.statement_generate(
        account=account, kind="itemized_statement", by=appeals_coordinator
    )
    assert document.delivery == "print"
    with pytest.raises(NotPermitted, match="may print statements but not email them"):
        statements.statement_generate(
            account=account, kind="itemized_statement", email_to="maria@example.test", by=appeals_coordinator
        )
    assert Document.objects.count() == 1


def test_a_bad_email_address_is_refused(account, rep):
    with pytest.raises(InvalidInput, match=r"^email_to: enter a valid email address"):
        statements.statement_generate(
            account=account, kind="patient_statement", email_to="not-an-address", by=rep
        )


def test_the_email_goes_out_only_after_commit_with_the_pdf(activity, rep, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        document = statements.statement_generate(
            account=activity, kind="patient_statement", email_to="maria@example.test", by=rep
        )
    # Stored, but nothing sent while the transaction could still roll back.
    assert mail.outbox == []
    assert Document.objects.get(pk=document.pk).sent_at is None
    assert len(callbacks) == 1

    callbacks[0]()

    (message,) = mail.outbox
    assert message.to == ["maria@example.test"]
    assert message.subject == "Your patient statement from Riverside General Hospital"
    assert "Amount due: $50.00" in message.body
    ((filename, content, mimetype),) = message.attachments
    assert filename == document.filename and filename.startswith("patient-statement-")
    assert mimetype == "application/pdf" and content == bytes(Document.objects.get(pk=document.pk).pdf)
    stored = Document.objects.get(pk=document.pk)
    assert (stored.delivery, stored.email_to) == ("email", "maria@example.test")
    assert stored.sent_at is not None
    event = TimelineEvent.objects.get(kind="correspondence.document.emailed")
    assert event.summary == "Patient statement emailed"
    assert event.subject == PatientAccount.objects.get(pk=activity.pk)


def test_the_email_is_sent_when_the_transaction_commits(
    activity, senior_rep, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        document = statements.statement_generate(
            account=activity, kind="itemized_statement", email_to="maria@example.test", by=senior_rep
        )
    assert len(mail.outbox) == 1
    assert document.sent_at is not None
    assert TimelineEvent.objects.get(kind="accounts.statement.generated").summary.endswith(", to be emailed")


def test_a_failed_email_leaves_the_document_unsent_and_says_so(
    activity, rep, django_capture_on_commit_callbacks
):
    with (
        mock.patch("django.core.mail.EmailMessage.send", side_effect=ConnectionRefusedError),
        django_capture_on_commit_callbacks(execute=True),
    ):
        document = statements.statement_generate(
            account=activity, kind="patient_statement", email_to="maria@example.test", by=rep
        )
    assert Document.objects.get(pk=document.pk).sent_at is None
    event = TimelineEvent.objects.get(kind="correspondence.document.email_failed")
    assert event.summary == "Patient statement could not be emailed (ConnectionRefusedError)"


def test_a_posting_while_the_pdf_is_drawn_makes_it_draw_again(activity, rep, posting_specialist):
    real = rendering.render_printed
    calls = []

    def draw_while_someone_posts(**kwargs):
        calls.append(kwargs["context"]["balances"]["total"])
        if len(calls) == 1:
            # Another teller posts a charge between our read of the ledger and our commit.
            services.charge_post(
                account=PatientAccount.objects.get(pk=activity.pk),
                items=[charge_input("93000", "55.00", date(2026, 9, 3), description="Electrocardiogram")],
                by=posting_specialist,
            )
        return real(**kwargs)

    with mock.patch("accounts.statements.rendering.render_printed", side_effect=draw_while_someone_posts):
        document = statements.statement_generate(account=activity, kind="itemized_statement", by=rep)

    assert calls == [D("85.00"), D("140.00")]
    text = pdf_text(bytes(document.pdf))
    assert "93000" in text and "$140.00" in text
    assert Document.objects.count() == 1


def test_documents_are_never_edited_or_deleted(activity, rep):
    document = statements.statement_generate(account=activity, kind="patient_statement", by=rep)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Document.objects.filter(pk=document.pk).update(title="Changed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Document.objects.filter(pk=document.pk).delete()


def test_documents_for_lists_the_accounts_documents_newest_first(
    activity, account, rep, django_assert_num_queries
):
    first = statements.statement_generate(account=activity, kind="patient_statement", by=rep)
    second = statements.statement_generate(account=activity, kind="itemized_statement", by=rep)
    with django_assert_num_queries(1):  # documents and their makers; the content type is cached
        documents = list(statements.documents_for(account))
    assert documents == [second, first]
    assert documents[0].created_by == rep
