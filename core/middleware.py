from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.audit import audit_context


class AuditContextMiddleware:
    """Give every request an id and make its user the audit actor (history, timeline, logs)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-ID", "")
        try:
            request_id = str(uuid.UUID(request_id))
        except ValueError:
            request_id = str(uuid.uuid4())
        request.request_id = request_id  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        # The path, never the query string: search terms can be patient names.
        with audit_context(
            actor=user, reason=f"{request.method} {request.path}"[:100], request_id=request_id
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
