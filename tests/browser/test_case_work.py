"""Case work on a call, with the disclosure guard.

1. A caller who is not authorized cannot see balances; a supervisor's override asks for a
   reason, shows the balance, and is logged.
2. A representative takes the next work item, opens its case, verifies the caller (a spouse
   who is an authorized contact), sees the balance appear, logs the call as "left message
   with spouse", pends the case with a follow-up date, and the item returns to a queue on
   that date (the worklist refresh runs with ``now`` on that date).
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from accounts import services as account_services
from core.timeline import timeline_for
from inquiries.models import Case, Interaction
from inquiries.services import cases as case_services
from staff.calendar import calendar_for
from staff.models import PhiAccessLog
from tests.factories import AccountFactory, AuthorizedContactFactory
from tests.factories.worklists import QueueFactory, QueueMemberFactory
from worklists.models import WorkItem
from worklists.refresh import refresh_work_items

pytestmark = pytest.mark.browser


@pytest.fixture
def account(org, posting_specialist):
    account = AccountFactory(
        patient__organization=org,
        patient__first_name="Margaret",
        patient__last_name="Okonkwo",
        patient__date_of_birth=date(1961, 4, 9),
        patient__address_line1="418 Elm Street",
        account_number="H2026-0417",
    )
    account_services.charge_post(
        account=account,
        items=[
            account_services.ChargeInput(
                date(2026, 9, 3), "cpt", "99214", Decimal("245.00"), diagnoses=("E119",)
            ),
            account_services.ChargeInput(
                date(2026, 9, 3), "hcpcs", "J1885", Decimal("38.50"), diagnoses=("M545",)
            ),
        ],
        by=posting_specialist,
    )
    return account


def open_case(org, account, rep, **kwargs) -> Case:
    return case_services.case_open(
        organization=org,
        by=rep,
        channel="phone_inbound",
        category="billing_question",
        caller_type="other",
        summary="Caller asks what is owed",
        account=account,
        **kwargs,
    )


def test_an_unauthorized_caller_sees_no_balance_and_the_override_asks_for_a_reason_and_is_logged(
    page: Page, page_log, login, browser: Browser, live_server, org, rep, supervisor, password, account
):
    case = open_case(org, account, rep)

    login(rep.email, password)
    page.goto(case.get_absolute_url())
    expect(page.get_by_test_id("disclosure-hidden")).to_contain_text("The caller has not been verified")

    # A neighbour who knows the patient's date of birth and address is still not authorized.
    page.get_by_label("The caller is").select_option(label="Someone else")
    page.get_by_label("Caller's name").fill("A neighbour")
    page.get_by_label("Date of birth").fill("1961-04-09")
    page.get_by_label("Street address").fill("418 Elm St")
    page.get_by_role("button", name="Verify caller").click()
    hidden = page.get_by_test_id("disclosure-hidden")
    expect(hidden).to_contain_text(
        "not the patient, the guarantor, an authorized contact or a provider office"
    )
    expect(hidden).to_contain_text("A senior representative or supervisor may override")
    expect(page.get_by_test_id("case-balance")).to_have_count(0)
    expect(page.get_by_test_id("override-link")).to_have_count(0)
    assert "283.50" not in page.content()

    # A supervisor overrides: the reason is asked for, and required.
    supervisor_context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 768}
    )
    try:
        boss = supervisor_context.new_page()
        boss.goto("/accounts/login/")
        boss.get_by_label("Email").fill(supervisor.email)
        boss.get_by_label("Password").fill(password)
        boss.get_by_role("button", name="Sign in").click()
        boss.goto(case.get_absolute_url())
        boss.get_by_test_id("override-link").click()
        boss.get_by_role("button", name="Override and show details").click()
        expect(boss.get_by_text("This field is required.")).to_be_visible()
        boss.get_by_label("Why may this caller be told?").fill(
            "Patient in surgery; neighbour holds a signed consent we have on file"
        )
        boss.get_by_role("button", name="Override and show details").click()
        banner = boss.get_by_test_id("override-banner")
        expect(banner).to_contain_text("Disclosure guard overridden")
        expect(banner).to_contain_text("neighbour holds a signed consent")
        expect(boss.get_by_test_id("case-balance")).to_have_text("$283.50")
        boss.get_by_role("tab", name="Timeline").click()
        expect(boss.get_by_test_id("timeline")).to_contain_text(
            "Disclosure guard overridden: Patient in surgery"
        )
    finally:
        supervisor_context.close()

    # The representative's page now shows the override too, to everyone on the case.
    page.reload()
    expect(page.get_by_test_id("override-banner")).to_contain_text("neighbour holds a signed consent")
    log = PhiAccessLog.objects.get(action=PhiAccessLog.Action.DISCLOSE)
    assert log.user == supervisor and log.subject_id == account.pk
    override = case.overrides.get()
    assert override.history.get().history_user == supervisor
    assert page_log.csp_violations() == []
    assert page_log.errors() == []


def test_a_rep_takes_the_next_item_verifies_a_spouse_logs_the_call_and_pends_the_case(
    page: Page, page_log, login, org, rep, password, account
):
    chicago = zoneinfo.ZoneInfo(org.time_zone)
    calendar = calendar_for(org)
    today = timezone.localdate(timezone=chicago)
    AuthorizedContactFactory(
        patient=account.patient, name="Ann Okonkwo", relationship="spouse", scopes=["balances"]
    )
    # The case was pended two weeks ago until a day that has come: it is due for follow-up.
    due_day = calendar.add_business_days(today, -1)
    earlier = datetime.combine(due_day - timedelta(days=14), time(10, 0), tzinfo=chicago)
    case = open_case(org, account, rep, now=earlier)
    case_services.case_pend(
        case=case, follow_up_on=due_day, reason="Waiting for the spouse to call back", by=rep, now=earlier
    )
    queue = QueueFactory(organization=org, slug="case-follow-up", name="Case follow-ups")
    QueueMemberFactory(queue=queue, user=rep)
    refresh_work_items(organization_ids=[org.pk], kinds=["inquiries.case_follow_up"])
    item = WorkItem.objects.get(kind="inquiries.case_follow_up")
    assert item.status == WorkItem.Status.OPEN

    login(rep.email, password)
    page.goto("/work/")
    expect(page.get_by_test_id("next-title")).to_have_text(f"Follow up case #{case.number}")
    page.get_by_test_id("take-next").click()
    expect(page.get_by_test_id("case-header")).to_contain_text(f"Case #{case.number}")
    expect(page.get_by_test_id("case-balance")).to_have_count(0)

    # The spouse is on the line: an authorized contact for balances.
    page.get_by_label("The caller is").select_option(label="An authorized contact of the patient")
    page.get_by_label("Which authorized contact").select_option(
        label="Ann Okonkwo (Spouse): Balances and statements"
    )
    page.get_by_label("Date of birth").fill("1961-04-09")
    page.get_by_label("Street address").fill("418 Elm Street")
    page.get_by_role("button", name="Verify caller").click()
    expect(page.get_by_test_id("disclosure-banner")).to_contain_text("Caller verified: Ann Okonkwo")
    expect(page.get_by_test_id("case-balance")).to_have_text("$283.50")

    # Log the call: a message left with the spouse.
    form = page.get_by_test_id("contact-form")
    form.get_by_label("Direction").select_option(label="Outbound")
    form.get_by_label("Channel").select_option(label="Phone, outbound")
    form.get_by_label("Person contacted").fill("Ann Okonkwo")
    form.get_by_label("Their relationship").select_option(label="Spouse")
    form.get_by_label("Outcome").select_option(label="Left message")
    form.get_by_label("Message left with").fill("spouse")
    page.get_by_role("button", name="Log contact").click()
    expect(page.get_by_role("status").first).to_contain_text("Contact logged: Left message with spouse")
    expect(page.get_by_test_id("interaction").first).to_contain_text("Left message with spouse")

    # Pend until a business day next week (keyboard: "p" opens the pend form).
    follow_up = calendar.add_business_days(today, 3)
    page.locator("body").click()
    page.keyboard.press("p")
    expect(page.get_by_label("Follow up on")).to_be_focused()
    page.get_by_label("Follow up on").fill(follow_up.isoformat())
    page.get_by_label("Why pended").fill("Spouse will ask the patient to call back")
    page.get_by_role("button", name="Pend case").click()
    expect(page.get_by_test_id("case-pended")).to_contain_text(f"Pended until {follow_up:%m/%d/%Y}")

    case.refresh_from_db()
    assert case.status == Case.Status.PENDED and case.follow_up_on == follow_up
    interaction = Interaction.objects.get(case=case)
    assert (interaction.outcome, interaction.message_left_with, interaction.relationship) == (
        "left_message",
        "spouse",
        "spouse",
    )
    assert timeline_for(case).filter(kind="inquiries.caller.verified").exists()

    # Today the work is done: the next refresh closes the item as resolved elsewhere.
    refresh_work_items(organization_ids=[org.pk], kinds=["inquiries.case_follow_up"])
    item.refresh_from_db()
    assert item.status == WorkItem.Status.DONE
    # On the follow-up date the case is back in the queue, for whoever takes it.
    on_the_day = datetime.combine(follow_up, time(8, 0), tzinfo=chicago)
    refresh_work_items(organization_ids=[org.pk], kinds=["inquiries.case_follow_up"], now=on_the_day)
    back = WorkItem.objects.get(kind="inquiries.case_follow_up", status=WorkItem.Status.OPEN)
    assert back.subject == case and back.queue == queue and back.assignee is None
    assert back.priority_reason.startswith("Follow-up due today")
    assert page_log.csp_violations() == []
    assert page_log.errors() == []
