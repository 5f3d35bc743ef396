"""Reader for X12 837 claims: professional (005010X222) and institutional (005010X223).

``read_837`` turns the bytes of an 837 file into plain dataclasses (``Claim837File`` →
``Claim837`` → ``ServiceLine837``). It never raises: anything wrong with the input becomes a
``Diagnostic`` (the tokenizer's class), on the file and, when it concerns a claim, on that claim
too. Money and quantities are ``Decimal``, dates ``datetime.date``; a value that cannot be read is
``None`` with a diagnostic naming the segment and element (``CLM02``, ``SV101-2``).

The hierarchy is followed through HL parent ids: HL 20 billing provider, HL 22 subscriber and
HL 23 patient (a dependent). A claim under HL 22 is the subscriber's own; a claim under HL 23 is
the dependent's, with the subscriber taken from the parent HL.

Diagnostic codes: ``not_837``, ``truncated_claim``, ``missing_element``, ``missing_segment``,
``bad_amount``, ``bad_number``, ``bad_date``, ``bad_hierarchy``, ``claim_total_mismatch``,
``claim_without_lines``; tokenizer diagnostics are passed through unchanged. Messages name the
segment index and element (and the offending value for amounts and dates), never a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from claims.x12.tokenizer import Diagnostic, Segment, tokenize

PROFESSIONAL = "professional"
INSTITUTIONAL = "institutional"

ERROR = "error"
WARNING = "warning"

# HI qualifiers that carry diagnoses (ICD-10 first, then the ICD-9 ones of older files). Other HI
# qualifiers (BH occurrence, BE value, BG condition, BBR/BBQ procedures, DR DRG…) are not diagnoses.
PRINCIPAL_QUALIFIERS = frozenset({"ABK", "BK"})
DIAGNOSIS_QUALIFIERS = frozenset({"ABK", "ABF", "ABJ", "ABN", "APR", "BK", "BF", "BJ", "BN", "PR"})

_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_D8 = re.compile(r"\d{8}")


@dataclass
class Party837:
    """A person or organisation named by an NM1 segment with its N3/N4 address and DMG demographics."""

    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    suffix: str = ""
    id_qualifier: str = ""
    id_code: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    date_of_birth: date | None = None
    sex: str = ""


@dataclass
class OtherSubscriber837:
    """Another payer on the claim (2320 other subscriber information with its 2330A/2330B names)."""

    responsibility: str = ""  # SBR01: P, S, T…
    relationship: str = ""  # SBR02
    group_number: str = ""  # SBR03
    group_name: str = ""  # SBR04
    claim_filing_indicator: str = ""  # SBR09
    subscriber: Party837 = field(default_factory=Party837)
    payer_name: str = ""
    payer_id: str = ""
    paid_amount: Decimal | None = None  # AMT*D
    segment_index: int | None = None


@dataclass
class ServiceLine837:
    """One 2400 service line: SV1 (professional) or SV2 (institutional) with its dates and drug data."""

    line_number: int | None = None
    code_qualifier: str = ""
    code: str = ""
    modifiers: list[str] = field(default_factory=list)
    revenue_code: str = ""
    charge: Decimal | None = None
    unit_basis: str = ""
    units: Decimal | None = None
    place_of_service: str = ""
    diagnosis_pointers: list[int] = field(default_factory=list)
    service_date_from: date | None = None
    service_date_to: date | None = None
    line_control_number: str = ""
    ndc: str = ""
    drug_quantity: Decimal | None = None
    drug_unit: str = ""
    segment_index: int | None = None


@dataclass
class Claim837:
    """One 2300 claim with the provider, subscriber and patient it was filed under."""

    kind: str = ""
    billing_provider: Party837 = field(default_factory=Party837)
    billing_tax_id: str = ""
    subscriber: Party837 = field(default_factory=Party837)
    subscriber_relationship: str = ""
    payer_responsibility: str = ""
    group_number: str = ""
    claim_filing_indicator: str = ""
    payer_name: str = ""
    payer_id: str = ""
    patient: Party837 = field(default_factory=Party837)
    patient_relationship: str = ""
    patient_is_subscriber: bool = True
    patient_control_number: str = ""
    total_charge: Decimal | None = None
    place_of_service: str = ""
    facility_type: str = ""
    facility_qualifier: str = ""
    frequency: str = ""
    statement_from: date | None = None
    statement_to: date | None = None
    admission_date: date | None = None
    admission_type: str = ""  # CL1-01
    admission_source: str = ""  # CL1-02
    patient_status: str = ""  # CL1-03
    payer_claim_number: str = ""
    prior_authorization: str = ""
    medical_record_number: str = ""
    clearinghouse_trace: str = ""  # REF*D9
    diagnoses: list[str] = field(default_factory=list)
    diagnosis_qualifiers: list[str] = field(default_factory=list)
    other_subscribers: list[OtherSubscriber837] = field(default_factory=list)
    lines: list[ServiceLine837] = field(default_factory=list)
    segment_index: int | None = None
    end_index: int | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def member_id(self) -> str:
        return self.subscriber.id_code

    @property
    def type_of_bill(self) -> str:
        """Facility type code plus frequency (``"141"``) for institutional claims, else ``""``."""
        if self.kind != INSTITUTIONAL or not self.facility_type:
            return ""
        return self.facility_type + self.frequency


@dataclass
class Claim837File:
    """Everything read from one 837 file: envelope identifiers, claims and diagnostics."""

    kind: str = ""
    version: str = ""
    sender_id: str = ""
    receiver_id: str = ""
    interchange_control: str = ""
    claims: list[Claim837] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    transaction_count: int = 0  # ST*837 transaction sets seen

    @property
    def is_837(self) -> bool:
        return self.transaction_count > 0


def read_837(data: bytes | str) -> Claim837File:
    """Read an 837P/837I file. Never raises; problems are reported in ``diagnostics``."""
    return _Reader(data).run()


def _kind_of_version(version: str) -> str:
    if "X222" in version:
        return PROFESSIONAL
    if "X223" in version:
        return INSTITUTIONAL
    return ""


@dataclass
class _Level:
    """State of one HL: the party it introduces and, for HL 22/23, the SBR/PAT data."""

    hl_id: str
    parent_id: str
    level: str
    party: Party837 = field(default_factory=Party837)
    tax_id: str = ""
    relationship: str = ""
    responsibility: str = ""
    group_number: str = ""
    filing_indicator: str = ""
    payer_name: str = ""
    payer_id: str = ""


class _Reader:
    # Where the segment being read belongs; REF, DTP, NM1 and AMT mean different things in each.
    CLAIM = "claim"  # 2300 proper
    CLAIM_PROVIDER = "claim_provider"  # 2310x NM1 loops
    OTHER = "other"  # 2320 other subscriber
    OTHER_NAME = "other_name"  # 2330x NM1 loops
    LINE = "line"  # 2400 proper
    LINE_DRUG = "line_drug"  # 2410 LIN/CTP/REF
    LINE_OTHER = "line_other"  # 2420 NM1 loops, 2430 SVD adjudication, 2440 LQ forms

    def __init__(self, data: bytes | str) -> None:
        self.tokens = tokenize(data)
        self.component = self.tokens.separators.component or ":"
        self.out = Claim837File(diagnostics=list(self.tokens.diagnostics))
        self.gs_version = ""
        self.not_837_reported = False
        self.last_index: int | None = None
        self._reset_transaction()

    def _reset_transaction(self) -> None:
        self.in_st = False
        self.skipping = False
        self.tx_kind = ""
        self.levels: dict[str, _Level] = {}
        self.last_of_level: dict[str, _Level] = {}
        self.level: _Level | None = None
        self.party: Party837 | None = None
        self.nm1_entity = ""
        self.claim: Claim837 | None = None
        self.state = ""
        self.line: ServiceLine837 | None = None
        self.line_has_service = False
        self.other: OtherSubscriber837 | None = None

    # -- diagnostics -------------------------------------------------------------------------------

    def _diag(self, code: str, severity: str, index: int | None, message: str) -> None:
        diagnostic = Diagnostic(code=code, severity=severity, segment_index=index, message=message)
        self.out.diagnostics.append(diagnostic)
        if self.claim is not None:
            self.claim.diagnostics.append(diagnostic)

    def _required(self, seg: Segment, n: int, k: int = 0) -> str:
        value = seg.component(n, k) if k else seg.get(n)
        if not value:
            self._diag(
                "missing_element",
                ERROR,
                seg.index,
                f"{_position(seg.tag, n, k)} is missing (segment {seg.index}: {seg.tag})",
            )
        return value

    def _number(self, seg: Segment, n: int, *, money: bool, required: bool = False) -> Decimal | None:
        raw = self._required(seg, n) if required else seg.get(n)
        if not raw:
            return None
        value = raw.strip()
        if _NUMBER.fullmatch(value):
            return Decimal(value)
        what = "an amount" if money else "a number"
        self._diag(
            "bad_amount" if money else "bad_number",
            ERROR,
            seg.index,
            f"{_position(seg.tag, n)} {raw!r} is not {what} (segment {seg.index}: {seg.tag})",
        )
        return None

    def _dates(self, seg: Segment, qualifier_pos: int, n: int) -> tuple[date | None, date | None]:
        """Read a D8, RD8 or DT date (element ``n``, format qualifier at ``qualifier_pos``)."""
        qualifier = seg.get(qualifier_pos)
        raw = seg.get(n).strip()
        if not raw:
            self._required(seg, n)
            return None, None
        if qualifier == "RD8" or (not qualifier and "-" in raw):
            first, _, last = raw.partition("-")
            start, end = _parse_d8(first), _parse_d8(last)
            if start is None or end is None or end < start:
                self._bad_date(seg, n, raw, "CCYYMMDD-CCYYMMDD")
                return None, None
            return start, end
        if qualifier == "DT":
            value = _parse_d8(raw[:8]) if len(raw) == 12 and raw.isdigit() else None
            if value is None:
                self._bad_date(seg, n, raw, "CCYYMMDDHHMM")
            return value, value
        value = _parse_d8(raw)
        if value is None:
            self._bad_date(seg, n, raw, "CCYYMMDD")
        return value, value

    def _bad_date(self, seg: Segment, n: int, raw: str, expected: str) -> None:
        self._diag(
            "bad_date",
            ERROR,
            seg.index,
            f"{_position(seg.tag, n)} {raw!r} is not a valid {expected} date "
            f"(segment {seg.index}: {seg.tag})",
        )

    # -- main loop ---------------------------------------------------------------------------------

    def run(self) -> Claim837File:
        out = self.out
        handlers = {
            "HL": self._hl,
            "SBR": self._sbr,
            "PAT": self._pat,
            "NM1": self._nm1,
            "N3": self._n3,
            "N4": self._n4,
            "DMG": self._dmg,
            "REF": self._ref,
            "CLM": self._clm,
            "DTP": self._dtp,
            "HI": self._hi,
            "CL1": self._cl1,
            "AMT": self._amt,
            "LX": self._lx,
            "SV1": self._sv1,
            "SV2": self._sv2,
            "LIN": self._lin,
            "CTP": self._ctp,
            "SVD": self._line_other,
            "LQ": self._line_other,
        }
        for seg in self.tokens.segments:
            tag = seg.tag
            if tag == "ISA":
                out.sender_id = out.sender_id or seg.get(6).strip()
                out.receiver_id = out.receiver_id or seg.get(8).strip()
                out.interchange_control = out.interchange_control or seg.get(13).strip()
            elif tag == "GS":
                self.gs_version = seg.get(8).strip()
                out.sender_id = out.sender_id or seg.get(2).strip()
                out.receiver_id = out.receiver_id or seg.get(3).strip()
            elif tag == "ST":
                self._st(seg)
            elif tag == "SE":
                self._close_claim()
                self._reset_transaction()
            elif self.in_st and not self.skipping:
                handler = handlers.get(tag)
                if handler is not None:
                    handler(seg)
            self.last_index = seg.index

        last_index = self.last_index
        if self.claim is not None:
            self._diag(
                "truncated_claim",
                ERROR,
                last_index,
                f"the claim at segment {self.claim.segment_index} "
                f"is not closed: the data ends at segment {last_index} without SE",
            )
            self._close_claim()
        if not out.is_837 and not self.not_837_reported:
            out.diagnostics.append(
                Diagnostic(
                    code="not_837",
                    severity=ERROR,
                    segment_index=None,
                    message="no ST*837 transaction set found: this is not an 837 claim file",
                )
            )
        if not out.kind:
            out.kind = next((claim.kind for claim in out.claims if claim.kind), "")
        return out

    def _st(self, seg: Segment) -> None:
        self._close_claim()
        self._reset_transaction()
        self.in_st = True
        transaction = seg.get(1).strip()
        if transaction != "837":
            self.skipping = True
            self.not_837_reported = True
            self._diag(
                "not_837",
                ERROR,
                seg.index,
                f"ST01 is {transaction!r}, not '837' (segment {seg.index}): transaction set skipped",
            )
            return
        self.out.transaction_count += 1
        version = seg.get(3).strip() or self.gs_version
        self.tx_kind = _kind_of_version(version) or _kind_of_version(self.gs_version)
        if not self.out.version:
            self.out.version = version
        if not self.out.kind:
            self.out.kind = self.tx_kind

    # -- hierarchy: provider, subscriber, patient --------------------------------------------------

    def _hl(self, seg: Segment) -> None:
        self._close_claim()
        hl_id = self._required(seg, 1)
        parent_id = seg.get(2)
        level = self._required(seg, 3)
        expected_parent = {"22": "20", "23": "22"}.get(level)
        parent = self.levels.get(parent_id) if parent_id else None
        if expected_parent and (parent is None or parent.level != expected_parent):
            fallback = self.last_of_level.get(expected_parent)
            self._diag(
                "bad_hierarchy",
                WARNING,
                seg.index,
                f"HL {hl_id!r} (level {level}) has parent {parent_id!r}, which is not an HL {expected_parent}"
                + (f"; using HL {fallback.hl_id!r}" if fallback else ""),
            )
            parent_id = fallback.hl_id if fallback else ""
        node = _Level(hl_id=hl_id, parent_id=parent_id, level=level)
        if hl_id:
            self.levels[hl_id] = node
        self.last_of_level[level] = node
        self.level = node
        self.party = None
        self.nm1_entity = ""

    def _sbr(self, seg: Segment) -> None:
        if self.claim is not None:
            self._other_subscriber(seg)
            return
        node = self.level
        if node is None or node.level != "22":
            self._diag(
                "bad_hierarchy", WARNING, seg.index, f"SBR outside a subscriber HL 22 (segment {seg.index})"
            )
            if node is None:
                return
        node.responsibility = self._required(seg, 1)
        node.relationship = seg.get(2)
        node.group_number = seg.get(3)
        node.filing_indicator = seg.get(9)

    def _pat(self, seg: Segment) -> None:
        if self.claim is not None or self.level is None:
            return
        self.level.relationship = self._required(seg, 1)

    def _nm1(self, seg: Segment) -> None:
        entity = seg.get(1)
        self.nm1_entity = entity
        if self.claim is not None:
            self._claim_nm1(seg, entity)
            return
        node = self.level
        self.party = None
        if node is None:
            return
        if entity in ("85", "IL", "QC"):
            _fill_name(node.party, seg)
            self.party = node.party
            if entity != "QC":  # the 2010CA patient has no id in 5010
                self._required(seg, 9)
        elif entity == "PR":
            node.payer_name = seg.get(3)
            node.payer_id = self._required(seg, 9)

    def _n3(self, seg: Segment) -> None:
        if self.party is not None:
            self.party.address_line1 = seg.get(1)
            self.party.address_line2 = seg.get(2)

    def _n4(self, seg: Segment) -> None:
        if self.party is not None:
            self.party.city = seg.get(1)
            self.party.state = seg.get(2)
            self.party.postal_code = seg.get(3)

    def _dmg(self, seg: Segment) -> None:
        if self.party is None:
            return
        if seg.get(2):
            self.party.date_of_birth = self._dates(seg, 1, 2)[0]
        self.party.sex = seg.get(3)

    def _ref(self, seg: Segment) -> None:
        qualifier = seg.get(1)
        claim = self.claim
        if claim is None:
            # 2010AA: EI (employer id) or SY (SSN) is the billing provider's tax id. REF*EI after
            # NM1*PR is a payer id and must not overwrite it.
            if qualifier in ("EI", "SY") and self.nm1_entity == "85" and self.level is not None:
                self.level.tax_id = seg.get(2)
            return
        if self.state == self.CLAIM:
            if qualifier == "F8":
                claim.payer_claim_number = seg.get(2)
            elif qualifier == "G1":
                claim.prior_authorization = seg.get(2)
            elif qualifier == "EA":
                claim.medical_record_number = seg.get(2)
            elif qualifier == "D9":
                claim.clearinghouse_trace = seg.get(2)
        elif self.line is not None and qualifier == "6R" and self.state in (self.LINE, self.LINE_DRUG):
            self.line.line_control_number = seg.get(2)

    # -- claim -------------------------------------------------------------------------------------

    def _clm(self, seg: Segment) -> None:
        self._close_claim()
        claim = Claim837(kind=self.tx_kind, segment_index=seg.index)
        self.claim = claim
        self.state = self.CLAIM
        self.party = None
        self._attach_hierarchy(claim, seg)

        claim.patient_control_number = self._required(seg, 1)
        claim.total_charge = self._number(seg, 2, money=True, required=True)
        if self._required(seg, 5, 1):
            claim.place_of_service = seg.component(5, 1)
        claim.facility_qualifier = seg.component(5, 2)
        claim.frequency = self._required(seg, 5, 3)

    def _attach_hierarchy(self, claim: Claim837, seg: Segment) -> None:
        by_level: dict[str, _Level] = {}
        node = self.level
        for _ in range(8):  # HL chains are three deep; the bound guards against cyclic parent ids
            if node is None:
                break
            by_level.setdefault(node.level, node)
            node = self.levels.get(node.parent_id) if node.parent_id else None
        provider, subscriber, patient = by_level.get("20"), by_level.get("22"), by_level.get("23")
        if subscriber is None:
            self._diag(
                "bad_hierarchy",
                ERROR,
                seg.index,
                f"CLM at segment {seg.index} is not under a subscriber HL 22 or patient HL 23",
            )
        if provider is not None:
            claim.billing_provider = replace(provider.party)
            claim.billing_tax_id = provider.tax_id
        if subscriber is not None:
            claim.subscriber = replace(subscriber.party)
            claim.subscriber_relationship = subscriber.relationship
            claim.payer_responsibility = subscriber.responsibility
            claim.group_number = subscriber.group_number
            claim.claim_filing_indicator = subscriber.filing_indicator
            claim.payer_name = subscriber.payer_name
            claim.payer_id = subscriber.payer_id
        if patient is not None:
            claim.patient = replace(patient.party)
            claim.patient_relationship = patient.relationship
            claim.patient_is_subscriber = False
        else:
            claim.patient = replace(claim.subscriber)
            claim.patient_relationship = "18"
            claim.patient_is_subscriber = True

    def _dtp(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None:
            return
        qualifier = seg.get(1)
        if self.state == self.CLAIM:
            if qualifier == "434":
                claim.statement_from, claim.statement_to = self._dates(seg, 2, 3)
            elif qualifier == "435":
                claim.admission_date = self._dates(seg, 2, 3)[0]
        elif self.line is not None and qualifier == "472" and self.state in (self.LINE, self.LINE_DRUG):
            self.line.service_date_from, self.line.service_date_to = self._dates(seg, 2, 3)

    def _hi(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None or self.state != self.CLAIM:
            return
        for n in range(1, len(seg.elements) + 1):
            qualifier = seg.component(n, 1)
            if qualifier not in DIAGNOSIS_QUALIFIERS:
                continue
            code = seg.component(n, 2).replace(".", "").strip().upper()
            if not code:
                self._required(seg, n, 2)
                continue
            if qualifier in PRINCIPAL_QUALIFIERS:
                # The principal diagnosis goes first, ahead of codes read earlier.
                position = sum(1 for q in claim.diagnosis_qualifiers if q in PRINCIPAL_QUALIFIERS)
                claim.diagnoses.insert(position, code)
                claim.diagnosis_qualifiers.insert(position, qualifier)
            else:
                claim.diagnoses.append(code)
                claim.diagnosis_qualifiers.append(qualifier)

    def _cl1(self, seg: Segment) -> None:
        if self.claim is not None and self.state == self.CLAIM:
            self.claim.admission_type = seg.get(1)
            self.claim.admission_source = seg.get(2)
            self.claim.patient_status = seg.get(3)

    def _claim_nm1(self, seg: Segment, entity: str) -> None:
        self.party = None
        if self.state in (self.CLAIM, self.CLAIM_PROVIDER):
            self.state = self.CLAIM_PROVIDER
        elif self.state in (self.OTHER, self.OTHER_NAME):
            self.state = self.OTHER_NAME
            other = self.other
            if other is None:
                return
            if entity == "IL":
                _fill_name(other.subscriber, seg)
                self.party = other.subscriber
            elif entity == "PR":
                other.payer_name = seg.get(3)
                other.payer_id = seg.get(9)
        else:
            self.state = self.LINE_OTHER

    def _other_subscriber(self, seg: Segment) -> None:
        if self.claim is None or self.state not in (
            self.CLAIM,
            self.CLAIM_PROVIDER,
            self.OTHER,
            self.OTHER_NAME,
        ):
            return
        other = OtherSubscriber837(
            responsibility=self._required(seg, 1),
            relationship=seg.get(2),
            group_number=seg.get(3),
            group_name=seg.get(4),
            claim_filing_indicator=seg.get(9),
            segment_index=seg.index,
        )
        self.claim.other_subscribers.append(other)
        self.other = other
        self.state = self.OTHER
        self.party = None

    def _amt(self, seg: Segment) -> None:
        if self.other is not None and self.state == self.OTHER and seg.get(1) == "D":
            self.other.paid_amount = self._number(seg, 2, money=True, required=True)

    def _close_claim(self) -> None:
        """Finish the open claim; it ends at the segment before the one being read."""
        claim = self.claim
        if claim is None:
            return
        self._check_line_has_service()
        claim.end_index = self.last_index
        # CLM05-1 was kept in place_of_service; the kind, known only now when the version is
        # silent, decides whether it is a facility type code.
        if claim.kind == INSTITUTIONAL:
            claim.facility_type, claim.place_of_service = claim.place_of_service, ""

        if not claim.lines:
            self._diag(
                "claim_without_lines",
                ERROR,
                claim.segment_index,
                f"the claim at segment {claim.segment_index} has no service lines (LX/SV1/SV2)",
            )
        elif claim.total_charge is not None and all(line.charge is not None for line in claim.lines):
            line_total = sum((line.charge for line in claim.lines if line.charge is not None), Decimal("0"))
            if line_total != claim.total_charge:
                self._diag(
                    "claim_total_mismatch",
                    WARNING,
                    claim.segment_index,
                    f"claim at segment {claim.segment_index}: CLM02 {claim.total_charge} "
                    f"≠ sum of line charges {line_total}",
                )
        self.out.claims.append(claim)
        self.claim = None
        self.line = None
        self.other = None
        self.state = ""
        self.party = None

    # -- service lines -----------------------------------------------------------------------------

    def _lx(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None:
            return
        self._check_line_has_service()
        number = self._number(seg, 1, money=False, required=True)
        line = ServiceLine837(segment_index=seg.index)
        if number is not None and number == number.to_integral_value():
            line.line_number = int(number)
        claim.lines.append(line)
        self.line = line
        self.line_has_service = False
        self.state = self.LINE
        self.party = None

    def _check_line_has_service(self) -> None:
        line = self.line
        if line is not None and not self.line_has_service:
            self._diag(
                "missing_segment",
                ERROR,
                line.segment_index,
                f"LX {line.line_number} (segment {line.segment_index}) has no SV1 or SV2",
            )

    def _service_line(self, seg: Segment) -> ServiceLine837 | None:
        claim = self.claim
        if claim is None:
            return None
        if self.line is None or self.line_has_service or self.state != self.LINE:
            self._diag(
                "missing_segment",
                WARNING,
                seg.index,
                f"{seg.tag} at segment {seg.index} does not follow an LX; read as a new line",
            )
            self.line = ServiceLine837(line_number=len(claim.lines) + 1, segment_index=seg.index)
            claim.lines.append(self.line)
            self.state = self.LINE
        self.line_has_service = True
        return self.line

    def _sv1(self, seg: Segment) -> None:
        line = self._service_line(seg)
        if line is None:
            return
        self._procedure(line, seg, 1)
        line.charge = self._number(seg, 2, money=True, required=True)
        line.unit_basis = seg.get(3)
        line.units = self._number(seg, 4, money=False)
        line.place_of_service = seg.get(5)
        pointers = seg.get(7)
        if pointers:
            for raw in pointers.split(self.component):
                if raw.isdigit():
                    line.diagnosis_pointers.append(int(raw))
                elif raw:
                    self._diag(
                        "bad_number",
                        ERROR,
                        seg.index,
                        f"SV107 diagnosis pointer {raw!r} is not a number (segment {seg.index}: SV1)",
                    )
        if not self.tx_kind and self.claim is not None and not self.claim.kind:
            self.claim.kind = PROFESSIONAL

    def _sv2(self, seg: Segment) -> None:
        line = self._service_line(seg)
        if line is None:
            return
        line.revenue_code = self._required(seg, 1)
        if seg.get(2):
            self._procedure(line, seg, 2)
        line.charge = self._number(seg, 3, money=True, required=True)
        line.unit_basis = seg.get(4)
        line.units = self._number(seg, 5, money=False)
        if not self.tx_kind and self.claim is not None and not self.claim.kind:
            self.claim.kind = INSTITUTIONAL

    def _procedure(self, line: ServiceLine837, seg: Segment, n: int) -> None:
        parts = seg.get(n).split(self.component)
        line.code_qualifier = parts[0]
        line.code = parts[1] if len(parts) > 1 else ""
        if not line.code:
            self._required(seg, n, 2)
        line.modifiers = [modifier for modifier in parts[2:6] if modifier]

    def _lin(self, seg: Segment) -> None:
        if self.line is None:
            return
        self.state = self.LINE_DRUG
        if seg.get(2) == "N4":
            self.line.ndc = self._required(seg, 3)

    def _ctp(self, seg: Segment) -> None:
        if self.line is None or self.state != self.LINE_DRUG:
            return
        self.line.drug_quantity = self._number(seg, 4, money=False, required=True)
        self.line.drug_unit = seg.component(5, 1)

    def _line_other(self, seg: Segment) -> None:
        if self.line is not None:
            self.state = self.LINE_OTHER


def _position(tag: str, n: int, k: int = 0) -> str:
    return f"{tag}{n:02d}" + (f"-{k}" if k else "")


def _parse_d8(raw: str) -> date | None:
    if not _D8.fullmatch(raw):
        return None
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    except ValueError:
        return None


def _fill_name(party: Party837, seg: Segment) -> None:
    party.last_name = seg.get(3)
    party.first_name = seg.get(4)
    party.middle_name = seg.get(5)
    party.suffix = seg.get(7)
    party.id_qualifier = seg.get(8)
    party.id_code = seg.get(9)
