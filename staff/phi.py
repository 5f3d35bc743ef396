"""The PHI access log helper every view that shows patient data calls."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from core.audit import current_request_id
from staff.models import PhiAccessLog


def _client_ip(request: Any) -> str | None:
    # Behind a proxy, REMOTE_ADDR is the proxy; axes' ipware config knows the proxy count.
    try:
        from axes.helpers import get_client_ip_address

        return get_client_ip_address(request) or None
    except Exception:  # an unparsable address must not stop the page
        return request.META.get("REMOTE_ADDR") or None


def phi_access_record(
    *, request: Any, subject: models.Model, organization: Any, action: str = PhiAccessLog.Action.VIEW
) -> PhiAccessLog:
    """Write who viewed ``subject`` (a patient record), when and from where. Stores ids only."""
    return PhiAccessLog.objects.create(
        organization=organization,
        user=request.user,
        action=action,
        subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
        subject_id=subject.pk,
        path=request.path[:300],
        ip_address=_client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:200],
        request_id=current_request_id(),
    )


def phi_access_record_many(
    *, request: Any, subjects: list[models.Model], action: str = PhiAccessLog.Action.VIEW
) -> None:
    """One row per distinct subject (each with its own organization), in one insert: for API
    lists that return patient data of several patients at once."""
    unique = {(type(s), s.pk): s for s in subjects}.values()
    PhiAccessLog.objects.bulk_create(
        PhiAccessLog(
            organization_id=subject.organization_id,
            user=request.user,
            action=action,
            subject_type=ContentType.objects.get_for_model(subject, for_concrete_model=True),
            subject_id=subject.pk,
            path=request.path[:300],
            ip_address=_client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:200],
            request_id=current_request_id(),
        )
        for subject in unique
    )
