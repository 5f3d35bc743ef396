"""Statements API: list and make an account's statements, read a document and its PDF.

Every endpoint runs the persona matrix; the outsider (admin of another organization)
gets 404 for this organization's accounts and documents.
"""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest
import yaml
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import statements
from correspondence.models import Document
from staff.models import PhiAccessLog
from tests.conftest import PERSONAS

ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
EMAILERS = {"representative", "senior_representative", "posting_specialist", "supervisor", "admin"}


def client_for(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_status(response: Any, who: str, expected: int) -> None:
    if who == "anonymous":
        assert response.status_code in (401, 403), response.content
        assert response.data["detail"].code == "not_authenticated"
    else:
        assert response.status_code == expected, (who, response.status_code, response.content)


def statements_url(account) -> str:
    return reverse("api:account-statements", args=[account.reference])


@pytest.fixture
def document(account, rep):
    return statements.statement_generate(account=account, kind="itemized_statement", by=rep)


@pytest.mark.parametrize("who", PERSONAS)
def test_list_an_accounts_documents(persona, account, document, who):
    response = client_for(persona(who)).get(statements_url(account))
    assert_status(response, who, 404 if who == "outsider" else 200)
    if response.status_code == 200:
        (row,) = response.json()["results"]
        assert row["reference"] == str(document.reference)
        assert row["account"] == str(account.reference)
        assert (row["kind"], row["title"], row["delivery"], row["page_count"]) == (
            "itemized_statement",
            "Itemized statement",
            "print",
            1,
        )
        assert row["pdf_url"].endswith(reverse("api:document-pdf", args=[document.reference]))
        assert "pdf" not in row and "html" not in row and "id" not in row


@pytest.mark.parametrize("who", PERSONAS)
def test_make_a_printed_statement(persona, account, who):
    response = client_for(persona(who)).post(
        statements_url(account), {"kind": "patient_statement"}, format="json"
    )
    assert_status(response, who, 404 if who == "outsider" else 201)
    if response.status_code == 201:
        document = Document.objects.get()
        assert response.json()["reference"] == str(document.reference)
        assert response.json()["kind"] == "patient_statement"
        account.refresh_from_db()
        assert account.last_statement_on is not None
    else:
        assert not Document.objects.exists()


@pytest.mark.parametrize("who", ROLES)
def test_emailing_a_statement_needs_a_role_that_may_change_the_patient(
    persona, account, who, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(persona(who)).post(
            statements_url(account),
            {"kind": "patient_statement", "email_to": "maria@example.test"},
            format="json",
        )
    if who in EMAILERS:
        assert response.status_code == 201, response.content
        assert response.json()["email_to"] == "maria@example.test"
        assert response.json()["delivery"] == "email"
        assert len(mail.outbox) == 1
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_permitted"
        assert mail.outbox == [] and not Document.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "letter"}, "kind"),
        ({}, "kind"),
        ({"kind": "patient_statement", "email_to": "nope"}, "email_to"),
    ],
)
def test_bad_input_names_the_field(rep, account, body, field):
    response = client_for(rep).post(statements_url(account), body, format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("who", PERSONAS)
def test_read_a_document(persona, account, document, who):
    response = client_for(persona(who)).get(reverse("api:document-detail", args=[document.reference]))
    assert_status(response, who, 404 if who == "outsider" else 200)
    if response.status_code == 200:
        assert response.json()["account"] == str(account.reference)


@pytest.mark.parametrize("who", PERSONAS)
def test_read_a_pdf_writes_the_phi_access_log(persona, account, document, who):
    user = persona(who)
    response = client_for(user).get(reverse("api:document-pdf", args=[document.reference]))
    assert_status(response, who, 404 if who == "outsider" else 200)
    if response.status_code == 200:
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == f'attachment; filename="{document.filename}"'
        assert len(pypdf.PdfReader(io.BytesIO(response.content)).pages) == 1
        log = PhiAccessLog.objects.get()
        assert (log.user, log.action, log.subject_id) == (user, "download", account.pk)
    else:
        assert not PhiAccessLog.objects.exists()


def test_a_pdf_is_served_whatever_the_client_accepts(rep, document):
    response = client_for(rep).get(
        reverse("api:document-pdf", args=[document.reference]), HTTP_ACCEPT="application/pdf"
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")


def test_the_schema_documents_the_statement_endpoints(db, tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    statements_path = paths["/api/v1/accounts/{reference}/statements/"]
    assert set(statements_path) >= {"get", "post"}
    assert "/api/v1/documents/{reference}/" in paths
    pdf = paths["/api/v1/documents/{reference}/pdf/"]["get"]
    assert "application/pdf" in pdf["responses"]["200"]["content"]
    for operation in (statements_path["get"], statements_path["post"], pdf):
        (parameter,) = [p for p in operation["parameters"] if p["in"] == "path"]
        assert parameter["schema"] == {"type": "string", "format": "uuid"}
