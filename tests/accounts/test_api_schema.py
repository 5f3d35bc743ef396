"""The accounts part of the OpenAPI schema: every endpoint is there, money is a string, changes need a
reason, and enums with a shared field name (``status``, ``kind``) keep names of their own."""

from __future__ import annotations

import contextlib
import io

import pytest
import yaml
from django.core.management import call_command

MINE = ("accounts/api/views.py", "accounts/api/serializers.py", "accounts/api/filters.py")


@pytest.fixture(scope="module")
def generated(django_db_blocker, tmp_path_factory):
    """The schema and what drf-spectacular said while building it."""
    target = tmp_path_factory.mktemp("schema") / "schema.yaml"
    said = io.StringIO()
    with django_db_blocker.unblock(), contextlib.redirect_stderr(said):
        call_command("spectacular", "--validate", "--file", str(target))
    return yaml.safe_load(target.read_text()), said.getvalue()


@pytest.fixture
def schema(generated):
    return generated[0]


def test_the_accounts_api_builds_without_schema_warnings(generated):
    # The whole project's schema is held to --fail-on-warn in tests/core/test_api_schema.py.
    _, said = generated
    assert not [line for line in said.splitlines() if any(path in line for path in MINE)], said


ENDPOINTS = {
    "/api/v1/patients/": {"get", "post"},
    "/api/v1/patients/{reference}/": {"get"},
    "/api/v1/patients/{reference}/update/": {"post"},
    "/api/v1/coverages/": {"get", "post"},
    "/api/v1/coverages/{reference}/": {"get"},
    "/api/v1/coverages/{reference}/update/": {"post"},
    "/api/v1/coverages/{reference}/verify/": {"post"},
    "/api/v1/authorized-contacts/": {"get", "post"},
    "/api/v1/authorized-contacts/{reference}/": {"get"},
    "/api/v1/authorized-contacts/{reference}/end/": {"post"},
    "/api/v1/accounts/": {"get", "post"},
    "/api/v1/accounts/{reference}/": {"get"},
    "/api/v1/accounts/{reference}/update/": {"post"},
    "/api/v1/accounts/{reference}/change-status/": {"post"},
    "/api/v1/accounts/{reference}/transfer/": {"post"},
    "/api/v1/accounts/{reference}/adjust/": {"post"},
    "/api/v1/accounts/{reference}/charges/": {"post"},
    "/api/v1/accounts/{reference}/ledger/": {"get"},
    "/api/v1/charges/": {"get"},
    "/api/v1/charges/{reference}/": {"get"},
    "/api/v1/charges/{reference}/correct/": {"post"},
    "/api/v1/charges/{reference}/override-edit/": {"post"},
    "/api/v1/ledger-entries/": {"get"},
    "/api/v1/ledger-entries/{reference}/": {"get"},
    "/api/v1/ledger-entries/{reference}/reverse/": {"post"},
    "/api/v1/adjustment-requests/": {"get"},
    "/api/v1/adjustment-requests/{reference}/": {"get"},
    "/api/v1/adjustment-requests/{reference}/approve/": {"post"},
    "/api/v1/adjustment-requests/{reference}/reject/": {"post"},
    "/api/v1/adjustment-requests/{reference}/withdraw/": {"post"},
}


def test_every_accounts_endpoint_is_documented_with_only_its_methods(schema):
    for path, methods in ENDPOINTS.items():
        assert set(schema["paths"][path]) == methods, path


def test_money_is_a_decimal_string_in_and_out(schema):
    components = schema["components"]["schemas"]
    for name, field in [
        ("Account", "balance"),
        ("AccountDetail", "patient_balance"),
        ("LedgerEntry", "amount"),
        ("AccountLedgerEntry", "running_balance"),
        ("AdjustmentRequest", "amount"),
        ("Charge", "amount"),
        ("AccountBucket", "balance"),
        ("AccountTransferInputRequest", "amount"),
        ("AccountAdjustInputRequest", "amount"),
        ("ChargeLineInputRequest", "amount"),
    ]:
        assert components[name]["properties"][field]["type"] == "string", (name, field)
    assert set(components["BucketAging"]["properties"]) == {"0-30", "31-60", "61-90", "91-120", "120+"}


def test_changes_need_a_reason(schema):
    components = schema["components"]["schemas"]
    for name in (
        "PatientUpdateInputRequest",
        "CoverageUpdateInputRequest",
        "AccountUpdateInputRequest",
        "AccountChangeStatusInputRequest",
        "AccountTransferInputRequest",
        "ChargeCorrectInputRequest",
        "ChargeOverrideEditInputRequest",
        "LedgerEntryReverseInputRequest",
        "AuthorizedContactEndInputRequest",
    ):
        assert "reason" in components[name]["required"], name
    assert components["PatientUpdateInputRequest"]["required"] == ["reason"]
    assert "note" in components["AdjustmentRequestRejectInputRequest"]["required"]


def test_statuses_and_kinds_have_enum_names_of_their_own(schema):
    components = schema["components"]["schemas"]
    assert components["AccountStatusEnum"]["enum"] == [
        "open",
        "self_pay",
        "in_collections",
        "bad_debt",
        "closed",
    ]
    assert components["AdjustmentRequestStatusEnum"]["enum"] == [
        "pending",
        "approved",
        "rejected",
        "withdrawn",
    ]
    assert components["AdjustmentKindEnum"]["enum"] == [
        "contractual_adjustment",
        "other_adjustment",
        "write_off",
    ]
    assert components["CoveragePriorityEnum"] == {
        "type": "integer",
        "enum": [1, 2, 3],
        "description": "* `1` - Primary\n* `2` - Secondary\n* `3` - Tertiary",
    }
    status = components["Account"]["properties"]["status"]
    assert status["allOf"] == [{"$ref": "#/components/schemas/AccountStatusEnum"}]
    assert components["AccountChangeStatusInputRequest"]["properties"]["status"] == {
        "$ref": "#/components/schemas/AccountStatusEnum"
    }


def test_adjust_documents_both_outcomes(schema):
    responses = schema["paths"]["/api/v1/accounts/{reference}/adjust/"]["post"]["responses"]
    assert responses["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LedgerEntry"
    }
    assert responses["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AdjustmentRequest"
    }


def test_the_ledger_is_paged_by_cursor(schema):
    operation = schema["paths"]["/api/v1/accounts/{reference}/ledger/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"cursor", "page_size", "reference"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/PaginatedAccountLedgerEntryList")
