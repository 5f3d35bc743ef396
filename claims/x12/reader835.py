"""Reader for X12 835 Health Care Claim Payment/Advice (005010X221A1, and 004010X091A1 files).

``read_835`` turns the bytes of an 835 file into a plain dataclass tree::

    Remittance835File → Transaction835 (one ST/SE = one payment)
        → ClaimPayment835 (CLP loop 2100) → ServiceLine835 (SVC loop 2110) → Adjustment835 (CAS)
        → ProviderAdjustment835 (one per PLB reason/amount pair)

Money and quantities are ``Decimal`` (never float), dates ``datetime.date``. Every node keeps the
index of its first segment (``segment_index``) into the file's segments; claims and transactions
also keep ``end_index``, the index of their last segment (inclusive). ``Remittance835File.segments``
holds those segments unless ``read_835`` was called with ``keep_segments=False``: then the segments
are built one at a time as the reader walks them (a fraction of the memory) and none is kept.

The reader never raises. Everything wrong with the input becomes a ``Diagnostic`` in
``Remittance835File.diagnostics`` (all of them, tokenizer's included), in the transaction's list
and, when it concerns a claim or one of its lines, in the claim's list. Messages name the segment
tag, element and segment index; they never carry patient names.

Balancing (tolerance 0.00; a mismatch is a diagnostic, never an exception):

1. line: ``SVC02 - ΣCAS(2110) = SVC03``                        → ``line_unbalanced``
2. claim: ``CLP03 - ΣCAS(2100) - ΣCAS(all its 2110) = CLP04``   → ``claim_unbalanced``
3. claim: ``CLP05 = Σ PR amounts`` (guidance only)              → ``patient_responsibility_mismatch``
4. transaction: ``BPR02 = ΣCLP04 - ΣPLB amounts``               → ``transaction_unbalanced``
   (with BPR03 ``D``, a debit to the provider, ``-BPR02`` is compared)

Rule 3 is a warning that does not affect ``balanced``. The module imports nothing from Django.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from claims.x12.tokenizer import (
    ERROR,
    INFO,
    TOKENIZER_DIAGNOSTIC_CODES,
    WARNING,
    Diagnostic,
    Segment,
    Separators,
    gc_paused,
    tokenize,
    tokenize_stream,
)

ZERO = Decimal("0")

# CLP02 values valid in a 5010 835.
CLAIM_STATUSES: dict[str, str] = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only, no payment",
}
FORWARDED_STATUSES = frozenset({"19", "20", "21"})
ADJUSTMENT_GROUPS = frozenset({"CO", "OA", "PI", "PR"})
LEGACY_ADJUSTMENT_GROUPS = frozenset({"CR"})

DIAGNOSTIC_CODES = TOKENIZER_DIAGNOSTIC_CODES | frozenset(
    {
        "not_835",
        "bad_amount",
        "bad_number",
        "bad_date",
        "missing_element",
        "truncated_claim",
        "truncated_transaction",
        "unknown_claim_status",
        "legacy_group_code",
        "unknown_group_code",
        "line_unbalanced",
        "claim_unbalanced",
        "patient_responsibility_mismatch",
        "transaction_unbalanced",
        "missing_bpr",
        "missing_trn",
        "duplicate_segment",
        "segment_out_of_place",
        "segment_outside_transaction",
    }
)

# X12 type R is at most 18 digits; with sign and decimal point a value is at most 20 characters.
_MAX_NUMBER_LENGTH = 20


@dataclass(slots=True)
class Adjustment835:
    """One CAS reason/amount/quantity triplet."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None
    segment_index: int = 0


@dataclass(slots=True)
class ProviderAdjustment835:
    """One PLB reason/amount pair. A positive ``amount`` reduces the payment, a negative one adds to it."""

    provider_id: str
    fiscal_period_date: date | None
    reason: str
    reference: str
    amount: Decimal
    segment_index: int = 0


@dataclass(slots=True)
class ServiceLine835:
    """Loop 2110: one adjudicated service line (SVC)."""

    qualifier: str = ""
    code: str = ""
    modifiers: list[str] = field(default_factory=list)
    charge: Decimal = ZERO
    paid: Decimal = ZERO
    revenue_code: str = ""
    units_paid: Decimal | None = None
    original_qualifier: str = ""
    original_code: str = ""
    original_modifiers: list[str] = field(default_factory=list)
    original_units: Decimal | None = None
    service_date_from: date | None = None
    service_date_to: date | None = None
    line_control_number: str = ""
    allowed_amount: Decimal | None = None
    adjustments: list[Adjustment835] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)
    balanced: bool = False
    # False when SVC01-SVC03 are missing or unreadable.
    complete: bool = True
    segment_index: int = 0

    @property
    def adjustment_total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), ZERO)


@dataclass(slots=True)
class ClaimPayment835:
    """Loop 2100: one claim payment (CLP) with its lines."""

    patient_control_number: str = ""
    status_code: str = ""
    charge: Decimal = ZERO
    paid: Decimal = ZERO
    patient_responsibility: Decimal = ZERO
    filing_indicator: str = ""
    payer_claim_number: str = ""
    facility_type: str = ""
    frequency: str = ""
    drg_code: str = ""
    drg_weight: Decimal | None = None
    discharge_fraction: Decimal | None = None
    patient_last_name: str = ""
    patient_first_name: str = ""
    patient_member_id: str = ""
    insured_member_id: str = ""
    corrected_member_id: str = ""
    crossover_carrier_name: str = ""
    crossover_carrier_id: str = ""
    corrected_priority_payer_name: str = ""
    corrected_priority_payer_id: str = ""
    rendering_provider_name: str = ""
    rendering_provider_id: str = ""
    original_reference: str = ""
    group_number: str = ""
    medical_record_number: str = ""
    statement_from: date | None = None
    statement_to: date | None = None
    received_date: date | None = None
    coverage_expiration: date | None = None
    allowed_amount: Decimal | None = None
    interest: Decimal | None = None
    adjustments: list[Adjustment835] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)
    lines: list[ServiceLine835] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    balanced: bool = False
    # False when CLP01-CLP04 are missing or unreadable, or the data ends inside the claim.
    complete: bool = True
    segment_index: int = 0
    end_index: int = 0

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"

    @property
    def is_denied(self) -> bool:
        return self.status_code == "4"

    @property
    def is_forwarded(self) -> bool:
        return (
            self.status_code in FORWARDED_STATUSES
            or bool(self.crossover_carrier_name)
            or bool(self.crossover_carrier_id)
        )

    @property
    def adjustment_total(self) -> Decimal:
        """ΣCAS of the claim (2100) and of all its lines (2110)."""
        total = sum((a.amount for a in self.adjustments), ZERO)
        for line in self.lines:
            total += line.adjustment_total
        return total

    @property
    def patient_responsibility_total(self) -> Decimal:
        """Σ amounts of group PR, claim and lines."""
        total = sum((a.amount for a in self.adjustments if a.group == "PR"), ZERO)
        for line in self.lines:
            total += sum((a.amount for a in line.adjustments if a.group == "PR"), ZERO)
        return total


@dataclass(slots=True)
class Transaction835:
    """One ST/SE transaction set: one payment (BPR/TRN) from one payer to one payee."""

    control_number: str = ""
    handling_code: str = ""
    total_paid: Decimal = ZERO
    credit_debit: str = ""
    method: str = ""
    payment_date: date | None = None
    trace_number: str = ""
    trace_payer_id: str = ""
    trace_supplemental: str = ""
    production_date: date | None = None
    payer_name: str = ""
    payer_id: str = ""
    payer_address_line1: str = ""
    payer_address_line2: str = ""
    payer_city: str = ""
    payer_state: str = ""
    payer_postal_code: str = ""
    payee_name: str = ""
    payee_id_qualifier: str = ""
    payee_id: str = ""
    payee_tax_id: str = ""
    payee_address_line1: str = ""
    payee_address_line2: str = ""
    payee_city: str = ""
    payee_state: str = ""
    payee_postal_code: str = ""
    claims: list[ClaimPayment835] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment835] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    balanced: bool = False
    # False when BPR02 is missing/unreadable or the data ends before SE.
    complete: bool = True
    segment_index: int = 0
    end_index: int = 0

    @property
    def claim_paid_total(self) -> Decimal:
        return sum((c.paid for c in self.claims), ZERO)

    @property
    def provider_adjustment_total(self) -> Decimal:
        return sum((p.amount for p in self.provider_adjustments), ZERO)

    @property
    def duplicate_key(self) -> tuple[str, str, date | None, Decimal]:
        """(TRN03, TRN02, BPR16, BPR02): the same payment delivered twice has the same key."""
        return (self.trace_payer_id, self.trace_number, self.payment_date, self.total_paid)


@dataclass(slots=True)
class Remittance835File:
    sender_id: str = ""
    receiver_id: str = ""
    interchange_control: str = ""
    version: str = ""
    transactions: list[Transaction835] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    segment_count: int = 0
    segments: list[Segment] = field(default_factory=list, repr=False)
    separators: Separators | None = None

    @property
    def is_835(self) -> bool:
        return bool(self.transactions)

    @property
    def claims(self) -> list[ClaimPayment835]:
        return [claim for transaction in self.transactions for claim in transaction.claims]

    def segment_text(self, index: int) -> str:
        """Segment ``index`` as written (element separator of the file, no terminator), for audit;
        ``""`` when the segments were not kept (``read_835(..., keep_segments=False)``)."""
        if not 0 <= index < len(self.segments):
            return ""
        element = self.separators.element if self.separators else "*"
        return self.segments[index].text(element)


# Appended to every segment's elements so that handlers can index ``e[n]`` (element n, 1-based;
# ``e[0]`` is the tag) without bounds checks. Handlers read at most 19 elements this way.
_PAD = ("",) * 20


def _padded(seg: Segment) -> tuple[str, ...]:
    return (seg.tag, *seg.elements, *_PAD)


def _amount(value: str) -> Decimal | None:
    """An X12 R value (optional ``-``, digits, at most one ``.``) as Decimal; ``None`` if it is not one."""
    body = value[1:] if value[:1] == "-" else value
    if body and len(value) <= _MAX_NUMBER_LENGTH and body.isascii() and body.replace(".", "", 1).isdigit():
        return Decimal(value)
    return None


def _date(value: str) -> date | None:
    if len(value) == 8 and value.isascii() and value.isdigit():
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            return None
    return None


def _shown(value: str) -> str:
    """A bad value for a message: short and printable."""
    text = value[:24].encode("unicode_escape").decode("ascii")
    return repr(text + ("…" if len(value) > 24 else ""))


def _order(diagnostic: Diagnostic) -> int:
    return -1 if diagnostic.segment_index is None else diagnostic.segment_index


class _Reader:
    def __init__(
        self,
        *,
        segment_count: int,
        separators: Separators,
        tokenizer_diagnostics: list[Diagnostic],
        kept: list[Segment],
    ) -> None:
        """``kept`` is what the result holds as its segments."""
        self.tokenizer_diagnostics = tokenizer_diagnostics
        self.out = Remittance835File(segment_count=segment_count, segments=kept, separators=separators)
        self.diagnostics: list[Diagnostic] = []
        self.txn: Transaction835 | None = None
        self.claim: ClaimPayment835 | None = None
        self.line: ServiceLine835 | None = None
        # "payer" / "payee" after N1*PR / N1*PE, until the next N1, LX, CLP or PLB.
        self.party: str | None = None
        self.seen_bpr = False
        self.seen_trn = False
        # Position of the open claim in its transaction (1-based), for messages.
        self.claim_number = 0
        self.last_index = 0
        self.other_sets: list[str] = []
        # Inside the ST/SE of another transaction type (an 837 in the same file, say).
        self.in_other_set = False
        self.outside_reported = False
        self.amounts: dict[str, Decimal | None] = {}
        self.dates: dict[str, date | None] = {}

    # -- diagnostics and values --------------------------------------------------------------

    def emit(self, code: str, severity: str, index: int | None, message: str) -> None:
        diagnostic = Diagnostic(code, severity, index, message)
        self.diagnostics.append(diagnostic)
        if self.txn is not None:
            self.txn.diagnostics.append(diagnostic)
        if self.claim is not None:
            self.claim.diagnostics.append(diagnostic)

    def txn_label(self) -> str:
        if self.txn is None:
            return ""
        return f"transaction {self.txn.control_number or '(no ST02)'}"

    def where(self, seg: Segment) -> str:
        """``segment 40 in claim #3 (CLP at segment 32) of transaction 0001``.

        Claims are named by position, never by patient.
        """
        text = f"segment {seg.index}"
        if self.claim is not None:
            text += f" in claim #{self.claim_number}"
            if seg.index != self.claim.segment_index:
                text += f" (CLP at segment {self.claim.segment_index})"
        if self.txn is not None:
            text += f" of {self.txn_label()}"
        return text

    def claim_label(self, claim: ClaimPayment835) -> str:
        label = f"claim #{self.claim_number} (CLP at segment {claim.segment_index})"
        if self.txn is not None:
            label += f" of {self.txn_label()}"
        return label

    def missing(self, seg: Segment, n: int, what: str, severity: str = ERROR) -> None:
        self.emit(
            "missing_element",
            severity,
            seg.index,
            f"{seg.tag}{n:02d} ({what}) is missing at {self.where(seg)}",
        )

    def money(self, raw: str, seg: Segment, n: int) -> Decimal | None:
        """``raw`` (element ``n`` of ``seg``) as an amount; ``bad_amount`` (error) if it is not one."""
        try:
            return self.amounts[raw]
        except KeyError:
            pass
        value = _amount(raw.strip())
        if value is None:
            self.emit(
                "bad_amount",
                ERROR,
                seg.index,
                f"{seg.tag}{n:02d} at {self.where(seg)} is not a valid amount: {_shown(raw)}",
            )
        else:
            self.amounts[raw] = value
        return value

    def number(self, raw: str, seg: Segment, n: int) -> Decimal | None:
        """An optional quantity or ratio; ``bad_number`` (warning) if it is not one."""
        if not raw:
            return None
        try:
            return self.amounts[raw]
        except KeyError:
            pass
        value = _amount(raw.strip())
        if value is None:
            self.emit(
                "bad_number",
                WARNING,
                seg.index,
                f"{seg.tag}{n:02d} at {self.where(seg)} is not a valid number: {_shown(raw)}",
            )
        else:
            self.amounts[raw] = value
        return value

    def date(self, raw: str, seg: Segment, n: int) -> date | None:
        """An optional CCYYMMDD date; ``bad_date`` (warning) if it is not one. The value is not echoed."""
        if not raw:
            return None
        try:
            return self.dates[raw]
        except KeyError:
            pass
        value = _date(raw.strip())
        if value is None:
            self.emit(
                "bad_date",
                WARNING,
                seg.index,
                f"{seg.tag}{n:02d} at {self.where(seg)} is not a valid CCYYMMDD date ({len(raw)} characters)",
            )
        else:
            self.dates[raw] = value
        return value

    # -- the walk ----------------------------------------------------------------------------

    def run(self, segments: Iterable[Segment]) -> Remittance835File:
        """Walk ``segments`` once, in order."""
        # Local, not an attribute: bound methods kept on the reader would make it a cycle that
        # holds the result (and the segments) until the paused collector runs again.
        handlers: dict[str, Callable[[Segment], None]] = {
            "BPR": self._bpr,
            "TRN": self._trn,
            "DTM": self._dtm,
            "N1": self._n1,
            "N3": self._n3,
            "N4": self._n4,
            "REF": self._ref,
            "LX": self._lx,
            "CLP": self._clp,
            "CAS": self._cas,
            "NM1": self._nm1,
            "MIA": self._mia,
            "MOA": self._moa,
            "AMT": self._amt,
            "SVC": self._svc,
            "LQ": self._lq,
            "PLB": self._plb,
        }
        for seg in segments:
            tag = seg.tag
            if tag == "ST":
                self._st(seg)
                continue
            if self.txn is None:
                self._outside(seg)
                continue
            self.last_index = seg.index
            if tag == "SE":
                self._close_transaction(seg.index)
                continue
            if tag in ("GE", "IEA", "ISA", "GS"):
                # SE is missing; the tokenizer reports the envelope, the transaction is cut here.
                self._close_transaction(seg.index - 1, truncated=True)
                self._outside(seg)
                continue
            handler = handlers.get(tag)
            if handler is not None:
                handler(seg)
        if self.txn is not None:
            self._close_transaction(self.last_index, truncated=True)
        if not self.out.transactions:
            self._not_835()
        self._merge_tokenizer_diagnostics()
        return self.out

    def _outside(self, seg: Segment) -> None:
        out = self.out
        tag = seg.tag
        if tag in ("SE", "GE", "IEA", "ISA", "GS"):
            self.in_other_set = False
        if tag == "ISA":
            if not out.interchange_control:
                out.sender_id = seg.get(6).strip()
                out.receiver_id = seg.get(8).strip()
                out.interchange_control = seg.get(13).strip()
        elif tag == "GS":
            if not out.version:
                out.version = seg.get(8).strip()
        elif tag not in ("GE", "IEA", "SE") and not self.in_other_set and not self.outside_reported:
            self.outside_reported = True
            self.emit(
                "segment_outside_transaction",
                WARNING,
                seg.index,
                f"{_shown(tag)} at segment {seg.index} is outside any ST/SE transaction set; it and any "
                "like it were ignored",
            )

    def _not_835(self) -> None:
        if not self.out.segment_count:
            found = "no X12 segments"
        elif self.other_sets:
            found = "transaction set(s) " + ", ".join(_shown(kind) for kind in sorted(set(self.other_sets)))
        else:
            found = "no ST segment"
        self.emit("not_835", ERROR, None, f"this is not an 835 remittance: found {found}")

    def _merge_tokenizer_diagnostics(self) -> None:
        """All diagnostics on the file in segment order; tokenizer ones also on their transaction."""
        touched: set[int] = set()
        for diagnostic in self.tokenizer_diagnostics:
            index = diagnostic.segment_index
            if index is None:
                continue
            for number, transaction in enumerate(self.out.transactions):
                if transaction.segment_index <= index <= transaction.end_index:
                    transaction.diagnostics.append(diagnostic)
                    touched.add(number)
                    break
        for number in touched:
            self.out.transactions[number].diagnostics.sort(key=_order)
        merged = [*self.tokenizer_diagnostics, *self.diagnostics]
        merged.sort(key=_order)
        self.out.diagnostics = merged

    # -- transaction -------------------------------------------------------------------------

    def _st(self, seg: Segment) -> None:
        if self.txn is not None:
            self._close_transaction(seg.index - 1, truncated=True)
        self.last_index = seg.index
        kind = seg.get(1).strip()
        if kind != "835":
            self.other_sets.append(kind or "(empty ST01)")
            self.in_other_set = True
            return
        self.in_other_set = False
        if not self.out.version:
            self.out.version = seg.get(3).strip()
        self.txn = Transaction835(
            control_number=seg.get(2).strip(), segment_index=seg.index, end_index=seg.index
        )
        self.out.transactions.append(self.txn)
        self.claim = None
        self.line = None
        self.party = None
        self.seen_bpr = False
        self.seen_trn = False

    def _close_transaction(self, end_index: int, *, truncated: bool = False) -> None:
        txn = self.txn
        if txn is None:
            return
        end_index = max(end_index, txn.segment_index)
        # A claim ends before SE; without SE it ends with the last segment read.
        self._close_claim(end_index if truncated else end_index - 1, truncated=truncated)
        txn.end_index = end_index
        label = f"{self.txn_label()} (ST at segment {txn.segment_index})"
        if truncated:
            txn.complete = False
            self.emit(
                "truncated_transaction",
                ERROR,
                txn.segment_index,
                f"{label} ends at segment {end_index} without SE: the data is cut or damaged",
            )
        if not self.seen_bpr:
            txn.complete = False
            self.emit(
                "missing_bpr", ERROR, txn.segment_index, f"{label} has no BPR: the payment amount is unknown"
            )
        if not self.seen_trn:
            self.emit(
                "missing_trn", ERROR, txn.segment_index, f"{label} has no TRN: no check or EFT trace number"
            )
        paid = txn.claim_paid_total
        plb = txn.provider_adjustment_total
        expected = paid - plb
        # BPR02 is never negative: a debit (BPR03 D, the provider owes) balances against -BPR02.
        total = -txn.total_paid if txn.credit_debit == "D" else txn.total_paid
        txn.balanced = txn.complete and expected == total
        if txn.complete and not txn.balanced:
            shown = f"BPR02 is {txn.total_paid}" + (" (debit)" if txn.credit_debit == "D" else "")
            self.emit(
                "transaction_unbalanced",
                ERROR,
                txn.segment_index,
                f"{label}: {shown} but ΣCLP04 {paid} - ΣPLB {plb} = {expected} "
                f"(difference {total - expected})",
            )
        self.txn = None

    def _bpr(self, seg: Segment) -> None:
        txn = self.txn
        assert txn is not None
        if self.seen_bpr:
            self.emit("duplicate_segment", WARNING, seg.index, f"second BPR at {self.where(seg)} ignored")
            return
        self.seen_bpr = True
        e = _padded(seg)
        txn.handling_code = e[1].strip()
        total = self.money(e[2], seg, 2) if e[2] else None
        if total is None:
            txn.complete = False
            if not e[2]:
                self.missing(seg, 2, "total actual provider payment")
        else:
            txn.total_paid = total
        txn.credit_debit = e[3].strip()
        txn.method = e[4].strip()
        txn.payment_date = self.date(e[16], seg, 16)
        if not e[16]:
            self.missing(seg, 16, "check issue or EFT effective date", WARNING)

    def _trn(self, seg: Segment) -> None:
        txn = self.txn
        assert txn is not None
        if self.seen_trn:
            # An 835 has one header TRN; a second one is ignored rather than overwriting the first.
            self.emit("duplicate_segment", WARNING, seg.index, f"second TRN at {self.where(seg)} ignored")
            return
        self.seen_trn = True
        e = _padded(seg)
        txn.trace_number = e[2].strip()
        txn.trace_payer_id = e[3].strip()
        txn.trace_supplemental = e[4].strip()
        if not txn.trace_number:
            self.missing(seg, 2, "check or EFT trace number")

    def _n1(self, seg: Segment) -> None:
        txn = self.txn
        assert txn is not None
        if self.claim is not None:
            return
        e = _padded(seg)
        entity = e[1].strip()
        if entity == "PR":
            self.party = "payer"
            txn.payer_name = e[2].strip()
            if e[4].strip():
                txn.payer_id = e[4].strip()
        elif entity == "PE":
            self.party = "payee"
            txn.payee_name = e[2].strip()
            txn.payee_id_qualifier = e[3].strip()
            txn.payee_id = e[4].strip()
        else:
            self.party = None

    def _n3(self, seg: Segment) -> None:
        txn = self.txn
        assert txn is not None
        if self.claim is not None:
            return
        if self.party == "payer":
            txn.payer_address_line1 = seg.get(1).strip()
            txn.payer_address_line2 = seg.get(2).strip()
        elif self.party == "payee":
            txn.payee_address_line1 = seg.get(1).strip()
            txn.payee_address_line2 = seg.get(2).strip()

    def _n4(self, seg: Segment) -> None:
        txn = self.txn
        assert txn is not None
        if self.claim is not None:
            return
        if self.party == "payer":
            txn.payer_city, txn.payer_state, txn.payer_postal_code = (seg.get(n).strip() for n in (1, 2, 3))
        elif self.party == "payee":
            txn.payee_city, txn.payee_state, txn.payee_postal_code = (seg.get(n).strip() for n in (1, 2, 3))

    def _ref(self, seg: Segment) -> None:
        e = _padded(seg)
        qualifier = e[1].strip()
        if self.line is not None:
            if qualifier == "6R":
                self.line.line_control_number = e[2].strip()
            return
        claim = self.claim
        if claim is not None:
            if qualifier == "F8":
                claim.original_reference = e[2].strip()
            elif qualifier == "1L":
                claim.group_number = e[2].strip()
            elif qualifier == "EA":
                claim.medical_record_number = e[2].strip()
            return
        txn = self.txn
        assert txn is not None
        if self.party == "payer" and qualifier == "2U":
            if not txn.payer_id:
                txn.payer_id = e[2].strip()
        elif self.party == "payee" and qualifier == "TJ":
            txn.payee_tax_id = e[2].strip()

    def _dtm(self, seg: Segment) -> None:
        e = _padded(seg)
        qualifier = e[1].strip()
        line = self.line
        if line is not None:
            if qualifier == "472":
                line.service_date_from = line.service_date_to = self.date(e[2], seg, 2)
            elif qualifier == "150":
                line.service_date_from = self.date(e[2], seg, 2)
            elif qualifier == "151":
                line.service_date_to = self.date(e[2], seg, 2)
            return
        claim = self.claim
        if claim is not None:
            if qualifier == "232":
                claim.statement_from = self.date(e[2], seg, 2)
            elif qualifier == "233":
                claim.statement_to = self.date(e[2], seg, 2)
            elif qualifier in ("050", "50"):
                claim.received_date = self.date(e[2], seg, 2)
            elif qualifier in ("036", "36"):
                claim.coverage_expiration = self.date(e[2], seg, 2)
            return
        txn = self.txn
        assert txn is not None
        if qualifier == "405" and self.party is None:
            txn.production_date = self.date(e[2], seg, 2)

    # -- claims and lines --------------------------------------------------------------------

    def _lx(self, seg: Segment) -> None:
        self._close_claim(seg.index - 1)
        self.party = None

    def _clp(self, seg: Segment) -> None:
        txn = self.txn
        assert txn is not None
        self._close_claim(seg.index - 1)
        self.party = None
        e = _padded(seg)
        claim = ClaimPayment835(
            patient_control_number=e[1].strip(),
            status_code=e[2].strip(),
            filing_indicator=e[6].strip(),
            payer_claim_number=e[7].strip(),
            facility_type=e[8].strip(),
            frequency=e[9].strip(),
            drg_code=e[11].strip(),
            segment_index=seg.index,
            end_index=seg.index,
        )
        txn.claims.append(claim)
        self.claim = claim
        self.claim_number = len(txn.claims)
        missing = [f"CLP{n:02d}" for n in (1, 2, 3, 4) if not e[n].strip()]
        if missing:
            claim.complete = False
            self.emit(
                "truncated_claim",
                ERROR,
                seg.index,
                f"CLP at {self.where(seg)} lacks required element(s) {', '.join(missing)}: "
                "the claim is incomplete and cannot be posted",
            )
        charge = self.money(e[3], seg, 3) if e[3] else None
        paid = self.money(e[4], seg, 4) if e[4] else None
        if charge is None or paid is None:
            claim.complete = False
        claim.charge = charge if charge is not None else ZERO
        claim.paid = paid if paid is not None else ZERO
        responsibility = self.money(e[5], seg, 5) if e[5] else None
        claim.patient_responsibility = responsibility if responsibility is not None else ZERO
        claim.drg_weight = self.number(e[12], seg, 12)
        claim.discharge_fraction = self.number(e[13], seg, 13)
        if claim.status_code and claim.status_code not in CLAIM_STATUSES:
            self.emit(
                "unknown_claim_status",
                WARNING,
                seg.index,
                f"CLP02 {_shown(claim.status_code)} at {self.where(seg)} is not a 5010 claim status code",
            )

    def _close_claim(self, end_index: int, *, truncated: bool = False) -> None:
        claim = self.claim
        if claim is None:
            return
        self.line = None
        claim.end_index = max(end_index, claim.segment_index)
        if truncated and claim.complete:
            claim.complete = False
            self.emit(
                "truncated_claim",
                ERROR,
                claim.segment_index,
                f"the data ends inside {self.claim_label(claim)} (no SE after it): "
                "the claim may be incomplete",
            )
        balanced = claim.complete
        for line in claim.lines:
            if not line.complete:
                balanced = False
                continue
            adjustments = line.adjustment_total
            expected = line.charge - adjustments
            line.balanced = expected == line.paid
            if not line.balanced:
                balanced = False
                self.emit(
                    "line_unbalanced",
                    ERROR,
                    line.segment_index,
                    f"service line at segment {line.segment_index} in {self.claim_label(claim)}: "
                    f"SVC02 {line.charge} - ΣCAS {adjustments} = {expected} but SVC03 is {line.paid} "
                    f"(difference {line.paid - expected})",
                )
        if claim.complete:
            adjustments = claim.adjustment_total
            expected = claim.charge - adjustments
            if expected != claim.paid:
                balanced = False
                self.emit(
                    "claim_unbalanced",
                    ERROR,
                    claim.segment_index,
                    f"{self.claim_label(claim)}: CLP03 {claim.charge} - ΣCAS {adjustments} = {expected} "
                    f"but CLP04 is {claim.paid} (difference {claim.paid - expected})",
                )
            responsibility = claim.patient_responsibility_total
            if responsibility != claim.patient_responsibility:
                self.emit(
                    "patient_responsibility_mismatch",
                    WARNING,
                    claim.segment_index,
                    f"{self.claim_label(claim)}: CLP05 {claim.patient_responsibility} but "
                    f"Σ PR adjustments {responsibility}",
                )
        claim.balanced = balanced
        self.claim = None

    def _nm1(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None or self.line is not None:
            return
        e = _padded(seg)
        entity = e[1].strip()
        if entity == "QC":
            claim.patient_last_name = e[3].strip()
            claim.patient_first_name = e[4].strip()
            claim.patient_member_id = e[9].strip()
        elif entity == "IL":
            claim.insured_member_id = e[9].strip()
        elif entity == "74":
            claim.corrected_member_id = e[9].strip()
        elif entity == "TT":
            claim.crossover_carrier_name = e[3].strip()
            claim.crossover_carrier_id = e[9].strip()
        elif entity == "PR":
            claim.corrected_priority_payer_name = e[3].strip()
            claim.corrected_priority_payer_id = e[9].strip()
        elif entity == "82":
            claim.rendering_provider_name = e[3].strip()
            claim.rendering_provider_id = e[9].strip()

    def _remarks(self, seg: Segment, positions: tuple[int, ...]) -> None:
        claim = self.claim
        if claim is None or self.line is not None:
            return
        for n in positions:
            code = seg.get(n).strip()
            if code:
                claim.remark_codes.append(code)

    def _mia(self, seg: Segment) -> None:
        self._remarks(seg, (5, 20, 21, 22, 23))

    def _moa(self, seg: Segment) -> None:
        self._remarks(seg, (3, 4, 5, 6, 7))

    def _amt(self, seg: Segment) -> None:
        e = _padded(seg)
        qualifier = e[1].strip()
        if self.line is not None:
            if qualifier == "B6":
                self.line.allowed_amount = self._optional_money(e[2], seg, 2)
        elif self.claim is not None:
            if qualifier == "AU":
                self.claim.allowed_amount = self._optional_money(e[2], seg, 2)
            elif qualifier == "I":
                self.claim.interest = self._optional_money(e[2], seg, 2)

    def _optional_money(self, raw: str, seg: Segment, n: int) -> Decimal | None:
        if not raw:
            self.missing(seg, n, "amount")
            return None
        return self.money(raw, seg, n)

    def _cas(self, seg: Segment) -> None:
        target = self.line if self.line is not None else self.claim
        if target is None:
            self.emit(
                "segment_out_of_place",
                WARNING,
                seg.index,
                f"CAS at {self.where(seg)} is not inside a claim or service line and was ignored",
            )
            return
        e = _padded(seg)
        group = e[1].strip()
        if group not in ADJUSTMENT_GROUPS:
            if not group:
                self.missing(seg, 1, "claim adjustment group code")
            elif group in LEGACY_ADJUSTMENT_GROUPS:
                self.emit(
                    "legacy_group_code",
                    INFO,
                    seg.index,
                    f"CAS01 {group} at {self.where(seg)} is a 4010 group code (not valid in 5010); accepted",
                )
            else:
                self.emit(
                    "unknown_group_code",
                    WARNING,
                    seg.index,
                    f"CAS01 {_shown(group)} at {self.where(seg)} is not CO, OA, PI or PR; its amounts are "
                    "still counted",
                )
        found = False
        last = len(seg.elements)
        for n in range(2, min(last, 19) + 1, 3):
            reason = e[n].strip()
            raw = e[n + 1]
            if not reason and not raw and not e[n + 2]:
                continue
            found = True
            if not reason:
                self.missing(seg, n, "adjustment reason code")
            if not raw:
                self.missing(seg, n + 1, "adjustment amount")
                self._mark_incomplete()
                continue
            amount = self.money(raw, seg, n + 1)
            if amount is None:
                self._mark_incomplete()
                continue
            target.adjustments.append(
                Adjustment835(group, reason, amount, self.number(e[n + 2], seg, n + 2), seg.index)
            )
        if not found:
            self.emit(
                "missing_element", ERROR, seg.index, f"CAS at {self.where(seg)} has no reason/amount triplet"
            )

    def _mark_incomplete(self) -> None:
        """An adjustment amount is unreadable: the enclosing line (else claim) cannot be balanced."""
        if self.line is not None:
            self.line.complete = False
        elif self.claim is not None:
            self.claim.complete = False

    def _svc(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None:
            self.emit(
                "segment_out_of_place",
                WARNING,
                seg.index,
                f"SVC at {self.where(seg)} comes before any CLP and was ignored",
            )
            return
        e = _padded(seg)
        separator = seg.component_separator
        procedure = e[1].split(separator) if e[1] else []
        line = ServiceLine835(
            qualifier=procedure[0].strip() if procedure else "",
            code=procedure[1].strip() if len(procedure) > 1 else "",
            modifiers=[m.strip() for m in procedure[2:6] if m.strip()],
            revenue_code=e[4].strip(),
            segment_index=seg.index,
        )
        claim.lines.append(line)
        self.line = line
        if not line.qualifier or not line.code:
            self.missing(seg, 1, "qualifier and procedure code", WARNING)
        charge = self.money(e[2], seg, 2) if e[2] else None
        paid = self.money(e[3], seg, 3) if e[3] else None
        if not e[2]:
            self.missing(seg, 2, "line charge")
        if not e[3]:
            self.missing(seg, 3, "line payment")
        if charge is None or paid is None:
            line.complete = False
        line.charge = charge if charge is not None else ZERO
        line.paid = paid if paid is not None else ZERO
        line.units_paid = self.number(e[5], seg, 5)
        if e[6]:
            original = e[6].split(separator)
            line.original_qualifier = original[0].strip()
            line.original_code = original[1].strip() if len(original) > 1 else ""
            line.original_modifiers = [m.strip() for m in original[2:6] if m.strip()]
        line.original_units = self.number(e[7], seg, 7)

    def _lq(self, seg: Segment) -> None:
        if self.line is not None and seg.get(1).strip() == "HE":
            code = seg.get(2).strip()
            if code:
                self.line.remark_codes.append(code)

    # -- provider adjustments ----------------------------------------------------------------

    def _plb(self, seg: Segment) -> None:
        txn = self.txn
        assert txn is not None
        self._close_claim(seg.index - 1)
        self.party = None
        e = _padded(seg)
        provider_id = e[1].strip()
        fiscal = self.date(e[2], seg, 2)
        if not provider_id:
            self.missing(seg, 1, "provider identifier", WARNING)
        separator = seg.component_separator
        found = False
        for n in range(3, 15, 2):
            composite = e[n].split(separator)
            reason = composite[0].strip()
            raw = e[n + 1]
            if not reason and not raw:
                continue
            found = True
            if not reason:
                self.missing(seg, n, "adjustment reason code")
            if not raw:
                self.missing(seg, n + 1, "provider adjustment amount")
                txn.complete = False
                continue
            amount = self.money(raw, seg, n + 1)
            if amount is None:
                txn.complete = False
                continue
            reference = composite[1].strip() if len(composite) > 1 else ""
            txn.provider_adjustments.append(
                ProviderAdjustment835(provider_id, fiscal, reason, reference, amount, seg.index)
            )
        if not found:
            self.emit(
                "missing_element", ERROR, seg.index, f"PLB at {self.where(seg)} has no reason/amount pair"
            )


def read_835(data: bytes | str, *, keep_segments: bool = True) -> Remittance835File:
    """Read an 835 file. Never raises; see ``Remittance835File.diagnostics``.

    With ``keep_segments=False`` the result is the same except that ``segments`` is empty (and
    ``segment_text`` gives ``""``): the segments are built as they are read and dropped after,
    so a large file needs far less memory.
    """
    with gc_paused():
        if keep_segments:
            tokens = tokenize(data)
            reader = _Reader(
                segment_count=len(tokens.segments),
                separators=tokens.separators,
                tokenizer_diagnostics=tokens.diagnostics,
                kept=tokens.segments,
            )
            return reader.run(tokens.segments)
        stream = tokenize_stream(data)
        reader = _Reader(
            segment_count=len(stream),
            separators=stream.separators,
            tokenizer_diagnostics=stream.diagnostics,
            kept=[],
        )
        return reader.run(stream)
