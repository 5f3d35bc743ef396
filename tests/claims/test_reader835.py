"""The X12 tokenizer and the 835 reader against the public sample files and hand-made edge cases.

The expected outcomes per sample (ST count, claims per CLP02, which transactions balance) are the
ones recorded in ``shared/x12-samples/SOURCES.md``. The samples sit beside the repository; tests
that need them are skipped, with the path in the reason, when the folder is absent.
"""

from __future__ import annotations

import dataclasses
import io
import random
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from claims.x12.reader835 import (
    DIAGNOSTIC_CODES,
    ClaimPayment835,
    Remittance835File,
    read_835,
)
from claims.x12.tokenizer import Diagnostic, Segment, Separators, tokenize, tokenize_stream

D = Decimal
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "x12-samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"sample folder {SAMPLES} is absent")

# file → (ST count, claims per CLP02, balanced per transaction or None where amounts are masked)
EXPECTED_835 = {
    "medicare-part-a.835": (1, {"1": 2}, [True]),
    "secondary-payment.835": (1, {"2": 2}, [True]),
    "managed-care.835": (1, {"1": 2}, [True]),
    "Example1.txt": (1, {"1": 2, "2": 1, "4": 3, "25": 1, "22": 3}, [False]),
    "ExampleFromNth.txt": (3, {"1": 39, "2": 1, "4": 16}, None),
    "835id.txt": (1, {"22": 2, "1": 1}, [False]),
    "emedny_sample.txt": (1, {"1": 1, "2": 2}, [True]),
    "united_healthcare_legacy_sample.txt": (1, {"1": 2}, [True]),
    "835-example.txt": (1, {"1": 2}, [False]),
    "example_1.835": (1, {"1": 1}, [False]),
}
SAMPLES_837 = ["demo.example1.837", "institutional-claim.837i"]
# Files whose claims all balance (rules 1 and 2), per SOURCES.md.
ALL_CLAIMS_BALANCED = sorted(set(EXPECTED_835) - {"Example1.txt", "ExampleFromNth.txt"})


def sample(name: str) -> bytes:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample folder {SAMPLES} is absent")
    return (SAMPLES / name).read_bytes()


def read(name: str) -> Remittance835File:
    return read_835(sample(name))


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics]


# -- every sample -------------------------------------------------------------------------------


@needs_samples
def test_every_sample_file_is_covered_here():
    on_disk = {p.name for p in SAMPLES.iterdir() if p.is_file() and p.name != "SOURCES.md"}
    assert on_disk == set(EXPECTED_835) | set(SAMPLES_837)


@pytest.mark.parametrize("name", sorted(EXPECTED_835))
def test_sample_outcomes_match_sources(name):
    st_count, statuses, balanced = EXPECTED_835[name]
    remit = read(name)
    assert remit.is_835
    assert len(remit.transactions) == st_count
    assert Counter(c.status_code for c in remit.claims) == statuses
    if balanced is not None:
        assert [t.balanced for t in remit.transactions] == balanced
        unbalanced = [d for d in remit.diagnostics if d.code == "transaction_unbalanced"]
        assert len(unbalanced) == balanced.count(False)
    assert remit.segment_count == len(remit.segments) > 0
    assert all(d.code in DIAGNOSTIC_CODES for d in remit.diagnostics)


@pytest.mark.parametrize("name", ALL_CLAIMS_BALANCED)
def test_claims_and_lines_balance(name):
    remit = read(name)
    assert all(c.balanced and c.complete for c in remit.claims)
    assert all(line.balanced for c in remit.claims for line in c.lines)
    assert not {"claim_unbalanced", "line_unbalanced", "truncated_claim"} & set(codes(remit.diagnostics))


@pytest.mark.parametrize("name", sorted(EXPECTED_835))
def test_money_is_decimal_and_nodes_point_at_their_segments(name):
    remit = read(name)
    for txn in remit.transactions:
        assert isinstance(txn.total_paid, Decimal)
        assert remit.segments[txn.segment_index].tag == "ST"
        assert remit.segments[txn.end_index].tag == "SE"
        for claim in txn.claims:
            assert remit.segments[claim.segment_index].tag == "CLP"
            assert claim.segment_index <= claim.end_index < txn.end_index
            assert remit.segments[claim.end_index + 1].tag in ("CLP", "LX", "PLB", "SE")
            assert claim.end_index == claim.segment_index or remit.segments[claim.end_index].tag not in (
                "CLP",
                "LX",
                "PLB",
                "SE",
            )
            for value in (claim.charge, claim.paid, claim.patient_responsibility):
                assert isinstance(value, Decimal)
            for line in claim.lines:
                assert remit.segments[line.segment_index].tag == "SVC"
                assert claim.segment_index < line.segment_index <= claim.end_index
                assert isinstance(line.charge, Decimal) and isinstance(line.paid, Decimal)
            for adj in claim.adjustments + [a for line in claim.lines for a in line.adjustments]:
                assert isinstance(adj.amount, Decimal)
                assert remit.segments[adj.segment_index].tag == "CAS"
        for plb in txn.provider_adjustments:
            assert isinstance(plb.amount, Decimal)
            assert remit.segments[plb.segment_index].tag == "PLB"


@pytest.mark.parametrize("name", sorted(EXPECTED_835))
def test_diagnostics_never_carry_patient_names(name):
    remit = read(name)
    names = {c.patient_last_name for c in remit.claims if len(c.patient_last_name) > 2}
    names |= {c.patient_first_name for c in remit.claims if len(c.patient_first_name) > 2}
    for diagnostic in remit.diagnostics:
        assert not any(n in diagnostic.message for n in names), diagnostic.message


@pytest.mark.parametrize("name", SAMPLES_837)
def test_837_files_are_not_835(name):
    remit = read(name)
    assert not remit.is_835
    assert remit.transactions == []
    (not_835,) = [d for d in remit.diagnostics if d.code == "not_835"]
    assert not_835.severity == "error"
    assert "837" in not_835.message


# -- per-file details ---------------------------------------------------------------------------


def test_medicare_part_a_plb_increases_the_payment():
    remit = read("medicare-part-a.835")
    (txn,) = remit.transactions
    assert txn.balanced and txn.complete
    assert (txn.handling_code, txn.method, txn.credit_debit) == ("C", "ACH", "C")
    assert txn.total_paid == D("150000.00")
    assert txn.claim_paid_total == D("149998.73")
    assert txn.payment_date == date(2002, 9, 13)
    assert txn.production_date == date(2002, 9, 16)
    assert (txn.trace_number, txn.trace_payer_id) == ("12345", "1512345678")
    assert txn.payer_id == "999"  # REF*2U: N1*PR has no id
    assert (txn.payee_id_qualifier, txn.payee_id) == ("XX", "6543210903")
    (plb,) = txn.provider_adjustments
    assert plb.amount == D("-1.27")
    assert (plb.reason, plb.reference, plb.provider_id) == ("CV", "CP", "6543210903")
    assert plb.fiscal_period_date == date(2002, 12, 31)
    inpatient, outpatient = txn.claims
    assert (inpatient.facility_type, inpatient.frequency, inpatient.filing_indicator) == ("11", "1", "MA")
    assert inpatient.patient_member_id == "666666666A"
    assert inpatient.statement_from == date(2002, 8, 16)
    assert inpatient.statement_to == date(2002, 8, 24)
    assert outpatient.facility_type == "13"
    assert outpatient.remark_codes == ["MA02"]
    assert remit.version == "005010X221A1"
    assert (remit.sender_id, remit.receiver_id, remit.interchange_control) == (
        "000000005",
        "12345",
        "000000907",
    )
    assert remit.diagnostics == []


def test_example1_truncated_claim_and_unnetted_plb():
    remit = read("Example1.txt")
    (txn,) = remit.transactions
    assert (txn.handling_code, txn.method, txn.total_paid) == ("H", "NON", D("5.75"))
    assert not txn.balanced
    (unbalanced,) = [d for d in txn.diagnostics if d.code == "transaction_unbalanced"]
    assert "5.75" in unbalanced.message and "7.02" in unbalanced.message
    *whole, last = txn.claims
    assert len(whole) == 9 and all(c.balanced and c.complete for c in whole)
    assert (last.patient_control_number, last.status_code) == ("090909", "22")
    assert not last.complete and not last.balanced
    assert last.lines == [] and last.charge == last.paid == 0
    (truncated,) = [d for d in remit.diagnostics if d.code == "truncated_claim"]
    assert truncated.severity == "error"
    assert truncated.segment_index == last.segment_index
    assert remit.segments[truncated.segment_index].elements == ("090909", "22")
    assert truncated in last.diagnostics and truncated in txn.diagnostics
    assert "CLP03" in truncated.message and "CLP04" in truncated.message
    assert txn.provider_adjustments[0].amount == D("-1.27")
    legacy = [d for d in remit.diagnostics if d.code == "legacy_group_code"]
    assert legacy and all(d.severity == "info" for d in legacy)
    assert D("25.95") in [
        a.amount for c in whole for line in c.lines for a in line.adjustments if a.group == "CR"
    ]
    reversals = [c for c in txn.claims if c.is_reversal]
    assert len(reversals) == 3
    assert reversals[0].lines[0].units_paid == D("-2")
    assert sum(c.is_denied for c in txn.claims) == 3
    # ISA12 00401 but GS08 just "5010": the version is what the file says.
    assert remit.version == "5010"


def test_example_from_nth_three_payments():
    remit = read("ExampleFromNth.txt")
    assert [t.control_number for t in remit.transactions] == ["8001", "9001", "10001"]
    assert [len(t.claims) for t in remit.transactions] == [19, 23, 14]
    assert sum(s.tag == "ISA" for s in remit.segments) == 3
    assert remit.separators == Separators("*", ">", "^", "~")
    line = remit.transactions[0].claims[0].lines[0]
    assert (line.qualifier, line.code, line.units_paid) == ("XX", "99999", D("9.999"))
    assert line.remark_codes == ["N1"]
    assert not [d for d in remit.diagnostics if d.code.startswith("envelope_")]


def test_835id_reversal_and_correction_pair():
    remit = read("835id.txt")
    (txn,) = remit.transactions
    reversal, correction, lone = txn.claims
    assert reversal.patient_control_number == correction.patient_control_number == "123839-24635"
    assert reversal.is_reversal and not correction.is_reversal and lone.is_reversal
    assert (reversal.charge, reversal.paid) == (D("-310"), D("-210"))
    assert (correction.charge, correction.paid) == (D("300"), D("200"))
    assert reversal.lines[0].adjustments[0].amount == D("-100")
    assert reversal.lines[0].adjustments[0].group == "CR"
    assert reversal.payer_claim_number == correction.payer_claim_number == "6363451"
    assert reversal.allowed_amount == D("580")
    assert lone.lines[0].modifiers == ["TG"]
    assert [p.amount for p in txn.provider_adjustments] == [D("-1008.1"), D("24.21"), D("5.95")]
    assert {p.reason for p in txn.provider_adjustments} == {"CS"}
    assert not txn.balanced
    assert txn.claim_paid_total - txn.provider_adjustment_total == D("467.69")
    assert remit.version == "004010X091A1"
    assert all(c.balanced for c in txn.claims)


def test_835_example_pipe_caret_and_newline_before_terminator():
    remit = read("835-example.txt")
    assert remit.separators == Separators("|", "^", None, "~")
    assert [s.tag for s in remit.segments[:3]] == ["ISA", "GS", "ST"]
    assert remit.segments[0].get(16) == "^"
    (txn,) = remit.transactions
    (plb,) = txn.provider_adjustments
    assert (plb.reason, plb.reference, plb.amount) == ("WO", "12104411559120820 001GAL295513", D("-361.19"))
    assert not txn.balanced
    assert txn.claim_paid_total - txn.provider_adjustment_total == D("12561.86")
    assert (txn.payer_id, txn.payee_tax_id, txn.trace_supplemental) == ("87726", "777777777", "000011111")
    first, second = txn.claims
    assert (first.lines[0].qualifier, first.lines[0].code) == ("HC", "88888")
    assert first.lines[0].line_control_number == "251111111111"
    assert second.lines[0].remark_codes == ["N220", "M68"]
    assert second.received_date == date(2012, 3, 3)
    assert (second.group_number, second.insured_member_id) == ("717171", "123222222")
    # SE01 says 43; the transaction set really holds 47 segments.
    (count,) = [d for d in remit.diagnostics if d.code == "envelope_count_mismatch"]
    assert "43" in count.message and "47" in count.message
    assert count in txn.diagnostics


def test_example_1_paid_over_billed_balanced_by_negative_cas():
    remit = read("example_1.835")
    (txn,) = remit.transactions
    (claim,) = txn.claims
    assert claim.paid > claim.charge
    assert claim.balanced
    assert [(a.group, a.reason, a.amount) for a in claim.adjustments] == [("CO", "94", D("-1710.44"))]
    assert (claim.drg_code, claim.drg_weight) == ("397", D("0.7309"))
    assert claim.received_date == date(2010, 9, 18)  # DTM*50, two-digit qualifier
    assert claim.medical_record_number == "CW0321"
    assert claim.allowed_amount == D("5451.04")
    assert not txn.balanced
    assert txn.payer_id == "11111"
    assert remit.sender_id == "" and remit.interchange_control == ""
    assert "no_interchange_envelope" in codes(remit.diagnostics)


def test_secondary_payment_component_separator_from_the_body():
    remit = read("secondary-payment.835")
    assert remit.separators.component == ">"
    (mismatch,) = [d for d in remit.diagnostics if d.code == "component_separator_mismatch"]
    assert mismatch.severity == "warning"
    (txn,) = remit.transactions
    first, second = txn.claims
    assert first.lines == []
    assert [(a.group, a.reason, a.amount) for a in first.adjustments] == [("OA", "23", D("9411.64"))]
    line1, line2 = second.lines
    assert (line1.qualifier, line1.code, line1.modifiers) == ("HC", "12345", ["26"])
    assert line2.revenue_code == "220"
    assert [(a.group, a.reason, a.amount) for a in line2.adjustments] == [
        ("PR", "1", D("150.00")),
        ("PR", "2", D("70.00")),
        ("CO", "42", D("85.00")),
    ]
    assert second.patient_responsibility == second.patient_responsibility_total == D("220.00")
    assert remit.segments[line1.segment_index].component(1, 3) == "26"
    assert txn.balanced


def test_united_line_control_numbers_and_two_triplet_cas():
    remit = read("united_healthcare_legacy_sample.txt")
    (txn,) = remit.transactions
    first, second = txn.claims
    assert [line.line_control_number for line in first.lines] == ["800941258001", "800941258002"]
    assert [line.line_control_number for line in second.lines] == [
        "123456789012",
        "123456789013",
        "123456789014",
    ]
    assert [(a.group, a.reason, a.amount) for a in second.lines[2].adjustments] == [
        ("PR", "2", D("5.13")),
        ("PR", "1", D("110")),
        ("CO", "45", D("184.32")),
    ]
    assert first.received_date == date(2021, 1, 14)
    assert first.allowed_amount == D("194.18")
    assert first.lines[0].allowed_amount == D("88.92")
    assert (first.lines[0].code, first.lines[0].units_paid) == ("B4152", D("234"))
    assert txn.trace_supplemental == "000088888"
    assert txn.duplicate_key == ("1234567890", "1234567890", date(2021, 2, 4), D("349.99"))


def test_emedny_one_line_file():
    remit = read("emedny_sample.txt")
    assert remit.separators == Separators("*", ":", "^", "~")
    (txn,) = remit.transactions
    first, denied, partial = txn.claims
    assert first.lines[0].modifiers == ["RB"]
    assert first.patient_member_id == "LL99999L"
    assert first.statement_from == first.statement_to == date(2010, 1, 1)
    assert denied.status_code == "2" and denied.paid == 0
    assert {a.reason for line in denied.lines for a in line.adjustments} == {"29"}
    assert partial.lines[2].remark_codes == ["N206"]
    assert txn.balanced and txn.total_paid == D("45.75")


def test_managed_care_claim_level_adjustment():
    remit = read("managed-care.835")
    (txn,) = remit.transactions
    claim = txn.claims[0]
    assert [(a.group, a.reason) for a in claim.adjustments] == [("CO", "A2")]
    assert sum(line.paid for line in claim.lines) == D("500.00") != claim.paid
    assert claim.balanced
    assert claim.lines[0].service_date_from == date(2002, 3, 1)
    assert claim.lines[0].service_date_to == date(2002, 3, 4)
    # BPR16 is 20002316 in this sample: month 23.
    (bad_date,) = [d for d in remit.diagnostics if d.code == "bad_date"]
    assert "BPR16" in bad_date.message and bad_date.severity == "warning"
    assert txn.payment_date is None and txn.balanced


# -- tokenizer ----------------------------------------------------------------------------------


SMALL = (
    "ST*835*0001~BPR*I*100*C*CHK************20240105~TRN*1*CHK1*1999999999~"
    "N1*PR*PAYER~N1*PE*CLINIC*XX*1234567890~"
    "CLP*A1*1*150*100*20*12*ICN1*11*1~CAS*CO*45*30~NM1*QC*1*DOE*JOHN****MI*M1~"
    "SVC*HC:99213:25*120*100**1~DTM*472*20240101~CAS*PR*2*20~REF*6R*L1~"
    "SE*13*0001~"
)


ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*240101*1200*^*00501*000000001*0*P*:"
)


def small(**replacements: str) -> str:
    text = SMALL
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    return text


def test_small_synthetic_remittance_balances():
    remit = read_835(SMALL)
    (txn,) = remit.transactions
    assert txn.balanced
    (claim,) = txn.claims
    assert claim.balanced and claim.lines[0].balanced
    assert claim.lines[0].modifiers == ["25"]
    assert [d.code for d in remit.diagnostics] == ["no_interchange_envelope"]


@pytest.mark.parametrize("data", [b"", "", b"   \r\n\t", "\ufeff"])
def test_empty_input(data):
    tokens = tokenize(data)
    assert tokens.segments == []
    assert codes(tokens.diagnostics) == ["empty_file"]
    remit = read_835(data)
    assert not remit.is_835
    assert set(codes(remit.diagnostics)) == {"empty_file", "not_835"}


@pytest.mark.parametrize(
    "data",
    [b"\x00\xff\xfe garbage \x89PNG", "hello world", b"%PDF-1.4 ...", "ISA", "ST", "*~:~*"],
)
def test_garbage_is_not_x12(data):
    tokens = tokenize(data)
    assert tokens.segments == []
    assert "not_x12" in codes(tokens.diagnostics)
    remit = read_835(data)
    assert {"not_x12", "not_835"} <= set(codes(remit.diagnostics))


def test_non_bytes_input_is_reported_not_raised():
    assert codes(tokenize(12345).diagnostics) == ["not_x12"]  # type: ignore[arg-type]
    assert codes(tokenize(bytearray(SMALL.encode())).diagnostics) == ["no_interchange_envelope"]


def test_segment_accessors():
    seg = Segment(3, "SVC", ("HC:99213:25", "120", "", "100"))
    assert seg.get(1) == "HC:99213:25"
    assert seg.get(3) == "" and seg.get(3, "x") == "x"
    assert seg.get(9) == "" and seg.get(0) == "" and seg.get(-1) == ""
    assert seg.component(1, 2) == "99213" and seg.component(1, 3) == "25"
    assert seg.component(1, 4) == "" and seg.component(7, 1) == ""
    assert seg.components(1) == ["HC", "99213", "25"]
    assert seg.text() == "SVC*HC:99213:25*120**100"


def test_bom_crlf_indentation_and_latin1():
    text = "\ufeff  " + SMALL.replace("~", "~\r\n    ").replace("PAYER", "PAYÉR")
    tokens = tokenize(text.encode("utf-8"))
    assert tokens.segments[3].get(2) == "PAYÉR"
    assert [s.tag for s in tokens.segments] == [s.tag for s in tokenize(SMALL).segments]
    latin = tokenize(SMALL.replace("PAYER", "PAY\xc9R").encode("latin-1"))
    assert latin.segments[3].get(2) == "PAY\xc9R"


def test_wrapped_lines_and_one_line_files_read_the_same():
    remit = read_835(SMALL)
    wrapped = "\n".join(SMALL[i : i + 80] for i in range(0, len(SMALL), 80))
    newline_terminated = SMALL.replace("~", "\n")
    for variant in (wrapped, newline_terminated):
        other = read_835(variant)
        assert [s.elements for s in other.segments] == [s.elements for s in remit.segments]
        assert other.transactions[0].balanced


@needs_samples
def test_samples_reformatted_read_the_same():
    for name in ("medicare-part-a.835", "united_healthcare_legacy_sample.txt"):
        original = read(name)
        text = sample(name).decode()
        one_line = text.replace("~\n", "~")
        indented = text.replace("~", "~\r\n   ")
        for variant in (one_line, indented):
            other = read_835(variant)
            assert [s.elements for s in other.segments] == [s.elements for s in original.segments]
            assert [t.balanced for t in other.transactions] == [t.balanced for t in original.transactions]


def test_envelope_counts_and_controls():
    isa = ISA + "~"
    body = SMALL.replace("SE*13*0001", "SE*12*0002")
    gs = "GS*HP*SENDER*RECEIVER*20240101*1200*7*X*005010X221A1~"
    data = isa + gs + body + "GE*2*8~IEA*3*000000002~"
    tokens = tokenize(data)
    found = [(d.code, tokens.segments[d.segment_index].tag) for d in tokens.diagnostics]
    assert found == [
        ("envelope_count_mismatch", "SE"),
        ("envelope_control_mismatch", "SE"),
        ("envelope_count_mismatch", "GE"),
        ("envelope_control_mismatch", "GE"),
        ("envelope_count_mismatch", "IEA"),
        ("envelope_control_mismatch", "IEA"),
    ]
    assert all(d.severity == "warning" for d in tokens.diagnostics)
    good = isa + gs + SMALL + "GE*1*7~IEA*1*000000001~"
    assert tokenize(good).diagnostics == []
    missing = tokenize(isa + gs + SMALL)
    assert codes(missing.diagnostics) == ["envelope_missing_trailer", "envelope_missing_trailer"]


def test_bad_segment_tags_are_reported_and_capped():
    junk = "".join(f"x{i}!*a~" for i in range(50))
    tokens = tokenize(SMALL + junk)
    bad = [d for d in tokens.diagnostics if d.code == "bad_segment_tag"]
    assert len(bad) == 20
    assert "too_many_diagnostics" in codes(tokens.diagnostics)
    assert read_835(SMALL + junk).transactions[0].balanced


# -- reader diagnostics -------------------------------------------------------------------------


def test_bad_amount_names_segment_element_and_claim():
    remit = read_835(small(**{"CAS*CO*45*30~": "CAS*CO*45*3O.00~"}))
    (bad,) = [d for d in remit.diagnostics if d.code == "bad_amount"]
    assert bad.severity == "error"
    assert bad.segment_index == 6
    assert "CAS03" in bad.message and "segment 6" in bad.message and "claim #1" in bad.message
    assert "3O.00" in bad.message
    claim = remit.claims[0]
    assert bad in claim.diagnostics
    assert not claim.complete and not claim.balanced
    assert "DOE" not in bad.message


@pytest.mark.parametrize("value", ["1e3", "NaN", "Infinity", "+5", "1,000", "1_000", "--1", ".", "-", "١٢"])
def test_amounts_are_strict_x12_decimals(value):
    remit = read_835(small(**{"BPR*I*100": f"BPR*I*{value}"}))
    assert "bad_amount" in codes(remit.diagnostics)
    txn = remit.transactions[0]
    assert not txn.balanced and not txn.complete


def test_overlong_amount_is_rejected_not_overflowed():
    remit = read_835(small(**{"CLP*A1*1*150": "CLP*A1*1*" + "9" * 5000}))
    assert "bad_amount" in codes(remit.diagnostics)


def test_bad_date_is_a_warning():
    remit = read_835(small(**{"DTM*472*20240101": "DTM*472*20241301"}))
    (bad,) = [d for d in remit.diagnostics if d.code == "bad_date"]
    assert bad.severity == "warning" and "DTM02" in bad.message
    assert remit.claims[0].lines[0].service_date_from is None
    assert remit.claims[0].balanced


def test_unknown_claim_status_and_group_code():
    remit = read_835(small(**{"CLP*A1*1*": "CLP*A1*13*", "CAS*PR*2*20~REF": "CAS*ZZ*2*20~REF"}))
    found = {d.code: d.severity for d in remit.diagnostics}
    assert found["unknown_claim_status"] == "warning"
    assert found["unknown_group_code"] == "warning"
    assert found["patient_responsibility_mismatch"] == "warning"
    claim = remit.claims[0]
    # The unknown group still counts for balancing; rule 3 does not affect ``balanced``.
    assert claim.balanced


def test_unbalanced_line_claim_and_transaction_messages():
    remit = read_835(small(**{"SVC*HC:99213:25*120*100": "SVC*HC:99213:25*120*90", "BPR*I*100": "BPR*I*101"}))
    line = next(d for d in remit.diagnostics if d.code == "line_unbalanced")
    assert "SVC02 120" in line.message and "= 100" in line.message and "SVC03 is 90" in line.message
    assert not remit.claims[0].lines[0].balanced and not remit.claims[0].balanced
    txn = next(d for d in remit.diagnostics if d.code == "transaction_unbalanced")
    assert "BPR02 is 101" in txn.message and "= 100" in txn.message and "difference 1" in txn.message
    claim_level = read_835(small(**{"CLP*A1*1*150*100": "CLP*A1*1*150*99"}))
    claim_diag = next(d for d in claim_level.diagnostics if d.code == "claim_unbalanced")
    assert "CLP03 150" in claim_diag.message and "= 100" in claim_diag.message
    assert "CLP04 is 99" in claim_diag.message


def test_debit_payment_balances_against_negative_bpr02():
    debit = small(**{"BPR*I*100*C": "BPR*I*100*D", "CLP*A1*1*150*100*20": "CLP*A1*22*-150*-100*-20"})
    debit = debit.replace("SVC*HC:99213:25*120*100", "SVC*HC:99213:25*-120*-100")
    debit = debit.replace("CAS*CO*45*30", "CAS*CO*45*-30").replace("CAS*PR*2*20", "CAS*PR*2*-20")
    remit = read_835(debit)
    assert remit.transactions[0].balanced, remit.diagnostics
    credit = read_835(debit.replace("BPR*I*100*D", "BPR*I*100*C"))
    (unbalanced,) = [d for d in credit.diagnostics if d.code == "transaction_unbalanced"]
    assert "difference 200" in unbalanced.message


def test_missing_bpr_and_trn():
    remit = read_835(small(**{"BPR*I*100*C*CHK************20240105~": "", "TRN*1*CHK1*1999999999~": ""}))
    assert {"missing_bpr", "missing_trn"} <= set(codes(remit.diagnostics))
    assert not remit.transactions[0].balanced


def test_data_cut_inside_a_claim():
    cut = SMALL[: SMALL.index("REF*6R")]
    remit = read_835(cut)
    found = codes(remit.diagnostics)
    assert "truncated_transaction" in found and "truncated_claim" in found
    assert "envelope_missing_trailer" in found
    (txn,) = remit.transactions
    assert not txn.complete and not txn.balanced
    assert not txn.claims[0].complete
    assert txn.end_index == remit.segment_count - 1


def test_plb_with_six_pairs_and_composite_references():
    plb = "PLB*P1*20241231*WO:ICN1 PCN1*10*L6*-2*FB:X*3*CS*4*72*5*IR*6~"
    remit = read_835(small(**{"SE*13*0001~": plb + "SE*14*0001~", "BPR*I*100": "BPR*I*74"}))
    (txn,) = remit.transactions
    assert [(p.reason, p.reference, p.amount) for p in txn.provider_adjustments] == [
        ("WO", "ICN1 PCN1", D("10")),
        ("L6", "", D("-2")),
        ("FB", "X", D("3")),
        ("CS", "", D("4")),
        ("72", "", D("5")),
        ("IR", "", D("6")),
    ]
    assert txn.balanced  # 100 - (10 - 2 + 3 + 4 + 5 + 6) = 74


def test_forwarded_and_crossover():
    crossover = read_835(small(**{"NM1*QC": "NM1*TT*2*MEDIGAP INC*****PI*X99~NM1*QC"}))
    claim = crossover.claims[0]
    assert claim.is_forwarded and (claim.crossover_carrier_name, claim.crossover_carrier_id) == (
        "MEDIGAP INC",
        "X99",
    )
    assert read_835(small(**{"CLP*A1*1*": "CLP*A1*19*"})).claims[0].is_forwarded
    assert not read_835(SMALL).claims[0].is_forwarded


def test_segments_outside_known_loops_are_kept_silently():
    remit = read_835(small(**{"CLP*A1": "QTY*CA*2~XYZ*1*2~CLP*A1", "~SE*13": "~RDM*BM~SE*16"}))
    assert remit.transactions[0].balanced
    assert [d.code for d in remit.diagnostics] == ["no_interchange_envelope"]
    assert "XYZ" in [s.tag for s in remit.segments]
    assert remit.segment_text(5).startswith("QTY*CA*2")


def test_two_transactions_and_another_set_in_one_file():
    other = "ST*837*0002~BHT*0019*00*1*20240101*1200*CH~SE*3*0002~"
    remit = read_835(SMALL + other + SMALL.replace("0001", "0003"))
    assert [t.control_number for t in remit.transactions] == ["0001", "0003"]
    assert all(t.balanced for t in remit.transactions)
    assert "segment_outside_transaction" not in codes(remit.diagnostics)


def test_claim_properties():
    assert ClaimPayment835(status_code="22").is_reversal
    assert ClaimPayment835(status_code="4").is_denied
    assert ClaimPayment835(status_code="21").is_forwarded
    assert not ClaimPayment835(status_code="1").is_forwarded


# -- size ---------------------------------------------------------------------------------------


def synthetic_835(claims: int, lines_per_claim: int) -> str:
    """A balanced single-payment 835 with ``claims`` claims of ``lines_per_claim`` lines each."""
    charge, paid, responsibility = 100 * lines_per_claim, 80 * lines_per_claim, 5 * lines_per_claim
    segments = [
        ISA,
        "GS*HP*SENDER*RECEIVER*20240101*1200*1*X*005010X221A1",
        "ST*835*0001",
        f"BPR*I*{paid * claims - 5}.00*C*ACH*CCP*01*111*DA*222*1999999999**01*333*DA*444*20240105",
        "TRN*1*12345*1999999999",
        "DTM*405*20240101",
        "N1*PR*PAYER",
        "REF*2U*999",
        "N1*PE*PROVIDER*XX*1234567890",
        "LX*1",
    ]
    line = ["DTM*472*20240101", "CAS*CO*45*15.00", "CAS*PR*2*5.00", "AMT*B6*95.00", "LQ*HE*N130"]
    for i in range(claims):
        segments += [
            f"CLP*PCN{i}*1*{charge}.00*{paid}.00*{responsibility}*12*ICN{i}*11*1",
            "NM1*QC*1*DOE*JOHN****MI*M123",
            "DTM*232*20240101",
            f"AMT*AU*{95 * lines_per_claim}.00",
        ]
        for j in range(lines_per_claim):
            segments += ["SVC*HC:99213:25*100.00*80.00**1", *line, f"REF*6R*{i}-{j}"]
    segments.append("PLB*1234567890*20241231*WO:ICN0*5.00")
    # SE01 counts ST..SE: everything so far but ISA and GS, plus SE itself.
    segments += [f"SE*{len(segments) - 1}*0001", "GE*1*1", "IEA*1*000000001"]
    return "~\n".join(segments) + "~\n"


def test_large_file_parses_quickly_and_balances():
    data = synthetic_835(10_000, 3).encode()
    started = time.perf_counter()
    remit = read_835(data)
    elapsed = time.perf_counter() - started
    assert remit.segment_count > 200_000
    assert len(remit.claims) == 10_000
    assert sum(len(c.lines) for c in remit.claims) == 30_000
    assert remit.diagnostics == []
    assert remit.transactions[0].balanced
    # About 1 s on the 2-core reference machine; the bound only catches accidental quadratic work.
    assert elapsed < 6, f"{elapsed:.2f} s"


# -- cross-check with pyx12 ---------------------------------------------------------------------

# pyx12 needs an ISA header and takes the character after ISA16 as the terminator, so it cannot
# read example_1.835 (no ISA) or 835-example.txt (LF after ISA16, ``~`` on the next line).
PYX12_COMPARABLE = sorted(set(EXPECTED_835) - {"example_1.835", "835-example.txt"})


@pytest.mark.parametrize("name", PYX12_COMPARABLE)
def test_segments_and_claims_agree_with_pyx12(name):
    x12file = pytest.importorskip("pyx12.x12file", reason="pyx12 (dev extra) is not installed")
    text = sample(name).decode("utf-8-sig")
    theirs = list(x12file.X12Reader(io.StringIO(text)))
    remit = read_835(text)
    assert [s.get_seg_id() for s in theirs] == [s.tag for s in remit.segments]
    their_claims = [
        [s.get_value(f"CLP{n:02d}") or "" for n in (1, 2, 3, 4)] for s in theirs if s.get_seg_id() == "CLP"
    ]
    ours = [[s.get(n) for n in (1, 2, 3, 4)] for s in remit.segments if s.tag == "CLP"]
    assert their_claims == ours
    assert len(remit.claims) == len(their_claims)


# -- streaming (keep_segments=False) --------------------------------------------------------------


def assert_stream_reads_the_same(data: bytes | str) -> None:
    """``tokenize_stream`` gives ``tokenize``'s segments, separators and diagnostics, and
    ``read_835(keep_segments=False)`` the same tree and diagnostics without the segments."""
    tokens = tokenize(data)
    stream = tokenize_stream(data)
    assert stream.separators == tokens.separators
    assert stream.diagnostics == tokens.diagnostics
    assert len(stream) == len(tokens.segments)
    streamed = list(stream)
    assert streamed == tokens.segments
    assert [s.component_separator for s in streamed] == [s.component_separator for s in tokens.segments]
    listed = read_835(data)
    lean = read_835(data, keep_segments=False)
    assert lean.segments == []
    assert lean.segment_count == listed.segment_count == len(tokens.segments)
    assert lean == dataclasses.replace(listed, segments=[])
    # Field by field too: the tree, and the diagnostics on the file, each payment and each claim.
    assert lean.diagnostics == listed.diagnostics
    assert lean.transactions == listed.transactions
    for mine, theirs in zip(lean.transactions, listed.transactions, strict=True):
        assert mine.diagnostics == theirs.diagnostics
        assert [c.diagnostics for c in mine.claims] == [c.diagnostics for c in theirs.claims]


@needs_samples
@pytest.mark.parametrize("name", sorted(EXPECTED_835) + SAMPLES_837)
def test_streaming_reads_every_sample_the_same(name):
    assert_stream_reads_the_same(sample(name))


def test_streaming_reads_generated_and_damaged_files_the_same():
    isa = ISA + "~"
    gs = "GS*HP*SENDER*RECEIVER*20240101*1200*7*X*005010X221A1~"
    cases: list[bytes | str] = [
        synthetic_835(200, 3),
        synthetic_835(3, 1).replace("~\n", "~"),
        SMALL,
        isa + gs + SMALL.replace("SE*13*0001", "SE*12*0002") + "GE*2*8~IEA*3*000000002~",
        isa + gs + SMALL,
        SMALL + "".join(f"x{i}!*a~" for i in range(50)),
        small(**{"CAS*CO*45*30~": "CAS*CO*45*3O.00~"}),
        small(**{"SE*13*0001~": ""}),
        "\ufeff  " + SMALL.replace("~", "~\r\n    "),
        SMALL.replace("PAYER", "PAY\xc9R").encode("latin-1"),
        b"",
        "hello world",
        12345,  # type: ignore[list-item]
    ]
    rng = random.Random(835)
    base = synthetic_835(4, 2).encode()
    for _ in range(150):
        damaged = bytearray(base)
        at = rng.randrange(len(damaged))
        operation = rng.randrange(3)
        if operation == 0:
            del damaged[at : at + rng.randrange(1, 40)]
        elif operation == 1:
            damaged[at:at] = bytes(rng.choice(b"*~:^\n SEGCLP0123") for _ in range(rng.randrange(1, 6)))
        else:
            segments = bytes(damaged).split(b"~")
            segments.insert(rng.randrange(len(segments)), rng.choice(segments))
            damaged = bytearray(b"~".join(segments))
        cases.append(bytes(damaged))
    for data in cases:
        assert_stream_reads_the_same(data)


def test_stream_can_be_walked_again_and_keeps_no_segments():
    stream = tokenize_stream(SMALL)
    assert list(stream) == list(stream) == tokenize(SMALL).segments
    lean = read_835(SMALL, keep_segments=False)
    assert lean.segment_text(0) == ""
    assert read_835(SMALL).segment_text(0) == "ST*835*0001"
