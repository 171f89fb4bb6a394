"""Copies reach RQ only after commit, survive Redis being down, and recover from dead workers."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from copies.models import CopyStatus, RecurringOrderCopy
from copies.services import (
    _claim,
    recurring_order_copies_recover,
    recurring_order_copy_create,
    recurring_order_copy_run,
)
from orders.models import Order
from subscriptions.models import SubscriptionStatus
from tests.factories import active_subscription


def copies_of(subscription):
    return RecurringOrderCopy.objects.filter(order_subscription=subscription)


@pytest.mark.django_db(transaction=True)
def test_inline_mode_runs_the_copy_right_after_commit():
    subscription = active_subscription()
    copy = recurring_order_copy_create(order_subscription=subscription)
    copy.refresh_from_db()
    assert copy.status == CopyStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_a_copy_created_in_a_rolled_back_transaction_is_never_run():
    subscription = active_subscription()
    with pytest.raises(RuntimeError), transaction.atomic():
        recurring_order_copy_create(order_subscription=subscription)
        raise RuntimeError("the caller changed its mind")
    assert not copies_of(subscription).exists()
    assert not Order.objects.filter(order_subscription=subscription).exists()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_rolled_back_copy_never_reaches_redis(rq_queue):
    subscription = active_subscription()
    with pytest.raises(RuntimeError), transaction.atomic():
        recurring_order_copy_create(order_subscription=subscription)
        raise RuntimeError("rollback")
    assert rq_queue.count == 0


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_created_copy_is_run_to_completion_by_a_burst_worker(rq_queue):
    subscription = active_subscription()
    copy = recurring_order_copy_create(order_subscription=subscription)
    assert rq_queue.count == 1
    copy.refresh_from_db()
    assert copy.status == CopyStatus.PENDING and copy.enqueued_at is not None

    assert rq_queue.drain() == 1
    copy.refresh_from_db()
    assert copy.status == CopyStatus.COMPLETED
    assert Order.objects.filter(order_subscription=subscription).count() == 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_redis_down_creation_still_succeeds_and_requeue_enqueues_it_later(rq_queue, settings, caplog):
    subscription = active_subscription()
    reachable = settings.RQ_QUEUES
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}  # nothing listens there
    copy = recurring_order_copy_create(order_subscription=subscription)
    copy.refresh_from_db()
    assert copy.status == CopyStatus.PENDING and copy.enqueued_at is None
    assert "could not enqueue" in caplog.text

    settings.RQ_QUEUES = reachable  # Redis is back
    RecurringOrderCopy.objects.filter(pk=copy.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    call_command("requeue_copies")
    assert rq_queue.count == 1
    call_command("requeue_copies")  # just enqueued: not enqueued again
    assert rq_queue.count == 1

    rq_queue.drain()
    copy.refresh_from_db()
    assert copy.status == CopyStatus.COMPLETED
    assert Order.objects.filter(order_subscription=subscription).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_copy_left_in_progress_by_a_dead_worker_is_recovered_once():
    subscription = active_subscription()
    with transaction.atomic():
        copy = recurring_order_copy_create(order_subscription=subscription)
        RecurringOrderCopy.objects.filter(pk=copy.pk).update(enqueued_at=timezone.now())
    # Inline mode already ran it; build the dead-worker state on a fresh copy instead.
    copy = RecurringOrderCopy.objects.create(
        mode=subscription.mode, order_subscription=subscription, source_order=subscription.source_order
    )
    claimed, _token = _claim([copy.id], timezone.now() - timedelta(hours=1))  # the worker died after claiming
    assert claimed == [copy.id]
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.RUNNING

    report = recurring_order_copies_recover()  # inline mode: re-enqueued means run now
    assert report.returned_to_pending == 1
    copy.refresh_from_db()
    assert copy.status == CopyStatus.COMPLETED
    assert copy.attempts == 2
    assert Order.objects.filter(origin_recurring_order_copy=copy).count() == 1
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE


@pytest.mark.django_db
def test_a_copy_still_within_the_job_timeout_is_not_taken_away():
    subscription = active_subscription()
    copy = RecurringOrderCopy.objects.create(
        mode=subscription.mode, order_subscription=subscription, source_order=subscription.source_order
    )
    _claim([copy.id], timezone.now() - timedelta(seconds=10))
    report = recurring_order_copies_recover()
    assert report.returned_to_pending == 0
    copy.refresh_from_db()
    assert copy.status == CopyStatus.IN_PROGRESS


@pytest.mark.django_db
def test_a_copy_that_keeps_dying_fails_after_its_attempts(settings):
    settings.COPY_MAX_ATTEMPTS = 2
    subscription = active_subscription()
    copy = RecurringOrderCopy.objects.create(
        mode=subscription.mode, order_subscription=subscription, source_order=subscription.source_order, attempts=1
    )
    _claim([copy.id], timezone.now() - timedelta(hours=1))
    report = recurring_order_copies_recover()
    assert report.failed_after_attempts == 1
    copy.refresh_from_db()
    assert copy.status == CopyStatus.FAILED
    assert copy.errors_log == {"base": ["did not finish after 2 attempts; see the worker log"]}
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.errors_count == 1 and subscription.succeeded_on_last_run is False


@pytest.mark.django_db
def test_stale_claim_cannot_complete_a_copy_that_was_handed_to_another_run():
    from copies.services import _build

    subscription = active_subscription()
    copy = RecurringOrderCopy.objects.create(
        mode=subscription.mode, order_subscription=subscription, source_order=subscription.source_order
    )
    _, slow_token = _claim([copy.id], timezone.now() - timedelta(hours=1))
    recurring_order_copies_recover()  # the sweeper gave the copy back...
    recurring_order_copy_run(copy.id)  # ...and a new run completed it
    report = _build([copy.id], slow_token, timezone.now())  # the slow first worker finally continues
    assert report.skipped == 1
    assert Order.objects.filter(order_subscription=subscription).count() == 1
