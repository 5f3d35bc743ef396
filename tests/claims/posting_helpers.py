"""Shared set-up for posting tests: a payer, a patient with coverage, an account with real
charges (posted through the ledger) and a submitted claim over them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from accounts.models import Coverage
from accounts.services import ChargeInput, charge_post
from claims.models import Claim, ClaimLine
from tests.factories import PayerFactory
from tests.factories.accounts import AccountFactory, CoverageFactory, PatientFactory
from tests.factories.payers import PlanFactory

SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[2].parent / "shared" / "x12-samples"


def make_payer(org, name="RUSHMORE LIFE", edi="1935665544"):
    return PayerFactory(organization=org, name=name, edi_payer_id=edi)


def billed_claim(org, payer, pcn, lines, by, *, secondary_payer=None, member_id=None, last_name=None):
    """``lines``: [(code, service_date, amount)]. Returns the claim."""
    patient = PatientFactory(organization=org, **({"last_name": last_name} if last_name else {}))
    plan = PlanFactory(organization=org, payer=payer)
    coverage = CoverageFactory(
        organization=org,
        patient=patient,
        plan=plan,
        effective_from=date(2000, 1, 1),
        **({"member_id": member_id} if member_id else {}),
    )
    if secondary_payer is not None:
        CoverageFactory(
            organization=org,
            patient=patient,
            plan=PlanFactory(organization=org, payer=secondary_payer),
            priority=Coverage.Priority.SECONDARY,
            effective_from=date(2000, 1, 1),
        )
    first = min(d for _c, d, _a in lines)
    account = AccountFactory(organization=org, patient=patient, account_number=pcn, service_from=first)
    charges = charge_post(
        account=account,
        items=[
            ChargeInput(
                service_date=d, code_type="cpt", code=code, amount=Decimal(str(a)), diagnoses=("R05",)
            )
            for code, d, a in lines
        ],
        by=by,
    )
    claim = Claim.objects.create(
        organization=org,
        account=account,
        coverage=coverage,
        payer=payer,
        patient_control_number=pcn,
        kind=Claim.Kind.PROFESSIONAL,
        status=Claim.Status.SUBMITTED,
        billed_amount=sum((c.amount for c in charges), Decimal("0")),
        service_from=first,
        service_to=max(d for _c, d, _a in lines),
        submitted_on=first,
    )
    ClaimLine.objects.bulk_create(
        ClaimLine(
            claim=claim,
            line_number=n,
            charge=c,
            code_type="cpt",
            code=c.code,
            billed_amount=c.amount,
            service_from=c.service_date,
            service_to=c.service_date,
        )
        for n, c in enumerate(charges, start=1)
    )
    return claim


def edi(*segments: str, payer_id="1935665544", total="0", trace="TRACE1", day="20260315") -> bytes:
    """A minimal 835 around CLP loops (``segments`` without terminators)."""
    head = [
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *260315*1200*^*00501*"
        "000000001*0*T*:",
        "GS*HP*PAYER*PROVIDER*20260315*1200*1*X*005010X221A1",
        "ST*835*0001",
        f"BPR*I*{total}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*{day}",
        f"TRN*1*{trace}*1{payer_id}",
        "N1*PR*RUSHMORE LIFE*XV*" + payer_id,
        "N1*PE*RIVERSIDE*XX*1234567890",
        "LX*1",
    ]
    body = list(segments)
    tail = [f"SE*{len(head) - 2 + len(body) + 1}*0001", "GE*1*1", "IEA*1*000000001"]
    return ("~\n".join(head + body + tail) + "~\n").encode()


def bucket(account, coverage_id):
    from accounts.models import AccountBucket

    row = AccountBucket.objects.filter(account=account, coverage_id=coverage_id).first()
    return row.balance if row else Decimal("0.00")


TODAY = date(2026, 3, 15)
