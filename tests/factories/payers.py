from __future__ import annotations

from datetime import date

import factory

from payers.models import Contract, FeeScheduleEntry, Payer, PayerRule, Plan
from tests.factories.staff import OrganizationFactory


class PayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Payer {n}")
    kind = Payer.Kind.COMMERCIAL
    edi_payer_id = factory.Sequence(lambda n: f"{60000 + n}")
    phone = "8005550100"


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    payer = factory.SubFactory(PayerFactory)
    organization = factory.SelfAttribute("payer.organization")
    name = factory.Sequence(lambda n: f"Choice PPO {n}")
    plan_type = Plan.PlanType.PPO


class PayerRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PayerRule

    payer = factory.SubFactory(PayerFactory)
    organization = factory.SelfAttribute("payer.organization")
    effective_from = date(2020, 1, 1)
    timely_filing_days = 90
    corrected_claim_days = 90
    follow_up_days = 30


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    payer = factory.SubFactory(PayerFactory)
    organization = factory.SelfAttribute("payer.organization")
    name = factory.Sequence(lambda n: f"Contract {n}")
    effective_from = date(2020, 1, 1)


class FeeScheduleEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeeScheduleEntry

    contract = factory.SubFactory(ContractFactory)
    organization = factory.SelfAttribute("contract.organization")
    code = "99213"
    effective_from = date(2020, 1, 1)
