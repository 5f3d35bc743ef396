"""An admin sets up a payer and its contract, and imports a fee schedule: a file with a bad
row is refused with the row's line, the fixed file is imported."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from payers.models import FeeScheduleEntry

pytestmark = pytest.mark.browser

HEADER = "code,modifier,allowed_amount,percent_of_charges,effective_from,effective_to\n"
BAD = HEADER + "99213,,85.00,,2026-01-01,\n99214,,one hundred,,2026-01-01,\nJ1885,JW,,80,01/01/2026,\n"
FIXED = BAD.replace("one hundred", "120.00")


def upload(page: Page, content: str) -> None:
    page.get_by_label("Fee schedule CSV").set_input_files(
        files=[{"name": "prairie-2026.csv", "mimeType": "text/csv", "buffer": content.encode()}]
    )
    page.get_by_role("button", name="Import fee schedule").click()


def test_admin_creates_a_payer_and_imports_a_fee_schedule_after_fixing_a_bad_row(
    page: Page, page_log, login, live_server, admin_user, password
):
    login(admin_user.email, password)
    page.get_by_role("link", name="Payers", exact=True).click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("No payers yet")

    page.get_by_role("link", name="Add payer").first.click()
    page.get_by_label("Name").fill("Prairie Mutual")
    page.get_by_label("Kind").select_option(label="Commercial")
    page.get_by_label("EDI payer id").fill("PM001")
    page.get_by_label("Provider services phone").fill("800-555-0111")
    page.get_by_role("button", name="Add payer").click()
    expect(page.get_by_role("status")).to_contain_text("Payer Prairie Mutual added.")
    expect(page.get_by_test_id("payer-name")).to_have_text("Prairie Mutual")

    page.get_by_role("link", name="Add contract").first.click()
    page.get_by_label("Name").fill("Prairie Mutual 2026")
    page.get_by_label("In force from").fill("2026-01-01")
    page.get_by_label("Default percent of charges").fill("60")
    page.get_by_role("button", name="Add contract").click()
    expect(page.get_by_test_id("contract-name")).to_have_text("Prairie Mutual 2026")
    expect(page.get_by_test_id("fee-empty")).to_contain_text("No prices yet")

    # The file with a bad amount on line 3 is refused whole, and the problem is named.
    upload(page, BAD)
    errors = page.get_by_test_id("import-error")
    expect(errors).to_have_count(1)
    expect(errors.first.locator("td")).to_have_text(
        ["3", "allowed_amount", "'one hundred' is not an amount of money"]
    )
    expect(page.get_by_test_id("import-errors")).to_contain_text("nothing was imported")
    assert not FeeScheduleEntry.objects.exists()

    # Fixed, the same file goes in.
    upload(page, FIXED)
    expect(page.get_by_role("status")).to_contain_text(
        "Imported prairie-2026.csv into Prairie Mutual 2026: 3 prices added, 0 changed, 0 unchanged."
    )
    expect(page.get_by_test_id("import-errors")).to_have_count(0)
    rows = page.get_by_test_id("fee-row")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="99214")).to_contain_text("$120.00")
    expect(rows.filter(has_text="J1885")).to_contain_text("80% of charges")

    # The change history of a price is one click away.
    rows.filter(has_text="99214").get_by_role("link", name=re.compile("^History")).click()
    expect(page.get_by_test_id("history-table")).to_contain_text("imported from prairie-2026.csv")

    assert page_log.csp_violations() == []
    assert page_log.errors() == []
