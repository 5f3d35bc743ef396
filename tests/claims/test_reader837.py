"""837P/837I reader: the public sample files, hand-built edge cases, and input it must survive."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from claims.x12.reader837 import Claim837, Claim837File, read_837

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "x12-samples"

ISA = (
    "ISA*03*9876543210*01*9876543210*30*000000005      *30*12345          "
    "*131031*1147*^*00501*000000907*1*T*:~"
)

PROVIDER = """
BHT*0019*00*0001*20240102*1200*CH~
NM1*41*2*CLEARING CO*****46*TGJ23~
NM1*40*2*ACME HEALTH*****46*ACME01~
HL*1**20*1~
NM1*85*2*RIVERSIDE CLINIC*****XX*1234567893~
N3*1 MAIN ST~
N4*SPRINGFIELD*IL*62701~
REF*EI*123456789~
"""

SUBSCRIBER_SELF = """
HL*2*1*22*0~
SBR*P*18*GRP1******CI~
NM1*IL*1*DOE*JOHN****MI*MEM001~
DMG*D8*19800101*M~
NM1*PR*2*ACME HEALTH*****PI*ACME01~
"""


def interchange(*bodies: str, version: str = "005010X222A1") -> str:
    """Wrap transaction bodies (segments between ST and SE) in ISA/GS/ST…SE/GE/IEA, one per line."""
    parts = [ISA, f"GS*HC*SENDER*RECEIVER*20240102*1200*1*X*{version}~"]
    for number, body in enumerate(bodies, start=1):
        segments = [line.strip() for line in body.strip().splitlines() if line.strip()]
        parts.append(f"ST*837*{number:04d}*{version}~")
        parts.extend(segments)
        parts.append(f"SE*{len(segments) + 2}*{number:04d}~")
    parts.append(f"GE*{len(bodies)}*1~")
    parts.append("IEA*1*000000907~")
    return "\n".join(parts) + "\n"


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample file {path} is not present (see shared/x12-samples/SOURCES.md)")
    return path.read_bytes()


def codes(result: Claim837File | Claim837) -> list[str]:
    return [diagnostic.code for diagnostic in result.diagnostics]


def errors(result: Claim837File) -> list[str]:
    return [d.code for d in result.diagnostics if d.severity == "error"]


# -- public samples ------------------------------------------------------------------------------


def test_professional_sample_reads_the_dependent_patient_and_four_lines():
    result = read_837(sample("demo.example1.837"))

    assert result.is_837
    assert result.kind == "professional"
    assert result.version == "005010X222A2"
    assert (result.sender_id, result.receiver_id, result.interchange_control) == (
        "000000005",
        "12345",
        "000000907",
    )
    assert result.diagnostics == []
    assert len(result.claims) == 1

    claim = result.claims[0]
    assert claim.kind == "professional"
    assert claim.patient_control_number == "26463774"
    assert claim.total_charge == Decimal("100.00")
    assert claim.total_charge == sum(line.charge for line in claim.lines)
    assert (claim.place_of_service, claim.facility_qualifier, claim.frequency) == ("11", "B", "1")
    assert claim.facility_type == ""
    assert claim.billing_provider.last_name == "BEN KILDARE SERVICE"
    assert claim.billing_provider.id_code == "1912301953"
    assert claim.billing_tax_id == "587654321"

    assert claim.subscriber.last_name == "SMITH"
    assert claim.subscriber.first_name == "JANE"
    assert claim.subscriber.id_code == claim.member_id == "JS00111223333"
    assert (claim.payer_responsibility, claim.group_number, claim.claim_filing_indicator) == (
        "P",
        "2222-SJ",
        "CI",
    )
    assert (claim.payer_name, claim.payer_id) == ("KEY INSURANCE COMPANY", "999996666")

    assert not claim.patient_is_subscriber
    assert claim.patient_relationship == "19"
    assert (claim.patient.first_name, claim.patient.last_name) == ("TED", "SMITH")
    assert claim.patient.date_of_birth == date(1973, 5, 1)
    assert claim.patient.sex == "M"
    assert claim.patient.address_line1 == "236 N MAIN ST"
    assert claim.subscriber.first_name != claim.patient.first_name
    assert claim.subscriber.date_of_birth is None

    assert claim.diagnoses == ["0340", "V7389"]
    assert claim.diagnosis_qualifiers == ["BK", "BF"]
    assert claim.clearinghouse_trace == "17312345600006351"

    assert [line.line_number for line in claim.lines] == [1, 2, 3, 4]
    assert [line.code for line in claim.lines] == ["99213", "87070", "99214", "86663"]
    assert [line.charge for line in claim.lines] == [Decimal(v) for v in ("40.00", "15.00", "35.00", "10.00")]
    assert all(line.code_qualifier == "HC" and line.unit_basis == "UN" for line in claim.lines)
    assert all(line.units == Decimal("1.00") for line in claim.lines)
    assert [line.diagnosis_pointers for line in claim.lines] == [[1], [1], [2], [2]]
    assert [line.service_date_from for line in claim.lines] == [
        date(2006, 10, 3),
        date(2006, 10, 3),
        date(2006, 10, 10),
        date(2006, 10, 10),
    ]
    assert all(line.service_date_to == line.service_date_from for line in claim.lines)
    assert claim.segment_index is not None and claim.end_index is not None
    assert claim.segment_index < claim.lines[0].segment_index < claim.end_index


def test_institutional_sample_reads_revenue_codes_type_of_bill_and_other_subscriber():
    result = read_837(sample("institutional-claim.837i"))

    assert result.kind == "institutional"
    assert result.diagnostics == []
    assert len(result.claims) == 1

    claim = result.claims[0]
    assert claim.kind == "institutional"
    assert claim.total_charge == Decimal("89.93")
    assert claim.total_charge == sum(line.charge for line in claim.lines)
    assert (claim.facility_type, claim.facility_qualifier, claim.frequency) == ("14", "A", "1")
    assert claim.type_of_bill == "141"
    assert claim.place_of_service == ""
    assert claim.statement_from == claim.statement_to == date(1996, 9, 11)
    assert (claim.admission_type, claim.patient_status) == ("3", "01")

    assert claim.patient_is_subscriber
    assert claim.patient_relationship == claim.subscriber_relationship == "18"
    assert claim.patient == claim.subscriber
    assert claim.member_id == "030005074A"
    assert claim.subscriber.date_of_birth == date(1926, 11, 11)
    assert (claim.payer_name, claim.payer_id, claim.claim_filing_indicator) == ("MEDICARE B", "00435", "MB")

    # Occurrence (BH), value (BE) and condition (BG) codes are not diagnoses.
    assert claim.diagnoses == ["3669", "4019", "79431"]
    assert claim.diagnosis_qualifiers == ["BK", "BF", "BF"]

    assert [line.revenue_code for line in claim.lines] == ["0305", "0730"]
    assert [line.code for line in claim.lines] == ["85025", "93005"]
    assert [line.charge for line in claim.lines] == [Decimal("13.39"), Decimal("76.54")]
    assert [line.units for line in claim.lines] == [Decimal("1.00"), Decimal("3.00")]
    assert all(line.service_date_from == date(1996, 9, 11) for line in claim.lines)

    assert len(claim.other_subscribers) == 1
    other = claim.other_subscribers[0]
    assert (other.responsibility, other.relationship, other.group_number) == ("S", "01", "351630")
    assert (other.payer_name, other.payer_id) == ("STATE TEACHERS", "1135")
    assert (other.subscriber.last_name, other.subscriber.first_name) == ("DOE", "JANE")
    assert other.subscriber.id_code == "222004433"
    # The other subscriber's NM1*IL must not replace the claim's own subscriber.
    assert claim.subscriber.first_name == "JON"


def test_an_835_sample_is_reported_as_not_an_837():
    result = read_837(sample("managed-care.835"))

    assert not result.is_837
    assert result.claims == []
    assert "not_837" in errors(result)


# -- hand-built files ----------------------------------------------------------------------------


def test_several_transactions_subscribers_and_patients_in_one_file():
    first = (
        PROVIDER
        + """
HL*2*1*22*1~
SBR*P*18*GRP1******CI~
NM1*IL*1*DOE*JOHN****MI*MEM001~
DMG*D8*19800101*M~
NM1*PR*2*ACME HEALTH*****PI*ACME01~
CLM*A1*30.00***11:B:1*Y*A*Y*Y~
HI*ABK:E119~
LX*1~
SV1*HC:99213*20.00*UN*1***1~
DTP*472*D8*20240105~
LX*2~
SV1*HC:36415*10.00*UN*1***1~
DTP*472*D8*20240105~
HL*3*2*23*0~
PAT*19~
NM1*QC*1*DOE*AMY~
DMG*D8*20150601*F~
CLM*A2*25.00***11:B:1*Y*A*Y*Y~
HI*ABK:J069~
LX*1~
SV1*HC:99212*25.00*UN*1***1~
DTP*472*D8*20240106~
CLM*A3*40.00***11:B:1*Y*A*Y*Y~
HI*ABK:J029~
LX*1~
SV1*HC:87880*40.00*UN*1***1~
DTP*472*D8*20240107~
HL*4*1*22*0~
SBR*S*18*GRP9******BL~
NM1*IL*1*ROE*RITA****MI*MEM777~
NM1*PR*2*BLUE PLAN*****PI*BLUE1~
CLM*B1*15.00***11:B:1*Y*A*Y*Y~
HI*ABK:Z0000~
LX*1~
SV1*HC:99211*15.00*UN*1***1~
DTP*472*D8*20240108~
"""
    )
    second = """
BHT*0019*00*0002*20240102*1200*CH~
HL*1**20*1~
NM1*85*2*LAKESIDE LAB*****XX*1999999984~
REF*EI*987654321~
HL*2*1*22*0~
SBR*P*18*******MB~
NM1*IL*1*POE*PAT****MI*MEM555~
NM1*PR*2*MEDICARE*****PI*00435~
CLM*C1*12.50***81:B:1*Y*A*Y*Y~
HI*ABK:R739~
LX*1~
SV1*HC:82947*12.50*UN*1***1~
DTP*472*D8*20240109~
"""
    result = read_837(interchange(first, second))

    assert result.diagnostics == []
    assert result.transaction_count == 2
    assert [claim.patient_control_number for claim in result.claims] == ["A1", "A2", "A3", "B1", "C1"]
    a1, a2, a3, b1, c1 = result.claims

    assert a1.patient_is_subscriber and a1.patient.first_name == "JOHN"
    assert len(a1.lines) == 2
    for dependent_claim in (a2, a3):
        assert not dependent_claim.patient_is_subscriber
        assert dependent_claim.patient_relationship == "19"
        assert dependent_claim.patient.first_name == "AMY"
        assert dependent_claim.patient.date_of_birth == date(2015, 6, 1)
        assert dependent_claim.subscriber.first_name == "JOHN"
        assert dependent_claim.member_id == "MEM001"
        assert dependent_claim.payer_id == "ACME01"
    assert a3.lines[0].service_date_from == date(2024, 1, 7)

    assert b1.subscriber.last_name == "ROE"
    assert (b1.payer_responsibility, b1.payer_name, b1.payer_id) == ("S", "BLUE PLAN", "BLUE1")
    assert b1.billing_provider.last_name == "RIVERSIDE CLINIC"

    assert c1.billing_provider.last_name == "LAKESIDE LAB"
    assert c1.billing_tax_id == "987654321"
    assert c1.place_of_service == "81"
    assert c1.total_charge == Decimal("12.50")

    ends = [(claim.segment_index, claim.end_index) for claim in result.claims]
    assert all(start < end for start, end in ends)
    assert all(ends[i][1] < ends[i + 1][0] for i in range(len(ends) - 1))


def test_claims_do_not_share_mutable_parties():
    body = (
        PROVIDER
        + SUBSCRIBER_SELF
        + """
CLM*X1*10.00***11:B:1*Y*A*Y*Y~
LX*1~
SV1*HC:99211*10.00*UN*1***1~
CLM*X2*10.00***11:B:1*Y*A*Y*Y~
LX*1~
SV1*HC:99211*10.00*UN*1***1~
"""
    )
    first, second = read_837(interchange(body)).claims
    first.subscriber.last_name = "CHANGED"
    assert second.subscriber.last_name == "DOE"
    assert first.patient is not first.subscriber


@pytest.mark.parametrize(("frequency", "meaning"), [("7", "replacement"), ("8", "void")])
def test_replacement_and_void_claims_carry_the_original_payer_claim_number(frequency, meaning):
    body = (
        PROVIDER
        + SUBSCRIBER_SELF
        + f"""
CLM*PCN-{meaning}*50.00***11:B:{frequency}*Y*A*Y*Y~
REF*F8*ICN20240001~
REF*G1*AUTH-42~
REF*EA*MRN-9~
HI*ABF:I10*ABK:E11.9~
NM1*82*1*KILDARE*BEN****XX*1912301953~
REF*G2*PROVIDER-REF~
SBR*S*18*GRP2******CI~
AMT*D*20.00~
NM1*IL*1*DOE*JOHN****MI*OTHER-MEM~
NM1*PR*2*SECOND PAYER*****PI*SP1~
REF*F8*OTHER-PAYER-ICN~
REF*G1*OTHER-AUTH~
LX*1~
SV1*HC:99214:25*50.00*UN*1*11**1:2~
DTP*472*D8*20240105~
"""
    )
    result = read_837(interchange(body))
    assert result.diagnostics == []
    claim = result.claims[0]

    assert claim.frequency == frequency
    assert claim.payer_claim_number == "ICN20240001"
    assert claim.prior_authorization == "AUTH-42"
    assert claim.medical_record_number == "MRN-9"
    # The principal diagnosis comes first even when the file lists it second; dots are removed.
    assert claim.diagnoses == ["E119", "I10"]
    assert claim.diagnosis_qualifiers == ["ABK", "ABF"]

    other = claim.other_subscribers[0]
    assert (other.payer_name, other.payer_id, other.paid_amount) == ("SECOND PAYER", "SP1", Decimal("20.00"))
    assert other.subscriber.id_code == "OTHER-MEM"
    assert claim.member_id == "MEM001"

    line = claim.lines[0]
    assert (line.code, line.modifiers, line.place_of_service) == ("99214", ["25"], "11")
    assert line.diagnosis_pointers == [1, 2]


def test_drug_line_reads_ndc_quantity_and_line_control_number():
    body = (
        PROVIDER
        + SUBSCRIBER_SELF
        + """
CLM*DRUG1*130.00***11:B:1*Y*A*Y*Y~
HI*ABK:M1990~
LX*1~
SV1*HC:J1885:JW*30.00*UN*4***1~
DTP*472*RD8*20240101-20240103~
REF*6R*LINE-CTRL-1~
LIN**N4*00409378501~
CTP****2.5*ML~
REF*XZ*RX-123~
LX*2~
SV1*HC:96372*100.00*UN*1***1~
DTP*472*D8*20240101~
REF*6R*LINE-CTRL-2~
"""
    )
    result = read_837(interchange(body))
    assert result.diagnostics == []
    drug, injection = result.claims[0].lines

    assert (drug.code, drug.modifiers, drug.units) == ("J1885", ["JW"], Decimal("4"))
    assert drug.ndc == "00409378501"
    assert (drug.drug_quantity, drug.drug_unit) == (Decimal("2.5"), "ML")
    assert drug.line_control_number == "LINE-CTRL-1"
    assert (drug.service_date_from, drug.service_date_to) == (date(2024, 1, 1), date(2024, 1, 3))

    assert injection.ndc == "" and injection.drug_quantity is None
    assert injection.line_control_number == "LINE-CTRL-2"


def test_kind_comes_from_the_lines_when_the_version_is_silent():
    body = (
        PROVIDER
        + SUBSCRIBER_SELF
        + """
CLM*INST1*10.00***13:A:1*Y*A*Y*Y~
DTP*434*RD8*20240101-20240104~
DTP*435*DT*202401010830~
LX*1~
SV2*0450**10.00*UN*1~
"""
    )
    result = read_837(interchange(body, version=""))
    claim = result.claims[0]

    assert result.kind == claim.kind == "institutional"
    assert (claim.facility_type, claim.type_of_bill, claim.place_of_service) == ("13", "131", "")
    assert (claim.statement_from, claim.statement_to) == (date(2024, 1, 1), date(2024, 1, 4))
    assert claim.admission_date == date(2024, 1, 1)
    assert (claim.lines[0].revenue_code, claim.lines[0].code) == ("0450", "")


# -- problems are diagnostics, never exceptions ---------------------------------------------------


def test_an_835_string_is_not_an_837():
    text = (
        ISA
        + "GS*HP*PAYER*PROVIDER*20240102*1200*1*X*005010X221A1~"
        + "ST*835*0001~BPR*I*10.00*C*ACH~TRN*1*1*1~CLP*PCN*1*10.00*10.00~SE*5*0001~"
        + "GE*1*1~IEA*1*000000907~"
    )
    result = read_837(text)

    assert not result.is_837
    assert result.claims == []
    not_837 = [d for d in result.diagnostics if d.code == "not_837"]
    assert len(not_837) == 1 and "835" in not_837[0].message


@pytest.mark.parametrize("data", [b"", b"\x00\xff\xfe garbage", "hello world", "CLM*1*2~LX*1~"])
def test_garbage_is_not_an_837(data):
    result = read_837(data)
    assert not result.is_837
    assert result.claims == []
    assert "not_837" in codes(result)


def test_truncated_file_keeps_what_was_read():
    data = sample("demo.example1.837")
    cut = data.index(b"LX*3~")
    result = read_837(data[:cut])

    claim = result.claims[0]
    assert len(claim.lines) == 2
    assert "truncated_claim" in codes(result)
    assert "truncated_claim" in codes(claim)
    mismatch = next(d for d in claim.diagnostics if d.code == "claim_total_mismatch")
    assert "100.00" in mismatch.message and "55.00" in mismatch.message


def test_truncated_claim_segment_names_the_missing_element():
    data = sample("demo.example1.837")
    cut = data.index(b"CLM*26463774") + len(b"CLM*26463774")
    result = read_837(data[:cut])

    claim = result.claims[0]
    assert claim.total_charge is None
    missing = [d for d in claim.diagnostics if d.code == "missing_element"]
    assert any("CLM02" in d.message and d.segment_index == claim.segment_index for d in missing)
    assert {"truncated_claim", "claim_without_lines"} <= set(codes(claim))


@pytest.mark.parametrize("name", ["demo.example1.837", "institutional-claim.837i"])
def test_every_prefix_of_a_sample_is_read_without_exception(name):
    data = sample(name)
    for end in range(len(data) + 1):
        result = read_837(data[:end])
        assert isinstance(result, Claim837File)


def test_bad_amounts_name_the_segment_and_element():
    body = (
        PROVIDER
        + SUBSCRIBER_SELF
        + """
CLM*BAD1*1OO.00***11:B:1*Y*A*Y*Y~
LX*1~
SV1*HC:99213*4O.00*UN*1***1~
DTP*472*D8*20241399~
"""
    )
    result = read_837(interchange(body))
    claim = result.claims[0]
    by_code = {}
    for diagnostic in claim.diagnostics:
        by_code.setdefault(diagnostic.code, []).append(diagnostic)

    clm02, sv102 = by_code["bad_amount"]
    assert "CLM02" in clm02.message and "1OO.00" in clm02.message
    assert clm02.segment_index == claim.segment_index
    assert "SV102" in sv102.message
    assert sv102.segment_index == claim.lines[0].segment_index + 1
    assert claim.total_charge is None and claim.lines[0].charge is None

    (bad_date,) = by_code["bad_date"]
    assert "DTP03" in bad_date.message and "20241399" in bad_date.message
    assert claim.lines[0].service_date_from is None
    assert "claim_total_mismatch" not in by_code
    assert result.diagnostics == claim.diagnostics


def test_total_mismatch_is_a_warning_with_both_numbers():
    body = (
        PROVIDER
        + SUBSCRIBER_SELF
        + """
CLM*MIS1*120.00***11:B:1*Y*A*Y*Y~
LX*1~
SV1*HC:99213*40.00*UN*1***1~
LX*2~
SV1*HC:99214*70.00*UN*1***1~
"""
    )
    (diagnostic,) = read_837(interchange(body)).claims[0].diagnostics
    assert (diagnostic.code, diagnostic.severity) == ("claim_total_mismatch", "warning")
    assert "120.00" in diagnostic.message and "110.00" in diagnostic.message


def test_claim_without_lines_and_line_without_service_are_reported():
    body = (
        PROVIDER
        + SUBSCRIBER_SELF
        + """
CLM*EMPTY*10.00***11:B:1*Y*A*Y*Y~
HI*ABK:R51~
CLM*NOSV*10.00***11:B:1*Y*A*Y*Y~
LX*1~
DTP*472*D8*20240101~
"""
    )
    empty, no_service = read_837(interchange(body)).claims
    assert codes(empty) == ["claim_without_lines"]
    assert "missing_segment" in codes(no_service)


def test_claim_outside_a_subscriber_level_is_reported():
    body = (
        PROVIDER
        + """
CLM*ORPHAN*10.00***11:B:1*Y*A*Y*Y~
LX*1~
SV1*HC:99213*10.00*UN*1***1~
"""
    )
    result = read_837(interchange(body))
    assert result.claims[0].patient_control_number == "ORPHAN"
    assert "bad_hierarchy" in codes(result.claims[0])
