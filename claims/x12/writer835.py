"""Write an 835 from plain values: demo data, benchmark files and tests need remittances
that look like a payer's. Produces balanced claims (DOMAIN §1.4) from what it is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass
class Line835:
    code: str
    service_date: date
    charge: Decimal
    paid: Decimal
    adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)  # (group, reason, amount)


@dataclass
class Claim835:
    patient_control_number: str
    status_code: str
    payer_claim_number: str
    lines: list[Line835]
    patient_last_name: str = ""
    patient_first_name: str = ""
    member_id: str = ""
    claim_adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)

    @property
    def charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), ZERO) - sum(
            (a[2] for a in self.claim_adjustments), ZERO
        )

    @property
    def patient_responsibility(self) -> Decimal:
        return sum((a[2] for line in self.lines for a in line.adjustments if a[0] == "PR"), ZERO) + sum(
            (a[2] for a in self.claim_adjustments if a[0] == "PR"), ZERO
        )


def _cas(adjustments: list[tuple[str, str, Decimal]]) -> list[str]:
    by_group: dict[str, list[str]] = {}
    for group, reason, amount in adjustments:
        by_group.setdefault(group, []).append(f"{reason}*{amount}")
    return [f"CAS*{group}*" + "**".join(parts) for group, parts in by_group.items()]


def render_835(
    *,
    payer_name: str,
    payer_id: str,
    payee_name: str,
    payee_npi: str,
    trace_number: str,
    payment_date: date,
    claims: list[Claim835],
    provider_adjustments: list[tuple[str, str, Decimal]] | None = None,  # (reason, reference, amount)
) -> str:
    plbs = provider_adjustments or []
    total = sum((c.paid for c in claims), ZERO) - sum((p[2] for p in plbs), ZERO)
    day = f"{payment_date:%Y%m%d}"
    body = [
        "ST*835*0001",
        f"BPR*{'I' if total else 'H'}*{total}*C*{'ACH' if total else 'NON'}*CCP*01*999999999*DA*123456789"
        f"*1{payer_id}**01*888888888*DA*987654321*{day}",
        f"TRN*1*{trace_number}*1{payer_id}",
        f"DTM*405*{day}",
        f"N1*PR*{payer_name}*XV*{payer_id}",
        f"N1*PE*{payee_name}*XX*{payee_npi}",
        "LX*1",
    ]
    for claim in claims:
        body.append(
            f"CLP*{claim.patient_control_number}*{claim.status_code}*{claim.charge}*{claim.paid}"
            f"*{claim.patient_responsibility}*12*{claim.payer_claim_number}*11*1"
        )
        body.extend(_cas(claim.claim_adjustments))
        if claim.patient_last_name:
            body.append(
                f"NM1*QC*1*{claim.patient_last_name}*{claim.patient_first_name}****MI*{claim.member_id}"
            )
        for line in claim.lines:
            body.append(f"SVC*HC:{line.code}*{line.charge}*{line.paid}**1")
            body.append(f"DTM*472*{line.service_date:%Y%m%d}")
            body.extend(_cas(line.adjustments))
    for reason, reference, amount in plbs:
        body.append(f"PLB*{payee_npi}*{payment_date.year}1231*{reason}:{reference}*{amount}")
    body.append(f"SE*{len(body) + 1}*0001")
    header = [
        f"ISA*00*          *00*          *ZZ*{payer_id[:15]:<15}*ZZ*{payee_npi[:15]:<15}"
        f"*{payment_date:%y%m%d}*1200*^*00501*000000001*0*P*:",
        f"GS*HP*{payer_id}*{payee_npi}*{day}*1200*1*X*005010X221A1",
    ]
    return "~\n".join([*header, *body, "GE*1*1", "IEA*1*000000001"]) + "~\n"
