"""``manage.py seed_demo``: payers and accounts of the three demo organizations, through the services."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from accounts import demo as accounts_demo
from accounts.edits import diagnosis_problem
from accounts.ledger import ledger_drift
from accounts.models import (
    AdjustmentRequest,
    AuthorizedContact,
    Charge,
    ChargeEdit,
    Coverage,
    Guarantor,
    LedgerEntry,
    Patient,
    PatientAccount,
)
from core.models import TimelineEvent
from payers import demo as payers_demo
from payers.models import AppealLevel, FeeScheduleEntry, Payer, PayerNotice, PayerRule
from staff import demo as staff_demo
from staff.models import Organization

pytestmark = pytest.mark.django_db

# The deliberate coding mistakes of accounts.demo; every other diagnosis must be billable.
DELIBERATE = {"E11", "M545", "A099"}
TABLES = [Patient, Guarantor, AuthorizedContact, Coverage, PatientAccount, Charge, LedgerEntry, ChargeEdit,
          AdjustmentRequest, TimelineEvent, Payer, PayerRule, FeeScheduleEntry, PayerNotice]  # fmt: skip


def _counts() -> dict[str, int]:
    counts = {model.__name__: model.objects.count() for model in TABLES}
    counts.update(
        {f"{model.__name__} history": model.history.count() for model in (Patient, Charge, Coverage)}
    )
    return counts


def _seed(settings) -> str:
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_builds_books_that_match_the_ledger_and_a_second_run_creates_nothing(settings):
    output = _seed(settings)
    assert "patient accounts" in output

    assert ledger_drift() == []
    today = timezone.localdate()
    for profile in accounts_demo.PROFILES:
        org = Organization.objects.get(slug=profile.slug)
        accounts = PatientAccount.objects.filter(organization=org)
        assert Patient.objects.filter(organization=org).count() == profile.patients
        assert accounts.count() >= profile.patients
        assert Charge.objects.filter(organization=org).count() > accounts.count()
        kinds = set(LedgerEntry.objects.filter(organization=org).values_list("kind", flat=True))
        assert {
            "charge",
            "insurance_payment",
            "contractual_adjustment",
            "transfer",
            "patient_payment",
        } <= kinds
        # A credit balance or two, and service dates spread over the last six months for aging.
        assert accounts.with_credit_balance().count() >= 1
        first, last = min(a.service_from for a in accounts), max(a.service_from for a in accounts)
        assert first >= today - timedelta(days=181) and last <= today
        assert (last - first).days > 120
        assert ChargeEdit.objects.filter(organization=org, status="open").exists()
        if profile.self_pay_scenarios:
            pending = AdjustmentRequest.objects.filter(organization=org, status="pending")
            assert pending.count() == 1
            assert pending.get().entry is None

    riverside = Organization.objects.get(slug="riverside")
    assert set(PatientAccount.objects.filter(organization=riverside).values_list("kind", flat=True)) == {
        "hospital",
        "professional",
    }
    fills = Charge.objects.filter(organization__slug="corner-drug")
    assert set(fills.values_list("code_type", flat=True)) == {"ndc"}
    assert not fills.filter(
        Q(rx_number="") | Q(ndc="") | Q(quantity__isnull=True) | Q(fill_number__isnull=True)
    )
    assert set(
        PatientAccount.objects.filter(organization__slug="summit-ma").values_list("kind", flat=True)
    ) == {"professional"}

    # Diagnoses are billable ICD-10-CM codes, except the few deliberate mistakes.
    diagnoses = {code for codes in Charge.objects.values_list("diagnoses", flat=True) for code in codes}
    assert {code for code in diagnoses if diagnosis_problem(code)} <= DELIBERATE

    # Synthetic people: fictional phone numbers and example.com e-mail.
    patients = Patient.objects.all()
    assert all(re.fullmatch(r"\d{3}55501\d\d", p.phone) for p in patients)
    assert all(p.email == "" or p.email.endswith("@example.com") for p in patients)
    languages = dict(patients.values_list("preferred_language").annotate(n=Count("id")))
    assert languages.get("es", 0) >= 5 and languages.get("ase", 0) >= 1
    assert patients.filter(interpreter="sign").exists() and patients.filter(interpreter="spoken").exists()
    minors = [p for p in patients if p.age_on(today) < 18]
    assert minors
    for minor in minors:
        assert minor.accounts.exclude(guarantor__relationship=Guarantor.Relationship.PARENT).count() == 0
    assert AuthorizedContact.objects.filter(is_personal_representative=False).exists()
    assert Coverage.objects.filter(verification_result="active").exists()
    assert Coverage.objects.filter(priority=2).exists()

    # The ledger's actors are the demo people who did the work, not the system user.
    assert set(LedgerEntry.objects.values_list("actor__email", flat=True)) <= {
        email for email, *_rest in staff_demo.PEOPLE
    }

    before = _counts()
    assert "nothing was created" in _seed(settings)
    assert _counts() == before


def test_payer_demo_has_the_rules_pbm_contract_and_notices_of_each_organization():
    staff_demo.seed()
    assert payers_demo.seed() == 3
    assert payers_demo.seed() == 0

    for slug in ("riverside", "corner-drug", "summit-ma"):
        org = Organization.objects.get(slug=slug)
        payers = payers_demo.payers_by_key(org)
        expected = {"medicare", "medicaid", "commercial_a", "commercial_b", "medicare_advantage"}
        assert set(payers) == expected | ({"pbm"} if slug == "corner-drug" else set())
        assert PayerNotice.objects.filter(organization=org).count() == 2
        assert all(payer.plans.exists() and payer.rules.exists() for payer in payers.values())

        medicare = payers["medicare"].rule_on(timezone.localdate())
        assert medicare.timely_filing_days == 365
        levels = list(
            AppealLevel.objects.filter(rule=medicare).values_list("level", "filing_days", "decision_days")
        )
        assert levels[:2] == [(1, 120, 60), (2, 180, 60)]
        filing = {
            payers[key].rule_on(timezone.localdate()).timely_filing_days
            for key in ("commercial_a", "commercial_b")
        }
        assert filing == {90}
        # Lakeview's limit was 180 days for services before 2026 (an effective-dated change).
        assert payers["commercial_b"].rules.order_by("effective_from").first().timely_filing_days == 180

        # HCPCS Level II or CPT-format codes only, and no descriptions anywhere in the schedule.
        codes = FeeScheduleEntry.objects.filter(organization=org).values_list("code", flat=True)
        assert codes and all(re.fullmatch(r"\d{5}|[A-V]\d{4}", code) for code in codes)

    pbm = payers_demo.payers_by_key(Organization.objects.get(slug="corner-drug"))["pbm"]
    assert re.fullmatch(r"\d{6}", pbm.bin) and pbm.pcn
