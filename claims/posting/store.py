"""Store a read 835 as rows: file, payments, claim payments, lines, adjustments, PLB.

Runs inside the caller's transaction and writes in bulk (a handful of INSERTs per 5,000
claims). Nothing is posted here; every claim payment starts ``pending``,
or ``nothing`` when there is nothing to post (a duplicate payment).
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice
from typing import Any

from django.db import connection

from claims.models import (
    ClaimPayment,
    PostingException,
    ProviderAdjustment,
    RemittanceFile,
    RemittancePayment,
)
from claims.x12.reader835 import Remittance835File, Transaction835
from claims.x12.tokenizer import Diagnostic, gc_paused
from core.bulk import insert_rows
from core.money import format_money
from payers.models import Payer

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
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
) -> tuple[RemittanceFile, StoredRows]:
    """The file stored, and the lines and adjustments written for it (posting right after
    storing takes them from there rather than reading back what was just written)."""
    # Many short-lived objects and no cycles: the cyclic collector would only walk the parsed
    # file again and again (as in the reader, it is paused).
    with gc_paused():
        return _store(
            organization=organization,
            parsed=parsed,
            content=content,
            sha256=sha256,
            filename=filename,
            channel=channel,
            by=by,
        )


def _store(
    *,
    organization: Any,
    parsed: Remittance835File,
    content: str,
    sha256: str,
    filename: str,
    channel: str,
    by: Any,
) -> tuple[RemittanceFile, StoredRows]:
    file = RemittanceFile.objects.create(
        organization=organization,
        filename=filename[:255],
        sha256=sha256,
        # Without encoding a copy of the whole file when it is ASCII (then characters are bytes).
        byte_size=len(content) if content.isascii() else len(content.encode()),
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

    plb_rows: list[ProviderAdjustment] = []
    exceptions: list[PostingException] = []
    for payment, (transaction, _payer) in zip(payments, candidates, strict=True):
        duplicate = payment.status == RemittancePayment.Status.DUPLICATE
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
            # A debit (BPR03=D) takes money back: it balances against the negative total.
            signed = -transaction.total_paid if transaction.credit_debit == "D" else transaction.total_paid
            difference = signed - transaction.claim_paid_total + plb_total
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
    ProviderAdjustment.objects.bulk_create(plb_rows, batch_size=BATCH)

    claims = (
        (payment, sequence, claim)
        for payment, (transaction, _payer) in zip(payments, candidates, strict=True)
        for sequence, claim in enumerate(transaction.claims, start=1)
    )
    stored = StoredRows()
    while piece := list(islice(claims, SLICE)):
        _store_claims(organization.pk, piece, stored)
    if exceptions:
        from simple_history.utils import bulk_create_with_history

        bulk_create_with_history(exceptions, PostingException, default_user=by)
    return file, stored


# Claim payments, service lines and adjustments are written with set-based INSERTs
# (``insert_rows``: one statement per table and slice, no model instances) a slice of claims
# at a time, so that a 50,000-claim file never holds all its rows at once. Ids of the rows
# that others reference are taken from their sequences first.
SLICE = 5000
CLAIM_PAYMENT_COLUMNS = (
    ("id", "bigint"),
    ("reference", "uuid"),
    ("organization_id", "bigint"),
    ("payment_id", "bigint"),
    ("sequence", "integer"),
    ("patient_control_number", "text"),
    ("status_code", "text"),
    ("charge", "numeric"),
    ("paid", "numeric"),
    ("patient_responsibility", "numeric"),
    ("allowed", "numeric"),
    ("interest", "numeric"),
    ("filing_indicator", "text"),
    ("payer_claim_number", "text"),
    ("original_reference", "text"),
    ("facility_type", "text"),
    ("frequency", "text"),
    ("drg_code", "text"),
    ("patient_last_name", "text"),
    ("patient_first_name", "text"),
    ("member_id", "text"),
    ("crossover_carrier", "text"),
    ("statement_from", "date"),
    ("statement_to", "date"),
    ("received_date", "date"),
    ("remark_codes", "varchar(8)[]"),
    ("balanced", "boolean"),
    ("complete", "boolean"),
    ("match", "text"),
    ("posting", "text"),
    ("segment_index", "integer"),
    ("end_index", "integer"),
    ("diagnostics", "jsonb"),
)
SERVICE_PAYMENT_COLUMNS = (
    ("id", "bigint"),
    ("claim_payment_id", "bigint"),
    ("qualifier", "text"),
    ("code", "text"),
    ("modifiers", "varchar(2)[]"),
    ("revenue_code", "text"),
    ("charge", "numeric"),
    ("paid", "numeric"),
    ("allowed", "numeric"),
    ("units_paid", "numeric"),
    ("original_code", "text"),
    ("service_from", "date"),
    ("service_to", "date"),
    ("line_control_number", "text"),
    ("remark_codes", "varchar(8)[]"),
    ("balanced", "boolean"),
    ("segment_index", "integer"),
)
ADJUSTMENT_COLUMNS = (
    ("claim_payment_id", "bigint"),
    ("service_payment_id", "bigint"),
    ("group", "text"),
    ("reason", "text"),
    ("amount", "numeric"),
    ("quantity", "numeric"),
    ("segment_index", "integer"),
)


class StoredLine:
    """A service line as stored (``ServicePayment``), as posting reads it: no model instance."""

    __slots__ = (
        "allowed",
        "charge",
        "claim_line_id",
        "claim_payment_id",
        "code",
        "expected",
        "modifiers",
        "paid",
        "pk",
        "remark_codes",
        "service_from",
    )

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)


class StoredAdjustment:
    """A CAS adjustment as stored (``RemittanceAdjustment``), as posting reads it."""

    __slots__ = ("amount", "claim_payment_id", "group", "reason", "service_payment_id")

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)


class StoredRows:
    """The lines and adjustments ``store_remittance`` wrote, by claim payment id, with the
    values the database holds (money rounded to its two decimal places), in the order
    posting reads them from the database (``segment_index``, then id)."""

    def __init__(self) -> None:
        self.lines: dict[int, list[StoredLine]] = {}
        self.adjustments: dict[int, list[StoredAdjustment]] = {}

    def take(
        self, claim_payment_ids: list[int]
    ) -> tuple[dict[int, list[StoredLine]], dict[int, list[StoredAdjustment]]] | None:
        """The rows of these claim payments, given once; None unless all of them are here."""
        if any(pk not in self.lines for pk in claim_payment_ids):
            return None
        lines = {pk: self.lines.pop(pk) for pk in claim_payment_ids}
        adjustments = {pk: self.adjustments.pop(pk) for pk in claim_payment_ids}
        return lines, adjustments


def _cents(value: Decimal | None) -> Decimal | None:
    """A money value as a ``numeric(14, 2)`` column stores it (ties away from zero). Values
    with at most two decimals are kept as they are: equal, and no new object per amount."""
    if value is None or value.as_tuple().exponent >= -2:
        return value
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _next_ids(table: str, count: int) -> list[int]:
    """``count`` new ids from ``table``'s id sequence (one statement)."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
        )
        return [row[0] for row in cursor.fetchall()]


def _store_claims(
    organization_id: int, piece: list[tuple[RemittancePayment, int, Any]], stored: StoredRows
) -> None:
    """Claim payments of one slice, then their lines, then their adjustments."""
    pending, nothing = ClaimPayment.Posting.PENDING, ClaimPayment.Posting.NOTHING
    duplicate = RemittancePayment.Status.DUPLICATE
    claim_ids = _next_ids("claims_claimpayment", len(piece))
    rows = []
    for claim_id, (payment, sequence, claim) in zip(claim_ids, piece, strict=True):
        rows.append(
            (
                claim_id,
                uuid.uuid4(),
                organization_id,
                payment.pk,
                sequence,
                claim.patient_control_number[:38],
                claim.status_code[:4],
                claim.charge,
                claim.paid,
                claim.patient_responsibility,
                claim.allowed_amount,
                claim.interest,
                claim.filing_indicator[:2],
                claim.payer_claim_number[:50],
                claim.original_reference[:50],
                claim.facility_type[:4],
                claim.frequency[:1],
                claim.drg_code[:4],
                claim.patient_last_name[:60],
                claim.patient_first_name[:35],
                (claim.patient_member_id or claim.insured_member_id)[:80],
                (claim.crossover_carrier_name or claim.crossover_carrier_id)[:80],
                claim.statement_from,
                claim.statement_to,
                claim.received_date,
                [r[:8] for r in claim.remark_codes],
                claim.balanced,
                claim.complete,
                ClaimPayment.Match.NONE,
                nothing if payment.status == duplicate else pending,
                claim.segment_index,
                claim.end_index,
                [diagnostic_dict(d) for d in claim.diagnostics],
            )
        )
    insert_rows("claims_claimpayment", CLAIM_PAYMENT_COLUMNS, rows)

    line_ids = _next_ids("claims_servicepayment", sum(len(claim.lines) for _p, _s, claim in piece))
    numbered = iter(line_ids)
    rows, adjustments = [], []
    for claim_id, (_payment, _sequence, claim) in zip(claim_ids, piece, strict=True):
        for adjustment in claim.adjustments:
            adjustments.append(_adjustment(claim_id, None, adjustment))
    for claim_id, (_payment, _sequence, claim) in zip(claim_ids, piece, strict=True):
        for line in claim.lines:
            line_id = next(numbered)
            rows.append(
                (
                    line_id,
                    claim_id,
                    line.qualifier[:2],
                    line.code[:48],
                    [m[:2] for m in line.modifiers[:4]],
                    line.revenue_code[:4],
                    line.charge,
                    line.paid,
                    line.allowed_amount,
                    line.units_paid,
                    line.original_code[:48],
                    line.service_date_from,
                    line.service_date_to or line.service_date_from,
                    line.line_control_number[:50],
                    [r[:8] for r in line.remark_codes],
                    line.balanced,
                    line.segment_index,
                )
            )
            for adjustment in line.adjustments:
                adjustments.append(_adjustment(claim_id, line_id, adjustment))
    insert_rows("claims_servicepayment", SERVICE_PAYMENT_COLUMNS, rows)
    insert_rows("claims_remittanceadjustment", ADJUSTMENT_COLUMNS, adjustments)

    for claim_id in claim_ids:
        stored.lines[claim_id] = []
        stored.adjustments[claim_id] = []
    for row in rows:  # in id order, each claim's lines in file order: as posting sorts them
        pk, claim_id, _qualifier, code, modifiers, _revenue, charge, paid, allowed = row[:9]
        stored.lines[claim_id].append(
            StoredLine(
                _cents(allowed),
                _cents(charge),
                None,
                claim_id,
                code,
                None,
                modifiers,
                _cents(paid),
                pk,
                row[14],
                row[11],
            )
        )
    # Posting reads adjustments by segment_index, then id (claim level were inserted first).
    for claim_id, line_id, group, reason, amount, _quantity, _index in sorted(
        adjustments, key=lambda a: a[6]
    ):
        stored.adjustments[claim_id].append(
            StoredAdjustment(_cents(amount), claim_id, group, reason, line_id)
        )


def _adjustment(claim_payment_id: int, service_payment_id: int | None, adjustment: Any) -> tuple:
    return (
        claim_payment_id,
        service_payment_id,
        adjustment.group[:2],
        adjustment.reason[:5],
        adjustment.amount,
        adjustment.quantity,
        adjustment.segment_index,
    )
