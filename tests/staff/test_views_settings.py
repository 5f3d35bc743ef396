"""Settings pages: members and roles, approval limits, organization settings, PHI access log."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core.models import TimelineEvent
from staff import services, views_settings
from staff.middleware import SESSION_KEY
from staff.models import (
    ApprovalLimit,
    Membership,
    Organization,
    OrganizationClosure,
    PhiAccessLog,
    Role,
    Team,
)
from tests.conftest import PERSONAS
from tests.factories import ApprovalLimitFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

# Query budgets. Both include session, user and memberships (3) and the session save
# (3: savepoint, update, release). Members adds the count, the page, the teams for the
# filter, the add form and the row forms; the access log adds the page and the users
# for the filter.
MEMBERS_PAGE_QUERIES = 11
ACCESS_LOG_PAGE_QUERIES = 8


# --- helpers ---------------------------------------------------------------------------------


def last_event(org: Organization) -> TimelineEvent | None:
    return TimelineEvent.objects.filter(organization=org).order_by("-id").first()


def membership_of(user, org: Organization) -> Membership:
    return Membership.objects.get(user=user, organization=org)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def log_rows(
    org: Organization,
    user,
    count: int,
    *,
    start: datetime | None = None,
    action: str = PhiAccessLog.Action.VIEW,
) -> list[PhiAccessLog]:
    """``count`` access-log rows one minute apart, newest last. The log is not history-tracked."""
    start = start or timezone.now() - timedelta(days=1)
    subject_type = ContentType.objects.get_for_model(Organization)
    return PhiAccessLog.objects.bulk_create(
        [
            PhiAccessLog(
                organization=org,
                user=user,
                action=action,
                subject_type=subject_type,
                subject_id=org.pk,
                path=f"/accounts/{i}/",
                ip_address="10.0.0.1",
                accessed_at=start + timedelta(minutes=i),
            )
            for i in range(count)
        ]
    )


@pytest.fixture
def closure(org, admin_user) -> OrganizationClosure:
    return services.closure_add(organization=org, day=date(2031, 7, 3), reason="Staff day", by=admin_user)


@pytest.fixture
def team(org) -> Team:
    return TeamFactory(organization=org, name="Patient accounts")


# --- role matrix -----------------------------------------------------------------------------

PAGES = [
    "staff:members",
    "staff:approval_limits",
    "staff:organization_settings",
    "staff:access_log",
    "staff:access_log_export",
]

# Who may open each page of ``org``. The outsider is left out here: their active
# organization is their own, see test_outsider_sees_only_their_own_organization.
READERS = {
    "staff:members": {"supervisor", "admin"},
    "staff:approval_limits": {"supervisor", "admin"},
    "staff:organization_settings": {"admin"},
    "staff:access_log": {"supervisor", "admin"},
    "staff:access_log_export": {"supervisor", "admin"},
}


@pytest.mark.parametrize("url_name", PAGES)
@pytest.mark.parametrize("who", [p for p in PERSONAS if p != "outsider"])
def test_pages_follow_the_role_matrix(client, persona, url_name, who):
    user = persona(who)
    if user is not None:
        client.force_login(user)
    response = client.get(reverse(url_name))
    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    elif who in READERS[url_name]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("url_name", PAGES)
def test_user_without_any_membership_gets_403(client, url_name):
    client.force_login(UserFactory())
    assert client.get(reverse(url_name)).status_code == 403


@pytest.mark.parametrize("url_name", ["staff:members", "staff:access_log", "staff:approval_limits"])
def test_outsider_sees_only_their_own_organization(
    client, org, other_org, admin_user, rep, outsider, url_name
):
    log_rows(org, rep, 2)
    client.force_login(outsider)
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    assert response.context["organization"] == other_org
    assert rep.email.encode() not in response.content
    assert admin_user.email.encode() not in response.content


def test_permissions_follow_the_active_organization(client, org, other_org, supervisor, rep):
    # Admin elsewhere, supervisor here: with this organization active, only reading is allowed.
    MembershipFactory(user=supervisor, organization=other_org, role=Role.ADMIN)
    client.force_login(supervisor)
    session = client.session
    session[SESSION_KEY] = org.pk
    session.save()
    assert client.get(reverse("staff:members")).context["can_manage"] is False
    response = client.post(
        reverse("staff:member_change_role", args=[membership_of(rep, org).reference]),
        {"role": Role.SUPERVISOR, "reason": "promotion"},
    )
    assert response.status_code == 403
    assert membership_of(rep, org).role == Role.REPRESENTATIVE


def _actions(org, rep, closure, team) -> list[tuple[str, list, dict]]:
    ref = membership_of(rep, org).reference
    return [
        (
            "staff:member_add",
            [],
            {"email": "new@example.test", "full_name": "New", "role": Role.REPRESENTATIVE},
        ),
        ("staff:member_change_role", [ref], {"role": Role.SUPERVISOR, "reason": "promotion"}),
        ("staff:member_deactivate", [ref], {"reason": "left"}),
        ("staff:member_reactivate", [ref], {"reason": "back"}),
        ("staff:member_assign_team", [ref], {"team": str(team.reference)}),
        ("staff:team_create", [], {"name": "Night shift"}),
        (
            "staff:approval_limit_set",
            [],
            {"role": Role.REPRESENTATIVE, "kind": "refund", "max_amount": "10", "reason": "policy"},
        ),
        ("staff:organization_update", [], {"name": "Renamed", "time_zone": "America/Denver", "reason": "x"}),
        ("staff:closure_add", [], {"date": "2031-12-26", "reason": "Boxing day"}),
        ("staff:closure_remove", [closure.reference], {}),
    ]


def _state(org: Organization) -> tuple:
    return (
        sorted(Membership.objects.filter(organization=org).values_list("pk", "role", "is_active", "team_id")),
        sorted(Team.objects.filter(organization=org).values_list("pk", "name")),
        sorted(ApprovalLimit.objects.filter(organization=org).values_list("role", "kind", "max_amount")),
        Organization.objects.filter(pk=org.pk).values_list("name", "time_zone").get(),
        sorted(OrganizationClosure.objects.filter(organization=org).values_list("date", flat=True)),
        TimelineEvent.objects.filter(organization=org).count(),
    )


@pytest.mark.parametrize("who", ["representative", "supervisor", "appeals_coordinator"])
def test_only_admins_may_post_actions(client, persona, org, rep, closure, team, who):
    client.force_login(persona(who))
    before = _state(org)
    for url_name, args, data in _actions(org, rep, closure, team):
        response = client.post(reverse(url_name, args=args), data)
        assert response.status_code == 403, url_name
    assert _state(org) == before


def test_anonymous_posts_are_sent_to_login(client, org, rep, closure, team):
    before = _state(org)
    for url_name, args, data in _actions(org, rep, closure, team):
        response = client.post(reverse(url_name, args=args), data)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url_name
    assert _state(org) == before


def test_actions_refuse_get(client, admin_user, org, rep, closure, team):
    client.force_login(admin_user)
    for url_name, args, _data in _actions(org, rep, closure, team):
        assert client.get(reverse(url_name, args=args)).status_code == 405, url_name


def test_supervisor_sees_members_without_admin_controls(client, supervisor, rep):
    client.force_login(supervisor)
    response = client.get(reverse("staff:members"))
    assert response.context["can_manage"] is False
    assert b"Read only" in response.content
    assert b"Add member" not in response.content and b"Change role" not in response.content
    assert rep.email.encode() in response.content


def test_supervisor_reads_limits_without_the_edit_form(client, supervisor, org):
    ApprovalLimitFactory(
        organization=org, role=Role.REPRESENTATIVE, kind="write_off", max_amount=Decimal("1250")
    )
    client.force_login(supervisor)
    response = client.get(reverse("staff:approval_limits"))
    assert b"$1,250.00" in response.content
    assert response.context["form"] is None and b"Save limit" not in response.content


@pytest.mark.parametrize("url_name", PAGES[:4])
def test_pages_have_no_inline_script_or_style(client, admin_user, rep, org, closure, url_name):
    log_rows(org, rep, 1)
    client.force_login(admin_user)
    content = client.get(reverse(url_name)).content.decode()
    assert "style=" not in content
    assert not re.search(r"<script(?![^>]*\bsrc=)", content)
    assert " on" + "click=" not in content


# --- members and roles -----------------------------------------------------------------------


class TestMembers:
    def test_list_shows_members_of_the_active_organization_with_history_links(
        self, client, admin_user, rep, org, outsider
    ):
        client.force_login(admin_user)
        response = client.get(reverse("staff:members"))
        assert response.status_code == 200
        shown = {m.user for m in response.context["page"]}
        assert shown == {admin_user, rep}
        ref = membership_of(rep, org).reference
        assert reverse("staff:object_history", args=["staff", "membership", ref]).encode() in response.content

    def test_filters_by_role_team_status_and_search(
        self, client, admin_user, rep, other_rep, supervisor, org, team
    ):
        services.membership_assign_team(membership=membership_of(rep, org), team=team, by=admin_user)
        services.membership_set_active(
            membership=membership_of(other_rep, org), active=False, by=admin_user, reason="left"
        )
        client.force_login(admin_user)

        def shown(**params) -> set:
            return {m.user for m in client.get(reverse("staff:members"), params).context["page"]}

        assert shown(role=Role.REPRESENTATIVE) == {rep, other_rep}
        assert shown(team=str(team.reference)) == {rep}
        assert shown(is_active="false") == {other_rep}
        assert shown(is_active="true", role=Role.REPRESENTATIVE) == {rep}
        assert shown(q="SUPERVISOR@example") == {supervisor}
        assert shown(q=admin_user.full_name[:4].lower()) >= {admin_user}

    def test_bad_filter_values_are_ignored_not_a_500(self, client, admin_user, rep):
        client.force_login(admin_user)
        response = client.get(
            reverse("staff:members"), {"team": "nope", "role": "king", "is_active": "maybe", "page": "x"}
        )
        assert response.status_code == 200
        assert response.context["filterset"].errors

    def test_another_organizations_team_is_not_a_filter_choice(self, client, admin_user, other_org):
        foreign = TeamFactory(organization=other_org, name="Foreign team")
        client.force_login(admin_user)
        response = client.get(reverse("staff:members"), {"team": str(foreign.reference)})
        assert "team" in response.context["filterset"].errors
        assert b"Foreign team" not in response.content

    def test_paginates_fifty_per_page(self, client, admin_user, org):
        MembershipFactory.create_batch(55, organization=org)
        client.force_login(admin_user)
        first = client.get(reverse("staff:members"))
        assert len(first.context["page"]) == 50 and first.context["page"].paginator.num_pages == 2
        second = client.get(reverse("staff:members"), {"page": 2})
        assert len(second.context["page"]) == 6

    def test_query_count_does_not_grow_with_rows(
        self, client, admin_user, org, team, django_assert_max_num_queries
    ):
        client.force_login(admin_user)
        MembershipFactory.create_batch(3, organization=org, team=team)
        with django_assert_max_num_queries(MEMBERS_PAGE_QUERIES) as few:
            assert client.get(reverse("staff:members")).status_code == 200
        MembershipFactory.create_batch(35, organization=org, team=team)
        with django_assert_max_num_queries(MEMBERS_PAGE_QUERIES) as many:
            response = client.get(reverse("staff:members"))
        assert len(response.context["page"]) == 39
        assert len(many.captured_queries) == len(few.captured_queries)

    def test_admin_adds_a_new_person(self, client, admin_user, org, team, django_capture_on_commit_callbacks):
        client.force_login(admin_user)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("staff:member_add"),
                {
                    "email": "Pat.New@Example.test",
                    "full_name": "Pat New",
                    "role": Role.POSTING_SPECIALIST,
                    "team": str(team.reference),
                },
            )
        assert response.status_code == 302 and response["Location"] == reverse("staff:members")
        membership = Membership.objects.get(organization=org, user__email="pat.new@example.test")
        assert membership.role == Role.POSTING_SPECIALIST and membership.team == team
        assert membership.history.first().history_change_reason == "added as Posting specialist"
        assert membership.history.first().history_user == admin_user
        event = last_event(org)
        assert event.kind == "staff.membership.added" and event.actor == admin_user
        assert len(mail.outbox) == 1
        assert "Pat New added as Posting specialist." in messages_of(client.get(reverse("staff:members")))

    def test_adding_with_a_bad_email_names_the_field_and_adds_nobody(self, client, admin_user, org):
        client.force_login(admin_user)
        before = _state(org)
        response = client.post(
            reverse("staff:member_add"), {"email": "not-an-email", "role": Role.REPRESENTATIVE}
        )
        assert response.status_code == 200
        assert any("Email: Enter a valid email address." in m for m in messages_of(response))
        assert response.context["add_form"].errors["email"]
        assert b'value="not-an-email"' in response.content  # what was typed is kept
        assert _state(org) == before

    def test_a_new_person_needs_a_name(self, client, admin_user, org):
        client.force_login(admin_user)
        before = _state(org)
        response = client.post(
            reverse("staff:member_add"), {"email": "nameless@example.test", "role": Role.REPRESENTATIVE}
        )
        assert response.status_code == 200
        assert response.context["add_form"].errors["full_name"] == ["Enter the person's name"]
        assert any(m.startswith("Member not added. Full name:") for m in messages_of(response))
        assert _state(org) == before

    def test_adding_an_existing_member_is_refused_on_the_email_field(self, client, admin_user, rep, org):
        client.force_login(admin_user)
        before = _state(org)
        response = client.post(reverse("staff:member_add"), {"email": rep.email, "role": Role.SUPERVISOR})
        assert response.status_code == 200
        assert "already a member" in response.context["add_form"].errors["email"][0]
        assert any(m.startswith("Member not added. Email:") for m in messages_of(response))
        assert _state(org) == before

    def test_adding_with_another_organizations_team_is_refused(self, client, admin_user, org, other_org):
        foreign = TeamFactory(organization=other_org)
        client.force_login(admin_user)
        response = client.post(
            reverse("staff:member_add"),
            {
                "email": "x@example.test",
                "full_name": "X",
                "role": Role.REPRESENTATIVE,
                "team": str(foreign.reference),
            },
        )
        assert response.status_code == 200 and "team" in response.context["add_form"].errors
        assert not Membership.objects.filter(user__email="x@example.test").exists()

    def test_admin_changes_a_role_with_a_reason(self, client, admin_user, rep, org):
        membership = membership_of(rep, org)
        client.force_login(admin_user)
        next_url = reverse("staff:members") + "?role=representative"
        response = client.post(
            reverse("staff:member_change_role", args=[membership.reference]),
            {"role": Role.SENIOR_REPRESENTATIVE, "reason": "Passed the audit", "next": next_url},
        )
        assert response.status_code == 302 and response["Location"] == next_url
        membership.refresh_from_db()
        assert membership.role == Role.SENIOR_REPRESENTATIVE
        assert membership.history.first().history_change_reason == "Passed the audit"
        event = last_event(org)
        assert event.kind == "staff.membership.role_changed" and event.data["reason"] == "Passed the audit"

    def test_next_must_be_the_members_page(self, client, admin_user, rep, org):
        client.force_login(admin_user)
        response = client.post(
            reverse("staff:member_change_role", args=[membership_of(rep, org).reference]),
            {"role": Role.SUPERVISOR, "reason": "r", "next": "https://evil.example/settings/"},
        )
        assert response["Location"] == reverse("staff:members")

    def test_changing_a_role_without_a_reason_names_the_field_and_changes_nothing(
        self, client, admin_user, rep, org
    ):
        client.force_login(admin_user)
        before = _state(org)
        response = client.post(
            reverse("staff:member_change_role", args=[membership_of(rep, org).reference]),
            {"role": Role.SUPERVISOR, "reason": ""},
            follow=True,
        )
        assert response.status_code == 200
        assert any("Reason: This field is required." in m for m in messages_of(response))
        assert _state(org) == before

    def test_an_unknown_role_names_the_field(self, client, admin_user, rep, org):
        client.force_login(admin_user)
        response = client.post(
            reverse("staff:member_change_role", args=[membership_of(rep, org).reference]),
            {"role": "overlord", "reason": "r"},
            follow=True,
        )
        assert any("Role: Select a valid choice." in m for m in messages_of(response))
        assert membership_of(rep, org).role == Role.REPRESENTATIVE

    def test_own_role_cannot_be_changed(self, client, admin_user, org):
        client.force_login(admin_user)
        before = _state(org)
        response = client.post(
            reverse("staff:member_change_role", args=[membership_of(admin_user, org).reference]),
            {"role": Role.REPRESENTATIVE, "reason": "oops"},
            follow=True,
        )
        assert response.status_code == 200
        assert any("cannot change your own role" in m for m in messages_of(response))
        assert _state(org) == before

    def test_admin_deactivates_and_reactivates_with_reasons(self, client, admin_user, rep, org):
        membership = membership_of(rep, org)
        client.force_login(admin_user)
        client.post(
            reverse("staff:member_deactivate", args=[membership.reference]), {"reason": "Left the company"}
        )
        membership.refresh_from_db()
        assert membership.is_active is False
        assert membership.history.first().history_change_reason == "Left the company"
        assert last_event(org).kind == "staff.membership.deactivated"

        client.post(reverse("staff:member_reactivate", args=[membership.reference]), {"reason": "Rehired"})
        membership.refresh_from_db()
        assert membership.is_active is True
        assert membership.history.first().history_change_reason == "Rehired"
        assert last_event(org).kind == "staff.membership.reactivated"

    def test_deactivating_without_a_reason_names_the_field(self, client, admin_user, rep, org):
        client.force_login(admin_user)
        response = client.post(
            reverse("staff:member_deactivate", args=[membership_of(rep, org).reference]),
            {"reason": "  "},
            follow=True,
        )
        assert any("Reason: This field is required." in m for m in messages_of(response))
        assert membership_of(rep, org).is_active is True

    def test_admin_assigns_and_clears_a_team(self, client, admin_user, rep, org, team):
        membership = membership_of(rep, org)
        client.force_login(admin_user)
        client.post(
            reverse("staff:member_assign_team", args=[membership.reference]), {"team": str(team.reference)}
        )
        membership.refresh_from_db()
        assert membership.team == team
        assert membership.history.first().history_change_reason == "team assignment"
        assert last_event(org).kind == "staff.membership.team_changed"

        client.post(reverse("staff:member_assign_team", args=[membership.reference]), {"team": ""})
        membership.refresh_from_db()
        assert membership.team is None

    def test_another_organizations_team_cannot_be_assigned(self, client, admin_user, rep, org, other_org):
        foreign = TeamFactory(organization=other_org)
        client.force_login(admin_user)
        before = _state(org)
        response = client.post(
            reverse("staff:member_assign_team", args=[membership_of(rep, org).reference]),
            {"team": str(foreign.reference)},
            follow=True,
        )
        assert any(m.startswith(f"Team of {rep.full_name} not changed. Team:") for m in messages_of(response))
        assert _state(org) == before

    def test_admin_creates_a_team(self, client, admin_user, org):
        client.force_login(admin_user)
        response = client.post(
            reverse("staff:team_create"), {"name": "Night shift", "description": "Late calls"}
        )
        assert response.status_code == 302
        team = Team.objects.get(organization=org, name="Night shift")
        assert team.history.first().history_change_reason == "team created"
        assert last_event(org).kind == "staff.team.created"

    def test_duplicate_team_name_is_refused_on_the_name_field(self, client, admin_user, org, team):
        client.force_login(admin_user)
        before = _state(org)
        response = client.post(reverse("staff:team_create"), {"name": team.name.upper()})
        assert response.status_code == 200
        assert "already exists" in response.context["team_form"].errors["name"][0]
        assert any(m.startswith("Team not created. Team name:") for m in messages_of(response))
        assert _state(org) == before

    @pytest.mark.parametrize(
        "url_name",
        [
            "staff:member_change_role",
            "staff:member_deactivate",
            "staff:member_reactivate",
            "staff:member_assign_team",
        ],
    )
    def test_another_organizations_membership_is_not_found(
        self, client, admin_user, outsider, other_org, url_name
    ):
        foreign = membership_of(outsider, other_org)
        client.force_login(admin_user)
        response = client.post(
            reverse(url_name, args=[foreign.reference]),
            {"role": Role.REPRESENTATIVE, "reason": "takeover", "team": ""},
        )
        assert response.status_code == 404
        foreign.refresh_from_db()
        assert foreign.role == Role.ADMIN and foreign.is_active is True
        assert foreign.history.count() == 1
        assert not TimelineEvent.objects.filter(organization=other_org).exists()


# --- approval limits -------------------------------------------------------------------------


class TestApprovalLimits:
    def test_grid_shows_every_role_and_kind_as_money_with_history_links(self, client, admin_user, org):
        limit = ApprovalLimitFactory(
            organization=org, role=Role.SUPERVISOR, kind="refund", max_amount=Decimal("2500.5")
        )
        client.force_login(admin_user)
        response = client.get(reverse("staff:approval_limits"))
        assert len(response.context["rows"]) == len(Role) and len(response.context["kinds"]) == 3
        assert b"$2,500.50" in response.content and b"$0.00" in response.content
        history = reverse("staff:object_history", args=["staff", "approvallimit", limit.reference])
        assert history.encode() in response.content
        assert client.get(history).status_code == 200

    def test_edit_link_prefills_the_form(self, client, admin_user, org):
        ApprovalLimitFactory(
            organization=org, role=Role.REPRESENTATIVE, kind="write_off", max_amount=Decimal("50")
        )
        client.force_login(admin_user)
        response = client.get(
            reverse("staff:approval_limits"), {"role": "representative", "kind": "write_off"}
        )
        assert response.context["form"].initial == {
            "role": "representative",
            "kind": "write_off",
            "max_amount": Decimal("50.00"),
        }

    def test_admin_sets_a_limit_with_a_reason(self, client, admin_user, org):
        ApprovalLimitFactory(
            organization=org, role=Role.REPRESENTATIVE, kind="write_off", max_amount=Decimal("50")
        )
        client.force_login(admin_user)
        response = client.post(
            reverse("staff:approval_limit_set"),
            {
                "role": Role.REPRESENTATIVE,
                "kind": "write_off",
                "max_amount": "$1,250.00",
                "reason": "New policy",
            },
        )
        assert response.status_code == 302
        limit = ApprovalLimit.objects.get(organization=org, role=Role.REPRESENTATIVE, kind="write_off")
        assert limit.max_amount == Decimal("1250.00")
        assert limit.history.first().history_change_reason == "New policy"
        event = last_event(org)
        assert event.kind == "staff.approval_limit.changed" and event.data["new"] == "1250.00"

    def test_admin_sets_a_limit_that_did_not_exist(self, client, admin_user, org):
        client.force_login(admin_user)
        client.post(
            reverse("staff:approval_limit_set"),
            {
                "role": Role.SENIOR_REPRESENTATIVE,
                "kind": "refund",
                "max_amount": "100",
                "reason": "First limit",
            },
        )
        limit = ApprovalLimit.objects.get(organization=org, role=Role.SENIOR_REPRESENTATIVE, kind="refund")
        assert limit.max_amount == Decimal("100.00")
        assert limit.history.first().history_change_reason == "First limit"

    @pytest.mark.parametrize(
        ("amount", "error"),
        [
            ("lots", "is not an amount of money"),
            ("-5", "cannot be negative"),
            ("1.005", "more than two decimal places"),
            ("", "This field is required."),
        ],
    )
    def test_bad_amounts_name_the_field_and_change_nothing(self, client, admin_user, org, amount, error):
        ApprovalLimitFactory(
            organization=org, role=Role.REPRESENTATIVE, kind="write_off", max_amount=Decimal("50")
        )
        client.force_login(admin_user)
        before = _state(org)
        response = client.post(
            reverse("staff:approval_limit_set"),
            {
                "role": Role.REPRESENTATIVE,
                "kind": "write_off",
                "max_amount": amount,
                "reason": "typo",
            },
        )
        assert response.status_code == 200
        assert error in response.context["form"].errors["max_amount"][0]
        assert any(m.startswith("Limit not changed. Amount:") for m in messages_of(response))
        assert _state(org) == before

    def test_an_unknown_kind_names_the_field(self, client, admin_user, org):
        client.force_login(admin_user)
        response = client.post(
            reverse("staff:approval_limit_set"),
            {
                "role": Role.REPRESENTATIVE,
                "kind": "bribe",
                "max_amount": "5",
                "reason": "r",
            },
        )
        assert response.status_code == 200 and "kind" in response.context["form"].errors
        assert not ApprovalLimit.objects.filter(organization=org).exists()


# --- organization settings -------------------------------------------------------------------


class TestOrganizationSettings:
    def test_page_shows_settings_closures_and_timeline(self, client, admin_user, org, closure):
        past = services.closure_add(organization=org, day=date(2020, 1, 2), reason="Old flood", by=admin_user)
        client.force_login(admin_user)
        response = client.get(reverse("staff:organization_settings"))
        assert response.context["upcoming_closures"] == [closure]
        assert response.context["past_closures"] == [past]
        timeline = list(response.context["timeline"])
        assert [e.kind for e in timeline] == ["staff.closure.added", "staff.closure.added"]
        assert admin_user.full_name.encode() in response.content
        history = reverse("staff:object_history", args=["staff", "organization", org.reference])
        assert history.encode() in response.content

    def test_timeline_shows_at_most_fifty_events(self, client, admin_user, org):
        for i in range(55):
            services.team_create(organization=org, name=f"Team {i}", by=admin_user)
        client.force_login(admin_user)
        response = client.get(reverse("staff:organization_settings"))
        assert len(response.context["timeline"]) == 50

    def test_admin_renames_and_moves_to_a_listed_time_zone(self, client, admin_user, org):
        client.force_login(admin_user)
        response = client.post(
            reverse("staff:organization_update"),
            {
                "name": "Riverside Health",
                "time_zone": "America/Denver",
                "reason": "Merger",
            },
        )
        assert response.status_code == 302
        org.refresh_from_db()
        assert (org.name, org.time_zone) == ("Riverside Health", "America/Denver")
        assert org.history.first().history_change_reason == "Merger"
        event = last_event(org)
        assert (
            event.kind == "staff.organization.updated" and event.data["new"]["time_zone"] == "America/Denver"
        )

    def test_any_valid_time_zone_can_be_typed_in(self, client, admin_user, org):
        client.force_login(admin_user)
        client.post(
            reverse("staff:organization_update"),
            {
                "name": org.name,
                "time_zone": "America/Chicago",
                "time_zone_other": "America/Boise",
                "reason": "Idaho office",
            },
        )
        org.refresh_from_db()
        assert org.time_zone == "America/Boise"
        page = client.get(reverse("staff:organization_settings"))
        assert b'<option value="America/Boise" selected>' in page.content

    @pytest.mark.parametrize(
        ("data", "field", "label"),
        [
            ({"time_zone": "Mars/Olympus"}, "time_zone", "Time zone"),
            ({"time_zone_other": "Not/AZone"}, "time_zone_other", "Other time zone"),
            ({"name": ""}, "name", "Name"),
            ({"reason": ""}, "reason", "Reason"),
        ],
    )
    def test_bad_settings_name_the_field_and_change_nothing(
        self, client, admin_user, org, data, field, label
    ):
        client.force_login(admin_user)
        before = _state(org)
        response = client.post(
            reverse("staff:organization_update"),
            {
                "name": "New name",
                "time_zone": "America/Denver",
                "reason": "r",
                **data,
            },
        )
        assert response.status_code == 200
        assert response.context["organization_form"].errors[field]
        assert any(m.startswith(f"Settings not saved. {label}:") for m in messages_of(response))
        assert _state(org) == before

    def test_admin_adds_a_closure_day(self, client, admin_user, org):
        client.force_login(admin_user)
        response = client.post(reverse("staff:closure_add"), {"date": "2031-12-26", "reason": "Boxing day"})
        assert response.status_code == 302
        closure = OrganizationClosure.objects.get(organization=org, date=date(2031, 12, 26))
        assert closure.reason == "Boxing day"
        assert closure.history.first().history_change_reason == "closure added"
        assert last_event(org).kind == "staff.closure.added"

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            ({"date": "2031-07-03", "reason": "Again"}, "Date: 2031-07-03 is already a closure day"),
            ({"date": "2031-02-30", "reason": "No such day"}, "Date: Enter a valid date."),
            ({"date": "2031-08-01", "reason": ""}, "Reason: This field is required."),
        ],
    )
    def test_bad_closures_name_the_field_and_change_nothing(
        self, client, admin_user, org, closure, data, error
    ):
        client.force_login(admin_user)
        before = _state(org)
        response = client.post(reverse("staff:closure_add"), data)
        assert response.status_code == 200
        assert any(error in m for m in messages_of(response))
        assert _state(org) == before

    def test_admin_removes_a_closure_day(self, client, admin_user, org, closure):
        client.force_login(admin_user)
        response = client.post(reverse("staff:closure_remove", args=[closure.reference]))
        assert response.status_code == 302
        assert not OrganizationClosure.objects.filter(pk=closure.pk).exists()
        record = OrganizationClosure.history.filter(id=closure.pk).first()
        assert record.history_type == "-" and record.history_change_reason == "closure removed"
        assert last_event(org).kind == "staff.closure.removed"

    def test_a_closure_removed_meanwhile_is_reported_not_a_500(
        self, client, admin_user, org, closure, monkeypatch
    ):
        real_lookup = views_settings.get_object_or_404

        def lookup_then_someone_else_removes_it(*args, **kwargs):
            found = real_lookup(*args, **kwargs)
            services.closure_remove(closure=found, by=admin_user)
            return found

        monkeypatch.setattr(views_settings, "get_object_or_404", lookup_then_someone_else_removes_it)
        client.force_login(admin_user)
        response = client.post(reverse("staff:closure_remove", args=[closure.reference]), follow=True)
        assert response.status_code == 200
        assert any("removed meanwhile" in m for m in messages_of(response))

    def test_another_organizations_closure_is_not_found(self, client, admin_user, outsider, other_org):
        foreign = services.closure_add(
            organization=other_org, day=date(2031, 1, 2), reason="Theirs", by=outsider
        )
        events = TimelineEvent.objects.filter(organization=other_org).count()
        client.force_login(admin_user)
        response = client.post(reverse("staff:closure_remove", args=[foreign.reference]))
        assert response.status_code == 404
        assert OrganizationClosure.objects.filter(pk=foreign.pk).exists()
        assert TimelineEvent.objects.filter(organization=other_org).count() == events

    def test_a_malformed_reference_is_not_found(self, client, admin_user):
        client.force_login(admin_user)
        assert client.post("/settings/organization/closures/not-a-uuid/remove/").status_code == 404


# --- PHI access log --------------------------------------------------------------------------


class TestAccessLog:
    def test_shows_only_the_active_organizations_rows_newest_first(
        self, client, supervisor, rep, org, other_org, outsider
    ):
        ours = log_rows(org, rep, 3)
        log_rows(other_org, outsider, 4)
        client.force_login(supervisor)
        response = client.get(reverse("staff:access_log"))
        assert [r.pk for r in response.context["rows"]] == [r.pk for r in reversed(ours)]
        assert response.context["older_cursor"] is None and response.context["newer_cursor"] is None
        assert outsider.email.encode() not in response.content

    def test_times_are_shown_in_the_organizations_time_zone(self, client, supervisor, rep, org):
        log_rows(org, rep, 1, start=datetime(2026, 3, 2, 15, 30, tzinfo=UTC))
        client.force_login(supervisor)
        response = client.get(reverse("staff:access_log"))
        assert b"2026-03-02 09:30:00 CST" in response.content  # org is America/Chicago
        assert b"/accounts/0/" in response.content and b"10.0.0.1" in response.content

    def test_filters_by_user_action_and_days_in_the_organizations_zone(
        self, client, supervisor, rep, other_rep, org
    ):
        # 03:00 UTC on the 10th is still the 9th in Chicago.
        late_evening = log_rows(org, rep, 1, start=datetime(2026, 3, 10, 3, 0, tzinfo=UTC))[0]
        next_morning = log_rows(org, rep, 1, start=datetime(2026, 3, 10, 15, 0, tzinfo=UTC))[0]
        printed = log_rows(
            org,
            other_rep,
            1,
            start=datetime(2026, 3, 11, 15, 0, tzinfo=UTC),
            action=PhiAccessLog.Action.PRINT,
        )[0]
        client.force_login(supervisor)

        def shown(**params) -> list:
            return [r.pk for r in client.get(reverse("staff:access_log"), params).context["rows"]]

        assert shown(user=str(rep.reference)) == [next_morning.pk, late_evening.pk]
        # Typing part of a name or an email finds the same person.
        assert shown(person=rep.full_name.split()[-1].upper()) == [next_morning.pk, late_evening.pk]
        assert shown(person="rep2@") == [printed.pk]
        assert shown(action="print") == [printed.pk]
        assert shown(date_from="2026-03-10", date_to="2026-03-10") == [next_morning.pk]
        assert shown(date_to="2026-03-09") == [late_evening.pk]

    def test_bad_filters_and_cursors_do_not_fail(self, client, supervisor, rep, org):
        log_rows(org, rep, 2)
        client.force_login(supervisor)
        for params in (
            {"user": "nobody"},
            {"date_from": "someday"},
            {"older": "abc"},
            {"newer": "1_x"},
            {"older": "99999999999999999999999_1"},
            {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        ):
            response = client.get(reverse("staff:access_log"), params)
            assert response.status_code == 200, params

    def test_another_organizations_user_is_not_a_filter_choice(self, client, supervisor, outsider):
        client.force_login(supervisor)
        response = client.get(reverse("staff:access_log"), {"user": str(outsider.reference)})
        assert "user" in response.context["filterset"].errors

    def test_pages_older_and_newer_by_keyset_without_counting(
        self, client, supervisor, rep, org, django_assert_max_num_queries
    ):
        rows = log_rows(org, rep, 120)
        newest_first = [r.pk for r in reversed(rows)]
        client.force_login(supervisor)
        with django_assert_max_num_queries(ACCESS_LOG_PAGE_QUERIES) as captured:
            first = client.get(reverse("staff:access_log"))
        assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)
        assert [r.pk for r in first.context["rows"]] == newest_first[:50]
        assert first.context["newer_cursor"] is None

        second = client.get(reverse("staff:access_log"), {"older": first.context["older_cursor"]})
        assert [r.pk for r in second.context["rows"]] == newest_first[50:100]

        third = client.get(reverse("staff:access_log"), {"older": second.context["older_cursor"]})
        assert [r.pk for r in third.context["rows"]] == newest_first[100:]
        assert third.context["older_cursor"] is None

        back = client.get(reverse("staff:access_log"), {"newer": third.context["newer_cursor"]})
        assert [r.pk for r in back.context["rows"]] == newest_first[50:100]
        top = client.get(reverse("staff:access_log"), {"newer": back.context["newer_cursor"]})
        assert [r.pk for r in top.context["rows"]] == newest_first[:50]
        assert top.context["newer_cursor"] is None

    def test_keyset_breaks_ties_between_rows_of_the_same_instant(
        self, client, supervisor, rep, org, monkeypatch
    ):
        monkeypatch.setattr(views_settings, "ACCESS_LOG_PER_PAGE", 2)
        same = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
        subject_type = ContentType.objects.get_for_model(Organization)
        rows = PhiAccessLog.objects.bulk_create(
            [
                PhiAccessLog(
                    organization=org, user=rep, subject_type=subject_type, subject_id=i, accessed_at=same
                )
                for i in range(5)
            ]
        )
        client.force_login(supervisor)
        seen, params = [], {}
        while True:
            response = client.get(reverse("staff:access_log"), params)
            seen += [r.pk for r in response.context["rows"]]
            if not response.context["older_cursor"]:
                break
            params = {"older": response.context["older_cursor"]}
        assert seen == sorted((r.pk for r in rows), reverse=True)

    def test_query_count_does_not_grow_with_rows(
        self, client, supervisor, rep, other_rep, org, django_assert_max_num_queries
    ):
        client.force_login(supervisor)
        log_rows(org, rep, 3)
        with django_assert_max_num_queries(ACCESS_LOG_PAGE_QUERIES) as few:
            client.get(reverse("staff:access_log"))
        log_rows(org, other_rep, 32, action=PhiAccessLog.Action.DOWNLOAD)
        with django_assert_max_num_queries(ACCESS_LOG_PAGE_QUERIES) as many:
            response = client.get(reverse("staff:access_log"))
        assert len(response.context["rows"]) == 35
        assert len(many.captured_queries) == len(few.captured_queries)

    def test_csv_export_streams_the_filtered_rows_and_records_nothing(
        self, client, supervisor, rep, other_rep, org, other_org, outsider
    ):
        log_rows(org, rep, 3, start=datetime(2026, 3, 2, 15, 30, tzinfo=UTC))
        log_rows(org, other_rep, 2)
        log_rows(other_org, outsider, 2)
        logged, events = PhiAccessLog.objects.count(), TimelineEvent.objects.count()
        client.force_login(supervisor)
        response = client.get(reverse("staff:access_log_export"), {"user": str(rep.reference)})
        assert response.status_code == 200 and response.streaming
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"].startswith('attachment; filename="phi-access-log-riverside-')
        lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert lines[0][:4] == ["when", "user", "user_email", "action"]
        assert len(lines) == 4 and {line[2] for line in lines[1:]} == {rep.email}
        assert lines[1][0] == "2026-03-02T09:32:00-06:00"  # newest first, in the organization's zone
        assert PhiAccessLog.objects.count() == logged and TimelineEvent.objects.count() == events

    def test_csv_export_is_capped(self, client, supervisor, rep, org, monkeypatch):
        monkeypatch.setattr(views_settings, "ACCESS_LOG_EXPORT_MAX_ROWS", 5)
        log_rows(org, rep, 8)
        client.force_login(supervisor)
        response = client.get(reverse("staff:access_log_export"))
        assert len(b"".join(response.streaming_content).decode().strip().splitlines()) == 1 + 5

    def test_csv_cells_cannot_start_a_formula(self, client, supervisor, org):
        sneaky = MembershipFactory(organization=org, user=UserFactory(full_name="=HYPERLINK(1)")).user
        log_rows(org, sneaky, 1)
        client.force_login(supervisor)
        body = b"".join(client.get(reverse("staff:access_log_export")).streaming_content).decode()
        assert "'=HYPERLINK(1)" in body
