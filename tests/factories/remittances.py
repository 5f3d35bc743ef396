"""835 remittance rows as the import would store them: a file, its payments, claim payments
and provider-level adjustments. Only the stored structure is built here; posting and
matching state are set by the tests that need them (or by the real services)."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import factory

from claims.models import ClaimPayment, ProviderAdjustment, RemittanceFile, RemittancePayment
from tests.factories.staff import OrganizationFactory, UserFactory


class RemittanceFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RemittanceFile

    organization = factory.SubFactory(OrganizationFactory)
    filename = factory.Sequence(lambda n: f"remit-{n:05d}.835")
    content = factory.Sequence(lambda n: f"ISA*00*~ST*835*{n:04d}~SE*2*{n:04d}~IEA*1*{n:09d}~")
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content.encode()).hexdigest())
    byte_size = factory.LazyAttribute(lambda o: len(o.content.encode()))
    channel = RemittanceFile.Channel.UPLOAD
    status = RemittanceFile.Status.POSTED
    received_by = factory.SubFactory(UserFactory)


def _duplicate_key(payment: RemittancePayment) -> str:
    if payment.status == RemittancePayment.Status.DUPLICATE:
        return ""
    return f"{payment.payer_identifier}|{payment.trace_number}|{payment.payment_date}|{payment.total_paid}"


class RemittancePaymentFactory(factory.django.DjangoModelFactory):
    """One ST/SE payment. ``payer`` is optional, as in an 835 whose payer is not on file."""

    class Meta:
        model = RemittancePayment

    file = factory.SubFactory(RemittanceFileFactory)
    organization = factory.SelfAttribute("file.organization")
    sequence = 1
    payer = None
    payer_name = factory.LazyAttribute(lambda o: o.payer.name if o.payer else "Unlisted Payer")
    payer_identifier = factory.LazyAttribute(lambda o: o.payer.edi_payer_id if o.payer else "1999999999")
    handling_code = "I"
    total_paid = Decimal("100.00")
    credit_debit = "C"
    method = "ACH"
    payment_date = date(2026, 11, 2)
    trace_number = factory.Sequence(lambda n: f"EFT{880000 + n}")
    status = RemittancePayment.Status.POSTED
    duplicate_key = factory.LazyAttribute(_duplicate_key)


class ClaimPaymentFactory(factory.django.DjangoModelFactory):
    """One CLP loop of a payment; no patient names unless a test gives them."""

    class Meta:
        model = ClaimPayment

    payment = factory.SubFactory(RemittancePaymentFactory)
    organization = factory.SelfAttribute("payment.organization")
    sequence = factory.Sequence(lambda n: n + 1)
    patient_control_number = factory.Sequence(lambda n: f"PCN{300000 + n}")
    status_code = "1"
    charge = Decimal("150.00")
    paid = Decimal("100.00")
    posting = ClaimPayment.Posting.POSTED


class ProviderAdjustmentFactory(factory.django.DjangoModelFactory):
    """One PLB pair: positive amounts reduce the payment, negative ones (interest) increase it."""

    class Meta:
        model = ProviderAdjustment

    payment = factory.SubFactory(RemittancePaymentFactory)
    organization = factory.SelfAttribute("payment.organization")
    reason = "WO"
    reference = factory.Sequence(lambda n: f"ICN{500000 + n}")
    amount = Decimal("25.00")
    posting = ProviderAdjustment.Posting.POSTED
