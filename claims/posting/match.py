"""Match claim payments to our claims, a chunk at a time, in a fixed number of queries.

Order (the issue's rule): the patient control number first, then the payer's claim
number (CLP07, or REF*F8 for corrections), then the patient's member id with the
service dates. Several candidates that cannot be told apart are reported as ambiguous;
a match is never guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models.functions import Upper

from claims.models import Claim, ClaimPayment


@dataclass
class MatchResult:
    claim: Claim | None
    method: str
    candidates: list[Claim]


def _narrow(candidates: list[Claim], claim_payment: ClaimPayment, payer_id: int | None) -> list[Claim]:
    if payer_id is not None:
        same_payer = [c for c in candidates if c.payer_id == payer_id]
        candidates = same_payer or candidates
    if len(candidates) > 1 and claim_payment.payer_claim_number:
        by_icn = [c for c in candidates if c.payer_claim_number == claim_payment.payer_claim_number]
        candidates = by_icn or candidates
    if len(candidates) > 1:
        # A replacement supersedes the claim it corrects: the payer answers the newest one.
        superseded = {c.original_claim_id for c in candidates if c.original_claim_id}
        live = [c for c in candidates if c.pk not in superseded and c.status != Claim.Status.VOID]
        candidates = live or candidates
    return candidates


def _settle(results: dict[int, MatchResult], cp: ClaimPayment, candidates: list[Claim], method: str) -> bool:
    """Record one candidate as the match, several as ambiguous; False when there is none."""
    if not candidates:
        return False
    if len(candidates) == 1:
        results[cp.pk] = MatchResult(candidates[0], method, candidates)
    else:
        results[cp.pk] = MatchResult(None, ClaimPayment.Match.NONE, candidates)
    return True


def match_claims(
    organization_id: int, claim_payments: list[ClaimPayment], payer_ids: dict[int, int | None]
) -> dict[int, MatchResult]:
    """``payer_ids``: the payer of each claim payment's remittance payment (by claim payment id)."""
    results: dict[int, MatchResult] = {}
    claims_qs = Claim.objects.filter(organization_id=organization_id).select_related("coverage")

    pcns = {cp.patient_control_number.upper() for cp in claim_payments if cp.patient_control_number}
    by_pcn: dict[str, list[Claim]] = defaultdict(list)
    if pcns:
        for claim in claims_qs.annotate(pcn_upper=Upper("patient_control_number")).filter(pcn_upper__in=pcns):
            by_pcn[claim.pcn_upper].append(claim)

    pending: list[ClaimPayment] = []
    for cp in claim_payments:
        candidates = _narrow(by_pcn.get(cp.patient_control_number.upper(), []), cp, payer_ids.get(cp.pk))
        if not _settle(results, cp, candidates, ClaimPayment.Match.CONTROL_NUMBER):
            pending.append(cp)

    icns = {n for cp in pending for n in (cp.payer_claim_number, cp.original_reference) if n}
    by_icn: dict[str, list[Claim]] = defaultdict(list)
    if icns:
        for claim in claims_qs.filter(payer_claim_number__in=icns):
            by_icn[claim.payer_claim_number].append(claim)
    still: list[ClaimPayment] = []
    for cp in pending:
        found = by_icn.get(cp.payer_claim_number, []) or by_icn.get(cp.original_reference, [])
        candidates = _narrow(found, cp, payer_ids.get(cp.pk))
        if not _settle(results, cp, candidates, ClaimPayment.Match.PAYER_CLAIM_NUMBER):
            still.append(cp)

    member_ids = {cp.member_id.upper() for cp in still if cp.member_id}
    by_member: dict[str, list[Claim]] = defaultdict(list)
    if member_ids:
        for claim in (
            claims_qs.annotate(member_upper=Upper("coverage__member_id"))
            .filter(member_upper__in=member_ids)
            .select_related("account__patient")
        ):
            by_member[claim.member_upper].append(claim)
    for cp in still:
        day = cp.statement_from
        found = [
            c
            for c in by_member.get(cp.member_id.upper(), [])
            if day is not None
            and c.service_from <= day <= c.service_to
            and (
                not cp.patient_last_name
                or c.account.patient.last_name.strip().upper() == cp.patient_last_name.strip().upper()
            )
        ]
        candidates = _narrow(found, cp, payer_ids.get(cp.pk))
        if not _settle(results, cp, candidates, ClaimPayment.Match.PATIENT_DATES):
            results[cp.pk] = MatchResult(None, ClaimPayment.Match.NONE, candidates)
    return results


def describe_candidates(candidates: list[Any]) -> list[dict[str, str]]:
    return [
        {
            "reference": str(c.reference),
            "patient_control_number": c.patient_control_number,
            "status": c.status,
        }
        for c in candidates[:10]
    ]
