"""Reading simple-history rows as "who changed what, when, why" for the history pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_HIDDEN = {"password", "last_login", "updated_at", "created_at", "id", "reference"}


@dataclass
class HistoryRow:
    when: datetime
    who: Any
    kind: str
    reason: str
    request_id: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)


_KIND = {"+": "Created", "~": "Changed", "-": "Deleted"}


def history_rows(obj: Any, *, limit: int = 200) -> list[HistoryRow]:
    """Newest first, each with the fields that changed against the previous version."""
    records = list(
        obj.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1]
    )
    rows = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes: list[tuple[str, Any, Any]] = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous)
            changes = [
                (obj._meta.get_field(change.field).verbose_name, change.old, change.new)
                for change in delta.changes
                if change.field not in _HIDDEN
            ]
        rows.append(
            HistoryRow(
                when=record.history_date,
                who=record.history_user,
                kind=_KIND.get(record.history_type, record.history_type),
                reason=record.history_change_reason or "",
                request_id=getattr(record, "request_id", ""),
                changes=changes,
            )
        )
    return rows
