"""Reading and checking a fee schedule CSV before anything is written.

The file has a header row and one price per row::

    code,modifier,allowed_amount,percent_of_charges,effective_from,effective_to
    99213,,85.00,,2026-01-01,
    99213,25,92.50,,01/01/2026,12/31/2026
    J1885,,,80,2026-01-01,

``code`` and ``effective_from`` are required; each row gives exactly one of
``allowed_amount`` and ``percent_of_charges``; dates are YYYY-MM-DD or MM/DD/YYYY.

Every row is checked on its own (a Django form per row), then against the others
(the same price twice, overlapping dates for one code and modifier) and against the
contract's existing entries. All problems are collected and reported together with their
line and column; ``payers.services.fee_schedule_import`` writes nothing unless there are
none. This module only reads: it never touches the database.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from django import forms

from core.csvimport import CsvRejected, RowError, form_errors, read_csv
from core.errors import InvalidInput
from core.money import format_money, parse_money
from payers.models import Contract, FeeScheduleEntry

REQUIRED_COLUMNS = ("code", "effective_from")
OPTIONAL_COLUMNS = ("modifier", "allowed_amount", "percent_of_charges", "effective_to")
# The order of the downloadable template and of exports.
COLUMNS = ("code", "modifier", "allowed_amount", "percent_of_charges", "effective_from", "effective_to")
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y"]
MAX_ROWS = 100_000

# CPT/HCPCS (99213, J1885), revenue codes (0450), NDCs with or without dashes.
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")


def normalize_code(value: str) -> str:
    return (value or "").strip().upper()


def code_problem(code: str) -> tuple[str, str] | None:
    if not code:
        return "code", "enter the procedure, revenue or drug code"
    if not _CODE.match(code):
        return "code", f"{code!r} is not a code (letters, digits, dots and dashes, at most 16)"
    return None


def modifier_problem(modifier: str) -> tuple[str, str] | None:
    if modifier and not _MODIFIER.match(modifier):
        return "modifier", f"{modifier!r} is not a modifier (two letters or digits, e.g. 25 or TC)"
    return None


def parse_percent(raw: Any, field: str) -> Decimal | None:
    """A percentage from 0 to 100 with at most two decimals ("80", "80.5%"); blank means none."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, float):
        raise TypeError("percentages must not be floats; pass a Decimal or a string")
    text = str(raw).strip().rstrip("%").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{field}: {str(raw)!r} is not a percentage", field=field) from None
    if not value.is_finite():
        raise InvalidInput(f"{field}: {str(raw)!r} is not a percentage", field=field)
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidInput(f"{field}: use at most two decimal places", field=field)
    if not Decimal(0) <= value <= Decimal(100):
        raise InvalidInput(f"{field}: must be between 0 and 100", field=field)
    return value.quantize(Decimal("0.01"))


def contract_dates_problem(contract: Contract, day: date) -> str | None:
    """Why a price starting on ``day`` could never apply under ``contract``, or None."""
    if day < contract.effective_from:
        return f"{day:%Y-%m-%d} is before the contract starts ({contract.effective_from:%Y-%m-%d})"
    if contract.effective_to is not None and day > contract.effective_to:
        return f"{day:%Y-%m-%d} is after the contract ends ({contract.effective_to:%Y-%m-%d})"
    return None


def span(start: date, end: date | None) -> str:
    return f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" if end else f"{start:%Y-%m-%d} with no end date"


def percent_text(value: Decimal | None) -> str:
    """``Decimal("80.00")`` → ``"80%"``; ``Decimal("33.50")`` → ``"33.5%"``; empty for None."""
    if value is None:
        return ""
    return f"{value.quantize(Decimal('0.01')):f}".rstrip("0").rstrip(".") + "%"


def price_text(allowed_amount: Decimal | None, percent_of_charges: Decimal | None) -> str:
    if allowed_amount is not None:
        return format_money(allowed_amount)
    return f"{percent_text(percent_of_charges)} of charges" if percent_of_charges is not None else "no price"


def _message(exc: InvalidInput) -> str:
    # Domain messages read "field: what is wrong"; the column is reported separately.
    prefix = f"{exc.field}: "
    return exc.message[len(prefix) :] if exc.field and exc.message.startswith(prefix) else exc.message


def _date_field(required: bool) -> forms.DateField:
    return forms.DateField(
        required=required,
        input_formats=DATE_FORMATS,
        error_messages={
            "required": "enter the date the price starts (YYYY-MM-DD or MM/DD/YYYY)",
            "invalid": "not a date; use YYYY-MM-DD or MM/DD/YYYY",
        },
    )


class FeeRowForm(forms.Form):
    """One CSV row. Field names are the column names, so errors name the column."""

    code = forms.CharField(required=False)
    modifier = forms.CharField(required=False)
    allowed_amount = forms.CharField(required=False)
    percent_of_charges = forms.CharField(required=False)
    effective_from = _date_field(required=True)
    effective_to = _date_field(required=False)

    def clean_code(self) -> str:
        code = normalize_code(self.cleaned_data["code"])
        problem = code_problem(code)
        if problem:
            raise forms.ValidationError(problem[1])
        return code

    def clean_modifier(self) -> str:
        modifier = normalize_code(self.cleaned_data["modifier"])
        problem = modifier_problem(modifier)
        if problem:
            raise forms.ValidationError(problem[1])
        return modifier

    def clean_allowed_amount(self) -> Decimal | None:
        raw = self.cleaned_data["allowed_amount"]
        if not raw:
            return None
        try:
            amount = parse_money(raw, field="allowed_amount")
        except InvalidInput as exc:
            raise forms.ValidationError(_message(exc)) from None
        if amount < 0:
            raise forms.ValidationError("cannot be negative")
        return amount

    def clean_percent_of_charges(self) -> Decimal | None:
        try:
            return parse_percent(self.cleaned_data["percent_of_charges"], "percent_of_charges")
        except InvalidInput as exc:
            raise forms.ValidationError(_message(exc)) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not {"allowed_amount", "percent_of_charges"} & set(self.errors):
            amount, percent = cleaned.get("allowed_amount"), cleaned.get("percent_of_charges")
            if amount is None and percent is None:
                self.add_error("allowed_amount", "give allowed_amount or percent_of_charges")
            elif amount is not None and percent is not None:
                self.add_error("percent_of_charges", "give allowed_amount or percent_of_charges, not both")
        start, end = cleaned.get("effective_from"), cleaned.get("effective_to")
        if start and end and end < start:
            self.add_error("effective_to", f"{end:%Y-%m-%d} is before effective_from ({start:%Y-%m-%d})")
        return cleaned


@dataclass(frozen=True)
class FeeRow:
    """A row that passed its own checks, in the file's terms."""

    line: int
    code: str
    modifier: str
    allowed_amount: Decimal | None
    percent_of_charges: Decimal | None
    effective_from: date
    effective_to: date | None

    @property
    def key(self) -> tuple[str, str, date]:
        return self.code, self.modifier, self.effective_from

    @property
    def label(self) -> str:
        return f"{self.code}-{self.modifier}" if self.modifier else self.code

    @property
    def price_text(self) -> str:
        return price_text(self.allowed_amount, self.percent_of_charges)


@dataclass
class ImportPlan:
    """What an import will write: new entries, (entry, row) updates, (entry, new end) endings."""

    create: list[FeeScheduleEntry] = field(default_factory=list)
    update: list[tuple[FeeScheduleEntry, FeeRow]] = field(default_factory=list)
    end: list[tuple[FeeScheduleEntry, date]] = field(default_factory=list)
    unchanged: int = 0


def parse_rows(content: bytes | str) -> tuple[list[FeeRow], list[RowError]]:
    """Rows that passed their own checks, and the problems of the others.

    A file that cannot be read as a fee schedule at all (not UTF-8, missing or unknown
    columns, no rows) raises ``CsvRejected`` at once.
    """
    csv_rows = read_csv(content, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    if len(csv_rows) > MAX_ROWS:
        message = f"the file has {len(csv_rows):,} rows; split it into files of at most {MAX_ROWS:,}"
        raise CsvRejected([RowError(MAX_ROWS + 2, "", message)])
    rows, errors = [], []
    for csv_row in csv_rows:
        form = FeeRowForm(data={name: csv_row.values.get(name, "") for name in COLUMNS})
        if not form.is_valid():
            errors.extend(form_errors(form, csv_row.line))
            continue
        rows.append(FeeRow(line=csv_row.line, **form.cleaned_data))
    return rows, errors


def _overlaps(start: date, end: date | None, other_start: date, other_end: date | None) -> bool:
    return (end is None or other_start <= end) and (other_end is None or other_end >= start)


def plan_import(
    contract: Contract,
    rows: list[FeeRow],
    existing: Iterable[FeeScheduleEntry],
    *,
    end_previous: bool = False,
    errors: Iterable[RowError] = (),
) -> ImportPlan:
    """Check ``rows`` against each other and the contract's ``existing`` entries of the same codes.

    With ``end_previous``, an existing price of a code and modifier that is in force on
    the earliest start date of that code and modifier in the file, and began before it,
    ends the day before; overlaps with any other existing price are problems.
    Raises ``CsvRejected`` with every problem (``errors`` from ``parse_rows`` included).
    """
    problems = list(errors)
    by_key = {(e.code, e.modifier, e.effective_from): e for e in existing}
    existing_by_group: dict[tuple[str, str], list[FeeScheduleEntry]] = defaultdict(list)
    for entry in by_key.values():
        existing_by_group[(entry.code, entry.modifier)].append(entry)

    first_seen: dict[tuple[str, str, date], FeeRow] = {}
    rows_by_group: dict[tuple[str, str], list[FeeRow]] = defaultdict(list)
    for row in rows:
        problem = contract_dates_problem(contract, row.effective_from)
        if problem:
            problems.append(RowError(row.line, "effective_from", problem))
            continue
        first = first_seen.get(row.key)
        if first is not None:
            problems.append(
                RowError(
                    row.line,
                    "code",
                    f"{row.label} from {row.effective_from:%Y-%m-%d} is also on line {first.line}; keep one",
                )
            )
            continue
        first_seen[row.key] = row
        rows_by_group[(row.code, row.modifier)].append(row)

    plan = ImportPlan()
    for group, group_rows in rows_by_group.items():
        group_rows.sort(key=lambda r: r.effective_from)
        for earlier, later in pairwise(group_rows):
            if _overlaps(
                later.effective_from, later.effective_to, earlier.effective_from, earlier.effective_to
            ):
                problems.append(
                    RowError(
                        later.line,
                        "effective_from",
                        f"{later.label} {span(later.effective_from, later.effective_to)} overlaps line "
                        f"{earlier.line} ({span(earlier.effective_from, earlier.effective_to)}); give the "
                        "earlier row an effective_to before this one starts",
                    )
                )
        starts = {r.effective_from for r in group_rows}
        others = [e for e in existing_by_group.get(group, []) if e.effective_from not in starts]
        new_ends: dict[int, date] = {}
        if end_previous:
            first_start = group_rows[0].effective_from
            for entry in others:
                if entry.effective_from < first_start and _overlaps(
                    first_start, first_start, entry.effective_from, entry.effective_to
                ):
                    new_ends[entry.pk] = first_start - timedelta(days=1)
        for row in group_rows:
            for entry in others:
                end = new_ends.get(entry.pk, entry.effective_to)
                if _overlaps(row.effective_from, row.effective_to, entry.effective_from, end):
                    advice = (
                        "change the dates of one of them"
                        if end_previous
                        else "end that price first, or choose to end earlier prices when importing"
                    )
                    problems.append(
                        RowError(
                            row.line,
                            "effective_from",
                            f"{row.label} {span(row.effective_from, row.effective_to)} overlaps the existing "
                            f"price {price_text(entry.allowed_amount, entry.percent_of_charges)} "
                            f"({span(entry.effective_from, end)}); {advice}",
                        )
                    )
                    break
            current = by_key.get(row.key)
            if current is None:
                plan.create.append(
                    FeeScheduleEntry(
                        organization_id=contract.organization_id,
                        contract=contract,
                        code=row.code,
                        modifier=row.modifier,
                        allowed_amount=row.allowed_amount,
                        percent_of_charges=row.percent_of_charges,
                        effective_from=row.effective_from,
                        effective_to=row.effective_to,
                    )
                )
            elif (current.allowed_amount, current.percent_of_charges, current.effective_to) == (
                row.allowed_amount,
                row.percent_of_charges,
                row.effective_to,
            ):
                plan.unchanged += 1
            else:
                plan.update.append((current, row))
        plan.end.extend((entry, new_ends[entry.pk]) for entry in others if entry.pk in new_ends)

    if problems:
        order = {name: index for index, name in enumerate(("", *COLUMNS))}
        raise CsvRejected(sorted(problems, key=lambda e: (e.line, order.get(e.column, len(order)))))
    return plan


def entry_values(entry: FeeScheduleEntry) -> list[str]:
    """An entry as a row of the import format, so an export can be edited and imported again."""
    return [
        entry.code,
        entry.modifier,
        "" if entry.allowed_amount is None else f"{entry.allowed_amount:.2f}",
        "" if entry.percent_of_charges is None else f"{entry.percent_of_charges:.2f}",
        f"{entry.effective_from:%Y-%m-%d}",
        "" if entry.effective_to is None else f"{entry.effective_to:%Y-%m-%d}",
    ]
