"""Faults: a worker killed mid-copy, Redis down during a tick, a database connection dropped mid-copy.

After recovery every copy ends completed or failed, every due cycle has exactly one copy, and
no copy has two target orders (or a half-built one).
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from redis import Redis

from copies.models import CopyStatus, RecurringOrderCopy
from copies.services import recurring_order_copies_recover, recurring_order_copy_create, recurring_order_copy_run
from orders.models import Order
from subscriptions.scheduler import subscriptions_run_due
from tests.factories import active_subscription, bulk_due_subscriptions

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def assert_exactly_one_finished_copy_per_cycle(subscription_ids: list[str]) -> None:
    copies = RecurringOrderCopy.objects.filter(order_subscription_id__in=subscription_ids)
    per_cycle = Counter(copies.values_list("order_subscription_id", "cycle_at"))
    assert len(per_cycle) == len(subscription_ids) and set(per_cycle.values()) == {1}
    assert set(copies.values_list("status", flat=True)) <= {CopyStatus.COMPLETED, CopyStatus.FAILED}
    targets = Counter(Order.objects.filter(order_subscription_id__in=subscription_ids).values_list(
        "order_subscription_id", flat=True
    ))  # fmt: skip
    assert set(targets.values()) == {1}, "one target order per subscription: none duplicated, none half-built"
    assert not Order.objects.filter(order_subscription_id__in=subscription_ids, origin_recurring_order_copy=None)


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


@pytest.mark.redis
def test_a_worker_killed_in_the_middle_of_copies_loses_and_duplicates_nothing(rq_queue):
    ids = bulk_due_subscriptions(150, due_at=NOW - timedelta(minutes=1))
    subscriptions_run_due(now=NOW)
    assert rq_queue.count == 3  # 150 copies, 50 per job

    # Hold a lock that only the build step needs, so the worker is caught inside it, copies in progress.
    blocker = psycopg.connect(database_url(), autocommit=False)
    blocker.execute("LOCK TABLE orders_order IN SHARE MODE")
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.RQ_QUEUES["default"]["URL"]}
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "default", "--burst", "--verbosity", "0"], cwd=ROOT, env=env
    )
    try:
        in_progress = RecurringOrderCopy.objects.filter(status=CopyStatus.IN_PROGRESS)
        wait_for(lambda: in_progress.count() == 50)
        waiting = "SELECT pid FROM pg_locks WHERE relation = 'orders_order'::regclass AND NOT granted"
        wait_for(lambda: blocker.execute(waiting).fetchone() is not None)
        worker_backend = blocker.execute(waiting).fetchone()[0]
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        blocker.rollback()
        blocker.close()
    # PostgreSQL ends the dead worker's session (and rolls back its half-built orders) once it notices.
    with psycopg.connect(database_url(), autocommit=True) as admin:
        alive = "SELECT 1 FROM pg_stat_activity WHERE pid = %s"
        wait_for(lambda: admin.execute(alive, [worker_backend]).fetchone() is None)

    report = recurring_order_copies_recover(stuck_after=timedelta(0))
    assert report.returned_to_pending == 50
    rq_queue.drain()
    assert_exactly_one_finished_copy_per_cycle(ids)
    assert not RecurringOrderCopy.objects.filter(attempts__gt=2).exists()


@pytest.mark.redis
def test_redis_down_during_the_tick_loses_no_cycle(rq_queue, settings):
    ids = bulk_due_subscriptions(80, due_at=NOW - timedelta(minutes=1))
    reachable = settings.RQ_QUEUES
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}  # Redis is down
    report = subscriptions_run_due(now=NOW)
    assert report.copies_created == 80
    pending = RecurringOrderCopy.objects.filter(order_subscription_id__in=ids, status=CopyStatus.PENDING)
    assert pending.count() == 80 and not pending.exclude(enqueued_at=None).exists()

    settings.RQ_QUEUES = reachable  # Redis is back
    recurring_order_copies_recover(pending_age=timedelta(0))
    assert rq_queue.count == 2
    rq_queue.drain()
    assert_exactly_one_finished_copy_per_cycle(ids)


@pytest.mark.redis
def test_jobs_lost_by_a_redis_restart_are_enqueued_again_once_the_queue_is_idle(rq_queue):
    now = datetime.now(UTC)
    ids = bulk_due_subscriptions(60, due_at=now - timedelta(minutes=1))
    subscriptions_run_due(now=now)
    Redis.from_url(settings.RQ_QUEUES["default"]["URL"]).flushdb()  # Redis restarted without persistence

    assert recurring_order_copies_recover().enqueued == 0  # too early to call the jobs lost
    later = datetime.now(UTC) + timedelta(hours=1)
    assert recurring_order_copies_recover(now=later).enqueued == 60
    rq_queue.drain()
    assert_exactly_one_finished_copy_per_cycle(ids)


@pytest.mark.redis
def test_queued_jobs_are_not_duplicated_while_the_queue_is_busy(rq_queue):
    now = datetime.now(UTC)
    bulk_due_subscriptions(60, due_at=now - timedelta(minutes=1))
    subscriptions_run_due(now=now)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert recurring_order_copies_recover(now=later).enqueued == 0
    assert rq_queue.count == 2


def test_a_dropped_database_connection_mid_copy_leaves_nothing_half_built(monkeypatch):
    import copies.services as engine

    subscription = active_subscription()
    copy = recurring_order_copy_create(order_subscription=subscription)  # inline mode already ran it...
    copy = RecurringOrderCopy.objects.create(  # ...so make a fresh pending one to run by hand
        mode=subscription.mode, order_subscription=subscription, source_order=subscription.source_order
    )
    orders_before = Order.objects.filter(order_subscription=subscription).count()
    real_record = engine._record_runs_on_subscriptions

    def drop_connection_then_record(outcomes, now):
        # The target order rows are inserted; now the server kills our session, as a failover would.
        pid = connection.connection.info.backend_pid
        with psycopg.connect(database_url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        return real_record(outcomes, now)

    monkeypatch.setattr(engine, "_record_runs_on_subscriptions", drop_connection_then_record)
    with pytest.raises(Exception, match="terminat|closed|connection"):
        recurring_order_copy_run(copy.id)
    monkeypatch.undo()
    connection.close()

    copy.refresh_from_db()
    assert copy.status == CopyStatus.PENDING, "handed back for another run, not stuck in progress"
    assert copy.target_order_id is None
    assert Order.objects.filter(order_subscription=subscription).count() == orders_before

    recurring_order_copy_run(copy.id)
    copy.refresh_from_db()
    assert copy.status == CopyStatus.COMPLETED
    assert Order.objects.filter(order_subscription=subscription).count() == orders_before + 1
