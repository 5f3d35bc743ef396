"""The organization switcher, and that nobody reaches another organization's data from a browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from staff.models import Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.browser


def switcher_toggle(page: Page) -> Locator:
    return page.get_by_test_id("org-switcher").locator("[data-bs-toggle=dropdown]")


def switcher_items(page: Page) -> Locator:
    return page.get_by_test_id("org-switcher").locator(".dropdown-menu button[type=submit]")


def open_switcher(page: Page) -> Locator:
    switcher_toggle(page).click()
    items = switcher_items(page)
    expect(items.first).to_be_visible()
    return items


def switch_to(page: Page, organization_name: str) -> None:
    open_switcher(page).filter(has_text=organization_name).click()


def expect_working_as(page: Page, organization_name: str, role_label: str) -> None:
    expect(switcher_toggle(page)).to_contain_text(organization_name)
    expect(page.get_by_test_id("org-switcher").locator(".badge")).to_have_text(role_label)
    expect(page.get_by_text(f"{role_label} · {organization_name}", exact=True)).to_be_visible()


@pytest.fixture
def two_org_user(org, other_org):
    """Supervisor at Riverside General Hospital, representative at Lakeshore Pharmacy."""
    user = UserFactory(email="two.hats@example.test", full_name="Robin Two-Hats")
    MembershipFactory(user=user, organization=org, role=Role.SUPERVISOR)
    MembershipFactory(user=user, organization=other_org, role=Role.REPRESENTATIVE)
    return user


def test_switching_organization_changes_the_active_organization_role_and_home_page(
    page, page_log, login, live_server, two_org_user, password
):
    login(two_org_user.email, password)

    # With no choice made yet, the first organization by name is active.
    expect_working_as(page, "Lakeshore Pharmacy", "Representative")
    expect(page.get_by_role("heading", name="What this release offers representatives")).to_be_visible()
    expect(page.get_by_role("link", name="Members", exact=True)).to_have_count(0)

    items = open_switcher(page)
    expect(items).to_have_count(2)
    expect(items.filter(has_text="Lakeshore Pharmacy")).to_have_attribute("aria-current", "true")
    expect(items.filter(has_text="Riverside General Hospital")).to_contain_text("Supervisor")
    items.filter(has_text="Riverside General Hospital").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("status")).to_contain_text("You are now working in Riverside General Hospital.")
    expect_working_as(page, "Riverside General Hospital", "Supervisor")
    expect(page.get_by_role("heading", name="What this release offers supervisors")).to_be_visible()
    expect(page.get_by_text("At Riverside General Hospital you approve adjustments")).to_be_visible()
    expect(page.get_by_role("link", name="Members", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Members and roles")).to_be_visible()

    # The choice belongs to the session: it survives a reload, and switching back works too.
    page.reload()
    expect_working_as(page, "Riverside General Hospital", "Supervisor")
    switch_to(page, "Lakeshore Pharmacy")
    expect_working_as(page, "Lakeshore Pharmacy", "Representative")
    expect(page.get_by_role("heading", name="What this release offers representatives")).to_be_visible()
    expect(page.get_by_role("link", name="Members", exact=True)).to_have_count(0)

    assert page_log.csp_violations() == []
    assert page_log.errors() == []


def test_other_organizations_pages_are_not_found_and_not_offered(
    page, page_log, login, live_server, supervisor, org, outsider, other_org, password
):
    outsider_membership = outsider.memberships.get()
    login(supervisor.email, password)
    expect_working_as(page, org.name, "Supervisor")

    # Control: the supervisor does see the history of their own organization.
    response = page.goto(f"/history/staff/organization/{org.reference}/")
    assert response.status == 200
    expect(page.get_by_test_id("history-table")).to_be_visible()

    # Typing the address of another organization's records answers "not found", with no hint of them.
    for url in (
        f"/history/staff/organization/{other_org.reference}/",
        f"/history/staff/membership/{outsider_membership.reference}/",
    ):
        response = page.goto(url)
        assert response.status == 404, url
        expect(page.get_by_role("heading", name="We could not find that page")).to_be_visible()
        expect(page.get_by_test_id("history-table")).to_have_count(0)
        expect(page.locator("body")).not_to_contain_text(other_org.name)
        expect(page.locator("body")).not_to_contain_text(outsider.email)

    # The switcher offers only the supervisor's own organization.
    page.goto("/")
    items = open_switcher(page)
    expect(items).to_have_count(1)
    expect(items).to_contain_text(org.name)
    expect(page.locator("body")).not_to_contain_text(other_org.name)

    # Tampering with the switcher form to name the other organization is refused the same way.
    items.first.locator("xpath=ancestor::form").locator("input[name=organization]").evaluate(
        "(input, reference) => { input.value = reference; }", str(other_org.reference)
    )
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        items.first.click()
    assert posted.value.status == 404
    expect(page.get_by_role("heading", name="We could not find that page")).to_be_visible()
    page.goto("/")
    expect_working_as(page, org.name, "Supervisor")

    assert page_log.csp_violations() == []


def test_api_in_the_browser_session_sees_only_the_users_organization(
    page, login, supervisor, org, outsider, other_org, password
):
    own_membership = supervisor.memberships.get()
    outsider_membership = outsider.memberships.get()
    own_team = TeamFactory(organization=org, name="Front desk")
    other_team = TeamFactory(organization=other_org, name="Lakeshore night shift")
    login(supervisor.email, password)
    expect(page.get_by_test_id("home-heading")).to_be_visible()

    # page.request shares the browser's session cookie: these are the signed-in user's calls.
    me = page.request.get("/api/v1/me/")
    assert me.status == 200
    assert [o["reference"] for o in me.json()["organizations"]] == [str(org.reference)]
    assert [m["reference"] for m in me.json()["memberships"]] == [str(own_membership.reference)]

    # Lists hold only the user's organization, and nothing of the other one is mentioned anywhere.
    for url in ("/api/v1/me/", "/api/v1/organizations/", "/api/v1/memberships/", "/api/v1/teams/"):
        listed = page.request.get(url)
        assert listed.status == 200, url
        assert str(org.reference) in listed.text(), url
        assert str(other_org.reference) not in listed.text(), url
        assert str(outsider_membership.reference) not in listed.text(), url
        assert other_org.name not in listed.text(), url
        assert str(other_team.reference) not in listed.text(), url
    assert str(own_team.reference) in page.request.get("/api/v1/teams/").text()

    # Guessing the other organization's references finds nothing; the user's own do answer.
    assert page.request.get(f"/api/v1/organizations/{org.reference}/").status == 200
    assert page.request.get(f"/api/v1/organizations/{other_org.reference}/").status == 404
    assert page.request.get(f"/api/v1/memberships/{own_membership.reference}/").status == 200
    assert page.request.get(f"/api/v1/memberships/{outsider_membership.reference}/").status == 404
    assert page.request.get(f"/api/v1/teams/{own_team.reference}/").status == 200
    assert page.request.get(f"/api/v1/teams/{other_team.reference}/").status == 404
