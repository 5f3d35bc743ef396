"""Login, home, organization switching and history pages."""

import pytest
from django.urls import reverse

from staff.models import Membership, Role
from tests.factories import MembershipFactory


def test_login_page_renders_and_home_requires_login(client):
    response = client.get(reverse("staff:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    page = client.get(reverse("login"))
    assert page.status_code == 200
    csp = page["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp


def test_login_with_email_then_home_shows_role_and_organization(client, rep, password, org):
    response = client.post(
        reverse("login"), {"username": "REP@example.test", "password": password}, follow=True
    )
    assert response.status_code == 200
    assert response.context["membership"].organization == org
    assert b"Representative" in response.content and org.name.encode() in response.content


def test_wrong_password_shows_an_error(client, rep):
    response = client.post(reverse("login"), {"username": rep.email, "password": "wrong"})
    assert response.status_code == 200
    assert b"do not match an active account" in response.content


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            Role.REPRESENTATIVE,
            [
                "worklists:my_work",
                "accounts:patient_search",
                "inquiries:case_list",
                "claims:claim_list",
                "payers:notice_list",
                "payers:payer_list",
            ],
        ),
        (
            Role.POSTING_SPECIALIST,
            [
                "worklists:my_work",
                "accounts:patient_search",
                "claims:remittance_inbox",
                "claims:exception_list",
                "claims:denial_list",
                "claims:variance_list",
                "claims:reconciliation",
                "accounts:import_upload",
                "payers:notice_list",
                "payers:payer_list",
            ],
        ),
        (
            Role.SUPERVISOR,
            [
                "worklists:my_work",
                "worklists:queue_list",
                "accounts:patient_search",
                "inquiries:case_list",
                "accounts:approvals",
                "inquiries:referral_list",
                "inquiries:qa_home",
                "claims:denial_list",
                "claims:reconciliation",
                "payers:notice_report",
                "staff:members",
                "staff:approval_limits",
                "staff:access_log",
            ],
        ),
        (
            Role.ADMIN,
            [
                "worklists:queue_list",
                "payers:payer_list",
                "inquiries:case_settings",
                "inquiries:script_list",
                "correspondence:template_list",
                "staff:members",
                "staff:approval_limits",
                "staff:organization_settings",
                "staff:access_log",
            ],
        ),
    ],
)
def test_home_lists_only_pages_that_exist_for_the_role(client, org, role, expected):
    user = MembershipFactory(organization=org, role=role).user
    client.force_login(user)
    response = client.get(reverse("staff:home"))
    assert [task[0] for task in response.context["tasks"]] == expected
    for url_name in expected:
        assert client.get(reverse(url_name)).status_code == 200


def test_user_without_membership_is_told_so(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get(reverse("staff:home"))
    assert b"not a member of any organization" in response.content


def test_switching_organization(client, org, other_org, rep):
    MembershipFactory(user=rep, organization=other_org, role=Role.SUPERVISOR)
    client.force_login(rep)
    assert client.get(reverse("staff:home")).context["active_organization"] == other_org  # first by name
    response = client.post(
        reverse("staff:organization_switch"), {"organization": str(org.reference), "next": "/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get(reverse("staff:home"))
    assert home.context["active_organization"] == org
    assert home.context["active_role"] == Role.REPRESENTATIVE


def test_switching_to_a_foreign_organization_is_a_404(client, org, other_org, rep):
    client.force_login(rep)
    response = client.post(reverse("staff:organization_switch"), {"organization": str(other_org.reference)})
    assert response.status_code == 404
    assert client.get(reverse("staff:home")).context["active_organization"] == org


def test_switch_ignores_offsite_next(client, org, rep):
    client.force_login(rep)
    response = client.post(
        reverse("staff:organization_switch"),
        {"organization": str(org.reference), "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("staff:home")


def test_deactivated_membership_falls_back_to_remaining_organization(client, org, other_org, rep):
    MembershipFactory(user=rep, organization=other_org, role=Role.SUPERVISOR)
    client.force_login(rep)
    client.post(reverse("staff:organization_switch"), {"organization": str(other_org.reference)})
    Membership.objects.filter(user=rep, organization=other_org).update(is_active=False)
    assert client.get(reverse("staff:home")).context["active_organization"] == org


class TestHistoryPage:
    def url(self, obj):
        return reverse(
            "staff:object_history", args=[obj._meta.app_label, obj._meta.model_name, obj.reference]
        )

    def test_supervisor_reads_membership_history_with_changes_and_reasons(
        self, client, org, admin_user, supervisor, rep
    ):
        from staff.services import membership_change_role

        membership = Membership.objects.get(user=rep, organization=org)
        membership_change_role(
            membership=membership,
            role=Role.SENIOR_REPRESENTATIVE,
            by=admin_user,
            reason="promotion after review",
        )
        client.force_login(supervisor)
        response = client.get(self.url(membership))
        assert response.status_code == 200
        row = response.context["rows"][0]
        assert row.who == admin_user and row.reason == "promotion after review"
        assert ("role", "representative", "senior_representative") in row.changes

    def test_representative_may_not_read_staff_history(self, client, org, rep):
        client.force_login(rep)
        assert client.get(self.url(org)).status_code == 404

    def test_other_organization_history_is_a_404(self, client, other_org, admin_user):
        client.force_login(admin_user)
        assert client.get(self.url(other_org)).status_code == 404

    def test_unknown_model_is_a_404(self, client, org, admin_user):
        client.force_login(admin_user)
        assert client.get(f"/history/nope/thing/{org.reference}/").status_code == 404
        assert client.get(f"/history/core/timelineevent/{org.reference}/").status_code == 404


def test_lockout_page_says_how_long_in_words(client, rep, password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": rep.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": rep.email, "password": password})
    assert response.status_code == 429
    assert "locked for 30 minutes" in " ".join(response.content.decode().split())


def test_duration_words():
    from datetime import timedelta

    from core.templatetags.pfs import duration_words

    assert duration_words(timedelta(minutes=90)) == "1 hour 30 minutes"
    assert duration_words(timedelta(minutes=1)) == "1 minute"
    assert duration_words(timedelta(hours=2)) == "2 hours"
    assert duration_words(None) == ""
