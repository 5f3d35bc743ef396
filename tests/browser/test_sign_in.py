"""Signing in, failed attempts, lockout and the idle timeout, driven through a real Chromium."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

WRONG_PASSWORD = "not-the-password-1"


def login_url_pattern(live_server) -> re.Pattern:
    return re.compile("^" + re.escape(f"{live_server.url}/accounts/login/"))


def assert_signed_out(page: Page, live_server) -> None:
    """Home sends the visitor to the sign-in page, and the API does not know them."""
    page.goto("/")
    expect(page).to_have_url(login_url_pattern(live_server))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.request.get("/api/v1/me/").status in (401, 403)


def wait_for_csp_violation(page: Page, page_log) -> None:
    for _ in range(100):
        if page_log.csp_violations():
            return
        page.wait_for_timeout(50)


def test_representative_signs_in_and_sees_their_home_page_without_csp_violations(
    page, page_log, login, live_server, rep, password
):
    login(rep.email, password)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_test_id("home-heading")).to_have_text(f"Good to see you, {rep.get_short_name()}")
    switcher = page.get_by_test_id("org-switcher")
    expect(switcher.locator("[data-bs-toggle=dropdown]")).to_contain_text("Riverside General Hospital")
    expect(switcher.locator(".badge")).to_have_text("Representative")
    expect(page.get_by_role("heading", name="What this release offers representatives")).to_be_visible()
    # Supervisor and admin pages are not offered to a representative.
    expect(page.get_by_role("link", name="Members", exact=True)).to_have_count(0)

    # Bootstrap comes from the app itself, not a CDN, and is applied: the navbar is dark.
    css = page.request.get("/static/bootstrap/css/bootstrap.min.css")
    assert css.status == 200
    assert css.headers["content-type"].startswith("text/css")
    expect(page.locator("nav.navbar")).to_have_css("background-color", "rgb(33, 37, 41)")

    # The page is served under a policy without 'unsafe-inline', and nothing on it breaks it.
    policy = page.request.get("/").headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy, policy
    assert "unsafe-inline" not in policy, policy
    page.wait_for_load_state("load")
    assert page_log.csp_violations() == []
    assert page_log.errors() == []
    assert page_log.failed_resources == []

    # Control: a violation does reach the console, so the empty list above means something.
    page.evaluate("document.head.insertAdjacentHTML('beforeend', '<style>body { color: red; }</style>')")
    wait_for_csp_violation(page, page_log)
    assert page_log.csp_violations(), "an inline <style> was not reported as a CSP violation"


def test_wrong_password_shows_an_error_and_does_not_sign_in(page, login, live_server, rep):
    login(rep.email, WRONG_PASSWORD)

    expect(page.get_by_test_id("login-error")).to_contain_text("That email and password do not match")
    expect(page).to_have_url(login_url_pattern(live_server))
    expect(page.get_by_label("Email")).to_have_value(rep.email)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_test_id("org-switcher")).to_have_count(0)
    assert_signed_out(page, live_server)


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    page, login, live_server, rep, password
):
    limit = django_settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        login(rep.email, WRONG_PASSWORD)
        expect(page.get_by_test_id("login-error")).to_be_visible()
    # The failure that reaches the limit is the one that locks.
    login(rep.email, WRONG_PASSWORD)
    expect(page.get_by_test_id("locked-out")).to_be_visible()

    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        login(rep.email, password)
    assert posted.value.status == 429
    expect(page.get_by_test_id("locked-out")).to_contain_text("Account temporarily locked")
    expect(page.get_by_test_id("org-switcher")).to_have_count(0)
    assert_signed_out(page, live_server)


def test_idle_session_expires_and_sends_the_user_back_to_sign_in(
    page, login, live_server, rep, password, settings
):
    settings.SESSION_COOKIE_AGE = 2
    login(rep.email, password)
    expect(page.get_by_test_id("home-heading")).to_be_visible()

    page.wait_for_timeout(3_000)
    with page.expect_response(f"{live_server.url}/") as home:
        page.reload()

    # The server itself refused the expired session: a redirect, not the page's idle script.
    assert home.value.status == 302
    assert home.value.headers["location"] == "/accounts/login/?next=/"
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.request.get("/api/v1/me/").status in (401, 403)
