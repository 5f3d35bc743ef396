"""A posting specialist uploads an 835, sees it posted, opens the exception it left,
matches it to the right claim, and finds the denial in the denials list."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page, expect

from claims.models import ClaimPayment, PostingException
from tests.claims.posting_helpers import billed_claim, edi, make_payer

pytestmark = pytest.mark.browser


def test_posting_specialist_posts_an_835_works_an_exception_and_sees_the_denial(
    page: Page, page_log, login, org, posting_specialist, password
):
    payer = make_payer(org)
    billed_claim(org, payer, "PCN-PAID", [("99213", date(2026, 3, 1), 100)], posting_specialist)
    billed_claim(org, payer, "PCN-DENIED", [("97110", date(2026, 3, 2), 80)], posting_specialist)
    billed_claim(
        org, payer, "PCN-REAL", [("99214", date(2026, 3, 3), 150)], posting_specialist, last_name="Okafor"
    )
    remit = edi(
        "CLP*PCN-PAID*1*100*70*10*12*ICN1",
        "CAS*CO*45*20",
        "CAS*PR*3*10",
        "CLP*PCN-DENIED*4*80*0*0*12*ICN2",
        "CAS*CO*197*80",
        "CLP*PCN-TYPO*1*150*120*0*12*ICN3",
        "CAS*CO*45*30",
        total="190",
    )

    login(posting_specialist.email, password)
    page.get_by_test_id("nav-claims").click()
    page.get_by_test_id("nav-remittances").click()
    page.get_by_test_id("upload-form").locator("input[type=file]").set_input_files(
        files=[{"name": "era-0315.835", "mimeType": "text/plain", "buffer": remit}]
    )
    page.get_by_role("button", name="Import and post").click()
    expect(page.get_by_role("status")).to_contain_text("exception")
    summary = page.get_by_test_id("summary")
    expect(summary).to_contain_text("Exceptions")
    rows = page.get_by_test_id("claim-payment-row")
    expect(rows).to_have_count(3)

    page.get_by_role("link", name="1 open exception").first.click()
    page.get_by_test_id("exception-row").get_by_role("link", name="No matching claim").click()
    expect(page.get_by_test_id("exception-message")).to_contain_text("PCN-TYPO")
    page.get_by_label("Control number, payer claim number or patient last name").fill("PCN-REAL")
    page.get_by_role("button", name="Find").click()
    page.get_by_test_id("candidates").get_by_role("radio").check()
    page.get_by_test_id("resolve-form").get_by_role("textbox").fill("Payer keyed the control number wrong")
    page.get_by_role("button", name="Match and post").click()
    expect(page.get_by_role("status")).to_contain_text("Matched to claim PCN-REAL and posted.")
    assert PostingException.objects.get(kind="unmatched").status == "resolved"
    assert ClaimPayment.objects.get(patient_control_number="PCN-TYPO").posting == "posted"

    page.get_by_test_id("nav-claims").click()
    page.get_by_test_id("nav-denials").click()
    denial = page.get_by_test_id("denial-row")
    expect(denial).to_have_count(1)
    expect(denial).to_contain_text("197")
    expect(denial).to_contain_text("Authorization")
    assert not page_log.errors()
