"""837 intake: the public sample files become claims with lines and charges on the right accounts,
patients and coverages are found or registered (never guessed), a file is taken whole or not at
all, and importing it again creates nothing. Also the ``import_837`` command."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import services as account_services
from accounts.models import Charge, Coverage, Guarantor, LedgerEntry, Patient, PatientAccount
from claims.intake837 import IntakeRejected, import_837, source_key
from claims.models import Claim
from claims.x12.reader837 import read_837
from core.audit import system_user
from core.errors import InvalidInput, NotPermitted
from core.models import TimelineEvent
from payers.models import Payer
from tests.factories import (
    AccountFactory,
    CoverageFactory,
    PatientFactory,
    PayerFactory,
    PayerRuleFactory,
    PlanFactory,
)

D = Decimal
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "x12-samples"
PROFESSIONAL = "demo.example1.837"
INSTITUTIONAL = "institutional-claim.837i"


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample file {path} is not present (see shared/x12-samples/SOURCES.md)")
    return path.read_bytes()


@pytest.fixture
def key_insurance(org):
    """The payer of the professional sample, with the plan of its group and another one."""
    payer = PayerFactory(organization=org, name="Key Insurance Company", edi_payer_id="999996666")
    PlanFactory(payer=payer, name="A Basic HMO", group_number="")
    group_plan = PlanFactory(payer=payer, name="Key PPO", group_number="2222-SJ")
    PayerRuleFactory(payer=payer, effective_from=date(2000, 1, 1), timely_filing_days=90)
    return group_plan


@pytest.fixture
def medicare(org):
    payer = PayerFactory(
        organization=org, name="Medicare Part B", kind=Payer.Kind.MEDICARE, edi_payer_id="00435"
    )
    return PlanFactory(payer=payer, name="Original Medicare")


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Claim, Charge, Patient, Guarantor, Coverage, PatientAccount, LedgerEntry)
    }


def take(org, user, name=PROFESSIONAL, data=None):
    return import_837(
        organization=org, data=data if data is not None else sample(name), filename=name, by=user
    )


# --- the samples ----------------------------------------------------------------------------------


def test_the_professional_sample_registers_the_dependent_and_bills_four_lines(
    org, key_insurance, posting_specialist
):
    result = take(org, posting_specialist)

    assert result.ok and result.kind == "professional"
    assert (result.claims_in_file, result.created, result.existing, result.skipped) == (1, 1, 0, 0)
    assert (result.patients_created, result.guarantors_created, result.coverages_created) == (1, 1, 1)
    assert (result.accounts_created, result.charges_created, result.charges_linked) == (1, 4, 0)

    patient = Patient.objects.get(organization=org)
    assert (patient.first_name, patient.last_name, patient.date_of_birth, patient.sex) == (
        "Ted",
        "Smith",
        date(1973, 5, 1),
        "M",
    )
    assert (patient.address_line1, patient.city, patient.state, patient.postal_code) == (
        "236 N Main St",
        "Miami",
        "FL",
        "33413",
    )
    # The patient is a dependent (HL 23): the subscriber is the guarantor, the coverage is hers.
    account = PatientAccount.objects.get(organization=org)
    assert (account.account_number, account.kind, account.patient) == ("26463774", "professional", patient)
    assert (account.service_from, account.service_to) == (date(2006, 10, 3), date(2006, 10, 10))
    guarantor = account.guarantor
    assert (guarantor.first_name, guarantor.last_name, guarantor.relationship, guarantor.patient) == (
        "Jane",
        "Smith",
        "parent",
        None,
    )
    coverage = Coverage.objects.get(patient=patient)
    assert (coverage.plan, coverage.member_id, coverage.group_number) == (
        key_insurance,
        "JS00111223333",
        "2222-SJ",
    )
    assert (coverage.subscriber_name, coverage.relationship_to_subscriber, coverage.priority) == (
        "Jane Smith",
        "child",
        1,
    )

    claim = Claim.objects.get()
    assert (claim.status, claim.source, claim.kind, claim.frequency) == (
        "submitted",
        "837",
        "professional",
        "1",
    )
    assert (claim.account, claim.coverage, claim.payer) == (account, coverage, key_insurance.payer)
    assert (claim.billed_amount, claim.place_of_service, claim.diagnoses) == (
        D("100.00"),
        "11",
        ["0340", "V7389"],
    )
    assert (claim.service_from, claim.service_to) == (date(2006, 10, 3), date(2006, 10, 10))
    assert claim.submitted_on == date(2006, 10, 15)  # BHT04, when the billing system made the file
    assert claim.timely_filing_deadline == date(2007, 1, 8)  # 90 days is Monday 01/08/2007
    assert claim.source_key == source_key(read_837(sample(PROFESSIONAL)).claims[0])
    lines = list(claim.lines.select_related("charge").order_by("line_number"))
    assert [(line.code, line.billed_amount, line.service_from) for line in lines] == [
        ("99213", D("40.00"), date(2006, 10, 3)),
        ("87070", D("15.00"), date(2006, 10, 3)),
        ("99214", D("35.00"), date(2006, 10, 10)),
        ("86663", D("10.00"), date(2006, 10, 10)),
    ]
    # Each line's charge is on the account, in the ledger, with the diagnoses its pointer names.
    assert [line.charge.diagnoses for line in lines] == [["0340"], ["0340"], ["V7389"], ["V7389"]]
    assert all(line.charge.account_id == account.pk for line in lines)
    account.refresh_from_db()
    assert (account.balance, account.insurance_balance) == (D("100.00"), D("100.00"))
    assert LedgerEntry.objects.filter(account=account, source="837").count() == 4
    # Both audit layers: history rows with the file as reason, timeline events on the account.
    assert claim.history.get().history_change_reason == f"837 intake {PROFESSIONAL}"
    kinds = set(TimelineEvent.objects.filter(subject_id=account.pk).values_list("kind", flat=True))
    assert {"accounts.account.opened", "accounts.charges.posted", "claims.claim.imported"} <= kinds
    assert TimelineEvent.objects.filter(kind="claims.intake837.completed", organization=org).count() == 1


def test_the_institutional_sample_becomes_a_hospital_claim_with_revenue_lines(
    org, medicare, posting_specialist
):
    result = take(org, posting_specialist, INSTITUTIONAL)

    assert result.ok and (result.created, result.patients_created, result.accounts_created) == (1, 1, 1)
    claim = Claim.objects.get()
    assert (claim.kind, claim.type_of_bill, claim.patient_control_number) == (
        "institutional",
        "141",
        "756048Q",
    )
    assert claim.diagnoses == ["3669", "4019", "79431"]
    assert claim.billed_amount == D("89.93")
    account = claim.account
    assert (account.kind, account.financial_class, account.facility) == (
        "hospital",
        "medicare",
        "Jones Hospital",
    )
    # The patient is the subscriber: their own guarantor, coverage "self".
    assert account.guarantor.patient == account.patient
    assert claim.coverage.relationship_to_subscriber == "self"
    assert [(line.revenue_code, line.code, line.units) for line in claim.lines.order_by("line_number")] == [
        ("0305", "85025", D("1.000")),
        ("0730", "93005", D("3.000")),
    ]


def test_importing_the_same_file_again_creates_nothing(org, key_insurance, posting_specialist):
    first = take(org, posting_specialist)
    before = counts()
    again = take(org, posting_specialist)
    assert (again.created, again.existing, again.charges_created, again.patients_created) == (0, 1, 0, 0)
    assert again.claims[0].outcome == "existing" and again.claims[0].claim == first.claims[0].claim
    assert counts() == before


def test_the_same_claim_twice_in_one_file_is_taken_once(org, key_insurance, posting_specialist):
    text = sample(PROFESSIONAL).decode()
    start, end = text.index("HL*2*1*22*1~"), text.index("SE*40*0021~")
    body = text[start:end]
    twice = text[:end] + body.replace("HL*2*1*22*1~", "HL*4*1*22*1~").replace("HL*3*2*23*0~", "HL*5*4*23*0~")
    twice += text[end:].replace("SE*40*0021~", f"SE*{40 + body.count('~')}*0021~")
    result = take(org, posting_specialist, data=twice.encode())
    assert (result.created, result.skipped) == (1, 1)
    assert [o.outcome for o in result.claims] == ["created", "skipped"]
    assert Claim.objects.count() == 1


# --- finding what exists ----------------------------------------------------------------------------


def test_the_account_named_by_the_pcn_is_used_and_matching_charges_are_linked_not_posted_twice(
    org, key_insurance, posting_specialist
):
    account = AccountFactory(
        patient__organization=org,
        patient__first_name="Ted",
        patient__last_name="Smith",
        patient__date_of_birth=date(1973, 5, 1),
        account_number="26463774",
        service_from=date(2006, 10, 3),
    )
    coverage = CoverageFactory(
        patient=account.patient,
        plan=key_insurance,
        member_id="js00111223333",
        effective_from=date(2006, 1, 1),
    )
    (posted,) = account_services.charge_post(
        account=account,
        items=[
            account_services.ChargeInput(date(2006, 10, 3), "cpt", "99213", D("40.00"), diagnoses=("0340",))
        ],
        by=posting_specialist,
    )
    result = take(org, posting_specialist)
    assert (result.patients_created, result.accounts_created, result.coverages_created) == (0, 0, 0)
    assert (result.charges_created, result.charges_linked) == (3, 1)
    claim = Claim.objects.get()
    assert (claim.account, claim.coverage) == (account, coverage)
    assert claim.lines.get(line_number=1).charge == posted
    account.refresh_from_db()
    assert account.balance == D("100.00")


def test_a_registered_patient_is_found_by_name_and_birth_date_and_gets_the_new_account(
    org, key_insurance, posting_specialist
):
    patient = PatientFactory(
        organization=org, first_name="Ted", last_name="Smith", date_of_birth=date(1973, 5, 1)
    )
    result = take(org, posting_specialist)
    assert (result.patients_created, result.accounts_created, result.coverages_created) == (0, 1, 1)
    assert PatientAccount.objects.get(account_number="26463774").patient == patient


def test_a_patient_is_found_by_member_id_when_the_name_changed(org, key_insurance, posting_specialist):
    patient = PatientFactory(
        organization=org, first_name="Ted", last_name="Jones", date_of_birth=date(1973, 5, 1)
    )
    CoverageFactory(patient=patient, plan=key_insurance, member_id="JS00111223333")
    result = take(org, posting_specialist)
    assert (result.patients_created, result.coverages_created) == (0, 0)
    assert Claim.objects.get().account.patient == patient


def test_an_ambiguous_patient_match_is_reported_and_nothing_is_written(
    org, key_insurance, posting_specialist
):
    for _ in range(2):
        PatientFactory(organization=org, first_name="TED", last_name="smith", date_of_birth=date(1973, 5, 1))
    before = counts()
    with pytest.raises(IntakeRejected) as rejected:
        take(org, posting_specialist)
    result = rejected.value.result
    (error,) = result.errors
    clm_index = read_837(sample(PROFESSIONAL)).claims[0].segment_index
    assert (error.claim, error.segment_index) == ("26463774", clm_index)
    assert error.message.startswith("ambiguous patient match: 2 patients")
    assert "Ted" not in error.message and "1973" not in error.message  # no PHI in messages
    assert result.claims[0].outcome == "error" and result.created == 0
    assert counts() == before


def test_an_unknown_payer_is_reported_not_invented(org, posting_specialist):
    PayerFactory(organization=org, name="Another Payer", edi_payer_id="11111")
    with pytest.raises(IntakeRejected) as rejected:
        take(org, posting_specialist)
    (error,) = rejected.value.result.errors
    assert error.claim == "26463774"
    assert "no payer of Riverside General Hospital has the EDI payer id '999996666'" in error.message
    assert Payer.objects.count() == 1 and not Patient.objects.exists()


def test_a_payer_is_found_by_its_exact_name_when_the_edi_id_is_unknown(org, posting_specialist):
    payer = PayerFactory(organization=org, name="KEY INSURANCE COMPANY", edi_payer_id="")
    PlanFactory(payer=payer)
    assert take(org, posting_specialist).created == 1
    assert Claim.objects.get().payer == payer


def test_a_payer_without_plans_is_reported(org, posting_specialist):
    PayerFactory(organization=org, name="Key Insurance", edi_payer_id="999996666")
    with pytest.raises(IntakeRejected, match="1 problem") as rejected:
        take(org, posting_specialist)
    assert "has no active plan" in rejected.value.result.errors[0].message


# --- the whole file or nothing ---------------------------------------------------------------------


def test_one_bad_claim_rejects_the_whole_file_and_every_problem_is_listed(
    org, key_insurance, posting_specialist
):
    text = sample(PROFESSIONAL).decode()
    start, end = text.index("HL*2*1*22*1~"), text.index("SE*40*0021~")
    body = (
        text[start:end]
        .replace("HL*2*1*22*1~", "HL*4*1*22*1~")
        .replace("HL*3*2*23*0~", "HL*5*4*23*0~")
        .replace("CLM*26463774*100.00", "CLM*26463775*100.00")
        .replace("PI*999996666", "PI*NOPE1")
        .replace("KEY INSURANCE COMPANY", "NOBODY MUTUAL")
        .replace("SV1*HC:86663*10.00", "SV1*HC:86663*0.00")
    )
    data = text[:end] + body + text[end:].replace("SE*40*0021~", f"SE*{40 + body.count('~')}*0021~")
    with pytest.raises(IntakeRejected) as rejected:
        take(org, posting_specialist, data=data.encode())
    result = rejected.value.result
    assert {e.claim for e in result.errors} == {"26463775"}
    messages = [e.message for e in result.errors]
    assert any("not the sum of the line charges" in m for m in messages)
    assert any("a charge of 0.00 cannot be posted" in m for m in messages)
    assert [o.outcome for o in result.claims] == ["not_imported", "error"]
    assert not Claim.objects.exists() and not Patient.objects.exists() and not LedgerEntry.objects.exists()


def test_a_replacement_in_a_later_file_is_linked_to_the_claim_it_replaces(
    org, key_insurance, posting_specialist
):
    take(org, posting_specialist)
    original = Claim.objects.get()
    data = (
        sample(PROFESSIONAL)
        .decode()
        .replace("11:B:1", "11:B:7")
        .replace("REF*D9*", "REF*F8*ICN0001~REF*D9*")
        .replace("SE*40*0021~", "SE*41*0021~")
    )
    result = take(org, posting_specialist, data=data.encode())
    assert (result.created, result.charges_created, result.charges_linked) == (1, 0, 4)
    replacement = Claim.objects.exclude(pk=original.pk).get()
    assert (replacement.frequency, replacement.original_claim) == ("7", original)
    # The replacement bills the same charges again: the money is not posted twice.
    assert {line.charge_id for line in replacement.lines.all()} == {
        line.charge_id for line in original.lines.all()
    }
    assert original.account.ledger_entries.count() == 4


def test_a_void_of_a_claim_that_is_not_here_is_refused(org, key_insurance, posting_specialist):
    data = sample(PROFESSIONAL).decode().replace("11:B:1", "11:B:8")
    with pytest.raises(IntakeRejected) as rejected:
        take(org, posting_specialist, data=data.encode())
    assert "there is nothing to void" in rejected.value.result.errors[0].message
    assert not Claim.objects.exists()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (None, "ST01 is '835'"),
        (b"patient,amount\nSmith,10\n", "not an 837 claim file"),
        (b"", "not an 837 claim file"),
    ],
)
def test_a_file_that_is_not_an_837_is_refused_by_name(org, posting_specialist, data, why):
    if data is None:
        data = sample("managed-care.835")
    with pytest.raises(InvalidInput) as refused:
        import_837(organization=org, data=data, filename="../uploads/remit.txt", by=posting_specialist)
    assert refused.value.field == "file"
    assert refused.value.message.startswith("file: remit.txt is not an 837 claim file")
    assert why in refused.value.message
    assert not isinstance(refused.value, IntakeRejected)


def test_only_claim_workers_import(org, key_insurance, rep, outsider):
    for person in (rep, outsider):
        with pytest.raises(NotPermitted):
            take(org, person)
    assert not Claim.objects.exists()


# --- the command ----------------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_837", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_as_the_system_user_and_prints_a_summary(org, key_insurance):
    out, _ = run(str(SAMPLES / PROFESSIONAL), "--organization", "riverside")
    assert "Imported demo.example1.837 into riverside: 1 claim: 1 created" in out
    claim = Claim.objects.get()
    assert claim.history.get().history_user == system_user()


def test_the_command_prints_json(org, key_insurance):
    out, _ = run(str(SAMPLES / PROFESSIONAL), "--organization", "riverside", "--json")
    body = json.loads(out)
    assert (body["ok"], body["created"], body["claims"][0]["outcome"]) == (True, 1, "created")


def test_the_command_prints_the_rejection_as_json_and_exits_non_zero(org, key_insurance):
    for _ in range(2):
        PatientFactory(organization=org, first_name="Ted", last_name="Smith", date_of_birth=date(1973, 5, 1))
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(
            "import_837", str(SAMPLES / PROFESSIONAL), "--organization", "riverside", "--json", stdout=out
        )
    assert failed.value.returncode == 1
    body = json.loads(out.getvalue())
    assert body["ok"] is False and body["created"] == 0
    assert [e["claim"] for e in body["errors"]] == ["26463774"]
    assert not Claim.objects.exists()


def test_the_command_lists_problems_on_stderr(org, key_insurance):
    PatientFactory(organization=org, first_name="Ted", last_name="Smith", date_of_birth=date(1973, 5, 1))
    PatientFactory(organization=org, first_name="Ted", last_name="Smith", date_of_birth=date(1973, 5, 1))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"1 problem found in demo\.example1\.837; nothing was imported"):
        call_command(
            "import_837", str(SAMPLES / PROFESSIONAL), "--organization", "riverside", stdout=out, stderr=err
        )
    assert "claim 26463774, segment" in err.getvalue() and "ambiguous patient match" in err.getvalue()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/nonexistent/claims.837", "there is no such file"),
        (str(SAMPLES), "it is a directory"),
        (str(SAMPLES / "managed-care.835"), "is not an 837 claim file"),
    ],
)
def test_the_command_refuses_files_it_cannot_import(org, path, message):
    with pytest.raises(CommandError, match=message) as failed:
        run(path, "--organization", "riverside")
    assert failed.value.returncode == 1


def test_the_command_needs_a_known_organization(db):
    with pytest.raises(CommandError, match="No active organization has the slug 'nowhere'"):
        run(str(SAMPLES / PROFESSIONAL), "--organization", "nowhere")
