"""CSV import of patients, accounts, coverages and charges, idempotent on external ids.

Design
======

Kinds and files
    Four kinds, one file per kind, imported in this order because each refers only to
    the kinds before it: ``patients`` (key ``external_id``), ``accounts`` (key
    ``account_number``; the patient must exist), ``coverages`` (key ``external_id``; the
    patient, payer and plan must exist) and ``charges`` (key ``external_id``; the account
    must exist). Each kind documents its columns (``Column``: required in the header or
    optional, what it holds, a sample value); ``template_csv`` turns them into a file to
    fill in. The upload page and the API docs show the same reference.

Validation: the whole file first
    ``core.csvimport.read_csv`` checks the header (a missing required column or an
    unknown one rejects the file at once). Then every row goes through its kind's Django
    form, whose field names are the column names (``form_errors`` reports the column);
    cells are normalised as the services would (codes upper-cased, phones to ten digits,
    money through ``core.money.parse_money``). Cross-row checks follow: a key twice in the
    file, two rows giving one patient the same coverage priority. References are looked
    up in bulk, one query per referenced table and never per row, and only inside the
    importing organization: another organization's external id is "not found", never
    matched. Each new or changed row then passes the model's field validation. Every
    problem is collected; if there is any, ``ImportRejected`` (a ``CsvRejected``) lists
    them all, in file order, with line and column, and nothing is written. Messages never
    repeat a cell's content (names, dates of birth and SSNs are PHI); a full nine-digit
    SSN in ``ssn_last4`` is refused with a message that only the last four may be stored.

Idempotency on the keys
    A row whose key exists with the same values is *unchanged*. Patients, accounts (and
    their guarantors) and coverages whose descriptive values differ are *updated* with
    ``bulk_update_with_history``, reason ``CSV import <filename>``. A column left out of
    the file leaves that value alone; a column present with an empty cell empties it (or
    sets the model's default). What identifies an account (patient, kind, first day of
    service) and a coverage's patient cannot be changed by a file. A charge is posted
    once: the same row again is unchanged, and a row that differs from the posted charge
    is an error telling how to correct it (reverse it on the account, import the
    correction under a new external id).

Writing: one durable transaction per file
    ``csv_import`` checks the permission (``can_import_accounts``: posting specialists,
    supervisors, admins; management commands act as the system user), validates and
    writes in one ``transaction.atomic(durable=True)``: a file is imported completely or
    not at all; a file therefore holds at most ``MAX_ROWS`` rows (and ``MAX_FILE_BYTES``).
    Patients, guarantors, accounts and coverages are written in bulk with
    their history rows. Charges are grouped by account; each account is locked with
    ``accounts.ledger.lock_account`` in account-id order (no deadlocks between two
    imports) and posted with ``accounts.services.post_charges_locked(source="import")``,
    which writes the ledger entries, moves the balances and buckets, runs the charge
    edits and records the account's timeline event. The file itself gets one timeline
    event on the organization. The database's unique keys stop a concurrent import of
    the same rows: the loser gets ``Conflict`` and writes nothing.

Result
    ``ImportReport`` (kind, filename, rows, created, updated, unchanged, errors) with
    ``as_dict()``; a rejected file's report travels on ``ImportRejected.report``.

Entry points
    The upload page (``accounts.views_imports``), ``POST /api/v1/imports/<kind>/``
    (``accounts.api.imports``) and ``manage.py import_accounts_csv`` all call
    ``csv_import``.
"""

from accounts.imports.base import Column, ImportKind, ImportRejected, ImportReport
from accounts.imports.service import (
    KINDS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    csv_import,
    import_kind,
    may_import,
    template_csv,
)

__all__ = [
    "KINDS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "Column",
    "ImportKind",
    "ImportRejected",
    "ImportReport",
    "csv_import",
    "import_kind",
    "may_import",
    "template_csv",
]
