"""The home page dashboard: counts, the server-side chart, and RQ health that never breaks the page."""

import time
import xml.etree.ElementTree as ElementTree
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from copies.dashboard import DayCounts, copies_chart_svg, copies_per_day, queues_health
from copies.models import CopyStatus, RecurringOrderCopy
from subscriptions.services import subscription_cancel
from tests.admin.builders import failed_copy
from tests.factories import active_subscription

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def completed_copy() -> RecurringOrderCopy:
    from copies.services import recurring_order_copy_run
    from subscriptions.scheduler import subscription_run_now

    copy = subscription_run_now(active_subscription())
    recurring_order_copy_run(copy.id)
    return copy


def test_home_page_shows_subscriptions_by_status_and_renewal_outcomes(admin_client):
    failed_copy()
    completed_copy()
    subscription_cancel(active_subscription())
    old_failure = failed_copy()
    RecurringOrderCopy.objects.filter(pk=old_failure.pk).update(failed_at=timezone.now() - timedelta(days=3))

    response = admin_client.get(INDEX)

    context = response.context
    by_status = {row.status: row.count for row in context["subscriptions_by_status"]}
    assert by_status == {"draft": 0, "inactive": 0, "active": 3, "running": 0, "cancelled": 1}
    day, week = context["outcomes"]["last_24_hours"], context["outcomes"]["last_7_days"]
    assert (day.completed, day.failed) == (1, 1)
    assert (week.completed, week.failed) == (1, 2)
    assert context["failed_last_run"] == 2
    assert context["failed_not_retried"] == 2
    html = response.content.decode()
    assert "?last_run=failed" in html and "?attention=failed_not_retried" in html


def test_the_chart_is_inline_svg_with_no_external_resource(admin_client):
    failed_copy()
    completed_copy()

    html = admin_client.get(INDEX).content.decode()

    start = html.index('<svg xmlns="http://www.w3.org/2000/svg"')
    svg = html[start : html.index("</svg>", start) + len("</svg>")]
    root = ElementTree.fromstring(svg)  # well-formed
    bars = root.findall(".//{http://www.w3.org/2000/svg}rect[@data-status]")
    assert {bar.get("data-status") for bar in bars} == {"completed", "failed"}
    assert "cdn" not in html.lower()
    assert '<script src="http' not in html and '<link rel="stylesheet" href="http' not in html


def test_copies_per_day_has_every_day_and_counts_by_status():
    failed = failed_copy()
    completed = completed_copy()
    RecurringOrderCopy.objects.filter(pk=completed.pk).update(created_at=timezone.now() - timedelta(days=2))

    days = copies_per_day(days=30)

    assert len(days) == 30 and days[-1].day == timezone.localdate()
    assert days[-1].by_status == {CopyStatus.FAILED: 1}
    assert days[-3].by_status == {CopyStatus.COMPLETED: 1}
    assert sum(day.total for day in days) == 2
    assert failed.status == CopyStatus.FAILED


def test_chart_scales_to_round_numbers_and_says_what_each_bar_holds():
    today = timezone.localdate()
    days = [DayCounts(today - timedelta(days=1), {"completed": 7}), DayCounts(today, {"completed": 30, "failed": 4})]

    svg = copies_chart_svg(days)

    root = ElementTree.fromstring(svg)
    tick_labels = [text.text for text in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "50" in tick_labels  # 34 copies round up to an axis of 50
    titles = [title.text for title in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any("30 completed, 4 failed" in title for title in titles)


def test_without_redis_the_page_says_jobs_run_inline(admin_client, settings):
    settings.JOBS_INLINE = True

    html = admin_client.get(INDEX).content.decode()

    assert 'data-queue-state="inline"' in html
    assert "REDIS_URL is not set" in html


def test_redis_down_does_not_break_or_stall_the_page(admin_client, settings):
    settings.JOBS_INLINE = False
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1

    started = time.monotonic()
    response = admin_client.get(INDEX)

    assert response.status_code == 200
    assert time.monotonic() - started < 5
    assert response.context["queues"].state == "unreachable"
    assert "Redis unreachable" in response.content.decode()


def explode() -> None:
    raise RuntimeError("a job that fails, for the failed-jobs count")


def do_nothing() -> None:
    pass


@pytest.mark.redis
def test_with_redis_the_page_shows_queue_length_and_failed_jobs_with_links(admin_client, rq_queue):
    from rq import Queue

    # A plain RQ queue: django-rq's would wait for a database commit that a test never makes.
    queue = Queue("default", connection=rq_queue.connection)
    queue.enqueue(explode)
    rq_queue.drain()
    queue.enqueue(do_nothing)  # still waiting

    report = queues_health()
    html = admin_client.get(INDEX).content.decode()

    assert report.state == "ok"
    (default,) = report.queues
    assert (default.name, default.jobs, default.failed) == ("default", 1, 1)
    assert default.jobs_url == reverse("django_rq:jobs", args=[0])
    assert default.failed_url == reverse("django_rq:failed_jobs", args=[0])
    assert f'href="{default.failed_url}"' in html and f'href="{reverse("django_rq:home")}"' in html


def test_staff_without_permissions_get_no_dashboard(db):
    user = get_user_model().objects.create_user("newbie", password="x", is_staff=True)
    client = Client()
    client.force_login(user)

    response = client.get(INDEX)

    assert response.status_code == 200
    assert "subscriptions-by-status" not in response.content.decode()
