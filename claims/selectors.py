"""Reads for the posting pages: the remittance inbox and a file's payments, one claim payment
with its lines, the work queues (exceptions, denials, variances) and claim candidates.

Each function reads in a fixed number of queries whatever the file's size, so the pages
have query budgets that do not grow with the data (tests pin them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Upper

from accounts.models import PatientAccount
from claims.codes import CLAIM_STATUS_LABELS, GROUP_LABELS, carc_label
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
from claims.models.work import WorkStatus
from claims.services.codes import describe_codes
from claims.x12.tokenizer import tokenize

OPEN_STATUSES = (WorkStatus.OPEN, WorkStatus.IN_PROGRESS)
ZERO = Decimal("0.00")
CANDIDATES_SHOWN = 25

# PLB03-1 provider adjustment reasons (DOMAIN §1.2), as a posting specialist reads them.
PROVIDER_ADJUSTMENT_REASONS = {
    "50": "Late charge",
    "51": "Interest penalty charge",
    "72": "Authorized return (refund received)",
    "90": "Early payment allowance",
    "AH": "Origination fee",
    "AM": "Applied to borrower's account",
    "AP": "Acceleration of benefits",
    "B2": "Rebate",
    "B3": "Recovery allowance",
    "BD": "Bad debt adjustment",
    "BN": "Bonus",
    "C5": "Temporary allowance",
    "CR": "Capitation interest",
    "CS": "Adjustment",
    "CT": "Capitation payment",
    "CV": "Capital passthru",
    "CW": "CRNA passthru",
    "DM": "Direct medical education passthru",
    "E3": "Withholding",
    "FB": "Forwarding balance",
    "FC": "Fund allocation",
    "GO": "Graduate medical education passthru",
    "HM": "Hemophilia clotting factor supplement",
    "IP": "Incentive premium",
    "IR": "IRS withholding",
    "IS": "Interim settlement",
    "J1": "Nonreimbursable",
    "L3": "Penalty",
    "L6": "Interest owed",
    "LE": "Levy",
    "LS": "Lump sum",
    "OA": "Organ acquisition passthru",
    "OB": "Offset for affiliated providers",
    "PI": "Periodic interim payment",
    "PL": "Payment final",
    "RA": "Retro-activity adjustment",
    "RE": "Return on equity",
    "SL": "Student loan repayment",
    "TL": "Third-party liability",
    "WO": "Overpayment recovery",
    "WU": "Unspecified recovery",
}


def claim_status_meaning(code: str) -> str:
    """CLP02 in words; values outside the 5010 list still turn up in old files and are not guessed at."""
    return CLAIM_STATUS_LABELS.get(code, "Unknown status code")


def open_exception_count(**outer: str) -> Coalesce:
    """Open posting exceptions per row of the outer query (``payment__file="pk"`` and so on)."""
    rows = (
        PostingException.objects.filter(
            status__in=OPEN_STATUSES, **{k: OuterRef(v) for k, v in outer.items()}
        )
        .order_by()
        .values(next(iter(outer)))
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def _per_file(aggregate: Any, output: Any, condition: Q | None = None) -> Coalesce:
    """``aggregate`` over the payments of each file of the outer query (a correlated subquery:
    evaluated for the rows of the page only, not grouped over every file)."""
    rows = (
        RemittancePayment.objects.filter(condition or Q(), file=OuterRef("pk"))
        .order_by()
        .values("file")
        .annotate(value=aggregate)
        .values("value")
    )
    return Coalesce(Subquery(rows, output_field=output), Value(ZERO if output is MONEY else 0))


MONEY = DecimalField(max_digits=14, decimal_places=2)
COUNT = IntegerField()


# --- remittance files ---------------------------------------------------------------------------


def with_file_counts(files: QuerySet[RemittanceFile]) -> QuerySet[RemittanceFile]:
    """Live numbers per file: payments, claims, total paid (duplicates excluded), open exceptions."""
    return files.annotate(
        payment_count=_per_file(Count("pk"), COUNT),
        claim_total=_per_file(Sum("claim_count"), COUNT),
        paid_total=_per_file(Sum("total_paid"), MONEY, ~Q(status=RemittancePayment.Status.DUPLICATE)),
        open_exceptions=open_exception_count(payment__file="pk"),
    )


def remittance_files(user: Any, organization: Any) -> QuerySet[RemittanceFile]:
    """The inbox: files of the organization, without their text, with their numbers."""
    return with_file_counts(
        RemittanceFile.objects.visible_to(user)
        .in_organization(organization)
        .defer("content")
        .select_related("received_by")
    )


def file_summary(file: RemittanceFile) -> dict[str, int]:
    """What posting made of a file, counted now (exceptions worked since then included)."""
    claims = ClaimPayment.objects.filter(payment__file=file).aggregate(
        claims=Count("pk"),
        matched=Count("pk", filter=Q(claim__isnull=False)),
        posted=Count("pk", filter=Q(posting=ClaimPayment.Posting.POSTED)),
        held=Count("pk", filter=Q(posting=ClaimPayment.Posting.EXCEPTION)),
    )
    return {
        **claims,
        "exceptions": PostingException.objects.filter(payment__file=file).count(),
        "denials": Denial.objects.filter(claim_payment__payment__file=file).count(),
        "variances": Variance.objects.filter(claim_payment__payment__file=file).count(),
    }


def remittance_file_payments(
    file: RemittanceFile, *, posting: str = "", term: str = ""
) -> list[RemittancePayment]:
    """A file's payments in file order, each with its provider adjustments and claim payments
    (claim, open exceptions and denials counted): five queries however many claims.

    ``posting`` keeps only claim payments in that posting state; ``term`` only those whose
    patient control number or payer claim number starts with it.
    """
    claim_payments = (
        ClaimPayment.objects.select_related("claim")
        .annotate(
            open_exceptions=open_exception_count(claim_payment="pk"),
            denial_count=Coalesce(
                Subquery(
                    Denial.objects.filter(claim_payment=OuterRef("pk"))
                    .order_by()
                    .values("claim_payment")
                    .annotate(n=Count("pk"))
                    .values("n"),
                    output_field=IntegerField(),
                ),
                0,
            ),
        )
        .order_by("sequence")
    )
    if posting:
        claim_payments = claim_payments.filter(posting=posting)
    term = term.strip().upper()
    if term:
        claim_payments = claim_payments.annotate(pcn_upper=Upper("patient_control_number")).filter(
            Q(pcn_upper__startswith=term) | Q(payer_claim_number__istartswith=term)
        )
    return list(
        file.payments.select_related("payer")
        .prefetch_related(
            Prefetch("provider_adjustments", ProviderAdjustment.objects.order_by("segment_index", "id")),
            Prefetch("claim_payments", claim_payments),
        )
        .annotate(open_exceptions=open_exception_count(payment="pk"))
        .order_by("sequence")
    )


def diagnostic_rows(diagnostics: list[dict]) -> list[dict]:
    """Diagnostics as stored (JSON), errors first, each with its code, severity, segment and message."""
    order = {"error": 0, "warning": 1, "info": 2}
    rows = [
        {
            "code": d.get("code", ""),
            "severity": d.get("severity", ""),
            "segment_index": d.get("segment_index"),
            "message": d.get("message", ""),
        }
        for d in diagnostics or []
        if isinstance(d, dict)
    ]
    return sorted(rows, key=lambda d: order.get(d["severity"], 3))


# --- one claim payment --------------------------------------------------------------------------


@dataclass
class ClaimPaymentView:
    """What the claim payment page shows, read once."""

    claim_payment: ClaimPayment
    lines: list[ServicePayment]
    claim_adjustments: list[RemittanceAdjustment]
    exceptions: list[PostingException]
    denials: list[Denial]
    variances: list[Variance]
    remarks: list[tuple[str, str]] = field(default_factory=list)  # claim and line remark codes, with texts

    @property
    def reason_codes(self) -> list[str]:
        codes = {a.reason for a in self.claim_adjustments}
        codes.update(a.reason for line in self.lines for a in line.adjustments.all())
        return sorted(codes)

    @property
    def remark_codes(self) -> list[str]:
        codes = set(self.claim_payment.remark_codes)
        codes.update(code for line in self.lines for code in line.remark_codes)
        return sorted(codes)


def claim_payment_queryset(user: Any) -> QuerySet[ClaimPayment]:
    return (
        ClaimPayment.objects.visible_to(user)
        .select_related("organization", "payment__file", "payment__payer", "claim", "account")
        .defer("payment__file__content")
    )


def claim_payment_view(claim_payment: ClaimPayment) -> ClaimPaymentView:
    """Lines with their adjustments, claim-level adjustments, and the work posting left on it.

    Every adjustment gets ``group_label``, ``label`` (our wording, ``claims.codes``) and
    ``text`` (the official CARC text from the organization's licensed code file, if loaded);
    remark codes come with their RARC texts.
    """
    lines = list(
        claim_payment.lines.select_related("claim_line")
        .prefetch_related(
            Prefetch("adjustments", RemittanceAdjustment.objects.order_by("segment_index", "id"))
        )
        .order_by("segment_index", "id")
    )
    view = ClaimPaymentView(
        claim_payment=claim_payment,
        lines=lines,
        claim_adjustments=list(
            claim_payment.adjustments.filter(service_payment__isnull=True).order_by("segment_index", "id")
        ),
        exceptions=list(claim_payment.exceptions.select_related("assigned_to").order_by("-id")),
        denials=list(claim_payment.denials.select_related("assigned_to").order_by("-id")),
        variances=list(claim_payment.variances.select_related("assigned_to").order_by("-id")),
    )
    reasons = view.reason_codes
    organization = claim_payment.organization
    carc_texts = describe_codes(organization, "carc", reasons) if reasons else {}
    remarks = view.remark_codes
    rarc_texts = describe_codes(organization, "rarc", remarks) if remarks else {}
    # Templates read these as attributes: each adjustment with our label and the official text.
    for adjustment in [*view.claim_adjustments, *(a for line in lines for a in line.adjustments.all())]:
        adjustment.group_label = GROUP_LABELS.get(adjustment.group, "")
        adjustment.label = carc_label(adjustment.reason)
        adjustment.text = carc_texts.get(adjustment.reason, "")
    view.remarks = [(code, rarc_texts.get(code, "")) for code in remarks]
    for line in lines:
        line.remarks = [(code, rarc_texts.get(code, "")) for code in line.remark_codes]
    return view


def raw_segments(claim_payment: ClaimPayment) -> list[str]:
    """The claim's segments (CLP … its last line's last segment) as the payer wrote them.

    Read from the stored file text; empty when the file holds no X12 text (a hand-keyed
    EOB) or the stored positions do not fall inside it.
    """
    content = RemittanceFile.objects.filter(pk=claim_payment.payment.file_id).values_list(
        "content", flat=True
    )
    text = next(iter(content), "")
    if not text:
        return []
    tokens = tokenize(text)
    start, end = claim_payment.segment_index, claim_payment.end_index
    if end < start or start >= len(tokens.segments) or tokens.segments[start].tag != "CLP":
        return []
    separators = tokens.separators
    return [
        segment.text(separators.element) + separators.segment for segment in tokens.segments[start : end + 1]
    ]


# --- work queues --------------------------------------------------------------------------------


def exceptions_queue(user: Any, organization: Any) -> QuerySet[PostingException]:
    return (
        PostingException.objects.visible_to(user)
        .in_organization(organization)
        .select_related(
            "payment__payer",
            "payment__file",
            "claim_payment",
            "provider_adjustment",
            "assigned_to",
            "resolved_by",
        )
        .defer("payment__file__content", "payment__file__diagnostics", "payment__diagnostics")
    )


def denials_list(user: Any, organization: Any) -> QuerySet[Denial]:
    return (
        Denial.objects.visible_to(user)
        .in_organization(organization)
        .select_related("payer", "claim", "claim_payment", "assigned_to")
    )


def variances_list(user: Any, organization: Any) -> QuerySet[Variance]:
    return (
        Variance.objects.visible_to(user)
        .in_organization(organization)
        .select_related("payer", "claim", "claim_payment", "contract", "assigned_to")
    )


def account_stand_ins(rows: list[Any]) -> list[Any]:
    """For the PHI access log: the account each row is about, or the row itself when it has none.

    The accounts are id-only instances (no query): the log stores the subject's type and id.
    """
    subjects: list[Any] = []
    for row in rows:
        if getattr(row, "account_id", None):
            subjects.append(PatientAccount(pk=row.account_id, organization_id=row.organization_id))
        else:
            subjects.append(row)
    return subjects


# --- claims to pick when resolving an exception -------------------------------------------------


def claim_candidates(
    organization: Any, user: Any, *, term: str = "", claim_payment: Any = None, references: list[str] = ()
) -> list[Claim]:
    """Claims of ``organization`` a person may match a claim payment to.

    With ``term``: claims whose patient control number or payer claim number is ``term``
    (case-insensitive), or whose patient's last name is ``term``. Without: the claims posting
    found (``references``, an ambiguous match) and those whose control number or payer claim
    number equals the claim payment's.
    """
    claims = Claim.objects.visible_to(user).in_organization(organization)
    term = term.strip()
    if term:
        upper = term.upper()
        claims = claims.annotate(pcn_upper=Upper("patient_control_number")).filter(
            Q(pcn_upper=upper) | Q(payer_claim_number=term) | Q(account__patient__last_name__iexact=term)
        )
    elif claim_payment is not None or references:
        condition = Q(reference__in=list(references)) if references else Q()
        if claim_payment is not None and claim_payment.patient_control_number:
            claims = claims.annotate(pcn_upper=Upper("patient_control_number"))
            condition |= Q(pcn_upper=claim_payment.patient_control_number.upper())
        if claim_payment is not None and claim_payment.payer_claim_number:
            condition |= Q(payer_claim_number=claim_payment.payer_claim_number)
        if not condition:
            return []
        claims = claims.filter(condition)
    else:
        return []
    return list(
        claims.select_related("payer", "account__patient").order_by("-service_from", "-id")[:CANDIDATES_SHOWN]
    )
