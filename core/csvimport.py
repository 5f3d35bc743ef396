"""Reading CSV uploads so that every problem is reported with its line and column.

Importers (fee schedules, patients, accounts, charges) validate the whole file first,
collect every ``RowError``, and write nothing unless the list is empty: a file is
imported completely or not at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django import forms

from core.errors import InvalidInput

MAX_ERRORS_REPORTED = 1000


@dataclass(frozen=True)
class RowError:
    """One problem: ``line`` is the file's line number (1 is the header), ``column`` its header name."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CsvRejected(InvalidInput):
    """The file was not imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError]):
        shown = errors[:MAX_ERRORS_REPORTED]
        summary = f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found; nothing was imported"
        super().__init__(summary, details={"errors": [e.as_dict() for e in shown]})
        self.errors = shown
        self.total = len(errors)


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]


def read_csv(content: bytes | str, *, required: Iterable[str], optional: Iterable[str] = ()) -> list[CsvRow]:
    """Parse ``content`` (UTF-8, with or without BOM; comma-separated with a header row).

    Header names are matched case-insensitively after trimming. A missing required
    column or an unknown column rejects the file at once, naming them.
    """
    required, optional = list(required), list(optional)
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CsvRejected([RowError(0, "", f"the file is not UTF-8 text (byte {exc.start})")]) from None
    else:
        text = content.lstrip("\ufeff")
    if not text.strip():
        raise CsvRejected([RowError(1, "", "the file is empty; the first line must name the columns")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _read_rows(reader, required, optional)
    except csv.Error as exc:
        raise CsvRejected([RowError(reader.line_num, "", f"the file cannot be read as CSV: {exc}")]) from None


def _read_rows(reader: Any, required: list[str], optional: list[str]) -> list[CsvRow]:
    header = [h.strip().lower() for h in next(reader)]
    errors = []
    known = set(required) | set(optional)
    for name in required:
        if name not in header:
            errors.append(RowError(1, name, "required column is missing"))
    for name in header:
        if name and name not in known:
            errors.append(
                RowError(1, name, f"unknown column; expected some of: {', '.join([*required, *optional])}")
            )
    duplicates = {h for h in header if header.count(h) > 1 and h}
    for name in sorted(duplicates):
        errors.append(RowError(1, name, "column appears more than once"))
    if errors:
        raise CsvRejected(errors)
    rows = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            errors.append(RowError(line, "", f"has {len(values)} fields, the header has {len(header)}"))
            continue
        rows.append(CsvRow(line, {h: v.strip() for h, v in zip(header, values, strict=True) if h}))
    if errors:
        raise CsvRejected(errors)
    if not rows:
        raise CsvRejected([RowError(2, "", "the file has a header but no rows")])
    return rows


def form_errors(form: forms.Form, line: int) -> list[RowError]:
    """A row form's errors as ``RowError``s, one per message, column = the form field name."""
    return [
        RowError(line, "" if field == forms.forms.NON_FIELD_ERRORS else field, message)
        for field, messages in form.errors.items()
        for message in messages
    ]
