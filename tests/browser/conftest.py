"""Playwright fixtures for the browser tests: one Chromium per test session, a fresh context per test.

Chromium is the system one (Debian's ``chromium`` package); Playwright's own browser
download is not used. Set ``PLAYWRIGHT_CHROMIUM_EXECUTABLE`` to point at another binary.
A failing test leaves a full-page screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Auto-waiting assertions give up after this long; a busy CI machine needs more than the 5 s default.
expect.set_options(timeout=10_000)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the item, so the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install it (apt-get install chromium) or set "
            "PLAYWRIGHT_CHROMIUM_EXECUTABLE; `playwright install` is not used by these tests.",
            pytrace=False,
        )
    # Playwright's sync API marks an asyncio loop as running in this thread for as long as it
    # is started, so Django's async-safety guard would refuse every ORM call the tests and
    # pytest-django make from here (factories, the database flush). Nothing async runs in this
    # thread, so the guard is switched off for exactly that period.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def context(browser: Browser, live_server) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 768})
    try:
        yield ctx
    finally:
        ctx.close()


class PageLog:
    """Console messages, uncaught page errors and failed sub-resource loads of one page."""

    def __init__(self) -> None:
        self.messages: list[ConsoleMessage] = []
        self.page_errors: list[str] = []
        self.failed_resources: list[str] = []

    def record_response(self, response: Response) -> None:
        # Error documents are asserted by the tests themselves; stylesheets and scripts must load.
        if response.request.resource_type != "document" and response.status >= 400:
            self.failed_resources.append(f"{response.status} {response.url}")

    def record_failure(self, request: Request) -> None:
        # A load cut short by the next navigation is not a broken resource.
        if request.failure != "net::ERR_ABORTED":
            self.failed_resources.append(f"{request.failure} {request.url}")

    def csp_violations(self) -> list[str]:
        return [m.text for m in self.messages if "Content Security Policy" in m.text]

    def errors(self) -> list[str]:
        return [m.text for m in self.messages if m.type == "error"] + self.page_errors


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(context: BrowserContext, page_log: PageLog, request: pytest.FixtureRequest) -> Iterator[Page]:
    page = context.new_page()
    page.on("console", lambda message: page_log.messages.append(message))
    page.on("pageerror", lambda error: page_log.page_errors.append(str(error)))
    page.on("response", page_log.record_response)
    page.on("requestfailed", page_log.record_failure)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not page.is_closed():
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-180:]
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception as exc:  # a screenshot must not hide the real failure
            warnings.warn(f"Could not save a screenshot for {request.node.nodeid}: {exc}", stacklevel=1)


@pytest.fixture
def login(page: Page) -> Callable[[str, str], None]:
    """Sign in through the real form, the way a person does."""

    def sign_in(email: str, password: str) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    return sign_in
