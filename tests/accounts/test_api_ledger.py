"""End-to-end tests of the ledger API: an account's ledger with running balances, ledger entries and
reversals, and adjustment requests with their approval. See ``test_api`` for the matrix rules."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AdjustmentRequest, Charge, LedgerEntry
from staff.models import ApprovalLimit, Role
from tests.accounts.test_api import (
    MEMBERS_READ,
    POSTERS,
    ROLES,
    account,
    assert_status,
    client_for,
    error_fields,
    everyone,
    last_event,
    matrix,
    other_account,
    other_patient,
    patient,
    phi_rows,
    post_charges,
    primary,
    refs,
)
from tests.conftest import PERSONAS
from tests.factories import ApprovalLimitFactory, MembershipFactory

# Fixtures shared with test_api (pytest finds them by name in this module).
__all__ = ["account", "everyone", "other_account", "other_patient", "patient", "primary"]

D = Decimal
SUPERVISING = {"supervisor", "admin"}


@pytest.fixture
def billed(account, primary, posting_specialist):
    post_charges(account, posting_specialist, "150.00")
    post_charges(account, posting_specialist, "200.00", code="99214")
    account.refresh_from_db()
    return account


@pytest.fixture
def limits(org):
    """Representatives adjust up to 50.00 alone, supervisors 1,000.00, admins 5,000.00."""
    for role, amount in (
        (Role.REPRESENTATIVE, "50.00"),
        (Role.SUPERVISOR, "1000.00"),
        (Role.ADMIN, "5000.00"),
    ):
        ApprovalLimitFactory(
            organization=org, role=role, kind=ApprovalLimit.Kind.ADJUSTMENT, max_amount=D(amount)
        )


def submit(account, coverage, by, amount="120.00") -> AdjustmentRequest:
    outcome = services.adjustment_submit(
        account=account,
        kind="other_adjustment",
        amount=amount,
        reason_code="CHARITY",
        memo="financial assistance approved at 100%",
        coverage=coverage,
        by=by,
    )
    assert outcome.request is not None
    return outcome.request


def walk(client, url: str) -> tuple[list[dict], list[int]]:
    """Every row of a cursor-paginated list, and the number of queries each page took."""
    rows, counts = [], []
    while url:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        counts.append(len(queries))
        url = body["next"]
    return rows, counts


# --- an account's ledger --------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_account_ledger_matrix_and_phi_log(who, everyone, billed):
    response = client_for(everyone(who)).get(reverse("api:account-ledger", args=[billed.reference]))
    assert_status(response, who, MEMBERS_READ)
    assert phi_rows(billed) == (1 if response.status_code == 200 else 0)
    if response.status_code == 200:
        assert [(row["amount"], row["running_balance"]) for row in response.json()["results"]] == [
            ("150.00", "150.00"),
            ("200.00", "350.00"),
        ]


def test_account_ledger_pages_250_entries_with_running_balances_and_constant_queries(
    rep, account, primary, posting_specialist
):
    amounts = [f"{n % 97 + 1}.{n % 100:02d}" for n in range(250)]
    post_charges(account, posting_specialist, *amounts)
    client = client_for(rep)
    url = reverse("api:account-ledger", args=[account.reference])
    client.get(url)  # warm the content-type cache

    rows, counts = walk(client, f"{url}?page_size=40")
    assert len(counts) == 7  # 6 full pages and one of 10
    assert len(set(counts)) == 1, counts  # every page costs the same, whatever its position
    expected = list(
        LedgerEntry.objects.filter(account=account).order_by("id").values_list("reference", flat=True)
    )
    assert [row["reference"] for row in rows] == [str(r) for r in expected]  # posting order, none twice
    running = D("0.00")
    for row, amount in zip(rows, amounts, strict=True):
        running += D(amount)
        assert (row["amount"], row["running_balance"]) == (amount, str(running))
    account.refresh_from_db()
    assert rows[-1]["running_balance"] == str(account.balance)

    # A larger page costs no more queries than a small one.
    with CaptureQueriesContext(connection) as big:
        assert len(client.get(f"{url}?page_size=200").json()["results"]) == 200
    assert len(big) == counts[0]


def test_account_ledger_previous_page_keeps_running_balances(rep, account, primary, posting_specialist):
    post_charges(account, posting_specialist, *["10.00"] * 5)
    client = client_for(rep)
    url = reverse("api:account-ledger", args=[account.reference])
    second = client.get(client.get(f"{url}?page_size=2").json()["next"]).json()
    assert [r["running_balance"] for r in second["results"]] == ["30.00", "40.00"]
    first = client.get(second["previous"]).json()
    assert [r["running_balance"] for r in first["results"]] == ["10.00", "20.00"]
    cursor = parse_qs(urlsplit(second["next"]).query)["cursor"][0]
    assert "p" in parse_qs(base64.b64decode(cursor).decode())


def test_account_ledger_shows_transfers_and_reversals_with_their_links(
    rep, posting_specialist, billed, primary
):
    services.balance_transfer(account=billed, from_coverage=primary, amount="50.00", reason="copay", by=rep)
    charge_entry = LedgerEntry.objects.get(account=billed, amount=D("150.00"))
    services.entry_reverse(entry=charge_entry, reason="duplicate visit", by=posting_specialist)
    rows = client_for(rep).get(reverse("api:account-ledger", args=[billed.reference])).json()["results"]
    assert [(r["kind"], r["amount"], r["running_balance"]) for r in rows] == [
        ("charge", "150.00", "150.00"),
        ("charge", "200.00", "350.00"),
        ("transfer", "-50.00", "300.00"),
        ("transfer", "50.00", "350.00"),
        ("reversal", "-150.00", "200.00"),
    ]
    assert rows[0]["reversed_by"] == rows[4]["reference"]
    assert rows[4]["reverses"] == rows[0]["reference"]
    assert rows[0]["charge"] == str(charge_entry.charge.reference)
    assert (rows[3]["party"], rows[3]["coverage"]) == ("Patient", None)
    assert rows[2]["party"] == primary.plan.payer.name


# --- ledger entries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_ledger_entry_list_matrix_and_filters(who, everyone, billed, other_account):
    client = client_for(everyone(who))
    url = reverse("api:ledger-entry-list")
    response = client.get(url)
    if who == "anonymous":
        assert_status(response, who, {})
        return
    if who == "outsider":
        assert refs(response) == set()
        assert refs(client.get(url, {"account": str(billed.reference)})) == set()
        return
    entries = list(LedgerEntry.objects.filter(account=billed).order_by("-id"))
    # Most recently posted first.
    assert [row["reference"] for row in response.json()["results"]] == [str(e.reference) for e in entries]
    assert len(refs(client.get(url, {"account": str(billed.reference), "kind": "charge"}))) == 2
    assert refs(client.get(url, {"kind": "refund"})) == set()
    today = timezone.localdate()
    assert len(refs(client.get(url, {"posted_from": today.isoformat(), "posted_to": today.isoformat()}))) == 2
    assert refs(client.get(url, {"posted_from": (today + timedelta(days=1)).isoformat()})) == set()
    assert refs(client.get(url, {"posted_to": (today - timedelta(days=1)).isoformat()})) == set()


def test_ledger_entry_list_query_count_does_not_grow(
    rep, account, primary, posting_specialist, django_assert_max_num_queries
):
    post_charges(account, posting_specialist, "10.00")
    client = client_for(rep)
    url = reverse("api:ledger-entry-list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    post_charges(account, posting_specialist, *["10.00"] * 9)
    services.balance_transfer(account=account, from_coverage=primary, amount="5.00", reason="copay", by=rep)
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(url).json()["results"]) == 12


@pytest.mark.parametrize("who", PERSONAS)
def test_ledger_entry_detail_matrix_logs_the_account(who, everyone, billed):
    entry = LedgerEntry.objects.filter(account=billed).first()
    response = client_for(everyone(who)).get(reverse("api:ledger-entry-detail", args=[entry.reference]))
    assert_status(response, who, MEMBERS_READ)
    assert phi_rows(billed) == (1 if response.status_code == 200 else 0)
    if response.status_code == 200:
        body = response.json()
        assert (body["amount"], body["kind"], body["source"], body["reversed_by"]) == (
            "150.00",
            "charge",
            "manual",
            None,
        )
        assert body["actor"]["email"] == "posting@example.test"


@pytest.mark.parametrize("who", PERSONAS)
def test_ledger_entry_reverse_matrix(who, everyone, billed, org):
    entry = LedgerEntry.objects.get(account=billed, amount=D("200.00"))
    response = client_for(everyone(who)).post(
        reverse("api:ledger-entry-reverse", args=[entry.reference]),
        {"reason": "charged the wrong patient"},
        format="json",
    )
    assert_status(response, who, matrix(POSTERS, ok=201))
    billed.refresh_from_db()
    if response.status_code != 201:
        assert billed.balance == D("350.00")
        assert not LedgerEntry.objects.filter(kind="reversal").exists()
        return
    (reversal,) = response.json()
    assert (reversal["kind"], reversal["amount"], reversal["reverses"]) == (
        "reversal",
        "-200.00",
        str(entry.reference),
    )
    assert billed.balance == D("150.00")
    assert Charge.objects.get(pk=entry.charge_id).status == "reversed"
    assert last_event(org, "accounts.entry.reversed").data["reason"] == "charged the wrong patient"


def test_reverse_refuses_twice_reversals_and_a_missing_reason(posting_specialist, billed):
    entry = LedgerEntry.objects.get(account=billed, amount=D("150.00"))
    client = client_for(posting_specialist)
    url = reverse("api:ledger-entry-reverse", args=[entry.reference])
    assert error_fields(client.post(url, {}, format="json")) == {"reason"}
    (reversal,) = client.post(url, {"reason": "duplicate"}, format="json").json()
    response = client.post(url, {"reason": "again"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "invalid_transition")
    response = client.post(
        reverse("api:ledger-entry-reverse", args=[reversal["reference"]]), {"reason": "undo"}, format="json"
    )
    assert response.status_code == 409
    billed.refresh_from_db()
    assert billed.balance == D("200.00")


def test_reversing_one_half_of_a_transfer_reverses_both(posting_specialist, rep, billed, primary):
    out, _into = services.balance_transfer(
        account=billed, from_coverage=primary, amount="70.00", reason="copay", by=rep
    )
    response = client_for(posting_specialist).post(
        reverse("api:ledger-entry-reverse", args=[out.reference]), {"reason": "wrong amount"}, format="json"
    )
    assert response.status_code == 201
    assert sorted(row["amount"] for row in response.json()) == ["-70.00", "70.00"]
    billed.refresh_from_db()
    assert (billed.insurance_balance, billed.patient_balance) == (D("350.00"), D("0.00"))


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_ledger_entries_cannot_be_written_directly(admin_user, billed, method):
    entry = LedgerEntry.objects.filter(account=billed).first()
    client = client_for(admin_user)
    url = (
        reverse("api:ledger-entry-list")
        if method == "post"
        else reverse("api:ledger-entry-detail", args=[entry.reference])
    )
    assert getattr(client, method)(url, {"amount": "1.00"}, format="json").status_code == 405
    assert LedgerEntry.objects.count() == 2


# --- adjustment requests --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_adjustment_request_list_supervisors_see_all_others_their_own(
    who, everyone, billed, primary, other_rep
):
    mine = submit(billed, primary, everyone(who)) if who in ROLES and who != "appeals_coordinator" else None
    colleagues = submit(billed, primary, other_rep, amount="5.00")
    response = client_for(everyone(who)).get(reverse("api:adjustment-request-list"))
    if who == "anonymous":
        assert_status(response, who, {})
        return
    seen = refs(response)
    if who == "outsider" or who == "appeals_coordinator":
        assert seen == set()
    elif who in SUPERVISING:
        assert seen == {str(mine.reference), str(colleagues.reference)}
    else:
        assert seen == {str(mine.reference)}
    detail = client_for(everyone(who)).get(
        reverse("api:adjustment-request-detail", args=[colleagues.reference])
    )
    assert detail.status_code == (200 if who in SUPERVISING else 404)


def test_adjustment_request_filters_and_query_count(
    supervisor, rep, billed, primary, django_assert_max_num_queries
):
    pending = submit(billed, primary, rep, amount="10.00")
    rejected = submit(billed, primary, rep, amount="11.00")
    services.adjustment_request_reject(request=rejected, by=supervisor, note="no")
    client = client_for(supervisor)
    url = reverse("api:adjustment-request-list")
    assert refs(client.get(url, {"status": "pending"})) == {str(pending.reference)}
    assert refs(client.get(url, {"status": "rejected", "account": str(billed.reference)})) == {
        str(rejected.reference)
    }
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(5):
        submit(billed, primary, rep, amount="1.00")
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(url).json()["results"]) == 7


def test_adjustment_request_detail_logs_the_account(supervisor, rep, billed, primary):
    request = submit(billed, primary, rep)
    response = client_for(supervisor).get(reverse("api:adjustment-request-detail", args=[request.reference]))
    assert response.status_code == 200
    assert (response.json()["amount"], response.json()["account_number"]) == ("120.00", billed.account_number)
    assert phi_rows(billed, supervisor) == 1


@pytest.mark.parametrize("who", PERSONAS)
def test_adjustment_request_approve_matrix(who, everyone, limits, billed, primary, other_rep, org):
    request = submit(billed, primary, other_rep)
    response = client_for(everyone(who)).post(
        reverse("api:adjustment-request-approve", args=[request.reference]),
        {"note": "FA letter on file"},
        format="json",
    )
    # Roles that approve nowhere are refused before the reference is even looked up.
    assert_status(response, who, matrix(SUPERVISING))
    request.refresh_from_db()
    billed.refresh_from_db()
    if response.status_code != 200:
        assert (request.status, billed.balance) == ("pending", D("350.00"))
        return
    body = response.json()
    assert (body["status"], body["decision_note"]) == ("approved", "FA letter on file")
    assert body["decided_by"]["reference"] == str(everyone(who).reference)
    entry = LedgerEntry.objects.get(reference=body["entry"])
    assert (entry.kind, entry.amount, entry.actor, entry.coverage) == (
        "other_adjustment",
        D("-120.00"),
        everyone(who),
        primary,
    )
    assert (billed.balance, billed.insurance_balance) == (D("230.00"), D("230.00"))


def test_the_full_approval_flow_through_the_api(rep, supervisor, limits, billed, primary, org):
    rep_client = client_for(rep)
    response = rep_client.post(
        reverse("api:account-adjust", args=[billed.reference]),
        {
            "kind": "write_off",
            "amount": "75.00",
            "reason_code": "BAD_DEBT",
            "memo": "uncollectible",
            "coverage": str(primary.reference),
        },
        format="json",
    )
    # No write-off limit for representatives: it waits for a supervisor.
    assert response.status_code == 202, response.content
    reference = response.json()["reference"]
    assert refs(
        client_for(supervisor).get(reverse("api:adjustment-request-list"), {"status": "pending"})
    ) == {reference}

    ApprovalLimitFactory(
        organization=org, role=Role.SUPERVISOR, kind=ApprovalLimit.Kind.WRITE_OFF, max_amount=D("500.00")
    )
    response = client_for(supervisor).post(
        reverse("api:adjustment-request-approve", args=[reference]), {}, format="json"
    )
    assert response.status_code == 200, response.content
    entry = rep_client.get(reverse("api:ledger-entry-detail", args=[response.json()["entry"]])).json()
    assert (entry["kind"], entry["amount"], entry["reason_code"]) == ("write_off", "-75.00", "BAD_DEBT")
    header = rep_client.get(reverse("api:account-detail", args=[billed.reference])).json()
    assert (header["balance"], header["buckets"][0]["balance"]) == ("275.00", "275.00")


def test_nobody_approves_their_own_request(supervisor, admin_user, limits, billed, primary):
    ApprovalLimit.objects.filter(role=Role.SUPERVISOR).update(max_amount=D("100.00"))
    request = submit(billed, primary, supervisor, amount="340.00")
    url = reverse("api:adjustment-request-approve", args=[request.reference])
    response = client_for(supervisor).post(url, {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "not_permitted")
    request.refresh_from_db()
    assert request.status == "pending"
    assert client_for(admin_user).post(url, {}, format="json").status_code == 200


def test_approval_needs_a_limit_that_covers_the_amount(supervisor, rep, limits, billed, primary):
    request = submit(billed, primary, rep, amount="120.00")
    ApprovalLimit.objects.filter(role=Role.SUPERVISOR).update(max_amount=D("100.00"))
    response = client_for(supervisor).post(
        reverse("api:adjustment-request-approve", args=[request.reference]), {}, format="json"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, "approval_required")
    request.refresh_from_db()
    assert request.status == "pending"


def test_approval_is_refused_when_the_balance_dropped_meanwhile(
    supervisor, rep, limits, billed, primary, posting_specialist
):
    request = submit(billed, primary, rep, amount="300.00")
    services.entry_reverse(
        entry=LedgerEntry.objects.get(account=billed, amount=D("200.00")),
        reason="wrong code",
        by=posting_specialist,
    )
    response = client_for(supervisor).post(
        reverse("api:adjustment-request-approve", args=[request.reference]), {}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "amount"


@pytest.mark.parametrize("who", PERSONAS)
def test_adjustment_request_reject_matrix(who, everyone, billed, primary, other_rep):
    request = submit(billed, primary, other_rep)
    response = client_for(everyone(who)).post(
        reverse("api:adjustment-request-reject", args=[request.reference]),
        {"note": "apply for financial assistance first"},
        format="json",
    )
    assert_status(response, who, matrix(SUPERVISING))
    request.refresh_from_db()
    assert request.status == ("rejected" if response.status_code == 200 else "pending")
    if response.status_code == 200:
        assert response.json()["decision_note"] == "apply for financial assistance first"
        assert not LedgerEntry.objects.filter(kind="other_adjustment").exists()


def test_reject_needs_a_note_and_a_pending_request(supervisor, rep, billed, primary):
    request = submit(billed, primary, rep)
    url = reverse("api:adjustment-request-reject", args=[request.reference])
    client = client_for(supervisor)
    assert error_fields(client.post(url, {}, format="json")) == {"note"}
    assert error_fields(client.post(url, {"note": ""}, format="json")) == {"note"}
    assert client.post(url, {"note": "no"}, format="json").status_code == 200
    response = client.post(url, {"note": "no again"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "invalid_transition")


def test_a_rep_who_supervises_elsewhere_cannot_approve_here(rep, other_rep, other_org, billed, primary):
    MembershipFactory(organization=other_org, user=rep, role=Role.SUPERVISOR)
    request = submit(billed, primary, rep)
    # The rep sees their own request, but approving needs a supervisor of *this* organization.
    response = client_for(rep).post(
        reverse("api:adjustment-request-approve", args=[request.reference]), {}, format="json"
    )
    assert response.status_code == 403


def test_withdraw_is_for_the_requester(rep, other_rep, supervisor, limits, billed, primary):
    request = submit(billed, primary, rep)
    url = reverse("api:adjustment-request-withdraw", args=[request.reference])
    assert client_for(other_rep).post(url, format="json").status_code == 404  # not theirs to see
    response = client_for(supervisor).post(url, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "not_permitted")
    response = client_for(rep).post(url, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    response = client_for(supervisor).post(
        reverse("api:adjustment-request-approve", args=[request.reference]), {}, format="json"
    )
    assert response.status_code == 409
    assert client_for(rep).post(url, format="json").status_code == 409


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_adjustment_requests_are_made_through_adjust_only(admin_user, rep, billed, primary, method):
    request = submit(billed, primary, rep)
    client = client_for(admin_user)
    url = (
        reverse("api:adjustment-request-list")
        if method == "post"
        else reverse("api:adjustment-request-detail", args=[request.reference])
    )
    assert getattr(client, method)(url, {"status": "approved"}, format="json").status_code == 405
    request.refresh_from_db()
    assert request.status == "pending"
