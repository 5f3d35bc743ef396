"""REST plumbing shared by every app's ``api/`` package."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError


class StableCursorPagination(CursorPagination):
    """Cursor pagination on the immutable primary key: no COUNT(*), stable under inserts."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Domain errors become ``{"error": {code, message, field, details}}`` with their HTTP status."""
    if isinstance(exc, DomainError):
        body = {
            "error": {"code": exc.code, "message": exc.message, "field": exc.field, "details": exc.details}
        }
        return Response(body, status=exc.http_status)
    if isinstance(exc, DjangoPermissionDenied):
        body = {
            "error": {"code": "not_permitted", "message": str(exc) or "You may not do this.", "field": None}
        }
        return Response(body, status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)
