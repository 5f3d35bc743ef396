"""Who is acting, why, and under which request: the context every audit row reads.

Web requests (``core.middleware.AuditContextMiddleware``), Celery tasks
(``core.tasks.ActorTask``) and management commands (``core.management.base``) set it
with :func:`audit_context`; django-simple-history reads it through
:func:`history_user` and the ``pre_create_historical_record`` receiver below, so the
actor and reason are recorded even where there is no request (NetBox lost changelog
entries in background jobs for want of this).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.dispatch import receiver
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

_actor: ContextVar[Any] = ContextVar("audit_actor", default=None)
_reason: ContextVar[str] = ContextVar("audit_reason", default="")
_request_id: ContextVar[str] = ContextVar("audit_request_id", default="")


@contextmanager
def audit_context(*, actor: Any = None, reason: str = "", request_id: str = "") -> Iterator[str]:
    """Run a block as ``actor`` with a default change ``reason``; yields the request id."""
    request_id = request_id or str(uuid.uuid4())
    tokens = (_actor.set(actor), _reason.set(reason), _request_id.set(request_id))
    try:
        yield request_id
    finally:
        _request_id.reset(tokens[2])
        _reason.reset(tokens[1])
        _actor.reset(tokens[0])


def mark_change(obj: Any, *, by: Any, reason: str) -> Any:
    """Tell simple-history who changes ``obj`` and why, before a service saves or deletes it."""
    obj._history_user = by
    obj._change_reason = reason[:100]
    return obj


def set_actor(actor: Any) -> None:
    """Replace the actor inside the current context (after login, say)."""
    _actor.set(actor)


def current_actor() -> Any:
    actor = _actor.get()
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor
    return None


def current_reason() -> str:
    return _reason.get()


def current_request_id() -> str:
    return _request_id.get()


SYSTEM_USER_EMAIL = "system@pfs.invalid"


def system_user() -> Any:
    """The non-login user that scheduled tasks and commands act as."""
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(
        email=SYSTEM_USER_EMAIL, defaults={"full_name": "System", "is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def history_user(instance: Any = None, request: Any = None, **kwargs: Any) -> Any:
    """simple-history's ``get_user`` hook: the explicit actor, else the request's user."""
    actor = current_actor()
    if actor is not None:
        return actor
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def audit_history(**kwargs: Any) -> HistoricalRecords:
    """``HistoricalRecords`` wired to the audit context; use on every mutable domain model."""
    from core.models import HistoryContext

    kwargs.setdefault("bases", [HistoryContext])
    kwargs.setdefault("get_user", history_user)
    kwargs.setdefault("excluded_fields", ["updated_at"])
    return HistoricalRecords(**kwargs)


@receiver(pre_create_historical_record)
def _stamp_history(sender: Any, instance: Any, history_instance: Any, **kwargs: Any) -> None:
    if hasattr(history_instance, "request_id"):
        history_instance.request_id = current_request_id()
    if not history_instance.history_change_reason:
        history_instance.history_change_reason = current_reason()[:100] or None
