"""The schedule function: every frequency, month ends, leap years, DST both ways, cron validation."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from subscriptions.schedule import (
    NAMED_FREQUENCIES,
    InvalidFrequency,
    describe_frequency,
    next_run_after,
    nth_run,
    validate_frequency,
)

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def series(anchor: datetime, frequency: str, time_zone: str = "UTC", count: int = 6) -> list[datetime]:
    """The runs after the anchor, each computed from the previous one as the scheduler does."""
    runs, after = [], anchor
    for _ in range(count):
        after = next_run_after(anchor=anchor, frequency=frequency, time_zone=time_zone, after=after)
        runs.append(after)
    return runs


# --- Named frequencies --------------------------------------------------------------------------

PERIODS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
}


@pytest.mark.parametrize("frequency", sorted(PERIODS))
def test_fixed_periods_in_utc(frequency):
    anchor = utc(2026, 3, 10, 9, 30)
    assert series(anchor, frequency, count=5) == [anchor + PERIODS[frequency] * n for n in range(1, 6)]


@pytest.mark.parametrize(
    ("frequency", "months"),
    [("monthly", 1), ("two-month", 2), ("three-month", 3), ("four-month", 4), ("six-month", 6), ("yearly", 12)],
)
def test_month_based_frequencies_step_whole_months(frequency, months):
    anchor = utc(2026, 1, 15, 9, 0)
    runs = series(anchor, frequency, count=4)
    expected_months = [(anchor.month - 1 + months * n) for n in range(1, 5)]
    assert [(run.year, run.month) for run in runs] == [(2026 + m // 12, m % 12 + 1) for m in expected_months]
    assert all((run.day, run.hour, run.minute) == (15, 9, 0) for run in runs)


def test_every_named_frequency_is_accepted_and_described():
    for frequency in NAMED_FREQUENCIES:
        validate_frequency(frequency)
        assert describe_frequency(frequency).startswith("Every")


# --- Month ends and leap years ----------------------------------------------------------------


def test_jan_31_stays_on_the_31st_without_drifting():
    runs = series(utc(2026, 1, 31, 9, 0), "monthly", count=7)
    assert [run.date().isoformat() for run in runs] == [
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
        "2026-07-31",
        "2026-08-31",
    ]


def test_jan_31_in_a_leap_year_runs_feb_29():
    assert [run.date().isoformat() for run in series(utc(2028, 1, 31, 9, 0), "monthly", count=3)] == [
        "2028-02-29",
        "2028-03-31",
        "2028-04-30",
    ]


def test_jan_30_clamps_only_in_february():
    assert [run.day for run in series(utc(2026, 1, 30), "monthly", count=4)] == [28, 30, 30, 30]


def test_feb_29_yearly_runs_feb_28_then_back_on_the_29th_in_leap_years():
    runs = series(utc(2024, 2, 29, 12, 0), "yearly", count=4)
    assert [run.date().isoformat() for run in runs] == ["2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]


def test_aug_31_every_six_months_runs_feb_28_or_29():
    runs = series(utc(2027, 8, 31), "six-month", count=3)
    assert [run.date().isoformat() for run in runs] == ["2028-02-29", "2028-08-31", "2029-02-28"]


def test_nov_30_every_three_months_keeps_the_30th():
    runs = series(utc(2026, 11, 30), "three-month", count=4)
    assert [run.date().isoformat() for run in runs] == ["2027-02-28", "2027-05-30", "2027-08-30", "2027-11-30"]


@pytest.mark.parametrize("day", range(28, 32))
def test_every_month_end_anchor_day_over_four_years(day):
    anchor = utc(2024, 1, day, 6, 0)
    for run in series(anchor, "monthly", count=48):
        last_day = (run.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        assert run.day == min(day, last_day.day)
        assert (run.hour, run.minute) == (6, 0)


# --- Daylight saving time ---------------------------------------------------------------------


def test_daily_in_rome_keeps_09_00_local_across_spring_forward():
    anchor = datetime(2026, 3, 27, 9, 0, tzinfo=ROME).astimezone(UTC)
    runs = series(anchor, "daily", "Europe/Rome", count=4)
    assert [run.astimezone(ROME).strftime("%m-%d %H:%M %Z") for run in runs] == [
        "03-28 09:00 CET",
        "03-29 09:00 CEST",
        "03-30 09:00 CEST",
        "03-31 09:00 CEST",
    ]
    assert runs[1] - runs[0] == timedelta(hours=23)


def test_daily_in_rome_keeps_09_00_local_across_fall_back():
    anchor = datetime(2026, 10, 23, 9, 0, tzinfo=ROME).astimezone(UTC)
    runs = series(anchor, "daily", "Europe/Rome", count=3)
    assert [run.astimezone(ROME).strftime("%m-%d %H:%M %Z") for run in runs] == [
        "10-24 09:00 CEST",
        "10-25 09:00 CET",
        "10-26 09:00 CET",
    ]
    assert runs[1] - runs[0] == timedelta(hours=25)


def test_monthly_in_rome_is_09_00_local_in_winter_and_summer():
    anchor = datetime(2026, 1, 15, 9, 0, tzinfo=ROME).astimezone(UTC)
    runs = series(anchor, "monthly", "Europe/Rome", count=11)
    assert {run.astimezone(ROME).strftime("%H:%M") for run in runs} == {"09:00"}
    assert {run.strftime("%H:%M") for run in runs} == {"08:00", "07:00"}  # UTC moves, local does not


def test_weekly_in_new_york_across_both_changes():
    anchor = datetime(2026, 3, 1, 7, 30, tzinfo=NEW_YORK).astimezone(UTC)
    runs = series(anchor, "weekly", "America/New_York", count=40)
    assert {run.astimezone(NEW_YORK).strftime("%a %H:%M") for run in runs} == {"Sun 07:30"}


def test_a_local_time_skipped_by_spring_forward_runs_later_that_day():
    anchor = datetime(2026, 3, 28, 2, 30, tzinfo=ROME).astimezone(UTC)  # 02:30 does not exist on Mar 29
    runs = series(anchor, "daily", "Europe/Rome", count=3)
    assert [run.astimezone(ROME).strftime("%m-%d %H:%M") for run in runs] == [
        "03-29 03:30",
        "03-30 02:30",
        "03-31 02:30",
    ]


def test_a_local_time_repeated_by_fall_back_runs_once_at_its_first_occurrence():
    anchor = datetime(2026, 10, 24, 2, 30, tzinfo=ROME).astimezone(UTC)  # 02:30 happens twice on Oct 25
    runs = series(anchor, "daily", "Europe/Rome", count=2)
    first = runs[0].astimezone(ROME)
    assert (first.day, first.hour, first.minute, first.tzname()) == (25, 2, 30, "CEST")
    assert runs[1].astimezone(ROME).strftime("%m-%d %H:%M %Z") == "10-26 02:30 CET"


def test_hourly_counts_elapsed_hours_through_dst_changes():
    anchor = datetime(2026, 3, 29, 0, 0, tzinfo=ROME).astimezone(UTC)
    runs = series(anchor, "hourly", "Europe/Rome", count=5)
    assert [b - a for a, b in zip([anchor, *runs], runs, strict=False)] == [timedelta(hours=1)] * 5


# --- Cron -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "30 * * * *",
        "0 9 * * 1-5",
        "0 0 1 * *",
        "15 6 * * 0",
        "0 */2 * * *",
        "45 23 31 12 *",
        "5 4 * * sun",
        "0 0 29 2 *",
    ],
)
def test_cron_expressions_that_fire_at_most_hourly_are_valid(expression):
    validate_frequency(expression)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("* * * * *", "more than once an hour"),
        ("*/20 * * * *", "more than once an hour"),
        ("0,30 * * * *", "more than once an hour"),
        ("0-5 * * * *", "more than once an hour"),
        ("* * 1 * *", "more than once an hour"),
        ("0 0 30 2 *", "never runs"),
        ("0 9 * *", "5 fields"),
        ("0 0 9 * * *", "5 fields"),
        ("@hourly", "5 fields"),
        ("61 * * * *", "not a valid cron"),
        ("0 25 * * *", "not a valid cron"),
        ("fortnightly", "5 fields"),
        ("", "blank"),
    ],
)
def test_invalid_frequencies_are_rejected_with_a_reason(expression, reason):
    with pytest.raises(InvalidFrequency, match=reason):
        validate_frequency(expression)


def test_cron_runs_on_the_market_wall_clock():
    anchor = utc(2026, 6, 1)
    runs = series(anchor, "0 9 * * 1-5", "Europe/Rome", count=5)
    assert [run.astimezone(ROME).strftime("%a %H:%M") for run in runs] == [
        "Mon 09:00",
        "Tue 09:00",
        "Wed 09:00",
        "Thu 09:00",
        "Fri 09:00",
    ]


def test_cron_across_spring_forward():
    runs = series(utc(2026, 3, 28), "30 2 * * *", "Europe/Rome", count=3)
    assert [run.astimezone(ROME).strftime("%m-%d %H:%M") for run in runs] == [
        "03-28 02:30",
        "03-29 03:30",
        "03-30 02:30",
    ]


def test_hourly_cron_in_a_fall_back_hour_runs_once_per_wall_clock_time():
    start = datetime(2026, 10, 25, 0, 0, tzinfo=ROME).astimezone(UTC)
    runs = series(start, "30 * * * *", "Europe/Rome", count=5)
    local = [run.astimezone(ROME).strftime("%H:%M %Z") for run in runs]
    assert local == ["00:30 CEST", "01:30 CEST", "02:30 CEST", "03:30 CET", "04:30 CET"]
    assert all(b > a for a, b in zip(runs, runs[1:], strict=False))


def test_cron_next_run_never_precedes_the_anchor():
    anchor = utc(2026, 5, 10, 12, 0)
    assert next_run_after(anchor=anchor, frequency="0 9 * * *", time_zone="UTC", after=utc(2026, 1, 1)) == utc(
        2026, 5, 11, 9, 0
    )


def test_cron_is_described_in_plain_english():
    assert describe_frequency("30 * * * *") == "At 30 minutes past the hour"
    assert "Monday through Friday" in describe_frequency("0 9 * * 1-5")


# --- The next run after any moment ------------------------------------------------------------


def test_next_run_after_a_moment_before_the_anchor_is_the_anchor():
    anchor = utc(2026, 5, 1)
    assert next_run_after(anchor=anchor, frequency="monthly", time_zone="UTC", after=utc(2026, 4, 1)) == anchor


def test_next_run_is_strictly_after_the_given_moment():
    anchor = utc(2026, 1, 31, 9, 0)
    feb = next_run_after(anchor=anchor, frequency="monthly", time_zone="UTC", after=utc(2026, 2, 28, 9, 0))
    assert feb == utc(2026, 3, 31, 9, 0)


def test_catch_up_jumps_to_the_next_future_slot_far_from_the_anchor():
    anchor = utc(2016, 1, 31, 9, 0)
    after = utc(2026, 6, 15, 12, 0)
    assert next_run_after(anchor=anchor, frequency="monthly", time_zone="UTC", after=after) == utc(2026, 6, 30, 9, 0)
    assert next_run_after(anchor=anchor, frequency="hourly", time_zone="UTC", after=after) == utc(2026, 6, 15, 13, 0)


@pytest.mark.parametrize("frequency", sorted(NAMED_FREQUENCIES))
def test_next_run_after_matches_counting_periods_from_the_anchor(frequency):
    anchor = datetime(2025, 1, 31, 8, 15, tzinfo=ROME).astimezone(UTC)
    runs = [nth_run(anchor, frequency, "Europe/Rome", n) for n in range(0, 30)]
    for earlier, later in zip(runs, runs[1:], strict=False):
        middle = earlier + (later - earlier) / 2
        assert next_run_after(anchor=anchor, frequency=frequency, time_zone="Europe/Rome", after=earlier) == later
        assert next_run_after(anchor=anchor, frequency=frequency, time_zone="Europe/Rome", after=middle) == later


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run_after(anchor=datetime(2026, 1, 1), frequency="daily", time_zone="UTC", after=utc(2026, 1, 1))
