"""837 intake: claims made in the upstream billing system arrive as X12 837P/837I files.

``import_837`` reads a file with ``claims.x12.reader837`` and turns each claim into a
``Claim`` with its lines and charges on the right account, all in one transaction: if any
claim cannot be taken, nothing is written and every problem is reported with the claim's
patient control number (PCN) and the segment where it is.

For each claim in the file:

- the payer is the organization's payer with the file's EDI payer id (NM1*PR09), else the
  one with exactly that name; an unknown payer is an error (payers are never invented);
- the account is the one whose number is the PCN. Without one, the patient is found by
  last name, first name and date of birth (or, failing that, by the member id on a coverage
  of that payer and the first name): one match is used, several are reported as an
  ambiguous match and never guessed, none registers the patient from the file's patient
  loop. The guarantor is the patient, or the subscriber when the patient is a dependent
  (HL 23). A coverage of that payer is found by member id or added (on the payer's plan
  with the file's group number, else its first active plan), and the account is opened
  with the PCN as its number;
- each service line becomes a charge posted through the ledger
  (``accounts.services.post_charges_locked``), unless the account already has a posted
  charge exactly like it (date, code, modifiers, units, amount) that no claim to this
  payer holds: then the line is linked to that charge rather than posting it twice;
- the claim is stored as submitted, keyed by ``source_key`` (a hash of payer id, PCN,
  frequency, total, dates and line codes), so importing the same file again creates
  nothing twice.

Messages name claims by PCN and segment index, never a person: they are shown on screen,
returned by the API and printed by the command.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.ledger import lock_account
from accounts.models import Charge, Coverage, Guarantor, Patient, PatientAccount
from accounts.services import ChargeInput, guarantor_for_patient, post_charges_locked
from claims.models import Claim, ClaimLine
from claims.permissions import can_manage_claims
from claims.services.claims import (
    clean_filename,
    record_claim_event,
    save_new_claim,
    timely_filing_deadline_for,
    validate,
)
from claims.x12.reader837 import ERROR, INSTITUTIONAL, PROFESSIONAL, Claim837, Party837, read_837
from claims.x12.tokenizer import tokenize
from core.audit import SYSTEM_USER_EMAIL, audit_context, current_request_id, mark_change
from core.errors import Conflict, DomainError, InvalidInput, NotPermitted
from core.money import ZERO, format_money
from core.timeline import event_record
from payers.models import Payer, Plan

MAX_FILE_BYTES = 25 * 1024 * 1024
INTAKE_FILENAME = "claims.837"  # the name a file sent without one is stored under
SOURCE = "837"
ONE = Decimal("1")
CPT = re.compile(r"^\d{4}[0-9FT]$")

# Outcome of each claim of the file.
CREATED = "created"
EXISTING = "existing"
SKIPPED = "skipped"  # the same claim appears earlier in the file
FAILED = "error"
NOT_IMPORTED = "not_imported"  # fine, but the file was rejected for problems elsewhere

FREQUENCIES = {Claim.Frequency.ORIGINAL, Claim.Frequency.REPLACEMENT, Claim.Frequency.VOID}
# SBR01 payer responsibility → coverage priority.
PRIORITY = {"P": Coverage.Priority.PRIMARY, "S": Coverage.Priority.SECONDARY, "T": Coverage.Priority.TERTIARY}
# Individual relationship codes (SBR02 / PAT01): the patient's relationship to the subscriber.
COVERAGE_RELATIONSHIP = {
    "18": Coverage.Relationship.SELF,
    "01": Coverage.Relationship.SPOUSE,
    "19": Coverage.Relationship.CHILD,
}
# ...and so the subscriber's relationship to the patient, when the subscriber is the guarantor.
GUARANTOR_RELATIONSHIP = {"01": Guarantor.Relationship.SPOUSE, "19": Guarantor.Relationship.PARENT}
ACCOUNT_KIND = {INSTITUTIONAL: PatientAccount.Kind.HOSPITAL, PROFESSIONAL: PatientAccount.Kind.PROFESSIONAL}
CLAIM_KIND = {INSTITUTIONAL: Claim.Kind.INSTITUTIONAL, PROFESSIONAL: Claim.Kind.PROFESSIONAL}
FINANCIAL_CLASS = {
    Payer.Kind.MEDICARE: PatientAccount.FinancialClass.MEDICARE,
    Payer.Kind.MEDICAID: PatientAccount.FinancialClass.MEDICAID,
    Payer.Kind.MEDICARE_ADVANTAGE: PatientAccount.FinancialClass.MEDICARE_ADVANTAGE,
    Payer.Kind.MEDICAID_MANAGED_CARE: PatientAccount.FinancialClass.MEDICAID_MANAGED_CARE,
    Payer.Kind.COMMERCIAL: PatientAccount.FinancialClass.COMMERCIAL,
    Payer.Kind.WORKERS_COMP: PatientAccount.FinancialClass.WORKERS_COMP,
    Payer.Kind.TRICARE_VA: PatientAccount.FinancialClass.TRICARE_VA,
}


# --- the result ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeError:
    """One problem: ``claim`` is the PCN (empty for the file as a whole), ``segment_index`` where it is."""

    claim: str
    segment_index: int | None
    message: str

    def __str__(self) -> str:
        where = f"claim {self.claim}" if self.claim else "file"
        if self.segment_index is not None:
            where += f", segment {self.segment_index}"
        return f"{where}: {self.message}"


@dataclass
class ClaimOutcome:
    """What became of one claim of the file."""

    patient_control_number: str
    segment_index: int | None
    outcome: str = NOT_IMPORTED
    claim: str = ""  # the Claim's reference, when there is one
    account_number: str = ""
    lines: int = 0
    billed_amount: str = ""
    message: str = ""


@dataclass
class IntakeResult:
    """Counts of what one file created, or the problems that stopped it."""

    filename: str
    kind: str = ""
    claims_in_file: int = 0
    created: int = 0
    existing: int = 0
    skipped: int = 0
    patients_created: int = 0
    guarantors_created: int = 0
    coverages_created: int = 0
    accounts_created: int = 0
    charges_created: int = 0
    charges_linked: int = 0
    errors: list[IntakeError] = field(default_factory=list)
    diagnostics: list[dict] = field(default_factory=list)
    claims: list[ClaimOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """``"2 claims: 1 created, 1 already received, 0 repeated"``."""
        if self.errors:
            count = len(self.errors)
            return f"rejected with {count} problem{'s' if count != 1 else ''}; nothing was imported"
        text = (
            f"{self.claims_in_file} claim{'s' if self.claims_in_file != 1 else ''}: {self.created} created, "
            f"{self.existing} already received, {self.skipped} repeated in the file"
        )
        made = [
            f"{count} {noun}{'s' if count != 1 else ''}"
            for count, noun in (
                (self.patients_created, "new patient"),
                (self.accounts_created, "new account"),
                (self.coverages_created, "new coverage"),
                (self.charges_created, "charge posted"),
            )
            if count
        ]
        return text + (f" ({', '.join(made)})" if made else "")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["summary"] = self.summary()
        return data


class IntakeRejected(InvalidInput):
    """The file was not imported; ``result.errors`` lists every problem."""

    def __init__(self, result: IntakeResult):
        count = len(result.errors)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} found in {result.filename}; nothing was imported",
            field="file",
            details={"errors": [asdict(error) for error in result.errors]},
        )
        self.result = result


class _Refused(InvalidInput):
    """A claim of the file cannot be taken; the message says why (no PHI)."""


@dataclass
class _Made:
    """What taking one claim created; added to the result only if the claim's savepoint holds."""

    patients: int = 0
    guarantors: int = 0
    coverages: int = 0
    accounts: int = 0
    charges: int = 0
    linked: int = 0


# --- small helpers ----------------------------------------------------------------------------------


def may_import(user: Any, organization: Any) -> bool:
    """``can_manage_claims``, plus the system user that ``manage.py import_837`` acts as."""
    if can_manage_claims(user, organization):
        return True
    return getattr(user, "email", None) == SYSTEM_USER_EMAIL and not getattr(user, "is_active", True)


def _name(raw: str, length: int) -> str:
    """Names arrive upper-case in X12; stored the way people write them."""
    text = re.sub(r"\s+", " ", raw or "").strip()
    if text.isupper():
        text = text.title()
    return text[:length]


def _postal_code(raw: str) -> str:
    digits = re.sub(r"\D", "", raw or "")
    if len(digits) == 9:
        return f"{digits[:5]}-{digits[5:]}"
    return digits[:5] if len(digits) >= 5 else ""


def _state(raw: str) -> str:
    text = (raw or "").strip().upper()
    return text if re.fullmatch(r"[A-Z]{2}", text) else ""


def _sex(raw: str) -> str:
    return raw if raw in (Patient.Sex.FEMALE, Patient.Sex.MALE) else Patient.Sex.UNKNOWN


def _full_name(party: Party837) -> str:
    return " ".join(p for p in (_name(party.first_name, 60), _name(party.last_name, 60)) if p)


def _line_day(claim837: Claim837, line: Any) -> date | None:
    return line.service_date_from or claim837.statement_from


def _dates(claim837: Claim837) -> tuple[date, date]:
    days = [d for line in claim837.lines for d in (_line_day(claim837, line), line.service_date_to) if d]
    days += [d for d in (claim837.statement_from, claim837.statement_to) if d]
    return min(days), max(days)


def source_key(claim837: Claim837) -> str:
    """The claim's identity across files: payer, PCN, frequency, total, dates and line codes."""
    first, last = _dates(claim837)
    codes = ",".join(
        f"{line.revenue_code}/{line.code}/{'-'.join(line.modifiers)}/{line.charge}" for line in claim837.lines
    )
    parts = [
        claim837.payer_id.strip().upper(),
        claim837.patient_control_number.strip().upper(),
        claim837.frequency,
        str(claim837.total_charge),
        first.isoformat(),
        last.isoformat(),
        codes,
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _code(line: Any, kind: str) -> tuple[str, str] | None:
    """(code type, code) of a line's charge, or None when the code's qualifier is not one we bill."""
    if line.code:
        if line.code_qualifier == "N4":
            return Charge.CodeType.NDC, line.code
        if line.code_qualifier in ("HC", ""):
            return (Charge.CodeType.CPT if CPT.match(line.code) else Charge.CodeType.HCPCS), line.code.upper()
        return None
    if kind == INSTITUTIONAL and line.revenue_code:
        return Charge.CodeType.REVENUE, line.revenue_code
    return None


def _file_date(data: bytes) -> date | None:
    """BHT04, the day the billing system made the file (read from the file's first segments)."""
    for segment in tokenize(data[:4096]).segments:
        if segment.tag == "BHT":
            raw = segment.get(4).strip()
            try:
                return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8])) if len(raw) == 8 else None
            except ValueError:
                return None
    return None


def _diagnostic(d: Any, claim: str = "") -> dict[str, Any]:
    return {
        "claim": claim,
        "code": d.code,
        "severity": d.severity,
        "segment_index": d.segment_index,
        "message": d.message,
    }


# --- the intake ----------------------------------------------------------------------------------


class _Intake:
    """Takes the claims of one file, one after the other, inside the import's transaction."""

    def __init__(
        self, organization: Any, by: Any, filename: str, result: IntakeResult, file_date: date | None
    ):
        self.organization = organization
        self.by = by
        self.filename = filename
        self.result = result
        self.today = timezone.localdate()
        self.submitted_on = file_date if file_date and file_date <= self.today else self.today
        self.seen: dict[str, int | None] = {}
        self.prices: dict = {}  # one contract-price memo for the whole file
        self.payers: dict[tuple[str, str], Payer] = {}

    @property
    def reason(self) -> str:
        return f"837 intake {self.filename}"[:100]

    def error(self, pcn: str, index: int | None, message: str) -> None:
        self.result.errors.append(IntakeError(pcn, index, message))

    # -- one claim --------------------------------------------------------------------------------

    def take(self, claim837: Claim837) -> None:
        pcn = claim837.patient_control_number.strip()
        outcome = ClaimOutcome(pcn, claim837.segment_index, FAILED)
        self.result.claims.append(outcome)
        errors_before = len(self.result.errors)
        for d in claim837.diagnostics:
            if d.severity == ERROR:
                self.error(pcn, d.segment_index, d.message)
        if len(self.result.errors) == errors_before:
            self._check(claim837, pcn)
        if len(self.result.errors) > errors_before:
            outcome.message = self.result.errors[errors_before].message
            return
        key = source_key(claim837)
        if key in self.seen:
            outcome.outcome = SKIPPED
            outcome.message = f"the same claim is already at segment {self.seen[key]} of this file"
            self.result.skipped += 1
            return
        self.seen[key] = claim837.segment_index
        existing = (
            Claim.objects.filter(organization=self.organization, source_key=key)
            .select_related("account")
            .first()
        )
        if existing is not None:
            outcome.outcome = EXISTING
            outcome.claim = str(existing.reference)
            outcome.account_number = existing.account.account_number
            outcome.message = "already received"
            self.result.existing += 1
            return
        made = _Made()
        try:
            with transaction.atomic():
                claim = self._create(claim837, key, made)
        except DomainError as exc:
            self.error(pcn, claim837.segment_index, exc.message)
            outcome.message = exc.message
            return
        outcome.outcome = CREATED
        outcome.claim = str(claim.reference)
        outcome.account_number = claim.account.account_number
        outcome.lines = len(claim837.lines)
        outcome.billed_amount = str(claim.billed_amount)
        result = self.result
        result.created += 1
        result.patients_created += made.patients
        result.guarantors_created += made.guarantors
        result.coverages_created += made.coverages
        result.accounts_created += made.accounts
        result.charges_created += made.charges
        result.charges_linked += made.linked

    def _check(self, c: Claim837, pcn: str) -> None:
        """What the reader accepts but a claim here cannot hold; every problem is reported."""
        at = c.segment_index
        if c.kind not in CLAIM_KIND:
            self.error(pcn, at, "the file is neither an 837P nor an 837I (GS08/ST03 version)")
        if c.frequency not in FREQUENCIES:
            self.error(
                pcn,
                at,
                f"CLM05-3 frequency code {c.frequency!r} is not supported: use 1 (original), "
                "7 (replacement) or 8 (void)",
            )
        if len(pcn) > 38:
            self.error(pcn, at, "CLM01 patient control number is longer than 38 characters")
        if not c.payer_id and not c.payer_name:
            self.error(pcn, at, "the payer is not named (NM1*PR of the subscriber loop)")
        line_total = sum((line.charge for line in c.lines if line.charge is not None), ZERO)
        if c.total_charge is not None and line_total != c.total_charge:
            self.error(
                pcn,
                at,
                f"CLM02 total {c.total_charge} is not the sum of the line charges ({line_total}); "
                "the claim would not balance",
            )
        for line in c.lines:
            where = f"line {line.line_number or '?'}"
            index = line.segment_index
            if line.charge is not None and line.charge <= ZERO:
                self.error(
                    pcn, index, f"{where}: a charge of {line.charge} cannot be posted; it must be above 0.00"
                )
            if line.units is not None and line.units <= 0:
                self.error(pcn, index, f"{where}: units must be more than 0")
            day = _line_day(c, line)
            if day is None:
                self.error(pcn, index, f"{where}: no date of service (DTP*472, or DTP*434 on the claim)")
            elif day > self.today:
                self.error(pcn, index, f"{where}: the date of service {day:%m/%d/%Y} is in the future")
            if _code(line, c.kind) is None:
                self.error(
                    pcn,
                    index,
                    f"{where}: procedure code qualifier {line.code_qualifier!r} is not one we bill "
                    "(HC for CPT/HCPCS, N4 for NDC, or a revenue code on an institutional claim)",
                )
            if len(line.ndc) > 11:
                self.error(pcn, index, f"{where}: NDC {line.ndc!r} is longer than 11 digits")

    def _create(self, c: Claim837, key: str, made: _Made) -> Claim:
        pcn = c.patient_control_number.strip()
        payer = self._payer(c)
        first, last = _dates(c)
        account = self._account(pcn)
        if account is not None:
            lock_account(account)
            self._check_account(account, c)
            coverage = self._coverage(account.patient, c, payer, first, made)
        else:
            patient = self._patient(c, payer, made)
            coverage = self._coverage(patient, c, payer, first, made)
            guarantor = self._guarantor(patient, c, made)
            account = self._open_account(pcn, patient, guarantor, c, payer, first, last, made)
            lock_account(account)
        original = self._original(c, payer)
        if c.frequency == Claim.Frequency.VOID and original is None:
            raise _Refused(
                "the claim this void cancels is not here (no claim with its REF*F8 payer claim number, "
                "nor an original claim with this patient control number); there is nothing to void"
            )
        charges = self._charges(account, payer, c, key, made, original)
        return self._claim(c, key, account, coverage, payer, charges, first, last, original)

    # -- payer, account, patient -----------------------------------------------------------------

    def _payer(self, c: Claim837) -> Payer:
        cache_key = (c.payer_id.strip().upper(), c.payer_name.strip().upper())
        if cache_key in self.payers:
            return self.payers[cache_key]
        payers = Payer.objects.filter(organization=self.organization)
        by_id = list(payers.filter(edi_payer_id__iexact=c.payer_id.strip())) if c.payer_id.strip() else []
        if len(by_id) > 1:
            by_id = [p for p in by_id if p.name.upper() == cache_key[1]]
            if len(by_id) != 1:
                raise _Refused(
                    f"several payers have the EDI payer id {c.payer_id!r} and none has exactly the file's "
                    "payer name; give each payer its own EDI id on the payers page"
                )
        found = by_id or (
            list(payers.filter(name__iexact=c.payer_name.strip())) if c.payer_name.strip() else []
        )
        if len(found) != 1:
            raise _Refused(
                f"no payer of {self.organization.name} has the EDI payer id {c.payer_id!r} or the name "
                f"{c.payer_name!r} (NM1*PR); add the payer or its EDI id on the payers page, then import "
                "the file again"
            )
        self.payers[cache_key] = found[0]
        return found[0]

    def _account(self, pcn: str) -> PatientAccount | None:
        accounts = list(
            PatientAccount.objects.filter(organization=self.organization, account_number__iexact=pcn)
            .select_related("patient")
            .order_by("pk")[:2]
        )
        if len(accounts) > 1:
            raise _Refused(f"ambiguous account match: more than one account is numbered {pcn} (letter case)")
        return accounts[0] if accounts else None

    def _check_account(self, account: PatientAccount, c: Claim837) -> None:
        """The PCN's account must be this patient's: a wrong account number must not bill someone else."""
        patient, person = account.patient, c.patient
        same_name = patient.last_name.casefold() == person.last_name.strip().casefold()
        same_birth = person.date_of_birth is None or person.date_of_birth == patient.date_of_birth
        if not (same_name and same_birth):
            raise _Refused(
                f"account {account.account_number} belongs to another patient than the claim's (name or date "
                "of birth differ); check the patient control number"
            )

    def _patient(self, c: Claim837, payer: Payer, made: _Made) -> Patient:
        person = c.patient
        last, first, born = person.last_name.strip(), person.first_name.strip(), person.date_of_birth
        if not last or not first:
            raise _Refused(
                "the patient's last and first name are needed (NM1*QC, or NM1*IL for the subscriber)"
            )
        patients = Patient.objects.filter(organization=self.organization)
        ids: set[int] = set()
        if born is not None:
            ids = set(
                patients.filter(
                    last_name__iexact=last, first_name__iexact=first, date_of_birth=born
                ).values_list("pk", flat=True)
            )
        how = "name and date of birth"
        if not ids and c.member_id.strip():
            coverages = Coverage.objects.filter(
                organization=self.organization,
                plan__payer=payer,
                member_id__iexact=c.member_id.strip(),
                patient__first_name__iexact=first,
            )
            if born is not None:
                coverages = coverages.filter(patient__date_of_birth=born)
            ids = set(coverages.values_list("patient_id", flat=True))
            how = f"member id with {payer} and first name"
        if len(ids) > 1:
            raise _Refused(
                f"ambiguous patient match: {len(ids)} patients have this patient's {how}; open account "
                f"{c.patient_control_number.strip()} for the right patient, then import the file again"
            )
        if ids:
            return patients.get(pk=ids.pop())
        if born is None:
            raise _Refused(
                "the patient is not registered and the file has no date of birth for them (DMG02); "
                "register the patient first"
            )
        patient = Patient(
            organization=self.organization,
            mrn=c.medical_record_number.strip()[:32],
            first_name=_name(person.first_name, 60),
            middle_name=_name(person.middle_name, 60),
            last_name=_name(person.last_name, 60),
            suffix=_name(person.suffix, 10),
            date_of_birth=born,
            sex=_sex(person.sex),
            address_line1=_name(person.address_line1, 120),
            address_line2=_name(person.address_line2, 120),
            city=_name(person.city, 60),
            state=_state(person.state),
            postal_code=_postal_code(person.postal_code),
        )
        validate(patient, exclude=["organization"], validate_unique=False, validate_constraints=False)
        mark_change(patient, by=self.by, reason=self.reason)
        patient.save()
        event_record(
            organization=self.organization,
            subject=patient,
            kind="accounts.patient.created",
            summary=f"Patient registered from 837 file {self.filename}",
            by=self.by,
        )
        made.patients += 1
        return patient

    def _guarantor(self, patient: Patient, c: Claim837, made: _Made) -> Guarantor:
        if c.patient_is_subscriber:
            exists = Guarantor.objects.filter(
                patient=patient, relationship=Guarantor.Relationship.SELF
            ).exists()
            guarantor = guarantor_for_patient(patient)
            made.guarantors += 0 if exists else 1
            return guarantor
        # A dependent: the subscriber answers for the bill. The same person on the patient's
        # other accounts is reused.
        subscriber = c.subscriber
        first, last = _name(subscriber.first_name, 60), _name(subscriber.last_name, 60)
        if not first or not last:
            raise _Refused(
                "the subscriber's last and first name are needed (NM1*IL) to make them the guarantor"
            )
        known = (
            Guarantor.objects.filter(
                accounts__patient=patient, first_name__iexact=first, last_name__iexact=last
            )
            .order_by("pk")
            .first()
        )
        if known is not None:
            return known
        guarantor = Guarantor(
            organization=self.organization,
            relationship=GUARANTOR_RELATIONSHIP.get(c.patient_relationship, Guarantor.Relationship.OTHER),
            first_name=first,
            last_name=last,
            date_of_birth=subscriber.date_of_birth,
            address_line1=_name(subscriber.address_line1 or c.patient.address_line1, 120),
            address_line2=_name(
                subscriber.address_line2 if subscriber.address_line1 else c.patient.address_line2, 120
            ),
            city=_name(subscriber.city or c.patient.city, 60),
            state=_state(subscriber.state or c.patient.state),
            postal_code=_postal_code(subscriber.postal_code or c.patient.postal_code),
        )
        validate(
            guarantor, exclude=["organization", "patient"], validate_unique=False, validate_constraints=False
        )
        mark_change(guarantor, by=self.by, reason=self.reason)
        guarantor.save()
        made.guarantors += 1
        return guarantor

    def _coverage(self, patient: Patient, c: Claim837, payer: Payer, first: date, made: _Made) -> Coverage:
        member_id = c.member_id.strip()
        of_payer = list(
            Coverage.objects.filter(patient=patient, plan__payer=payer).select_related("plan").in_order()
        )
        for coverage in of_payer:
            if coverage.member_id.casefold() == member_id.casefold():
                return coverage
        if of_payer:
            raise _Refused(
                f"the patient's coverage with {payer} has another member id than the file's (NM1*IL09); "
                "correct the coverage on the patient page, then import the file again"
            )
        if not member_id:
            raise _Refused("the subscriber's member id is missing (NM1*IL09); a coverage cannot be added")
        priority = PRIORITY.get(c.payer_responsibility, Coverage.Priority.PRIMARY)
        taken = (
            Coverage.objects.filter(patient=patient, is_active=True, priority=priority)
            .active_on(first)
            .select_related("plan__payer")
            .first()
        )
        if taken is not None:
            raise _Refused(
                f"the file bills {payer} as the {Coverage.Priority(priority).label.lower()} payer, but "
                f"the patient's {taken.get_priority_display().lower()} coverage is with {taken.plan.payer}; "
                "put the coverages in order on the patient page, then import the file again"
            )
        plan = self._plan(payer, c.group_number)
        relationship = (
            Coverage.Relationship.SELF
            if c.patient_is_subscriber
            else COVERAGE_RELATIONSHIP.get(c.patient_relationship, Coverage.Relationship.OTHER)
        )
        coverage = Coverage(
            organization=self.organization,
            patient=patient,
            plan=plan,
            member_id=member_id[:40],
            group_number=c.group_number.strip()[:40],
            subscriber_name=_full_name(c.subscriber)[:120] or _full_name(c.patient)[:120],
            subscriber_date_of_birth=c.subscriber.date_of_birth,
            relationship_to_subscriber=relationship,
            priority=priority,
            effective_from=first,
        )
        validate(
            coverage,
            exclude=["organization", "patient", "plan"],
            validate_unique=False,
            validate_constraints=False,
        )
        mark_change(coverage, by=self.by, reason=self.reason)
        coverage.save()
        event_record(
            organization=self.organization,
            subject=patient,
            kind="accounts.coverage.added",
            summary=f"{coverage.get_priority_display()} coverage added from 837 file {self.filename}: {plan}",
            by=self.by,
            data={"coverage": str(coverage.reference), "plan": str(plan), "priority": coverage.priority},
        )
        made.coverages += 1
        return coverage

    def _plan(self, payer: Payer, group_number: str) -> Plan:
        plans = list(
            Plan.objects.filter(payer=payer, is_active=True).select_related("payer").order_by("name", "pk")
        )
        group = group_number.strip().casefold()
        matching = [plan for plan in plans if group and plan.group_number.casefold() == group]
        if matching:
            return matching[0]
        if not plans:
            raise _Refused(
                f"{payer} has no active plan to put the patient's coverage on; add one on the payers page"
            )
        return plans[0]

    def _open_account(
        self,
        pcn: str,
        patient: Patient,
        guarantor: Guarantor,
        c: Claim837,
        payer: Payer,
        first: date,
        last: date,
        made: _Made,
    ) -> PatientAccount:
        account = PatientAccount(
            organization=self.organization,
            account_number=pcn,
            patient=patient,
            guarantor=guarantor,
            facility=_name(c.billing_provider.last_name, 120),
            kind=ACCOUNT_KIND[c.kind],
            service_from=first,
            service_to=last,
            financial_class=FINANCIAL_CLASS.get(payer.kind, PatientAccount.FinancialClass.OTHER),
            interpreter_needed=patient.needs_interpreter,
        )
        validate(
            account,
            exclude=["organization", "patient", "guarantor"],
            validate_unique=False,
            validate_constraints=False,
        )
        mark_change(account, by=self.by, reason=self.reason)
        try:
            with transaction.atomic(savepoint=True):
                account.save()
        except IntegrityError:
            raise Conflict(
                f"account {pcn} was opened by someone else during the import; import the file again"
            ) from None
        event_record(
            organization=self.organization,
            subject=account,
            kind="accounts.account.opened",
            summary=f"Account {pcn} opened ({account.get_kind_display()}) from 837 file {self.filename}",
            by=self.by,
        )
        made.accounts += 1
        return account

    # -- charges and the claim -------------------------------------------------------------------

    def _items(self, c: Claim837, key: str) -> list[ChargeInput]:
        items = []
        for number, line in enumerate(c.lines, start=1):
            code_type, code = _code(line, c.kind) or ("", "")
            if c.kind == PROFESSIONAL and line.diagnosis_pointers:
                pointed = [c.diagnoses[p - 1] for p in line.diagnosis_pointers if 0 < p <= len(c.diagnoses)]
            else:
                pointed = list(c.diagnoses)
            items.append(
                ChargeInput(
                    service_date=_line_day(c, line),  # type: ignore[arg-type]  # checked in _check
                    code_type=code_type,
                    code=code,
                    amount=line.charge,  # type: ignore[arg-type]
                    units=line.units or ONE,
                    modifiers=tuple(line.modifiers),
                    diagnoses=tuple(pointed[:12]),
                    revenue_code=line.revenue_code,
                    place_of_service=(line.place_of_service or c.place_of_service)[:2],
                    # The claim's identity and the line's place: a re-sent line is never posted twice.
                    external_id=f"837-{key[:40]}-{number}",
                    ndc=line.ndc or (code if code_type == Charge.CodeType.NDC else ""),
                    quantity=line.drug_quantity,
                )
            )
        return items

    def _charges(
        self,
        account: PatientAccount,
        payer: Payer,
        c: Claim837,
        key: str,
        made: _Made,
        original: Claim | None,
    ) -> list[Charge]:
        """One charge per line: an identical posted charge no other claim to this payer holds, else a new one.

        A replacement or void bills the charges of the claim it corrects again: its lines are
        matched to them, so the money is not posted twice. A void posts nothing.
        """
        items = self._items(c, key)
        held = ClaimLine.objects.filter(
            claim__account=account, claim__payer=payer, charge__isnull=False
        ).exclude(claim__status__in=[Claim.Status.CLOSED, Claim.Status.VOID])
        if original is not None:
            held = held.exclude(claim=original)
        claimed = set(held.values_list("charge_id", flat=True))
        free: dict[tuple, list[Charge]] = defaultdict(list)
        for charge in Charge.objects.filter(account=account, status=Charge.Status.POSTED).order_by("pk"):
            if charge.pk not in claimed:
                free[
                    (charge.service_date, charge.code, tuple(charge.modifiers), charge.units, charge.amount)
                ].append(charge)
        charges: list[Charge | None] = []
        to_post: list[tuple[int, ChargeInput]] = []
        for index, item in enumerate(items):
            modifiers = tuple(m.strip().upper() for m in item.modifiers if m.strip())
            match = free.get(
                (item.service_date, item.code.strip().upper(), modifiers, item.units, item.amount)
            )
            if match:
                charges.append(match.pop(0))
                made.linked += 1
            else:
                charges.append(None)
                to_post.append((index, item))
        if to_post and c.frequency == Claim.Frequency.VOID:
            raise _Refused(
                f"line {to_post[0][0] + 1} of the void does not match a charge of the claim it cancels; "
                "a void repeats the lines of that claim"
            )
        if to_post:
            posted = post_charges_locked(
                account=account,
                items=[item for _, item in to_post],
                by=self.by,
                source=SOURCE,
                price_memo=self.prices,
            )
            for (index, _), charge in zip(to_post, posted, strict=True):
                charges[index] = charge
            made.charges += len(posted)
        return [charge for charge in charges if charge is not None]

    def _original(self, c: Claim837, payer: Payer) -> Claim | None:
        """The claim a replacement or void corrects: by the payer's claim number (REF*F8), else by PCN."""
        if c.frequency == Claim.Frequency.ORIGINAL:
            return None
        claims = Claim.objects.filter(organization=self.organization, payer=payer)
        icn = c.payer_claim_number.strip()
        found = claims.filter(payer_claim_number=icn).order_by("-pk").first() if icn else None
        return found or (
            claims.filter(
                patient_control_number__iexact=c.patient_control_number.strip(),
                frequency=Claim.Frequency.ORIGINAL,
            )
            .order_by("-pk")
            .first()
        )

    def _claim(
        self,
        c: Claim837,
        key: str,
        account: PatientAccount,
        coverage: Coverage,
        payer: Payer,
        charges: list[Charge],
        first: date,
        last: date,
        original: Claim | None,
    ) -> Claim:
        if len(c.diagnoses) > 12:
            self.result.diagnostics.append(
                {
                    "claim": c.patient_control_number.strip(),
                    "code": "diagnoses_truncated",
                    "severity": "warning",
                    "segment_index": c.segment_index,
                    "message": f"the claim has {len(c.diagnoses)} diagnoses; the first 12 are kept",
                }
            )
        claim = Claim(
            organization=self.organization,
            account=account,
            coverage=coverage,
            payer=payer,
            patient_control_number=c.patient_control_number.strip(),
            kind=CLAIM_KIND[c.kind],
            frequency=c.frequency,
            original_claim=original,
            status=Claim.Status.SUBMITTED,
            source=Claim.Source.X12_837,
            source_key=key,
            billed_amount=c.total_charge,
            service_from=first,
            service_to=last,
            place_of_service=c.place_of_service[:2],
            type_of_bill=c.type_of_bill[:4],
            diagnoses=list(c.diagnoses[:12]),
            prior_authorization=c.prior_authorization.strip()[:50],
            submitted_on=self.submitted_on,
        )
        claim.timely_filing_deadline = timely_filing_deadline_for(claim)
        lines = [
            ClaimLine(
                line_number=number,
                charge=charge,
                code_type=charge.code_type,
                code=charge.code,
                modifiers=list(charge.modifiers),
                revenue_code=charge.revenue_code,
                units=charge.units,
                billed_amount=charge.amount,
                service_from=charge.service_date,
                service_to=max(line.service_date_to or charge.service_date, charge.service_date),
                line_control_number=line.line_control_number.strip()[:50],
                ndc=charge.ndc,
                quantity=line.drug_quantity,
            )
            for number, (line, charge) in enumerate(zip(c.lines, charges, strict=True), start=1)
        ]
        save_new_claim(claim, lines, by=self.by, reason=self.reason)
        record_claim_event(
            claim=claim,
            kind="claims.claim.imported",
            summary=f"Claim {claim.patient_control_number} to {payer} received from the billing system "
            f"({self.filename}): {len(lines)} line{'s' if len(lines) != 1 else ''}, "
            f"{format_money(claim.billed_amount)}",
            by=self.by,
            data={
                "filename": self.filename,
                "frequency": claim.frequency,
                "billed": str(claim.billed_amount),
            },
        )
        return claim


@transaction.atomic(durable=True)
def import_837(*, organization: Any, data: bytes, filename: str, by: Any) -> IntakeResult:
    """Import the claims of one 837P/837I file into ``organization``, all or nothing.

    Raises ``InvalidInput`` when the data is not an 837 (naming the file), ``IntakeRejected``
    (an ``InvalidInput`` carrying the result with every problem) when any claim cannot be
    taken, ``NotPermitted`` unless ``by`` may manage claims, and ``Conflict`` when another
    import of the same claims ran at the same time. Claims already received are counted as
    existing: importing a file twice creates nothing the second time.
    """
    if not may_import(by, organization):
        raise NotPermitted(
            "Only posting specialists, senior representatives, supervisors and admins import claims."
        )
    filename = clean_filename(filename, default=INTAKE_FILENAME)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(
            f"file: {filename} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it", field="file"
        )
    parsed = read_837(data)
    if not parsed.is_837:
        why = next(
            (d.message for d in parsed.diagnostics if d.code == "not_837"), "no ST*837 transaction set"
        )
        raise InvalidInput(f"file: {filename} is not an 837 claim file ({why})", field="file")
    result = IntakeResult(filename=filename, kind=parsed.kind, claims_in_file=len(parsed.claims))
    in_claims = {id(d) for c in parsed.claims for d in c.diagnostics}
    for claim837 in parsed.claims:
        result.diagnostics.extend(
            _diagnostic(d, claim837.patient_control_number.strip()) for d in claim837.diagnostics
        )
    for d in parsed.diagnostics:
        if id(d) in in_claims:
            continue
        result.diagnostics.append(_diagnostic(d))
        if d.severity == ERROR:
            result.errors.append(IntakeError("", d.segment_index, d.message))
    if not parsed.claims:
        result.errors.append(IntakeError("", None, "the file has no claims (CLM segments)"))

    intake = _Intake(organization, by, filename, result, _file_date(data))
    try:
        with audit_context(actor=by, reason=intake.reason, request_id=current_request_id()):
            for claim837 in parsed.claims:
                intake.take(claim837)
    except IntegrityError:
        raise Conflict(
            f"Claims or charges of {filename} were saved while it was being imported (is another import "
            "of it running?). Nothing was imported; import the file again."
        ) from None
    if result.errors:
        # The transaction rolls back: what this run created is gone again.
        for outcome in result.claims:
            if outcome.outcome == CREATED:
                outcome.outcome, outcome.claim, outcome.message = NOT_IMPORTED, "", ""
        result.created = 0
        result.patients_created = result.guarantors_created = result.coverages_created = 0
        result.accounts_created = result.charges_created = result.charges_linked = 0
        raise IntakeRejected(result)
    event_record(
        organization=organization,
        subject=organization,
        kind="claims.intake837.completed",
        summary=f"837 file {filename}: {result.summary()}",
        by=by,
        data={k: v for k, v in result.as_dict().items() if k not in ("claims", "errors", "diagnostics")},
    )
    return result
