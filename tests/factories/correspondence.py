"""Correspondence factories: letter templates. Documents are only ever made by the services."""

from __future__ import annotations

import factory

from correspondence.models import DocumentKind, LetterTemplate
from tests.factories.staff import OrganizationFactory


class LetterTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LetterTemplate

    organization = factory.SubFactory(OrganizationFactory)
    kind = DocumentKind.LETTER
    name = factory.Sequence(lambda n: f"Letter {n}")
    subject = "About your account"
    body = "<p>Dear {{ guarantor.name }},</p>\n<p>Your balance is {{ balances.amount_due|money }}.</p>\n"
    is_active = True
    is_default = False
