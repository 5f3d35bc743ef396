"""Charge edits: the coding mistakes and typos a patient account rep catches before billing.

``find_problems`` looks at an account's posted charges and names what is wrong;
``refresh_account_edits`` keeps the ``ChargeEdit`` rows in step: new problems open an
edit, fixed ones are resolved, overrides stay as they were. A charge with an open edit
is not billable (``billing_blockers``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import Charge, ChargeEdit, Coverage, PatientAccount
from core.audit import system_user
from core.money import format_money, quantize_cents

CODE_PATTERNS = {
    # CPT Category I is five digits; Category II ends in F, Category III in T.
    Charge.CodeType.CPT: (re.compile(r"^\d{4}[0-9FT]$"), "five characters: four digits then a digit, F or T"),
    Charge.CodeType.HCPCS: (re.compile(r"^[A-V]\d{4}$"), "a letter A-V followed by four digits"),
    Charge.CodeType.REVENUE: (re.compile(r"^\d{4}$"), "four digits, with a leading zero (e.g. 0450)"),
    Charge.CodeType.NDC: (re.compile(r"^\d{11}$"), "eleven digits in 5-4-2 form without dashes"),
}
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
# Evaluation and management visits are billed once a day: more than one unit is a typo.
E_AND_M = re.compile(r"^99[2-4]\d\d$")
MAX_UNITS = Decimal("99")
MAX_DAYS_SUPPLY = 365
# A charge below what the contract allows loses money; one far above it is usually a typo.
FEE_HIGH_MULTIPLE = Decimal("10")


@dataclass(frozen=True)
class Problem:
    charge_id: int
    rule: str
    field: str
    message: str


@lru_cache(maxsize=20000)
def diagnosis_problem(code: str) -> str | None:
    """Why an ICD-10-CM code cannot be billed, or None when it can (the package's FY code set)."""
    import simple_icd_10_cm as icd

    if not icd.is_valid_item(code):
        return f"{code} is not an ICD-10-CM code"
    if not icd.is_leaf(code):
        return f"{code} is a category, not a billable code: it needs more characters"
    return None


def _charge_problems(charge: Charge) -> list[Problem]:
    problems = []

    def add(rule: str, field: str, message: str) -> None:
        problems.append(Problem(charge.pk, rule, field, message))

    pattern, shape = CODE_PATTERNS[charge.code_type]
    if not pattern.match(charge.code):
        add(
            ChargeEdit.Rule.CODE_FORMAT,
            "code",
            f"{charge.get_code_type_display()} {charge.code!r} should be {shape}",
        )
    if charge.revenue_code and not CODE_PATTERNS[Charge.CodeType.REVENUE][0].match(charge.revenue_code):
        add(
            ChargeEdit.Rule.CODE_FORMAT,
            "revenue_code",
            f"Revenue code {charge.revenue_code!r} should be four digits",
        )
    for modifier in charge.modifiers:
        if not MODIFIER.match(modifier):
            add(
                ChargeEdit.Rule.MODIFIER_FORMAT,
                "modifiers",
                f"Modifier {modifier!r} should be two letters or digits",
            )
    if charge.code_type in (Charge.CodeType.CPT, Charge.CodeType.HCPCS) and not charge.diagnoses:
        add(
            ChargeEdit.Rule.DIAGNOSIS_MISSING,
            "diagnoses",
            f"{charge.code} has no diagnosis; add the ICD-10-CM code",
        )
    for position, code in enumerate(charge.diagnoses, start=1):
        problem = diagnosis_problem(code)
        if problem:
            add(
                ChargeEdit.Rule.DIAGNOSIS_INVALID, f"diagnoses.{position}", f"Diagnosis {position}: {problem}"
            )
    if charge.units > MAX_UNITS:
        add(
            ChargeEdit.Rule.UNITS,
            "units",
            f"{charge.units.normalize()} units is more than {MAX_UNITS} for one line",
        )
    elif E_AND_M.match(charge.code) and charge.units > 1:
        add(
            ChargeEdit.Rule.UNITS,
            "units",
            f"Visit code {charge.code} is billed once per day, not {charge.units.normalize()} units",
        )
    if charge.code_type == Charge.CodeType.NDC or charge.rx_number:
        missing = [
            label
            for label, value in (
                ("Rx number", charge.rx_number),
                ("quantity", charge.quantity),
                ("days supply", charge.days_supply),
            )
            if value in ("", None)
        ]
        if missing:
            add(
                ChargeEdit.Rule.PHARMACY_FIELDS,
                "pharmacy",
                f"Prescription line is missing {', '.join(missing)}",
            )
        elif charge.days_supply == 0 or charge.days_supply > MAX_DAYS_SUPPLY:
            add(ChargeEdit.Rule.UNITS, "days_supply", f"{charge.days_supply} days supply is not plausible")
    return problems


def _duplicate_problems(charges: list[Charge]) -> list[Problem]:
    seen: Counter = Counter()
    problems = []
    for charge in sorted(charges, key=lambda c: c.pk):
        key = (
            charge.service_date,
            charge.code,
            tuple(charge.modifiers),
            charge.rx_number,
            charge.fill_number,
        )
        if seen[key]:
            problems.append(
                Problem(
                    charge.pk,
                    ChargeEdit.Rule.DUPLICATE,
                    "code",
                    f"{charge.code} on {charge.service_date:%m/%d/%Y} is already on this account; "
                    "reverse one, or override if both services were given",
                )
            )
        seen[key] += 1
    return problems


def _fee_problems(account: PatientAccount, charges: list[Charge], memo: dict) -> list[Problem]:
    from accounts.services import responsible_coverages
    from payers.selectors import expected_allowed

    problems = []
    coverages = responsible_coverages(account, {c.service_date for c in charges})
    for charge in charges:
        coverage: Coverage | None = coverages[charge.service_date]
        if coverage is None:
            continue
        expected = expected_allowed(
            payer_id=coverage.plan.payer_id,
            plan_id=coverage.plan_id,
            code=charge.code,
            modifier=charge.modifiers[0] if charge.modifiers else "",
            on=charge.service_date,
            # Per unit: a fee schedule prices one unit, and a percentage of the per-unit
            # charge times the units is the percentage of the line.
            charge_amount=charge.amount / charge.units,
            memo=memo,
        )
        if expected is None or expected == 0:
            continue
        expected_total = quantize_cents(expected * charge.units)
        if charge.amount < expected_total:
            problems.append(
                Problem(
                    charge.pk,
                    ChargeEdit.Rule.FEE_DEVIATION,
                    "amount",
                    f"{format_money(charge.amount)} is below the {format_money(expected_total)} the contract "
                    "allows; the payer will pay no more than the charge",
                )
            )
        elif charge.amount > expected_total * FEE_HIGH_MULTIPLE:
            problems.append(
                Problem(
                    charge.pk,
                    ChargeEdit.Rule.FEE_DEVIATION,
                    "amount",
                    f"{format_money(charge.amount)} is more than {FEE_HIGH_MULTIPLE} times the contract's "
                    f"{format_money(expected_total)}; check for a typo",
                )
            )
    return problems


def find_problems(account: PatientAccount, memo: dict | None = None) -> list[Problem]:
    """Everything wrong with the account's posted charges; ``memo`` caches contract prices."""
    charges = list(Charge.objects.filter(account=account, status=Charge.Status.POSTED).order_by("id"))
    problems: list[Problem] = []
    for charge in charges:
        problems.extend(_charge_problems(charge))
    problems.extend(_duplicate_problems(charges))
    problems.extend(_fee_problems(account, charges, {} if memo is None else memo))
    return problems


def refresh_account_edits(account: PatientAccount, *, by: Any = None, memo: dict | None = None) -> None:
    """Bring the account's edits in line with its charges (inside the caller's transaction).

    Importers posting to many accounts pass one ``memo`` so contract prices are read once.
    """
    by = by or system_user()
    now = timezone.now()
    found = {(p.charge_id, p.rule, p.field): p for p in find_problems(account, memo)}
    existing = {(e.charge_id, e.rule, e.field): e for e in ChargeEdit.objects.filter(charge__account=account)}
    new, changed = [], []
    for key, problem in found.items():
        edit = existing.get(key)
        if edit is None:
            new.append(
                ChargeEdit(
                    organization_id=account.organization_id,
                    charge_id=problem.charge_id,
                    rule=problem.rule,
                    field=problem.field,
                    message=problem.message[:300],
                )
            )
        elif edit.status == ChargeEdit.Status.RESOLVED:
            edit.status, edit.message = ChargeEdit.Status.OPEN, problem.message[:300]
            edit.resolved_at, edit.resolved_by, edit.updated_at = None, None, now
            changed.append(edit)
    for key, edit in existing.items():
        if key not in found and edit.status == ChargeEdit.Status.OPEN:
            edit.status, edit.resolved_at, edit.resolved_by, edit.updated_at = (
                ChargeEdit.Status.RESOLVED,
                now,
                by,
                now,
            )
            changed.append(edit)
    if new:
        bulk_create_with_history(new, ChargeEdit, default_user=by, default_change_reason="charge edit found")
    if changed:
        bulk_update_with_history(
            changed,
            ChargeEdit,
            ["status", "message", "resolved_at", "resolved_by", "updated_at"],
            default_user=by,
            default_change_reason="charge edits refreshed",
        )


def billing_blockers(account: PatientAccount) -> list[ChargeEdit]:
    """Open edits on posted charges: each must be fixed or overridden before a claim is made."""
    return list(
        ChargeEdit.objects.filter(
            charge__account=account, charge__status=Charge.Status.POSTED, status=ChargeEdit.Status.OPEN
        )
        .select_related("charge")
        .order_by("charge_id", "rule")
    )
