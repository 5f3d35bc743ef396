"""A representative's core path: find the patient, open the account, read the ledger,
add an authorized contact, and download an itemized statement that lists the charges."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from accounts import services
from staff.models import PhiAccessLog
from tests.factories import AccountFactory, CoverageFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def account(org, posting_specialist):
    account = AccountFactory(
        patient__organization=org,
        patient__first_name="Margaret",
        patient__last_name="Okonkwo",
        patient__date_of_birth=date(1961, 4, 9),
        account_number="H2026-0417",
    )
    CoverageFactory(patient=account.patient, plan__payer__name="Prairie Health Plan")
    services.charge_post(
        account=account,
        items=[
            services.ChargeInput(date(2026, 9, 3), "cpt", "99214", Decimal("245.00"), diagnoses=("E119",)),
            services.ChargeInput(date(2026, 9, 3), "hcpcs", "J1885", Decimal("38.50"), diagnoses=("M545",)),
        ],
        by=posting_specialist,
    )
    return account


def test_rep_finds_the_account_reads_the_ledger_adds_a_contact_and_gets_an_itemized_statement(
    page: Page, page_log, login, rep, password, account
):
    login(rep.email, password)
    expect(page.get_by_test_id("home-heading")).to_be_visible()

    # Search with a typo in the last name, from the navbar box ("/" focuses it).
    page.keyboard.press("/")
    expect(page.locator("#global-search")).to_be_focused()
    page.keyboard.type("Okonkow")
    page.keyboard.press("Enter")
    results = page.get_by_test_id("patient-row")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Okonkwo, Margaret")
    results.first.get_by_role("link", name="H2026-0417").click()

    # The account page: header, balances, and the ledger with a running balance.
    expect(page.get_by_test_id("account-header")).to_contain_text("Account H2026-0417")
    expect(page.get_by_test_id("account-balance")).to_have_text("$283.50")
    ledger = page.get_by_test_id("ledger-row")
    expect(ledger).to_have_count(2)
    expect(ledger.first).to_contain_text("283.50")
    expect(page.get_by_test_id("coverages")).to_contain_text("Prairie Health Plan")

    # Add the patient's daughter as an authorized contact for balances.
    page.get_by_role("link", name="Add contact").click()
    page.get_by_label("Name").fill("Adaeze Okonkwo")
    page.get_by_label("Relationship").select_option(label="Adult child")
    page.get_by_label("Phone").fill("(312) 555-0142")
    page.get_by_label("Balances and statements").check()
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("status").or_(page.locator(".alert-success"))).to_contain_text(
        "Adaeze Okonkwo added as an authorized contact"
    )
    page.get_by_role("tab", name=re.compile("Authorized contacts")).click()
    expect(page.get_by_test_id("contact")).to_contain_text("Adaeze Okonkwo")
    expect(page.get_by_test_id("contact")).to_contain_text("Balances and statements")
    page.get_by_role("tab", name="Timeline").click()
    expect(page.get_by_test_id("timeline")).to_contain_text("Authorized contact added: Adaeze Okonkwo")

    # Generate an itemized statement and download it.
    page.get_by_label("Statement", exact=True).select_option(label="Itemized statement")
    page.get_by_role("button", name="Make statement").click()
    link = page.get_by_test_id("account-documents").get_by_role("link", name=re.compile("^PDF")).first
    expect(link).to_be_visible()
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert "99214" in text and "J1885" in text
    assert "245.00" in text and "38.50" in text and "283.50" in text

    assert PhiAccessLog.objects.filter(user=rep, subject_id=account.pk).exists()
    assert page_log.csp_violations() == []
    assert page_log.errors() == []
