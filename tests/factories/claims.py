"""Claims factories: a submitted claim on an account, billed to a coverage's payer.

Charges and their ledger rows are never made here: post them with
``accounts.services.charge_post`` and pass them as ``ClaimFactory(charges=[...])`` to get
one line per charge, or add lines with ``ClaimLineFactory(claim=...)``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory

from claims.models import Claim, ClaimLine
from tests.factories.accounts import AccountFactory, CoverageFactory


class ClaimFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Claim
        skip_postgeneration_save = True

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    coverage = factory.SubFactory(
        CoverageFactory,
        patient=factory.SelfAttribute("..account.patient"),
        organization=factory.SelfAttribute("..account.organization"),
    )
    payer = factory.LazyAttribute(lambda o: o.coverage.plan.payer)
    patient_control_number = factory.SelfAttribute("account.account_number")
    kind = Claim.Kind.PROFESSIONAL
    status = Claim.Status.SUBMITTED
    billed_amount = Decimal("100.00")
    service_from = factory.SelfAttribute("account.service_from")
    service_to = factory.SelfAttribute("service_from")
    submitted_on = factory.LazyAttribute(lambda o: o.service_to + timedelta(days=7))

    @factory.post_generation
    def charges(self, create: bool, extracted, **kwargs) -> None:
        """``ClaimFactory(charges=[c1, c2])``: one line per charge, and the billed amount is their sum."""
        if not create or not extracted:
            return
        for number, charge in enumerate(extracted, start=1):
            ClaimLine.objects.create(
                claim=self,
                line_number=number,
                charge=charge,
                code_type=charge.code_type,
                code=charge.code,
                modifiers=list(charge.modifiers),
                units=charge.units,
                billed_amount=charge.amount,
                service_from=charge.service_date,
                service_to=charge.service_date,
            )
        self.billed_amount = sum((c.amount for c in extracted), Decimal("0.00"))
        self.service_from = min(c.service_date for c in extracted)
        self.service_to = max(c.service_date for c in extracted)
        self.save(update_fields=["billed_amount", "service_from", "service_to"])


class ClaimLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClaimLine

    claim = factory.SubFactory(ClaimFactory)
    line_number = factory.LazyAttribute(lambda o: o.claim.lines.count() + 1)
    code_type = "cpt"
    code = "99213"
    billed_amount = Decimal("100.00")
    service_from = factory.SelfAttribute("claim.service_from")
    service_to = factory.SelfAttribute("service_from")
