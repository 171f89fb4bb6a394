"""Schedule maths: which frequencies are valid and when a subscription runs next.

Pure functions, no ORM. Calendar frequencies count from the anchor (the first
run) on the market's wall clock, so month ends never drift (Jan 31 runs Feb 28,
Mar 31, Apr 30) and a 09:00 subscription stays at 09:00 local time across
daylight-saving changes. `hourly` counts elapsed hours. Cron expressions are
matched on the market's wall clock. Every returned time is UTC.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter
from dateutil.relativedelta import relativedelta


@dataclass(frozen=True)
class Period:
    step: relativedelta
    longest: timedelta  # an upper bound for one step, used to skip ahead quickly
    words: str


NAMED_FREQUENCIES: dict[str, Period] = {
    "hourly": Period(relativedelta(hours=1), timedelta(hours=1), "Every hour"),
    "daily": Period(relativedelta(days=1), timedelta(days=1, hours=1), "Every day"),
    "weekly": Period(relativedelta(weeks=1), timedelta(weeks=1, hours=1), "Every week"),
    "monthly": Period(relativedelta(months=1), timedelta(days=31, hours=1), "Every month"),
    "two-month": Period(relativedelta(months=2), timedelta(days=62, hours=1), "Every two months"),
    "three-month": Period(relativedelta(months=3), timedelta(days=92, hours=1), "Every three months"),
    "four-month": Period(relativedelta(months=4), timedelta(days=123, hours=1), "Every four months"),
    "six-month": Period(relativedelta(months=6), timedelta(days=184, hours=1), "Every six months"),
    "yearly": Period(relativedelta(years=1), timedelta(days=366, hours=1), "Every year"),
}


class InvalidFrequency(ValueError):
    """The frequency is neither a named frequency nor an allowed cron expression."""


def is_cron(frequency: str) -> bool:
    return frequency not in NAMED_FREQUENCIES


def validate_frequency(frequency: str) -> None:
    """Accept a named frequency or a 5-field cron expression that fires at most once in any hour."""
    if frequency in NAMED_FREQUENCIES:
        return
    if not isinstance(frequency, str) or not frequency.strip():
        raise InvalidFrequency("can't be blank")
    fields = frequency.split()
    if len(fields) != 5:
        raise InvalidFrequency(f"must be one of {', '.join(NAMED_FREQUENCIES)}, or a cron expression with 5 fields")
    try:
        expanded = croniter(frequency).expanded
    except (CroniterBadCronError, CroniterError, ValueError, KeyError) as exc:
        raise InvalidFrequency(f"is not a valid cron expression ({exc})") from None
    minutes = expanded[0]
    # With one minute value the expression can match at most once in any hour.
    if len(minutes) != 1 or minutes[0] == "*":
        raise InvalidFrequency("must not run more than once an hour (use a single minute, e.g. '30 * * * *')")
    try:
        croniter(frequency, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise InvalidFrequency("never runs") from None


def _zone(time_zone: str) -> ZoneInfo:
    return ZoneInfo(time_zone or "UTC")


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("schedule times must be timezone-aware")
    return moment.astimezone(UTC)


def _localize(wall_clock: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall-clock time as UTC.

    A time skipped by a spring-forward change lands that many minutes later; a
    time repeated by a fall-back change means its first occurrence (fold=0).
    """
    return wall_clock.replace(tzinfo=zone, fold=0).astimezone(UTC)


def nth_run(anchor: datetime, frequency: str, time_zone: str, n: int) -> datetime:
    """The run `n` periods after the anchor (n=0 is the anchor) for a named frequency."""
    period = NAMED_FREQUENCIES[frequency]
    anchor = _as_utc(anchor)
    if frequency == "hourly":
        return anchor + timedelta(hours=n)
    zone = _zone(time_zone)
    local_anchor = anchor.astimezone(zone).replace(tzinfo=None)
    # Always add n periods to the anchor, never one period to the previous run:
    # relativedelta clamps Jan 31 + 1 month to Feb 28 without losing the 31st.
    return _localize(local_anchor + period.step * n, zone)


def next_run_after(*, anchor: datetime, frequency: str, time_zone: str, after: datetime) -> datetime:
    """The first run of the series starting at `anchor` that is strictly later than `after`."""
    after = _as_utc(after)
    anchor = _as_utc(anchor)
    if is_cron(frequency):
        return _next_cron_match(frequency, time_zone, max(after, anchor - timedelta(microseconds=1)))
    if after < anchor:
        return anchor
    period = NAMED_FREQUENCIES[frequency]
    # Skip most of the way with a lower bound on the number of periods, then step.
    n = max(1, int((after - anchor) / period.longest))
    while True:
        candidate = nth_run(anchor, frequency, time_zone, n)
        if candidate > after:
            return candidate
        n += 1


def _next_cron_match(expression: str, time_zone: str, after: datetime) -> datetime:
    zone = _zone(time_zone)
    local_after = after.astimezone(zone).replace(tzinfo=None)
    iterator = croniter(expression, local_after)
    while True:
        candidate = _localize(iterator.get_next(datetime), zone)
        # During a fall-back hour the wall clock repeats; skip matches already behind us.
        if candidate > after:
            return candidate


def describe_frequency(frequency: str) -> str:
    """The frequency in words: 'Every month', or a cron expression in plain English."""
    if frequency in NAMED_FREQUENCIES:
        return NAMED_FREQUENCIES[frequency].words
    try:
        from cron_descriptor import get_description

        return get_description(frequency)
    except Exception:  # noqa: BLE001 - a description is cosmetic; never fail a page over it
        return frequency
