"""Inquiries factories: a case on an account, departments, scripts with steps, scorecards.

Status changes, contacts, verifications and overrides are never made here: use the real
services (``inquiries.services``) so tests see the audit rows production writes.
"""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from inquiries.models import (
    Case,
    Department,
    Scorecard,
    ScorecardCriterion,
    Script,
    ScriptStep,
    ScriptVersion,
)
from tests.factories.accounts import AccountFactory
from tests.factories.staff import OrganizationFactory, UserFactory


class CaseFactory(factory.django.DjangoModelFactory):
    """A new case about an account's patient, opened by phone; due by the default service level."""

    class Meta:
        model = Case

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    patient = factory.SelfAttribute("account.patient")
    number = factory.Sequence(lambda n: f"T{n:05d}")
    caller_type = Case.CallerType.PATIENT
    channel = Case.Channel.PHONE_INBOUND
    category = Case.Category.BILLING_QUESTION
    summary = "Question about a bill"
    first_response_due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=24))
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=5))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Department {n}")
    kind = Department.Kind.UTILIZATION_MANAGEMENT
    phone = "8005550100"
    hours = "Mon-Fri 8 a.m. to 5 p.m."


class ScriptFactory(factory.django.DjangoModelFactory):
    """A script with a published first version: ``ScriptFactory(steps=[("Greet", False), ...])``."""

    class Meta:
        model = Script
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Script {n}")

    @factory.post_generation
    def steps(self, create: bool, extracted, **kwargs) -> None:
        if not create:
            return
        steps = extracted or [
            ("Greet the caller and give your name.", False),
            ("Recorded line: tell the caller the call may be recorded.", True),
            ("Verify the caller before discussing the account.", False),
        ]
        version = ScriptVersion.objects.create(
            organization=self.organization,
            script=self,
            number=1,
            published_by=UserFactory(),
            published_at=timezone.now(),
        )
        for position, (prompt, required) in enumerate(steps, start=1):
            ScriptStep.objects.create(
                version=version, position=position, prompt=prompt, is_required_disclosure=required
            )
        self.current_version = version
        self.save(update_fields=["current_version"])


class ScorecardFactory(factory.django.DjangoModelFactory):
    """A scorecard with criteria: ``ScorecardFactory(criteria=[("Greeting", 20, False), ...])``."""

    class Meta:
        model = Scorecard
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Scorecard {n}")

    @factory.post_generation
    def criteria(self, create: bool, extracted, **kwargs) -> None:
        if not create:
            return
        for position, (label, weight, compliance) in enumerate(
            extracted
            or [
                ("Greeted the caller and gave their name", 20, False),
                ("Verified the caller before disclosing", 50, True),
                ("Explained next steps", 30, False),
            ],
            start=1,
        ):
            ScorecardCriterion.objects.create(
                scorecard=self, position=position, label=label, weight=weight, is_compliance=compliance
            )
