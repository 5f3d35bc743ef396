"""Pages: letter templates and letterhead (admins edit, supervisors read), statements from the account
page, and opening a stored PDF (PHI access log, other organizations 404)."""

from __future__ import annotations

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.template.loader import render_to_string
from django.urls import reverse

from accounts import statements
from accounts.models import PatientAccount
from core.models import TimelineEvent
from correspondence.models import Document, Letterhead, LetterTemplate
from staff.models import PhiAccessLog
from tests.conftest import PERSONAS
from tests.factories import AccountFactory
from tests.factories.correspondence import LetterTemplateFactory

pytestmark = pytest.mark.django_db

ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
TEMPLATE_READERS = {"supervisor", "admin"}


def login(client, user):
    if user is not None:
        client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


@pytest.fixture
def template(org):
    return LetterTemplateFactory(organization=org, name="Reminder", is_default=True)


@pytest.fixture
def other_template(other_org):
    return LetterTemplateFactory(organization=other_org, name="Their reminder", is_default=True)


# --- template pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_template_pages_are_for_supervisors_and_admins(client, persona, template, who):
    login(client, persona(who))
    expected = 200 if who in TEMPLATE_READERS else 403
    assert client.get(reverse("correspondence:template_list")).status_code == expected
    assert (
        client.get(reverse("correspondence:template_detail", args=[template.reference])).status_code
        == expected
    )


def test_anonymous_visitors_are_sent_to_sign_in(client, template):
    response = client.get(reverse("correspondence:template_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_another_organizations_template_is_not_found(client, outsider, template, other_template):
    login(client, outsider)
    response = client.get(reverse("correspondence:template_list"))
    assert "Their reminder" in response.content.decode() and "Reminder</a>" not in response.content.decode()
    assert client.get(reverse("correspondence:template_detail", args=[template.reference])).status_code == 404
    url = reverse("correspondence:template_update", args=[template.reference])
    assert client.post(url, {"reason": "x"}).status_code == 404


def test_supervisors_read_templates_without_forms(client, supervisor, template):
    login(client, supervisor)
    page = client.get(reverse("correspondence:template_detail", args=[template.reference])).content.decode()
    assert 'data-testid="read-only"' in page and 'data-testid="template-body"' in page
    assert "<textarea" not in page
    assert client.post(reverse("correspondence:template_create"), {}).status_code == 403
    assert (
        client.post(reverse("correspondence:template_update", args=[template.reference]), {}).status_code
        == 403
    )


def test_the_list_shows_templates_history_links_and_the_letterhead_form(client, admin_user, template):
    login(client, admin_user)
    page = client.get(reverse("correspondence:template_list")).content.decode()
    assert (
        reverse("staff:object_history", args=["correspondence", "lettertemplate", template.reference]) in page
    )
    assert 'data-testid="missing-defaults"' in page
    assert 'name="billing_phone"' in page


def test_an_admin_creates_a_template_from_the_page(client, org, admin_user):
    login(client, admin_user)
    new = client.get(reverse("correspondence:template_new") + "?kind=itemized_statement").content.decode()
    assert "Itemized statement" in new and "line.running_balance" in new
    response = client.post(
        reverse("correspondence:template_create"),
        {
            "name": "Short letter",
            "kind": "letter",
            "subject": "About account {{ account.number }}",
            "body": "<p>{{ guarantor.name }}</p>",
            "is_active": "on",
        },
    )
    template = LetterTemplate.objects.get(organization=org, name="Short letter")
    assert response.status_code == 302
    assert response["Location"] == reverse("correspondence:template_detail", args=[template.reference])
    assert template.is_default


def test_a_template_mistake_is_shown_beside_the_body_with_its_line(client, org, admin_user):
    login(client, admin_user)
    response = client.post(
        reverse("correspondence:template_create"),
        {"name": "Broken", "kind": "letter", "subject": "Hi", "body": "<p>a</p>\n<p>b</p>\n{% frobnicate %}"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["body"] == [
        "Line 3: Invalid block tag on line 3: 'frobnicate'. Did you forget to register or load this tag?"
    ]
    assert "{% frobnicate %}" in response.content.decode()  # what was typed is kept
    assert not LetterTemplate.objects.filter(organization=org).exists()


def test_an_admin_saves_a_template_with_a_reason(client, admin_user, template):
    login(client, admin_user)
    url = reverse("correspondence:template_update", args=[template.reference])
    data = {
        "name": "Reminder",
        "subject": "New subject",
        # Browsers send textarea lines with CRLF; the unchanged body must not count as a change.
        "body": template.body.replace("\n", "\r\n"),
        "is_active": "on",
        "is_default": "on",
    }
    assert client.post(url, data).status_code == 400  # no reason
    response = client.post(url, {**data, "reason": "clearer"})
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.subject == "New subject"
    assert template.history.first().history_change_reason == "clearer"
    assert TimelineEvent.objects.get(kind="correspondence.template.updated").data["fields"] == ["subject"]


def test_the_preview_of_an_unsaved_template_is_a_pdf_with_sample_data(client, admin_user):
    login(client, admin_user)
    response = client.post(
        reverse("correspondence:template_preview"),
        {
            "kind": "letter",
            "subject": "Preview",
            "body": "<p>{{ account.number }} {{ balances.amount_due|money }}</p>",
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert not PhiAccessLog.objects.exists()  # invented data only


def test_the_preview_of_an_email_is_its_text(client, admin_user):
    login(client, admin_user)
    response = client.post(
        reverse("correspondence:template_preview"),
        {
            "kind": "email",
            "subject": "Hello {{ guarantor.name }}",
            "body": "Due: {{ balances.amount_due|money }}",
        },
    )
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "Subject: Hello Maria Gonzalez\n\nDue: $60.00\n"


def test_a_preview_that_cannot_render_explains_why(client, admin_user):
    login(client, admin_user)
    response = client.post(
        reverse("correspondence:template_preview"), {"kind": "letter", "subject": "x", "body": "{% if %}"}
    )
    assert response.status_code == 400
    assert "line 1:" in response.content.decode()


def test_supervisors_preview_saved_templates(client, supervisor, template):
    login(client, supervisor)
    response = client.get(reverse("correspondence:template_preview_saved", args=[template.reference]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert client.post(reverse("correspondence:template_preview"), {}).status_code == 403


def test_an_admin_adds_the_standard_templates(client, org, admin_user):
    login(client, admin_user)
    response = client.post(reverse("correspondence:templates_add_defaults"))
    assert response.status_code == 302
    assert LetterTemplate.objects.filter(organization=org, is_default=True).count() == 4


def test_an_admin_saves_the_letterhead_and_bad_values_are_named(client, org, admin_user):
    login(client, admin_user)
    url = reverse("correspondence:letterhead_update")
    response = client.post(url, {"payment_portal_url": "nope", "statement_due_days": "30", "reason": "x"})
    assert response.status_code == 200
    assert "Enter a valid URL." in response.context["letterhead_form"].errors["payment_portal_url"]
    response = client.post(
        url, {"billing_phone": "(217) 555-0142", "statement_due_days": "21", "reason": "new number"}
    )
    assert response.status_code == 302
    letterhead = Letterhead.of(org)
    assert (letterhead.billing_phone, letterhead.statement_due_days) == ("(217) 555-0142", 21)


# --- statements from the account page -------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_every_role_makes_a_printed_statement_and_returns_to_the_account(client, persona, account, who):
    login(client, persona(who))
    response = client.post(
        reverse("accounts:statement_generate", args=[account.reference]), {"kind": "itemized_statement"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/{account.reference}/")
    document = Document.objects.get()
    assert document.kind == "itemized_statement"
    (message,) = messages_of(response)
    assert message.startswith("Itemized statement made (1 page).")
    assert reverse("accounts:document_download", args=[document.reference]) in message


def test_emailing_from_the_page_needs_a_role_that_may_change_the_patient(
    client, appeals_coordinator, account
):
    login(client, appeals_coordinator)
    response = client.post(
        reverse("accounts:statement_generate", args=[account.reference]),
        {"kind": "patient_statement", "email_to": "maria@example.test"},
    )
    assert response.status_code == 302
    assert messages_of(response) == ["Statement not made. Your role may print statements but not email them."]
    assert not Document.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_statement_is_emailed_from_the_page(client, rep, account, mailoutbox):
    # Real commits: the email goes out when the statement's transaction commits, before the
    # page answers, so the message can say it was sent.
    login(client, rep)
    response = client.post(
        reverse("accounts:statement_generate", args=[account.reference]),
        {"kind": "patient_statement", "email_to": "maria@example.test"},
    )
    assert len(mailoutbox) == 1
    assert Document.objects.get().sent_at is not None
    assert messages_of(response)[0].startswith("Patient statement made (1 page) and emailed.")


def test_a_bad_statement_form_is_reported(client, rep, account):
    login(client, rep)
    response = client.post(
        reverse("accounts:statement_generate", args=[account.reference]), {"kind": "letter"}
    )
    assert response.status_code == 302
    assert messages_of(response)[0].startswith("Statement not made. Kind: Select a valid choice.")


def test_statements_of_another_organizations_account_are_not_found(client, outsider, account):
    login(client, outsider)
    response = client.post(
        reverse("accounts:statement_generate", args=[account.reference]), {"kind": "patient_statement"}
    )
    assert response.status_code == 404
    assert not Document.objects.exists()


def test_statements_need_a_post(client, rep, account):
    login(client, rep)
    assert client.get(reverse("accounts:statement_generate", args=[account.reference])).status_code == 405


# --- opening a document ---------------------------------------------------------------------------


@pytest.fixture
def document(account, rep):
    return statements.statement_generate(account=account, kind="patient_statement", by=rep)


@pytest.mark.parametrize("who", ROLES)
def test_opening_a_pdf_writes_the_phi_access_log(client, persona, account, document, who):
    user = persona(who)
    login(client, user)
    response = client.get(reverse("accounts:document_download", args=[document.reference]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{document.filename}"'
    assert response["Cache-Control"] == "private, no-store"
    assert response.content == bytes(Document.objects.get(pk=document.pk).pdf)
    # The browser's PDF viewer must not be blocked by the page policy.
    assert "Content-Security-Policy" not in response
    log = PhiAccessLog.objects.get(user=user)
    assert (log.action, log.subject_id, log.organization) == ("view", account.pk, account.organization)
    assert log.subject_type == ContentType.objects.get_for_model(PatientAccount)


def test_downloading_a_pdf_is_logged_as_a_download(client, rep, document):
    login(client, rep)
    response = client.get(reverse("accounts:document_download", args=[document.reference]) + "?download=1")
    assert response["Content-Disposition"].startswith("attachment;")
    assert PhiAccessLog.objects.get().action == "download"


def test_another_organizations_document_is_not_found(client, outsider, document):
    login(client, outsider)
    assert client.get(reverse("accounts:document_download", args=[document.reference])).status_code == 404
    assert not PhiAccessLog.objects.exists()


def test_anonymous_visitors_cannot_open_documents(client, document):
    response = client.get(reverse("accounts:document_download", args=[document.reference]))
    assert response.status_code == 302
    assert not PhiAccessLog.objects.exists()


# --- partials for the account page ----------------------------------------------------------------


def test_the_documents_partial_lists_title_kind_date_maker_and_link(rf, rep, account, document):
    other = AccountFactory(patient__organization=account.organization)
    statements.statement_generate(account=other, kind="itemized_statement", by=rep)
    html = render_to_string(
        "accounts/statements/_documents.html", {"documents": statements.documents_for(account)}
    )
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)[1:]
    assert len(rows) == 1
    assert "Patient statement" in rows[0] and rep.full_name in rows[0] and "Print and mail" in rows[0]
    assert reverse("accounts:document_download", args=[document.reference]) in rows[0]


def test_the_form_partial_offers_email_only_to_roles_that_may_use_it(rf, account):
    request = rf.get("/")
    form = render_to_string(
        "accounts/statements/_generate_form.html",
        {"account": account, "can": {"edit_patient": False}},
        request,
    )
    assert reverse("accounts:statement_generate", args=[account.reference]) in form
    assert 'name="email_to"' not in form
    form = render_to_string(
        "accounts/statements/_generate_form.html",
        {"account": account, "can": {"edit_patient": True}},
        request,
    )
    assert 'name="email_to"' in form
