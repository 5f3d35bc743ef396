"""End-to-end tests of the payers API under /api/v1/, with the persona matrix of ``tests.conftest.PERSONAS``.

Every member reads; admins write payers, plans, rules, contracts and prices; supervisors
and admins publish notices; everyone acknowledges. The outsider (an admin of another
organization) never learns that ``org``'s rows exist: references answer 404, lists
leave them out.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from payers import services
from payers.models import (
    Contract,
    FeeScheduleEntry,
    NoticeAcknowledgement,
    Payer,
    PayerNotice,
    PayerRule,
    Plan,
)
from tests.conftest import PERSONAS
from tests.payers.helpers import last_event, last_history, state

pytestmark = pytest.mark.django_db

ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]
READ = {"outsider": 404, **dict.fromkeys(ROLES, 200)}
ADMIN_WRITE = {"outsider": 404, **{r: 200 if r == "admin" else 403 for r in ROLES}}
ADMIN_CREATE = {**ADMIN_WRITE, "admin": 201}
SUPERVISING_CREATE = {"outsider": 404, **{r: 201 if r in ("supervisor", "admin") else 403 for r in ROLES}}


def client_for(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_status(response: Any, who: str, expected: dict[str, int]) -> None:
    if who == "anonymous":
        assert response.status_code in (401, 403), response.content
        assert response.data["detail"].code == "not_authenticated"
    else:
        assert response.status_code == expected[who], (who, response.status_code, response.content)


def refs(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["reference"] for row in response.json()["results"]}


@pytest.fixture
def everyone(persona, other_rep):
    return persona


# --- payers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_payer_list_shows_only_the_callers_organizations(who, everyone, payer, other_payer):
    response = client_for(everyone(who)).get(reverse("api:payer-list"))
    if who == "anonymous":
        assert_status(response, who, {})
    elif who == "outsider":
        assert refs(response) == {str(other_payer.reference)}
    else:
        assert refs(response) == {str(payer.reference)}


@pytest.mark.parametrize("who", PERSONAS)
def test_payer_detail_matrix(who, everyone, payer, org):
    response = client_for(everyone(who)).get(reverse("api:payer-detail", args=[payer.reference]))
    assert_status(response, who, READ)
    if response.status_code == 200:
        body = response.json()
        assert body["organization"] == str(org.reference)
        assert (body["name"], body["kind"], body["edi_payer_id"], body["is_active"]) == (
            "Prairie Mutual",
            "commercial",
            "PM001",
            True,
        )
        assert "id" not in body


@pytest.mark.parametrize("who", PERSONAS)
def test_payer_create_matrix(who, everyone, org, admin_user):
    body = {"organization": str(org.reference), "name": "Great Lakes Medicaid", "kind": "medicaid"}
    response = client_for(everyone(who)).post(reverse("api:payer-list"), body, format="json")
    assert_status(response, who, ADMIN_CREATE)
    created = Payer.objects.filter(name="Great Lakes Medicaid")
    if who == "admin":
        payer = created.get()
        assert response.json()["reference"] == str(payer.reference)
        assert last_history(payer).history_user == admin_user
        assert last_event(org, "payers.payer.created").subject == payer
    else:
        assert not created.exists()


@pytest.mark.parametrize("who", PERSONAS)
def test_payer_update_matrix(who, everyone, payer, org):
    before = state(payer)
    response = client_for(everyone(who)).post(
        reverse("api:payer-update", args=[payer.reference]),
        {"phone": "8005550199", "reason": "new provider line"},
        format="json",
    )
    assert_status(response, who, ADMIN_WRITE)
    payer.refresh_from_db()
    if who != "admin":
        assert payer.phone == "8005550111"
        assert state(payer) == before
        return
    assert response.json()["phone"] == "8005550199"
    record = last_history(payer)
    assert (record.history_change_reason, record.history_user) == ("new provider line", everyone("admin"))
    assert last_event(org, "payers.payer.updated").data["reason"] == "new provider line"


def test_payer_update_needs_a_reason_and_refuses_unknown_fields(admin_user, payer):
    client = client_for(admin_user)
    url = reverse("api:payer-update", args=[payer.reference])
    response = client.post(url, {"phone": "1"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"reason"}
    response = client.post(url, {"is_active": False, "reason": "x"}, format="json")
    assert response.status_code == 400
    assert "is_active" in response.json()
    response = client.post(url, {"kind": "pbm", "reason": "now a PBM"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "bin"


@pytest.mark.parametrize("who", PERSONAS)
def test_payer_deactivate_matrix(who, everyone, payer, org):
    response = client_for(everyone(who)).post(
        reverse("api:payer-deactivate", args=[payer.reference]), {"reason": "terminated"}, format="json"
    )
    assert_status(response, who, ADMIN_WRITE)
    payer.refresh_from_db()
    assert payer.is_active == (who != "admin")
    if who == "admin":
        assert response.json()["is_active"] is False
        assert last_event(org, "payers.payer.deactivated").data["reason"] == "terminated"
        reactivated = client_for(everyone(who)).post(
            reverse("api:payer-reactivate", args=[payer.reference]), {"reason": "renewed"}, format="json"
        )
        assert reactivated.json()["is_active"] is True


def test_payer_filters(rep, org, payer, admin_user):
    services.payer_create(organization=org, name="Rx Partners", kind="pbm", bin="004336", by=admin_user)
    client = client_for(rep)
    url = reverse("api:payer-list")
    assert len(refs(client.get(url, {"kind": "pbm"}))) == 1
    assert refs(client.get(url, {"search": "pm00"})) == {str(payer.reference)}
    assert refs(client.get(url, {"search": "prairie"})) == {str(payer.reference)}
    assert len(refs(client.get(url, {"active": "true"}))) == 2
    assert refs(client.get(url, {"active": "false"})) == set()
    assert len(refs(client.get(url, {"organization": str(org.reference)}))) == 2


# --- plans -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_plan_create_matrix(who, everyone, payer):
    body = {"payer": str(payer.reference), "name": "Gold HMO", "group_number": "G9", "plan_type": "hmo"}
    response = client_for(everyone(who)).post(reverse("api:plan-list"), body, format="json")
    assert_status(response, who, ADMIN_CREATE)
    assert Plan.objects.filter(name="Gold HMO").exists() == (who == "admin")
    if who == "admin":
        assert response.json()["payer"] == str(payer.reference)
        assert response.json()["plan_type"] == "hmo"


@pytest.mark.parametrize("who", PERSONAS)
def test_plan_read_update_and_deactivate_matrix(who, everyone, plan):
    client = client_for(everyone(who))
    assert_status(client.get(reverse("api:plan-detail", args=[plan.reference])), who, READ)
    response = client.post(
        reverse("api:plan-update", args=[plan.reference]),
        {"network": "out_of_network", "reason": "left"},
        format="json",
    )
    assert_status(response, who, ADMIN_WRITE)
    response = client.post(
        reverse("api:plan-deactivate", args=[plan.reference]), {"reason": "retired"}, format="json"
    )
    assert_status(response, who, ADMIN_WRITE)
    plan.refresh_from_db()
    assert (plan.network, plan.is_active) == (
        ("out_of_network", False) if who == "admin" else ("in_network", True)
    )


def test_plan_filters_by_payer(rep, plan, org, admin_user):
    other = services.payer_create(organization=org, name="Second", kind="commercial", by=admin_user)
    services.plan_create(payer=other, name="Other plan", by=admin_user)
    response = client_for(rep).get(reverse("api:plan-list"), {"payer": str(plan.payer.reference)})
    assert refs(response) == {str(plan.reference)}


# --- payer rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_payer_rule_read_matrix(who, everyone, rule):
    response = client_for(everyone(who)).get(reverse("api:payer-rule-detail", args=[rule.reference]))
    assert_status(response, who, READ)
    if response.status_code == 200:
        body = response.json()
        assert body["timely_filing_days"] == 180
        assert [(lvl["level"], lvl["name"]) for lvl in body["appeal_levels"]] == [
            (1, "First-level appeal"),
            (2, "Second-level appeal"),
        ]


@pytest.mark.parametrize("who", PERSONAS)
def test_payer_rule_create_matrix(who, everyone, payer):
    body = {
        "payer": str(payer.reference),
        "effective_from": "2026-07-01",
        "timely_filing_days": 90,
        "corrected_claim_days": 90,
        "follow_up_days": 30,
        "appeal_levels": [{"name": "Reconsideration", "filing_days": 60, "decision_days": 30}],
    }
    response = client_for(everyone(who)).post(reverse("api:payer-rule-list"), body, format="json")
    assert_status(response, who, ADMIN_CREATE)
    if who == "admin":
        assert response.json()["appeal_levels"][0]["name"] == "Reconsideration"
    assert PayerRule.objects.filter(payer=payer).exists() == (who == "admin")


def test_an_overlapping_rule_is_a_409_unless_the_previous_is_ended(admin_user, rule, payer):
    client = client_for(admin_user)
    body = {
        "payer": str(payer.reference),
        "effective_from": "2026-07-01",
        "timely_filing_days": 90,
        "corrected_claim_days": 90,
        "follow_up_days": 30,
    }
    response = client.post(reverse("api:payer-rule-list"), body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "effective_from"
    response = client.post(reverse("api:payer-rule-list"), {**body, "end_previous": True}, format="json")
    assert response.status_code == 201
    rule.refresh_from_db()
    assert rule.effective_to == date(2026, 6, 30)
    on_day = client.get(
        reverse("api:payer-rule-list"), {"payer": str(payer.reference), "effective_on": "2026-06-30"}
    )
    assert refs(on_day) == {str(rule.reference)}


# --- contracts and fee schedule entries ------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_contract_matrix(who, everyone, contract, payer, plan):
    client = client_for(everyone(who))
    assert_status(client.get(reverse("api:contract-detail", args=[contract.reference])), who, READ)
    body = {
        "payer": str(payer.reference),
        "plan": str(plan.reference),
        "name": "Choice PPO carve-out",
        "effective_from": "2025-01-01",
        "default_percent_of_charges": "55.50",
    }
    response = client.post(reverse("api:contract-list"), body, format="json")
    assert_status(response, who, ADMIN_CREATE)
    if who == "admin":
        assert response.json()["plan"] == str(plan.reference)
        assert response.json()["default_percent_of_charges"] == "55.50"
        assert response.json()["variance_tolerance"] == "1.00"
    assert Contract.objects.filter(name="Choice PPO carve-out").exists() == (who == "admin")


def test_a_contract_with_a_plan_of_another_payer_is_refused(admin_user, payer, org, other_payer):
    other = services.payer_create(organization=org, name="Second", kind="commercial", by=admin_user)
    foreign_plan = services.plan_create(payer=other, name="Theirs", by=admin_user)
    body = {
        "payer": str(payer.reference),
        "plan": str(foreign_plan.reference),
        "name": "X",
        "effective_from": "2025-01-01",
    }
    response = client_for(admin_user).post(reverse("api:contract-list"), body, format="json")
    assert response.status_code == 400
    assert "plan" in response.json()


@pytest.mark.parametrize("who", PERSONAS)
def test_fee_schedule_entry_matrix(who, everyone, contract):
    client = client_for(everyone(who))
    body = {
        "contract": str(contract.reference),
        "code": "99213",
        "allowed_amount": "85.00",
        "effective_from": "2024-01-01",
    }
    response = client.post(reverse("api:fee-schedule-entry-list"), body, format="json")
    assert_status(response, who, ADMIN_CREATE)
    if who == "admin":
        entry = FeeScheduleEntry.objects.get()
        assert response.json()["allowed_amount"] == "85.00"
        assert response.json()["percent_of_charges"] is None
        listed = client.get(
            reverse("api:fee-schedule-entry-list"), {"contract": str(contract.reference), "code": "99213"}
        )
        assert refs(listed) == {str(entry.reference)}
    else:
        assert not FeeScheduleEntry.objects.exists()


def test_a_fee_entry_needs_exactly_one_price(admin_user, contract):
    client = client_for(admin_user)
    body = {"contract": str(contract.reference), "code": "99213", "effective_from": "2024-01-01"}
    response = client.post(reverse("api:fee-schedule-entry-list"), body, format="json")
    assert response.status_code == 400
    assert "allowed_amount" in response.json()
    response = client.post(
        reverse("api:fee-schedule-entry-list"),
        {**body, "allowed_amount": "1.00", "percent_of_charges": "5"},
        format="json",
    )
    assert response.status_code == 400


def test_an_outsider_cannot_create_rows_under_another_organizations_references(
    outsider, org, payer, contract
):
    client = client_for(outsider)
    assert (
        client.post(
            reverse("api:payer-list"),
            {"organization": str(org.reference), "name": "X", "kind": "medicare"},
            format="json",
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("api:plan-list"), {"payer": str(payer.reference), "name": "X"}, format="json"
        ).status_code
        == 404
    )
    body = {
        "contract": str(contract.reference),
        "code": "1",
        "allowed_amount": "1",
        "effective_from": "2024-01-01",
    }
    assert client.post(reverse("api:fee-schedule-entry-list"), body, format="json").status_code == 404
    assert Payer.objects.filter(organization=org).count() == 1


# --- notices -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_notice_list_tells_each_caller_whether_they_acknowledged(who, everyone, notice, rep):
    services.notice_acknowledge(notice=notice, by=rep)
    response = client_for(everyone(who)).get(reverse("api:payer-notice-list"))
    if who == "anonymous":
        assert_status(response, who, {})
        return
    rows = response.json()["results"]
    if who == "outsider":
        assert rows == []
        return
    [row] = rows
    assert row["reference"] == str(notice.reference)
    assert row["acknowledged"] is (who == "representative")
    assert (row["acknowledged_at"] is not None) is (who == "representative")
    unread = client_for(everyone(who)).get(reverse("api:payer-notice-list"), {"acknowledged": "false"})
    assert len(unread.json()["results"]) == (0 if who == "representative" else 1)


@pytest.mark.parametrize("who", PERSONAS)
def test_acknowledge_matrix_and_idempotence(who, everyone, notice):
    client = client_for(everyone(who))
    url = reverse("api:payer-notice-acknowledge", args=[notice.reference])
    response = client.post(url)
    assert_status(response, who, READ)
    if response.status_code == 200:
        first = response.json()["acknowledged_at"]
        assert response.json()["acknowledged"] is True
        again = client.post(url)
        assert again.status_code == 200
        assert again.json()["acknowledged_at"] == first
        assert NoticeAcknowledgement.objects.filter(notice=notice, user=everyone(who)).count() == 1
    else:
        assert not NoticeAcknowledgement.objects.exists()


def test_acknowledging_a_withdrawn_notice_is_a_409(rep, supervisor, notice):
    services.notice_withdraw(notice=notice, reason="reversed", by=supervisor)
    response = client_for(rep).post(reverse("api:payer-notice-acknowledge", args=[notice.reference]))
    assert response.status_code == 409


@pytest.mark.parametrize("who", PERSONAS)
def test_notice_create_matrix(who, everyone, org, payer, plan):
    body = {
        "organization": str(org.reference),
        "title": "Prior authorization for sleep studies",
        "body": "From 1 April.",
        "effective_date": "2026-04-01",
        "payers": [str(payer.reference)],
        "plans": [str(plan.reference)],
    }
    response = client_for(everyone(who)).post(reverse("api:payer-notice-list"), body, format="json")
    assert_status(response, who, SUPERVISING_CREATE)
    created = PayerNotice.objects.filter(title=body["title"])
    assert created.exists() == (who in ("supervisor", "admin"))
    if created.exists():
        assert response.json()["payers"] == [str(payer.reference)]
        assert response.json()["plans"] == [str(plan.reference)]
        assert response.json()["acknowledged"] is False


def test_a_notice_cannot_name_another_organizations_payer(supervisor, org, other_payer):
    body = {
        "organization": str(org.reference),
        "title": "T",
        "body": "B",
        "effective_date": "2026-04-01",
        "payers": [str(other_payer.reference)],
    }
    response = client_for(supervisor).post(reverse("api:payer-notice-list"), body, format="json")
    assert response.status_code == 400
    assert "payers" in response.json()
    assert not PayerNotice.objects.exists()
