"""Store a read 835 as rows: file, payments, claim payments, lines, adjustments, PLB.

Runs inside the caller's transaction and writes in bulk (a handful of INSERTs whatever
the size of the file). Nothing is posted here; every claim payment starts ``pending``,
or ``nothing`` when there is nothing to post (a duplicate payment).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from claims.models import (
    ClaimPayment,
    PostingException,
    ProviderAdjustment,
    RemittanceAdjustment,
    RemittanceFile,
    RemittancePayment,
    ServicePayment,
)
from claims.x12.reader835 import Remittance835File, Transaction835
from claims.x12.tokenizer import Diagnostic
from core.money import format_money
from payers.models import Payer

ZERO = Decimal("0.00")
BATCH = 2000


def diagnostic_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "code": diagnostic.code,
        "severity": diagnostic.severity,
        "segment_index": diagnostic.segment_index,
        "message": diagnostic.message,
    }


def _payer_lookup(organization: Any) -> dict[str, Payer]:
    """Payers of the organization by EDI id and by upper-case name (one query)."""
    lookup: dict[str, Payer] = {}
    for payer in Payer.objects.filter(organization=organization):
        lookup.setdefault(f"name:{payer.name.strip().upper()}", payer)
        if payer.edi_payer_id:
            lookup.setdefault(f"id:{payer.edi_payer_id.strip().upper()}", payer)
    return lookup


def find_payer(lookup: dict[str, Payer], transaction: Transaction835) -> Payer | None:
    for key in (transaction.payer_id, transaction.trace_payer_id):
        if key and (payer := lookup.get(f"id:{key.strip().upper()}")):
            return payer
    return lookup.get(f"name:{transaction.payer_name.strip().upper()}")


def duplicate_key(payer: Payer | None, transaction: Transaction835) -> str:
    """payer | trace | date | amount (DOMAIN §1.2); empty when the payment has no trace number."""
    if not transaction.trace_number:
        return ""
    payer_part = (
        f"payer:{payer.pk}" if payer else f"trn:{transaction.trace_payer_id or transaction.payer_name}"
    )
    day = transaction.payment_date.isoformat() if transaction.payment_date else ""
    return f"{payer_part}|{transaction.trace_number.upper()}|{day}|{transaction.total_paid}"[:200]


def store_remittance(
    *,
    organization: Any,
    parsed: Remittance835File,
    content: str,
    sha256: str,
    filename: str,
    channel: str,
    by: Any,
) -> RemittanceFile:
    file = RemittanceFile.objects.create(
        organization=organization,
        filename=filename[:255],
        sha256=sha256,
        byte_size=len(content.encode()),
        channel=channel,
        content=content,
        interchange_control=parsed.interchange_control[:20],
        sender_id=parsed.sender_id[:30],
        version=parsed.version[:20],
        diagnostics=[diagnostic_dict(d) for d in parsed.diagnostics],
        received_by=by,
    )
    lookup = _payer_lookup(organization)
    payments: list[RemittancePayment] = []
    keys_seen: set[str] = set()
    candidates = [(t, find_payer(lookup, t)) for t in parsed.transactions]
    keys = [duplicate_key(payer, t) for t, payer in candidates]
    already = set(
        RemittancePayment.objects.filter(
            organization=organization, duplicate_key__in=[k for k in keys if k]
        ).values_list("duplicate_key", flat=True)
    )
    for sequence, ((transaction, payer), key) in enumerate(zip(candidates, keys, strict=True), start=1):
        duplicate = bool(key) and (key in already or key in keys_seen)
        keys_seen.add(key)
        payments.append(
            RemittancePayment(
                organization=organization,
                file=file,
                sequence=sequence,
                payer=payer,
                payer_name=transaction.payer_name[:120],
                payer_identifier=(transaction.trace_payer_id or transaction.payer_id)[:80],
                payee_name=transaction.payee_name[:120],
                payee_identifier=(transaction.payee_id or transaction.payee_tax_id)[:80],
                handling_code=transaction.handling_code[:2],
                total_paid=transaction.total_paid,
                credit_debit=transaction.credit_debit[:1],
                method=transaction.method[:3],
                payment_date=transaction.payment_date,
                trace_number=transaction.trace_number[:50],
                production_date=transaction.production_date,
                duplicate_key="" if duplicate else key,
                balanced=transaction.balanced,
                status=RemittancePayment.Status.DUPLICATE if duplicate else RemittancePayment.Status.PENDING,
                segment_index=transaction.segment_index,
                diagnostics=[diagnostic_dict(d) for d in transaction.diagnostics],
                claim_count=len(transaction.claims),
            )
        )
    RemittancePayment.objects.bulk_create(payments)

    claim_rows: list[ClaimPayment] = []
    parsed_claims = []
    plb_rows: list[ProviderAdjustment] = []
    exceptions: list[PostingException] = []
    for payment, (transaction, _payer) in zip(payments, candidates, strict=True):
        duplicate = payment.status == RemittancePayment.Status.DUPLICATE
        for sequence, claim in enumerate(transaction.claims, start=1):
            claim_rows.append(
                ClaimPayment(
                    reference=uuid.uuid4(),
                    organization=organization,
                    payment=payment,
                    sequence=sequence,
                    patient_control_number=claim.patient_control_number[:38],
                    status_code=claim.status_code[:4],
                    charge=claim.charge,
                    paid=claim.paid,
                    patient_responsibility=claim.patient_responsibility,
                    allowed=claim.allowed_amount,
                    interest=claim.interest,
                    filing_indicator=claim.filing_indicator[:2],
                    payer_claim_number=claim.payer_claim_number[:50],
                    original_reference=claim.original_reference[:50],
                    facility_type=claim.facility_type[:4],
                    frequency=claim.frequency[:1],
                    drg_code=claim.drg_code[:4],
                    patient_last_name=claim.patient_last_name[:60],
                    patient_first_name=claim.patient_first_name[:35],
                    member_id=(claim.patient_member_id or claim.insured_member_id)[:80],
                    crossover_carrier=(claim.crossover_carrier_name or claim.crossover_carrier_id)[:80],
                    statement_from=claim.statement_from,
                    statement_to=claim.statement_to,
                    received_date=claim.received_date,
                    remark_codes=[r[:8] for r in claim.remark_codes],
                    balanced=claim.balanced,
                    complete=claim.complete,
                    posting=ClaimPayment.Posting.NOTHING if duplicate else ClaimPayment.Posting.PENDING,
                    segment_index=claim.segment_index,
                    end_index=claim.end_index,
                    diagnostics=[diagnostic_dict(d) for d in claim.diagnostics],
                )
            )
            parsed_claims.append(claim)
        for plb in transaction.provider_adjustments:
            plb_rows.append(
                ProviderAdjustment(
                    organization=organization,
                    payment=payment,
                    provider_id=plb.provider_id[:50],
                    fiscal_period_date=plb.fiscal_period_date,
                    reason=plb.reason[:2],
                    reference=plb.reference[:50],
                    amount=plb.amount,
                    posting=ProviderAdjustment.Posting.NOTHING
                    if duplicate
                    else ProviderAdjustment.Posting.PENDING,
                    segment_index=plb.segment_index,
                )
            )
        if duplicate:
            exceptions.append(
                PostingException(
                    organization=organization,
                    kind=PostingException.Kind.DUPLICATE_PAYMENT,
                    payment=payment,
                    amount=payment.total_paid,
                    message=(
                        f"Payment {payment.trace_number} of {format_money(payment.total_paid)} "
                        f"dated {payment.payment_date or 'unknown'} was already received in another file "
                        "(same payer, trace number, date and amount): nothing posted."
                    ),
                )
            )
        elif not transaction.balanced and transaction.complete:
            plb_total = transaction.provider_adjustment_total
            difference = transaction.total_paid - transaction.claim_paid_total + plb_total
            exceptions.append(
                PostingException(
                    organization=organization,
                    kind=PostingException.Kind.TRANSACTION_UNBALANCED,
                    payment=payment,
                    amount=difference,
                    message=(
                        f"Payment total (BPR02) {format_money(transaction.total_paid)} is not the claims"
                        f" paid "
                        f"total {format_money(transaction.claim_paid_total)} less provider adjustments "
                        f"{format_money(plb_total)}: a difference of "
                        f"{format_money(difference)}. "
                        "Balanced claims are posted; reconcile the difference with the payer."
                    ),
                    details={
                        "bpr02": str(transaction.total_paid),
                        "claims_paid": str(transaction.claim_paid_total),
                        "provider_adjustments": str(plb_total),
                    },
                )
            )
    ClaimPayment.objects.bulk_create(claim_rows, batch_size=BATCH)
    ProviderAdjustment.objects.bulk_create(plb_rows, batch_size=BATCH)

    lines: list[ServicePayment] = []
    line_sources = []
    for row, claim in zip(claim_rows, parsed_claims, strict=True):
        for line in claim.lines:
            lines.append(
                ServicePayment(
                    claim_payment=row,
                    qualifier=line.qualifier[:2],
                    code=line.code[:48],
                    modifiers=[m[:2] for m in line.modifiers[:4]],
                    revenue_code=line.revenue_code[:4],
                    charge=line.charge,
                    paid=line.paid,
                    allowed=line.allowed_amount,
                    units_paid=line.units_paid,
                    original_code=line.original_code[:48],
                    service_from=line.service_date_from,
                    service_to=line.service_date_to or line.service_date_from,
                    line_control_number=line.line_control_number[:50],
                    remark_codes=[r[:8] for r in line.remark_codes],
                    balanced=line.balanced,
                    segment_index=line.segment_index,
                )
            )
            line_sources.append(line)
    ServicePayment.objects.bulk_create(lines, batch_size=BATCH)

    adjustments: list[RemittanceAdjustment] = []
    for row, claim in zip(claim_rows, parsed_claims, strict=True):
        for adjustment in claim.adjustments:
            adjustments.append(_adjustment(row, None, adjustment))
    for line_row, line in zip(lines, line_sources, strict=True):
        for adjustment in line.adjustments:
            adjustments.append(_adjustment(line_row.claim_payment, line_row, adjustment))
    RemittanceAdjustment.objects.bulk_create(adjustments, batch_size=BATCH)
    if exceptions:
        from simple_history.utils import bulk_create_with_history

        bulk_create_with_history(exceptions, PostingException, default_user=by)
    return file


def _adjustment(
    claim_row: ClaimPayment, line_row: ServicePayment | None, adjustment: Any
) -> RemittanceAdjustment:
    return RemittanceAdjustment(
        claim_payment=claim_row,
        service_payment=line_row,
        group=adjustment.group[:2],
        reason=adjustment.reason[:5],
        amount=adjustment.amount,
        quantity=adjustment.quantity,
        segment_index=adjustment.segment_index,
    )
