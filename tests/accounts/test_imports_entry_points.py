"""The three ways in to the CSV import: the upload page, the API and the management command."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.imports import KINDS
from accounts.models import Patient
from core.audit import system_user
from core.errors import Conflict
from core.models import TimelineEvent
from tests.conftest import PERSONAS

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
IMPORTERS = {"posting_specialist", "supervisor", "admin"}
ROLES = [p for p in PERSONAS if p not in ("anonymous", "outsider")]


def upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, content if content is not None else (FIXTURES / name).read_bytes(), "text/csv"
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- page ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [p for p in PERSONAS if p != "outsider"])
def test_the_page_follows_the_role_matrix(client, persona, who):
    user = persona(who)
    if user is not None:
        client.force_login(user)

    response = client.get(reverse("accounts:import_upload"))

    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == (200 if who in IMPORTERS else 403)


@pytest.mark.parametrize("who", ["representative", "senior_representative", "appeals_coordinator"])
def test_a_role_that_may_not_import_cannot_post_a_file(client, persona, who):
    client.force_login(persona(who))

    response = client.post(
        reverse("accounts:import_upload"), {"kind": "patients", "file": upload("patients.csv")}
    )

    assert response.status_code == 403
    assert not Patient.objects.exists()


def test_the_page_shows_the_columns_of_every_kind_and_template_links(client, posting_specialist):
    client.force_login(posting_specialist)

    response = client.get(reverse("accounts:import_upload"))

    html = response.content.decode()
    for kind in KINDS.values():
        assert f'data-testid="columns-{kind.name}"' in html
        assert reverse("accounts:import_template", args=[kind.name]) in html
        for column in kind.columns:
            assert f"<code>{column.name}</code>" in html


def test_a_clean_file_is_imported_and_the_report_shown_after_the_redirect(client, org, posting_specialist):
    client.force_login(posting_specialist)

    response = client.post(
        reverse("accounts:import_upload"), {"kind": "patients", "file": upload("patients.csv")}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:import_upload")
    page = client.get(response["Location"])
    assert messages_of(page) == [
        "Patients imported from patients.csv: 3 rows: 3 created, 0 updated, 0 unchanged."
    ]
    assert page.context["report"]["created"] == 3
    assert b'data-testid="import-report"' in page.content
    assert Patient.objects.filter(organization=org).count() == 3
    # The report is shown once.
    assert client.get(reverse("accounts:import_upload")).context["report"] is None


def test_a_rejected_file_shows_every_problem_with_line_and_column(client, posting_specialist):
    client.force_login(posting_specialist)

    response = client.post(
        reverse("accounts:import_upload"), {"kind": "patients", "file": upload("patients_bad.csv")}
    )

    assert response.status_code == 200
    rejected = response.context["rejected"]
    assert [(e.line, e.column) for e in rejected.errors][:3] == [
        (2, "date_of_birth"),
        (3, "phone"),
        (4, "ssn_last4"),
    ]
    html = response.content.decode()
    assert html.count('data-testid="import-error"') == 6
    assert "<code>ssn_last4</code>" in html
    assert "123-45-6789" not in html
    assert messages_of(response) == [
        "patients_bad.csv was not imported: 6 problems found; nothing was imported."
    ]
    assert response.context["form"]["kind"].value() == "patients"
    assert not Patient.objects.exists()


def test_a_refused_import_is_shown_as_a_message(client, posting_specialist, monkeypatch):
    def collide(**kwargs):
        raise Conflict("Rows with its keys were saved meanwhile.")

    monkeypatch.setattr("accounts.views_imports.csv_import", collide)
    client.force_login(posting_specialist)

    response = client.post(
        reverse("accounts:import_upload"), {"kind": "patients", "file": upload("patients.csv")}
    )

    assert response.status_code == 200
    assert messages_of(response) == [
        "patients.csv was not imported. Rows with its keys were saved meanwhile."
    ]
    assert response.context["form"]["kind"].value() == "patients"


def test_the_form_needs_a_kind_and_a_file(client, posting_specialist):
    client.force_login(posting_specialist)

    response = client.post(reverse("accounts:import_upload"), {"kind": "payments"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"kind", "file"}


def test_an_oversized_upload_is_refused_before_reading(client, posting_specialist, monkeypatch):
    monkeypatch.setattr("accounts.views_imports.MAX_FILE_BYTES", 10)
    client.force_login(posting_specialist)

    response = client.post(
        reverse("accounts:import_upload"), {"kind": "patients", "file": upload("patients.csv")}
    )

    assert "larger than" in response.context["form"].errors["file"][0]
    assert not Patient.objects.exists()


def test_an_outsider_imports_into_their_own_organization_only(client, org, other_org, outsider):
    client.force_login(outsider)

    response = client.post(
        reverse("accounts:import_upload"), {"kind": "patients", "file": upload("patients.csv")}
    )

    assert response.status_code == 302
    assert Patient.objects.filter(organization=other_org).count() == 3
    assert not Patient.objects.filter(organization=org).exists()


@pytest.mark.parametrize("kind", list(KINDS))
def test_templates_download_as_csv(client, posting_specialist, kind):
    client.force_login(posting_specialist)

    response = client.get(reverse("accounts:import_template", args=[kind]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{kind}-template.csv"'
    assert response.content.decode().splitlines()[0] == ",".join(c.name for c in KINDS[kind].columns)


def test_template_download_needs_the_import_role_and_a_real_kind(client, rep, posting_specialist):
    client.force_login(rep)
    assert client.get(reverse("accounts:import_template", args=["patients"])).status_code == 403
    client.force_login(posting_specialist)
    assert client.get(reverse("accounts:import_template", args=["payments"])).status_code == 404


# --- API ----------------------------------------------------------------------------------------------


def api_post(user, org, kind: str, name: str, content: bytes | None = None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client.post(
        reverse(f"api:import-{kind}"),
        {"organization": str(org.reference), "file": upload(name, content)},
        format="multipart",
    )


@pytest.mark.parametrize("who", PERSONAS)
def test_the_api_follows_the_role_matrix(persona, org, who):
    response = api_post(persona(who), org, "patients", "patients.csv")

    if who == "anonymous":
        assert response.status_code in (401, 403)
        assert response.data["detail"].code == "not_authenticated"
    elif who == "outsider":
        assert response.status_code == 404  # org's reference means nothing to them
    else:
        assert response.status_code == (200 if who in IMPORTERS else 403), (who, response.content)
    assert Patient.objects.filter(organization=org).count() == (3 if who in IMPORTERS else 0)


def test_the_api_answers_the_report(org, posting_specialist):
    response = api_post(posting_specialist, org, "patients", "patients.csv")

    assert response.status_code == 200
    assert response.json() == {
        "kind": "patients",
        "filename": "patients.csv",
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "errors": [],
    }
    again = api_post(posting_specialist, org, "patients", "patients.csv").json()
    assert (again["created"], again["unchanged"]) == (0, 3)


def test_the_api_rejects_a_bad_file_with_every_error(org, posting_specialist):
    response = api_post(posting_specialist, org, "patients", "patients_bad.csv")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["message"] == "6 problems found; nothing was imported"
    assert error["details"]["errors"][0] == {
        "line": 2,
        "column": "date_of_birth",
        "message": "is not a date; write it as YYYY-MM-DD or MM/DD/YYYY",
    }
    assert len(error["details"]["errors"]) == error["details"]["total"] == 6
    assert "6789" not in response.content.decode()
    assert not Patient.objects.exists()


def test_the_api_needs_a_file_and_an_organization(org, posting_specialist):
    client = APIClient()
    client.force_authenticate(posting_specialist)

    response = client.post(reverse("api:import-charges"), {}, format="multipart")

    assert response.status_code == 400
    assert set(response.json()) == {"organization", "file"}


def test_the_api_refuses_an_oversized_file(org, posting_specialist, monkeypatch):
    monkeypatch.setattr("accounts.api.imports.MAX_FILE_BYTES", 10)

    response = api_post(posting_specialist, org, "patients", "patients.csv")

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "file"


def test_each_kind_has_its_own_endpoint(org, posting_specialist):
    for kind in ("patients", "accounts"):
        assert api_post(posting_specialist, org, kind, f"{kind}.csv").json()["created"] > 0

    response = api_post(posting_specialist, org, "charges", "charges.csv")

    assert response.json()["created"] == 4


# --- management command -----------------------------------------------------------------------------


def command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_accounts_csv", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_a_file_as_the_system_user(org):
    out, _ = command("patients", str(FIXTURES / "patients.csv"), "--organization", org.slug)

    assert (
        out.strip()
        == "Imported patients from patients.csv into riverside: 3 rows: 3 created, 0 updated, 0 unchanged"
    )
    patient = Patient.objects.get(organization=org, external_id="P100234")
    record = patient.history.get()
    assert record.history_user == system_user()
    assert record.history_change_reason == "CSV import patients.csv"
    assert TimelineEvent.objects.get(kind="accounts.csv_import.completed").actor == system_user()


def test_the_command_prints_json(org):
    out, _ = command("patients", str(FIXTURES / "patients.csv"), "--organization", org.slug, "--json")

    assert json.loads(out) == {
        "kind": "patients",
        "filename": "patients.csv",
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "errors": [],
    }


def test_a_rejected_file_fails_the_command_with_every_error(org):
    err = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_accounts_csv",
            "patients",
            str(FIXTURES / "patients_bad.csv"),
            "--organization",
            org.slug,
            stderr=err,
        )

    assert excinfo.value.returncode == 1
    assert "6 problems found; nothing was imported" in str(excinfo.value)
    lines = err.getvalue().splitlines()
    assert lines[0] == "line 2, column date_of_birth: is not a date; write it as YYYY-MM-DD or MM/DD/YYYY"
    assert len(lines) == 6
    assert not Patient.objects.exists()


def test_a_rejected_file_with_json_prints_the_errors(org):
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_accounts_csv",
            "patients",
            str(FIXTURES / "patients_bad.csv"),
            "--organization",
            org.slug,
            "--json",
            stdout=out,
        )

    assert excinfo.value.returncode == 1
    body = json.loads(out.getvalue())
    assert body["rows"] == 6 and body["total_errors"] == 6
    assert body["errors"][2] == {
        "line": 4,
        "column": "ssn_last4",
        "message": "holds a full Social Security number; only the last four digits may be stored. "
        "Remove the full number from the file and give the last four digits only",
    }


def test_a_missing_file_fails_the_command_clearly(org, tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*nope\.csv: there is no such file"):
        command("patients", str(tmp_path / "nope.csv"), "--organization", org.slug)
    with pytest.raises(CommandError, match="it is a directory"):
        command("patients", str(tmp_path), "--organization", org.slug)


def test_an_unknown_organization_fails_the_command(db):
    with pytest.raises(CommandError, match="No active organization has the slug 'nowhere'"):
        command("patients", str(FIXTURES / "patients.csv"), "--organization", "nowhere")


def test_a_file_over_the_limit_is_not_read(org, monkeypatch):
    monkeypatch.setattr("accounts.management.commands.import_accounts_csv.MAX_FILE_BYTES", 10)

    with pytest.raises(CommandError, match="is larger than"):
        command("patients", str(FIXTURES / "patients.csv"), "--organization", org.slug)
