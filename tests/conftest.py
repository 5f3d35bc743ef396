"""Persona fixtures: one person per role in ``org``, plus an outsider who works for ``other_org``.

Every endpoint test runs the matrix anonymous / outsider / each role (HOUSE_STYLE rule 13).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from staff.models import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.factories.staff import TEST_PASSWORD


@pytest.fixture
def password() -> str:
    return TEST_PASSWORD


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Riverside General Hospital", slug="riverside", kind="hospital")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Lakeshore Pharmacy", slug="lakeshore", kind="pharmacy")


def _member(org, role: str, email: str):
    return MembershipFactory(organization=org, role=role, user=UserFactory(email=email)).user


@pytest.fixture
def rep(org):
    return _member(org, Role.REPRESENTATIVE, "rep@example.test")


@pytest.fixture
def other_rep(org):
    return _member(org, Role.REPRESENTATIVE, "rep2@example.test")


@pytest.fixture
def senior_rep(org):
    return _member(org, Role.SENIOR_REPRESENTATIVE, "senior@example.test")


@pytest.fixture
def posting_specialist(org):
    return _member(org, Role.POSTING_SPECIALIST, "posting@example.test")


@pytest.fixture
def appeals_coordinator(org):
    return _member(org, Role.APPEALS_COORDINATOR, "appeals@example.test")


@pytest.fixture
def supervisor(org):
    return _member(org, Role.SUPERVISOR, "supervisor@example.test")


@pytest.fixture
def admin_user(org):
    return _member(org, Role.ADMIN, "admin@example.test")


@pytest.fixture
def outsider(other_org):
    """An admin of another organization: powerful there, nobody here."""
    return _member(other_org, Role.ADMIN, "outsider@example.test")


@pytest.fixture
def persona(
    request, rep, senior_rep, posting_specialist, appeals_coordinator, supervisor, admin_user, outsider
):
    """Resolve a persona by name inside a parametrized test: ``persona("supervisor")``."""
    people = {
        "anonymous": None,
        "representative": rep,
        "senior_representative": senior_rep,
        "posting_specialist": posting_specialist,
        "appeals_coordinator": appeals_coordinator,
        "supervisor": supervisor,
        "admin": admin_user,
        "outsider": outsider,
    }
    return people.__getitem__


PERSONAS = [
    "anonymous",
    "outsider",
    "representative",
    "senior_representative",
    "posting_specialist",
    "appeals_coordinator",
    "supervisor",
    "admin",
]


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def login_api(client: APIClient, user) -> APIClient:
    if user is not None:
        client.force_authenticate(user)
    return client
