"""Post stored claim payments to the ledger, in chunks that each commit whole.

A chunk takes up to ``CHUNK`` pending claim payments of a file with ``FOR UPDATE SKIP
LOCKED``, posts them, and marks them posted in the same transaction: a crash loses only
the chunk in flight, which the next run posts; two workers on the same file never take
the same claim payment. Within a chunk everything is set-based (a fixed number of
statements per chunk, whatever its size).

What each claim payment becomes (DOMAIN §1.2-1.4):
- the payment (CLP04) as an insurance payment on the claim's coverage bucket;
- CO (and legacy CR) as contractual adjustments, PI and OA as other adjustments;
- PR moved to the next coverage when there is one, else to the patient;
- a denied claim or line (CLP02=4, or nothing paid with a denial reason) keeps its denied
  amount on the payer's bucket and becomes a Denial to work;
- a reversal (CLP02=22) reverses every entry the earlier posting made; the correction
  that follows posts as a new claim payment;
- paid more than billed balances through the payer's negative adjustment (e.g. CO-94);
- allowed amounts are compared with the contract: differences beyond the tolerance become
  Variances; an account that goes into credit gets a refund-review Variance.
Anything that cannot be posted as it stands becomes a PostingException with the numbers.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, get_change_reason_from_object

from accounts.ledger import EntrySpec, lock_accounts, post_entries_bulk, post_entries_many
from accounts.models import Coverage, LedgerEntry, PatientAccount
from claims.codes import (
    FORWARDED_STATUSES,
    INFORMATION_ONLY_STATUSES,
    PROCESSED_STATUSES,
    denial_category,
    is_denial_code,
)
from claims.models import (
    Claim,
    ClaimPayment,
    Denial,
    PostingException,
    ProviderAdjustment,
    RemittanceAdjustment,
    RemittanceFile,
    RemittancePayment,
    ServicePayment,
    Variance,
)
from claims.posting.match import describe_candidates, match_claims
from claims.posting.store import StoredAdjustment, StoredLine, StoredRows
from claims.x12.tokenizer import gc_paused
from core.audit import current_request_id
from core.bulk import insert_rows, update_rows
from core.models import TimelineEvent
from core.money import format_money
from payers.models import Contract, FeeScheduleEntry

ZERO = Decimal("0.00")
CHUNK = 1000
SOURCE = "835"
Kind = LedgerEntry.Kind


@dataclass
class PostingTotals:
    posted: int = 0
    matched: int = 0
    exceptions: int = 0
    denials: int = 0
    variances: int = 0
    provider_adjustments_posted: int = 0

    def add(self, other: PostingTotals) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Chunk:
    """What one chunk writes, gathered before the bulk statements."""

    postings: list[tuple[PatientAccount, EntrySpec]] = field(default_factory=list)
    reversals: list[tuple[PatientAccount, LedgerEntry, str]] = field(default_factory=list)
    exceptions: list[PostingException] = field(default_factory=list)
    denials: list[Denial] = field(default_factory=list)
    variances: list[Variance] = field(default_factory=list)
    claims: dict[int, Claim] = field(default_factory=dict)
    expected_lines: list[StoredLine] = field(default_factory=list)
    touched: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


def post_file(
    file: RemittanceFile, stored: StoredRows | None = None, *, by: Any, chunk_size: int = CHUNK
) -> PostingTotals:
    """Post every pending claim payment and provider adjustment of ``file``; safe to re-run.
    ``stored``: the rows ``store_remittance`` just wrote for it, when posting right after
    storing; lines and adjustments not found there are read from the database."""
    # Posting allocates hundreds of thousands of short-lived objects that form no cycles; with
    # the cyclic collector on, its full collections would also walk every live object, the
    # caller's parsed file included (seconds per 10,000 claims). Paused, as the reader does
    # while parsing; whatever cycles there are wait for the collector's next run.
    with gc_paused():
        return _post_file(file, stored, by=by, chunk_size=chunk_size)


def _post_file(file: RemittanceFile, stored: StoredRows | None, *, by: Any, chunk_size: int) -> PostingTotals:
    totals = PostingTotals()
    pending = ClaimPayment.objects.filter(payment__file=file, posting=ClaimPayment.Posting.PENDING)
    # The claim payments pending as posting starts, a chunk at a time in id order: finding the
    # next chunk among all of the file's claim payments (and sorting them) for every chunk
    # would make a 50,000-claim file cost fifty times a 1,000-claim one.
    ids = list(pending.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), chunk_size):
        with transaction.atomic():
            batch = list(
                ClaimPayment.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__in=ids[start : start + chunk_size], posting=ClaimPayment.Posting.PENDING)
                .order_by("id")
            )
            if batch:
                totals.add(_post_chunk(file, batch, stored, by=by))
    # Then whatever is pending still: claim payments another worker held, or made pending since.
    while True:
        with transaction.atomic():
            batch = list(
                pending.select_for_update(skip_locked=True, of=("self",)).order_by("id")[:chunk_size]
            )
            if not batch:
                break
            totals.add(_post_chunk(file, batch, stored, by=by))
    with transaction.atomic():
        totals.add(_post_provider_adjustments(file, by=by))
        _finish(file)
    return totals


def _finish(file: RemittanceFile) -> None:
    if ClaimPayment.objects.filter(payment__file=file, posting=ClaimPayment.Posting.PENDING).exists():
        return  # another worker is still posting a chunk of this file; it will finish it
    now = timezone.now()
    payments = list(RemittancePayment.objects.filter(file=file))
    open_exceptions = set(
        PostingException.objects.filter(payment__file=file, status__in=["open", "in_progress"]).values_list(
            "payment_id", flat=True
        )
    )
    changed = []
    for payment in payments:
        if payment.status == RemittancePayment.Status.DUPLICATE:
            continue
        payment.status = (
            RemittancePayment.Status.EXCEPTIONS
            if payment.pk in open_exceptions
            else RemittancePayment.Status.POSTED
        )
        payment.posted_at = payment.posted_at or now
        changed.append(payment)
    RemittancePayment.objects.bulk_update(changed, ["status", "posted_at"])
    file.status = (
        RemittanceFile.Status.POSTED_WITH_EXCEPTIONS if open_exceptions else RemittanceFile.Status.POSTED
    )
    file.posted_at = file.posted_at or now
    RemittanceFile.objects.filter(pk=file.pk).update(status=file.status, posted_at=file.posted_at)


def _post_chunk(
    file: RemittanceFile, batch: list[ClaimPayment], stored: StoredRows | None, *, by: Any
) -> PostingTotals:
    organization_id = file.organization_id
    payments = {p.pk: p for p in RemittancePayment.objects.filter(pk__in={cp.payment_id for cp in batch})}
    batch_ids = [cp.pk for cp in batch]
    # Right after storing, the lines and adjustments come from what the store wrote;
    # otherwise (a re-run, a resolved exception) from the database, in the same order.
    taken = stored.take(batch_ids) if stored is not None else None
    if taken is not None:
        lines_of, adjustments_of = taken
    else:
        lines_of, adjustments_of = _read_rows(batch_ids)

    # Claim payments already matched by hand (an exception being resolved) keep their claim.
    preset = {cp.pk: cp.claim_id for cp in batch if cp.claim_id}
    to_match = [cp for cp in batch if not cp.claim_id]
    matches = match_claims(
        organization_id, to_match, {cp.pk: payments[cp.payment_id].payer_id for cp in to_match}
    )
    if preset:
        claims_by_id = {
            c.pk: c for c in Claim.objects.filter(pk__in=set(preset.values())).select_related("coverage")
        }
        for cp_id, claim_id in preset.items():
            matches[cp_id] = _Preset(claims_by_id[claim_id])

    claims = [m.claim for m in matches.values() if m.claim is not None]
    accounts = lock_accounts({c.account_id for c in claims}) if claims else {}
    _refresh_claims(claims)
    coverages = _coverages_for(accounts)
    originals = _reversal_originals(organization_id, batch, matches)
    pricing = _Pricing(organization_id, claims, lines_of)

    out = _Chunk()
    totals = PostingTotals()
    now = timezone.now()
    for cp in batch:
        payment = payments[cp.payment_id]
        match = matches[cp.pk]
        _post_one(
            cp,
            payment,
            match,
            lines_of[cp.pk],
            adjustments_of[cp.pk],
            accounts,
            coverages,
            originals,
            pricing,
            out,
            totals,
            by=by,
        )
        if cp.posting == ClaimPayment.Posting.POSTED:
            cp.posted_at = now

    credit_before = {pk: a.credit_identified_on for pk, a in accounts.items()}
    post_entries_bulk(postings=out.postings, source=SOURCE, by=by)
    if out.reversals:
        post_entries_bulk(
            postings=[
                (
                    account,
                    EntrySpec(
                        kind=Kind.REVERSAL,
                        amount=-entry.amount,
                        coverage_id=entry.coverage_id,
                        reason_code=entry.reason_code,
                        memo=memo,
                        reverses=entry,
                        source_ref=ref,
                        charge=None,
                    ),
                )
                for account, entry, memo, ref in out.reversals
            ],
            source=SOURCE,
            by=by,
        )
    _credit_variances(accounts, credit_before, batch, out)

    # Set-based UPDATEs (``update_rows``): Django's bulk_update builds a CASE per row and
    # costs seconds per thousand rows.
    update_rows(
        "claims_claimpayment",
        (
            ("id", "bigint"),
            ("claim_id", "bigint"),
            ("account_id", "bigint"),
            ("match", "text"),
            ("posting", "text"),
            ("posted_at", "timestamptz"),
        ),
        [(cp.pk, cp.claim_id, cp.account_id, cp.match, cp.posting, cp.posted_at) for cp in batch],
    )
    update_rows(
        "claims_servicepayment",
        (("id", "bigint"), ("expected", "numeric"), ("claim_line_id", "bigint")),
        [(line.pk, line.expected, line.claim_line_id) for line in out.expected_lines],
    )
    if out.claims:
        claims = list(out.claims.values())
        update_rows(
            "claims_claim",
            (
                ("id", "bigint"),
                ("status", "text"),
                ("paid_amount", "numeric"),
                ("patient_responsibility", "numeric"),
                ("payer_claim_number", "text"),
                ("last_remittance_on", "date"),
                ("updated_at", "timestamptz"),
            ),
            [
                (
                    c.pk,
                    c.status,
                    c.paid_amount,
                    c.patient_responsibility,
                    c.payer_claim_number,
                    c.last_remittance_on,
                    c.updated_at,
                )
                for c in claims
            ],
        )
        _record_history(claims, by=by, reason="remittance posted")
    for rows, model in ((out.exceptions, PostingException), (out.denials, Denial), (out.variances, Variance)):
        if rows:
            bulk_create_with_history(rows, model, default_user=by)
    _timeline(organization_id, accounts, out, by)
    totals.exceptions = len(out.exceptions)
    totals.denials = len(out.denials)
    totals.variances = len(out.variances)
    return totals


def _read_rows(
    batch_ids: list[int],
) -> tuple[dict[int, list[StoredLine]], dict[int, list[StoredAdjustment]]]:
    """Lines and adjustments of these claim payments from the database (no model instances)."""
    lines_of: dict[int, list[StoredLine]] = defaultdict(list)
    for row in (
        ServicePayment.objects.filter(claim_payment_id__in=batch_ids)
        .order_by("segment_index", "id")
        .values_list(*StoredLine.__slots__)
    ):
        line = StoredLine(*row)
        lines_of[line.claim_payment_id].append(line)
    adjustments_of: dict[int, list[StoredAdjustment]] = defaultdict(list)
    for row in (
        RemittanceAdjustment.objects.filter(claim_payment_id__in=batch_ids)
        .order_by("segment_index", "id")
        .values_list(*StoredAdjustment.__slots__)
    ):
        adjustment = StoredAdjustment(*row)
        adjustments_of[adjustment.claim_payment_id].append(adjustment)
    return lines_of, adjustments_of


FRESH_CLAIM_FIELDS = (
    "status",
    "paid_amount",
    "patient_responsibility",
    "payer_claim_number",
    "last_remittance_on",
)


def _refresh_claims(claims: list[Claim]) -> None:
    """Re-read what posting changes on the matched claims once their accounts are locked.

    Matching reads claims before the locks; another worker may have posted to the same claim
    meanwhile. A claim's postings all take its account's lock, so values read now are current
    until this chunk commits (one query)."""
    if not claims:
        return
    fresh = {
        row["pk"]: row
        for row in Claim.objects.filter(pk__in={c.pk for c in claims}).values("pk", *FRESH_CLAIM_FIELDS)
    }
    for claim in claims:
        for name in FRESH_CLAIM_FIELDS:
            setattr(claim, name, fresh[claim.pk][name])


@dataclass
class _Preset:
    claim: Claim
    method: str = ClaimPayment.Match.MANUAL
    candidates: list = field(default_factory=list)


class _Coverage:
    """A coverage as posting reads it (no model instances): the responsibility order."""

    __slots__ = ("is_active", "patient_id", "payer_id", "pk", "plan_id", "priority")

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)


def _coverages_for(accounts: dict[int, PatientAccount]) -> dict[int, list[_Coverage]]:
    """Coverages of the chunk's patients, in order of responsibility (one query)."""
    patients = {a.patient_id for a in accounts.values()}
    by_patient: dict[int, list[_Coverage]] = defaultdict(list)
    if patients:
        for row in (
            Coverage.objects.filter(patient_id__in=patients)
            .order_by("patient_id", "priority", "-effective_from")
            .values_list("is_active", "patient_id", "plan__payer_id", "pk", "plan_id", "priority")
        ):
            coverage = _Coverage(*row)
            by_patient[coverage.patient_id].append(coverage)
    return by_patient


def _reversal_originals(
    organization_id: int, batch: list[ClaimPayment], matches: dict
) -> dict[int, list[LedgerEntry]]:
    """For each reversal in the chunk, the not-yet-reversed entries of the latest earlier
    posting of the same claim (two queries)."""
    wanted = {
        cp.pk: matches[cp.pk].claim.pk for cp in batch if cp.status_code == "22" and matches[cp.pk].claim
    }
    if not wanted:
        return {}
    earlier = (
        ClaimPayment.objects.filter(claim_id__in=set(wanted.values()), posting=ClaimPayment.Posting.POSTED)
        .exclude(status_code="22")
        .order_by("-id")
        .values_list("claim_id", "reference", "id")
    )
    refs_by_claim: dict[int, list[str]] = defaultdict(list)
    for claim_id, reference, _id in earlier:
        refs_by_claim[claim_id].append(str(reference))
    all_refs = [r for refs in refs_by_claim.values() for r in refs]
    entries_by_ref: dict[str, list[LedgerEntry]] = defaultdict(list)
    # The organization is what the (organization, source, source_ref) index starts with;
    # without it the database reads the whole ledger. Entries of these postings are all its own.
    for entry in LedgerEntry.objects.filter(
        organization_id=organization_id, source=SOURCE, source_ref__in=all_refs, reversed_by__isnull=True
    ).exclude(kind=Kind.REVERSAL):
        entries_by_ref[entry.source_ref].append(entry)
    result: dict[int, list[LedgerEntry]] = {}
    for cp_id, claim_id in wanted.items():
        for ref in refs_by_claim.get(claim_id, []):  # newest posting first
            if entries_by_ref.get(ref):
                result[cp_id] = entries_by_ref.pop(ref)
                break
    return result


class _Pricing:
    """Contract prices for a chunk's claims, read in two queries."""

    def __init__(self, organization_id: int, claims: list[Claim], lines_of: dict) -> None:
        payer_ids = {c.payer_id for c in claims}
        self.contracts: dict[int, list[Contract]] = defaultdict(list)
        for contract in Contract.objects.filter(
            organization_id=organization_id, payer_id__in=payer_ids
        ).order_by("plan_id", "-effective_from"):
            self.contracts[contract.payer_id].append(contract)
        codes = {line.code.upper() for lines in lines_of.values() for line in lines if line.code}
        self.entries: dict[tuple[int, str], list[FeeScheduleEntry]] = defaultdict(list)
        contract_ids = [c.pk for cs in self.contracts.values() for c in cs]
        if contract_ids and codes:
            for entry in FeeScheduleEntry.objects.filter(contract_id__in=contract_ids, code__in=codes):
                self.entries[(entry.contract_id, entry.code)].append(entry)

    def contract(self, claim: Claim, plan_id: int | None, day: date) -> Contract | None:
        for wanted_plan in (plan_id, None):
            for contract in self.contracts.get(claim.payer_id, []):
                if contract.plan_id == wanted_plan and _in_force(contract, day):
                    return contract
        return None

    def expected(
        self, contract: Contract, code: str, modifier: str, day: date, charge: Decimal
    ) -> Decimal | None:
        entries = [e for e in self.entries.get((contract.pk, code.upper()), []) if _in_force(e, day)]
        entry = next((e for e in entries if e.modifier == modifier.upper()), None) or next(
            (e for e in entries if e.modifier == ""), None
        )
        if entry is not None:
            if entry.allowed_amount is not None:
                return entry.allowed_amount
            return (charge * entry.percent_of_charges / Decimal(100)).quantize(Decimal("0.01"))
        if contract.default_percent_of_charges is not None:
            return (charge * contract.default_percent_of_charges / Decimal(100)).quantize(Decimal("0.01"))
        return None


def _in_force(row: Any, day: date) -> bool:
    return row.effective_from <= day and (row.effective_to is None or row.effective_to >= day)


def _exception(
    out: _Chunk,
    cp: ClaimPayment,
    payment: RemittancePayment,
    kind: str,
    message: str,
    details: dict | None = None,
    amount: Decimal = ZERO,
) -> None:
    cp.posting = ClaimPayment.Posting.EXCEPTION
    out.exceptions.append(
        PostingException(
            organization_id=cp.organization_id,
            kind=kind,
            payment=payment,
            claim_payment=cp,
            message=message[:500],
            details=details or {},
            amount=amount,
        )
    )


def _post_one(
    cp, payment, match, lines, adjustments, accounts, coverages, originals, pricing, out, totals, *, by
):
    label = f"claim {cp.patient_control_number or '(no control number)'}"
    if not cp.complete:
        return _exception(
            out,
            cp,
            payment,
            PostingException.Kind.INCOMPLETE,
            f"The data of {label} is incomplete or unreadable (segment {cp.segment_index}): "
            "nothing posted. Key it by hand from the paper EOB or ask the payer to resend.",
        )
    if not cp.balanced:
        adjusted = sum((a.amount for a in adjustments), ZERO)
        return _exception(
            out,
            cp,
            payment,
            PostingException.Kind.CLAIM_UNBALANCED,
            f"{label} does not balance: charge {format_money(cp.charge)} less adjustments "
            f"{format_money(adjusted)} is {format_money(cp.charge - adjusted)}, but the payer paid "
            f"{format_money(cp.paid)}. Nothing posted.",
            {"charge": str(cp.charge), "adjustments": str(adjusted), "paid": str(cp.paid)},
            cp.charge - adjusted - cp.paid,
        )
    if cp.status_code in INFORMATION_ONLY_STATUSES:
        cp.posting = ClaimPayment.Posting.NOTHING
        return None
    if cp.status_code not in PROCESSED_STATUSES | {"4", "22"}:
        return _exception(
            out,
            cp,
            payment,
            PostingException.Kind.UNKNOWN_STATUS,
            f"{label} has claim status code {cp.status_code!r}, which is not a valid 5010 status: "
            "nothing posted. Check the claim with the payer.",
            amount=cp.paid,
        )
    if match.claim is None:
        kind = PostingException.Kind.AMBIGUOUS if match.candidates else PostingException.Kind.UNMATCHED
        message = (
            f"{len(match.candidates)} claims match {label}; pick the right one."
            if match.candidates
            else f"No claim matches {label} (payer claim number {cp.payer_claim_number or 'none'})."
        )
        return _exception(
            out, cp, payment, kind, message, {"candidates": describe_candidates(match.candidates)}, cp.paid
        )
    claim = match.claim
    account = accounts[claim.account_id]
    cp.claim, cp.account, cp.match = claim, account, match.method
    totals.matched += 1
    coverage = claim.coverage or next(
        (c for c in coverages.get(account.patient_id, []) if c.payer_id == claim.payer_id), None
    )
    if coverage is None:
        return _exception(
            out,
            cp,
            payment,
            PostingException.Kind.INCOMPLETE,
            f"{label} matched a claim that names no coverage of this payer: nothing posted. "
            "Add the coverage to the claim's account, then resolve.",
            amount=cp.paid,
        )
    ref = str(cp.reference)
    day = payment.payment_date or timezone.localdate()
    memo = f"835 {payment.trace_number} {payment.payer_name}".strip()[:300]

    if cp.status_code == "22":
        entries = originals.get(cp.pk)
        if not entries:
            return _exception(
                out,
                cp,
                payment,
                PostingException.Kind.REVERSAL_WITHOUT_ORIGINAL,
                f"{label} reverses a payment of {format_money(-cp.paid)} that was never posted "
                "here: nothing reversed. Find the original payment, then resolve.",
                amount=cp.paid,
            )
        for entry in entries:
            out.reversals.append((account, entry, f"Reversal by payer: {memo}"[:300], ref))
        _claim_update(out, claim, Claim.Status.REVERSED, cp, day)
        cp.posting = ClaimPayment.Posting.POSTED
        totals.posted += 1
        out.touched[account.pk].append(f"reversal of {format_money(-cp.paid)} for {label}")
        return None

    next_coverage = next(
        (c for c in coverages.get(account.patient_id, []) if c.is_active and c.priority > coverage.priority),
        None,
    )
    claim_denied = cp.status_code == "4" or (
        cp.paid == ZERO and any(is_denial_code(a.reason) for a in adjustments if a.group != "PR")
    )
    denied_lines = set()
    if not claim_denied:
        for line in lines:
            line_adjustments = [a for a in adjustments if a.service_payment_id == line.pk]
            if line.paid == ZERO and any(
                is_denial_code(a.reason) for a in line_adjustments if a.group != "PR"
            ):
                denied_lines.add(line.pk)

    if cp.paid:
        out.postings.append(
            (
                account,
                EntrySpec(
                    kind=Kind.INSURANCE_PAYMENT,
                    amount=-cp.paid,
                    coverage_id=coverage.pk,
                    reason_code=f"CLP-{cp.status_code}",
                    memo=memo,
                    effective_date=day,
                    source_ref=ref,
                ),
            )
        )
    patient_share = ZERO
    for adjustment in adjustments:
        if adjustment.amount == ZERO:
            continue
        code = f"{adjustment.group}-{adjustment.reason}"
        if adjustment.group == "PR":
            patient_share += adjustment.amount
            target = next_coverage.pk if next_coverage else None
            group = uuid.uuid4()
            out.postings.append(
                (
                    account,
                    EntrySpec(
                        kind=Kind.TRANSFER,
                        amount=-adjustment.amount,
                        coverage_id=coverage.pk,
                        reason_code=code,
                        memo=memo,
                        transfer_group=group,
                        effective_date=day,
                        source_ref=ref,
                    ),
                )
            )
            out.postings.append(
                (
                    account,
                    EntrySpec(
                        kind=Kind.TRANSFER,
                        amount=adjustment.amount,
                        coverage_id=target,
                        reason_code=code,
                        memo=memo,
                        transfer_group=group,
                        effective_date=day,
                        source_ref=ref,
                    ),
                )
            )
            continue
        if claim_denied or adjustment.service_payment_id in denied_lines:
            continue  # the denied amount stays with the payer until the denial is worked
        kind = Kind.CONTRACTUAL_ADJUSTMENT if adjustment.group in ("CO", "CR") else Kind.OTHER_ADJUSTMENT
        out.postings.append(
            (
                account,
                EntrySpec(
                    kind=kind,
                    amount=-adjustment.amount,
                    coverage_id=coverage.pk,
                    reason_code=code,
                    memo=memo,
                    effective_date=day,
                    source_ref=ref,
                ),
            )
        )

    common = {
        "organization_id": cp.organization_id,
        "claim_payment": cp,
        "claim": claim,
        "account": account,
        "payer_id": claim.payer_id,
        "denied_on": day,
    }
    if claim_denied:
        codes = [a.reason for a in adjustments if a.group != "PR"]
        category, action = denial_category(codes)
        out.denials.append(
            Denial(
                level="claim",
                group_codes=sorted({a.group for a in adjustments}),
                carc_codes=list(dict.fromkeys(codes)),
                rarc_codes=list(cp.remark_codes),
                category=category,
                recommended_action=action[:300],
                denied_amount=cp.charge - cp.paid - patient_share,
                **common,
            )
        )
    for line in lines:
        if line.pk not in denied_lines:
            continue
        line_adjustments = [a for a in adjustments if a.service_payment_id == line.pk and a.group != "PR"]
        codes = [a.reason for a in line_adjustments]
        category, action = denial_category(codes)
        out.denials.append(
            Denial(
                level="line",
                service_payment_id=line.pk,
                group_codes=sorted({a.group for a in line_adjustments}),
                carc_codes=list(dict.fromkeys(codes)),
                rarc_codes=list(dict.fromkeys(list(line.remark_codes) + list(cp.remark_codes))),
                category=category,
                recommended_action=action[:300],
                denied_amount=sum((a.amount for a in line_adjustments), ZERO),
                service_code=line.code,
                **common,
            )
        )
    if not claim_denied:
        _variances(cp, claim, coverage, lines, adjustments, denied_lines, pricing, out, day)

    if claim_denied:
        status = Claim.Status.DENIED
    elif cp.status_code in FORWARDED_STATUSES or cp.crossover_carrier:
        status = Claim.Status.FORWARDED
    elif denied_lines:
        status = Claim.Status.PARTIALLY_PAID
    else:
        status = Claim.Status.PAID
    _claim_update(out, claim, status, cp, day)
    cp.posting = ClaimPayment.Posting.POSTED
    totals.posted += 1
    out.touched[account.pk].append(f"{format_money(cp.paid)} paid on {label}")
    return None


def _claim_update(out: _Chunk, claim: Claim, status: str, cp: ClaimPayment, day: date) -> None:
    claim = out.claims.setdefault(claim.pk, claim)
    if claim.status != status and claim.can_transition_to(status):
        claim.status = status
    claim.paid_amount += cp.paid
    claim.patient_responsibility = cp.patient_responsibility if cp.status_code != "22" else ZERO
    if cp.payer_claim_number and not claim.payer_claim_number:
        claim.payer_claim_number = cp.payer_claim_number
    claim.last_remittance_on = day
    claim.updated_at = timezone.now()


def _variances(cp, claim, coverage, lines, adjustments, denied_lines, pricing, out, day) -> None:
    plan_id = coverage.plan_id
    contract = pricing.contract(claim, plan_id, claim.service_from)
    if contract is None:
        return
    common = {
        "organization_id": cp.organization_id,
        "claim_payment": cp,
        "claim": claim,
        "account_id": claim.account_id,
        "payer_id": claim.payer_id,
        "contract": contract,
        "identified_on": day,
    }
    for line in lines:
        if line.pk in denied_lines:
            continue
        line_day = line.service_from or claim.service_from
        modifier = line.modifiers[0] if line.modifiers else ""
        expected = pricing.expected(contract, line.code, modifier, line_day, line.charge)
        if expected is None:
            continue
        line.expected = expected
        out.expected_lines.append(line)
        patient = sum(
            (a.amount for a in adjustments if a.service_payment_id == line.pk and a.group == "PR"), ZERO
        )
        allowed = line.allowed if line.allowed is not None else line.paid + patient
        difference = expected - allowed
        if abs(difference) > contract.variance_tolerance:
            kind = Variance.Kind.UNDERPAYMENT if difference > 0 else Variance.Kind.OVERPAYMENT
            out.variances.append(
                Variance(
                    kind=kind,
                    service_payment_id=line.pk,
                    expected_amount=expected,
                    allowed_amount=allowed,
                    paid_amount=line.paid,
                    variance_amount=difference,
                    service_code=line.code,
                    **common,
                )
            )
    if not lines and contract.default_percent_of_charges is not None:
        expected = (cp.charge * contract.default_percent_of_charges / Decimal(100)).quantize(Decimal("0.01"))
        patient = sum((a.amount for a in adjustments if a.group == "PR"), ZERO)
        allowed = cp.allowed if cp.allowed is not None else cp.paid + patient
        difference = expected - allowed
        if abs(difference) > contract.variance_tolerance:
            kind = Variance.Kind.UNDERPAYMENT if difference > 0 else Variance.Kind.OVERPAYMENT
            out.variances.append(
                Variance(
                    kind=kind,
                    expected_amount=expected,
                    allowed_amount=allowed,
                    paid_amount=cp.paid,
                    variance_amount=difference,
                    **common,
                )
            )


def _credit_variances(accounts, credit_before, batch, out) -> None:
    """An account this chunk put into credit goes to refund review (DOMAIN §5.8)."""
    last_cp = {}
    for cp in batch:
        if cp.account is not None and cp.posting == ClaimPayment.Posting.POSTED:
            last_cp[cp.account.pk] = cp
    for pk, account in accounts.items():
        if credit_before.get(pk) is None and account.credit_identified_on is not None and pk in last_cp:
            cp = last_cp[pk]
            out.variances.append(
                Variance(
                    organization_id=account.organization_id,
                    kind=Variance.Kind.CREDIT_BALANCE,
                    claim_payment=cp,
                    claim=cp.claim,
                    account=account,
                    payer_id=cp.claim.payer_id if cp.claim else None,
                    identified_on=account.credit_identified_on,
                    paid_amount=cp.paid,
                    variance_amount=account.balance,
                    resolution="",
                )
            )


TIMELINE_COLUMNS = (
    ("organization_id", "bigint"),
    ("kind", "text"),
    ("summary", "text"),
    ("subject_type_id", "bigint"),
    ("subject_id", "bigint"),
    ("actor_id", "bigint"),
    ("occurred_at", "timestamptz"),
    ("data", "jsonb"),
    ("request_id", "text"),
)


def _timeline(organization_id: int, accounts: dict[int, PatientAccount], out: _Chunk, by: Any) -> None:
    """One ``claims.remittance.posted`` event per account touched (set-based INSERT)."""
    if not out.touched:
        return
    content_type = ContentType.objects.get_for_model(PatientAccount).pk
    request_id = current_request_id()
    now = timezone.now()
    insert_rows(
        TimelineEvent._meta.db_table,
        TIMELINE_COLUMNS,
        [
            (
                organization_id,
                "claims.remittance.posted",
                ("Remittance posted: " + "; ".join(notes))[:300],
                content_type,
                account_id,
                by.pk if by is not None else None,
                now,
                {"items": notes[:20]},
                request_id,
            )
            for account_id, notes in out.touched.items()
        ],
    )


def _record_history(objs: list[Claim], *, by: Any, reason: str) -> None:
    """The "~" history rows simple-history's ``bulk_update_with_history`` writes for ``objs``
    (its ``bulk_history_create``: actor, date, change reason, every tracked field), inserted
    set-based instead of as one model instance per row."""
    history = Claim.history.model
    tracked = {field.attname for field in history.tracked_fields}
    columns = [
        (field.attname, field.db_type(connection))
        for field in history._meta.concrete_fields
        if field.attname != history._meta.pk.attname
    ]
    defaults = {
        field.attname: field.get_default()
        for field in history._meta.concrete_fields
        if field.attname not in tracked
    }
    rows = []
    for obj in objs:
        values = {
            **defaults,
            "history_date": getattr(obj, "_history_date", None) or timezone.now(),
            "history_user_id": getattr(getattr(obj, "_history_user", by), "pk", None),
            "history_change_reason": get_change_reason_from_object(obj) or reason,
            "history_type": "~",
            **{name: getattr(obj, name) for name in tracked},
        }
        rows.append(tuple(values[name] for name, _type in columns))
    insert_rows(history._meta.db_table, columns, rows)


def _post_provider_adjustments(file: RemittanceFile, *, by: Any) -> PostingTotals:
    """PLB interest (L6) and recoupments (WO, FB) on the account of the claim they reference."""
    totals = PostingTotals()
    rows = list(
        ProviderAdjustment.objects.select_for_update(skip_locked=True)
        .filter(payment__file=file, posting=ProviderAdjustment.Posting.PENDING)
        .select_related("payment")
        .order_by("id")
    )
    if not rows:
        return totals
    linked = [r for r in rows if r.reason in ("L6", "WO", "FB")]
    for row in rows:
        if row.reason not in ("L6", "WO", "FB"):
            row.posting = ProviderAdjustment.Posting.NOTHING
    references = {part for r in linked for part in _reference_parts(r.reference)}
    claims: dict[str, list[Claim]] = defaultdict(list)
    if references:
        for claim in (
            Claim.objects.filter(organization_id=file.organization_id)
            .filter(Q(payer_claim_number__in=references) | Q(patient_control_number__in=references))
            .select_related("coverage")
        ):
            claims[claim.payer_claim_number].append(claim)
            claims[claim.patient_control_number].append(claim)
    found: dict[int, Claim] = {}
    for row in linked:
        candidates = {c.pk: c for part in _reference_parts(row.reference) for c in claims.get(part, [])}
        if len(candidates) == 1:
            found[row.pk] = next(iter(candidates.values()))
    accounts = lock_accounts({c.account_id for c in found.values()}) if found else {}
    postings: list[tuple[PatientAccount, EntrySpec]] = []
    exceptions = []
    now = timezone.now()
    for row in linked:
        claim = found.get(row.pk)
        what = "interest" if row.reason == "L6" else "recoupment"
        if claim is None or claim.coverage_id is None:
            row.posting = ProviderAdjustment.Posting.EXCEPTION
            exceptions.append(
                PostingException(
                    organization_id=file.organization_id,
                    kind=PostingException.Kind.PROVIDER_ADJUSTMENT,
                    payment=row.payment,
                    provider_adjustment=row,
                    amount=row.amount,
                    message=(
                        f"Provider-level {what} ({row.reason}) of {format_money(-row.amount)} references "
                        f"{row.reference or 'no claim'}, which matches no single claim: place it by hand."
                    ),
                )
            )
            continue
        account = accounts[claim.account_id]
        memo = f"835 PLB {row.reason} {row.reference} {row.payment.trace_number}".strip()[:300]
        day = row.payment.payment_date or timezone.localdate()
        ref = f"plb:{row.pk}"
        if row.reason == "L6":
            # Interest is cash received on the claim, not a reduction of what is owed: the payment
            # and an equal other adjustment keep the balance where it was.
            postings.append(
                (
                    account,
                    EntrySpec(
                        kind=Kind.INSURANCE_PAYMENT,
                        amount=row.amount,
                        coverage_id=claim.coverage_id,
                        reason_code="PLB-L6",
                        memo=memo,
                        effective_date=day,
                        source_ref=ref,
                    ),
                )
            )
            postings.append(
                (
                    account,
                    EntrySpec(
                        kind=Kind.OTHER_ADJUSTMENT,
                        amount=-row.amount,
                        coverage_id=claim.coverage_id,
                        reason_code="PLB-L6-INT",
                        memo="Interest paid by payer",
                        effective_date=day,
                        source_ref=ref,
                    ),
                )
            )
        else:
            # A recoupment takes back money already paid on the claim: the payer's bucket owes again.
            postings.append(
                (
                    account,
                    EntrySpec(
                        kind=Kind.INSURANCE_PAYMENT,
                        amount=row.amount,
                        coverage_id=claim.coverage_id,
                        reason_code=f"PLB-{row.reason}",
                        memo=memo,
                        effective_date=day,
                        source_ref=ref,
                    ),
                )
            )
        row.claim, row.account = claim, account
        row.posting = ProviderAdjustment.Posting.POSTED
        row.posted_at = now
        totals.provider_adjustments_posted += 1
    postings = [(a, s) for a, s in postings if s.amount != ZERO]
    post_entries_many(postings=postings, source=SOURCE, by=by)
    ProviderAdjustment.objects.bulk_update(rows, ["posting", "claim", "account", "posted_at"])
    if exceptions:
        bulk_create_with_history(exceptions, PostingException, default_user=by)
    totals.exceptions += len(exceptions)
    return totals


def _reference_parts(reference: str) -> list[str]:
    """PLB03-2 often holds the ICN and the patient control number together ("ICN PCN")."""
    parts = [reference.strip()] if reference.strip() else []
    parts += [p for p in reference.replace(":", " ").split() if p and p not in parts]
    return parts
