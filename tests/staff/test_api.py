"""End-to-end tests of the staff API under /api/v1/.

Every endpoint and method runs the persona matrix of ``tests.conftest.PERSONAS``:
anonymous, an outsider (admin of another organization) and each role in ``org``. The
outsider must never learn that ``org`` exists: its references answer 404 and its rows
never appear in lists, filters included.
"""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.models import TimelineEvent
from staff import services
from staff.models import ApprovalLimit, Membership, Organization, PhiAccessLog, Role, Team
from staff.phi import phi_access_record
from tests.conftest import PERSONAS
from tests.factories import ApprovalLimitFactory, MembershipFactory, TeamFactory, UserFactory

ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
SUPERVISING = {"supervisor", "admin"}

# Expected status per persona (anonymous is always refused as unauthenticated).
MEMBERS_READ = {"outsider": 404, **dict.fromkeys(ROLES, 200)}
SUPERVISORS_READ = {"outsider": 404, **{r: 200 if r in SUPERVISING else 403 for r in ROLES}}
ADMIN_WRITE = {"outsider": 404, **{r: 200 if r == "admin" else 403 for r in ROLES}}
ADMIN_CREATE = {**ADMIN_WRITE, "admin": 201}


# --- helpers ------------------------------------------------------------------------------


def client_for(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_status(response: Any, who: str, expected: dict[str, int]) -> None:
    if who == "anonymous":
        assert response.status_code in (401, 403), response.content
        assert response.data["detail"].code == "not_authenticated"
    else:
        assert response.status_code == expected[who], (who, response.status_code, response.content)


def refs(response: Any, key: str = "reference") -> set[str]:
    assert response.status_code == 200, response.content
    return {row[key] for row in response.json()["results"]}


def error_fields(response: Any) -> set[str]:
    """Fields named by an error: DRF validation errors and the domain error shape alike."""
    body = response.json()
    if isinstance(body.get("error"), dict):
        return {body["error"]["field"]}
    return set(body)


def state(obj: Any) -> tuple[int, int]:
    """History rows of ``obj`` and timeline events of its organization (unchanged when nothing happened)."""
    organization = obj if isinstance(obj, Organization) else obj.organization
    return obj.history.count(), TimelineEvent.objects.filter(organization=organization).count()


def last_event(organization: Organization, kind: str) -> TimelineEvent:
    event = TimelineEvent.objects.filter(organization=organization, kind=kind).order_by("-id").first()
    assert event is not None, f"no {kind} event"
    return event


def membership_of(user: Any, organization: Organization) -> Membership:
    return Membership.objects.get(user=user, organization=organization)


def walk_keys(data: Any):
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from walk_keys(value)
    elif isinstance(data, list):
        for item in data:
            yield from walk_keys(item)


@pytest.fixture
def everyone(persona, other_rep):
    """All personas exist; returns the name → user resolver."""
    return persona


@pytest.fixture
def team(org):
    return TeamFactory(organization=org, name="Self-pay pod")


@pytest.fixture
def other_team(other_org):
    return TeamFactory(organization=other_org, name="Pharmacy pod")


@pytest.fixture
def limits(org, other_org):
    return (
        ApprovalLimitFactory(organization=org, role=Role.REPRESENTATIVE, max_amount=Decimal("50.00")),
        ApprovalLimitFactory(organization=other_org, role=Role.REPRESENTATIVE, max_amount=Decimal("75.00")),
    )


@pytest.fixture
def phi_entries(org, other_org, rep, outsider, team, other_team):
    factory = RequestFactory()

    def record(user, organization, subject, action=PhiAccessLog.Action.VIEW):
        request = factory.get("/some/page/")
        request.user = user
        return phi_access_record(request=request, subject=subject, organization=organization, action=action)

    return (
        record(rep, org, team),
        record(rep, org, team, PhiAccessLog.Action.PRINT),
        record(outsider, other_org, other_team),
    )


# --- organizations ------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_organization_list_shows_only_the_callers_organizations(who, everyone, org, other_org):
    response = client_for(everyone(who)).get(reverse("api:organization-list"))
    if who == "anonymous":
        assert_status(response, who, {})
    elif who == "outsider":
        assert refs(response) == {str(other_org.reference)}
    else:
        assert refs(response) == {str(org.reference)}


@pytest.mark.parametrize("who", PERSONAS)
def test_organization_detail_matrix(who, everyone, org):
    response = client_for(everyone(who)).get(reverse("api:organization-detail", args=[org.reference]))
    assert_status(response, who, MEMBERS_READ)
    if response.status_code == 200:
        assert response.json() == {
            "reference": str(org.reference),
            "name": org.name,
            "slug": "riverside",
            "kind": "hospital",
            "time_zone": org.time_zone,
            "is_active": True,
        }


@pytest.mark.parametrize("who", PERSONAS)
def test_organization_update_settings_matrix(who, everyone, org):
    before = state(org)
    response = client_for(everyone(who)).post(
        reverse("api:organization-update-settings", args=[org.reference]),
        {"name": "Riverside Health", "time_zone": "America/Denver", "reason": "rebranding"},
        format="json",
    )
    assert_status(response, who, ADMIN_WRITE)
    org.refresh_from_db()
    if who != "admin":
        assert (org.name, org.time_zone) == ("Riverside General Hospital", "America/Chicago")
        assert state(org) == before
        return
    assert response.json()["name"] == "Riverside Health"
    assert (org.name, org.time_zone) == ("Riverside Health", "America/Denver")
    record = org.history.first()
    assert record.history_change_reason == "rebranding"
    assert record.history_user == everyone("admin")
    event = last_event(org, "staff.organization.updated")
    assert event.actor == everyone("admin")
    assert event.data["reason"] == "rebranding"
    assert event.data["old"] == {"name": "Riverside General Hospital", "time_zone": "America/Chicago"}


def test_update_settings_keeps_the_field_that_is_not_sent(admin_user, org):
    response = client_for(admin_user).post(
        reverse("api:organization-update-settings", args=[org.reference]),
        {"time_zone": "America/Los_Angeles", "reason": "moved"},
        format="json",
    )
    assert response.status_code == 200, response.content
    org.refresh_from_db()
    assert (org.name, org.time_zone) == ("Riverside General Hospital", "America/Los_Angeles")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "New name"}, "reason"),
        ({"name": "New name", "reason": ""}, "reason"),
        ({"name": "New name", "reason": "x" * 101}, "reason"),
        ({"time_zone": "Mars/Olympus_Mons", "reason": "typo"}, "time_zone"),
        ({"name": "", "reason": "blank"}, "name"),
        ({"slug": "new-slug", "reason": "not editable"}, "slug"),
        ({"name": "New name", "is_active": False, "reason": "not editable"}, "is_active"),
        ({"reason": "nothing to change"}, "non_field_errors"),
    ],
)
def test_update_settings_rejects_bad_input_and_changes_nothing(admin_user, org, body, field):
    before = state(org)
    response = client_for(admin_user).post(
        reverse("api:organization-update-settings", args=[org.reference]), body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    org.refresh_from_db()
    assert (org.name, org.slug, org.time_zone, org.is_active) == (
        "Riverside General Hospital",
        "riverside",
        "America/Chicago",
        True,
    )
    assert state(org) == before


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_organizations_offer_no_generic_writes(admin_user, org, method):
    client = client_for(admin_user)
    detail = reverse("api:organization-detail", args=[org.reference])
    url = reverse("api:organization-list") if method == "post" else detail
    response = getattr(client, method)(url, {"name": "X"}, format="json")
    assert response.status_code == 405
    assert Organization.objects.filter(pk=org.pk, name="Riverside General Hospital").exists()


# --- memberships --------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_membership_list_matrix(who, everyone, org, other_org):
    user = everyone(who)
    response = client_for(user).get(reverse("api:membership-list"))
    if who == "anonymous":
        assert_status(response, who, {})
        return
    seen = refs(response)
    in_org = {str(r) for r in Membership.objects.filter(organization=org).values_list("reference", flat=True)}
    if who == "outsider":
        assert seen.isdisjoint(in_org)
        assert seen == {str(m.reference) for m in Membership.objects.filter(organization=other_org)}
    elif who in SUPERVISING:
        assert seen == in_org
    else:
        assert seen == {str(membership_of(user, org).reference)}


@pytest.mark.parametrize("who", PERSONAS)
def test_membership_detail_of_a_colleague_is_for_supervisors(who, everyone, other_rep, org):
    target = membership_of(other_rep, org)
    response = client_for(everyone(who)).get(reverse("api:membership-detail", args=[target.reference]))
    # A representative cannot see a colleague's membership: for them it does not exist.
    assert_status(response, who, {"outsider": 404, **{r: 200 if r in SUPERVISING else 404 for r in ROLES}})
    if response.status_code == 200:
        body = response.json()
        assert body["organization"] == str(org.reference)
        assert body["user"] == {
            "reference": str(other_rep.reference),
            "email": other_rep.email,
            "full_name": other_rep.full_name,
        }
        assert body["role"] == "representative"


@pytest.mark.parametrize("who", ROLES)
def test_every_member_sees_their_own_membership(who, everyone, org):
    own = membership_of(everyone(who), org)
    response = client_for(everyone(who)).get(reverse("api:membership-detail", args=[own.reference]))
    assert response.status_code == 200
    assert response.json()["role"] == own.role


def test_membership_filters(admin_user, supervisor, rep, other_rep, org, team):
    services.membership_assign_team(membership=membership_of(rep, org), team=team, by=admin_user)
    services.membership_set_active(
        membership=membership_of(other_rep, org), active=False, by=admin_user, reason="left"
    )
    client = client_for(supervisor)
    url = reverse("api:membership-list")
    assert refs(client.get(url, {"team": str(team.reference)})) == {str(membership_of(rep, org).reference)}
    assert refs(client.get(url, {"is_active": "false"})) == {str(membership_of(other_rep, org).reference)}
    assert refs(client.get(url, {"role": "admin"})) == {str(membership_of(admin_user, org).reference)}
    assert len(refs(client.get(url, {"organization": str(org.reference)}))) == 4
    assert client.get(url, {"role": "janitor"}).status_code == 400
    assert client.get(url, {"organization": "not-a-uuid"}).status_code == 400


def test_membership_list_query_count_does_not_grow_with_members(admin_user, org, team):
    client = client_for(admin_user)
    url = reverse("api:membership-list")
    client.get(url)  # warm the content-type and membership caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(5):
        MembershipFactory(organization=org, team=team)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.json()["results"]) == 6
    assert len(many) == len(few)


def test_membership_pages_follow_cursors_that_carry_no_integer_ids(admin_user, org):
    for _ in range(6):
        MembershipFactory(organization=org)
    expected = [str(m.reference) for m in Membership.objects.filter(organization=org)]
    client = client_for(admin_user)
    url, seen, cursors = reverse("api:membership-list") + "?page_size=2", [], []
    while url:
        body = client.get(url).json()
        seen += [row["reference"] for row in body["results"]]
        url = body["next"]
        if url:
            cursors.append(parse_qs(urlsplit(url).query)["cursor"][0])
    assert sorted(seen) == sorted(expected)  # every member once, none twice
    assert len(cursors) == 3
    for cursor in cursors:
        position = parse_qs(base64.b64decode(cursor).decode())["p"][0]
        assert datetime.fromisoformat(position).tzinfo is not None  # a timestamp, not a primary key


@pytest.mark.parametrize("who", PERSONAS)
def test_membership_create_matrix(who, everyone, org, team, django_capture_on_commit_callbacks):
    before = Membership.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(everyone(who)).post(
            reverse("api:membership-list"),
            {
                "organization": str(org.reference),
                "email": "New.Person@Example.test",
                "full_name": "New Person",
                "role": "posting_specialist",
                "team": str(team.reference),
            },
            format="json",
        )
    assert_status(response, who, ADMIN_CREATE)
    if who != "admin":
        assert Membership.objects.count() == before
        assert not mail.outbox
        return
    membership = Membership.objects.get(reference=response.json()["reference"])
    assert (membership.organization, membership.role, membership.team) == (org, Role.POSTING_SPECIALIST, team)
    assert membership.user.email == "new.person@example.test"
    assert membership.history.first().history_change_reason == "added as Posting specialist"
    event = last_event(org, "staff.membership.added")
    assert event.actor == everyone("admin")
    assert event.data == {"membership": str(membership.reference), "role": "posting_specialist"}
    assert [m.to for m in mail.outbox] == [["new.person@example.test"]]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"role": "janitor"}, "role", 400),
        ({"role": ""}, "role", 400),
        ({"email": "not-an-email"}, "email", 400),
        ({"email": None}, "email", 400),
        ({"organization": "nope"}, "organization", 400),
        ({"team": "00000000-0000-0000-0000-000000000000"}, "team", 400),
        ({"email": "rep@example.test"}, "email", 409),  # already a member
        ({"full_name": ""}, "full_name", 400),  # needed for a person without an account
    ],
)
def test_membership_create_rejects_bad_input(admin_user, rep, org, body, field, status):
    before = (Membership.objects.count(), TimelineEvent.objects.count())
    payload = {
        "organization": str(org.reference),
        "email": "someone@example.test",
        "full_name": "Some One",
        "role": "representative",
        **body,
    }
    response = client_for(admin_user).post(reverse("api:membership-list"), payload, format="json")
    assert response.status_code == status, response.content
    assert field in error_fields(response)
    assert (Membership.objects.count(), TimelineEvent.objects.count()) == before


def test_membership_create_refuses_a_team_of_another_organization(admin_user, org, other_team):
    response = client_for(admin_user).post(
        reverse("api:membership-list"),
        {
            "organization": str(org.reference),
            "email": "someone@example.test",
            "full_name": "Some One",
            "role": "representative",
            "team": str(other_team.reference),
        },
        format="json",
    )
    assert response.status_code == 400
    assert error_fields(response) == {"team"}
    assert not Membership.objects.filter(user__email="someone@example.test").exists()


@pytest.mark.parametrize("who", PERSONAS)
def test_membership_change_role_matrix(who, everyone, other_rep, org):
    target = membership_of(other_rep, org)
    before = state(target)
    response = client_for(everyone(who)).post(
        reverse("api:membership-change-role", args=[target.reference]),
        {"role": "senior_representative", "reason": "promotion after review"},
        format="json",
    )
    assert_status(response, who, ADMIN_WRITE)
    target.refresh_from_db()
    if who != "admin":
        assert target.role == Role.REPRESENTATIVE
        assert state(target) == before
        return
    assert response.json()["role"] == "senior_representative"
    assert target.role == Role.SENIOR_REPRESENTATIVE
    record = target.history.first()
    assert record.history_change_reason == "promotion after review"
    assert record.history_user == everyone("admin")
    event = last_event(org, "staff.membership.role_changed")
    assert event.data == {
        "membership": str(target.reference),
        "old": "representative",
        "new": "senior_representative",
        "reason": "promotion after review",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "janitor", "reason": "r"}, "role"),
        ({"reason": "r"}, "role"),
        ({"role": "supervisor"}, "reason"),
        ({"role": "supervisor", "reason": "   "}, "reason"),
    ],
)
def test_membership_change_role_rejects_bad_input(admin_user, other_rep, org, body, field):
    target = membership_of(other_rep, org)
    before = state(target)
    response = client_for(admin_user).post(
        reverse("api:membership-change-role", args=[target.reference]), body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    target.refresh_from_db()
    assert target.role == Role.REPRESENTATIVE
    assert state(target) == before


def test_admin_cannot_change_their_own_role(admin_user, org):
    own = membership_of(admin_user, org)
    response = client_for(admin_user).post(
        reverse("api:membership-change-role", args=[own.reference]),
        {"role": "representative", "reason": "stepping down"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_permitted"
    own.refresh_from_db()
    assert own.role == Role.ADMIN


@pytest.mark.parametrize("who", PERSONAS)
def test_membership_deactivate_matrix(who, everyone, other_rep, org):
    target = membership_of(other_rep, org)
    before = state(target)
    response = client_for(everyone(who)).post(
        reverse("api:membership-deactivate", args=[target.reference]),
        {"reason": "left the company"},
        format="json",
    )
    assert_status(response, who, ADMIN_WRITE)
    target.refresh_from_db()
    if who != "admin":
        assert target.is_active
        assert state(target) == before
        return
    assert response.json()["is_active"] is False
    assert not target.is_active
    assert target.history.first().history_change_reason == "left the company"
    event = last_event(org, "staff.membership.deactivated")
    assert event.data == {"membership": str(target.reference), "reason": "left the company"}


@pytest.mark.parametrize("who", PERSONAS)
def test_membership_reactivate_matrix(who, everyone, other_rep, org):
    target = membership_of(other_rep, org)
    services.membership_set_active(membership=target, active=False, by=everyone("admin"), reason="leave")
    before = state(target)
    response = client_for(everyone(who)).post(
        reverse("api:membership-reactivate", args=[target.reference]),
        {"reason": "back from leave"},
        format="json",
    )
    assert_status(response, who, ADMIN_WRITE)
    target.refresh_from_db()
    if who != "admin":
        assert not target.is_active
        assert state(target) == before
        return
    assert target.is_active
    assert target.history.first().history_change_reason == "back from leave"
    assert last_event(org, "staff.membership.reactivated").data["reason"] == "back from leave"


@pytest.mark.parametrize("action", ["deactivate", "reactivate"])
def test_set_active_requires_a_reason(admin_user, other_rep, org, action):
    target = membership_of(other_rep, org)
    before = state(target)
    response = client_for(admin_user).post(
        reverse(f"api:membership-{action}", args=[target.reference]), {}, format="json"
    )
    assert response.status_code == 400
    assert error_fields(response) == {"reason"}
    assert state(target) == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_memberships_offer_no_generic_writes(admin_user, other_rep, org, method):
    target = membership_of(other_rep, org)
    response = getattr(client_for(admin_user), method)(
        reverse("api:membership-detail", args=[target.reference]), {"role": "admin"}, format="json"
    )
    assert response.status_code == 405
    target.refresh_from_db()
    assert target.role == Role.REPRESENTATIVE


def test_a_deactivated_member_loses_access_at_once(admin_user, rep, org):
    token = Token.objects.create(user=rep)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(reverse("api:organization-detail", args=[org.reference])).status_code == 200

    response = client_for(admin_user).post(
        reverse("api:membership-deactivate", args=[membership_of(rep, org).reference]),
        {"reason": "left"},
        format="json",
    )
    assert response.status_code == 200

    for url in (
        reverse("api:organization-list"),
        reverse("api:organization-detail", args=[org.reference]),
        reverse("api:membership-list"),
        reverse("api:team-list"),
    ):
        assert client.get(url).status_code == 403, url
    me = client.get(reverse("api:me"))
    assert me.status_code == 200
    assert me.json()["memberships"] == [] and me.json()["organizations"] == []


def test_deactivation_in_one_organization_leaves_the_others(admin_user, rep, org, other_org):
    MembershipFactory(user=rep, organization=other_org, role=Role.SUPERVISOR)
    services.membership_set_active(
        membership=membership_of(rep, org), active=False, by=admin_user, reason="moved to the pharmacy"
    )
    client = client_for(rep)
    assert refs(client.get(reverse("api:organization-list"))) == {str(other_org.reference)}
    assert client.get(reverse("api:organization-detail", args=[org.reference])).status_code == 404
    seen = refs(client.get(reverse("api:membership-list")))
    assert str(membership_of(rep, org).reference) not in seen


# --- teams --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_team_list_matrix(who, everyone, team, other_team):
    response = client_for(everyone(who)).get(reverse("api:team-list"))
    if who == "anonymous":
        assert_status(response, who, {})
    elif who == "outsider":
        assert refs(response) == {str(other_team.reference)}
    else:
        assert refs(response) == {str(team.reference)}


@pytest.mark.parametrize("who", PERSONAS)
def test_team_detail_matrix(who, everyone, team, org):
    response = client_for(everyone(who)).get(reverse("api:team-detail", args=[team.reference]))
    assert_status(response, who, MEMBERS_READ)
    if response.status_code == 200:
        assert response.json()["organization"] == str(org.reference)
        assert response.json()["name"] == "Self-pay pod"


@pytest.mark.parametrize("who", PERSONAS)
def test_team_create_matrix(who, everyone, org):
    before = Team.objects.count()
    response = client_for(everyone(who)).post(
        reverse("api:team-list"),
        {"organization": str(org.reference), "name": "Denials pod", "description": "Works denials"},
        format="json",
    )
    assert_status(response, who, ADMIN_CREATE)
    if who != "admin":
        assert Team.objects.count() == before
        return
    created = Team.objects.get(reference=response.json()["reference"])
    assert (created.organization, created.name, created.description) == (org, "Denials pod", "Works denials")
    assert created.history.first().history_change_reason == "team created"
    assert last_event(org, "staff.team.created").actor == everyone("admin")


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"name": ""}, "name", 400),
        ({"name": "x" * 101}, "name", 400),
        ({"organization": None}, "organization", 400),
        ({"name": "self-pay POD"}, "name", 409),  # same name, any case
    ],
)
def test_team_create_rejects_bad_input(admin_user, org, team, body, field, status):
    before = (Team.objects.count(), TimelineEvent.objects.count())
    payload = {"organization": str(org.reference), "name": "Denials pod", **body}
    response = client_for(admin_user).post(reverse("api:team-list"), payload, format="json")
    assert response.status_code == status, response.content
    assert field in error_fields(response)
    assert (Team.objects.count(), TimelineEvent.objects.count()) == before


# --- approval limits ----------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_approval_limit_list_matrix(who, everyone, limits):
    ours, theirs = limits
    response = client_for(everyone(who)).get(reverse("api:approval-limit-list"))
    if who == "anonymous" or who not in SUPERVISING | {"outsider"}:
        assert_status(response, who, {r: 403 for r in ROLES})
    elif who == "outsider":
        assert refs(response) == {str(theirs.reference)}
    else:
        assert refs(response) == {str(ours.reference)}
        assert response.json()["results"][0]["max_amount"] == "50.00"


@pytest.mark.parametrize("who", PERSONAS)
def test_approval_limit_detail_matrix(who, everyone, limits, org):
    ours, _ = limits
    response = client_for(everyone(who)).get(reverse("api:approval-limit-detail", args=[ours.reference]))
    assert_status(response, who, SUPERVISORS_READ)
    if response.status_code == 200:
        assert response.json() == {
            "reference": str(ours.reference),
            "organization": str(org.reference),
            "role": "representative",
            "kind": "write_off",
            "max_amount": "50.00",
            "updated_at": response.json()["updated_at"],
        }


SET_BODY = {"role": "supervisor", "kind": "refund", "max_amount": "2500.00", "reason": "policy 2026"}


@pytest.mark.parametrize("who", PERSONAS)
def test_approval_limit_set_matrix(who, everyone, org):
    response = client_for(everyone(who)).post(
        reverse("api:approval-limit-set"), {"organization": str(org.reference), **SET_BODY}, format="json"
    )
    assert_status(response, who, ADMIN_WRITE)
    stored = ApprovalLimit.objects.filter(organization=org, role=Role.SUPERVISOR, kind="refund").first()
    if who != "admin":
        assert stored is None
        assert not TimelineEvent.objects.filter(kind="staff.approval_limit.changed").exists()
        return
    assert stored.max_amount == Decimal("2500.00")
    assert response.json()["max_amount"] == "2500.00"
    assert response.json()["reference"] == str(stored.reference)
    assert stored.history.first().history_change_reason == "policy 2026"
    event = last_event(org, "staff.approval_limit.changed")
    assert event.data == {
        "role": "supervisor",
        "kind": "refund",
        "old": None,
        "new": "2500.00",
        "reason": "policy 2026",
    }


def test_approval_limit_set_changes_an_existing_limit(admin_user, limits, org):
    ours, _ = limits
    response = client_for(admin_user).post(
        reverse("api:approval-limit-set"),
        {
            "organization": str(org.reference),
            "role": "representative",
            "kind": "write_off",
            "max_amount": "60.5",
            "reason": "raise",
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["reference"] == str(ours.reference)
    assert response.json()["max_amount"] == "60.50"
    ours.refresh_from_db()
    assert ours.max_amount == Decimal("60.50")
    assert last_event(org, "staff.approval_limit.changed").data["old"] == "50.00"


@pytest.mark.parametrize(
    ("sent", "returned"),
    [
        ("12.30", "12.30"),
        ("0", "0.00"),
        ("999999999999.99", "999999999999.99"),
        (99.99, "99.99"),  # a JSON number is accepted when it has at most two decimals
        (7, "7.00"),
    ],
)
def test_approval_limit_amount_round_trips_exactly(admin_user, org, sent, returned):
    body = {"organization": str(org.reference), **SET_BODY, "max_amount": sent}
    response = client_for(admin_user).post(reverse("api:approval-limit-set"), body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["max_amount"] == returned
    stored = ApprovalLimit.objects.get(organization=org, role="supervisor", kind="refund")
    assert stored.max_amount == Decimal(returned)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_amount": "12.345"}, "max_amount"),
        ({"max_amount": 12.345}, "max_amount"),
        ({"max_amount": "-1.00"}, "max_amount"),
        ({"max_amount": "1000000000000.00"}, "max_amount"),
        ({"max_amount": "lots"}, "max_amount"),
        ({"max_amount": "NaN"}, "max_amount"),
        ({"max_amount": None}, "max_amount"),
        ({"role": "janitor"}, "role"),
        ({"kind": "bribe"}, "kind"),
        ({"reason": ""}, "reason"),
        ({"reason": None}, "reason"),
    ],
)
def test_approval_limit_set_rejects_bad_input(admin_user, limits, org, change, field):
    ours, _ = limits
    before = state(ours)
    body = {
        "organization": str(org.reference),
        "role": "representative",
        "kind": "write_off",
        "max_amount": "60.00",
        "reason": "raise",
        **change,
    }
    response = client_for(admin_user).post(reverse("api:approval-limit-set"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    ours.refresh_from_db()
    assert ours.max_amount == Decimal("50.00")
    assert state(ours) == before
    assert ApprovalLimit.objects.filter(organization=org).count() == 1


def test_approval_limit_set_without_reason_key_names_reason(admin_user, org):
    body = {"organization": str(org.reference), "role": "supervisor", "kind": "refund", "max_amount": "1.00"}
    response = client_for(admin_user).post(reverse("api:approval-limit-set"), body, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"reason"}
    assert not ApprovalLimit.objects.filter(organization=org).exists()


# --- PHI access log -----------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_phi_access_log_matrix(who, everyone, phi_entries, org, rep, team):
    response = client_for(everyone(who)).get(reverse("api:phi-access-log-list"))
    if who == "anonymous" or who not in SUPERVISING | {"outsider"}:
        assert_status(response, who, {r: 403 for r in ROLES})
        return
    rows = response.json()["results"]
    if who == "outsider":
        assert [row["organization"] for row in rows] == [str(phi_entries[2].organization.reference)]
        return
    assert len(rows) == 2
    assert {row["organization"] for row in rows} == {str(org.reference)}
    assert {row["action"] for row in rows} == {"view", "print"}
    assert rows[0]["user"]["reference"] == str(rep.reference)
    assert rows[0]["subject_type"] == "staff.team"
    assert rows[0]["subject_reference"] == str(team.reference)


def test_phi_access_log_filters(supervisor, rep, phi_entries, org):
    client = client_for(supervisor)
    url = reverse("api:phi-access-log-list")
    assert len(client.get(url, {"action": "print"}).json()["results"]) == 1
    assert len(client.get(url, {"user": str(rep.reference)}).json()["results"]) == 2
    assert len(client.get(url, {"user": str(supervisor.reference)}).json()["results"]) == 0
    assert len(client.get(url, {"organization": str(org.reference)}).json()["results"]) == 2
    first = phi_entries[0].accessed_at.isoformat()
    assert len(client.get(url, {"accessed_after": "2000-01-01T00:00:00Z"}).json()["results"]) == 2
    assert len(client.get(url, {"accessed_before": first}).json()["results"]) == 0
    assert len(client.get(url, {"accessed_after": "2999-01-01T00:00:00Z"}).json()["results"]) == 0
    assert client.get(url, {"accessed_after": "yesterday"}).status_code == 400
    assert client.get(url, {"action": "peek"}).status_code == 400


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_phi_access_log_is_read_only(admin_user, phi_entries, method):
    response = getattr(client_for(admin_user), method)(reverse("api:phi-access-log-list"), {}, format="json")
    assert response.status_code == 405
    assert PhiAccessLog.objects.count() == 3


# --- roles are per organization -----------------------------------------------------------


def test_admin_rights_elsewhere_give_no_rights_here(outsider, other_rep, org, other_org, team):
    """An admin of another organization who is only a supervisor here may read but not manage."""
    MembershipFactory(user=outsider, organization=org, role=Role.SUPERVISOR)
    client = client_for(outsider)
    target = membership_of(other_rep, org)
    assert client.get(reverse("api:membership-detail", args=[target.reference])).status_code == 200

    # Collection writes name the organization in the body: the view refuses (Django's
    # PermissionDenied, rendered by core.api.exception_handler).
    for route, body in (
        (
            "api:membership-list",
            {
                "organization": str(org.reference),
                "email": "x@example.test",
                "full_name": "X",
                "role": "admin",
            },
        ),
        ("api:team-list", {"organization": str(org.reference), "name": "Takeover"}),
        ("api:approval-limit-set", {"organization": str(org.reference), **SET_BODY}),
    ):
        response = client.post(reverse(route), body, format="json")
        assert response.status_code == 403, route
        assert response.json()["error"]["code"] == "not_permitted"

    # Object actions check the object's organization.
    for route, body in (
        ("api:membership-change-role", {"role": "admin", "reason": "x"}),
        ("api:membership-deactivate", {"reason": "x"}),
    ):
        assert client.post(reverse(route, args=[target.reference]), body, format="json").status_code == 403
    response = client.post(
        reverse("api:organization-update-settings", args=[org.reference]),
        {"name": "Mine", "reason": "x"},
        format="json",
    )
    assert response.status_code == 403

    target.refresh_from_db()
    org.refresh_from_db()
    assert (target.role, target.is_active) == (Role.REPRESENTATIVE, True)
    assert org.name == "Riverside General Hospital"
    assert not Membership.objects.filter(user__email="x@example.test").exists()
    assert not Team.objects.filter(name="Takeover").exists()
    assert not ApprovalLimit.objects.filter(organization=org).exists()


# --- id guessing across organizations --------------------------------------------------------


@pytest.mark.parametrize(
    "route", ["membership-list", "team-list", "approval-limit-list", "phi-access-log-list"]
)
def test_filtering_by_another_organization_returns_nothing(
    route, outsider, everyone, org, team, limits, phi_entries
):
    response = client_for(outsider).get(reverse(f"api:{route}"), {"organization": str(org.reference)})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_outsider_gets_404_for_every_object_of_another_organization(outsider, everyone, org, team, limits):
    client = client_for(outsider)
    membership = membership_of(everyone("admin"), org)
    for url in (
        reverse("api:organization-detail", args=[org.reference]),
        reverse("api:membership-detail", args=[membership.reference]),
        reverse("api:team-detail", args=[team.reference]),
        reverse("api:approval-limit-detail", args=[limits[0].reference]),
    ):
        assert client.get(url).status_code == 404, url
    for url, body in (
        (reverse("api:organization-update-settings", args=[org.reference]), {"name": "Mine", "reason": "x"}),
        (
            reverse("api:membership-change-role", args=[membership.reference]),
            {"role": "supervisor", "reason": "x"},
        ),
        (reverse("api:membership-deactivate", args=[membership.reference]), {"reason": "x"}),
    ):
        assert client.post(url, body, format="json").status_code == 404, url
    membership.refresh_from_db()
    assert membership.is_active and membership.role == Role.ADMIN


def test_unknown_and_malformed_references_are_404(admin_user):
    client = client_for(admin_user)
    assert client.get("/api/v1/organizations/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/api/v1/organizations/1/").status_code == 404
    assert client.get("/api/v1/memberships/not-a-uuid/").status_code == 404


def test_no_integer_ids_in_payloads(everyone, org, team, limits, phi_entries):
    client = client_for(everyone("admin"))
    urls = [
        reverse("api:me"),
        reverse("api:organization-list"),
        reverse("api:organization-detail", args=[org.reference]),
        reverse("api:membership-list"),
        reverse("api:team-list"),
        reverse("api:approval-limit-list"),
        reverse("api:phi-access-log-list"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        keys = set(walk_keys(response.json()))
        assert not {k for k in keys if k == "id" or (k.endswith("_id") and k != "request_id")}, url


# --- me ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_me_matrix(who, everyone, org, other_org):
    user = everyone(who)
    response = client_for(user).get(reverse("api:me"))
    if who == "anonymous":
        assert_status(response, who, {})
        return
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == str(user.reference)
    expected_org = other_org if who == "outsider" else org
    assert [m["organization"] for m in body["memberships"]] == [str(expected_org.reference)]
    assert [o["name"] for o in body["organizations"]] == [expected_org.name]


def test_me_works_for_a_user_without_memberships(db):
    user = UserFactory()
    response = client_for(user).get(reverse("api:me"))
    assert response.status_code == 200
    assert response.json()["memberships"] == []


def test_a_user_without_memberships_is_refused_elsewhere(db):
    response = client_for(UserFactory()).get(reverse("api:organization-list"))
    assert response.status_code == 403


# --- authentication ------------------------------------------------------------------------


def test_token_authentication_reads_and_writes_with_the_right_actor(admin_user, other_rep, org):
    token = Token.objects.create(user=admin_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert refs(client.get(reverse("api:organization-list"))) == {str(org.reference)}
    target = membership_of(other_rep, org)
    response = client.post(
        reverse("api:membership-change-role", args=[target.reference]),
        {"role": "supervisor", "reason": "token client"},
        format="json",
    )
    assert response.status_code == 200
    record = target.history.first()
    # The audit middleware runs before DRF authenticates the token; the row must still name the admin.
    assert record.history_user == admin_user
    assert record.history_change_reason == "token client"


def test_a_wrong_token_is_refused(rep, org):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get(reverse("api:organization-list"))
    assert response.status_code in (401, 403)
    assert response.data["detail"].code == "authentication_failed"


def test_session_authentication_works_and_enforces_csrf(admin_user, other_rep, org):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert refs(client.get(reverse("api:organization-list"))) == {str(org.reference)}

    target = membership_of(other_rep, org)
    url = reverse("api:membership-deactivate", args=[target.reference])
    refused = client.post(url, {"reason": "no csrf"}, format="json")
    assert refused.status_code == 403
    target.refresh_from_db()
    assert target.is_active

    csrf = "a" * 32
    client.cookies["csrftoken"] = csrf
    response = client.post(url, {"reason": "with csrf"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200, response.content
    target.refresh_from_db()
    assert not target.is_active
    assert target.history.first().history_user == admin_user
