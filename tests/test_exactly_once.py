"""Exactly once under real concurrency (PostgreSQL): simultaneous ticks and simultaneous workers."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from copies.models import CopyStatus, RecurringOrderCopy
from copies.services import recurring_order_copies_run
from orders.models import Order
from subscriptions.models import OrderSubscription
from subscriptions.scheduler import subscriptions_run_due
from tests.factories import bulk_due_subscriptions

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def run_at_once(workers: int, target) -> list:
    """Start `workers` threads (each with its own database connection) at the same moment."""
    barrier = threading.Barrier(workers)
    results, errors = [None] * workers, []

    def body(index: int) -> None:
        try:
            barrier.wait()
            results[index] = target(index)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_concurrent_ticks_create_exactly_one_copy_per_subscription(monkeypatch):
    import copies.services

    monkeypatch.setattr(copies.services, "enqueue_copies", lambda ids: None)  # ticks only: no workers
    ids = bulk_due_subscriptions(600, due_at=NOW - timedelta(minutes=1))

    reports = run_at_once(6, lambda index: subscriptions_run_due(now=NOW, batch_size=40))

    per_subscription = Counter(
        RecurringOrderCopy.objects.filter(order_subscription_id__in=ids).values_list("order_subscription_id", flat=True)
    )
    assert len(per_subscription) == 600
    assert set(per_subscription.values()) == {1}
    assert sum(report.copies_created for report in reports) == 600
    assert sum(1 for report in reports if report.copies_created) > 1, "the ticks should have shared the work"
    assert not OrderSubscription.objects.filter(id__in=ids, next_run_at__lte=NOW).exists()


def test_concurrent_workers_on_the_same_copies_make_one_target_order_each():
    ids = bulk_due_subscriptions(120, due_at=NOW - timedelta(minutes=1))
    import copies.services

    original = copies.services.enqueue_copies
    copies.services.enqueue_copies = lambda ids: None
    try:
        subscriptions_run_due(now=NOW)
    finally:
        copies.services.enqueue_copies = original
    copy_ids = list(RecurringOrderCopy.objects.filter(order_subscription_id__in=ids).values_list("id", flat=True))
    # Every worker gets every copy, in batches of different sizes and orders: the worst case of duplicate jobs.
    batches = [copy_ids[i : i + 25] for i in range(0, len(copy_ids), 25)]
    plans = [batches, list(reversed(batches)), [copy_ids[i : i + 7] for i in range(0, len(copy_ids), 7)], [copy_ids]]

    def work(index: int) -> int:
        return sum(recurring_order_copies_run(batch).completed for batch in plans[index])

    completed = run_at_once(len(plans), work)

    assert sum(completed) == len(copy_ids)
    copies = RecurringOrderCopy.objects.filter(id__in=copy_ids)
    assert set(copies.values_list("status", flat=True)) == {CopyStatus.COMPLETED}
    targets = Counter(
        Order.objects.filter(order_subscription_id__in=ids).values_list("order_subscription_id", flat=True)
    )
    assert set(targets.values()) == {1} and len(targets) == 120
    assert set(OrderSubscription.objects.filter(id__in=ids).values_list("occurrencies", flat=True)) == {2}
