"""Payer master fixtures: a payer with a plan, rules and a contract in ``org``, and one in ``other_org``.

Rows that tests change are made by the real services (so they start with history like
production rows); read-only scenery uses the factories.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from payers import services
from payers.models import Contract, Payer, PayerNotice, PayerRule, Plan
from tests.factories import PayerFactory

RULES_FROM = date(2024, 1, 1)


@pytest.fixture
def payer(org, admin_user) -> Payer:
    return services.payer_create(
        organization=org,
        name="Prairie Mutual",
        kind=Payer.Kind.COMMERCIAL,
        edi_payer_id="PM001",
        phone="8005550111",
        by=admin_user,
    )


@pytest.fixture
def other_payer(other_org) -> Payer:
    return PayerFactory(
        organization=other_org, name="Lakeshore Rx Benefits", kind=Payer.Kind.PBM, bin="610014"
    )


@pytest.fixture
def plan(payer, admin_user) -> Plan:
    return services.plan_create(payer=payer, name="Choice PPO", group_number="G100", by=admin_user)


@pytest.fixture
def rule(payer, admin_user) -> PayerRule:
    return services.payer_rule_create(
        payer=payer,
        effective_from=RULES_FROM,
        timely_filing_days=180,
        corrected_claim_days=90,
        follow_up_days=30,
        appeal_levels=[
            {"name": "First-level appeal", "filing_days": 180, "decision_days": 30},
            {"name": "Second-level appeal", "filing_days": 60, "decision_days": 30},
        ],
        by=admin_user,
    )


@pytest.fixture
def contract(payer, admin_user) -> Contract:
    return services.contract_create(
        payer=payer,
        name="Prairie Mutual 2024",
        effective_from=RULES_FROM,
        default_percent_of_charges=Decimal("60"),
        by=admin_user,
    )


@pytest.fixture
def notice(org, supervisor, payer) -> PayerNotice:
    return services.notice_publish(
        organization=org,
        title="Prairie Mutual requires prior authorization for MRI",
        body="From 1 March, MRI needs prior authorization.",
        effective_date=date(2026, 3, 1),
        payers=[payer],
        by=supervisor,
    )
