"""The official texts of adjustment reason codes (CARC) and remark codes (RARC).

X12 owns these texts and licenses them, so none ship with the product: an organization
loads the file it downloaded from x12.org (DOMAIN §4). The file is CSV or tab-separated
with a header row::

    code,description,start_date,last_modified,stop_date
    45,Charge exceeds fee schedule/maximum allowable...,1995-06-01,2023-03-01,
    42,Charges exceed our fee schedule...,1995-06-01,2007-02-01,2008-06-30

``code`` and ``description`` are required; dates are YYYY-MM-DD or MM/DD/YYYY. Loading
is an upsert keyed by (organization, code set, code); the whole file is checked first and
every problem reported with its line and column. Codes without a text are never an error
anywhere: ``describe_codes`` answers an empty text for them, and posting does not look here.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from claims.models import CodeDescription
from claims.permissions import can_load_code_descriptions
from core.audit import SYSTEM_USER_EMAIL
from core.csvimport import CsvRejected, RowError
from core.errors import InvalidInput
from core.timeline import event_record
from staff.permissions import require

REQUIRED_COLUMNS = ("code", "description")
OPTIONAL_COLUMNS = ("start_date", "last_modified", "stop_date")
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
# Header names as the published lists spell them, and the column each means.
_HEADER_ALIASES = {
    "start": "start_date",
    "start date": "start_date",
    "last modified": "last_modified",
    "modified": "last_modified",
    "stop": "stop_date",
    "stop date": "stop_date",
    "text": "description",
}
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# CARC: 1-3 digits or a letter and digits (A1, B7, P1); RARC: one or two letters and digits (M15, N130, MA01).
_CODE_PATTERNS = {
    CodeDescription.CodeSet.CARC: (
        re.compile(r"^[A-Z]?[0-9]{1,3}$"),
        "a CARC is 1 to 3 digits, or a letter and digits",
    ),
    CodeDescription.CodeSet.RARC: (
        re.compile(r"^[A-Z]{1,2}[0-9]{1,4}$"),
        "a RARC is one or two letters and digits",
    ),
}


@dataclass(frozen=True)
class CodeRow:
    line: int
    code: str
    description: str
    start_date: date | None
    last_modified: date | None
    stop_date: date | None

    def values(self) -> tuple:
        return self.description, self.start_date, self.last_modified, self.stop_date


@dataclass
class CodeLoadResult:
    code_set: str
    filename: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def summary(self) -> str:
        return f"{self.created} added, {self.updated} changed, {self.unchanged} unchanged"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code_set": self.code_set,
            "filename": self.filename,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def _header_name(raw: str) -> str:
    name = " ".join(raw.strip().lower().replace("_", " ").split())
    return _HEADER_ALIASES.get(name, name.replace(" ", "_"))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # The published lists have been distributed as Windows-1252 text.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise CsvRejected([RowError(0, "", f"the file is not UTF-8 text (byte {exc.start})")]) from None


def _date(raw: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()  # noqa: DTZ007 (a calendar date, no time)
        except ValueError:
            continue
    return None


def read_rows(data: bytes, code_set: str) -> list[CodeRow]:
    """Every row of the file, checked; raises ``CsvRejected`` with every problem found."""
    text = _decode(data)
    if not text.strip():
        raise CsvRejected([RowError(1, "", "the file is empty; the first line must name the columns")])
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _rows(reader, code_set)
    except csv.Error as exc:
        raise CsvRejected([RowError(reader.line_num, "", f"the file cannot be read: {exc}")]) from None


def _rows(reader: Any, code_set: str) -> list[CodeRow]:
    header = [_header_name(h) for h in next(reader)]
    errors = [
        RowError(1, name, "required column is missing") for name in REQUIRED_COLUMNS if name not in header
    ]
    errors += [
        RowError(1, name, f"unknown column; expected some of: {', '.join(COLUMNS)}")
        for name in header
        if name and name not in COLUMNS
    ]
    errors += [
        RowError(1, name, "column appears more than once")
        for name in sorted(set(header))
        if name and header.count(name) > 1
    ]
    if errors:
        raise CsvRejected(errors)
    pattern, pattern_help = _CODE_PATTERNS[code_set]
    rows: list[CodeRow] = []
    first_line: dict[str, int] = {}
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            errors.append(RowError(line, "", f"has {len(fields)} fields, the header has {len(header)}"))
            continue
        values = {name: value.strip() for name, value in zip(header, fields, strict=True) if name}
        row_errors = []
        code = values["code"].upper()
        if not code:
            row_errors.append(RowError(line, "code", "enter the code"))
        elif not pattern.match(code):
            row_errors.append(
                RowError(line, "code", f"{values['code']!r} is not a {code_set.upper()} code; {pattern_help}")
            )
        elif code in first_line:
            row_errors.append(RowError(line, "code", f"{code} is also on line {first_line[code]}; keep one"))
        else:
            first_line[code] = line
        if not values["description"]:
            row_errors.append(RowError(line, "description", "enter the code's text"))
        dates: dict[str, date | None] = {}
        for name in OPTIONAL_COLUMNS:
            raw = values.get(name, "")
            dates[name] = _date(raw) if raw else None
            if raw and dates[name] is None:
                row_errors.append(
                    RowError(line, name, f"{raw!r} is not a date; use YYYY-MM-DD or MM/DD/YYYY")
                )
        start, stop = dates["start_date"], dates["stop_date"]
        if start and stop and stop < start:
            row_errors.append(
                RowError(line, "stop_date", f"{stop:%Y-%m-%d} is before start_date ({start:%Y-%m-%d})")
            )
        if row_errors:
            errors += row_errors
            continue
        rows.append(CodeRow(line, code, values["description"], start, dates["last_modified"], stop))
        if len(rows) > MAX_ROWS:
            raise CsvRejected([RowError(line, "", f"the file has more than {MAX_ROWS:,} rows; split it")])
    if errors:
        raise CsvRejected(errors)
    if not rows:
        raise CsvRejected([RowError(2, "", "the file has a header but no rows")])
    return rows


def may_load(user: Any, organization: Any) -> bool:
    """Supervisors and admins; and the system user that ``manage.py load_code_descriptions`` acts
    as: it holds no membership, and whoever runs commands on the server already holds the database."""
    if can_load_code_descriptions(user, organization):
        return True
    return getattr(user, "email", None) == SYSTEM_USER_EMAIL and not user.is_active


@transaction.atomic(durable=True)
def code_descriptions_load(
    *, organization: Any, code_set: str, data: bytes, by: Any, filename: str = ""
) -> CodeLoadResult:
    """Load (upsert) the texts of one code set from the organization's licensed file.

    Everything or nothing: any problem raises ``CsvRejected`` listing every one with its
    line and column. Codes not in the file are kept (a list that drops a code does not
    make it unknown to remittances that still carry it).
    """
    require(may_load(by, organization), "Only supervisors and admins load code descriptions.")
    if code_set not in CodeDescription.CodeSet.values:
        raise InvalidInput(f"code_set: {code_set!r} is not a code set; use carc or rarc", field="code_set")
    if len(data) > MAX_FILE_BYTES:
        raise CsvRejected([RowError(0, "", f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")])
    rows = read_rows(data, code_set)
    result = CodeLoadResult(code_set=code_set, filename=filename[:80], rows=len(rows))
    existing = {
        row.code: row
        for row in CodeDescription.objects.select_for_update(no_key=True).filter(
            organization=organization, code_set=code_set, code__in=[r.code for r in rows]
        )
    }
    create, update = [], []
    for row in rows:
        current = existing.get(row.code)
        if current is None:
            create.append(
                CodeDescription(
                    organization=organization,
                    code_set=code_set,
                    code=row.code,
                    description=row.description,
                    start_date=row.start_date,
                    last_modified=row.last_modified,
                    stop_date=row.stop_date,
                )
            )
        elif (
            current.description,
            current.start_date,
            current.last_modified,
            current.stop_date,
        ) == row.values():
            result.unchanged += 1
        else:
            current.description, current.start_date, current.last_modified, current.stop_date = row.values()
            update.append(current)
    # Code texts are reference data without row history (the model has none); the timeline
    # event below records who loaded which file and what it changed.
    CodeDescription.objects.bulk_create(create, batch_size=1000)
    CodeDescription.objects.bulk_update(
        update, ["description", "start_date", "last_modified", "stop_date"], batch_size=1000
    )
    result.created, result.updated = len(create), len(update)
    event_record(
        organization=organization,
        subject=organization,
        kind="claims.codes.loaded",
        summary=f"{code_set.upper()} texts loaded from {result.filename or 'a file'}: {result.summary}",
        by=by,
        data=result.as_dict(),
    )
    return result


def _text(description: CodeDescription, today: date) -> str:
    if description.stop_date is None:
        return description.description
    verb = "stopped" if description.stop_date <= today else "stops"
    return f"{description.description} [{verb} {description.stop_date:%Y-%m-%d}]"


def describe_codes(organization: Any, code_set: str, codes: Iterable[str]) -> dict[str, str]:
    """The official text of each code, keyed as given; empty for a code without a loaded text.

    Stop-dated codes keep their text, flagged: "… [stopped 2008-06-30]" (or "[stops …]" when
    the stop date is still ahead). One query.
    """
    codes = [c for c in codes if c]
    if not codes:
        return {}
    keys = {c: str(c).strip().upper() for c in codes}
    found = {
        d.code: d
        for d in CodeDescription.objects.filter(
            organization=organization, code_set=code_set, code__in=set(keys.values())
        )
    }
    today = timezone.localdate()
    return {code: _text(found[key], today) if key in found else "" for code, key in keys.items()}
