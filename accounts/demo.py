"""Demo patients, coverages, accounts, charges and ledger activity (``manage.py seed_demo``).

A few hundred accounts across the three demo organizations: hospital encounters and
professional visits at Riverside, prescription fills at Corner Drug, professional claims
at Summit. Everything is written through the real services (``accounts.services``), so
balances equal the ledger, history rows and timeline events exist, and permissions are
checked for the demo person who does each step. Insurance payments are posted the way
the 835 poster of the claims app will post them: ``accounts.ledger.post_entries`` inside
a transaction, after ``lock_account``.

The data are the same on every run: each patient's details come from their own
``random.Random`` seeded with the organization and the patient's number, and service
dates count back from today. A patient whose external id already exists is skipped, so a
second run creates nothing and an interrupted run is completed by the next one.

Everything is synthetic: names from common-name lists, phone numbers in the fictional
555-01xx range, e-mail addresses at example.com, made-up member ids and NDCs. Charges
carry CPT-format codes as opaque strings and chargemaster-style labels of our own (CPT
descriptors are AMA-licensed), HCPCS Level II codes, and ICD-10-CM diagnoses that are
billable, except a handful of deliberate coding mistakes that open charge edits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts import services
from accounts.choices import AdjustmentReason
from accounts.ledger import EntrySpec, lock_account, post_entries
from accounts.models import (
    ZERO,
    AccountBucket,
    AuthorizedContact,
    Coverage,
    Guarantor,
    Language,
    LedgerEntry,
    Patient,
    PatientAccount,
)
from accounts.services import ChargeInput
from core.audit import mark_change
from core.money import format_money, quantize_cents
from core.timeline import event_record
from payers import demo as payers_demo
from payers.models import Payer, Plan
from staff.models import Organization, User

SEED = 20261101

# --- organizations ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How one demo organization's patients and accounts look."""

    slug: str
    patients: int
    prefix: str  # external ids and MRNs
    area_codes: tuple[str, ...]
    places: tuple[tuple[str, str, str], ...]  # city, state, ZIP
    clerk: str  # registers patients, transfers balances, takes payments, adjusts
    poster: str  # opens accounts, posts charges and remittances
    # Share of patients by age group: minors, 18-64, 65 and over.
    ages: tuple[float, float, float]
    # Whether the self-pay scenarios (pending approval, duplicate payment) happen here; a
    # health plan's members all have its coverage.
    self_pay_scenarios: bool = True


PROFILES = [
    Profile(
        slug="riverside",
        patients=110,
        prefix="RGH",
        area_codes=("312", "773", "708"),
        places=(("Chicago", "IL", "60612"), ("Oak Park", "IL", "60302"), ("Cicero", "IL", "60804")),
        clerk="rep@demo.pfs.test",
        poster="posting@demo.pfs.test",
        ages=(0.14, 0.52, 0.34),
    ),
    Profile(
        slug="corner-drug",
        patients=70,
        prefix="CDP",
        area_codes=("718", "347"),
        places=(("Queens", "NY", "11373"), ("Brooklyn", "NY", "11220"), ("Long Island City", "NY", "11101")),
        clerk="senior@demo.pfs.test",
        poster="posting@demo.pfs.test",
        ages=(0.10, 0.55, 0.35),
    ),
    Profile(
        slug="summit-ma",
        patients=70,
        prefix="SMA",
        area_codes=("303", "720"),
        places=(("Denver", "CO", "80205"), ("Aurora", "CO", "80012"), ("Lakewood", "CO", "80226")),
        clerk="rep@demo.pfs.test",
        poster="supervisor@demo.pfs.test",
        ages=(0.0, 0.12, 0.88),
        self_pay_scenarios=False,
    ),
]
SUPERVISOR = "supervisor@demo.pfs.test"

# Scenario patients (by number), so that each organization shows these whatever the dice say.
PENDING_APPROVAL = 3  # self-pay; a courtesy adjustment above the clerk's limit waits for approval
DUPLICATE_PAYMENT = 5  # the patient paid their share twice: a patient credit balance
INSURANCE_OVERPAYMENT = 8  # the payer paid more than the balance: an insurance credit balance
SCENARIOS = {PENDING_APPROVAL, DUPLICATE_PAYMENT, INSURANCE_OVERPAYMENT}

# --- people --------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


FEMALE = _words(
    "Maria Jennifer Linda Patricia Elizabeth Susan Jessica Sarah Karen Nancy Lisa Betty Dorothy "
    "Sandra Ashley Kimberly Donna Emily Michelle Carol Amanda Melissa Deborah Stephanie Rebecca "
    "Laura Sharon Cynthia Kathleen Amy Shirley Angela Helen Anna Brenda Pamela Nicole Ruth "
    "Katherine Samantha Christine Emma Olivia Sophia Grace Aaliyah Mei Priya Fatima Ngoc"
)
MALE = _words(
    "James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel "
    "Matthew Anthony Donald Mark Paul Steven Andrew Kenneth Joshua Kevin Brian George Edward "
    "Ronald Timothy Jason Jeffrey Ryan Jacob Gary Nicholas Eric Stephen Jonathan Larry Justin "
    "Scott Frank Brandon Raymond Gregory Samuel Benjamin Patrick Wei Arjun Omar Minh"
)
LAST = _words(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin "
    "Jackson Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill "
    "Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans "
    "Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Kelly "
    "Howard Kowalski Nowak Nguyen Tran Chen Wang Kim Patel Shah Okafor Haddad O'Brien Sullivan "
    "Schmidt Novak"
)
HISPANIC_FEMALE = _words("Maria Guadalupe Rosa Ana Carmen Lucia Sofia Isabel Veronica")
HISPANIC_MALE = _words("Jose Juan Luis Carlos Jorge Miguel Alejandro Javier Ricardo")
HISPANIC_LAST = _words(
    "Garcia Rodriguez Martinez Hernandez Lopez Gonzalez Perez Sanchez Ramirez Torres Flores "
    "Rivera Gomez Diaz Reyes Morales Cruz Ortiz Gutierrez Chavez"
)
STREETS = _words(
    "Oak Maple Cedar Elm Washington Lake Hill Park Pine Sunset Lincoln Jackson Highland Madison "
    "River Church Spring Prospect"
)
STREET_KINDS = ["St", "Ave", "Blvd", "Rd", "Ln", "Dr", "Ct", "Pl"]
OTHER_LANGUAGES = [Language.VIETNAMESE, Language.CHINESE, Language.POLISH, Language.ARABIC, Language.KOREAN]


def _phone(rng: random.Random, profile: Profile) -> str:
    """A fictional number: 555-0100 to 555-0199 is reserved for fiction."""
    return f"{rng.choice(profile.area_codes)}55501{rng.randrange(100):02d}"


@dataclass
class Person:
    first_name: str
    last_name: str
    sex: str
    date_of_birth: date
    language: str
    interpreter: str


def _person(rng: random.Random, age: int, today: date) -> Person:
    language, interpreter = Language.ENGLISH, Patient.Interpreter.NONE
    roll = rng.random()
    if roll < 0.14:
        language = Language.SPANISH
        interpreter = Patient.Interpreter.SPOKEN if rng.random() < 0.7 else Patient.Interpreter.NONE
    elif roll < 0.17:
        language, interpreter = Language.ASL, Patient.Interpreter.SIGN
    elif roll < 0.21:
        language, interpreter = rng.choice(OTHER_LANGUAGES), Patient.Interpreter.SPOKEN
    sex = rng.choice([Patient.Sex.FEMALE, Patient.Sex.MALE])
    if language == Language.SPANISH or rng.random() < 0.12:
        first = rng.choice(HISPANIC_FEMALE if sex == Patient.Sex.FEMALE else HISPANIC_MALE)
        last = rng.choice(HISPANIC_LAST)
    else:
        first = rng.choice(FEMALE if sex == Patient.Sex.FEMALE else MALE)
        last = rng.choice(LAST)
    born = today - timedelta(days=age * 365 + rng.randrange(365))
    return Person(first, last, sex, born, language, interpreter)


def _age(rng: random.Random, profile: Profile) -> int:
    minors, adults, _seniors = profile.ages
    roll = rng.random()
    if roll < minors:
        return rng.randint(1, 17)
    if roll < minors + adults:
        return rng.randint(18, 64)
    return rng.randint(65, 94)


# --- coverage ------------------------------------------------------------------------------------------

MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # the Medicare Beneficiary Identifier alphabet (no S, L, O, I, B, Z)


def _mbi(rng: random.Random) -> str:
    """A made-up id in the 11-character MBI format."""

    def letter() -> str:
        return rng.choice(MBI_LETTERS)

    def either() -> str:
        return rng.choice(MBI_LETTERS + "0123456789")

    return (
        f"{rng.randint(1, 9)}{letter()}{either()}{rng.randint(0, 9)}{letter()}{either()}"
        f"{rng.randint(0, 9)}{letter()}{letter()}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    )


def _member_id(rng: random.Random, payer_key: str) -> str:
    digits = "".join(str(rng.randint(0, 9)) for _ in range(9))
    return {
        "medicare": _mbi(rng),
        "medicaid": "".join(rng.choice("ABCDEFGHJK") for _ in range(2))
        + digits[:5]
        + rng.choice("ABCDEFGHJK"),
        "commercial_a": f"PBH{digits}",
        "commercial_b": f"LKV{digits[:8]}01",
        "medicare_advantage": f"SMA{digits}",
        "pbm": f"KRX{digits}",
    }[payer_key]


@dataclass(frozen=True)
class CoveragePlan:
    payer_key: str
    plan_name: str


def _coverage_plans(rng: random.Random, profile: Profile, age: int) -> list[CoveragePlan]:
    """Primary (and maybe secondary) coverage for a patient of this age at this organization."""
    roll = rng.random()
    if profile.slug == "summit-ma":
        primary = CoveragePlan(
            "medicare_advantage", rng.choice(["Summit Advantage HMO", "Summit Advantage PPO"])
        )
        # Dual-eligible members: Medicaid pays what the plan leaves.
        return [primary, CoveragePlan("medicaid", "Medicaid fee-for-service")] if roll < 0.2 else [primary]
    if profile.slug == "corner-drug":
        if roll < 0.1:
            return []  # cash customer
        if roll < 0.3:
            return [CoveragePlan("medicaid", "Medicaid fee-for-service")]
        if age >= 65:
            return [CoveragePlan("pbm", "Keystone Medicare Part D PDP")]
        return [CoveragePlan("pbm", "Keystone Commercial Rx")]
    if age >= 65:
        primary = (
            CoveragePlan("medicare", "Original Medicare Part B")
            if roll < 0.7
            else CoveragePlan("medicare_advantage", "Summit Advantage HMO")
        )
        if primary.payer_key == "medicare" and rng.random() < 0.2:
            return [primary, CoveragePlan("medicaid", "Medicaid fee-for-service")]
        return [primary]
    if roll < 0.14:
        return []  # uninsured: self-pay
    if roll < 0.34:
        return [CoveragePlan("medicaid", "Medicaid fee-for-service")]
    if roll < 0.72:
        plan = rng.choice(["Prairie Blue PPO", "Prairie Blue HMO", "Prairie Blue HSA 3000"])
        return [CoveragePlan("commercial_a", plan)]
    return [CoveragePlan("commercial_b", rng.choice(["Lakeview Choice EPO", "Lakeview Open Access POS"]))]


FINANCIAL_CLASS = {
    Payer.Kind.MEDICARE: PatientAccount.FinancialClass.MEDICARE,
    Payer.Kind.MEDICAID: PatientAccount.FinancialClass.MEDICAID,
    Payer.Kind.MEDICARE_ADVANTAGE: PatientAccount.FinancialClass.MEDICARE_ADVANTAGE,
    Payer.Kind.COMMERCIAL: PatientAccount.FinancialClass.COMMERCIAL,
    Payer.Kind.PBM: PatientAccount.FinancialClass.COMMERCIAL,
}


def _financial_class(coverage: Coverage | None) -> str:
    if coverage is None:
        return PatientAccount.FinancialClass.SELF_PAY
    if coverage.plan.plan_type == Plan.PlanType.PART_D:
        return PatientAccount.FinancialClass.MEDICARE
    return FINANCIAL_CLASS.get(coverage.plan.payer.kind, PatientAccount.FinancialClass.OTHER)


# --- charges ---------------------------------------------------------------------------------------------


def _diagnosis_sets(text: str) -> list[list[str]]:
    """``"A B | C"`` → ``[["A", "B"], ["C"]]``: the diagnoses of one visit, visit after visit."""
    return [group.split() for group in text.split("|")]


# (code type, code, revenue code, chargemaster label, unit price, units, modifiers)
Line = tuple[str, str, str, str, str, int, tuple[str, ...]]
CPT, HCPCS, REV, NDC = "cpt", "hcpcs", "revenue", "ndc"

ED_LEVELS: list[Line] = [
    (CPT, "99283", "0450", "ED VISIT LEVEL 3", "412.00", 1, ()),
    (CPT, "99284", "0450", "ED VISIT LEVEL 4", "689.00", 1, ()),
    (CPT, "99285", "0450", "ED VISIT LEVEL 5", "1024.00", 1, ()),
]
ED_EXTRAS: list[Line] = [
    (CPT, "85025", "0300", "LAB HEMATOLOGY PANEL", "48.00", 1, ()),
    (CPT, "80053", "0300", "LAB CHEMISTRY PANEL", "96.00", 1, ()),
    (CPT, "36415", "0300", "VENIPUNCTURE", "24.00", 1, ()),
    (CPT, "71046", "0320", "XR CHEST", "212.00", 1, ()),
    (CPT, "93000", "0730", "EKG TRACING", "118.00", 1, ()),
    (HCPCS, "J2405", "0636", "Injection, ondansetron hydrochloride, per 1 mg", "2.20", 4, ()),
    (HCPCS, "J1885", "0636", "Injection, ketorolac tromethamine, per 15 mg", "9.80", 2, ()),
    (HCPCS, "J7030", "0258", "Infusion, normal saline solution, 1000 cc", "54.00", 1, ()),
    (HCPCS, "E0114", "0274", "Crutches, underarm, adjustable, pair", "96.00", 1, ()),
]
ED_DIAGNOSES = _diagnosis_sets(
    "R07.9 | R10.13 R11.2 | S93.401A W19.XXXA | J18.9 | N39.0 | R51.9 | S52.501A | R06.02 J45.909 | "
    "L03.115 | R42 I10"
)
OUTPATIENT: list[Line] = [
    (CPT, "71046", "0320", "XR CHEST", "212.00", 1, ()),
    (CPT, "93000", "0730", "EKG TRACING", "118.00", 1, ()),
    (CPT, "80053", "0300", "LAB CHEMISTRY PANEL", "96.00", 1, ()),
    (CPT, "85025", "0300", "LAB HEMATOLOGY PANEL", "48.00", 1, ()),
    (CPT, "97110", "0420", "PT THERAPEUTIC EXERCISE 15 MIN", "84.00", 3, ()),
]
OUTPATIENT_DIAGNOSES = _diagnosis_sets("R05.1 | I10 E78.5 | E11.9 Z79.4 | M25.561 | R07.89 | I48.91")
INPATIENT_DIAGNOSES = _diagnosis_sets("J18.9 I10 | I50.9 N17.9 | J44.9 R06.00 | N39.0 E11.65")
OFFICE_LEVELS: list[Line] = [
    (CPT, "99203", "", "OFFICE VISIT NEW L3", "246.00", 1, ()),
    (CPT, "99213", "", "OFFICE VISIT EST L3", "198.00", 1, ()),
    (CPT, "99214", "", "OFFICE VISIT EST L4", "289.00", 1, ()),
    (CPT, "99215", "", "OFFICE VISIT EST L5", "402.00", 1, ()),
]
OFFICE_EXTRAS: list[Line] = [
    (CPT, "36415", "", "VENIPUNCTURE", "24.00", 1, ()),
    (CPT, "85025", "", "LAB HEMATOLOGY PANEL", "48.00", 1, ()),
    (CPT, "93000", "", "EKG TRACING", "118.00", 1, ()),
    (HCPCS, "G0008", "", "Administration of influenza virus vaccine", "62.00", 1, ()),
    (CPT, "20610", "", "JOINT INJECTION MAJOR", "265.00", 1, ()),
    (HCPCS, "J1100", "", "Injection, dexamethasone sodium phosphate, 1 mg", "1.40", 10, ()),
    (HCPCS, "L3908", "", "Wrist hand orthosis, wrist extension control, prefabricated", "138.00", 1, ("RT",)),
]
OFFICE_DIAGNOSES = _diagnosis_sets(
    "I10 | E11.9 | E78.5 I10 | J06.9 | F41.1 | M25.561 | J30.1 | E03.9 | G47.33 | R73.03 | H66.90 | "
    "J02.9 | M17.0 | F32.9"
)
WELLNESS: Line = (HCPCS, "G0439", "", "Annual wellness visit, subsequent", "210.00", 1, ())

# (label, NDC in 11-digit form (made up, not checked against the FDA directory), quantity,
# days supply, usual and customary price)
DRUGS = [
    ("Atorvastatin 20 mg tablet", "60429024590", "30", 30, "24.60"),
    ("Lisinopril 10 mg tablet", "68180051401", "30", 30, "12.80"),
    ("Metformin 500 mg tablet", "00378071801", "60", 30, "15.40"),
    ("Amlodipine 5 mg tablet", "31722023890", "30", 30, "13.20"),
    ("Levothyroxine 50 mcg tablet", "00378180301", "30", 30, "21.90"),
    ("Sertraline 50 mg tablet", "16729011101", "30", 30, "18.30"),
    ("Omeprazole 20 mg capsule", "62175013637", "30", 30, "17.80"),
    ("Amoxicillin 500 mg capsule", "65862001705", "21", 7, "14.25"),
    ("Albuterol HFA inhaler 90 mcg", "66993001968", "18", 25, "68.50"),
    ("Insulin glargine pen 100 units/mL", "00088222005", "15", 30, "410.00"),
    ("Apixaban 5 mg tablet", "00003089421", "60", 30, "562.00"),
    ("Adalimumab 40 mg/0.4 mL pen", "00074055402", "2", 28, "6890.00"),
]


def _line(spec: Line, day: date, diagnoses: list[str], pos: str, **overrides: Any) -> ChargeInput:
    code_type, code, revenue, label, price, units, modifiers = spec
    units = overrides.pop("units", units)
    return ChargeInput(
        service_date=day,
        code_type=code_type,
        code=code,
        revenue_code=revenue,
        description=label,
        amount=Decimal(price) * units,
        units=Decimal(units),
        modifiers=overrides.pop("modifiers", modifiers),
        diagnoses=tuple(overrides.pop("diagnoses", diagnoses)),
        place_of_service=pos,
    )


@dataclass
class Visit:
    kind: str
    facility: str
    service_from: date
    service_to: date | None
    items: list[ChargeInput]


def _hospital_visit(rng: random.Random, day: date, today: date) -> Visit:
    roll = rng.random()
    if roll < 0.5:
        dx = rng.choice(ED_DIAGNOSES)
        items = [_line(rng.choice(ED_LEVELS), day, dx, "")]
        items += [_line(extra, day, dx, "") for extra in rng.sample(ED_EXTRAS, rng.randint(1, 3))]
        return Visit(PatientAccount.Kind.HOSPITAL, "Riverside General Hospital - Emergency", day, day, items)
    if roll < 0.8:
        dx = rng.choice(OUTPATIENT_DIAGNOSES)
        items = [_line(extra, day, dx, "") for extra in rng.sample(OUTPATIENT, rng.randint(1, 3))]
        return Visit(PatientAccount.Kind.HOSPITAL, "Riverside General Hospital - Outpatient", day, day, items)
    stay = max(1, min(rng.randint(2, 5), (today - day).days))
    discharged = day + timedelta(days=stay)
    dx = rng.choice(INPATIENT_DIAGNOSES)
    # Room and board is charged per day, one line a day.
    room: Line = (REV, "0120", "0120", "ROOM AND BOARD SEMI-PRIVATE", "2450.00", 1, ())
    pharmacy: Line = (REV, "0250", "0250", "PHARMACY GENERAL", "386.00", 1, ())
    items = [_line(room, day + timedelta(days=night), dx, "") for night in range(stay)]
    items += [
        _line(pharmacy, day, dx, ""),
        _line(ED_EXTRAS[0], day, dx, ""),
        _line(ED_EXTRAS[1], day, dx, ""),
    ]
    return Visit(
        PatientAccount.Kind.HOSPITAL, "Riverside General Hospital - Inpatient", day, discharged, items
    )


def _office_visit(rng: random.Random, day: date, age: int, facility: str) -> Visit:
    if age >= 65 and rng.random() < 0.2:
        items = [_line(WELLNESS, day, ["Z00.00"], "11")]
        if rng.random() < 0.5:
            items.append(_line(OFFICE_EXTRAS[3], day, ["Z23"], "11"))
        return Visit(PatientAccount.Kind.PROFESSIONAL, facility, day, day, items)
    dx = rng.choice(OFFICE_DIAGNOSES)
    level = rng.choice(OFFICE_LEVELS[1:] if age >= 18 else OFFICE_LEVELS[:3])
    items = [_line(level, day, dx, "11")]
    extras = rng.sample(OFFICE_EXTRAS, rng.randint(0, 2))
    for extra in extras:
        if extra[1] == "20610":  # a procedure on the visit day: the visit needs modifier 25
            items[0] = _line(level, day, ["M17.0"], "11", modifiers=("25",))
            items.append(_line(extra, day, ["M17.0"], "11", modifiers=("RT",)))
        elif extra[1] == "L3908":
            items.append(_line(extra, day, ["S63.501A"], "11"))
        elif extra[1] == "G0008":
            items.append(_line(extra, day, ["Z23"], "11"))
        else:
            items.append(_line(extra, day, dx, "11"))
    return Visit(PatientAccount.Kind.PROFESSIONAL, facility, day, day, items)


def _pharmacy_visit(rng: random.Random, day: date, today: date) -> Visit:
    label, ndc, quantity, days_supply, price = rng.choice(DRUGS)
    rx_number = f"6{rng.randrange(10**6):06d}"
    fills = 1 if days_supply < 28 else rng.randint(1, 3)
    items = []
    for fill in range(fills):
        filled = day + timedelta(days=fill * days_supply)
        if filled > today:
            break
        items.append(
            ChargeInput(
                service_date=filled,
                code_type=NDC,
                code=ndc,
                description=label,
                amount=Decimal(price),
                units=Decimal(1),
                rx_number=rx_number,
                fill_number=fill,
                ndc=ndc,
                quantity=Decimal(quantity),
                days_supply=days_supply,
            )
        )
    return Visit(PatientAccount.Kind.PHARMACY, "Corner Drug Pharmacy - Queens", day, None, items)


SUMMIT_PRACTICES = [
    "Front Range Family Medicine",
    "Cherry Creek Internal Medicine",
    "Aurora Orthopedic Associates",
]


def _visit(rng: random.Random, profile: Profile, age: int, today: date, *, settled: bool) -> Visit:
    """A visit in the last six months (at least a month ago when it must be ``settled``)."""
    day = today - timedelta(days=rng.randint(30 if settled else 2, 180))
    if profile.slug == "corner-drug":
        return _pharmacy_visit(rng, day, today)
    if profile.slug == "summit-ma":
        return _office_visit(rng, day, age, rng.choice(SUMMIT_PRACTICES))
    if rng.random() < 0.55:
        return _hospital_visit(rng, day, today)
    return _office_visit(rng, day, age, "Riverside Physician Group")


def _coding_mistake(rng: random.Random, visit: Visit) -> None:
    """Turn one charge of the visit into a typical coding mistake, so that a charge edit opens."""
    first = visit.items[0]
    if first.code_type == NDC:
        if rng.random() < 0.5:
            visit.items[0] = _replace(first, days_supply=None)
        else:
            visit.items[0] = _replace(first, days_supply=400)
        return
    mistake = rng.choice(["category", "retired", "not_a_code", "no_dx", "units", "modifier", "duplicate"])
    if mistake == "category":  # E11 needs its fourth and fifth characters
        visit.items[0] = _replace(first, diagnoses=("E11",))
    elif mistake == "retired":  # M54.5 became a category on 1 October 2021 (M54.50-M54.59)
        visit.items[0] = _replace(first, diagnoses=("M54.5",))
    elif mistake == "not_a_code":
        visit.items[0] = _replace(first, diagnoses=("A09.9",))
    elif mistake == "no_dx":
        visit.items[0] = _replace(first, diagnoses=())
    elif mistake == "units" and first.code.startswith("99") and first.code_type == CPT:
        visit.items[0] = _replace(first, units=Decimal(2), amount=first.amount * 2)
    elif mistake == "modifier":
        visit.items[0] = _replace(first, modifiers=("5",))
    else:
        visit.items.append(first)


def _replace(item: ChargeInput, **changes: Any) -> ChargeInput:
    return replace(item, **changes)


# --- money ----------------------------------------------------------------------------------------------


def _allowed(rng: random.Random, visit: Visit, payer_key: str) -> Decimal:
    """What the payer allows for the visit: the contract for Prairie Blue, typical shares otherwise."""
    if payer_key == "commercial_a":
        fees = {(code, modifier): Decimal(amount) for code, modifier, amount in payers_demo.FEE_SCHEDULE}
        total = ZERO
        for item in visit.items:
            modifier = item.modifiers[0] if item.modifiers else ""
            fee = fees.get((item.code, modifier)) or fees.get((item.code, ""))
            total += fee * item.units if fee is not None else quantize_cents(item.amount * Decimal("0.55"))
        return quantize_cents(total)
    share = {
        "medicare": (38, 48),
        "medicaid": (24, 34),
        "commercial_b": (50, 62),
        "medicare_advantage": (40, 50),
        "pbm": (72, 86),
    }[payer_key]
    charges = sum((item.amount for item in visit.items), ZERO)
    return quantize_cents(charges * Decimal(rng.randint(*share)) / Decimal(100))


def _patient_share(rng: random.Random, payer_key: str, allowed: Decimal, visit: Visit) -> Decimal:
    """Deductible, coinsurance or copay: what the payer leaves to the patient (or the secondary)."""
    if payer_key == "medicaid":
        share = Decimal(rng.choice(["0", "0", "1", "3"]))
    elif payer_key == "medicare":
        share = quantize_cents(allowed * Decimal("0.20"))
    elif payer_key == "medicare_advantage":
        share = Decimal(rng.choice(["0", "20", "35", "90"]))
    elif payer_key == "pbm":
        share = Decimal(rng.choice(["5", "10", "25", "47"])) * len(visit.items)
    else:
        share = quantize_cents(allowed * Decimal(rng.choice(["0.10", "0.20", "0.30"])))
        if rng.random() < 0.3:
            share += Decimal(rng.choice(["250", "500"]))  # deductible not met
    return min(share, allowed)


@transaction.atomic(durable=True)
def _post_remittance(
    *,
    account: PatientAccount,
    coverage: Coverage,
    paid: Decimal,
    contractual: Decimal,
    on: date,
    by: User,
    trace: str,
) -> None:
    """An insurance payment and its contractual adjustment, as the 835 poster will post them."""
    lock_account(account)
    specs = []
    if paid > ZERO:
        specs.append(
            EntrySpec(
                LedgerEntry.Kind.INSURANCE_PAYMENT,
                -paid,
                coverage.pk,
                memo=f"Payment from {coverage.plan.payer}",
                effective_date=on,
                source_ref=trace,
            )
        )
    if contractual > ZERO:
        specs.append(
            EntrySpec(
                LedgerEntry.Kind.CONTRACTUAL_ADJUSTMENT,
                -contractual,
                coverage.pk,
                reason_code="CO-45",
                memo="Charge exceeds the contracted amount",
                effective_date=on,
                source_ref=trace,
            )
        )
    if not specs:
        return
    post_entries(account=account, specs=specs, source="835", by=by)
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.remittance.posted",
        summary=f"{coverage.plan.payer} paid {format_money(paid)}, contractual adjustment "
        f"{format_money(contractual)}",
        by=by,
        data={"trace": trace, "paid": str(paid), "contractual": str(contractual)},
    )


@transaction.atomic(durable=True)
def _post_patient_payment(*, account: PatientAccount, amount: Decimal, method: str, by: User) -> None:
    lock_account(account)
    post_entries(
        account=account,
        specs=[EntrySpec(LedgerEntry.Kind.PATIENT_PAYMENT, -amount, None, memo=f"{method} payment")],
        source="manual",
        by=by,
    )
    event_record(
        organization=account.organization,
        subject=account,
        kind="accounts.patient_payment.posted",
        summary=f"Patient payment of {format_money(amount)} ({method.lower()})",
        by=by,
        data={"amount": str(amount), "method": method},
    )


def _bucket(account: PatientAccount, coverage: Coverage | None) -> Decimal:
    return (
        AccountBucket.objects.filter(account=account, coverage=coverage)
        .values_list("balance", flat=True)
        .first()
        or ZERO
    )


# --- seeding ----------------------------------------------------------------------------------------------


@dataclass
class Cast:
    """The demo people who do the work in one organization, and its plans by (payer key, product)."""

    organization: Organization
    clerk: User
    poster: User
    supervisor: User
    plans: dict[tuple[str, str], Plan]
    keys: dict[int, str]  # payer id -> payer key


def _cast(organization: Organization, profile: Profile) -> Cast | None:
    users = {u.email: u for u in User.objects.filter(email__in=[profile.clerk, profile.poster, SUPERVISOR])}
    payers = payers_demo.payers_by_key(organization)
    if len(users) < len({profile.clerk, profile.poster, SUPERVISOR}) or not payers:
        return None
    keys = {payer.pk: key for key, payer in payers.items()}
    plans = {
        (keys[plan.payer_id], plan.name): plan
        for plan in Plan.objects.filter(organization=organization).select_related("payer")
        if plan.payer_id in keys
    }
    return Cast(organization, users[profile.clerk], users[profile.poster], users[SUPERVISOR], plans, keys)


def _external_id(profile: Profile, number: int) -> str:
    return f"{profile.prefix}-{number:05d}"


def _seed_patient(cast: Cast, profile: Profile, number: int, today: date) -> int:
    """Register one patient with coverages, contacts and accounts; returns the accounts made."""
    rng = random.Random(f"{SEED}:{profile.slug}:{number}")  # noqa: S311 (made-up data, not secrets)
    org, clerk = cast.organization, cast.clerk
    age = _age(rng, profile)
    if number == PENDING_APPROVAL:
        age = max(age, 30)
    person = _person(rng, age, today)
    street = f"{rng.randint(100, 9899)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"
    city, state, postal_code = rng.choice(profile.places)
    phone = _phone(rng, profile)
    has_email = rng.random() < 0.55
    email = f"{person.first_name}.{person.last_name}{number}@example.com".lower().replace("'", "")
    patient = services.patient_create(
        organization=org,
        by=clerk,
        external_id=_external_id(profile, number),
        mrn=f"{profile.prefix}{100000 + number}",
        first_name=person.first_name,
        middle_name=rng.choice(["", "", "A", "J", "M", "L", "R"]),
        last_name=person.last_name,
        date_of_birth=person.date_of_birth,
        sex=person.sex,
        address_line1=street,
        address_line2=rng.choice(["", "", "", f"Apt {rng.randint(1, 40)}"]),
        city=city,
        state=state,
        postal_code=postal_code,
        phone=phone,
        mobile_phone=_phone(rng, profile) if rng.random() < 0.6 else "",
        email=email if has_email and age >= 18 else "",
        preferred_language=person.language,
        interpreter=person.interpreter,
        preferred_contact=rng.choice(
            [Patient.Contact.MAIL, Patient.Contact.PHONE, Patient.Contact.TEXT]
            + ([Patient.Contact.EMAIL, Patient.Contact.PORTAL] if has_email else [])
        ),
        ok_to_text=rng.random() < 0.5,
        ok_to_email=has_email and rng.random() < 0.7,
        ok_to_leave_voicemail=rng.random() < 0.6,
        ssn_last4=f"{rng.randrange(10000):04d}" if rng.random() < 0.7 else "",
    )

    guarantor = None
    parent = None
    if age < 18:
        parent = _person(rng, rng.randint(age + 20, age + 40), today)
        parent.last_name = person.last_name
        guarantor = Guarantor(
            organization=org,
            relationship=Guarantor.Relationship.PARENT,
            first_name=parent.first_name,
            last_name=parent.last_name,
            date_of_birth=parent.date_of_birth,
            address_line1=patient.address_line1,
            address_line2=patient.address_line2,
            city=city,
            state=state,
            postal_code=postal_code,
            phone=phone,
            email=f"{parent.first_name}.{parent.last_name}{number}@example.com".lower().replace("'", ""),
        )
        mark_change(guarantor, by=clerk, reason="parent is guarantor for a minor")
        guarantor.save()
        services.authorized_contact_add(
            patient=patient,
            name=f"{parent.first_name} {parent.last_name}",
            relationship=AuthorizedContact.Relationship.PARENT,
            scopes=list(AuthorizedContact.Scope.values),
            is_personal_representative=True,
            phone=phone,
            start_date=patient.date_of_birth,
            notes="Parent of a minor patient",
            by=clerk,
        )
    elif rng.random() < (0.35 if age >= 65 else 0.12):
        relationship = rng.choice(
            [AuthorizedContact.Relationship.CHILD, AuthorizedContact.Relationship.CAREGIVER]
            if age >= 65
            else [AuthorizedContact.Relationship.SPOUSE, AuthorizedContact.Relationship.DOMESTIC_PARTNER]
        )
        contact = _person(rng, 40, today)
        ended = rng.random() < 0.15
        services.authorized_contact_add(
            patient=patient,
            name=f"{contact.first_name} {contact.last_name}",
            relationship=relationship,
            scopes=rng.choice(
                [["balances"], ["balances", "insurance"], ["balances", "insurance", "payments"], ["services"]]
            ),
            phone=_phone(rng, profile),
            start_date=today - timedelta(days=rng.randint(200, 900)),
            end_date=today - timedelta(days=rng.randint(10, 150)) if ended else None,
            notes="Authorization on file (signed form scanned)",
            by=clerk,
        )

    coverages = []
    plans = _coverage_plans(rng, profile, age)
    if number in SCENARIOS:
        plans = plans[:1]
    if number == INSURANCE_OVERPAYMENT and not plans:
        plans = [CoveragePlan("medicaid", "Medicaid fee-for-service")]
    for priority, choice in enumerate(plans, start=1):
        plan = cast.plans.get((choice.payer_key, choice.plan_name))
        if plan is None:
            continue
        subscriber = parent if parent is not None else person
        coverage = services.coverage_add(
            patient=patient,
            plan=plan,
            member_id=_member_id(rng, choice.payer_key),
            subscriber_name=f"{subscriber.first_name} {subscriber.last_name}",
            subscriber_date_of_birth=subscriber.date_of_birth,
            relationship_to_subscriber=Coverage.Relationship.CHILD if parent else Coverage.Relationship.SELF,
            group_number=plan.group_number,
            priority=priority,
            effective_from=date(today.year - rng.randint(1, 6), 1, 1),
            by=clerk,
        )
        roll = rng.random()
        if roll < 0.9:
            method = rng.choice(
                [Coverage.Method.ELIGIBILITY] * 4 + [Coverage.Method.PORTAL, Coverage.Method.PHONE]
            )
            result = Coverage.Result.ACTIVE if roll < 0.86 else Coverage.Result.PENDING
            services.coverage_verify(
                coverage=coverage,
                method=method,
                result=result,
                reference=f"TRN{rng.randrange(10**9):09d}" if method != Coverage.Method.PHONE else "",
                note="Spoke with the payer's provider line" if method == Coverage.Method.PHONE else "",
                by=clerk,
            )
        coverages.append(coverage)

    accounts = rng.choices([1, 2, 3], weights=[70, 25, 5])[0]
    if number in SCENARIOS:
        accounts = 1
    for index in range(accounts):
        _seed_account(cast, profile, rng, number, index, patient, guarantor, coverages, age, today)
    return accounts


def _account_number(profile: Profile, number: int, index: int, kind: str) -> str:
    letter = {"hospital": "H", "professional": "P", "pharmacy": "RX"}[kind]
    return f"{letter}{profile.prefix[0]}{number:05d}{index}"


def _seed_account(
    cast: Cast,
    profile: Profile,
    rng: random.Random,
    number: int,
    index: int,
    patient: Patient,
    guarantor: Guarantor | None,
    coverages: list[Coverage],
    age: int,
    today: date,
) -> None:
    scenario = number in SCENARIOS
    self_pay = profile.self_pay_scenarios and number in (PENDING_APPROVAL, DUPLICATE_PAYMENT)
    visit = _visit(rng, profile, age, today, settled=scenario)
    if self_pay and number == PENDING_APPROVAL and visit.kind == PatientAccount.Kind.PHARMACY:
        # A specialty drug, so that the reduction asked for is above the clerk's limit.
        label, ndc, quantity, days_supply, price = DRUGS[-1]
        specialty = {"code": ndc, "ndc": ndc, "description": label, "amount": Decimal(price)}
        visit.items = [
            _replace(visit.items[0], **specialty, quantity=Decimal(quantity), days_supply=days_supply)
        ]
    if not scenario and rng.random() < 0.045:
        _coding_mistake(rng, visit)
    in_force = [c for c in coverages if c.effective_from <= visit.service_from]
    primary = None if self_pay or not in_force else in_force[0]
    account = services.account_create(
        patient=patient,
        account_number=_account_number(profile, number, index, visit.kind),
        kind=visit.kind,
        service_from=visit.service_from,
        service_to=visit.service_to,
        facility=visit.facility,
        financial_class=_financial_class(primary),
        guarantor=guarantor,
        dispute_hold=not scenario and rng.random() < 0.02,
        financial_assistance_pending=primary is None and not scenario and rng.random() < 0.25,
        by=cast.poster,
    )
    services.charge_post(account=account, items=visit.items, by=cast.poster)
    charges = sum((item.amount for item in visit.items), ZERO)
    age_days = (today - visit.service_from).days

    if primary is None:
        _self_pay_flow(cast, rng, number, account, charges, age_days)
        return
    if not scenario and (age_days < 14 or rng.random() < 0.12):
        return  # the claim is still with the payer (or denied and waiting for follow-up)

    payer_key = cast.keys[primary.plan.payer_id]
    allowed = min(_allowed(rng, visit, payer_key), charges)
    share = _patient_share(rng, payer_key, allowed, visit)
    if number == DUPLICATE_PAYMENT:
        share = max(share, min(allowed, Decimal("35.00")))
    paid = allowed - share
    if number == INSURANCE_OVERPAYMENT:
        paid = allowed + Decimal("48.20")  # the share paid too, and one line twice: a refund is owed
    remitted = min(visit.service_from + timedelta(days=rng.randint(14, 40)), today)
    _post_remittance(
        account=account,
        coverage=primary,
        paid=paid,
        contractual=charges - allowed,
        on=remitted,
        by=cast.poster,
        trace=f"EFT{rng.randrange(10**10):010d}",
    )
    if share <= ZERO or number == INSURANCE_OVERPAYMENT:
        return
    secondary = next((c for c in in_force if c.priority > primary.priority), None)
    to_patient = secondary is None or number == DUPLICATE_PAYMENT
    services.balance_transfer(
        account=account,
        from_coverage=primary,
        amount=share,
        reason=f"{primary.plan.payer} processed the claim; balance to "
        + (
            "patient responsibility (deductible, coinsurance or copay)"
            if to_patient
            else "the secondary payer"
        ),
        to_next=not to_patient,
        to_coverage=None,
        by=cast.clerk,
    )
    if not to_patient:
        if rng.random() < 0.7:
            _post_remittance(
                account=account,
                coverage=secondary,
                paid=share,
                contractual=ZERO,
                on=min(remitted + timedelta(days=rng.randint(10, 30)), today),
                by=cast.poster,
                trace=f"EFT{rng.randrange(10**10):010d}",
            )
        return
    _patient_flow(cast, rng, number, account, share)


def _patient_flow(
    cast: Cast, rng: random.Random, number: int, account: PatientAccount, owed: Decimal
) -> None:
    """What the patient did with their share: paid it, part of it, twice, or nothing yet."""
    method = rng.choice(["Card", "Card", "Check", "Cash", "Online"])
    if number == DUPLICATE_PAYMENT:
        _post_patient_payment(account=account, amount=owed, method="Online", by=cast.clerk)
        _post_patient_payment(account=account, amount=owed, method="Card", by=cast.clerk)
        return
    roll = rng.random()
    if roll < 0.4:
        _post_patient_payment(account=account, amount=owed, method=method, by=cast.clerk)
    elif roll < 0.65:
        part = quantize_cents(owed * Decimal(rng.choice(["0.25", "0.5"])))
        if part > ZERO:
            _post_patient_payment(account=account, amount=part, method=method, by=cast.clerk)
        remaining = _bucket(account, None)
        if ZERO < remaining <= Decimal("10.00"):
            services.adjustment_submit(
                account=account,
                kind=LedgerEntry.Kind.WRITE_OFF,
                amount=remaining,
                reason_code=AdjustmentReason.SMALL_BALANCE,
                memo="Balance under $10 after payment: small-balance policy",
                by=cast.clerk,
            )


def _self_pay_flow(
    cast: Cast, rng: random.Random, number: int, account: PatientAccount, charges: Decimal, age_days: int
) -> None:
    """Uninsured: the uninsured discount, then a payment, a prompt-pay discount, or a pending request."""
    discount = quantize_cents(charges * Decimal("0.40"))
    services.adjustment_submit(
        account=account,
        kind=LedgerEntry.Kind.OTHER_ADJUSTMENT,
        amount=discount,
        reason_code=AdjustmentReason.UNINSURED_DISCOUNT,
        memo="Uninsured patient discount (40% of gross charges)",
        # Large discounts are above a posting specialist's limit; the supervisor posts those.
        by=cast.poster if discount <= Decimal("1000.00") else cast.supervisor,
    )
    owed = charges - discount
    if number == PENDING_APPROVAL:
        # The clerk promised a courtesy reduction above their limit: it waits for a supervisor.
        services.adjustment_submit(
            account=account,
            kind=LedgerEntry.Kind.OTHER_ADJUSTMENT,
            amount=quantize_cents(owed / 2),
            reason_code=AdjustmentReason.COURTESY,
            memo="Service complaint; the patient asked for a reduction (see the call notes)",
            by=cast.clerk,
        )
        return
    if number == DUPLICATE_PAYMENT:
        _patient_flow(cast, rng, number, account, owed)
        return
    if age_days < 21:
        return
    roll = rng.random()
    if roll < 0.3:
        prompt = min(quantize_cents(owed * Decimal("0.10")), Decimal("50.00"))
        services.adjustment_submit(
            account=account,
            kind=LedgerEntry.Kind.OTHER_ADJUSTMENT,
            amount=prompt,
            reason_code=AdjustmentReason.PROMPT_PAY,
            memo="Paid in full within 30 days of the first statement",
            by=cast.clerk,
        )
        _post_patient_payment(account=account, amount=owed - prompt, method="Card", by=cast.clerk)
    elif roll < 0.6:
        amount = min(owed, Decimal(rng.choice(["25", "50", "100"])))
        _post_patient_payment(account=account, amount=amount, method="Card", by=cast.clerk)


def seed_organization(organization: Organization, profile: Profile, *, today: date | None = None) -> int:
    """Seed the patients of one organization that are not there yet; returns the accounts made."""
    today = today or timezone.localdate()
    cast = _cast(organization, profile)
    if cast is None:
        return 0
    present = set(
        Patient.objects.filter(
            organization=organization, external_id__startswith=f"{profile.prefix}-"
        ).values_list("external_id", flat=True)
    )
    made = 0
    for number in range(1, profile.patients + 1):
        if _external_id(profile, number) not in present:
            made += _seed_patient(cast, profile, number, today)
    return made


def seed() -> int:
    """Seed every demo organization's patients and accounts; returns how many accounts were made.

    Each service call commits on its own; waiting for each of those two thousand commits to
    reach the disk is what would make seeding slow, and demo data lost in a crash are simply
    seeded again, so this connection does not wait (``synchronous_commit`` off, reset after).
    """
    made = 0
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        for profile in PROFILES:
            organization = Organization.objects.filter(slug=profile.slug).first()
            if organization is not None:
                made += seed_organization(organization, profile)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
    return made
