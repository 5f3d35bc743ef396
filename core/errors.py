"""Domain error types raised by services and translated once, at the edges.

Views turn them into a message on the page; the API's exception handler turns them
into a JSON error with an HTTP status. Messages are written for the person who acts on
them: they say what is wrong and where, and never contain PHI.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a business rule refused the operation."""

    http_status = 400
    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}


class InvalidInput(DomainError):
    """The input is malformed or incomplete; ``field`` names where."""

    code = "invalid_input"


def invalid_from_validation(exc: ValidationError) -> InvalidInput:  # noqa: F821
    """Turn Django model validation into ``InvalidInput`` naming the first field at fault."""
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.message_dict.items()))
        return InvalidInput(f"{field}: {' '.join(errors)}", field=field, details=exc.message_dict)
    return InvalidInput(" ".join(exc.messages))


class InvalidTransition(DomainError):
    """The object is not in a state that allows this change (it may have moved on meanwhile)."""

    http_status = 409
    code = "invalid_transition"


class Conflict(DomainError):
    """The change collides with existing data (duplicate, already done)."""

    http_status = 409
    code = "conflict"


class NotPermitted(DomainError):
    """The acting user may not do this. Raised by services as defence in depth."""

    http_status = 403
    code = "not_permitted"


class ApprovalRequired(DomainError):
    """The amount is above the actor's approval limit; a supervisor must approve it."""

    http_status = 403
    code = "approval_required"


def error_from_integrity(exc: Exception, model: type, conflict: DomainError | None = None) -> DomainError:
    """Turn a database constraint violation on ``model`` into the error a person can act on.

    A CHECK constraint answers with its ``violation_error_message`` (written as
    ``"field: what is wrong"``); a unique constraint answers with ``conflict``.
    """
    name = getattr(getattr(getattr(exc, "__cause__", None), "diag", None), "constraint_name", None)
    constraint = next((c for c in model._meta.constraints if c.name == name), None)
    message = getattr(constraint, "violation_error_message", None)
    from django.db.models import CheckConstraint

    if isinstance(constraint, CheckConstraint) and message:
        field, _, text = str(message).partition(": ")
        return InvalidInput(str(message), field=field if text else None)
    if conflict is not None:
        return conflict
    return Conflict("The change collides with existing data; reload the page and try again.")
