"""The one guard for state machines declared as ``TRANSITIONS`` tables on models."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidTransition


def allowed_transitions(obj: Any, field: str = "status") -> set:
    return set(type(obj).TRANSITIONS.get(getattr(obj, field), set()))


def ensure_transition(obj: Any, new: Any, field: str = "status") -> None:
    """Raise ``InvalidTransition`` unless ``obj.<field>`` may move to ``new``."""
    current = getattr(obj, field)
    if new not in allowed_transitions(obj, field):
        label = type(obj)._meta.verbose_name
        raise InvalidTransition(
            f"A {label} that is {current!s} cannot become {new!s}.",
            field=field,
            details={"from": str(current), "to": str(new)},
        )
