"""Set-based writes: many rows in one INSERT or UPDATE, each column sent as one array.

Django's bulk_create and bulk_update build a model instance, and for bulk_update a CASE
expression, per row; at tens of thousands of rows that costs seconds of Python and, for
bulk_update, a statement whose size grows with the square of the rows. These write the
same rows with one statement per ``batch`` rows: each column is sent as one array
parameter and ``unnest`` turns the arrays back into rows. They are plain statements (seen
by execute wrappers and query logging like any other) inside the caller's transaction.
They bypass model history: use them only for rows that keep no history, or write the
history rows the same way (as remittance posting does).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection

Column = tuple[str, str]  # (column name, SQL type: "bigint", "numeric", "text", "varchar(8)[]", "jsonb"…)


def insert_rows(
    table: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, batch: int = 50_000
) -> None:
    """INSERT ``rows`` (tuples in the order of ``columns``) into ``table``."""
    names = ", ".join(_name(name) for name, _type in columns)
    selected = ", ".join(_cast(f"v.{_name(name)}", sql_type) for name, sql_type in columns)
    # Table and column names come from code, never from input.
    sql = f"INSERT INTO {_name(table)} ({names}) SELECT {selected} FROM {_unnest(columns)}"  # noqa: S608
    _execute_batches(sql, columns, rows, batch)


def update_rows(
    table: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, batch: int = 50_000
) -> None:
    """UPDATE ``table`` from ``rows``: the first column is the key, the others are set.

    The keys are also given as ``t.key = ANY(keys)``: from the join alone the planner may
    choose to read the whole table into a hash (it does while the table has no statistics,
    as after a large import), where a lookup of each key costs a few milliseconds.
    """
    key, key_type = _name(columns[0][0]), columns[0][1]
    assignments = ", ".join(
        f"{_name(name)} = {_cast(f'v.{_name(name)}', sql_type)}" for name, sql_type in columns[1:]
    )
    sql = (
        f"UPDATE {_name(table)} AS t SET {assignments} "  # noqa: S608 (names from code)
        f"FROM {_unnest(columns)} WHERE t.{key} = v.{key} AND t.{key} = ANY(%s::{key_type}[])"
    )
    _execute_batches(sql, columns, rows, batch, keys_again=True)


def _name(identifier: str) -> str:
    return f'"{identifier}"'


def _sent_as(sql_type: str) -> str:
    """The array type a column travels in: arrays and JSON go as their text forms."""
    return "text" if _is_array(sql_type) or sql_type == "jsonb" else sql_type


def _is_array(sql_type: str) -> bool:
    return sql_type.endswith("]")  # "varchar(8)[]", or "varchar(8)[12]" as Django spells a sized array


def _cast(expression: str, sql_type: str) -> str:
    return f"{expression}::{sql_type}" if _sent_as(sql_type) != sql_type else expression


def _unnest(columns: Sequence[Column]) -> str:
    arrays = ", ".join(f"%s::{_sent_as(sql_type)}[]" for _column, sql_type in columns)
    return f"unnest({arrays}) AS v({', '.join(_name(name) for name, _type in columns)})"


def _execute_batches(
    sql: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    batch: int,
    *,
    keys_again: bool = False,
) -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            params = [
                _column_literal([row[n] for row in part], sql_type)
                for n, (_c, sql_type) in enumerate(columns)
            ]
            cursor.execute(sql, [*params, params[0]] if keys_again else params)


PLAIN_TYPES = {"bigint", "integer", "smallint", "numeric", "uuid"}
TIME_TYPES = {"date", "timestamptz", "timestamp with time zone"}


def _column_literal(values: list[Any], sql_type: str) -> str:
    """The array literal that carries one column of a batch (a comprehension per type: this
    runs for every value written)."""
    if sql_type in PLAIN_TYPES or sql_type.startswith("numeric("):
        # Numbers and UUIDs: their text needs no quoting inside an array literal.
        items = ["NULL" if v is None else str(v) for v in values]
    elif sql_type in TIME_TYPES:
        items = ["NULL" if v is None else v.isoformat() for v in values]
    elif sql_type == "boolean":
        items = ["NULL" if v is None else ("t" if v else "f") for v in values]
    elif sql_type == "jsonb":
        items = ["NULL" if v is None else _quoted(json.dumps(v)) for v in values]
    elif _is_array(sql_type):
        items = ["NULL" if v is None else _quoted(array_literal(v)) for v in values]
    else:
        items = [
            "NULL" if v is None else (f'"{v}"' if "\\" not in v and '"' not in v else _quoted(v))
            for v in values
        ]
    return "{" + ",".join(items) + "}"


def array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal (``{1,NULL,"a \\"b\\""}``) of scalar ``values``."""
    return "{" + ",".join(_element(value) for value in values) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return _quoted(str(value))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
