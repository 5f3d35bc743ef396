"""Remittance benchmark: an 835 of ``--claims`` claims read, matched and posted end to end.

Data, in a new organization of the bench database on every run (posting changes the
claims, so a run cannot reuse the previous run's), loaded with COPY like ``seed_scale``:
one payer with an EDI id and a second payer for secondary coverage, their plans, a
contract with a fee schedule for every billed code, N patients with a guarantor and a
coverage (every tenth also a secondary one), N accounts with three charges each, their
CHARGE ledger entries, bucket rows and balances (consistent: ``ledger_drift()`` finds
nothing), and N submitted claims of three lines each whose patient control number is the
account number. A small earlier 835, imported before anything is measured, pays the
claims that the measured file reverses and recoups.

The measured 835 (balanced per DOMAIN §1.4, one ST/SE per ``--claims-per-payment``
claims) has per claim a CLP, NM1*QC, DTM*232/233 and three SVC loops with DTM*472,
CAS CO-45, CAS PR-2 (PR-1 deductible on some), AMT*B6. Planned among them: claims denied
CO-197 at claim level (every 50th), one line denied CO-197 (3 in 100), an underpaid line
that the contract flags (1 in 100), claims of patients with a secondary coverage (CLP02
19, the patient share moves to the secondary payer), reversals each followed by its
correction, a PLB recoupment (WO) and interest (L6) referencing earlier claims, and a few
claims that match nothing (the only exceptions).

Measured, each import in a child process (a fresh worker; its peak RSS is the import's):

- ``remittance_import`` wall time, with the SQL statements it sends (counted with
  ``connection.execute_wrapper``) and time and statements per phase (read, store, post,
  deposit matching, summary);
- parse only: ``read_835`` on the same text (keeping the segments, and as the import reads,
  with ``keep_segments=False``), and pyx12's ``X12Reader`` iterating every segment (best of
  three each);
- the same import of ``--peak-claims`` claims (50,000 by default) for peak memory.

After each import the outcome must be the planned one (claims posted, denials, variances,
exceptions, no diagnostics) and ``ledger_drift()`` must be empty; otherwise the run fails.

    python bench/run.py --only remittances --claims 10000 --peak-claims 50000
    python bench/run.py --only remittances --claims 2000 --peak-claims 0 --profile
"""

from __future__ import annotations

import gc
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"end_to_end_s": 10.0, "statements_per_1000_claims": 50, "peak_mb": 600}

# (code, price in cents) billed on the claims; the contract allows 55% of the price.
CODES = [
    ("99213", 19800),
    ("99214", 28900),
    ("99215", 40200),
    ("99203", 24600),
    ("36415", 2400),
    ("85025", 4800),
    ("93000", 11800),
    ("97110", 8400),
    ("G0008", 6200),
    ("G0439", 21000),
]
ALLOWED = {code: price * 55 // 100 for code, price in CODES}
PAYER_ID, SECOND_PAYER_ID = "BENCH835", "BENCH836"
NPI = "1234567890"
RECOUPED_CENTS, INTEREST_CENTS = 2500, 317
UNDERPAID_CENTS = 500
DEDUCTIBLE_CENTS = 4000

# Table columns written by COPY (checked against the database before loading).
CLAIM_COLUMNS = (
    "id reference created_at updated_at patient_control_number kind frequency status source source_key "
    "billed_amount service_from service_to place_of_service type_of_bill diagnoses prior_authorization "
    "submitted_on timely_filing_deadline payer_claim_number last_remittance_on paid_amount "
    "patient_responsibility bin pcn rx_group account_id coverage_id organization_id original_claim_id "
    "payer_id"
)
CLAIM_LINE_COLUMNS = (
    "line_number code_type code modifiers revenue_code units billed_amount service_from service_to "
    "line_control_number rx_number fill_number ndc quantity days_supply daw charge_id claim_id"
)


def _money(cents: int) -> str:
    """Integer cents as decimal text, as ``seed_scale`` writes money (exact; never float).

    Defined here rather than imported: the child process imports this module before Django
    is set up, and ``seed_scale`` imports models."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


# --- the planned claims -------------------------------------------------------------------------------


@dataclass
class Book:
    """What was built and what the measured file should do to it."""

    organization_id: int
    slug: str
    user_id: int
    claims: int
    reversals: int
    unmatched: int
    today: date
    seed: int
    # per claim, by index: line codes (indexes into CODES) and the service day
    codes: list[tuple[int, int, int]] = field(default_factory=list)
    service_days: list[date] = field(default_factory=list)
    names: list[tuple[str, str]] = field(default_factory=list)
    build_s: float = 0.0

    def pcn(self, i: int) -> str:
        return f"B{i:09d}"

    def member(self, i: int) -> str:
        return f"BM{i:09d}"

    def secondary(self, i: int) -> bool:
        return i % 10 == 5

    def kind(self, i: int) -> str:
        """What happens to claim ``i`` in the measured file."""
        r = self.reversals
        if i < r:
            return "reversed"
        if i == r:
            return "recouped"
        if i == r + 1:
            return "interest"
        if i % 50 == 7:
            return "denied"
        if i % 100 in (3, 13, 23):
            return "line_denied"
        if i % 100 == 42:
            return "underpaid"
        return "paid"


def plan_book(*, organization_id: int, slug: str, user_id: int, claims: int, seed: int, today: date) -> Book:
    book = Book(
        organization_id=organization_id,
        slug=slug,
        user_id=user_id,
        claims=claims,
        reversals=max(2, claims // 500),
        unmatched=max(2, claims // 1000),
        today=today,
        seed=seed,
    )
    from accounts.management.commands.seed_scale import FEMALE, MALE, SURNAMES

    rng = random.Random(f"{seed}:remittances:{claims}")  # bench data: any generator will do
    count = len(CODES)
    for _claim_number in range(claims):
        book.codes.append((rng.randrange(count), rng.randrange(count), rng.randrange(count)))
        book.service_days.append(today - timedelta(days=10 + rng.randrange(80)))
        book.names.append((rng.choice(SURNAMES), rng.choice(FEMALE if rng.random() < 0.52 else MALE)))
    return book


def expected_outcome(book: Book) -> dict[str, int]:
    """The summary the measured import must report."""
    kinds = [book.kind(i) for i in range(book.claims)]
    measured = sum(1 for k in kinds if k not in ("recouped", "interest")) + book.reversals + book.unmatched
    return {
        "claims": measured,
        "matched": measured - book.unmatched,
        "posted": measured - book.unmatched,
        "exceptions": book.unmatched,
        "denials": kinds.count("denied") + kinds.count("line_denied"),
        "variances": kinds.count("underpaid"),
        "errors": 0,
        "diagnostics": 0,
    }


# --- building the data ------------------------------------------------------------------------------


def _check_claim_columns() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table, columns in (("claims_claim", CLAIM_COLUMNS), ("claims_claimline", CLAIM_LINE_COLUMNS)):
            cursor.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = %s AND table_schema = current_schema()",
                [table],
            )
            # Claim lines take their ids from the identity column (nothing references them here).
            filled = {"id"} if table == "claims_claimline" else set()
            actual = {row[0] for row in cursor.fetchall()} - filled
            if actual != set(columns.split()):
                raise SystemExit(
                    f"remittances bench: the columns of {table} changed "
                    f"({sorted(actual ^ set(columns.split()))}); update the row rendering."
                )


def _reserve(counts: dict[str, int]) -> dict[str, int]:
    """A range of ids per table, as ``seed_scale.reserve_ids`` takes them (tables locked meanwhile)."""
    from django.db import connection, transaction

    first = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {', '.join(counts)} IN SHARE ROW EXCLUSIVE MODE")
        for table, count in counts.items():
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s)", [sequence])
            first[table] = cursor.fetchone()[0]
            if count > 1:
                cursor.execute("SELECT setval(%s, %s)", [sequence, first[table] + count - 1])
    return first


def _master_data(organization: Any) -> dict[str, int]:
    """Payers, plans, the contract and its fee schedule: a handful of rows, through the ORM."""
    from decimal import Decimal

    from payers.models import Contract, FeeScheduleEntry, Payer, Plan

    payer = Payer.objects.create(
        organization=organization, name="BENCH HEALTH PLAN", kind="commercial", edi_payer_id=PAYER_ID
    )
    second = Payer.objects.create(
        organization=organization, name="BENCH SECONDARY", kind="commercial", edi_payer_id=SECOND_PAYER_ID
    )
    plan = Plan.objects.create(organization=organization, payer=payer, name="Bench PPO", group_number="G100")
    second_plan = Plan.objects.create(
        organization=organization, payer=second, name="Bench Supplement", group_number="G200"
    )
    contract = Contract.objects.create(
        organization=organization,
        payer=payer,
        name="Bench PPO contract",
        effective_from=date(2000, 1, 1),
        variance_tolerance=Decimal("1.00"),
    )
    for code, _price in CODES:
        FeeScheduleEntry.objects.create(
            organization=organization,
            contract=contract,
            code=code,
            allowed_amount=Decimal(_money(ALLOWED[code])),
            effective_from=date(2000, 1, 1),
        )
    return {"payer": payer.pk, "plan": plan.pk, "second_plan": second_plan.pk}


def build(claims: int, *, seed: int = 1) -> Book:
    """A new organization with ``claims`` accounts and submitted claims, loaded with COPY."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.management.commands.seed_scale import (
        COLUMNS,
        NULL,
        _uuids,
        check_columns,
        ensure_organization,
        may_skip_row_checks,
        verify_foreign_keys,
    )
    from staff.models import Membership, Role, User

    started = time.perf_counter()
    check_columns()
    _check_claim_columns()
    slug = f"remit-{claims}-{timezone.now():%Y%m%d%H%M%S}"
    organization = ensure_organization(slug)
    # Not an address of the foundation scenario (``…@bench.test``), whose roles go by email order.
    user, _ = User.objects.get_or_create(
        email="remittance-poster@bench.example", defaults={"full_name": "Bench Posting Specialist"}
    )
    Membership.objects.create(user=user, organization=organization, role=Role.POSTING_SPECIALIST)
    master = _master_data(organization)
    today = timezone.localdate()
    book = plan_book(
        organization_id=organization.pk, slug=slug, user_id=user.pk, claims=claims, seed=seed, today=today
    )

    secondaries = sum(1 for i in range(claims) if book.secondary(i))
    reserved = {
        "accounts_patient": claims,
        "accounts_guarantor": claims,
        "accounts_coverage": claims + secondaries,
        "accounts_patientaccount": claims,
        "accounts_charge": 3 * claims,
        "claims_claim": claims,
    }
    first = _reserve(reserved)
    uuid = _uuids(random.Random(f"{seed}:remittances:uuid:{slug}"))  # bench data: any generator will do
    now = timezone.now().isoformat()
    org, actor = organization.pk, user.pk
    rows: dict[str, list[str]] = {table: [] for table in [*COLUMNS, "claims_claim", "claims_claimline"]}
    add = {table: rows[table].append for table in rows}
    next_coverage = first["accounts_coverage"]
    for i in range(claims):
        patient = first["accounts_patient"] + i
        guarantor = first["accounts_guarantor"] + i
        account = first["accounts_patientaccount"] + i
        claim = first["claims_claim"] + i
        last, given = book.names[i]
        born = date(1950 + i % 50, 1 + i % 12, 1 + i % 28).isoformat()
        address = f"{100 + i % 9000} Oak St\t\tChicago\tIL\t60601"
        add["accounts_patient"](
            f"{patient}\t{uuid()}\t{now}\t{now}\tRB{i:09d}\t{20_000_000 + i}\t{given}\t\t{last}\t\t{born}\t"
            f"F\t{address}\t3125550{i % 1000:03d}\t\t\ten\tnone\tmail\tf\tf\tf\t\t{org}"
        )
        add["accounts_guarantor"](
            f"{guarantor}\t{uuid()}\t{now}\t{now}\t\tself\t{given}\t{last}\t{born}\t{address}\t"
            f"3125550{i % 1000:03d}\t\t{org}\t{patient}"
        )
        coverage = next_coverage
        next_coverage += 1
        add["accounts_coverage"](
            f"{coverage}\t{uuid()}\t{now}\t{now}\t\t{book.member(i)}\tG100\t{given} {last}\t{born}\tself\t1\t"
            f"2020-01-01\t{NULL}\tt\t{NULL}\t\t\t\t\t{org}\t{master['plan']}\t{NULL}\t{patient}"
        )
        if book.secondary(i):
            add["accounts_coverage"](
                f"{next_coverage}\t{uuid()}\t{now}\t{now}\t\tSM{i:09d}\tG200\t{given} {last}\t{born}\t"
                f"self\t2\t2020-01-01\t{NULL}\tt\t{NULL}\t\t\t\t\t{org}\t{master['second_plan']}\t{NULL}\t{patient}"
            )
            next_coverage += 1
        day = book.service_days[i].isoformat()
        total = 0
        for n, code_index in enumerate(book.codes[i], start=1):
            code, price = CODES[code_index]
            charge = first["accounts_charge"] + 3 * i + n - 1
            total += price
            add["accounts_charge"](
                f"{charge}\t{uuid()}\t{now}\t{now}\t\t{day}\tcpt\t{code}\t{{}}\t\t{{I10}}\t{code} VISIT\t1\t"
                f"{_money(price)}\t11\t\t{NULL}\t\t{NULL}\t{NULL}\tposted\t{org}\t{account}"
            )
            add["accounts_ledgerentry"](
                f"{uuid()}\tcharge\t{_money(price)}\t\tcharge\t\t{NULL}\t{code} on {day}\t{day} 12:00:00+00\t"
                f"{day}\t{actor}\t{charge}\t{coverage}\t{org}\t{NULL}\t{account}"
            )
            add["claims_claimline"](
                f"{n}\tcpt\t{code}\t{{}}\t\t1\t{_money(price)}\t{day}\t{day}\t\t\t{NULL}\t\t{NULL}\t{NULL}\t\t"
                f"{charge}\t{claim}"
            )
        add["accounts_accountbucket"](f"{_money(total)}\t{coverage}\t{account}")
        add["accounts_patientaccount"](
            f"{account}\t{uuid()}\t{now}\t{now}\t{book.pcn(i)}\tBench Physician Group\tprofessional\t{day}\t"
            f"{day}\tcommercial\topen\tf\tf\tf\t{_money(total)}\t{_money(total)}\t0.00\t{NULL}\t{NULL}\t"
            f"{NULL}\t{guarantor}\t{org}\t{patient}"
        )
        add["claims_claim"](
            f"{claim}\t{uuid()}\t{now}\t{now}\t{book.pcn(i)}\tprofessional\t1\tsubmitted\tcharges\t\t"
            f"{_money(total)}\t{day}\t{day}\t11\t\t{{I10}}\t\t{day}\t{NULL}\t\t{NULL}\t0.00\t0.00\t\t\t\t"
            f"{account}\t{coverage}\t{org}\t{NULL}\t{master['payer']}"
        )
    columns = {**COLUMNS, "claims_claim": CLAIM_COLUMNS, "claims_claimline": CLAIM_LINE_COLUMNS}
    skip_row_checks = may_skip_row_checks()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        if skip_row_checks:
            # As seed_scale does: per-row foreign-key triggers off for this transaction only,
            # then every foreign key of the loaded rows checked set-based below.
            cursor.execute("SET LOCAL session_replication_role TO replica")
        for table, lines in rows.items():
            if lines:
                text = "\n".join(lines) + "\n"
                sql = f"COPY {table} ({', '.join(columns[table].split())}) FROM STDIN"
                cursor.cursor.copy_expert(sql, io.BytesIO(text.encode()), 1 << 20)
    del rows
    with connection.cursor() as cursor:
        for table in [*COLUMNS, "claims_claim", "claims_claimline"]:
            cursor.execute(f"ANALYZE {table}")
    if skip_row_checks:
        accounts = (first["accounts_patientaccount"], first["accounts_patientaccount"] + claims - 1)
        claim_ids = (first["claims_claim"], first["claims_claim"] + claims - 1)
        where = {
            table: f"id BETWEEN {first[table]} AND {first[table] + count - 1}"
            for table, count in reserved.items()
        }
        for table in ("accounts_ledgerentry", "accounts_accountbucket"):
            where[table] = f"account_id BETWEEN {accounts[0]} AND {accounts[1]}"
        where["claims_claimline"] = f"claim_id BETWEEN {claim_ids[0]} AND {claim_ids[1]}"
        failures = verify_foreign_keys(where)
        if failures:
            raise SystemExit("remittances bench: broken references: " + "; ".join(failures))
    book.build_s = round(time.perf_counter() - started, 1)
    return book


# --- the 835 ---------------------------------------------------------------------------------------


@dataclass
class Claim835:
    segments: list[str]
    paid: int


def _line(code: str, charge: int, paid: int, day: str, cas: list[str], allowed: int) -> list[str]:
    return [
        f"SVC*HC:{code}*{_money(charge)}*{_money(paid)}**1",
        f"DTM*472*{day}",
        *cas,
        f"AMT*B6*{_money(allowed)}",
    ]


def _claim(
    book: Book,
    i: int,
    *,
    status: str = "1",
    icn: str,
    deductible: bool = False,
    sign: int = 1,
    denied_line: int | None = None,
    underpaid: bool = False,
) -> Claim835:
    """The CLP loop of claim ``i``: balanced lines, claim and patient responsibility.

    ``sign=-1`` negates every amount (a reversal, DOMAIN §1.4 rule 5).
    """
    day = book.service_days[i].strftime("%Y%m%d")
    lines: list[str] = []
    charge_total = paid_total = patient_total = 0
    for n, code_index in enumerate(book.codes[i]):
        code, price = CODES[code_index]
        charge_total += price
        if n == denied_line:
            lines += [
                f"SVC*HC:{code}*{_money(sign * price)}*0.00**1",
                f"DTM*472*{day}",
                f"CAS*CO*197*{_money(sign * price)}",
            ]
            continue
        allowed = ALLOWED[code] - (UNDERPAID_CENTS if underpaid and n == 0 else 0)
        coinsurance = allowed * 20 // 100
        patient = coinsurance
        cas_pr = f"CAS*PR*2*{_money(sign * coinsurance)}"
        if deductible and n == 0:
            applied = min(DEDUCTIBLE_CENTS, allowed - coinsurance)
            patient += applied
            cas_pr = f"CAS*PR*1*{_money(sign * applied)}**2*{_money(sign * coinsurance)}"
        paid = allowed - patient
        paid_total += paid
        patient_total += patient
        cas = [f"CAS*CO*45*{_money(sign * (price - allowed))}", cas_pr]
        lines += _line(code, sign * price, sign * paid, day, cas, sign * allowed)
    last, given = book.names[i]
    head = [
        f"CLP*{book.pcn(i)}*{status}*{_money(sign * charge_total)}*{_money(sign * paid_total)}*"
        f"{_money(sign * patient_total)}*12*{icn}*11*1",
        f"NM1*QC*1*{last.upper()}*{given.upper()}****MI*{book.member(i)}",
        f"DTM*232*{day}",
        f"DTM*233*{day}",
    ]
    return Claim835(head + lines, sign * paid_total)


def _denied_claim(book: Book, i: int, icn: str) -> Claim835:
    day = book.service_days[i].strftime("%Y%m%d")
    charge = sum(CODES[c][1] for c in book.codes[i])
    last, given = book.names[i]
    return Claim835(
        [
            f"CLP*{book.pcn(i)}*4*{_money(charge)}*0.00*0.00*12*{icn}*11*1",
            f"CAS*CO*197*{_money(charge)}",
            f"NM1*QC*1*{last.upper()}*{given.upper()}****MI*{book.member(i)}",
            f"DTM*232*{day}",
            f"DTM*233*{day}",
            "MOA***N54",
        ],
        0,
    )


def _unmatched(book: Book, k: int) -> Claim835:
    """A claim of nobody here: an unmatched exception."""
    day = (book.today - timedelta(days=20)).strftime("%Y%m%d")
    code, price = CODES[0]
    allowed = ALLOWED[code]
    coinsurance = allowed * 20 // 100
    paid = allowed - coinsurance
    return Claim835(
        [
            f"CLP*NOMATCH{k:07d}*1*{_money(price)}*{_money(paid)}*{_money(coinsurance)}*12*U{k:09d}*11*1",
            f"NM1*QC*1*NOBODY*KNOWN****MI*ZZ{k:09d}",
            f"DTM*232*{day}",
            f"SVC*HC:{code}*{_money(price)}*{_money(paid)}**1",
            f"DTM*472*{day}",
            f"CAS*CO*45*{_money(price - allowed)}",
            f"CAS*PR*2*{_money(coinsurance)}",
            f"AMT*B6*{_money(allowed)}",
        ],
        paid,
    )


def _envelope(payments: list[tuple[list[Claim835], list[tuple[str, int]]]], when: date, trace: str) -> bytes:
    """ISA/GS around one ST/SE per payment; ``plb``: (PLB03 composite, cents) pairs."""
    day, short = when.strftime("%Y%m%d"), when.strftime("%y%m%d")
    out = [
        f"ISA*00*          *00*          *ZZ*BENCHPAYER     *ZZ*BENCHPROVIDER  *{short}*1200*^*00501*"
        "000000905*0*P*:",
        f"GS*HP*BENCHPAYER*BENCHPROVIDER*{day}*1200*905*X*005010X221A1",
    ]
    for number, (claims, plb) in enumerate(payments, start=1):
        total = sum(c.paid for c in claims) - sum(cents for _ref, cents in plb)
        body = [
            f"ST*835*{number:04d}",
            f"BPR*I*{_money(total)}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*{day}",
            f"TRN*1*{trace}{number:04d}*1{PAYER_ID}",
            f"DTM*405*{day}",
            f"N1*PR*BENCH HEALTH PLAN*XV*{PAYER_ID}",
            "N3*1 PAYER WAY",
            "N4*CHICAGO*IL*60601",
            f"N1*PE*BENCH PHYSICIAN GROUP*XX*{NPI}",
            "LX*1",
        ]
        for claim in claims:
            body += claim.segments
        if plb:
            pairs = "*".join(f"{ref}*{_money(cents)}" for ref, cents in plb)
            body.append(f"PLB*{NPI}*{when.year}1231*{pairs}")
        body.append(f"SE*{len(body) + 1}*{number:04d}")
        out += body
    out += [f"GE*{len(payments)}*905", "IEA*1*000000905"]
    return ("~\n".join(out) + "~\n").encode()


def earlier_835(book: Book) -> bytes:
    """Pays the claims the measured file reverses or recoups (deductible applied on line 1)."""
    claims = [_claim(book, i, icn=f"E{i:09d}", deductible=True) for i in range(book.reversals + 2)]
    return _envelope([(claims, [])], book.today - timedelta(days=7), trace="EARLY")


def measured_835(book: Book, per_payment: int) -> bytes:
    claims: list[Claim835] = []
    spread = max(1, book.claims // book.unmatched)
    unmatched = 0
    for i in range(book.claims):
        kind = book.kind(i)
        if kind == "reversed":
            claims.append(_claim(book, i, status="22", icn=f"E{i:09d}", deductible=True, sign=-1))
            claims.append(_claim(book, i, icn=f"C{i:09d}"))
        elif kind in ("recouped", "interest"):
            continue
        elif kind == "denied":
            claims.append(_denied_claim(book, i, f"D{i:09d}"))
        else:
            claims.append(
                _claim(
                    book,
                    i,
                    status="19" if book.secondary(i) else "1",
                    icn=f"P{i:09d}",
                    deductible=i % 10 == 1,
                    denied_line=1 if kind == "line_denied" else None,
                    underpaid=kind == "underpaid",
                )
            )
        if i % spread == spread // 2 and unmatched < book.unmatched:
            claims.append(_unmatched(book, unmatched))
            unmatched += 1
    while unmatched < book.unmatched:
        claims.append(_unmatched(book, unmatched))
        unmatched += 1
    r = book.reversals
    plb = [(f"WO:E{r:09d}", RECOUPED_CENTS), (f"L6:E{r + 1:09d}", -INTEREST_CENTS)]
    payments = [
        (claims[start : start + per_payment], plb if start == 0 else [])
        for start in range(0, len(claims), per_payment)
    ]
    return _envelope(payments, book.today, trace="BENCH")


# --- measuring ---------------------------------------------------------------------------------------


def parse_times(text: str, repeat: int = 3) -> dict[str, Any]:
    """Best of ``repeat`` parses with ``read_835`` (segments kept, and not kept as the import
    reads) and with pyx12's X12Reader (every segment)."""
    from claims.x12.reader835 import read_835

    ours, streamed, segments = [], [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        parsed = read_835(text)
        ours.append(time.perf_counter() - started)
        segments = parsed.segment_count
        del parsed
        started = time.perf_counter()
        parsed = read_835(text, keep_segments=False)
        streamed.append(time.perf_counter() - started)
        del parsed
    result: dict[str, Any] = {
        "segments": segments,
        "read_835_s": round(min(ours), 3),
        "read_835_runs_s": [round(t, 3) for t in ours],
        "read_835_streamed_s": round(min(streamed), 3),
        "read_835_streamed_runs_s": [round(t, 3) for t in streamed],
    }
    try:
        from importlib.metadata import version

        import pyx12.x12file
    except ImportError:
        result["pyx12"] = "not installed"
        return result
    result["pyx12_version"] = version("pyx12")
    theirs = []
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            reader = pyx12.x12file.X12Reader(io.StringIO(text))
            read = sum(1 for _segment in reader)
            errors = reader.pop_errors()
        except Exception as exc:  # report what pyx12 said rather than stopping the bench
            result["pyx12_failed"] = f"{type(exc).__name__}: {exc}"
            return result
        theirs.append(time.perf_counter() - started)
    result.update(
        {
            "pyx12_x12reader_s": round(min(theirs), 3),
            "pyx12_runs_s": [round(t, 3) for t in theirs],
            "pyx12_segments": read,
            "pyx12_errors": len(errors),
        }
    )
    return result


def import_in_child(book: Book, data: bytes, *, profile: Path | None = None) -> dict[str, Any]:
    """``remittance_import`` of ``data`` in a fresh Python process; returns what it measured."""
    with tempfile.NamedTemporaryFile(prefix="bench-", suffix=".835", delete=False) as handle:
        handle.write(data)
        path = handle.name
    try:
        argv = [sys.executable, __file__, "child", str(book.organization_id), str(book.user_id), path]
        if profile:
            argv.append(str(profile))
        done = subprocess.run(argv, env=os.environ.copy(), capture_output=True, text=True, check=False)
    finally:
        os.unlink(path)
    sys.stderr.write(done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"remittances bench: the import process failed (exit {done.returncode})")
    return json.loads(lines[-1][len("RESULT ") :])


def _child(organization_id: int, user_id: int, path: str, profile: str | None) -> None:
    """Runs in the child: one import, timed, with statements counted per phase."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection, connections

    from claims.services import remittances
    from staff.models import Organization, User

    organization = Organization.objects.get(pk=organization_id)
    user = User.objects.get(pk=user_id)
    data = Path(path).read_bytes()
    connection.ensure_connection()
    baseline_mb = peak_rss_mb()

    statements = {"count": 0}
    timings: dict[str, list[float]] = {}

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements["count"] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            # Statements grouped by their first 70 characters: where the database time goes.
            timing = timings.setdefault(" ".join(sql.split())[:70], [0, 0.0])
            timing[0] += 1
            timing[1] += time.perf_counter() - started

    phases: dict[str, dict[str, float]] = {}
    current = {"phase": "start"}

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            current["phase"] = name
            before, started = statements["count"], time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                current["phase"] = "between"
                phase = phases.setdefault(name, {"s": 0.0, "statements": 0})
                phase["s"] += time.perf_counter() - started
                phase["statements"] += statements["count"] - before
                phase["peak_rss_mb"] = round(peak_rss_mb(), 1)  # peak of the process so far

        return wrapper

    for name, attribute in (
        ("read", "read_835"),
        ("store", "store_remittance"),
        ("post", "post_file"),
        ("deposits", "_after_posting"),
        ("summary", "summarize"),
    ):
        setattr(remittances, attribute, timed(name, getattr(remittances, attribute)))

    # Commits are not statements the wrapper sees; their time is where the database checks
    # the deferred foreign keys and waits for the WAL to reach the disk.
    commits = {"count": 0, "s": 0.0}
    database = connections["default"]
    commit = database.commit

    def timed_commit() -> None:
        started = time.perf_counter()
        try:
            commit()
        finally:
            commits["count"] += 1
            commits["s"] += time.perf_counter() - started

    database.commit = timed_commit

    # Time in the cyclic garbage collector (full collections walk every live object, the
    # parsed file's included).
    collector: dict[str, Any] = {"s": 0.0, "full": 0, "started": 0.0, "by_phase": {}}

    def on_collect(phase: str, info: dict) -> None:
        if phase == "start":
            collector["started"] = time.perf_counter()
        else:
            elapsed = time.perf_counter() - collector["started"]
            collector["s"] += elapsed
            collector["full"] += info["generation"] == 2
            where = collector["by_phase"].setdefault(current["phase"], [0, 0.0])
            where[0] += 1
            where[1] += elapsed

    gc.callbacks.append(on_collect)

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        outcome = remittances.remittance_import(
            organization=organization, data=data, filename="bench.835", channel="command", by=user
        )
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    if profiler:
        profiler.dump_stats(profile)
    used = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "seconds": round(elapsed, 2),
        "cpu_s": round(used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime, 2),
        "statements": statements["count"],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_import_mb": round(baseline_mb, 1),
        "phases": {
            k: {"s": round(v["s"], 2), "statements": v["statements"], "peak_rss_mb": v["peak_rss_mb"]}
            for k, v in phases.items()
        },
        "database_s": round(sum(t for _n, t in timings.values()), 2),
        "gc_s": round(collector["s"], 2),
        "gc_full_collections": collector["full"],
        "gc_by_phase": {k: [n, round(t, 2)] for k, (n, t) in collector["by_phase"].items()},
        "commits": commits["count"],
        "commit_s": round(commits["s"], 2),
        "slowest_statements": [
            {"sql": sql, "count": n, "s": round(t, 2)}
            for sql, (n, t) in sorted(timings.items(), key=lambda item: -item[1][1])[:10]
        ],
        "summary": outcome.summary,
        "bytes": len(data),
    }
    print("RESULT " + json.dumps(result, default=str))


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB.

    ``VmHWM`` of this process's memory map. ``getrusage().ru_maxrss`` would be the same
    figure, except that Linux carries it across ``exec``: a child started by a bench process
    of 300 MB would report at least 300 MB before it did anything.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _wal_position() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        return cursor.fetchone()[0]


def _wal_mb_since(position: str) -> float:
    """Write-ahead log written since ``position`` (by everything on the server), in MB."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [position])
        return round(float(cursor.fetchone()[0]) / 1024**2, 1)


def check_outcome(book: Book, measured: dict[str, Any]) -> list[str]:
    """Differences between what the import reported and what the file was built to do."""
    summary = measured["summary"]
    return [
        f"{key}: expected {value}, got {summary.get(key)}"
        for key, value in expected_outcome(book).items()
        if summary.get(key) != value
    ]


def drift_check() -> float:
    """``ledger_drift()`` over the whole bench database must be empty; returns its seconds."""
    from django.db import connection

    from accounts.ledger import ledger_drift

    started = time.perf_counter()
    with connection.cursor() as cursor:
        # As autovacuum would after such a load: without statistics the check's plan reads
        # the bucket table once per account.
        for table in ("accounts_ledgerentry", "accounts_accountbucket", "accounts_patientaccount"):
            cursor.execute(f"ANALYZE {table}")
    drift = ledger_drift(limit=10)
    if drift:
        raise SystemExit(f"remittances bench: the ledger drifted after posting: {drift}")
    return round(time.perf_counter() - started, 1)


def measure(
    claims: int, *, per_payment: int, seed: int, profile: Path | None = None, parse: bool = True
) -> dict[str, Any]:
    """Build, pre-post, generate and import one file of ``claims`` claims; the figures."""
    from claims.services.remittances import remittance_import
    from staff.models import Organization, User

    book = build(claims, seed=seed)
    print(f"[{claims:,} claims] built organization {book.slug} in {book.build_s} s", flush=True)
    organization = Organization.objects.get(pk=book.organization_id)
    user = User.objects.get(pk=book.user_id)
    early = remittance_import(
        organization=organization, data=earlier_835(book), filename="earlier.835", channel="command", by=user
    )
    if early.summary["posted"] != book.reversals + 2:
        raise SystemExit(f"remittances bench: the earlier file did not post: {early.summary}")
    data = measured_835(book, per_payment)
    text = data.decode()
    result: dict[str, Any] = {
        "scenario": "remittances",
        "claims_built": claims,
        "clp_loops": text.count("~\nCLP*"),
        "service_lines": text.count("~\nSVC*"),
        "payments": text.count("~\nST*"),
        "file_mb": round(len(data) / 1024**2, 1),
        "build_s": book.build_s,
        "organization": book.slug,
    }
    if parse:
        result["parse"] = parse_times(text)
    del text
    load_before = os.getloadavg()[0]
    wal_before = _wal_position()
    imported = import_in_child(book, data, profile=profile)
    imported["wal_mb"] = _wal_mb_since(wal_before)
    # Other work on the machine stretches wall time: the load average says how busy it was.
    imported["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    result["import"] = imported
    result["statements_per_1000_claims"] = round(imported["statements"] * 1000 / result["clp_loops"], 1)
    problems = check_outcome(book, imported)
    if problems:
        raise SystemExit("remittances bench: the import did not do as planned: " + "; ".join(problems))
    result["ledger_drift_check_s"] = drift_check()
    result["ledger_entries_in_database"] = _estimated_rows("accounts_ledgerentry")
    return result


def _estimated_rows(table: str) -> int:
    """The planner's row count of ``table`` (posting costs more as the ledger's indexes grow)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


def run(
    *, claims: int, peak_claims: int, per_payment: int, seed: int = 1, profile: bool = False
) -> list[dict[str, Any]]:
    """The measured import of ``claims`` claims, then peak memory at ``peak_claims`` (0: skip)."""
    prof = ROOT / "bench" / "results" / "remittances.prof" if profile else None
    if prof:
        prof.parent.mkdir(exist_ok=True)
    results = []
    main = measure(claims, per_payment=per_payment, seed=seed, profile=prof)
    main["targets"] = TARGETS
    results.append(main)
    report(main)
    if prof:
        import pstats

        pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(35)
        pstats.Stats(str(prof)).sort_stats("tottime").print_stats(25)
    if peak_claims:
        peak = measure(peak_claims, per_payment=per_payment, seed=seed, parse=False)
        results.append(peak)
        report(peak)
    return results


def report(result: dict[str, Any]) -> None:
    imported = result["import"]
    n = result["clp_loops"]
    print(
        f"\nremittances: {n:,} CLP loops, {result['service_lines']:,} service lines, "
        f"{result['payments']} payments, {result['file_mb']} MB (data built in {result['build_s']} s)"
    )
    print(
        f"  remittance_import end to end {imported['seconds']:>7} s   (target <= {TARGETS['end_to_end_s']} s "
        f"at 10,000 claims; CPU of the importing process {imported['cpu_s']} s; load average "
        f"{imported['load_average'][0]} before, {imported['load_average'][1]} after)"
    )
    print(
        f"  SQL statements               {imported['statements']:>7}     "
        f"{result['statements_per_1000_claims']} per 1,000 claims (target <= "
        f"{TARGETS['statements_per_1000_claims']})"
    )
    print(
        f"  peak RSS of the import       {imported['peak_rss_mb']:>7} MB  (before importing "
        f"{imported['rss_before_import_mb']} MB; target <= {TARGETS['peak_mb']} MB at 50,000 claims)"
    )
    for name, phase in imported["phases"].items():
        print(
            f"    {name:<10} {phase['s']:>7} s  {phase['statements']:>6} statements  "
            f"peak RSS {phase['peak_rss_mb']} MB by its end"
        )
    print(
        f"  waiting on the database {imported['database_s']} s in statements, {imported['commit_s']} s in "
        f"{imported['commits']} commits; {imported['wal_mb']} MB of WAL written on the server meanwhile; "
        "the statements that took longest:"
    )
    print(
        f"  garbage collector {imported['gc_s']} s ({imported['gc_full_collections']} full collections; "
        f"collections, seconds by phase: {imported['gc_by_phase']})"
    )
    for statement in imported["slowest_statements"][:6]:
        print(f"    {statement['s']:>6} s  {statement['count']:>4} x  {statement['sql']}")
    if "parse" in result:
        parse = result["parse"]
        pyx12 = (
            f"pyx12 {parse['pyx12_version']} X12Reader {parse['pyx12_x12reader_s']} s "
            f"({parse['pyx12_segments']:,} segments, {parse['pyx12_errors']} errors)"
            if "pyx12_x12reader_s" in parse
            else parse.get("pyx12_failed") or parse.get("pyx12", "")
        )
        print(
            f"  parse only: read_835 {parse['read_835_s']} s ({parse['segments']:,} segments), "
            f"{parse['read_835_streamed_s']} s with keep_segments=False; {pyx12}"
        )
    summary = imported["summary"]
    print(
        "  outcome: "
        + ", ".join(f"{k} {summary[k]}" for k in ("claims", "posted", "exceptions", "denials", "variances"))
        + f"; ledger drift none (checked in {result['ledger_drift_check_s']} s); about "
        f"{result['ledger_entries_in_database']:,} ledger entries in the database",
        flush=True,
    )


if __name__ == "__main__" and len(sys.argv) >= 5 and sys.argv[1] == "child":
    _child(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
