"""Reading and checking a bank deposit CSV before anything is written.

The file has a header row and one deposit per row::

    deposit_date,amount,trace_number,method,payer,bank_reference
    2026-11-02,1250.00,EFT0000123,eft,60054,BANK-7781
    11/03/2026,"$310.45",88123,check,Prairie Mutual,

``deposit_date``, ``amount`` and ``trace_number`` are required. ``method`` is ``eft`` (the
default when blank; ``ach`` is accepted), ``check`` (``chk``), ``wire`` (``fwt``) or
``other``. ``payer`` is the payer's EDI id or its name as on the payer list, and may be
left blank. Dates are YYYY-MM-DD or MM/DD/YYYY.

Every row is checked on its own (a Django form per row), then against the others (the same
deposit twice in the file) and against the payers of the organization. All problems are
collected with their line and column; ``claims.services.reconciliation.deposit_import_csv``
writes nothing unless there are none. This module only reads: it never touches the database.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms

from claims.models import Deposit
from core.csvimport import CsvRejected, RowError, form_errors, read_csv
from core.errors import InvalidInput
from core.money import ZERO, parse_money

REQUIRED_COLUMNS = ("deposit_date", "amount", "trace_number")
OPTIONAL_COLUMNS = ("method", "payer", "bank_reference")
COLUMNS = ("deposit_date", "amount", "trace_number", "method", "payer", "bank_reference")
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y"]
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
TRACE_MAX_LENGTH = 50
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

# What banks and people write, and the method it means. Blank: most payer deposits are EFTs.
METHOD_ALIASES = {
    "": Deposit.Method.EFT,
    "eft": Deposit.Method.EFT,
    "ach": Deposit.Method.EFT,
    "check": Deposit.Method.CHECK,
    "chk": Deposit.Method.CHECK,
    "wire": Deposit.Method.WIRE,
    "fwt": Deposit.Method.WIRE,
    "other": Deposit.Method.OTHER,
}


# --- one value (also the checks of deposits entered by hand) -------------------------------------


def clean_trace_number(raw: Any, field: str = "trace_number") -> str:
    trace = str(raw or "").strip().upper()
    if not trace:
        raise InvalidInput(f"{field}: enter the EFT trace number or check number", field=field)
    if len(trace) > TRACE_MAX_LENGTH:
        raise InvalidInput(f"{field}: at most {TRACE_MAX_LENGTH} characters", field=field)
    if _CONTROL_CHARACTERS.search(trace):
        raise InvalidInput(f"{field}: contains control characters", field=field)
    return trace


def clean_deposit_amount(raw: Any, field: str = "amount") -> Decimal:
    amount = parse_money(raw, field=field)
    if amount <= ZERO:
        raise InvalidInput(f"{field}: a deposit must be more than 0.00", field=field)
    return amount


def clean_method(value: Any, field: str = "method") -> str:
    method = str(value or "").strip().lower()
    if method not in Deposit.Method.values:
        raise InvalidInput(
            f"{field}: {value!r} is not a deposit method; use one of {', '.join(Deposit.Method.values)}",
            field=field,
        )
    return method


# --- the file -------------------------------------------------------------------------------------


def _message(exc: InvalidInput) -> str:
    # Domain messages read "field: what is wrong"; the column is reported separately.
    prefix = f"{exc.field}: "
    return exc.message[len(prefix) :] if exc.field and exc.message.startswith(prefix) else exc.message


class DepositRowForm(forms.Form):
    """One CSV row. Field names are the column names, so errors name the column."""

    deposit_date = forms.DateField(
        input_formats=DATE_FORMATS,
        error_messages={
            "required": "enter the date the money reached the bank (YYYY-MM-DD or MM/DD/YYYY)",
            "invalid": "not a date; use YYYY-MM-DD or MM/DD/YYYY",
        },
    )
    amount = forms.CharField(error_messages={"required": "enter the amount deposited"})
    trace_number = forms.CharField(required=False)
    method = forms.CharField(required=False)
    payer = forms.CharField(required=False)
    bank_reference = forms.CharField(
        required=False,
        max_length=80,
        error_messages={"max_length": "at most 80 characters"},
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_deposit_date(self) -> date:
        value = self.cleaned_data["deposit_date"]
        if value > self.today:
            raise forms.ValidationError(f"{value:%Y-%m-%d} is in the future")
        return value

    def clean_amount(self) -> Decimal:
        try:
            return clean_deposit_amount(self.cleaned_data["amount"])
        except InvalidInput as exc:
            raise forms.ValidationError(_message(exc)) from None

    def clean_trace_number(self) -> str:
        try:
            return clean_trace_number(self.cleaned_data["trace_number"])
        except InvalidInput as exc:
            raise forms.ValidationError(_message(exc)) from None

    def clean_method(self) -> str:
        raw = self.cleaned_data["method"]
        method = METHOD_ALIASES.get(raw.strip().lower())
        if method is None:
            raise forms.ValidationError(f"{raw!r} is not a method; use eft, check, wire or other")
        return method


@dataclass(frozen=True)
class DepositRow:
    """A row that passed its own checks, in the file's terms (``payer`` as written)."""

    line: int
    deposit_date: date
    amount: Decimal
    trace_number: str
    method: str
    payer: str
    bank_reference: str

    @property
    def key(self) -> tuple[str, date, Decimal]:
        """The deposit's identity: the unique constraint's (trace, date, amount) within the organization."""
        return self.trace_number, self.deposit_date, self.amount


def parse_rows(content: bytes | str, *, today: date) -> tuple[list[DepositRow], list[RowError]]:
    """Rows that passed their own checks, and the problems of the others.

    A file that cannot be read as a deposit file at all (not UTF-8, missing or unknown
    columns, no rows, too many rows) raises ``CsvRejected`` at once.
    """
    csv_rows = read_csv(content, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    if len(csv_rows) > MAX_ROWS:
        message = f"the file has {len(csv_rows):,} rows; split it into files of at most {MAX_ROWS:,}"
        raise CsvRejected([RowError(MAX_ROWS + 2, "", message)])
    rows, errors = [], []
    for csv_row in csv_rows:
        form = DepositRowForm(data={name: csv_row.values.get(name, "") for name in COLUMNS}, today=today)
        if not form.is_valid():
            errors.extend(form_errors(form, csv_row.line))
            continue
        data = form.cleaned_data
        rows.append(
            DepositRow(
                line=csv_row.line,
                deposit_date=data["deposit_date"],
                amount=data["amount"],
                trace_number=data["trace_number"],
                method=data["method"],
                payer=data["payer"].strip(),
                bank_reference=data["bank_reference"].strip(),
            )
        )
    return rows, errors


def payer_keys(rows: Iterable[DepositRow]) -> set[str]:
    """The payer texts of the file, in capitals: what to look up among the organization's payers."""
    return {row.payer.upper() for row in rows if row.payer}


def resolve_payers(rows: list[DepositRow], payers: Iterable[Any]) -> tuple[dict[int, Any], list[RowError]]:
    """The payer of each row (by line) that names one, matched by EDI payer id first, then by name.

    ``payers`` are the organization's payers whose EDI id or name is among ``payer_keys``.
    A text that names no payer, or several, is a problem of that row.
    """
    by_edi: dict[str, list[Any]] = defaultdict(list)
    by_name: dict[str, list[Any]] = defaultdict(list)
    for payer in payers:
        if payer.edi_payer_id:
            by_edi[payer.edi_payer_id.upper()].append(payer)
        by_name[payer.name.upper()].append(payer)
    found, errors = {}, []
    for row in rows:
        if not row.payer:
            continue
        key = row.payer.upper()
        matches = by_edi.get(key) or by_name.get(key) or []
        if len(matches) == 1:
            found[row.line] = matches[0]
        elif matches:
            errors.append(
                RowError(
                    row.line, "payer", f"{row.payer!r} names {len(matches)} payers; use the EDI payer id"
                )
            )
        else:
            errors.append(RowError(row.line, "payer", f"no payer has the EDI payer id or name {row.payer!r}"))
    return found, errors


def duplicate_errors(rows: list[DepositRow]) -> list[RowError]:
    """The same deposit (trace, date, amount) twice in one file is a mistake in the file."""
    first_seen: dict[tuple[str, date, Decimal], int] = {}
    errors = []
    for row in rows:
        first = first_seen.setdefault(row.key, row.line)
        if first != row.line:
            errors.append(
                RowError(
                    row.line,
                    "trace_number",
                    f"the deposit {row.trace_number} of {row.amount} on {row.deposit_date:%Y-%m-%d} is also "
                    f"on line {first}; keep one",
                )
            )
    return errors


def in_file_order(errors: list[RowError]) -> list[RowError]:
    order = {name: index for index, name in enumerate(("", *COLUMNS))}
    return sorted(errors, key=lambda e: (e.line, order.get(e.column, len(order))))


def template_csv() -> str:
    """The header row and two sample rows, for people to fill in."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerow(["2026-11-02", "1250.00", "EFT0000123", "eft", "60054", "BANK-7781"])
    writer.writerow(["11/03/2026", "310.45", "88123", "check", "", ""])
    return buffer.getvalue()
