"""With Redis: deliveries and their retries are RQ jobs on the worker's queue (no RQ scheduler needed).
On PostgreSQL: concurrent attempts of one delivery make one call, and concurrent failures all count."""

import threading

import pytest
from django.db import connection

from copies.models import Event
from tests.factories import active_subscription
from tests.webhooks.helpers import make_webhook, signature_is_valid
from webhooks import delivery as delivery_module
from webhooks.delivery import webhook_deliveries_requeue, webhook_delivery_attempt, webhook_events_dispatch
from webhooks.jobs import deliver_webhook
from webhooks.models import DeliveryStatus, EventCallback, Webhook, WebhookDelivery


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_deliveries_and_retries_run_as_rq_jobs(rq_queue, receiver, clock):
    receiver.answer(500)
    webhook = make_webhook("order_subscriptions.create", receiver.url)
    active_subscription()

    # After commit the delivery is a job in the queue, not a call made by the caller.
    assert receiver.calls == []
    assert rq_queue.count == 1
    rq_queue.drain()
    assert len(receiver.calls) == 1
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)

    # The retry is data: nothing is queued until the sweep (the scheduler tick) finds it due.
    assert rq_queue.count == 0
    clock.travel_to(delivery.next_attempt_at)
    assert webhook_deliveries_requeue().handed_over == 1
    assert rq_queue.count == 1
    rq_queue.drain()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert len(receiver.calls) == 2
    assert all(signature_is_valid(call, webhook.shared_secret) for call in receiver.calls)

    # The same job once more (a duplicate in the queue): no call, nothing counted.
    rq_queue.enqueue(deliver_webhook, delivery.pk)
    rq_queue.drain()
    assert len(receiver.calls) == 2
    assert EventCallback.objects.filter(delivery=delivery).count() == 2


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_job_lost_with_redis_is_handed_over_again(rq_queue, receiver, clock):
    webhook = make_webhook("order_subscriptions.create", receiver.url)
    active_subscription()
    rq_queue.connection.flushdb()  # Redis restarted without persistence: the job is gone

    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert webhook_deliveries_requeue().handed_over == 0  # just handed over: give the worker time
    clock.advance(minutes=6)
    assert webhook_deliveries_requeue().handed_over == 1
    rq_queue.drain()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.calls) == 1


def _pending_deliveries(monkeypatch, webhook, count: int) -> list[str]:
    """Deliveries recorded but not handed over, for the test to attempt itself."""
    monkeypatch.setattr(delivery_module, "deliveries_hand_off", lambda ids: 0)
    for _ in range(count):
        active_subscription()
    webhook_events_dispatch(list(Event.objects.filter(name="create").values_list("id", flat=True)))
    return list(WebhookDelivery.objects.filter(webhook=webhook).values_list("id", flat=True))


def _in_threads(target, args_list) -> list:
    results = [None] * len(args_list)
    start = threading.Barrier(len(args_list))

    def run(index, args):
        try:
            start.wait()
            results[index] = target(*args)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, args)) for index, args in enumerate(args_list)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_of_one_delivery_make_one_call(receiver, monkeypatch):
    receiver.delay = 0.2
    webhook = make_webhook("order_subscriptions.create", receiver.url)
    [delivery_id] = _pending_deliveries(monkeypatch, webhook, 1)

    outcomes = _in_threads(lambda: webhook_delivery_attempt(delivery_id).status, [()] * 6)

    assert sorted(outcomes) == ["delivered"] + ["not_due"] * 5
    assert len(receiver.calls) == 1
    assert EventCallback.objects.filter(webhook=webhook).count() == 1
    assert WebhookDelivery.objects.get(pk=delivery_id).attempts == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_are_all_counted(receiver, monkeypatch, settings):
    settings.WEBHOOK_CIRCUIT_THRESHOLD = 8
    receiver.default_status = 500
    webhook = make_webhook("order_subscriptions.create", receiver.url)
    delivery_ids = _pending_deliveries(monkeypatch, webhook, 10)

    outcomes = _in_threads(
        lambda delivery_id: webhook_delivery_attempt(delivery_id).status, [(i,) for i in delivery_ids]
    )

    webhook.refresh_from_db()
    assert webhook.circuit_failure_count == 10
    assert webhook.circuit_state == "open"
    assert len(receiver.calls) == 10
    assert sorted(set(outcomes)) <= ["failed", "retry"]
    assert Webhook.objects.get(pk=webhook.pk).circuit_failure_count == EventCallback.objects.count()
