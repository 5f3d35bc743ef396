"""Official CARC/RARC texts: loading the organization's file (CSV or tab-separated), the
command, and ``describe_codes`` that other pages use beside codes."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from claims.models import CodeDescription
from claims.services.codes import code_descriptions_load, describe_codes
from core.csvimport import CsvRejected
from core.models import TimelineEvent

pytestmark = pytest.mark.django_db

CARC_FILE = (
    "code,description,start_date,last_modified,stop_date\n"
    "45,Charge exceeds fee schedule/maximum allowable.,1995-06-01,2023-03-01,\n"
    '42,"Charges exceed our fee schedule, or maximum allowable amount.",01/01/1995,,2008-06-30\n'
    "a1,Claim/Service denied.,,,\n"
    "253,Sequestration - reduction in federal payment,2013-04-01,,2099-12-31\n"
)


def load(org, by, data=CARC_FILE, code_set="carc", filename="carc.csv"):
    content = data.encode() if isinstance(data, str) else data
    return code_descriptions_load(organization=org, code_set=code_set, data=content, by=by, filename=filename)


def test_a_file_is_loaded_and_loading_it_again_changes_nothing(org, supervisor):
    result = load(org, supervisor)
    assert (result.rows, result.created, result.updated, result.unchanged) == (4, 4, 0, 0)
    codes = {c.code: c for c in CodeDescription.objects.filter(organization=org, code_set="carc")}
    assert set(codes) == {"45", "42", "A1", "253"}
    assert codes["42"].start_date == date(1995, 1, 1)
    assert codes["42"].stop_date == date(2008, 6, 30)
    assert codes["45"].last_modified == date(2023, 3, 1)
    event = TimelineEvent.objects.get(kind="claims.codes.loaded")
    assert event.actor == supervisor
    assert event.data["created"] == 4

    again = load(org, supervisor)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_a_newer_file_updates_texts_and_keeps_codes_it_leaves_out(org, supervisor):
    load(org, supervisor)
    newer = (
        "code\tdescription\tstart\tlast modified\tstop\n"
        "45\tCharge exceeds the fee schedule.\t1995-06-01\t2026-03-01\t\n"
    )
    result = load(org, supervisor, newer, filename="carc.txt")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert CodeDescription.objects.get(code="45").description == "Charge exceeds the fee schedule."
    assert CodeDescription.objects.filter(organization=org).count() == 4


def test_rarc_codes_are_a_separate_set(org, supervisor):
    load(
        org,
        supervisor,
        "code,description\nN130,Consult plan benefit documents.\nMA01,Appeal rights.\n",
        "rarc",
    )
    assert describe_codes(org, "rarc", ["N130"]) == {"N130": "Consult plan benefit documents."}
    assert describe_codes(org, "carc", ["N130"]) == {"N130": ""}


def test_every_problem_is_listed_by_line_and_column(org, supervisor):
    data = (
        "code,description,start_date,stop_date\n"
        "45,Fine,,\n"
        "4567,Too long a code,,\n"
        ",No code,,\n"
        "46,,,\n"
        "47,Bad date,2020-02-30,\n"
        "48,Stops before it starts,2020-01-01,2019-01-01\n"
        "45,Again,,\n"
    )
    with pytest.raises(CsvRejected) as caught:
        load(org, supervisor, data)
    assert [(e.line, e.column) for e in caught.value.errors] == [
        (3, "code"),
        (4, "code"),
        (5, "description"),
        (6, "start_date"),
        (7, "stop_date"),
        (8, "code"),
    ]
    assert "also on line 2" in caught.value.errors[-1].message
    assert not CodeDescription.objects.exists()
    assert not TimelineEvent.objects.exists()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("", "the file is empty"),
        ("code,text,color\n1,x,red\n", "unknown column"),
        ("description\nx\n", "required column is missing"),
        ("code,description\n", "no rows"),
        ("code,description\n1,a,b\n", "has 3 fields"),
    ],
)
def test_unreadable_files_are_refused(org, supervisor, data, problem):
    with pytest.raises(CsvRejected) as caught:
        load(org, supervisor, data)
    assert problem in str(caught.value.errors[0])


def test_windows_1252_files_are_read(org, supervisor):
    load(org, supervisor, b"code,description\n16,Claim lacks information \x96 see remarks.\n")
    assert CodeDescription.objects.get(code="16").description == "Claim lacks information \u2013 see remarks."


@pytest.mark.parametrize("who", ["rep", "posting_specialist", "appeals_coordinator", "outsider"])
def test_only_supervisors_and_admins_load_texts(org, request, who):
    with pytest.raises(PermissionDenied):
        load(org, request.getfixturevalue(who))
    assert not CodeDescription.objects.exists()


def test_describe_codes_answers_every_code_and_flags_stop_dated_ones(org, other_org, supervisor, outsider):
    load(org, supervisor)
    texts = describe_codes(org, "carc", ["45", "42", "a1", "253", "999", ""])
    assert texts == {
        "45": "Charge exceeds fee schedule/maximum allowable.",
        "42": "Charges exceed our fee schedule, or maximum allowable amount. [stopped 2008-06-30]",
        "a1": "Claim/Service denied.",
        "253": "Sequestration - reduction in federal payment [stops 2099-12-31]",
        "999": "",
    }
    # Texts belong to the organization that loaded them.
    assert describe_codes(other_org, "carc", ["45"]) == {"45": ""}
    assert describe_codes(org, "carc", []) == {}


def test_describe_codes_is_one_query(org, supervisor, django_assert_num_queries):
    load(org, supervisor)
    with django_assert_num_queries(1):
        describe_codes(org, "carc", [str(n) for n in range(300)])


def test_the_command_loads_a_file_as_the_system_user(org, tmp_path, capsys):
    path = tmp_path / "carc.csv"
    path.write_text(CARC_FILE)
    call_command("load_code_descriptions", str(path), "--organization", org.slug, "--set", "carc")
    assert "4 added, 0 changed, 0 unchanged" in capsys.readouterr().out
    assert CodeDescription.objects.filter(organization=org).count() == 4
    assert TimelineEvent.objects.get(kind="claims.codes.loaded").actor.email == "system@pfs.invalid"


def test_the_command_reports_problems_and_exits_with_an_error(org, tmp_path, capsys):
    path = tmp_path / "carc.csv"
    path.write_text("code,description\n4567,x\n")
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_code_descriptions", str(path), "--organization", org.slug, "--set", "carc")
    assert "line 2, column code" in capsys.readouterr().err
    with pytest.raises(CommandError, match="no such file"):
        call_command(
            "load_code_descriptions",
            str(tmp_path / "missing.csv"),
            "--organization",
            org.slug,
            "--set",
            "carc",
        )
    with pytest.raises(CommandError, match="slug"):
        call_command("load_code_descriptions", str(path), "--organization", "nobody", "--set", "carc")
    assert not CodeDescription.objects.exists()
