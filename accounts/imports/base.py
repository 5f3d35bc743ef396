"""What the four CSV kinds share: columns, cell fields, the report, the per-file context.

A kind (``ImportKind`` subclass) parses each row with a Django form whose field names
are the column names, so ``core.csvimport.form_errors`` reports the header name as the
column. Cell fields normalise as the services do (codes upper-cased, phones to ten
digits), so a re-imported row compares equal to what the first import stored.

Error messages never repeat a cell's content: names, dates of birth, phone numbers and
SSNs are PHI, and the line and column already say where to look.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.querysets import phone_digits
from core.audit import current_request_id
from core.csvimport import CsvRejected, CsvRow, RowError, form_errors
from core.errors import InvalidInput
from core.money import ZERO, parse_money

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")
DATE_HELP = "YYYY-MM-DD or MM/DD/YYYY"
# Rows per INSERT/UPDATE statement in the bulk writes.
BATCH_SIZE = 500


# --- the report ------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """The outcome of one file: row counts, or the problems that stopped it."""

    kind: str
    filename: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """``"3 rows: 2 created, 1 updated, 0 unchanged"``."""
        if self.errors:
            return "rejected, nothing was imported"
        return (
            f"{self.rows} row{'s' if self.rows != 1 else ''}: {self.created} created, "
            f"{self.updated} updated, {self.unchanged} unchanged"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "filename": self.filename,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [error.as_dict() for error in self.errors],
        }


class ImportRejected(CsvRejected):
    """``CsvRejected`` that also carries the report (kind, file name, row count) of the refused file."""

    def __init__(self, report: ImportReport, errors: list[RowError]):
        super().__init__(errors)
        report.errors = self.errors
        self.report = report
        self.details.update(
            {"kind": report.kind, "filename": report.filename, "rows": report.rows, "total": self.total}
        )


# --- columns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a kind's file: whether the header must have it, what it holds, a sample value."""

    name: str
    required: bool
    description: str
    example: str = ""


def choices_help(choices: type[models.Choices]) -> str:
    return ", ".join(f"{value} ({label})" for value, label in choices.choices)


# --- cell fields -----------------------------------------------------------------------------


def text_cell(max_length: int, *, required: bool = False) -> forms.CharField:
    return forms.CharField(max_length=max_length, required=required)


def date_cell(*, required: bool = False) -> forms.DateField:
    return forms.DateField(
        input_formats=DATE_FORMATS,
        required=required,
        error_messages={"invalid": f"is not a date; write it as {DATE_HELP}"},
    )


class ChoiceCell(forms.Field):
    """A value of ``choices``, matched without regard to case on its code or its label.

    An empty cell gives ``default`` (the model's default), so a file may leave it blank.
    """

    def __init__(
        self,
        choices: type[models.Choices],
        *,
        default: Any = "",
        aliases: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.default = default
        self.codes = [str(value) for value in choices.values]
        self.lookup: dict[str, Any] = {}
        for value, label in choices.choices:
            self.lookup[str(value).lower()] = value
            self.lookup[str(label).lower()] = value
        self.lookup.update({key.lower(): value for key, value in (aliases or {}).items()})

    def to_python(self, value: Any) -> Any:
        text = (value or "").strip()
        if not text:
            return "" if self.required else self.default
        try:
            return self.lookup[text.lower()]
        except KeyError:
            raise ValidationError(
                f"is not a known value; use one of {', '.join(self.codes)}", code="invalid_choice"
            ) from None


class PhoneCell(forms.CharField):
    """A US phone number, stored as its ten digits."""

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if not text:
            return ""
        digits = phone_digits(text)
        if len(digits) != 10:
            raise ValidationError("is not a 10-digit US phone number (area code and number)", code="phone")
        return digits


class SsnLast4Cell(forms.CharField):
    """The last four digits of an SSN. A full SSN is refused: the model never holds one."""

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if not text:
            return ""
        compact = re.sub(r"[\s-]", "", text)
        if compact.isdigit() and len(compact) == 9:
            # The message must not repeat the number: the report is shown on screen and over the API.
            raise ValidationError(
                "holds a full Social Security number; only the last four digits may be stored. "
                "Remove the full number from the file and give the last four digits only",
                code="full_ssn",
            )
        if not re.fullmatch(r"\d{4}", compact):
            raise ValidationError("must be exactly four digits (the last four of the SSN)", code="ssn")
        return compact


class StateCell(forms.CharField):
    def to_python(self, value: Any) -> str:
        text = super().to_python(value).upper()
        if text and not re.fullmatch(r"[A-Z]{2}", text):
            raise ValidationError("is not a two-letter state code (IL, NY…)", code="state")
        return text


class PostalCodeCell(forms.CharField):
    """A ZIP code, ``12345`` or ``12345-6789`` (nine digits without the dash are accepted)."""

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if not text:
            return ""
        match = re.fullmatch(r"(\d{5})-?(\d{4})?", text)
        if not match:
            raise ValidationError("is not a ZIP code (12345 or 12345-6789)", code="postal_code")
        return f"{match[1]}-{match[2]}" if match[2] else match[1]


class MoneyCell(forms.Field):
    """An amount of money through ``core.money.parse_money`` (``$1,234.50`` is fine); never a float."""

    def __init__(self, *, positive: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.positive = positive

    def to_python(self, value: Any) -> Decimal | None:
        text = (value or "").strip()
        if not text:
            return None
        try:
            amount = parse_money(text)
        except InvalidInput as exc:
            raise ValidationError(exc.message.split(": ", 1)[-1], code="money") from None
        if self.positive and amount <= ZERO:
            raise ValidationError("must be more than 0.00", code="positive")
        return amount


class ListCell(forms.CharField):
    """Several codes in one cell, separated by ``:`` or spaces (``25:59`` or ``25 59``)."""

    def __init__(
        self,
        *,
        noun: str,
        plural: str,
        max_items: int,
        item_length: int,
        normalize: Callable[[str], str],
        **kwargs: Any,
    ):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.noun, self.plural, self.max_items = noun, plural, max_items
        self.item_length, self.normalize = item_length, normalize

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value)
        items = [self.normalize(part) for part in re.split(r"[:\s]+", text) if part]
        items = [item for item in items if item]
        if len(items) > self.max_items:
            raise ValidationError(f"has more than {self.max_items} {self.plural}", code="too_many")
        if any(len(item) > self.item_length for item in items):
            raise ValidationError(
                f"each {self.noun} has at most {self.item_length} characters", code="too_long"
            )
        return items


class DigitsCell(forms.CharField):
    """A short numeric code whose leading zeros spreadsheets drop (revenue code, place of service)."""

    def __init__(self, *, length: int, what: str, **kwargs: Any):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.length, self.what = length, what

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if not text:
            return ""
        if not text.isdigit() or len(text) > self.length:
            raise ValidationError(f"is not {self.what} ({self.length} digits)", code="digits")
        return text.zfill(self.length)


# --- per file --------------------------------------------------------------------------------


@dataclass
class ParsedRow:
    """A data row after its form: ``data`` holds every cell that parsed, ``valid`` says if all did."""

    line: int
    data: dict[str, Any]
    valid: bool

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)


@dataclass
class ImportContext:
    """What validation and writing of one file share: where, who, which columns, the errors so far."""

    organization: Any
    by: Any
    filename: str
    header: list[str]
    errors: list[RowError] = field(default_factory=list)
    now: Any = field(default_factory=timezone.now)

    @property
    def reason(self) -> str:
        """The change reason on every history row the file writes (simple-history keeps 100 characters)."""
        return f"CSV import {self.filename}"[:100]

    def has(self, column: str) -> bool:
        return column in self.header

    def error(self, line: int, column: str, message: str) -> None:
        self.errors.append(RowError(line, column, message))

    def model_errors(
        self, obj: models.Model, line: int, *, exclude: Iterable[str], columns: dict[str, str] | None = None
    ) -> bool:
        """Run the model's field validation (no queries: foreign keys, uniqueness and constraints
        are checked in bulk by the kind); record problems under their column. True if any."""
        try:
            obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            columns = columns or {}
            for name, messages in exc.message_dict.items():
                column = "" if name == NON_FIELD_ERRORS else columns.get(name, name)
                for message in messages:
                    self.error(line, column, message)
            return True
        return False

    def history_attrs(self) -> dict[str, Any]:
        # Bulk history rows skip the pre_create_historical_record signal that stamps the
        # request id on single saves (core.audit), so it is passed explicitly.
        return {"request_id": current_request_id()}

    def create(self, objs: list[models.Model], model: type[models.Model]) -> list[models.Model]:
        if not objs:
            return []
        return bulk_create_with_history(
            objs,
            model,
            batch_size=BATCH_SIZE,
            default_user=self.by,
            default_change_reason=self.reason,
            custom_historical_attrs=self.history_attrs(),
        )

    def update(
        self, objs: list[models.Model], model: type[models.Model], fields: Iterable[str], *, reason: str = ""
    ) -> None:
        if not objs:
            return
        for obj in objs:
            # bulk_update does not apply auto_now.
            obj.updated_at = self.now  # type: ignore[attr-defined]
        bulk_update_with_history(
            objs,
            model,
            sorted({*fields, "updated_at"}),
            batch_size=BATCH_SIZE,
            default_user=self.by,
            default_change_reason=(reason or self.reason)[:100],
            custom_historical_attrs=self.history_attrs(),
        )


def assign_changes(obj: models.Model, values: dict[str, Any]) -> list[str]:
    """Set ``values`` on ``obj``; return the names of the fields whose value differs."""
    changed = []
    for name, value in values.items():
        field = obj._meta.get_field(name)
        if field.many_to_one:
            # Compare ids: reading the related object would cost a query per row.
            differs = getattr(obj, field.attname) != (value.pk if value is not None else None)
        else:
            differs = getattr(obj, name) != value
        if differs:
            setattr(obj, name, value)
            changed.append(name)
    return changed


class ImportKind:
    """One kind of file. Subclasses name their columns and row form, then ``check`` and ``write``.

    ``check`` runs inside the import's transaction and must not write; it records every
    problem on the context and returns a plan that ``write`` carries out only when the
    whole file is clean.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    key: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    form_class: ClassVar[type[forms.Form]]
    # What the key identifies, for messages ("patient", "charge").
    noun: ClassVar[str]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def optional_columns(self) -> list[str]:
        return [c.name for c in self.columns if not c.required]

    def template_rows(self) -> list[list[str]]:
        return [[c.name for c in self.columns], [c.example for c in self.columns]]

    def parse(self, rows: Sequence[CsvRow], ctx: ImportContext) -> list[ParsedRow]:
        """Every row through the form; a key seen on an earlier line is an error on the later one."""
        parsed, first_line = [], {}
        for row in rows:
            form = self.form_class(row.values)
            valid = form.is_valid()
            if not valid:
                ctx.errors.extend(form_errors(form, row.line))
            key = form.cleaned_data.get(self.key)
            if key:
                if key in first_line:
                    ctx.error(
                        row.line,
                        self.key,
                        f"the same {self.key} is already on line {first_line[key]}; "
                        f"each {self.noun} may appear once in a file",
                    )
                    valid = False
                else:
                    first_line[key] = row.line
            parsed.append(ParsedRow(row.line, form.cleaned_data, valid))
        return parsed

    def check(self, rows: list[ParsedRow], ctx: ImportContext) -> Any:
        raise NotImplementedError

    def write(self, plan: Any, ctx: ImportContext) -> tuple[int, int, int]:
        """Carry out ``plan``; return (created, updated, unchanged)."""
        raise NotImplementedError


def present_values(row: ParsedRow, ctx: ImportContext, mapping: dict[str, str]) -> dict[str, Any]:
    """``{model field: value}`` for the columns of ``mapping`` (column → field) that the file has.

    A column left out of the file leaves that value alone on existing rows; a column
    that is there with an empty cell sets it empty (or to the model's default).
    """
    return {model_field: row.data[column] for column, model_field in mapping.items() if ctx.has(column)}


def not_before_1900(value: date | None) -> None:
    if value is not None and value.year < 1900:
        raise ValidationError("is before 1900; check the year", code="too_old")
