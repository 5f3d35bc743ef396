"""The one service every entry point calls: a file of one kind into one organization, all or nothing."""

from __future__ import annotations

import csv
import io
import os
import re
from typing import Any

from django.db import IntegrityError, transaction

from accounts.imports.base import ImportContext, ImportKind, ImportRejected, ImportReport
from accounts.imports.charges import ChargeImport
from accounts.imports.coverages import CoverageImport
from accounts.imports.patient_accounts import AccountImport
from accounts.imports.patients import PatientImport
from accounts.permissions import can_import_accounts
from core.audit import SYSTEM_USER_EMAIL, audit_context, current_request_id
from core.csvimport import CsvRejected, RowError, read_csv
from core.errors import Conflict, InvalidInput, NotPermitted
from core.timeline import event_record

# In the order files are imported: each kind refers only to kinds before it.
KINDS: dict[str, ImportKind] = {
    kind.name: kind for kind in (PatientImport(), AccountImport(), CoverageImport(), ChargeImport())
}
MAX_FILE_BYTES = 25 * 1024 * 1024
# One file is one transaction: beyond this, split the file so that no import holds its locks for long.
MAX_ROWS = 50_000


def import_kind(name: str) -> ImportKind:
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidInput(
            f"kind: {name!r} is not an import kind; use one of {', '.join(KINDS)}", field="kind"
        ) from None


def clean_filename(name: str) -> str:
    """The file's base name, printable and short: it goes into history reasons and the timeline."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = re.sub(r"[^\w.\- ]", "_", base).strip()[:80]
    return base or "upload.csv"


def template_csv(name: str) -> str:
    """The kind's header row and one sample row, for people to fill in."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(import_kind(name).template_rows())
    return buffer.getvalue()


def may_import(user: Any, organization: Any) -> bool:
    """``can_import_accounts``, plus the system user that management commands act as: it holds no
    membership, and whoever may run ``manage.py`` on the server already holds the database."""
    if can_import_accounts(user, organization):
        return True
    return getattr(user, "email", None) == SYSTEM_USER_EMAIL and not user.is_active


def _in_file_order(errors: list[RowError], header: list[str]) -> list[RowError]:
    place = {name: index for index, name in enumerate(header)}
    return sorted(errors, key=lambda e: (e.line, place.get(e.column, -1)))


@transaction.atomic(durable=True)
def csv_import(*, organization: Any, kind: str, content: bytes | str, filename: str, by: Any) -> ImportReport:
    """Import one CSV file of ``kind`` into ``organization``.

    The whole file is validated before anything is written. Any problem raises
    ``ImportRejected`` (a ``core.csvimport.CsvRejected``) listing every one with its line
    and column, and nothing is written. Rows whose key exists with the same values are
    counted unchanged, so importing a file twice changes nothing the second time.
    Raises ``NotPermitted`` unless ``by`` may import, and ``Conflict`` if rows with the
    file's keys were saved by someone else while it was being imported.
    """
    spec = import_kind(kind)
    if not may_import(by, organization):
        raise NotPermitted("Only posting specialists, supervisors and admins import files.")
    filename = clean_filename(filename)
    report = ImportReport(kind=spec.name, filename=filename)
    if len(content) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        raise ImportRejected(report, [RowError(0, "", f"the file is larger than {limit} MB; split it")])
    try:
        rows = read_csv(content, required=spec.required_columns, optional=spec.optional_columns)
    except CsvRejected as exc:
        raise ImportRejected(report, exc.errors) from None
    report.rows = len(rows)
    if len(rows) > MAX_ROWS:
        raise ImportRejected(
            report, [RowError(0, "", f"the file has {len(rows):,} rows, more than {MAX_ROWS:,}; split it")]
        )
    ctx = ImportContext(organization=organization, by=by, filename=filename, header=list(rows[0].values))

    plan = spec.check(spec.parse(rows, ctx), ctx)
    if ctx.errors:
        raise ImportRejected(report, _in_file_order(ctx.errors, ctx.header))

    # Rows saved one at a time inside the write (a patient's own guarantor, the charges)
    # take the actor and reason from the audit context, like the bulk writes.
    try:
        with (
            transaction.atomic(),
            audit_context(actor=by, reason=ctx.reason, request_id=current_request_id()),
        ):
            report.created, report.updated, report.unchanged = spec.write(plan, ctx)
    except IntegrityError:
        raise Conflict(
            f"Rows with the keys of {filename} were saved while it was being imported (is another import "
            "of it running?). Nothing was imported; import the file again."
        ) from None
    event_record(
        organization=organization,
        subject=organization,
        kind="accounts.csv_import.completed",
        summary=f"{spec.label} imported from {filename}: {report.summary()}",
        by=by,
        data={key: value for key, value in report.as_dict().items() if key != "errors"},
    )
    return report
