"""The follow-up rules registry: apps say what work exists; worklists keeps the items.

Each app puts its rules in ``<app>/followups.py``::

    from worklists.registry import Candidate, register

    @register("claims.denial_to_work", label="Denial to work", queue="denials", queue_name="Denials")
    def denials_to_work(organization_ids: list[int], now: datetime) -> Iterable[Candidate]:
        ...

A rule is set-based: a few queries for all the organizations it is given, never one per
row. It yields one ``Candidate`` per piece of work that exists *now*; the refresh
(``worklists.refresh``) creates items for new candidates, updates the ones whose
priority, due time or title moved, and closes the items whose candidate is gone.

``autodiscover()`` imports every installed app's ``followups`` module, the way the admin
finds ``admin.py``; ``WorklistsConfig.ready()`` calls it. Worklists itself imports no
app above it: an app also tells it, with ``register_subject``, which page a subject opens
on and on which timeline completions of its items are written.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.module_loading import autodiscover_modules

from worklists.models import PRIORITY_MAX

RuleFunction = Callable[[list[int], datetime], Iterable["Candidate"]]


@dataclass(frozen=True)
class Candidate:
    """A piece of work a rule found; the refresh turns it into (or keeps it as) a work item."""

    organization_id: int
    dedupe_key: str  # unique per organization among the rule's items, e.g. "claims.denial:123"
    subject: models.Model  # the row the work is about (a Case, a Denial, a PatientAccount, a Claim…)
    title: str  # what a person sees in the list, no PHI beyond what the subject page shows
    due_at: datetime  # aware datetime
    priority: int  # 0..1000, higher first
    reason: str  # human-readable reason for the priority ("Timely filing ends in 3 business days")
    queue: str = ""  # queue slug; "" means the rule's default queue
    skills: tuple[str, ...] = ()  # e.g. ("lang:es", "payer:<payer reference>")


@dataclass(frozen=True)
class Rule:
    kind: str
    label: str
    queue: str
    queue_name: str
    description: str
    function: RuleFunction

    @property
    def source(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"


_rules: dict[str, Rule] = {}


def register(kind: str, *, label: str, queue: str, queue_name: str, description: str = "") -> Callable:
    """Decorator registering ``function`` as the rule ``kind`` (``"<app>.<what>"``)."""

    def decorator(function: RuleFunction) -> RuleFunction:
        rule = Rule(kind, label, queue, queue_name, description, function)
        existing = _rules.get(kind)
        if existing is not None and existing.source != rule.source:
            raise ImproperlyConfigured(f"Work item rule {kind!r} is registered twice ({existing.source}).")
        _rules[kind] = rule
        return function

    return decorator


def rules() -> dict[str, Rule]:
    """Every registered rule by kind, in kind order."""
    return dict(sorted(_rules.items()))


def rule_label(kind: str) -> str:
    rule = _rules.get(kind)
    return rule.label if rule is not None else kind


def queue_names() -> dict[str, str]:
    """The name each rule gives its default queue, by slug (for queues created on first use)."""
    return {rule.queue: rule.queue_name for rule in rules().values()}


def autodiscover() -> None:
    autodiscover_modules("followups")


# --- subjects: where a subject's page is and where its timeline events go ------------------------


@dataclass(frozen=True)
class SubjectLinks:
    url: Callable[[Any], str]
    # Returns the object whose timeline shows completions (the account of a denial, say)
    # and extra event data (``{"claim": "<reference>"}``); None keeps the subject itself.
    timeline: Callable[[Any], tuple[models.Model, dict]] | None = None


_subjects: dict[str, SubjectLinks] = {}


def register_subject(
    model: type[models.Model],
    *,
    url: Callable[[Any], str],
    timeline: Callable[[Any], tuple[models.Model, dict]] | None = None,
) -> None:
    """Tell worklists which page ``model``'s rows open on and on which timeline its work is recorded."""
    _subjects[model._meta.label_lower] = SubjectLinks(url, timeline)


def subject_url(subject: Any) -> str | None:
    """The page to work ``subject`` on: its ``get_absolute_url()``, else the registered one."""
    if subject is None:
        return None
    if hasattr(subject, "get_absolute_url"):
        return subject.get_absolute_url()
    links = _subjects.get(subject._meta.label_lower)
    return links.url(subject) if links is not None else None


def timeline_target(subject: models.Model) -> tuple[models.Model, dict]:
    """The object whose timeline records work on ``subject``, and extra event data."""
    links = _subjects.get(subject._meta.label_lower)
    if links is None or links.timeline is None:
        return subject, {}
    return links.timeline(subject)


# --- helpers for rule functions -----------------------------------------------------------------

CLOSE_OF_BUSINESS = time(17, 0)


def due_end_of(day: date, time_zone: str) -> datetime:
    """Close of business (17:00) on ``day`` in the organization's time zone, as an aware datetime."""
    return datetime.combine(day, CLOSE_OF_BUSINESS, tzinfo=zoneinfo.ZoneInfo(time_zone))


def bounded_priority(value: float) -> int:
    """``value`` rounded into the 0..1000 range priorities live in."""
    return max(0, min(PRIORITY_MAX, round(value)))


def time_zones(organization_ids: Iterable[int]) -> dict[int, str]:
    """Each organization's time zone, for due times at its close of business (one query)."""
    from staff.models import Organization

    return dict(Organization.objects.filter(pk__in=list(organization_ids)).values_list("pk", "time_zone"))
