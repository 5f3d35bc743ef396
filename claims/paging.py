"""Keyset paging for the claims lists: newest first by id, no COUNT(*) over big tables.

A page is ``size`` rows with ``id < before``; one extra row is read to know whether an
older page exists. Links carry ``?before=<id>`` plus the list's filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

PAGE_SIZE = 50


@dataclass(frozen=True)
class KeysetPage:
    rows: list[Any]
    next_before: int | None  # the ``before`` of the next (older) page, when there is one
    is_first: bool

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def before_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("before", "")
    return int(raw) if raw.isdigit() else None


def keyset_page(queryset: QuerySet, before: int | None, size: int = PAGE_SIZE) -> KeysetPage:
    """``queryset`` must be ordered by ``-id`` (the only order keyset paging here supports)."""
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    batch = list(queryset.order_by("-id")[: size + 1])
    more = len(batch) > size
    rows = batch[:size]
    return KeysetPage(rows, rows[-1].pk if more and rows else None, before is None)


def query_without_before(request: HttpRequest) -> str:
    """The list's current filters as a query string, for the "older" link."""
    params = request.GET.copy()
    params.pop("before", None)
    return params.urlencode()
