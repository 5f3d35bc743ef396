from datetime import date

from core.calendar import BusinessCalendar


def test_weekends_and_federal_holidays_are_not_business_days():
    cal = BusinessCalendar()
    assert not cal.is_business_day(date(2026, 11, 21))  # Saturday
    assert not cal.is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert not cal.is_business_day(date(2026, 7, 3))  # Independence Day (Sat) observed on Friday
    assert cal.is_business_day(date(2026, 11, 27))
    assert cal.closed_reason(date(2026, 11, 22)) == "weekend"
    assert "Thanksgiving" in cal.closed_reason(date(2026, 11, 26))
    assert cal.closed_reason(date(2026, 11, 24)) is None


def test_organization_closures_count_as_closed():
    cal = BusinessCalendar([date(2026, 11, 27)])
    assert not cal.is_business_day(date(2026, 11, 27))
    assert cal.closed_reason(date(2026, 11, 27)) == "organization closure"


def test_add_business_days_skips_holidays_and_closures():
    cal = BusinessCalendar([date(2026, 11, 27)])
    # Wednesday + 1 business day over Thanksgiving and the closure → Monday.
    assert cal.add_business_days(date(2026, 11, 25), 1) == date(2026, 11, 30)
    # Friday + 1 → Monday (the start day never counts).
    assert cal.add_business_days(date(2026, 11, 20), 1) == date(2026, 11, 23)
    assert cal.add_business_days(date(2026, 11, 30), -1) == date(2026, 11, 25)
    assert cal.add_business_days(date(2026, 11, 30), 0) == date(2026, 11, 30)


def test_business_days_between_is_antisymmetric():
    cal = BusinessCalendar()
    assert cal.business_days_between(date(2026, 11, 20), date(2026, 11, 30)) == 5
    assert cal.business_days_between(date(2026, 11, 30), date(2026, 11, 20)) == -5


def test_calendar_day_clock_rolls_to_next_business_day():
    cal = BusinessCalendar()
    # 30 calendar days after 2026-10-25 is Tuesday 2026-11-24.
    assert cal.add_calendar_days(date(2026, 10, 25), 30) == date(2026, 11, 24)
    # …after 2026-10-27 is Thanksgiving → rolls to Friday.
    assert cal.add_calendar_days(date(2026, 10, 27), 30) == date(2026, 11, 27)
    assert cal.add_calendar_days(date(2026, 10, 27), 30, roll_forward=False) == date(2026, 11, 26)
