"""Staff services: allowed and forbidden changes, with both audit layers."""

from decimal import Decimal

import pytest
from django.core import mail

from core.errors import Conflict, InvalidInput, NotPermitted
from core.models import TimelineEvent
from staff import services
from staff.models import ApprovalLimit, Membership, Role, User
from tests.factories import MembershipFactory, OrganizationFactory, TeamFactory, UserFactory


def last_event(org) -> TimelineEvent:
    return TimelineEvent.objects.filter(organization=org).order_by("-id").first()


class TestMembershipAdd:
    def test_admin_adds_a_new_person_who_gets_a_setup_email(
        self, org, admin_user, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            membership = services.membership_add(
                organization=org,
                email=" New.Person@Example.TEST ",
                full_name="New Person",
                role=Role.REPRESENTATIVE,
                by=admin_user,
            )
        assert membership.user.email == "new.person@example.test"
        assert not membership.user.has_usable_password()
        assert membership.history.first().history_change_reason == "added as Representative"
        assert last_event(org).kind == "staff.membership.added"
        assert last_event(org).actor == admin_user
        assert len(mail.outbox) == 1
        assert "/accounts/password/reset/" in mail.outbox[0].body

    def test_existing_user_joins_without_email(self, org, other_org, admin_user, outsider):
        membership = services.membership_add(
            organization=org, email=outsider.email, full_name="", role=Role.SUPERVISOR, by=admin_user
        )
        assert membership.user == outsider
        assert mail.outbox == []

    def test_duplicate_membership_is_a_conflict_naming_email(self, org, admin_user, rep):
        with pytest.raises(Conflict) as excinfo:
            services.membership_add(
                organization=org, email=rep.email, full_name="x", role="supervisor", by=admin_user
            )
        assert excinfo.value.field == "email"

    @pytest.mark.parametrize("who", ["rep", "supervisor", "outsider"])
    def test_only_admins_of_the_organization_add_members(self, org, who, request):
        user = request.getfixturevalue(who)
        with pytest.raises(NotPermitted):
            services.membership_add(
                organization=org, email="x@example.test", full_name="X", role="representative", by=user
            )
        assert not User.objects.filter(email="x@example.test").exists()

    def test_bad_role_names_the_field_and_writes_nothing(self, org, admin_user):
        with pytest.raises(InvalidInput) as excinfo:
            services.membership_add(
                organization=org, email="y@example.test", full_name="Y", role="boss", by=admin_user
            )
        assert excinfo.value.field == "role"
        assert not User.objects.filter(email="y@example.test").exists()

    def test_team_of_another_organization_is_refused(self, org, other_org, admin_user):
        foreign_team = TeamFactory(organization=other_org)
        with pytest.raises(InvalidInput) as excinfo:
            services.membership_add(
                organization=org,
                email="z@example.test",
                full_name="Z",
                role="representative",
                team=foreign_team,
                by=admin_user,
            )
        assert excinfo.value.field == "team"


class TestRoleChange:
    def test_admin_changes_a_role_with_reason(self, org, admin_user, rep):
        membership = Membership.objects.get(user=rep, organization=org)
        services.membership_change_role(
            membership=membership, role=Role.SENIOR_REPRESENTATIVE, by=admin_user, reason="promotion"
        )
        membership.refresh_from_db()
        assert membership.role == Role.SENIOR_REPRESENTATIVE
        record = membership.history.first()
        assert (record.history_change_reason, record.history_user) == ("promotion", admin_user)
        event = last_event(org)
        assert event.kind == "staff.membership.role_changed"
        assert event.data["old"] == "representative" and event.data["new"] == "senior_representative"

    def test_nobody_changes_their_own_role(self, org, admin_user):
        membership = Membership.objects.get(user=admin_user, organization=org)
        with pytest.raises(NotPermitted):
            services.membership_change_role(
                membership=membership, role=Role.REPRESENTATIVE, by=admin_user, reason="oops"
            )

    def test_reason_is_required(self, org, admin_user, rep):
        membership = Membership.objects.get(user=rep, organization=org)
        with pytest.raises(InvalidInput) as excinfo:
            services.membership_change_role(
                membership=membership, role=Role.SUPERVISOR, by=admin_user, reason=" "
            )
        assert excinfo.value.field == "reason"
        membership.refresh_from_db()
        assert membership.role == Role.REPRESENTATIVE

    def test_supervisor_cannot_change_roles(self, org, supervisor, rep):
        membership = Membership.objects.get(user=rep, organization=org)
        with pytest.raises(NotPermitted):
            services.membership_change_role(
                membership=membership, role=Role.ADMIN, by=supervisor, reason="power"
            )


class TestDeactivation:
    def test_deactivated_member_loses_access_at_once(self, org, admin_user, rep):
        membership = Membership.objects.get(user=rep, organization=org)
        services.membership_set_active(membership=membership, active=False, by=admin_user, reason="left")
        assert Membership.objects.visible_to(rep).count() == 0
        assert last_event(org).kind == "staff.membership.deactivated"
        services.membership_set_active(membership=membership, active=True, by=admin_user, reason="back")
        assert last_event(org).kind == "staff.membership.reactivated"


class TestApprovalLimits:
    def test_admin_sets_a_limit(self, org, admin_user, rep):
        limit = services.approval_limit_set(
            organization=org,
            role="representative",
            kind="write_off",
            max_amount="75.50",
            by=admin_user,
            reason="policy 2026",
        )
        assert limit.max_amount == Decimal("75.50")
        assert services.approval_limit_for(rep, org, "write_off") == Decimal("75.50")
        assert services.approval_limit_for(rep, org, "refund") == Decimal("0.00")
        services.approval_limit_set(
            organization=org,
            role="representative",
            kind="write_off",
            max_amount="100",
            by=admin_user,
            reason="raised",
        )
        assert ApprovalLimit.objects.get(pk=limit.pk).history.first().history_change_reason == "raised"
        assert last_event(org).data == {
            "role": "representative",
            "kind": "write_off",
            "old": "75.50",
            "new": "100.00",
            "reason": "raised",
        }

    @pytest.mark.parametrize(
        ("amount", "fragment"),
        [("-1", "cannot be negative"), ("1.001", "two decimal places"), ("lots", "not an amount")],
    )
    def test_bad_amounts_are_refused(self, org, admin_user, amount, fragment):
        with pytest.raises(InvalidInput) as excinfo:
            services.approval_limit_set(
                organization=org,
                role="representative",
                kind="refund",
                max_amount=amount,
                by=admin_user,
                reason="r",
            )
        assert excinfo.value.field == "max_amount" and fragment in excinfo.value.message
        assert not ApprovalLimit.objects.exists()

    def test_non_admins_cannot_set_limits(self, org, supervisor):
        with pytest.raises(NotPermitted):
            services.approval_limit_set(
                organization=org,
                role="supervisor",
                kind="refund",
                max_amount="1000000",
                by=supervisor,
                reason="me",
            )


class TestOrganizations:
    def test_operator_creates_an_organization_and_becomes_its_admin(self, db):
        operator = User.objects.create_superuser(email="op@example.test", password="x" * 12, full_name="Op")
        org = services.organization_create(
            name="Valley Physicians",
            slug="valley",
            kind="physician_group",
            time_zone="America/Phoenix",
            by=operator,
        )
        assert Membership.objects.get(organization=org, user=operator).role == Role.ADMIN
        assert last_event(org).kind == "staff.organization.created"
        with pytest.raises(Conflict):
            services.organization_create(
                name="Again", slug="valley", kind="hospital", time_zone="UTC", by=operator
            )

    def test_admins_cannot_create_organizations(self, admin_user):
        with pytest.raises(NotPermitted):
            services.organization_create(name="X", slug="x", kind="hospital", time_zone="UTC", by=admin_user)

    def test_update_rejects_unknown_time_zones(self, org, admin_user):
        with pytest.raises(InvalidInput) as excinfo:
            services.organization_update(
                organization=org, name="Riverside", time_zone="Mars/Olympus", by=admin_user, reason="typo"
            )
        assert excinfo.value.field == "time_zone"
        assert "not a known time zone" in excinfo.value.message
        org.refresh_from_db()
        assert org.time_zone == "America/Chicago"

    def test_closures_feed_the_business_calendar(self, org, admin_user):
        from datetime import date

        from staff.calendar import calendar_for

        services.closure_add(organization=org, day=date(2026, 12, 28), reason="Inventory", by=admin_user)
        with pytest.raises(Conflict):
            services.closure_add(organization=org, day=date(2026, 12, 28), reason="Again", by=admin_user)
        cal = calendar_for(org, around=date(2026, 12, 1))
        assert not cal.is_business_day(date(2026, 12, 28))
        assert calendar_for(OrganizationFactory(), around=date(2026, 12, 1)).is_business_day(
            date(2026, 12, 28)
        )


def test_visible_to_only_returns_own_organizations(org, other_org, rep, outsider):
    assert list(type(org).objects.visible_to(rep)) == [org]
    assert list(type(org).objects.visible_to(outsider)) == [other_org]
    inactive = UserFactory(is_active=False)
    MembershipFactory(user=inactive, organization=org)
    assert not type(org).objects.visible_to(inactive).exists()
    from django.contrib.auth.models import AnonymousUser

    assert not type(org).objects.visible_to(AnonymousUser()).exists()
