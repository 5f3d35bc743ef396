"""Fee schedule CSV import: the whole file is checked first, every problem is reported with its
line and column, nothing is written unless all rows are good, and importing again is idempotent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.csvimport import CsvRejected
from core.errors import NotPermitted
from payers import services
from payers.models import FeeScheduleEntry
from tests.payers.helpers import events, last_event

pytestmark = pytest.mark.django_db

GOOD = (
    "code,modifier,allowed_amount,percent_of_charges,effective_from,effective_to\n"
    "99213,,85.00,,2024-01-01,\n"
    '99213,25,"$1,092.50",,01/01/2024,12/31/2024\n'
    "j1885,jw,,80%,2024-01-01,\n"
    "80053,,12.4,,2024-03-01,\n"
)


def run_import(contract, user, content, **kwargs):
    return services.fee_schedule_import(
        contract=contract, content=content, by=user, filename="fees.csv", **kwargs
    )


def problems(caught) -> list[tuple[int, str]]:
    return [(error.line, error.column) for error in caught.value.errors]


def test_a_good_file_is_imported_with_history_and_a_timeline_event(contract, org, admin_user):
    result = run_import(contract, admin_user, GOOD.encode())
    assert (result.created, len(result.updated), result.unchanged, result.ended) == (4, 0, 0, 0)
    assert result.summary == "4 prices added, 0 changed, 0 unchanged"
    rows = {
        (e.code, e.modifier): (e.allowed_amount, e.percent_of_charges, e.effective_from, e.effective_to)
        for e in FeeScheduleEntry.objects.filter(contract=contract)
    }
    assert rows == {
        ("99213", ""): (Decimal("85.00"), None, date(2024, 1, 1), None),
        ("99213", "25"): (Decimal("1092.50"), None, date(2024, 1, 1), date(2024, 12, 31)),
        ("J1885", "JW"): (None, Decimal("80.00"), date(2024, 1, 1), None),
        ("80053", ""): (Decimal("12.40"), None, date(2024, 3, 1), None),
    }
    assert all(e.organization_id == org.pk for e in FeeScheduleEntry.objects.filter(contract=contract))
    history = FeeScheduleEntry.history.filter(contract=contract)
    assert history.count() == 4
    assert {(h.history_type, h.history_change_reason, h.history_user_id) for h in history} == {
        ("+", "imported from fees.csv", admin_user.pk)
    }
    event = last_event(org, "payers.fee_schedule.imported")
    assert event.subject == contract.payer
    assert (event.data["created"], event.data["updated"], event.data["rows"]) == (4, 0, 4)


def test_a_file_with_several_bad_rows_reports_each_and_imports_nothing(contract, org, admin_user):
    content = (
        "code,modifier,allowed_amount,percent_of_charges,effective_from,effective_to\n"
        "99213,,85.00,,2024-01-01,\n"  # line 2: good
        ",,10.00,,2024-01-01,\n"  # line 3: no code
        "99214,,abc,,2024-01-01,\n"  # line 4: not money
        "99215,,10.00,50,2024-01-01,\n"  # line 5: both prices
        "99215,XYZ,,,2024-13-01,\n"  # line 6: bad modifier, no price, bad date
        "99211,,5.00,,2024-02-01,2024-01-31\n"  # line 7: ends before it starts
        "99213,,86.00,,2024-01-01,\n"  # line 8: duplicate of line 2
        "99212,,5.00,,2023-06-01,\n"  # line 9: before the contract starts
    )
    before = events(org).count()
    with pytest.raises(CsvRejected) as caught:
        run_import(contract, admin_user, content)
    assert problems(caught) == [
        (3, "code"),
        (4, "allowed_amount"),
        (5, "percent_of_charges"),
        (6, "modifier"),
        (6, "allowed_amount"),
        (6, "effective_from"),
        (7, "effective_to"),
        (8, "code"),
        (9, "effective_from"),
    ]
    messages = {(e.line, e.column): e.message for e in caught.value.errors}
    assert messages[(8, "code")] == "99213 from 2024-01-01 is also on line 2; keep one"
    assert messages[(6, "effective_from")] == "not a date; use YYYY-MM-DD or MM/DD/YYYY"
    assert "before the contract starts (2024-01-01)" in messages[(9, "effective_from")]
    assert caught.value.message == "9 problems found; nothing was imported"
    assert str(caught.value.errors[0]) == "line 3, column code: enter the procedure, revenue or drug code"
    assert not FeeScheduleEntry.objects.filter(contract=contract).exists()
    assert not FeeScheduleEntry.history.filter(contract=contract).exists()
    assert events(org).count() == before


def test_overlapping_rows_in_the_file_and_with_existing_prices_are_reported(contract, admin_user):
    services.fee_schedule_entry_create(
        contract=contract, code="99214", allowed_amount="100", effective_from=date(2024, 1, 1), by=admin_user
    )
    content = (
        "code,allowed_amount,effective_from,effective_to\n"
        "99213,85,2024-01-01,2024-12-31\n"
        "99213,88,2024-06-01,\n"  # line 3: overlaps line 2
        "99214,110,2025-01-01,\n"  # line 4: overlaps the existing open-ended price
    )
    with pytest.raises(CsvRejected) as caught:
        run_import(contract, admin_user, content)
    assert problems(caught) == [(3, "effective_from"), (4, "effective_from")]
    assert "overlaps line 2 (2024-01-01 to 2024-12-31)" in caught.value.errors[0].message
    assert (
        "overlaps the existing price $100.00 (2024-01-01 with no end date)" in caught.value.errors[1].message
    )
    assert FeeScheduleEntry.objects.filter(contract=contract).count() == 1


def test_end_previous_ends_existing_prices_the_day_before_the_new_ones(contract, org, admin_user):
    old = services.fee_schedule_entry_create(
        contract=contract, code="99214", allowed_amount="100", effective_from=date(2024, 1, 1), by=admin_user
    )
    content = "code,allowed_amount,effective_from\n99214,110,2025-01-01\n"
    result = run_import(contract, admin_user, content, end_previous=True)
    assert (result.created, result.ended) == (1, 1)
    old.refresh_from_db()
    assert old.effective_to == date(2024, 12, 31)
    record = old.history.order_by("-history_id").first()
    assert (record.history_type, record.history_change_reason) == ("~", "ended by import of fees.csv")
    # Importing the same file again is still a no-op.
    again = run_import(contract, admin_user, content, end_previous=True)
    assert (again.created, again.ended, again.unchanged) == (0, 0, 1)


def test_importing_the_same_file_again_changes_nothing(contract, org, admin_user):
    run_import(contract, admin_user, GOOD)
    history, timeline = FeeScheduleEntry.history.count(), events(org).count()
    result = run_import(contract, admin_user, GOOD)
    assert (result.created, len(result.updated), result.unchanged) == (0, 0, 4)
    assert FeeScheduleEntry.objects.filter(contract=contract).count() == 4
    assert FeeScheduleEntry.history.count() == history
    assert events(org).count() == timeline + 1  # the import itself is on the timeline


def test_a_new_price_for_the_same_key_updates_the_entry_and_is_reported(contract, org, admin_user):
    run_import(contract, admin_user, GOOD)
    changed = GOOD.replace("99213,,85.00,,2024-01-01,", "99213,,87.00,,2024-01-01,")
    result = run_import(contract, admin_user, changed)
    assert (result.created, result.unchanged) == (0, 3)
    assert [str(change) for change in result.updated] == ["99213 from 2024-01-01: $85.00 → $87.00"]
    assert result.updated[0].line == 2
    entry = FeeScheduleEntry.objects.get(contract=contract, code="99213", modifier="")
    assert entry.allowed_amount == Decimal("87.00")
    record = entry.history.order_by("-history_id").first()
    assert (record.history_type, record.history_change_reason, record.history_user) == (
        "~",
        "changed by import of fees.csv",
        admin_user,
    )
    assert last_event(org, "payers.fee_schedule.imported").data["changes"] == [
        "99213 from 2024-01-01: $85.00 → $87.00"
    ]


def test_a_file_that_is_not_a_fee_schedule_is_refused_whole(contract, admin_user):
    with pytest.raises(CsvRejected) as caught:
        run_import(contract, admin_user, "code,price\n99213,85\n")
    assert problems(caught) == [(1, "effective_from"), (1, "price")]
    with pytest.raises(CsvRejected) as caught:
        run_import(contract, admin_user, b"\xff\xfe not utf-8")
    assert "not UTF-8" in caught.value.errors[0].message
    with pytest.raises(CsvRejected):
        run_import(contract, admin_user, "code,effective_from\n")


def test_only_admins_import_fee_schedules(contract, supervisor, rep):
    for user in (supervisor, rep):
        with pytest.raises(NotPermitted):
            run_import(contract, user, GOOD)
    assert not FeeScheduleEntry.objects.exists()
