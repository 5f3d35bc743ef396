"""Demo remittances: one 835 per demo organization, paying most of its submitted claims,
denying a few (authorization, timely filing), with one claim nobody can match, posted
through the real import so the inbox, exceptions, denials and variances have work in them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from claims.models import Claim, RemittanceFile
from claims.services.remittances import remittance_import
from claims.x12.writer835 import Claim835, Line835, render_835
from core.audit import audit_context
from core.money import quantize_cents
from staff.models import Membership, Organization, Role

ZERO = Decimal("0.00")


def _paid_line(line, rate: Decimal) -> Line835:
    allowed = quantize_cents(line.billed_amount * rate)
    coinsurance = quantize_cents(allowed * Decimal("0.20"))
    return Line835(
        code=line.code or "99213",
        service_date=line.service_from,
        charge=line.billed_amount,
        paid=allowed - coinsurance,
        adjustments=[("CO", "45", line.billed_amount - allowed), ("PR", "2", coinsurance)],
    )


def _denied_line(line, reason: str) -> Line835:
    return Line835(
        code=line.code or "99213",
        service_date=line.service_from,
        charge=line.billed_amount,
        paid=ZERO,
        adjustments=[("CO", reason, line.billed_amount)],
    )


def seed_organization(organization: Organization) -> bool:
    if RemittanceFile.objects.filter(organization=organization).exists():
        return False
    claims = list(
        Claim.objects.filter(organization=organization, status=Claim.Status.SUBMITTED)
        .select_related("payer", "account__patient", "coverage")
        .prefetch_related("lines")
        .order_by("id")[:40]
    )
    by_payer: dict[int, list[Claim]] = {}
    for claim in claims:
        if claim.payer.edi_payer_id and all(line.billed_amount > 0 for line in claim.lines.all()):
            by_payer.setdefault(claim.payer_id, []).append(claim)
    if not by_payer:
        return False
    payer_claims = max(by_payer.values(), key=len)
    payer = payer_claims[0].payer
    remit: list[Claim835] = []
    for n, claim in enumerate(payer_claims[:25]):
        lines = list(claim.lines.all())
        if not lines:
            continue
        if n in (3, 11):
            reason = "197" if n == 3 else "29"
            out = [_denied_line(line, reason) for line in lines]
            status = "4"
        else:
            out = [_paid_line(line, Decimal("0.62") if n % 7 else Decimal("0.48")) for line in lines]
            status = "1"
        patient = claim.account.patient
        remit.append(
            Claim835(
                patient_control_number=claim.patient_control_number,
                status_code=status,
                payer_claim_number=f"ICN{claim.pk:08d}",
                lines=out,
                patient_last_name=patient.last_name.upper(),
                patient_first_name=patient.first_name.upper(),
                member_id=claim.coverage.member_id if claim.coverage else "",
            )
        )
    template = payer_claims[0].lines.all()[0]
    remit.append(
        Claim835(
            patient_control_number="ZZ-NOT-OURS-1",
            status_code="1",
            payer_claim_number="ICN99999999",
            lines=[_paid_line(template, Decimal("0.60"))],
        )
    )
    day = timezone.localdate() - timedelta(days=2)
    content = render_835(
        payer_name=payer.name.upper()[:60],
        payer_id=payer.edi_payer_id,
        payee_name=organization.name.upper()[:60],
        payee_npi="1234567893",
        trace_number=f"EFT{organization.pk:03d}{day:%Y%m%d}",
        payment_date=day,
        claims=remit,
    )
    by = _poster(organization)
    if by is None:
        return False
    with audit_context(actor=by, reason="demo data"):
        remittance_import(
            organization=organization,
            data=content.encode(),
            filename=f"era-{payer.edi_payer_id}-{day:%Y%m%d}.835",
            channel=RemittanceFile.Channel.COMMAND,
            by=by,
        )
    return True


def _poster(organization: Organization):
    """The demo person who posts remittances there (the ledger names who did the work)."""
    membership = (
        Membership.objects.filter(
            organization=organization,
            role__in=[Role.POSTING_SPECIALIST, Role.SUPERVISOR],
            user__is_active=True,
        )
        .select_related("user")
        .order_by("role", "pk")
        .first()
    )
    return membership.user if membership else None


def seed() -> int:
    """Returns how many organizations got a demo remittance."""
    return sum(seed_organization(o) for o in Organization.objects.filter(is_active=True).order_by("pk"))
