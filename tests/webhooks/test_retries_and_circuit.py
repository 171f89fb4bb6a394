"""Failed calls are retried from data with growing delays; 30 failures in a row open the circuit."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories import active_subscription
from tests.webhooks.helpers import make_webhook, signature_is_valid
from webhooks import delivery as delivery_module
from webhooks.delivery import webhook_delivery_attempt
from webhooks.models import CircuitState, DeliveryStatus, EventCallback, Webhook, WebhookDelivery
from webhooks.services import webhook_reset_circuit

pytestmark = pytest.mark.django_db

DELAYS = [60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 30720]


def subscribe_and_create(receiver, capture, topic="order_subscriptions.create", **fields):
    webhook = make_webhook(topic, receiver.url, **fields)
    with capture(execute=True):
        subscription = active_subscription()
    return webhook, subscription


def test_a_failed_call_is_retried_ten_times_with_growing_delays_then_given_up(
    receiver, django_capture_on_commit_callbacks, clock, sweep
):
    receiver.default_status = 500
    webhook, _ = subscribe_and_create(receiver, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)

    waits = []
    for retry in range(10):
        delivery.refresh_from_db()
        due = delivery.next_attempt_at
        last_call = EventCallback.objects.filter(delivery=delivery).latest("created_at").created_at
        waits.append(round((due - last_call).total_seconds()))
        # Not before it is due...
        clock.travel_to(due - timedelta(seconds=1))
        assert sweep().handed_over == 0
        assert len(receiver.calls) == retry + 1
        # ...and once when it is: the sweep hands it over and the (inline) job makes the call.
        clock.travel_to(due)
        assert sweep().handed_over == 1
        assert len(receiver.calls) == retry + 2

    assert waits == DELAYS
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 11)
    clock.advance(days=2)
    assert sweep().handed_over == 0
    assert len(receiver.calls) == 11
    # Every retry sends, and signs, the same bytes.
    assert len({call.body for call in receiver.calls}) == 1
    assert all(signature_is_valid(call, webhook.shared_secret) for call in receiver.calls)
    callbacks = EventCallback.objects.filter(delivery=delivery)
    assert sorted(callbacks.values_list("attempt", flat=True)) == list(range(1, 12))
    assert set(callbacks.values_list("response_code", "response_message")) == {("500", "Internal Server Error")}
    webhook.refresh_from_db()
    assert (webhook.circuit_failure_count, webhook.circuit_state) == (11, CircuitState.CLOSED)


def test_a_success_after_failures_ends_the_delivery_and_zeroes_the_failure_count(
    receiver, django_capture_on_commit_callbacks, clock, sweep
):
    receiver.answer(503, 502)
    webhook, _ = subscribe_and_create(receiver, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    clock.advance(seconds=61)
    sweep()
    webhook.refresh_from_db()
    assert webhook.circuit_failure_count == 2
    clock.advance(seconds=121)
    sweep()

    delivery.refresh_from_db()
    webhook.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert webhook.circuit_failure_count == 0
    assert [c.response_code for c in EventCallback.objects.filter(delivery=delivery).order_by("attempt")] == [
        "503",
        "502",
        "200",
    ]


def test_thirty_failures_in_a_row_open_the_circuit_until_it_is_reset(
    receiver, django_capture_on_commit_callbacks, clock, sweep
):
    receiver.default_status = 500
    webhook = make_webhook("order_subscriptions.create", receiver.url)
    subscriptions = [active_subscription() for _ in range(31)]
    from copies.events import event_record

    # 29 events fail once each: still closed.
    for subscription in subscriptions[:29]:
        with django_capture_on_commit_callbacks(execute=True):
            event_record(subscription, "create")
    webhook.refresh_from_db()
    assert (webhook.circuit_state, webhook.circuit_failure_count) == (CircuitState.CLOSED, 29)

    # A retry of the first one is the 30th consecutive failure (retries count too): open.
    first = WebhookDelivery.objects.filter(webhook=webhook).order_by("created_at").first()
    webhook_delivery_attempt(first.pk, now=first.next_attempt_at)
    webhook.refresh_from_db()
    assert (webhook.circuit_state, webhook.circuit_failure_count) == (CircuitState.OPEN, 30)
    assert len(receiver.calls) == 30
    first.refresh_from_db()
    assert first.status == DeliveryStatus.FAILED

    # Open: new events are not delivered and pending retries are skipped, without a call.
    with django_capture_on_commit_callbacks(execute=True):
        event_record(subscriptions[29], "create")
    clock.advance(hours=1)
    assert sweep().handed_over == 28
    assert len(receiver.calls) == 30
    assert WebhookDelivery.objects.filter(webhook=webhook, status=DeliveryStatus.SKIPPED).count() == 28
    assert not WebhookDelivery.objects.filter(webhook=webhook, event__resource_id=subscriptions[29].id).exists()

    # Reset: closed with no failures, and the next event is called again.
    receiver.default_status = 200
    webhook_reset_circuit(webhook)
    webhook.refresh_from_db()
    assert (webhook.circuit_state, webhook.circuit_failure_count) == (CircuitState.CLOSED, 0)
    with django_capture_on_commit_callbacks(execute=True):
        event_record(subscriptions[30], "create")
    assert len(receiver.calls) == 31
    assert EventCallback.objects.filter(webhook=webhook).latest("created_at").response_code == "200"


def test_a_delivery_job_run_twice_calls_and_counts_once(receiver, django_capture_on_commit_callbacks):
    receiver.default_status = 500
    webhook, _ = subscribe_and_create(receiver, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(webhook=webhook)

    # The same job again (RQ re-ran it, or the sweep and the original both handed it over).
    assert webhook_delivery_attempt(delivery.pk).status == "not_due"
    due = WebhookDelivery.objects.get(pk=delivery.pk).next_attempt_at
    assert webhook_delivery_attempt(delivery.pk, now=due).status == "retry"
    assert webhook_delivery_attempt(delivery.pk, now=due).status == "not_due"

    assert len(receiver.calls) == 2
    assert EventCallback.objects.filter(delivery=delivery).count() == 2
    webhook.refresh_from_db()
    assert webhook.circuit_failure_count == 2


def test_an_attempt_whose_lease_ran_out_does_not_record_over_its_successor(
    receiver, django_capture_on_commit_callbacks, monkeypatch, clock, sweep
):
    """A worker stalls past its lease; the sweep gives the delivery to another attempt. The stale worker
    finishing late records nothing: one failure is counted once."""
    receiver.default_status = 500
    webhook = make_webhook("order_subscriptions.create", receiver.url)
    real_post = delivery_module.post_signed
    successor = {}

    def stalled_post(url, body, **kwargs):
        result = real_post(url, body, **kwargs)
        # While this worker is "stalled": the lease expires, the sweep takes the delivery back and
        # another worker runs the next attempt to the end.
        monkeypatch.setattr(delivery_module, "post_signed", real_post)
        clock.advance(minutes=10)
        successor["report"] = sweep()
        return result

    monkeypatch.setattr(delivery_module, "post_signed", stalled_post)
    with django_capture_on_commit_callbacks(execute=True):
        active_subscription()

    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert successor["report"].leases_expired == 1
    assert delivery.attempts == 2  # the lost attempt counts as made; the successor made the second
    assert len(receiver.calls) == 2
    assert list(EventCallback.objects.filter(delivery=delivery).values_list("attempt", flat=True)) == [2]
    webhook.refresh_from_db()
    assert webhook.circuit_failure_count == 1


def test_a_slow_receiver_is_a_timeout_failure(receiver, django_capture_on_commit_callbacks, settings):
    settings.WEBHOOK_TIMEOUT = 0.3
    receiver.delay = 1.0
    webhook, subscription = subscribe_and_create(receiver, django_capture_on_commit_callbacks)

    callback = EventCallback.objects.get(webhook=webhook)
    assert callback.response_code is None
    assert callback.response_message.startswith("Timeout")
    assert WebhookDelivery.objects.get(webhook=webhook).status == DeliveryStatus.PENDING
    assert Webhook.objects.get(pk=webhook.pk).circuit_failure_count == 1


def test_a_dead_receiver_is_a_connection_failure(receiver, django_capture_on_commit_callbacks):
    url = receiver.url
    receiver.stop()
    webhook = make_webhook("order_subscriptions.create", url)
    with django_capture_on_commit_callbacks(execute=True):
        active_subscription()
    callback = EventCallback.objects.get(webhook=webhook)
    assert callback.response_code is None
    assert "ConnectionError" in callback.response_message
    receiver.start = lambda: None  # already stopped; the fixture's stop() is harmless


def test_a_redirect_is_not_followed_and_counts_as_a_failure(receiver, django_capture_on_commit_callbacks):
    receiver.answer(302)
    webhook, _ = subscribe_and_create(receiver, django_capture_on_commit_callbacks)
    callback = EventCallback.objects.get(webhook=webhook)
    assert (callback.response_code, callback.response_message) == ("302", "Found")
    assert WebhookDelivery.objects.get(webhook=webhook).status == DeliveryStatus.PENDING


def test_a_worker_that_died_mid_call_is_retried_and_eventually_given_up(
    receiver, django_capture_on_commit_callbacks, clock, sweep
):
    webhook = make_webhook("order_subscriptions.create", receiver.url)
    with django_capture_on_commit_callbacks(execute=False):
        active_subscription()  # dispatched below, by hand
    from copies.models import Event
    from webhooks.delivery import webhook_events_dispatch

    with django_capture_on_commit_callbacks(execute=False):
        webhook_events_dispatch(list(Event.objects.values_list("id", flat=True)))
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    # A worker claimed it and vanished (SIGKILL): sending, with a lease.
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, claimed_until=now + timedelta(seconds=65), attempts=1
    )
    clock.travel_to(now + timedelta(seconds=30))
    assert sweep().leases_expired == 0
    clock.travel_to(now + timedelta(seconds=70))
    report = sweep()
    assert (report.leases_expired, report.handed_over) == (1, 1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)

    # One that already used every attempt is given up instead.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, claimed_until=clock.now() - timedelta(seconds=1), attempts=11
    )
    assert sweep().given_up == 1
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.FAILED


def test_the_scheduler_tick_hands_over_due_retries(receiver, django_capture_on_commit_callbacks, clock):
    receiver.answer(500)
    webhook, _ = subscribe_and_create(receiver, django_capture_on_commit_callbacks)
    due = WebhookDelivery.objects.get(webhook=webhook).next_attempt_at

    out = StringIO()
    clock.travel_to(due + timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_subscriptions", "--now", (due + timedelta(seconds=1)).isoformat(), stdout=out)

    assert "webhooks: 1 deliveries handed over" in out.getvalue()
    assert len(receiver.calls) == 2
    assert WebhookDelivery.objects.get(webhook=webhook).status == DeliveryStatus.DELIVERED


def test_history_older_than_the_retention_is_purged(
    receiver, django_capture_on_commit_callbacks, settings, clock, sweep
):
    settings.WEBHOOK_HISTORY_DAYS = 30
    webhook, _ = subscribe_and_create(receiver, django_capture_on_commit_callbacks)
    assert EventCallback.objects.filter(webhook=webhook).count() == 1
    clock.advance(days=29)
    assert sweep().purged == 0
    clock.advance(days=2)
    assert sweep().purged == 2
    assert not EventCallback.objects.exists() and not WebhookDelivery.objects.exists()


def test_a_webhook_deleted_during_its_call_records_nothing(receiver, django_capture_on_commit_callbacks, monkeypatch):
    from webhooks.services import webhook_delete

    webhook = make_webhook("order_subscriptions.create", receiver.url)
    real_post = delivery_module.post_signed

    def post_then_delete(url, body, **kwargs):
        result = real_post(url, body, **kwargs)
        webhook_delete(webhook)  # the merchant deletes it while the call is under way
        return result

    monkeypatch.setattr(delivery_module, "post_signed", post_then_delete)
    with django_capture_on_commit_callbacks(execute=True):
        active_subscription()
    assert len(receiver.calls) == 1
    assert not Webhook.objects.exists()
    assert not EventCallback.objects.exists() and not WebhookDelivery.objects.exists()
