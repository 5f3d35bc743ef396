"""CSV import service: each kind, whole-file validation, idempotency, the ledger, isolation, permission."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.imports import KINDS, ImportRejected, csv_import, may_import, template_csv
from accounts.imports.charges import ChargeImport, normalize_ndc
from accounts.ledger import ledger_drift
from accounts.models import (
    AccountBucket,
    Charge,
    ChargeEdit,
    Coverage,
    Guarantor,
    LedgerEntry,
    Patient,
    PatientAccount,
)
from core.audit import system_user
from core.csvimport import CsvRejected
from core.errors import Conflict, InvalidInput, NotPermitted
from core.models import TimelineEvent
from tests.factories import AccountFactory, CoverageFactory, PatientFactory, PayerFactory, PlanFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
ACCOUNT_HEADER = "account_number,patient_external_id,kind,service_from\n"
CHARGE_HEADER = "external_id,account_number,service_date,code_type,code,amount\n"
D = Decimal


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run(org, kind: str, content: bytes | str, by, filename: str | None = None):
    return csv_import(organization=org, kind=kind, content=content, filename=filename or f"{kind}.csv", by=by)


def rejected(org, kind: str, content: bytes | str, by) -> ImportRejected:
    with pytest.raises(CsvRejected) as excinfo:
        run(org, kind, content, by)
    assert isinstance(excinfo.value, ImportRejected)
    return excinfo.value


def where(exc: CsvRejected) -> list[tuple[int, str]]:
    return [(e.line, e.column) for e in exc.errors]


def counts() -> dict[str, int]:
    """Rows of every table an import writes, history included: equal means nothing was written."""
    models = [Patient, Guarantor, PatientAccount, Coverage, Charge, ChargeEdit]
    result = {m.__name__: m.objects.count() for m in models}
    result.update({f"{m.__name__} history": m.history.count() for m in models})
    result["LedgerEntry"] = LedgerEntry.objects.count()
    result["AccountBucket"] = AccountBucket.objects.count()
    result["TimelineEvent"] = TimelineEvent.objects.count()
    result["balances"] = sorted(
        PatientAccount.objects.values_list("balance", "patient_balance", "insurance_balance")
    )
    return result


def assert_balanced(account: PatientAccount) -> None:
    account.refresh_from_db()
    entries = LedgerEntry.objects.filter(account=account)
    assert account.balance == entries.total()
    assert account.patient_balance == entries.filter(coverage__isnull=True).total()
    assert account.insurance_balance == entries.filter(coverage__isnull=False).total()
    buckets = dict(AccountBucket.objects.filter(account=account).values_list("coverage_id", "balance"))
    assert buckets == entries.bucket_totals()


@pytest.fixture
def acme(org):
    payer = PayerFactory(organization=org, name="Acme Health", edi_payer_id="60054")
    PlanFactory(payer=payer, name="Choice PPO")
    return payer


@pytest.fixture
def loaded(org, posting_specialist, acme):
    """The four sample files imported in order."""
    return {
        kind: run(org, kind, fixture(f"{kind}.csv"), posting_specialist)
        for kind in ("patients", "accounts", "coverages", "charges")
    }


# --- each kind ---------------------------------------------------------------------------------


def test_it_imports_patients_and_normalises_their_cells(org, posting_specialist):
    report = run(org, "patients", fixture("patients.csv"), posting_specialist)

    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 3, 0, 0)
    assert report.errors == []
    maria = Patient.objects.get(organization=org, external_id="P100234")
    assert (maria.first_name, maria.middle_name, maria.last_name) == ("Maria", "Elena", "Lopez")
    assert maria.date_of_birth == date(1984, 3, 17)
    assert (maria.phone, maria.mobile_phone) == ("3125550142", "7735550199")
    assert (maria.preferred_language, maria.interpreter, maria.preferred_contact) == ("es", "spoken", "phone")
    assert maria.ssn_last4 == "1234"
    james = Patient.objects.get(organization=org, external_id="P100235")
    assert james.date_of_birth == date(1958, 7, 4)
    assert (james.sex, james.preferred_language, james.state) == ("M", "en", "IL")
    assert (james.postal_code, james.phone, james.suffix) == ("60201-1234", "8475550110", "Jr")
    lin = Patient.objects.get(organization=org, external_id="P100236")
    assert (lin.sex, lin.preferred_contact, lin.email) == ("U", "mail", "")


def test_import_writes_history_with_the_file_as_reason_and_one_event_on_the_organization(
    org, posting_specialist
):
    run(org, "patients", fixture("patients.csv"), posting_specialist, filename="nightly/patients.csv")

    record = Patient.objects.get(external_id="P100234").history.get()
    assert record.history_type == "+"
    assert record.history_change_reason == "CSV import patients.csv"
    assert record.history_user == posting_specialist
    event = TimelineEvent.objects.get(organization=org, kind="accounts.csv_import.completed")
    assert event.subject == org
    assert event.actor == posting_specialist
    assert event.data == {
        "kind": "patients",
        "filename": "patients.csv",
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
    }


def test_it_imports_accounts_with_their_guarantors(org, posting_specialist):
    run(org, "patients", fixture("patients.csv"), posting_specialist)

    report = run(org, "accounts", fixture("accounts.csv"), posting_specialist)

    assert (report.rows, report.created, report.updated, report.unchanged) == (4, 4, 0, 0)
    first = PatientAccount.objects.get(organization=org, account_number="A-2026-000123")
    assert first.patient.external_id == "P100234"
    assert (first.kind, first.service_from, first.service_to) == (
        "professional",
        date(2026, 9, 14),
        date(2026, 9, 14),
    )
    assert first.facility == "Riverside Main Campus"
    assert first.interpreter_needed is True  # Maria prefers Spanish
    assert first.guarantor.is_patient and first.guarantor.patient == first.patient
    second = PatientAccount.objects.get(account_number="A-2026-000124")
    assert second.financial_class == "medicare"
    assert second.guarantor.is_patient and second.guarantor.patient == second.patient
    assert second.interpreter_needed is False
    # Lin's two accounts share one guarantor, her parent, created once.
    third, fourth = PatientAccount.objects.filter(account_number__in=["A-2026-000125", "A-2026-000126"])
    assert third.guarantor_id == fourth.guarantor_id
    parent = third.guarantor
    assert (parent.external_id, parent.relationship, parent.first_name, parent.last_name) == (
        "G5521",
        "parent",
        "Wei",
        "Chen",
    )
    assert parent.patient is None and parent.phone == "8475550177"
    assert third.service_to is None
    assert Guarantor.objects.filter(organization=org).count() == 3
    assert first.history.get().history_change_reason == "CSV import accounts.csv"


def test_it_imports_coverages_by_payer_name_or_edi_id(org, posting_specialist, acme):
    run(org, "patients", fixture("patients.csv"), posting_specialist)

    report = run(org, "coverages", fixture("coverages.csv"), posting_specialist)

    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    maria = Coverage.objects.get(organization=org, external_id="C778812")
    assert maria.plan.payer == acme and maria.plan.name == "Choice PPO"
    assert (maria.member_id, maria.group_number, maria.priority) == ("XJH449120331", "GRP-20044", 1)
    assert maria.subscriber_name == "Maria Lopez"  # empty cell, the patient is the subscriber
    assert maria.effective_from == date(2026, 1, 1) and maria.effective_to is None
    james = Coverage.objects.get(external_id="C778813")  # payer given by its EDI payer id
    assert james.plan.payer == acme
    assert james.subscriber_date_of_birth == date(1958, 7, 4)
    lin = Coverage.objects.get(external_id="C778814")
    assert (lin.relationship_to_subscriber, lin.subscriber_name) == ("child", "Wei Chen")


def test_imported_charges_are_posted_to_the_ledger_and_move_the_balances(loaded, org, posting_specialist):
    report = loaded["charges"]

    assert (report.rows, report.created, report.updated, report.unchanged) == (4, 4, 0, 0)
    first = PatientAccount.objects.get(account_number="A-2026-000123")
    coverage = Coverage.objects.get(external_id="C778812")
    charges = list(Charge.objects.filter(account=first).order_by("external_id"))
    assert [(c.external_id, c.code, c.amount) for c in charges] == [
        ("CHG-88120-1", "99213", D("185.00")),
        ("CHG-88120-2", "36415", D("25.00")),
    ]
    assert charges[0].modifiers == ["25"] and charges[0].diagnoses == ["E119", "I10"]
    assert charges[0].place_of_service == "11"
    assert_balanced(first)
    assert first.balance == D("210.00")
    # Maria's primary coverage was in force on the date of service: the insurance bucket owes it.
    assert first.insurance_balance == D("210.00") and first.patient_balance == D("0.00")
    assert AccountBucket.objects.get(account=first).coverage == coverage
    entry = LedgerEntry.objects.get(charge=charges[0])
    assert (entry.kind, entry.source, entry.source_ref, entry.actor) == (
        "charge",
        "import",
        "CHG-88120-1",
        posting_specialist,
    )
    assert entry.effective_date == date(2026, 9, 14)
    hospital = PatientAccount.objects.get(account_number="A-2026-000124")
    er, drug = Charge.objects.filter(account=hospital).order_by("service_date")
    assert (er.code_type, er.code, er.revenue_code, er.amount) == ("revenue", "0450", "0450", D("1250.00"))
    assert (drug.code, drug.units, drug.revenue_code) == ("J1885", D("2"), "0636")
    assert_balanced(hospital)
    assert hospital.balance == D("1314.50")
    assert TimelineEvent.objects.filter(organization=org, kind="accounts.charges.posted").count() == 2
    assert ledger_drift() == []


def test_charge_edits_run_on_imported_charges(org, posting_specialist):
    run(org, "patients", fixture("patients.csv"), posting_specialist)
    run(org, "accounts", fixture("accounts.csv"), posting_specialist)
    content = CHARGE_HEADER + "E-1,A-2026-000123,2026-09-14,cpt,99213,80\n"

    run(org, "charges", content, posting_specialist)

    edit = ChargeEdit.objects.get(charge__external_id="E-1")
    assert edit.rule == ChargeEdit.Rule.DIAGNOSIS_MISSING


# --- idempotency -----------------------------------------------------------------------------------


def test_reimporting_the_same_files_changes_nothing(loaded, org, posting_specialist):
    before = counts()

    again = {
        kind: run(org, kind, fixture(f"{kind}.csv"), posting_specialist)
        for kind in ("patients", "accounts", "coverages", "charges")
    }

    for kind, report in again.items():
        assert (report.created, report.updated) == (0, 0), kind
        assert report.unchanged == loaded[kind].rows, kind
    after = counts()
    # Only the four "file imported" events are new; no row, history row or ledger entry is.
    assert after.pop("TimelineEvent") == before.pop("TimelineEvent") + 4
    assert after == before


def test_a_changed_patient_row_is_updated_with_a_history_row(loaded, org, posting_specialist):
    changed = fixture("patients.csv").replace(b"1420 W Addison St,Apt 3B", b"77 N State St,")

    report = run(org, "patients", changed, posting_specialist, filename="patients-2026-11-22.csv")

    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    maria = Patient.objects.get(external_id="P100234")
    assert (maria.address_line1, maria.address_line2) == ("77 N State St", "")
    latest = maria.history.order_by("-history_id").first()
    assert latest.history_type == "~"
    assert latest.history_change_reason == "CSV import patients-2026-11-22.csv"
    assert latest.history_user == posting_specialist
    assert {c.field for c in latest.diff_against(latest.prev_record).changes} == {
        "address_line1",
        "address_line2",
    }
    assert Patient.objects.get(external_id="P100235").history.count() == 1


def test_a_column_left_out_of_the_file_leaves_that_value_alone(loaded, org, posting_specialist):
    content = "external_id,first_name,last_name,date_of_birth\nP100234,Maria,Lopez-Garcia,1984-03-17\n"

    report = run(org, "patients", content, posting_specialist)

    assert report.updated == 1
    maria = Patient.objects.get(external_id="P100234")
    assert maria.last_name == "Lopez-Garcia"
    assert (maria.phone, maria.ssn_last4, maria.preferred_language) == ("3125550142", "1234", "es")


def test_changed_account_fields_and_guarantor_are_updated(loaded, org, posting_specialist):
    content = (
        "account_number,patient_external_id,kind,service_from,facility,financial_class,"
        "guarantor_relationship,guarantor_first_name,guarantor_last_name\n"
        "A-2026-000123,P100234,professional,2026-09-14,North Clinic,commercial,self,,\n"
        "A-2026-000124,P100235,hospital,2026-09-01,Riverside Main Campus,medicare,spouse,Ada,Okafor\n"
    )

    report = run(org, "accounts", content, posting_specialist)

    assert (report.created, report.updated, report.unchanged) == (0, 2, 0)
    first = PatientAccount.objects.get(account_number="A-2026-000123")
    assert first.facility == "North Clinic"
    assert first.service_to == date(2026, 9, 14)  # column left out: kept
    second = PatientAccount.objects.get(account_number="A-2026-000124")
    assert (second.guarantor.relationship, second.guarantor.first_name) == ("spouse", "Ada")
    assert second.history.order_by("-history_id").first().history_change_reason == "CSV import accounts.csv"
    # The same spouse again is found by relationship, name and date of birth: nothing new.
    assert run(org, "accounts", content, posting_specialist).unchanged == 2
    assert Guarantor.objects.filter(first_name="Ada").count() == 1


def test_a_guarantor_named_by_external_id_is_updated_in_place(loaded, org, posting_specialist):
    content = fixture("accounts.csv").replace(b"847-555-0177", b"847-555-0188")

    report = run(org, "accounts", content, posting_specialist)

    assert (report.updated, report.unchanged) == (1, 3)
    parent = Guarantor.objects.get(external_id="G5521")
    assert parent.phone == "8475550188"
    assert parent.history.order_by("-history_id").first().history_change_reason == "CSV import accounts.csv"


def test_an_already_posted_charge_with_another_amount_is_an_error(loaded, org, posting_specialist):
    before = counts()
    changed = fixture("charges.csv").replace(b"185.00", b"190.00")

    exc = rejected(org, "charges", changed, posting_specialist)

    assert where(exc) == [(2, "amount")]
    assert exc.errors[0].message == (
        "charge CHG-88120-1 was already posted with amount 185.00; reverse it on the account and import "
        "the corrected charge under a new external_id"
    )
    assert counts() == before


def test_an_already_posted_charge_with_another_date_or_account_is_an_error(loaded, org, posting_specialist):
    content = (
        "external_id,account_number,service_date,code_type,code,amount\n"
        "CHG-88120-1,A-2026-000123,2026-09-15,cpt,99213,185.00\n"
        "CHG-88120-2,A-2026-000124,2026-09-14,cpt,36415,25.00\n"
    )

    exc = rejected(org, "charges", content, posting_specialist)

    assert where(exc) == [(2, "service_date"), (3, "account_number")]
    assert "already posted for service on 2026-09-14" in exc.errors[0].message
    assert "already posted on account A-2026-000123" in exc.errors[1].message


def test_a_reversed_charge_is_not_posted_again_by_the_same_file(loaded, org, posting_specialist):
    entry = LedgerEntry.objects.get(charge__external_id="CHG-88120-1")
    services.entry_reverse(entry=entry, reason="billed in error", by=posting_specialist)
    account = PatientAccount.objects.get(account_number="A-2026-000123")
    entries = LedgerEntry.objects.count()

    report = run(org, "charges", fixture("charges.csv"), posting_specialist)

    assert (report.created, report.unchanged) == (0, 4)
    assert LedgerEntry.objects.count() == entries
    assert_balanced(account)
    assert account.balance == D("25.00")


# --- whole-file validation ---------------------------------------------------------------------------


def test_a_bad_patients_file_lists_every_problem_and_writes_nothing(org, posting_specialist):
    before = counts()

    exc = rejected(org, "patients", fixture("patients_bad.csv"), posting_specialist)

    assert where(exc) == [
        (2, "date_of_birth"),  # February 30th
        (3, "phone"),  # seven digits
        (4, "ssn_last4"),  # a full SSN
        (5, "external_id"),  # P200001 again
        (6, "first_name"),  # empty
        (6, "ssn_last4"),  # not four digits
    ]
    messages = {(e.line, e.column): e.message for e in exc.errors}
    assert messages[(2, "date_of_birth")] == "is not a date; write it as YYYY-MM-DD or MM/DD/YYYY"
    assert "only the last four digits may be stored" in messages[(4, "ssn_last4")]
    assert messages[(5, "external_id")].startswith("the same external_id is already on line 2")
    assert exc.report.rows == 6 and exc.report.filename == "patients.csv"
    assert exc.details["total"] == 6
    assert exc.message == "6 problems found; nothing was imported"
    assert counts() == before


def test_a_full_ssn_is_never_repeated_in_the_report(org, posting_specialist):
    exc = rejected(org, "patients", fixture("patients_bad.csv"), posting_specialist)

    text = repr(exc.details) + " ".join(str(e) for e in exc.errors)
    assert "6789" not in text and "123-45" not in text and "123456789" not in text


def test_a_bad_accounts_file_lists_every_problem_and_writes_nothing(org, posting_specialist):
    run(org, "patients", fixture("patients.csv"), posting_specialist)
    before = counts()

    exc = rejected(org, "accounts", fixture("accounts_bad.csv"), posting_specialist)

    assert where(exc) == [
        (3, "patient_external_id"),  # no such patient
        (4, "kind"),  # clinic is not a kind
        (5, "service_to"),  # before service_from
        (6, "account_number"),  # A-9000001 again
    ]
    assert exc.errors[0].message == (
        "no patient with this external id in Riverside General Hospital; import the patient first"
    )
    assert exc.errors[1].message == "is not a known value; use one of hospital, professional, pharmacy"
    assert counts() == before


def test_a_missing_required_column_rejects_the_file_at_once(org, posting_specialist):
    exc = rejected(org, "accounts", fixture("accounts_missing_column.csv"), posting_specialist)

    assert where(exc) == [(1, "kind"), (1, "room")]
    assert exc.errors[0].message == "required column is missing"
    assert exc.report.rows == 0


def test_a_bad_charges_file_lists_every_problem_and_posts_nothing(loaded, org, posting_specialist):
    before = counts()

    exc = rejected(org, "charges", fixture("charges_bad.csv"), posting_specialist)

    assert where(exc) == [
        (3, "code_type"),  # cptx
        (4, "account_number"),  # no such account
        (5, "service_date"),  # month 13
        (5, "amount"),  # abc
        (5, "units"),  # 0
        (6, "external_id"),  # CHG-X-1 again
    ]
    assert exc.errors[0].message == "is not a known value; use one of cpt, hcpcs, revenue, ndc"
    assert exc.errors[3].message == "'abc' is not an amount of money"
    assert counts() == before


def test_every_error_of_a_big_file_is_counted(org, posting_specialist):
    rows = "".join(f"P{i},A,B,1990-02-31\n" for i in range(1200))

    exc = rejected(
        org, "patients", "external_id,first_name,last_name,date_of_birth\n" + rows, posting_specialist
    )

    assert exc.total == 1200 and len(exc.errors) == 1000
    assert exc.details["total"] == 1200


def test_a_file_that_is_not_utf8_is_rejected(org, posting_specialist):
    exc = rejected(
        org, "patients", "external_id,first_name\nP1,Jos\u00e9\n".encode("latin-1"), posting_specialist
    )

    assert "not UTF-8" in exc.errors[0].message


def test_a_file_with_too_many_rows_is_rejected(org, posting_specialist, monkeypatch):
    monkeypatch.setattr("accounts.imports.service.MAX_ROWS", 2)

    exc = rejected(org, "patients", fixture("patients.csv"), posting_specialist)

    assert exc.errors[0].message == "the file has 3 rows, more than 2; split it"
    assert not Patient.objects.exists()


def test_an_unknown_kind_is_invalid_input(org, posting_specialist):
    with pytest.raises(InvalidInput):
        run(org, "payments", "a\n1\n", posting_specialist)


# One row per kind, chained by key (P1 ← A1, C1; A1 ← X1), to build files of any length.
CHAIN = {
    "patients": ("external_id,first_name,last_name,date_of_birth", "P{i},Ann,Lee,1990-01-01"),
    "accounts": (
        "account_number,patient_external_id,kind,service_from,guarantor_relationship,"
        "guarantor_first_name,guarantor_last_name",
        "A{i},P{i},professional,2026-09-01,parent,Wei,Chen",
    ),
    "coverages": (
        "external_id,patient_external_id,payer,plan,member_id,effective_from",
        "C{i},P{i},Acme Health,Choice PPO,M{i},2026-01-01",
    ),
    "charges": (
        "external_id,account_number,service_date,code_type,code,amount",
        "X{i},A{i},2026-09-14,cpt,99213,185.00",
    ),
}


def queries_to_check(org, user, kind: str, rows: int, prefix: str) -> tuple[int, int]:
    """Queries to check a ``kind`` file of new rows, then of the same rows once imported.

    The file ends with its first row again: the duplicate key rejects it after every check ran.
    """

    def content(name: str, *, duplicate: bool = False) -> str:
        header, row = CHAIN[name]
        lines = [row.format(i=f"{prefix}{i}") for i in range(rows)]
        return "\n".join([header, *lines, *lines[:duplicate]])

    def counted() -> int:
        with CaptureQueriesContext(connection) as captured:
            rejected(org, kind, content(kind, duplicate=True), user)
        return len(captured)

    may_import(user, org)  # loads the memberships the permission check caches on the user
    for name in CHAIN:
        if name == kind:
            break
        run(org, name, content(name), user)
    new = counted()
    run(org, kind, content(kind), user)
    return new, counted()


@pytest.mark.parametrize("kind", list(CHAIN))
def test_checking_a_file_takes_as_many_queries_for_3_rows_as_for_60(org, posting_specialist, acme, kind):
    assert queries_to_check(org, posting_specialist, kind, 3, "a") == queries_to_check(
        org, posting_specialist, kind, 60, "b"
    )


# --- organizations --------------------------------------------------------------------------------


def test_another_organizations_patient_is_not_found(org, other_org, posting_specialist):
    PatientFactory(organization=other_org, external_id="P-ELSEWHERE")
    content = ACCOUNT_HEADER + "A-1,P-ELSEWHERE,professional,2026-09-01\n"

    exc = rejected(org, "accounts", content, posting_specialist)

    assert where(exc) == [(2, "patient_external_id")]
    assert not PatientAccount.objects.filter(account_number="A-1").exists()


def test_the_same_external_id_in_another_organization_is_a_different_patient(
    org, other_org, posting_specialist
):
    theirs = PatientFactory(organization=other_org, external_id="P100234", first_name="Someone")

    report = run(org, "patients", fixture("patients.csv"), posting_specialist)

    assert report.created == 3
    theirs.refresh_from_db()
    assert theirs.first_name == "Someone"
    assert Patient.objects.filter(external_id="P100234").count() == 2


def test_another_organizations_payer_and_account_are_not_found(loaded, org, other_org, posting_specialist):
    PayerFactory(organization=other_org, name="Lakeshore Mutual")
    AccountFactory(patient__organization=other_org, account_number="L-1")
    coverages = (
        "external_id,patient_external_id,payer,plan,member_id,effective_from\n"
        "C-9,P100234,Lakeshore Mutual,Gold,M1,2026-01-01\n"
    )
    charges = (
        "external_id,account_number,service_date,code_type,code,amount\nX-9,L-1,2026-09-01,cpt,99213,10\n"
    )

    assert where(rejected(org, "coverages", coverages, posting_specialist)) == [(2, "payer")]
    assert where(rejected(org, "charges", charges, posting_specialist)) == [(2, "account_number")]


# --- coverage order ------------------------------------------------------------------------------------


def _coverage_csv(*rows: str) -> str:
    return "external_id,patient_external_id,payer,plan,member_id,priority,effective_from\n" + "".join(
        f"{row}\n" for row in rows
    )


def test_a_new_primary_moves_the_current_primary_down_as_coverage_add_does(org, posting_specialist, acme):
    run(org, "patients", fixture("patients.csv"), posting_specialist)
    maria = Patient.objects.get(external_id="P100234")
    current = CoverageFactory(patient=maria, priority=1)

    report = run(
        org,
        "coverages",
        _coverage_csv("NEW-1,P100234,Acme Health,Choice PPO,M1,primary,2026-01-01"),
        posting_specialist,
    )

    assert report.created == 1
    current.refresh_from_db()
    assert current.priority == 2
    moved = current.history.order_by("-history_id").first()
    assert moved.history_change_reason == "moved down by CSV import coverages.csv"
    assert Coverage.objects.get(external_id="NEW-1").priority == 1


def test_two_rows_giving_a_patient_the_same_priority_contradict_each_other(org, posting_specialist, acme):
    run(org, "patients", fixture("patients.csv"), posting_specialist)

    exc = rejected(
        org,
        "coverages",
        _coverage_csv(
            "N-1,P100234,Acme Health,Choice PPO,M1,1,2026-01-01",
            "N-2,P100234,Acme Health,Choice PPO,M2,1,2026-01-01",
        ),
        posting_specialist,
    )

    assert where(exc) == [(3, "priority")]
    assert exc.errors[0].message.startswith("line 2 already makes a primary coverage of this patient")


def test_no_coverage_is_pushed_past_tertiary(org, posting_specialist, acme):
    run(org, "patients", fixture("patients.csv"), posting_specialist)
    maria = Patient.objects.get(external_id="P100234")
    for priority in (1, 2, 3):
        CoverageFactory(patient=maria, priority=priority)

    exc = rejected(
        org,
        "coverages",
        _coverage_csv("N-1,P100234,Acme Health,Choice PPO,M1,2,2026-01-01"),
        posting_specialist,
    )

    assert where(exc) == [(2, "priority")]


def test_swapping_primary_and_secondary_in_one_file(org, posting_specialist, acme):
    run(org, "patients", fixture("patients.csv"), posting_specialist)
    first = _coverage_csv(
        "S-1,P100234,Acme Health,Choice PPO,M1,1,2026-01-01",
        "S-2,P100234,Acme Health,Choice PPO,M2,2,2026-01-01",
    )
    run(org, "coverages", first, posting_specialist)
    swapped = _coverage_csv(
        "S-2,P100234,Acme Health,Choice PPO,M2,1,2026-01-01",
        "S-1,P100234,Acme Health,Choice PPO,M1,2,2026-01-01",
    )

    report = run(org, "coverages", swapped, posting_specialist)

    assert report.updated == 2
    assert dict(Coverage.objects.values_list("external_id", "priority")) == {"S-1": 2, "S-2": 1}


def test_an_unknown_plan_or_ambiguous_plan_is_reported(org, posting_specialist, acme):
    run(org, "patients", fixture("patients.csv"), posting_specialist)
    PlanFactory(payer=acme, name="Gold", group_number="G1")
    PlanFactory(payer=acme, name="Gold", group_number="G2")
    content = (
        "external_id,patient_external_id,payer,plan,member_id,group_number,effective_from\n"
        "N-1,P100234,Acme Health,Platinum,M1,,2026-01-01\n"
        "N-2,P100234,Acme Health,Gold,M2,,2026-01-01\n"
        "N-3,P100235,Acme Health,Gold,M3,G2,2026-01-01\n"
    )

    exc = rejected(org, "coverages", content, posting_specialist)

    assert where(exc) == [(2, "plan"), (3, "plan")]
    assert "give the group_number" in exc.errors[1].message


# --- accounts that cannot change ---------------------------------------------------------------------


def test_an_import_cannot_change_what_identifies_an_account(loaded, org, posting_specialist):
    content = ACCOUNT_HEADER + "A-2026-000123,P100235,hospital,2026-09-15\n"

    exc = rejected(org, "accounts", content, posting_specialist)

    assert where(exc) == [(2, "patient_external_id"), (2, "kind"), (2, "service_from")]
    assert all(e.message.endswith("an import cannot change it") for e in exc.errors)


# --- permission and concurrency -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rep", "senior_rep", "appeals_coordinator", "outsider"])
def test_only_posting_specialists_supervisors_and_admins_import(request, org, who):
    user = request.getfixturevalue(who)
    with pytest.raises(NotPermitted):
        run(org, "patients", fixture("patients.csv"), user)
    assert not Patient.objects.exists()


@pytest.mark.parametrize("who", ["posting_specialist", "supervisor", "admin_user"])
def test_posting_specialists_supervisors_and_admins_import(request, org, who):
    assert run(org, "patients", fixture("patients.csv"), request.getfixturevalue(who)).created == 3


def test_the_system_user_of_management_commands_may_import(org):
    report = run(org, "patients", fixture("patients.csv"), system_user())

    assert report.created == 3
    assert Patient.objects.get(external_id="P100234").history.get().history_user == system_user()


def test_a_key_saved_meanwhile_by_someone_else_is_a_conflict_and_nothing_is_kept(
    loaded, org, posting_specialist, monkeypatch
):
    original = ChargeImport.write

    def write_then_collide(self, plan, ctx):
        original(self, plan, ctx)
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(ChargeImport, "write", write_then_collide)
    content = CHARGE_HEADER + "N-1,A-2026-000123,2026-09-14,cpt,99214,99\n"
    before = counts()

    with pytest.raises(Conflict):
        run(org, "charges", content, posting_specialist)

    assert counts() == before


# --- templates and cells ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_template_is_a_file_the_kind_accepts_the_header_of(kind):
    header, sample = list(csv.reader(io.StringIO(template_csv(kind))))

    assert header == [c.name for c in KINDS[kind].columns]
    assert len(sample) == len(header)
    assert set(KINDS[kind].required_columns) <= set(header)


def test_the_sample_templates_import_in_order(org, posting_specialist):
    payer = PayerFactory(organization=org, name="Acme Health")
    PlanFactory(payer=payer, name="Choice PPO")

    reports = [run(org, kind, template_csv(kind), posting_specialist) for kind in KINDS]

    assert [r.created for r in reports] == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00002322730", "00002322730"),
        ("0002-3227-30", "00002322730"),
        ("50090-2879-0", "50090287900"),
        ("12345-678-90", "12345067890"),
        ("12-34-5", None),
        ("abc", None),
    ],
)
def test_ndc_cells_are_padded_to_eleven_digits(raw, expected):
    assert normalize_ndc(raw) == expected
