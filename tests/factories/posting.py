"""What posting leaves on a remittance, for page and API tests: service lines and adjustments
under a claim payment, and the exceptions, denials and variances people work.

Claim payments and the rows above them come from ``tests.factories.remittances``. Status
changes are made with the real services (``claims.services.remittances``), never here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from claims.models import Denial, PostingException, RemittanceAdjustment, ServicePayment, Variance
from tests.factories.remittances import ClaimPaymentFactory, RemittancePaymentFactory


class ServicePaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServicePayment

    claim_payment = factory.SubFactory(ClaimPaymentFactory)
    qualifier = "HC"
    code = "99213"
    charge = Decimal("150.00")
    paid = Decimal("100.00")
    allowed = Decimal("120.00")
    units_paid = Decimal("1")
    service_from = date(2026, 10, 1)
    service_to = factory.SelfAttribute("service_from")
    segment_index = factory.Sequence(lambda n: 20 + n)


class RemittanceAdjustmentFactory(factory.django.DjangoModelFactory):
    """A CAS triplet on a line (``service_payment=``) or, without one, on the claim."""

    class Meta:
        model = RemittanceAdjustment

    claim_payment = factory.LazyAttribute(
        lambda o: o.service_payment.claim_payment if o.service_payment else ClaimPaymentFactory()
    )
    service_payment = None
    group = "CO"
    reason = "45"
    amount = Decimal("30.00")
    segment_index = factory.Sequence(lambda n: 40 + n)


class PostingExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PostingException

    claim_payment = factory.SubFactory(ClaimPaymentFactory, posting="exception")
    payment = factory.LazyAttribute(
        lambda o: o.claim_payment.payment if o.claim_payment else RemittancePaymentFactory()
    )
    organization = factory.SelfAttribute("payment.organization")
    kind = PostingException.Kind.UNMATCHED
    message = factory.LazyAttribute(
        lambda o: (
            f"No claim matches claim {o.claim_payment.patient_control_number}; pick the right one."
            if o.claim_payment
            else "Provider-level adjustment to place."
        )
    )
    amount = factory.LazyAttribute(lambda o: o.claim_payment.paid if o.claim_payment else Decimal("25.00"))


class DenialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Denial

    claim_payment = factory.SubFactory(ClaimPaymentFactory, status_code="4", paid=Decimal("0.00"))
    organization = factory.SelfAttribute("claim_payment.organization")
    claim = factory.SelfAttribute("claim_payment.claim")
    account = factory.SelfAttribute("claim_payment.account")
    payer = factory.LazyAttribute(lambda o: o.claim_payment.payment.payer)
    denied_on = date(2026, 11, 2)
    level = "claim"
    group_codes = factory.LazyFunction(lambda: ["CO"])
    carc_codes = factory.LazyFunction(lambda: ["29"])
    category = Denial.Category.TIMELY_FILING
    recommended_action = "Find proof of timely filing and appeal, or write off."
    denied_amount = Decimal("150.00")


class VarianceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variance

    claim_payment = factory.SubFactory(ClaimPaymentFactory)
    organization = factory.SelfAttribute("claim_payment.organization")
    claim = factory.SelfAttribute("claim_payment.claim")
    account = factory.SelfAttribute("claim_payment.account")
    payer = factory.LazyAttribute(lambda o: o.claim_payment.payment.payer)
    kind = Variance.Kind.UNDERPAYMENT
    identified_on = date(2026, 11, 2)
    expected_amount = Decimal("120.00")
    allowed_amount = Decimal("100.00")
    paid_amount = Decimal("80.00")
    variance_amount = Decimal("20.00")
