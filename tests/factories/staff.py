from __future__ import annotations

from decimal import Decimal

import factory

from staff.models import ApprovalLimit, Membership, Organization, Role, Team, User

TEST_PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save_password(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.save(update_fields=["password"])


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Client Organization {n}")
    slug = factory.Sequence(lambda n: f"client-{n}")
    kind = Organization.Kind.HOSPITAL
    time_zone = "America/Chicago"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.REPRESENTATIVE


class ApprovalLimitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovalLimit

    organization = factory.SubFactory(OrganizationFactory)
    role = Role.REPRESENTATIVE
    kind = ApprovalLimit.Kind.WRITE_OFF
    max_amount = Decimal("50.00")
