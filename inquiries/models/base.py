"""Small helpers shared by the inquiries models."""

from __future__ import annotations

from django.db import models


def choice_check(field: str, choices: type[models.Choices]) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__in": choices.values}), name=f"%(app_label)s_%(class)s_{field}_valid"
    )
