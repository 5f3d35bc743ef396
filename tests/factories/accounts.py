"""Accounts factories. Balances and ledger rows are never written here: post them with
the real services (``accounts.services``) so that tests see what production would."""

from __future__ import annotations

from datetime import date

import factory

from accounts.models import AuthorizedContact, Coverage, Guarantor, Patient, PatientAccount
from tests.factories.payers import PlanFactory
from tests.factories.staff import OrganizationFactory


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    organization = factory.SubFactory(OrganizationFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=1, maximum_age=95)
    address_line1 = factory.Faker("street_address")
    city = factory.Faker("city")
    state = "IL"
    postal_code = "60601"
    phone = factory.Sequence(lambda n: f"312555{n % 10000:04d}")


class GuarantorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guarantor

    patient = factory.SubFactory(PatientFactory)
    organization = factory.SelfAttribute("patient.organization")
    relationship = Guarantor.Relationship.SELF
    first_name = factory.SelfAttribute("patient.first_name")
    last_name = factory.SelfAttribute("patient.last_name")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientAccount

    patient = factory.SubFactory(PatientFactory)
    organization = factory.SelfAttribute("patient.organization")
    guarantor = factory.SubFactory(GuarantorFactory, patient=factory.SelfAttribute("..patient"))
    account_number = factory.Sequence(lambda n: f"A{100000 + n}")
    kind = PatientAccount.Kind.PROFESSIONAL
    service_from = date(2026, 9, 1)


class CoverageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coverage

    patient = factory.SubFactory(PatientFactory)
    organization = factory.SelfAttribute("patient.organization")
    plan = factory.SubFactory(
        PlanFactory,
        organization=factory.SelfAttribute("..organization"),
        payer__organization=factory.SelfAttribute("...organization"),
    )
    member_id = factory.Sequence(lambda n: f"MEM{700000 + n}")
    subscriber_name = factory.LazyAttribute(lambda o: f"{o.patient.first_name} {o.patient.last_name}")
    priority = Coverage.Priority.PRIMARY
    effective_from = date(2025, 1, 1)


class AuthorizedContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuthorizedContact

    patient = factory.SubFactory(PatientFactory)
    organization = factory.SelfAttribute("patient.organization")
    name = factory.Faker("name")
    relationship = AuthorizedContact.Relationship.SPOUSE
    scopes = ["balances"]
    start_date = date(2025, 1, 1)
