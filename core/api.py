"""REST plumbing shared by every app's ``api/`` package."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError


class StableCursorPagination(CursorPagination):
    """Cursor pagination, newest first: no COUNT(*), stable under inserts.

    Ordered by ``created_at`` (every ``BaseModel`` has it) rather than the integer
    primary key, which would otherwise travel inside the cursor.
    """

    ordering = "-created_at"
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
    if isinstance(exc, DjangoValidationError):
        # Model validation inside a service (full_clean): field → messages, like DRF's own 400s.
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
