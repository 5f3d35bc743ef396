"""Demo payer master for each demo organization (``manage.py seed_demo``), also used by
``manage.py seed_scale`` for its bench organization.

Per organization: Medicare, the state's Medicaid program, two commercial payers, a
Medicare Advantage plan and, for a pharmacy, a PBM with its BIN and PCNs; plans for each;
payer rules with timely filing and appeal levels (numbers from DOMAIN.md §0 and §5.5);
one contract with a fee schedule; two payer notices.

Commercial payers, phone numbers (555-01xx), EDI ids, BIN and PCNs are made up. Fee
schedules list HCPCS Level II codes and CPT-format codes as opaque strings only: CPT
descriptors are AMA-licensed and never appear in the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from simple_history.utils import bulk_create_with_history

from payers.models import AppealLevel, Contract, FeeScheduleEntry, Payer, PayerNotice, PayerRule, Plan
from staff.models import Organization

RULES_FROM = date(2020, 1, 1)
TIMELY_FILING_CHANGE = date(2026, 1, 1)


@dataclass(frozen=True)
class StateMedicaid:
    state: str
    name: str
    edi_payer_id: str


# The state program each demo organization bills; any other organization gets Illinois's.
MEDICAID = {
    "riverside": StateMedicaid("IL", "Illinois Medicaid (HFS)", "MCDIL"),
    "corner-drug": StateMedicaid("NY", "New York State Medicaid (eMedNY)", "MCDNY"),
    "summit-ma": StateMedicaid("CO", "Health First Colorado (Colorado Medicaid)", "MCDCO"),
}
DEFAULT_MEDICAID = MEDICAID["riverside"]

# Appeal levels: (name, filing days after the decision, days the payer has to decide).
MEDICARE_APPEALS = [
    ("Redetermination (MAC)", 120, 60),
    ("Reconsideration (QIC)", 180, 60),
    ("ALJ hearing (OMHA)", 60, 90),
    ("Medicare Appeals Council review", 60, 90),
]
MEDICARE_ADVANTAGE_APPEALS = [
    ("Plan reconsideration (payment)", 65, 60),
    ("Independent review entity (forwarded by the plan)", 0, 60),
    ("ALJ hearing (OMHA)", 60, 90),
    ("Medicare Appeals Council review", 60, 90),
]
MEDICAID_APPEALS = [
    ("Provider reconsideration", 60, 30),
    ("State fair hearing", 120, 90),
]
COMMERCIAL_APPEALS = [
    ("Internal appeal (post-service)", 180, 60),
    ("External review", 120, 45),
]
PART_D_APPEALS = [
    ("Redetermination (payment)", 65, 14),
    ("Independent review entity reconsideration", 65, 14),
]


@dataclass(frozen=True)
class PayerSpec:
    key: str
    name: str
    kind: str
    edi_payer_id: str
    phone: str
    plans: list[tuple[str, str, str]]  # product, group number, plan type
    timely_filing_days: int
    corrected_claim_days: int
    follow_up_days: int
    appeals: list[tuple[str, int, int]]
    notes: str = ""
    secondary_crossover: bool = False
    bin: str = ""
    pcn: str = ""
    portal_url: str = ""


def _payers(medicaid: StateMedicaid, *, pharmacy: bool) -> list[PayerSpec]:
    specs = [
        PayerSpec(
            key="medicare",
            name="Medicare",
            kind=Payer.Kind.MEDICARE,
            edi_payer_id="MCR01",
            phone="8005550101",
            plans=[
                ("Original Medicare Part A", "", Plan.PlanType.GOVERNMENT),
                ("Original Medicare Part B", "", Plan.PlanType.GOVERNMENT),
            ],
            timely_filing_days=365,
            corrected_claim_days=365,
            follow_up_days=30,
            appeals=MEDICARE_APPEALS,
            secondary_crossover=True,
            notes="12 months from the date of service (42 CFR 424.44); clerical errors go to reopening "
            "(1 year, 4 years for good cause). Judicial review after the Council: 60 days.",
        ),
        PayerSpec(
            key="medicaid",
            name=medicaid.name,
            kind=Payer.Kind.MEDICAID,
            edi_payer_id=medicaid.edi_payer_id,
            phone="8005550102",
            plans=[("Medicaid fee-for-service", "", Plan.PlanType.GOVERNMENT)],
            timely_filing_days=365,
            corrected_claim_days=365,
            follow_up_days=45,
            appeals=MEDICAID_APPEALS,
            notes="12 months from the date of service; claims after Medicare or another payer: "
            "6 months from that payer's decision (42 CFR 447.45(d)).",
        ),
        PayerSpec(
            key="commercial_a",
            name="Prairie Blue Health",
            kind=Payer.Kind.COMMERCIAL,
            edi_payer_id="PBH01",
            phone="8005550103",
            portal_url="https://providers.prairieblue.example.com/",
            plans=[
                ("Prairie Blue PPO", "PB-40021", Plan.PlanType.PPO),
                ("Prairie Blue HMO", "PB-40022", Plan.PlanType.HMO),
                ("Prairie Blue HSA 3000", "PB-40023", Plan.PlanType.HDHP),
            ],
            timely_filing_days=90,
            corrected_claim_days=90,
            follow_up_days=30,
            appeals=COMMERCIAL_APPEALS,
            notes="Participating providers: 90 days from the date of service.",
        ),
        PayerSpec(
            key="commercial_b",
            name="Lakeview Health Plans",
            kind=Payer.Kind.COMMERCIAL,
            edi_payer_id="LKV02",
            phone="8005550104",
            portal_url="https://provider.lakeviewhealth.example.com/",
            plans=[
                ("Lakeview Choice EPO", "LV-7710", Plan.PlanType.EPO),
                ("Lakeview Open Access POS", "LV-7720", Plan.PlanType.POS),
            ],
            timely_filing_days=180,
            corrected_claim_days=180,
            follow_up_days=45,
            appeals=COMMERCIAL_APPEALS,
            notes="180 days from the date of service until 31 December 2025.",
        ),
        PayerSpec(
            key="medicare_advantage",
            name="Summit Medicare Advantage",
            kind=Payer.Kind.MEDICARE_ADVANTAGE,
            edi_payer_id="SMA03",
            phone="8005550105",
            portal_url="https://providers.summit-ma.example.com/",
            plans=[
                ("Summit Advantage HMO", "H9999-001", Plan.PlanType.HMO),
                ("Summit Advantage PPO", "H9999-002", Plan.PlanType.PPO),
            ],
            timely_filing_days=365,
            corrected_claim_days=365,
            follow_up_days=30,
            appeals=MEDICARE_ADVANTAGE_APPEALS,
            notes="One year from the date of service. Unfavourable reconsiderations are forwarded "
            "to the independent review entity by the plan (42 CFR 422.592).",
        ),
    ]
    if pharmacy:
        specs.append(
            PayerSpec(
                key="pbm",
                name="Keystone Rx Benefits",
                kind=Payer.Kind.PBM,
                edi_payer_id="KRX04",
                phone="8005550106",
                bin="019901",
                pcn="KRXCOMM",
                portal_url="https://pharmacy.keystonerx.example.com/",
                plans=[
                    ("Keystone Commercial Rx", "KRX-COMM", Plan.PlanType.OTHER),
                    ("Keystone Medicare Part D PDP", "KRXMEDD", Plan.PlanType.PART_D),
                ],
                timely_filing_days=90,
                corrected_claim_days=90,
                follow_up_days=14,
                appeals=PART_D_APPEALS,
                notes="Claims are adjudicated at the point of sale; reversals and resubmissions within "
                "90 days of the fill. Part D claims use PCN KRXMEDD.",
            )
        )
    return specs


# The fee schedule of the demo contract: code, modifier, allowed amount. CPT-format codes
# are opaque strings here (no descriptors); the HCPCS Level II codes are public domain.
FEE_SCHEDULE = [
    ("99203", "", "112.40"),
    ("99213", "", "92.15"),
    ("99214", "", "131.30"),
    ("99215", "", "184.10"),
    ("99283", "", "142.00"),
    ("99284", "", "236.50"),
    ("99285", "", "348.75"),
    ("36415", "", "8.50"),
    ("85025", "", "10.35"),
    ("80053", "", "13.90"),
    ("93000", "", "16.80"),
    ("71046", "", "31.20"),
    ("71046", "26", "10.40"),
    ("97110", "", "29.60"),
    ("20610", "", "61.25"),
    ("G0439", "", "130.45"),  # Annual wellness visit, subsequent
    ("G0008", "", "38.50"),  # Administration of influenza virus vaccine
    ("J1885", "", "1.10"),  # Injection, ketorolac tromethamine, per 15 mg
    ("J2405", "", "0.25"),  # Injection, ondansetron hydrochloride, per 1 mg
    ("J7030", "", "5.60"),  # Infusion, normal saline solution, 1000 cc
    ("J1100", "", "0.20"),  # Injection, dexamethasone sodium phosphate, 1 mg
    ("E0114", "", "28.90"),  # Crutches, underarm, other than wood, adjustable or fixed, pair
    ("L3908", "", "52.70"),  # Wrist hand orthosis, wrist extension control cock-up, prefabricated
]


def _notices(payers: dict[str, Payer], *, pharmacy: bool) -> list[tuple[str, str, date, list[Payer]]]:
    notices = [
        (
            "Lakeview Health Plans: timely filing is 90 days for services from 1 January 2026",
            "Lakeview shortened its timely filing limit for participating providers from 180 to 90 days "
            "from the date of service. Services before 1 January 2026 keep the 180-day limit. File "
            "Lakeview claims the week of service; corrected claims also have 90 days.",
            TIMELY_FILING_CHANGE,
            [payers["commercial_b"]],
        ),
    ]
    if pharmacy:
        notices.append(
            (
                "Keystone Rx: Medicare Part D claims move to PCN KRXMEDD",
                "Submit Part D claims with BIN 019901 and PCN KRXMEDD. Claims sent with the commercial "
                "PCN KRXCOMM reject with 'M/I Processor Control Number'; resubmit them with the Part D PCN.",
                date(2026, 7, 1),
                [payers["pbm"]],
            )
        )
    else:
        notices.append(
            (
                "Summit Medicare Advantage: standard prior authorization decisions within 7 days",
                "From 1 January 2026 the plan decides standard prior authorization requests within "
                "7 calendar days (was 14) and expedited requests within 72 hours (CMS-0057-F). A denial "
                "names its specific reason; follow up on requests older than 7 days.",
                date(2026, 1, 1),
                [payers["medicare_advantage"]],
            )
        )
    return notices


# Each demo payer's key by its EDI payer id (Medicaid's differs by state: it is found by kind).
PAYER_KEYS = {spec.edi_payer_id: spec.key for spec in _payers(DEFAULT_MEDICAID, pharmacy=True)}


def payers_by_key(organization: Organization) -> dict[str, Payer]:
    """The organization's demo payers by key (see ``seed_organization``)."""
    found = {}
    for payer in Payer.objects.filter(organization=organization):
        key = "medicaid" if payer.kind == Payer.Kind.MEDICAID else PAYER_KEYS.get(payer.edi_payer_id)
        if key is not None:
            found[key] = payer
    return found


def payers_present(organization: Organization) -> bool:
    return Payer.objects.filter(organization=organization).exists()


def seed_organization(
    organization: Organization, *, medicaid: StateMedicaid = DEFAULT_MEDICAID, published_by: Any
) -> dict[str, Payer]:
    """Create the payer master of one organization; returns the payers by key
    (``medicare``, ``medicaid``, ``commercial_a``, ``commercial_b``, ``medicare_advantage``
    and, for a pharmacy, ``pbm``)."""
    pharmacy = organization.kind == Organization.Kind.PHARMACY
    payers: dict[str, Payer] = {}
    with transaction.atomic():
        for spec in _payers(medicaid, pharmacy=pharmacy):
            payer = Payer.objects.create(
                organization=organization,
                name=spec.name,
                kind=spec.kind,
                edi_payer_id=spec.edi_payer_id,
                bin=spec.bin,
                pcn=spec.pcn,
                phone=spec.phone,
                fax=spec.phone[:-2] + "99",
                portal_url=spec.portal_url,
                claims_address=f"{spec.name}\nClaims\nPO Box 5550{len(payers)}\nSpringfield, IL 62794",
                appeals_address=f"{spec.name}\nAppeals\nPO Box 5551{len(payers)}\nSpringfield, IL 62794",
            )
            payers[spec.key] = payer
            for product, group, plan_type in spec.plans:
                Plan.objects.create(
                    organization=organization,
                    payer=payer,
                    name=product,
                    group_number=group,
                    plan_type=plan_type,
                )
            rule = PayerRule.objects.create(
                organization=organization,
                payer=payer,
                effective_from=RULES_FROM,
                effective_to=date(2025, 12, 31) if spec.key == "commercial_b" else None,
                timely_filing_days=spec.timely_filing_days,
                corrected_claim_days=spec.corrected_claim_days,
                follow_up_days=spec.follow_up_days,
                secondary_crossover=spec.secondary_crossover,
                notes=spec.notes,
            )
            rules = [rule]
            if spec.key == "commercial_b":
                # An effective-dated change: claims for earlier services keep the 180 days.
                rules.append(
                    PayerRule.objects.create(
                        organization=organization,
                        payer=payer,
                        effective_from=TIMELY_FILING_CHANGE,
                        timely_filing_days=90,
                        corrected_claim_days=90,
                        follow_up_days=30,
                        notes="Participating providers: 90 days after the date of service.",
                    )
                )
            for each in rules:
                for level, (name, filing_days, decision_days) in enumerate(spec.appeals, start=1):
                    AppealLevel.objects.create(
                        organization=organization,
                        rule=each,
                        level=level,
                        name=name,
                        filing_days=filing_days,
                        decision_days=decision_days,
                    )

        commercial = payers["commercial_a"]
        contract = Contract.objects.create(
            organization=organization,
            payer=commercial,
            name=f"{commercial.name} participating provider agreement",
            effective_from=date(2024, 1, 1),
            default_percent_of_charges=Decimal("55.00"),
            variance_tolerance=Decimal("1.00"),
        )
        bulk_create_with_history(
            [
                FeeScheduleEntry(
                    organization=organization,
                    contract=contract,
                    code=code,
                    modifier=modifier,
                    allowed_amount=Decimal(amount),
                    effective_from=date(2024, 1, 1),
                )
                for code, modifier, amount in FEE_SCHEDULE
            ],
            FeeScheduleEntry,
            default_user=published_by,
            default_change_reason="demo fee schedule",
        )
        for title, body, effective, about in _notices(payers, pharmacy=pharmacy):
            notice = PayerNotice.objects.create(
                organization=organization,
                title=title,
                body=body,
                effective_date=effective,
                published_by=published_by,
            )
            notice.payers.set(about)
    return payers


def seed() -> int:
    """Seed the payers of each demo organization that has none yet; returns how many were seeded."""
    from core.audit import system_user
    from staff.demo import ORGANIZATIONS
    from staff.models import User

    publisher = User.objects.filter(email="admin@demo.pfs.test").first() or system_user()
    seeded = 0
    for slug, *_rest in ORGANIZATIONS:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None or payers_present(organization):
            continue
        seed_organization(organization, medicaid=MEDICAID.get(slug, DEFAULT_MEDICAID), published_by=publisher)
        seeded += 1
    return seeded
