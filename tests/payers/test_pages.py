"""Payer pages: everyone reads, admins change, supervisors publish notices; other organizations'
rows answer 404."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from payers import services
from payers.models import FeeScheduleEntry, NoticeAcknowledgement, Payer, PayerNotice, PayerRule
from tests.conftest import PERSONAS
from tests.factories import PayerFactory
from tests.payers.helpers import last_event, last_history

pytestmark = pytest.mark.django_db

ROLES = [p for p in PERSONAS if p not in ("anonymous", "outsider")]
UUID_IN_PATH = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/")


@pytest.fixture
def entry(contract, admin_user):
    return services.fee_schedule_entry_create(
        contract=contract,
        code="99213",
        allowed_amount="85.00",
        effective_from=date(2024, 1, 1),
        by=admin_user,
    )


@pytest.fixture
def urls(payer, plan, rule, contract, entry, notice):
    """Every page, by who may open it."""
    read = [
        reverse("payers:payer_list"),
        reverse("payers:payer_detail", args=[payer.reference]),
        reverse("payers:contract_detail", args=[contract.reference]),
        reverse("payers:fee_schedule_export", args=[contract.reference]),
        reverse("payers:fee_schedule_template"),
        reverse("payers:notice_list"),
        reverse("payers:notice_detail", args=[notice.reference]),
    ]
    admin = [
        reverse("payers:payer_create"),
        reverse("payers:payer_edit", args=[payer.reference]),
        reverse("payers:plan_create", args=[payer.reference]),
        reverse("payers:plan_edit", args=[plan.reference]),
        reverse("payers:rule_create", args=[payer.reference]),
        reverse("payers:rule_edit", args=[rule.reference]),
        reverse("payers:contract_create", args=[payer.reference]),
        reverse("payers:contract_edit", args=[contract.reference]),
        reverse("payers:fee_entry_edit", args=[entry.reference]),
    ]
    supervising = [
        reverse("payers:notice_create"),
        reverse("payers:notice_edit", args=[notice.reference]),
        reverse("payers:notice_report"),
    ]
    return {"read": read, "admin": admin, "supervising": supervising}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- role matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_pages_follow_the_role_matrix(client, persona, urls, who):
    client.force_login(persona(who))
    for url in urls["read"]:
        assert client.get(url).status_code == 200, url
    for url in urls["admin"]:
        assert client.get(url).status_code == (200 if who == "admin" else 403), url
    for url in urls["supervising"]:
        assert client.get(url).status_code == (200 if who in ("supervisor", "admin") else 403), url


def test_anonymous_visitors_are_sent_to_sign_in(client, urls):
    for url in [*urls["read"], *urls["admin"], *urls["supervising"]]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_an_outsider_gets_404_for_every_row_of_another_organization(client, outsider, urls, payer):
    client.force_login(outsider)  # an admin and supervisor in their own organization
    with_reference = [
        url for url in [*urls["read"], *urls["admin"], *urls["supervising"]] if UUID_IN_PATH.search(url)
    ]
    assert len(with_reference) == 13
    for url in with_reference:
        assert client.get(url).status_code == 404, url
    # Lists show their own organization only.
    assert payer.name not in client.get(reverse("payers:payer_list")).content.decode()
    assert "prior authorization" not in client.get(reverse("payers:notice_list")).content.decode()
    assert "prior authorization" not in client.get(reverse("payers:notice_report")).content.decode()


def test_representatives_see_no_edit_buttons(client, rep, payer, rule, contract):
    client.force_login(rep)
    html = client.get(reverse("payers:payer_detail", args=[payer.reference])).content.decode()
    for name in ("payer_edit", "rule_create", "rule_edit", "plan_create", "contract_create"):
        reference = rule.reference if name == "rule_edit" else payer.reference
        assert reverse(f"payers:{name}", args=[reference]) not in html
    assert reverse("payers:payer_deactivate", args=[payer.reference]) not in html
    html = client.get(reverse("payers:contract_detail", args=[contract.reference])).content.decode()
    assert reverse("payers:fee_schedule_import", args=[contract.reference]) not in html
    assert reverse("payers:payer_create") not in client.get(reverse("payers:payer_list")).content.decode()


@pytest.mark.parametrize("who", ["representative", "supervisor"])
def test_non_admin_posts_are_refused_and_change_nothing(client, persona, who, payer, contract):
    client.force_login(persona(who))
    assert client.post(reverse("payers:payer_create"), {"name": "X", "kind": "commercial"}).status_code == 403
    assert (
        client.post(reverse("payers:payer_deactivate", args=[payer.reference]), {"reason": "x"}).status_code
        == 403
    )
    upload = SimpleUploadedFile("fees.csv", b"code,allowed_amount,effective_from\n99213,1,2024-01-01\n")
    response = client.post(reverse("payers:fee_schedule_import", args=[contract.reference]), {"file": upload})
    assert response.status_code == 403
    assert list(Payer.objects.values_list("name", "is_active")) == [(payer.name, True)]
    assert not FeeScheduleEntry.objects.exists()


# --- payers and plans -----------------------------------------------------------------------


def test_an_admin_adds_a_payer_through_the_page(client, admin_user, org):
    client.force_login(admin_user)
    response = client.post(
        reverse("payers:payer_create"),
        {"name": "Great Lakes Medicaid", "kind": "medicaid", "edi_payer_id": "GLM01", "phone": "8005550123"},
        follow=True,
    )
    payer = Payer.objects.get(organization=org, name="Great Lakes Medicaid")
    assert response.redirect_chain[-1][0] == reverse("payers:payer_detail", args=[payer.reference])
    assert "Payer Great Lakes Medicaid added." in messages_of(response)[0]
    assert last_history(payer).history_user == admin_user


def test_a_refused_payer_form_shows_why_and_keeps_what_was_typed(client, admin_user, payer):
    client.force_login(admin_user)
    response = client.post(reverse("payers:payer_create"), {"name": "prairie mutual", "kind": "commercial"})
    assert response.status_code == 200
    assert "A payer called &#x27;prairie mutual&#x27; already exists" in response.content.decode()
    assert response.context["form"]["name"].value() == "prairie mutual"


def test_editing_a_payer_needs_a_reason_and_records_it(client, admin_user, payer):
    client.force_login(admin_user)
    url = reverse("payers:payer_edit", args=[payer.reference])
    data = {"name": payer.name, "kind": payer.kind, "edi_payer_id": "PM002", "phone": payer.phone}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Reason: This field is required." in messages_of(response)[0]
    response = client.post(url, {**data, "reason": "EDI id changed by clearinghouse"})
    assert response.status_code == 302
    payer.refresh_from_db()
    assert payer.edi_payer_id == "PM002"
    assert last_history(payer).history_change_reason == "EDI id changed by clearinghouse"


def test_deactivating_a_payer_through_the_page(client, admin_user, payer):
    client.force_login(admin_user)
    url = reverse("payers:payer_deactivate", args=[payer.reference])
    response = client.post(url, {"reason": ""}, follow=True)
    assert "Payer not deactivated" in messages_of(response)[0]
    response = client.post(url, {"reason": "terminated"}, follow=True)
    assert "Payer Prairie Mutual deactivated" in messages_of(response)[0]
    payer.refresh_from_db()
    assert not payer.is_active
    # Inactive payers leave the default list, and come back with the status filter.
    list_html = client.get(reverse("payers:payer_list")).content.decode()
    assert "Prairie Mutual" not in list_html
    assert (
        "Prairie Mutual" in client.get(reverse("payers:payer_list"), {"status": "inactive"}).content.decode()
    )


def test_the_payer_list_searches_by_name_and_edi_id(client, rep, org, payer):
    PayerFactory(organization=org, name="Blue Valley Health", edi_payer_id="BV777")
    client.force_login(rep)

    def names(params):
        return [p.name for p in client.get(reverse("payers:payer_list"), params).context["page"]]

    assert names({}) == ["Blue Valley Health", "Prairie Mutual"]
    assert names({"q": "valley"}) == ["Blue Valley Health"]
    assert names({"q": "pm00"}) == ["Prairie Mutual"]
    assert names({"kind": "medicare"}) == []


def test_the_payer_list_has_a_query_budget(client, rep, org, django_assert_max_num_queries):
    for _ in range(3):
        PayerFactory(organization=org)
    client.force_login(rep)
    client.get(reverse("payers:payer_list"))  # warm the session
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("payers:payer_list"))
    for _ in range(30):
        PayerFactory(organization=org)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("payers:payer_list"))
    assert len(response.context["page"]) == 33


def test_the_payer_page_has_a_query_budget(
    client, rep, payer, plan, rule, contract, notice, admin_user, django_assert_max_num_queries
):
    client.force_login(rep)
    url = reverse("payers:payer_detail", args=[payer.reference])
    client.get(url)
    with django_assert_max_num_queries(16) as few:
        client.get(url)
    for index in range(5):
        services.plan_create(payer=payer, name=f"Plan {index}", by=admin_user)
        services.payer_rule_create(
            payer=payer,
            effective_from=date(2025, 1, 1 + index),
            timely_filing_days=90,
            corrected_claim_days=90,
            follow_up_days=30,
            appeal_levels=[{"name": "Appeal", "filing_days": 60, "decision_days": 30}],
            end_previous=True,
            by=admin_user,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


# --- rules ----------------------------------------------------------------------------------


def test_new_rules_page_is_prefilled_from_the_latest_rules(client, admin_user, payer, rule):
    client.force_login(admin_user)
    response = client.get(reverse("payers:rule_create", args=[payer.reference]))
    assert response.context["form"]["timely_filing_days"].value() == 180
    assert response.context["levels"].forms[1]["name"].value() == "Second-level appeal"


def test_an_admin_adds_rules_with_appeal_levels_and_ends_the_previous(client, admin_user, payer, rule):
    client.force_login(admin_user)
    data = {
        "effective_from": "2026-07-01",
        "timely_filing_days": "90",
        "corrected_claim_days": "90",
        "follow_up_days": "45",
        "end_previous": "on",
        "levels-0-name": "Reconsideration",
        "levels-0-filing_days": "60",
        "levels-0-decision_days": "30",
        "levels-2-level": "2",
        "levels-2-name": "External review",
        "levels-2-filing_days": "120",
        "levels-2-decision_days": "45",
    }
    response = client.post(reverse("payers:rule_create", args=[payer.reference]), data, follow=True)
    [message] = messages_of(response)
    assert message == (
        "Rules for Prairie Mutual from 2026-07-01 added with 2 appeal levels. "
        "The rules from 2024-01-01 now end 2026-06-30."
    )
    new = PayerRule.objects.get(payer=payer, effective_from=date(2026, 7, 1))
    assert list(new.appeal_levels.order_by("level").values_list("level", "name")) == [
        (1, "Reconsideration"),
        (2, "External review"),
    ]


def test_an_overlapping_rule_is_refused_on_the_page_with_the_reason(client, admin_user, payer, rule):
    client.force_login(admin_user)
    data = {
        "effective_from": "2026-07-01",
        "timely_filing_days": "90",
        "corrected_claim_days": "90",
        "follow_up_days": "45",
    }
    response = client.post(reverse("payers:rule_create", args=[payer.reference]), data)
    assert response.status_code == 200
    assert "overlap the rule in force 2024-01-01 on (no end date)" in response.content.decode()
    assert PayerRule.objects.filter(payer=payer).count() == 1


def test_appeal_levels_are_changed_on_the_rule_page(client, admin_user, rule):
    client.force_login(admin_user)
    level = rule.appeal_levels.get(level=2)
    prefix = f"level-{level.reference}"
    response = client.post(
        reverse("payers:appeal_level_edit", args=[level.reference]),
        {
            f"{prefix}-level": "2",
            f"{prefix}-name": "Second-level appeal",
            f"{prefix}-filing_days": "90",
            f"{prefix}-decision_days": "30",
            f"{prefix}-reason": "payer manual 2026",
        },
        follow=True,
    )
    assert messages_of(response) == ["Appeal level 2 (Second-level appeal) saved."]
    level.refresh_from_db()
    assert level.filing_days == 90
    response = client.post(
        reverse("payers:appeal_level_add", args=[rule.reference]),
        {
            "add-level-level": "3",
            "add-level-name": "External review",
            "add-level-filing_days": "120",
            "add-level-decision_days": "45",
        },
        follow=True,
    )
    assert messages_of(response) == ["Appeal level 3 (External review) added."]
    third = rule.appeal_levels.get(level=3)
    response = client.post(
        reverse("payers:appeal_level_remove", args=[third.reference]),
        {f"remove-{third.reference}-reason": "duplicate"},
        follow=True,
    )
    assert messages_of(response) == ["Appeal level 3 (External review) removed."]
    assert rule.appeal_levels.count() == 2


# --- contracts and fee schedules ------------------------------------------------------------------


def upload(content: str, name: str = "fees.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


def test_a_bad_fee_file_shows_every_problem_with_its_line_and_imports_nothing(client, admin_user, contract):
    client.force_login(admin_user)
    content = (
        "code,allowed_amount,effective_from\n99213,85,2024-01-01\n99214,lots,2024-01-01\n,10,2024-01-01\n"
    )
    response = client.post(
        reverse("payers:fee_schedule_import", args=[contract.reference]), {"file": upload(content)}
    )
    assert response.status_code == 200
    assert [(e.line, e.column) for e in response.context["import_errors"]] == [
        (3, "allowed_amount"),
        (4, "code"),
    ]
    assert messages_of(response) == [
        "fees.csv was not imported: 2 problems found; nothing was imported. Fix the rows listed under the "
        "upload form and upload the file again."
    ]
    html = response.content.decode()
    assert 'data-testid="import-errors"' in html
    assert "&#x27;lots&#x27; is not an amount of money" in html
    assert not FeeScheduleEntry.objects.exists()


def test_a_good_fee_file_is_imported_and_the_message_says_what_changed(client, admin_user, contract, entry):
    client.force_login(admin_user)
    content = "code,allowed_amount,effective_from\n99213,86,2024-01-01\n99214,120,2024-01-01\n"
    url = reverse("payers:fee_schedule_import", args=[contract.reference])
    response = client.post(url, {"file": upload(content)}, follow=True)
    assert messages_of(response) == [
        "Imported fees.csv into Prairie Mutual 2024: 1 price added, 1 changed, 0 unchanged. "
        "Changed: 99213 from 2024-01-01: $85.00 → $86.00."
    ]
    assert FeeScheduleEntry.objects.filter(contract=contract).count() == 2


def test_the_fee_schedule_exports_in_the_import_format_and_imports_back_unchanged(
    client, admin_user, contract
):
    services.fee_schedule_import(
        contract=contract,
        content="code,modifier,allowed_amount,percent_of_charges,effective_from,effective_to\n"
        "99213,25,85,,2024-01-01,2024-12-31\nJ1885,,,80,2024-01-01,\n",
        by=admin_user,
    )
    client.force_login(admin_user)
    response = client.get(reverse("payers:fee_schedule_export", args=[contract.reference]))
    exported = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(exported))) == [
        ["code", "modifier", "allowed_amount", "percent_of_charges", "effective_from", "effective_to"],
        ["99213", "25", "85.00", "", "2024-01-01", "2024-12-31"],
        ["J1885", "", "", "80.00", "2024-01-01", ""],
    ]
    result = services.fee_schedule_import(contract=contract, content=exported, by=admin_user)
    assert (result.created, len(result.updated), result.unchanged) == (0, 0, 2)
    template = client.get(reverse("payers:fee_schedule_template"))
    assert template.content.decode().strip() == exported.splitlines()[0]


def test_the_fee_schedule_filters_by_code_and_has_a_query_budget(
    client, rep, admin_user, contract, django_assert_max_num_queries
):
    rows = "".join(f"9921{i},{80 + i},2024-01-01\n" for i in range(5))
    services.fee_schedule_import(
        contract=contract, content="code,allowed_amount,effective_from\n" + rows, by=admin_user
    )
    client.force_login(rep)
    url = reverse("payers:contract_detail", args=[contract.reference])
    client.get(url)
    with django_assert_max_num_queries(9):
        response = client.get(url, {"code": "99213"})
    assert [e.code for e in response.context["page"]] == ["99213"]


def test_adding_one_price_on_the_contract_page(client, admin_user, contract):
    client.force_login(admin_user)
    response = client.post(
        reverse("payers:fee_entry_create", args=[contract.reference]),
        {"code": "g0439", "allowed_amount": "175.50", "effective_from": "2024-01-01"},
        follow=True,
    )
    assert messages_of(response) == ["G0439 priced at $175.50 from 2024-01-01."]
    assert FeeScheduleEntry.objects.get(contract=contract).allowed_amount == Decimal("175.50")


# --- notices ---------------------------------------------------------------------------------


def test_notices_are_listed_unread_first_and_acknowledged_with_one_click(
    client, rep, org, supervisor, notice
):
    older_unread = services.notice_publish(
        organization=org,
        title="Older policy",
        body="Read me.",
        effective_date=date(2025, 1, 1),
        by=supervisor,
    )
    newest = services.notice_publish(
        organization=org,
        title="Newest policy",
        body="Read me too.",
        effective_date=date(2027, 1, 1),
        by=supervisor,
    )
    services.notice_acknowledge(notice=newest, by=rep)
    client.force_login(rep)
    response = client.get(reverse("payers:notice_list"))
    assert [n.title for n in response.context["page"]] == [notice.title, older_unread.title, newest.title]
    assert response.context["unread_count"] == 2

    response = client.post(
        reverse("payers:notice_acknowledge", args=[notice.reference]),
        {"next": reverse("payers:notice_list")},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("payers:notice_list")
    assert messages_of(response) == [f"Acknowledged: {notice.title}."]
    assert NoticeAcknowledgement.objects.filter(notice=notice, user=rep).exists()
    # A second click is harmless.
    client.post(reverse("payers:notice_acknowledge", args=[notice.reference]))
    assert NoticeAcknowledgement.objects.filter(notice=notice, user=rep).count() == 1


def test_acknowledging_a_withdrawn_notice_on_the_page_says_why_not(client, rep, supervisor, notice):
    services.notice_withdraw(notice=notice, reason="reversed", by=supervisor)
    client.force_login(rep)
    response = client.post(reverse("payers:notice_acknowledge", args=[notice.reference]), follow=True)
    assert messages_of(response) == [
        "Not acknowledged. This notice was withdrawn; it no longer needs acknowledging."
    ]
    assert not NoticeAcknowledgement.objects.exists()


def test_acknowledge_only_redirects_inside_the_payer_pages(client, rep, notice):
    client.force_login(rep)
    response = client.post(
        reverse("payers:notice_acknowledge", args=[notice.reference]), {"next": "https://evil.example/"}
    )
    assert response.url == reverse("payers:notice_list")


def test_an_outsider_cannot_acknowledge_another_organizations_notice(client, outsider, notice):
    client.force_login(outsider)
    assert client.post(reverse("payers:notice_acknowledge", args=[notice.reference])).status_code == 404
    assert not NoticeAcknowledgement.objects.exists()


def test_a_supervisor_publishes_a_notice_and_sees_who_has_not_read_it(client, supervisor, rep, org, payer):
    client.force_login(supervisor)
    form = client.get(reverse("payers:notice_create"), {"payer": str(payer.reference)})
    assert form.context["form"].initial["payers"] == [payer.reference]
    response = client.post(
        reverse("payers:notice_create"),
        {
            "title": "New appeal address",
            "body": "Send appeals to PO Box 9.",
            "effective_date": "2026-02-01",
            "payers": [str(payer.reference)],
        },
        follow=True,
    )
    notice = PayerNotice.objects.get(title="New appeal address")
    assert last_event(org, "payers.notice.published").actor == supervisor
    assert "Notice “New appeal address” published." in messages_of(response)[0]
    services.notice_acknowledge(notice=notice, by=supervisor)
    report = client.get(reverse("payers:notice_report"))
    [row] = report.context["report"]
    assert rep in row.pending
    assert supervisor in [user for user, _ in row.acknowledged]
    assert rep.full_name in report.content.decode()


def test_withdrawing_a_notice_from_its_page(client, supervisor, notice):
    client.force_login(supervisor)
    response = client.post(
        reverse("payers:notice_withdraw", args=[notice.reference]), {"reason": "policy reversed"}, follow=True
    )
    assert "withdrawn" in messages_of(response)[0]
    notice.refresh_from_db()
    assert not notice.is_active
    withdrawn = client.get(reverse("payers:notice_list"), {"show": "withdrawn"})
    assert [n.title for n in withdrawn.context["page"]] == [notice.title]


def test_the_notice_pages_have_query_budgets(client, supervisor, rep, org, django_assert_max_num_queries):
    for index in range(3):
        services.notice_publish(
            organization=org, title=f"N{index}", body="b", effective_date=date(2026, 1, 1), by=supervisor
        )
    client.force_login(supervisor)
    client.get(reverse("payers:notice_list"))
    with django_assert_max_num_queries(11) as few:
        client.get(reverse("payers:notice_list"))
    with django_assert_max_num_queries(12) as report_few:
        client.get(reverse("payers:notice_report"))
    for index in range(10):
        services.notice_publish(
            organization=org, title=f"M{index}", body="b", effective_date=date(2026, 1, 1), by=supervisor
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("payers:notice_list"))
    with django_assert_max_num_queries(len(report_few.captured_queries)):
        client.get(reverse("payers:notice_report"))


def test_editing_a_contract_a_price_a_plan_and_a_notice_through_their_pages(
    client, admin_user, contract, entry, plan, notice
):
    client.force_login(admin_user)
    response = client.post(
        reverse("payers:contract_edit", args=[contract.reference]),
        {
            "name": contract.name,
            "plan": "",
            "effective_from": "2024-01-01",
            "effective_to": "",
            "default_percent_of_charges": "65",
            "variance_tolerance": "2.00",
            "reason": "amendment 1",
        },
        follow=True,
    )
    assert messages_of(response) == ["Contract Prairie Mutual 2024 saved."]
    contract.refresh_from_db()
    assert (contract.default_percent_of_charges, contract.variance_tolerance) == (
        Decimal("65.00"),
        Decimal("2.00"),
    )
    assert last_history(contract).history_change_reason == "amendment 1"

    response = client.post(
        reverse("payers:fee_entry_edit", args=[entry.reference]),
        {"allowed_amount": "90", "effective_from": "2024-01-01", "reason": "amendment 1"},
        follow=True,
    )
    assert messages_of(response) == ["99213 from 2024-01-01 saved: $90.00."]

    response = client.post(
        reverse("payers:plan_edit", args=[plan.reference]),
        {
            "name": "Choice PPO",
            "group_number": "G100",
            "plan_type": "epo",
            "network": "in_network",
            "reason": "renamed product",
        },
        follow=True,
    )
    assert messages_of(response) == ["Plan Choice PPO saved."]
    plan.refresh_from_db()
    assert plan.plan_type == "epo"

    # Nothing changed but the reason: nothing is written.
    before = contract.history.count()
    data = {
        "name": contract.name,
        "plan": "",
        "effective_from": "2024-01-01",
        "effective_to": "",
        "default_percent_of_charges": "65.00",
        "variance_tolerance": "2.00",
        "reason": "just looking",
    }
    response = client.post(reverse("payers:contract_edit", args=[contract.reference]), data, follow=True)
    assert messages_of(response) == ["Nothing to save: no detail of Prairie Mutual 2024 was changed."]
    assert contract.history.count() == before


def test_a_supervisor_corrects_a_notice_with_a_reason(client, supervisor, notice, payer):
    client.force_login(supervisor)
    response = client.post(
        reverse("payers:notice_edit", args=[notice.reference]),
        {
            "title": notice.title,
            "body": "From 1 March, MRI and CT need prior authorization.",
            "effective_date": "2026-03-01",
            "payers": [str(payer.reference)],
            "reason": "CT added",
        },
        follow=True,
    )
    assert messages_of(response) == [f"Notice “{notice.title}” saved."]
    notice.refresh_from_db()
    assert "CT" in notice.body
    assert last_history(notice).history_change_reason == "CT added"
