"""Contracts, their fee schedule entries, and the fee schedule CSV import."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from core.audit import current_request_id, mark_change
from core.errors import Conflict, InvalidInput
from payers import fee_import
from payers.models import (
    Contract,
    FeeScheduleEntry,
    Payer,
    Plan,
)
from payers.permissions import can_manage_payers
from payers.services._helpers import (
    apply_changes,
    check_dates_ordered,
    checked_reason,
    diff_data,
    end_row_in_force,
    insert_row,
    jsonable,
    lock_row,
    money_or_none,
    payer_event,
    percent_or_none,
    refuse_overlap,
    require_permission,
    save_changes,
    stripped,
    validate_fields,
)

# --- contracts -----------------------------------------------------------------------------

CONTRACT_FIELDS = (
    "name",
    "plan",
    "effective_from",
    "effective_to",
    "default_percent_of_charges",
    "variance_tolerance",
)


def _contract_scope(contract: Contract) -> models.QuerySet:
    """Contracts competing with ``contract`` for the same claims: same payer, same plan (or payer-wide)."""
    scope = Contract.objects.filter(payer_id=contract.payer_id)
    if contract.plan_id is None:
        return scope.filter(plan__isnull=True)
    return scope.filter(plan_id=contract.plan_id)


def _check_contract(contract: Contract) -> None:
    if not contract.name:
        raise InvalidInput("name: enter the contract's name", field="name")
    if contract.effective_from is None:
        raise InvalidInput("effective_from: enter the date the contract starts", field="effective_from")
    if contract.plan is not None and contract.plan.payer_id != contract.payer_id:
        raise InvalidInput("plan: the plan belongs to another payer", field="plan")
    check_dates_ordered(contract.effective_from, contract.effective_to)
    contract.default_percent_of_charges = percent_or_none(
        contract.default_percent_of_charges, "default_percent_of_charges"
    )
    tolerance = money_or_none(contract.variance_tolerance, "variance_tolerance")
    contract.variance_tolerance = tolerance if tolerance is not None else Decimal("0.00")
    validate_fields(contract)


@transaction.atomic(durable=True)
def contract_create(
    *,
    payer: Payer,
    name: str,
    effective_from: date,
    by: Any,
    plan: Plan | None = None,
    effective_to: date | None = None,
    default_percent_of_charges: Decimal | str | None = None,
    variance_tolerance: Decimal | str = Decimal("1.00"),
    end_previous: bool = False,
) -> Contract:
    """Add a contract for a payer (or one of its plans); overlapping ones of the same scope are refused."""
    lock_row(Payer, payer)
    require_permission(can_manage_payers(by, payer), "Only an admin of this organization may add contracts.")
    contract = Contract(
        organization_id=payer.organization_id,
        payer=payer,
        plan=plan,
        name=stripped(name) or "",
        effective_from=effective_from,
        effective_to=effective_to,
        default_percent_of_charges=default_percent_of_charges,
        variance_tolerance=variance_tolerance,
    )
    _check_contract(contract)
    scope = _contract_scope(contract)
    ended = None
    if end_previous:
        ended = end_row_in_force(
            scope,
            contract.effective_from,
            by=by,
            reason=f"ended: {contract.name[:40]} from {contract.effective_from:%Y-%m-%d}",
        )
    refuse_overlap(scope, contract.effective_from, contract.effective_to, "contract")
    mark_change(contract, by=by, reason="contract added")
    contract.save()
    data: dict[str, Any] = {
        "contract": str(contract.reference),
        "plan": jsonable(plan),
        "effective_from": str(contract.effective_from),
        "effective_to": jsonable(contract.effective_to),
    }
    if ended is not None:
        data["ended_contract"] = {
            "contract": str(ended[0].reference),
            "new_effective_to": str(ended[0].effective_to),
        }
    payer_event(payer, "payers.contract.created", f"Contract {contract.name} added", by, data)
    return contract


@transaction.atomic(durable=True)
def contract_update(*, contract: Contract, changes: dict[str, Any], reason: str, by: Any) -> Contract:
    lock_row(Payer, contract.payer)
    lock_row(Contract, contract)
    require_permission(
        can_manage_payers(by, contract), "Only an admin of this organization may change contracts."
    )
    reason = checked_reason(reason)
    if "variance_tolerance" in changes:
        tolerance = money_or_none(changes["variance_tolerance"], "variance_tolerance")
        changes = {**changes, "variance_tolerance": tolerance}
    if "default_percent_of_charges" in changes:
        changes = {
            **changes,
            "default_percent_of_charges": percent_or_none(
                changes["default_percent_of_charges"], "default_percent_of_charges"
            ),
        }
    diff = apply_changes(contract, changes, CONTRACT_FIELDS)
    if not diff:
        return contract
    _check_contract(contract)
    if {"effective_from", "effective_to", "plan"} & set(diff):
        refuse_overlap(
            _contract_scope(contract).exclude(pk=contract.pk),
            contract.effective_from,
            contract.effective_to,
            "contract",
        )
    save_changes(contract, diff, by=by, reason=reason)
    payer_event(
        contract.payer,
        "payers.contract.updated",
        f"Contract {contract.name} changed: {', '.join(sorted(diff))}",
        by,
        {"contract": str(contract.reference), "changes": diff_data(diff), "reason": reason},
    )
    return contract


# --- fee schedule entries --------------------------------------------------------------------

FEE_ENTRY_FIELDS = ("allowed_amount", "percent_of_charges", "effective_from", "effective_to")


fee_price_text = fee_import.price_text


def _price_until(allowed_amount: Decimal | None, percent_of_charges: Decimal | None, end: date | None) -> str:
    text = fee_price_text(allowed_amount, percent_of_charges)
    return f"{text} until {end:%Y-%m-%d}" if end else text


def _check_fee_entry(entry: FeeScheduleEntry, contract: Contract) -> None:
    entry.code = fee_import.normalize_code(entry.code)
    entry.modifier = fee_import.normalize_code(entry.modifier or "")
    problem = fee_import.code_problem(entry.code) or fee_import.modifier_problem(entry.modifier)
    if problem:
        field_name, message = problem
        raise InvalidInput(f"{field_name}: {message}", field=field_name)
    if (entry.allowed_amount is None) == (entry.percent_of_charges is None):
        raise InvalidInput(
            "allowed_amount: give either an allowed amount or a percent of charges (exactly one)",
            field="allowed_amount",
        )
    if entry.effective_from is None:
        raise InvalidInput("effective_from: enter the date the price starts", field="effective_from")
    check_dates_ordered(entry.effective_from, entry.effective_to)
    problem = fee_import.contract_dates_problem(contract, entry.effective_from)
    if problem:
        raise InvalidInput(f"effective_from: {problem}", field="effective_from")
    validate_fields(entry)


def _fee_siblings(entry: FeeScheduleEntry) -> models.QuerySet:
    return FeeScheduleEntry.objects.filter(
        contract_id=entry.contract_id, code=entry.code, modifier=entry.modifier
    )


@transaction.atomic(durable=True)
def fee_schedule_entry_create(
    *,
    contract: Contract,
    code: str,
    effective_from: date,
    by: Any,
    modifier: str = "",
    allowed_amount: Decimal | str | None = None,
    percent_of_charges: Decimal | str | None = None,
    effective_to: date | None = None,
    end_previous: bool = False,
) -> FeeScheduleEntry:
    """Price one code (+ modifier) under a contract from a date: an amount or a percent of charges."""
    lock_row(Contract, contract)  # serializes fee schedule changes of this contract
    require_permission(
        can_manage_payers(by, contract), "Only an admin of this organization may change fee schedules."
    )
    entry = FeeScheduleEntry(
        organization_id=contract.organization_id,
        contract=contract,
        code=code or "",
        modifier=modifier or "",
        allowed_amount=money_or_none(allowed_amount, "allowed_amount"),
        percent_of_charges=percent_or_none(percent_of_charges, "percent_of_charges"),
        effective_from=effective_from,
        effective_to=effective_to,
    )
    _check_fee_entry(entry, contract)
    if end_previous:
        end_row_in_force(
            _fee_siblings(entry),
            entry.effective_from,
            by=by,
            reason=f"ended: new price from {entry.effective_from:%Y-%m-%d}",
        )
    refuse_overlap(_fee_siblings(entry), entry.effective_from, entry.effective_to, "price for this code")
    mark_change(entry, by=by, reason="fee schedule entry added")
    insert_row(
        entry,
        Conflict(f"code: {entry} already has a price from {entry.effective_from:%Y-%m-%d}", field="code"),
    )
    payer_event(
        contract.payer,
        "payers.fee_entry.created",
        f"{contract.name}: {entry} priced at {fee_price_text(entry.allowed_amount, entry.percent_of_charges)}"
        f" from {entry.effective_from:%Y-%m-%d}",
        by,
        {"contract": str(contract.reference), "entry": str(entry.reference)},
    )
    return entry


@transaction.atomic(durable=True)
def fee_schedule_entry_update(
    *, entry: FeeScheduleEntry, changes: dict[str, Any], reason: str, by: Any
) -> FeeScheduleEntry:
    """Change one price or its dates; code and modifier are fixed (add another entry instead)."""
    lock_row(Contract, entry.contract)
    lock_row(FeeScheduleEntry, entry)
    require_permission(
        can_manage_payers(by, entry), "Only an admin of this organization may change fee schedules."
    )
    reason = checked_reason(reason)
    changes = dict(changes)
    if "allowed_amount" in changes:
        changes["allowed_amount"] = money_or_none(changes["allowed_amount"], "allowed_amount")
    if "percent_of_charges" in changes:
        changes["percent_of_charges"] = percent_or_none(changes["percent_of_charges"], "percent_of_charges")
    diff = apply_changes(entry, changes, FEE_ENTRY_FIELDS)
    if not diff:
        return entry
    _check_fee_entry(entry, entry.contract)
    if {"effective_from", "effective_to"} & set(diff):
        refuse_overlap(
            _fee_siblings(entry).exclude(pk=entry.pk),
            entry.effective_from,
            entry.effective_to,
            "price for this code",
        )
    try:
        with transaction.atomic(savepoint=True):
            save_changes(entry, diff, by=by, reason=reason)
    except IntegrityError:
        raise Conflict(
            f"effective_from: {entry} already has a price from {entry.effective_from:%Y-%m-%d}",
            field="effective_from",
        ) from None
    payer_event(
        entry.contract.payer,
        "payers.fee_entry.updated",
        f"{entry.contract.name}: {entry} from {entry.effective_from:%Y-%m-%d} changed: "
        f"{', '.join(sorted(diff))}",
        by,
        {
            "contract": str(entry.contract.reference),
            "entry": str(entry.reference),
            "changes": diff_data(diff),
            "reason": reason,
        },
    )
    return entry


@dataclass(frozen=True)
class FeeChange:
    """A price the import changed: the file's line, the entry, and its old and new price."""

    line: int
    code: str
    modifier: str
    effective_from: date
    old_price: str
    new_price: str

    def __str__(self) -> str:
        code = f"{self.code}-{self.modifier}" if self.modifier else self.code
        return f"{code} from {self.effective_from:%Y-%m-%d}: {self.old_price} → {self.new_price}"


@dataclass
class FeeImportResult:
    created: int = 0
    unchanged: int = 0
    updated: list[FeeChange] = field(default_factory=list)
    ended: int = 0

    @property
    def summary(self) -> str:
        parts = [
            f"{self.created} price{'s' if self.created != 1 else ''} added",
            f"{len(self.updated)} changed",
            f"{self.unchanged} unchanged",
        ]
        if self.ended:
            parts.append(f"{self.ended} earlier price{'s' if self.ended != 1 else ''} ended")
        return ", ".join(parts)


@transaction.atomic(durable=True)
def fee_schedule_import(
    *, contract: Contract, content: bytes | str, by: Any, filename: str = "", end_previous: bool = False
) -> FeeImportResult:
    """Import a fee schedule CSV into ``contract``: everything or nothing.

    The whole file is checked first (``payers.fee_import``); any problem raises
    ``core.csvimport.CsvRejected`` listing every one with its line and column, and
    nothing is written. Rows are keyed by (code, modifier, effective_from): a row that
    matches an entry with the same price and end date is unchanged, one with another
    price or end date updates it. Importing the same file twice changes nothing.
    """
    require_permission(
        can_manage_payers(by, contract), "Only an admin of this organization may import fee schedules."
    )
    rows, row_errors = fee_import.parse_rows(content)
    lock_row(Contract, contract)  # fee schedule changes of this contract wait for this import
    require_permission(
        can_manage_payers(by, contract), "Only an admin of this organization may import fee schedules."
    )
    existing = list(
        FeeScheduleEntry.objects.filter(contract=contract, code__in={row.code for row in rows}).order_by(
            "code", "modifier", "effective_from"
        )
    )
    plan = fee_import.plan_import(contract, rows, existing, end_previous=end_previous, errors=row_errors)

    label = filename[:40] or "a file"
    result = FeeImportResult(unchanged=plan.unchanged, created=len(plan.create), ended=len(plan.end))
    history = {"default_user": by, "custom_historical_attrs": {"request_id": current_request_id()}}
    if plan.create:
        bulk_create_with_history(
            plan.create,
            FeeScheduleEntry,
            batch_size=1000,
            default_change_reason=f"imported from {label}",
            **history,
        )
    changed = []
    for entry, row in plan.update:
        result.updated.append(
            FeeChange(
                row.line,
                row.code,
                row.modifier,
                row.effective_from,
                _price_until(entry.allowed_amount, entry.percent_of_charges, entry.effective_to),
                _price_until(row.allowed_amount, row.percent_of_charges, row.effective_to),
            )
        )
        entry.allowed_amount, entry.percent_of_charges, entry.effective_to = (
            row.allowed_amount,
            row.percent_of_charges,
            row.effective_to,
        )
        mark_change(entry, by=by, reason=f"changed by import of {label}")
        changed.append(entry)
    for entry, new_end in plan.end:
        entry.effective_to = new_end
        mark_change(entry, by=by, reason=f"ended by import of {label}")
        changed.append(entry)
    if changed:
        # bulk_update does not run auto_now.
        stamp = timezone.now()
        for entry in changed:
            entry.updated_at = stamp
        bulk_update_with_history(
            changed,
            FeeScheduleEntry,
            ["allowed_amount", "percent_of_charges", "effective_to", "updated_at"],
            batch_size=1000,
            default_change_reason=f"changed by import of {label}",
            **history,
        )
    payer_event(
        contract.payer,
        "payers.fee_schedule.imported",
        f"Fee schedule of {contract.name} imported from {label}: {result.summary}",
        by,
        {
            "contract": str(contract.reference),
            "filename": filename[:200],
            "rows": len(rows),
            "created": result.created,
            "updated": len(result.updated),
            "unchanged": result.unchanged,
            "ended": result.ended,
            "changes": [str(change) for change in result.updated[:50]],
        },
    )
    return result
