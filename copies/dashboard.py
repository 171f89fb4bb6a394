"""What the back-office home page shows: selectors (read-only queries, each on an index) and the
server-side SVG chart of copies per day. No JavaScript, no CDN: the page works offline.

The RQ section must never break or slow down the page: without REDIS_URL jobs run inline and
there is no queue to show; with Redis down the section says so after a short timeout.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from copies.models import CopyStatus, RecurringOrderCopy
from subscriptions.models import OrderSubscription, SubscriptionStatus

CHART_DAYS = 30
REDIS_TIMEOUT_SECONDS = 1.0


# --- Subscriptions and copies ------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


def subscriptions_by_status() -> list[StatusCount]:
    """Every status, including those with no subscription (a zero is information too)."""
    counts = dict(OrderSubscription.objects.order_by().values_list("status").annotate(count=Count("pk")))
    return [StatusCount(status.value, status.label, counts.get(status.value, 0)) for status in SubscriptionStatus]


def subscriptions_with_failed_last_run() -> int:
    # The partial index subscription_last_run_failed holds exactly these rows.
    return OrderSubscription.objects.filter(last_run_at__isnull=False, succeeded_on_last_run=False).count()


@dataclass(frozen=True)
class Outcomes:
    completed: int
    failed: int

    @property
    def failure_rate(self) -> str:
        finished = self.completed + self.failed
        return f"{100 * self.failed / finished:.0f}%" if finished else "—"


def copy_outcomes(*, now: datetime | None = None) -> dict[str, Outcomes]:
    """Copies completed and failed in the last 24 hours and 7 days, by when they finished.

    One query: the partial indexes on completed_at and failed_at find the week's rows.
    """
    now = now or timezone.now()
    day, week = now - timedelta(hours=24), now - timedelta(days=7)
    counts = RecurringOrderCopy.objects.filter(
        Q(status=CopyStatus.COMPLETED, completed_at__gte=week) | Q(status=CopyStatus.FAILED, failed_at__gte=week)
    ).aggregate(
        completed_day=Count("pk", filter=Q(status=CopyStatus.COMPLETED, completed_at__gte=day)),
        failed_day=Count("pk", filter=Q(status=CopyStatus.FAILED, failed_at__gte=day)),
        completed_week=Count("pk", filter=Q(status=CopyStatus.COMPLETED)),
        failed_week=Count("pk", filter=Q(status=CopyStatus.FAILED)),
    )
    return {
        "last_24_hours": Outcomes(counts["completed_day"], counts["failed_day"]),
        "last_7_days": Outcomes(counts["completed_week"], counts["failed_week"]),
    }


def failed_copies_not_retried(*, since: datetime) -> int:
    # NOT EXISTS lets PostgreSQL probe the retry_of index per failed copy (a LEFT JOIN … IS NULL did not).
    retries = RecurringOrderCopy.objects.filter(retry_of=OuterRef("pk"))
    failed = RecurringOrderCopy.objects.filter(status=CopyStatus.FAILED, failed_at__gte=since)
    return failed.exclude(Exists(retries)).count()


@dataclass
class DayCounts:
    day: date
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def copies_per_day(*, days: int = CHART_DAYS, today: date | None = None) -> list[DayCounts]:
    """Copies created on each of the last `days` days (today included), by current status.

    Days are calendar days in the admin's time zone; days without copies are present with zeros.
    """
    zone = timezone.get_current_timezone()
    today = today or timezone.localdate()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    rows = (
        RecurringOrderCopy.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values_list("day", "status")
        .annotate(count=Count("pk"))
    )
    series = {
        first_day + timedelta(days=offset): DayCounts(first_day + timedelta(days=offset)) for offset in range(days)
    }
    for day, status, count in rows:
        if day in series:
            series[day].by_status[status] = series[day].by_status.get(status, 0) + count
    return list(series.values())


# --- The chart ---------------------------------------------------------------------------------

# Stacked bottom to top; the same colours as the status badges.
CHART_SERIES = (
    (CopyStatus.COMPLETED, "Completed", "#2e7d32"),
    (CopyStatus.FAILED, "Failed", "#c62828"),
    (CopyStatus.ABORTED, "Aborted", "#9e9e9e"),
    (CopyStatus.IN_PROGRESS, "In progress", "#1565c0"),
    (CopyStatus.PENDING, "Pending", "#ef8f00"),
)


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value`, so axis ticks are round numbers."""
    if value <= 0:
        return 4
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def copies_chart_svg(days: list[DayCounts], *, width: int = 760, height: int = 240) -> str:
    """A stacked bar per day, built as SVG markup on the server. Every text is escaped."""
    left, right, top, bottom = 44, 12, 12, 54
    plot_width, plot_height = width - left - right, height - top - bottom
    peak = _nice_ceiling(max((day.total for day in days), default=0))
    slot = plot_width / max(len(days), 1)
    bar_width = max(slot * 0.7, 1)

    def y_of(value: float) -> float:
        return top + plot_height - plot_height * value / peak

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-labelledby="copies-chart-title copies-chart-desc" class="copies-chart">',
        f'<title id="copies-chart-title">Recurring order copies per day, last {len(days)} days</title>',
        '<desc id="copies-chart-desc">Stacked bars: completed, failed, aborted, in progress and pending copies '
        "created each day.</desc>",
        '<g font-family="system-ui, sans-serif" font-size="11" fill="currentColor">',
    ]
    for tick in range(5):
        value = peak * tick / 4
        y = y_of(value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="currentColor" '
            'stroke-opacity="0.15"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar_width) / 2
        baseline = 0
        summary = ", ".join(f"{day.by_status.get(status, 0)} {label.lower()}" for status, label, _ in CHART_SERIES)
        parts.append(f"<g><title>{escape(day.day.strftime('%a %d %b'))}: {escape(summary)}</title>")
        for status, _label, colour in CHART_SERIES:
            count = day.by_status.get(status, 0)
            if not count:
                continue
            y_top, y_bottom = y_of(baseline + count), y_of(baseline)
            parts.append(
                f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar_width:.1f}" height="{y_bottom - y_top:.1f}" '
                f'fill="{colour}" data-status="{status}" data-count="{count}"/>'
            )
            baseline += count
        if not day.total:  # an invisible target so the tooltip works on empty days too
            parts.append(
                f'<rect x="{x:.1f}" y="{top}" width="{bar_width:.1f}" height="{plot_height}" fill="transparent"/>'
            )
        parts.append("</g>")
        if index % 5 == 0 or index == len(days) - 1:
            label_x = x + bar_width / 2
            parts.append(
                f'<text x="{label_x:.1f}" y="{top + plot_height + 16}" text-anchor="middle">'
                f"{escape(day.day.strftime('%d %b'))}</text>"
            )
    legend_x = left
    for _status, label, colour in CHART_SERIES:
        parts.append(f'<rect x="{legend_x}" y="{height - 18}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="{height - 9}">{escape(label)}</text>')
        legend_x += 24 + 7 * len(label)
    parts.append("</g></svg>")
    return "".join(parts)


# --- RQ queues ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueHealth:
    name: str
    jobs: int
    failed: int
    workers: int
    jobs_url: str
    failed_url: str


@dataclass(frozen=True)
class QueuesReport:
    """`state` is "inline" (no Redis configured), "ok" or "unreachable"."""

    state: str
    detail: str = ""
    queues: list[QueueHealth] = field(default_factory=list)
    overview_url: str = ""


def _queue_connection(config: dict):
    """A Redis connection for the dashboard only: short timeouts and no retries, so a Redis that
    is down costs the page about a second instead of redis-py's backoff."""
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    options = {
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "retry": Retry(NoBackoff(), 0),
    }
    if config.get("URL"):
        return Redis.from_url(config["URL"], **options)
    return Redis(
        host=config.get("HOST", "localhost"),
        port=config.get("PORT", 6379),
        db=config.get("DB", 0),
        password=config.get("PASSWORD"),
        username=config.get("USERNAME"),
        **options,
    )


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def queues_health() -> QueuesReport:
    if settings.JOBS_INLINE:
        return QueuesReport(
            state="inline",
            detail="REDIS_URL is not set: copies run inside the web process right after they are created, "
            "so there is no queue to watch.",
        )
    from redis.exceptions import RedisError
    from rq import Queue, Worker
    from rq.registry import FailedJobRegistry

    queues = []
    # django-rq numbers its queues in name order; its pages are addressed by that number.
    for index, (name, config) in enumerate(sorted(settings.RQ_QUEUES.items())):
        try:
            connection = _queue_connection(config)
            queue = Queue(name, connection=connection)
            health = QueueHealth(
                name=name,
                jobs=queue.count,
                failed=FailedJobRegistry(queue=queue).get_job_count(cleanup=False),  # a read, not maintenance
                workers=Worker.count(queue=queue),
                jobs_url=_url("django_rq:jobs", index),
                failed_url=_url("django_rq:failed_jobs", index),
            )
        except (RedisError, OSError) as exc:
            return QueuesReport(
                state="unreachable",
                detail=f"Redis did not answer ({type(exc).__name__}: {exc}). Copies are kept as pending rows and "
                "the scheduler's sweep enqueues them again once Redis is back.",
                overview_url=_url("django_rq:home"),
            )
        queues.append(health)
    return QueuesReport(state="ok", queues=queues, overview_url=_url("django_rq:home"))


# --- Everything the page shows -----------------------------------------------------------------


def dashboard_summary(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    days = copies_per_day()
    return {
        "subscriptions_by_status": subscriptions_by_status(),
        "failed_last_run": subscriptions_with_failed_last_run(),
        "failed_not_retried": failed_copies_not_retried(since=now - timedelta(days=7)),
        "outcomes": copy_outcomes(now=now),
        "days": days,
        "chart_svg": copies_chart_svg(days),
        "queues": queues_health(),
    }
