"""A failing, slow or dead receiver never reaches back into what caused the event: the API answers as
usual, the subscription or copy is exactly as it would be without webhooks, and nobody waits."""

import logging

import pytest

from copies.models import RecurringOrderCopy
from subscriptions.models import OrderSubscription
from tests.api.data import subscription_in
from tests.webhooks.helpers import make_webhook
from webhooks import delivery as delivery_module
from webhooks.models import DeliveryStatus, EventCallback, WebhookDelivery
from webhooks.queueing import wait_for_inline_deliveries

ALL_SUBSCRIPTION_TOPICS = ("order_subscriptions.deactivate", "order_subscriptions.activate")


def deactivate(api, subscription):
    return api.patch(
        f"/api/order_subscriptions/{subscription.id}",
        {"data": {"type": "order_subscriptions", "id": subscription.id, "attributes": {"_deactivate": True}}},
    )


def subscription_state(subscription_id: str) -> dict:
    row = OrderSubscription.objects.filter(pk=subscription_id).values().get()
    row.pop("updated_at")
    return row


@pytest.mark.django_db
def test_receiver_errors_leave_the_subscription_as_without_webhooks(api, receiver, django_capture_on_commit_callbacks):
    receiver.default_status = 500
    without_hooks = subscription_in()
    with_hooks = subscription_in()
    initial = {s.id: subscription_state(s.id) for s in (without_hooks, with_hooks)}
    with django_capture_on_commit_callbacks(execute=True):
        plain = deactivate(api, without_hooks)
    for topic in ALL_SUBSCRIPTION_TOPICS:
        make_webhook(topic, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        hooked = deactivate(api, with_hooks)

    assert hooked.status_code == plain.status_code == 200
    assert len(receiver.calls) == 1
    assert EventCallback.objects.get().response_code == "500"

    def changes(subscription) -> dict:
        now = subscription_state(subscription.id)
        return {key: value for key, value in now.items() if initial[subscription.id][key] != value}

    assert changes(with_hooks) == changes(without_hooks)
    assert changes(with_hooks)["status"] == "inactive"
    same = ("status", "occurrencies", "errors_count", "succeeded_on_last_run", "frequency")
    plain_attributes = plain.json_body["data"]["attributes"]
    hooked_attributes = hooked.json_body["data"]["attributes"]
    assert {key: plain_attributes[key] for key in same} == {key: hooked_attributes[key] for key in same}


@pytest.mark.django_db
def test_a_broken_dispatcher_never_fails_the_request(api, receiver, django_capture_on_commit_callbacks, monkeypatch,
                                                      caplog):  # fmt: skip
    def broken(event_ids):
        raise RuntimeError("webhooks are broken")

    monkeypatch.setattr(delivery_module, "_dispatch", broken)
    make_webhook("order_subscriptions.deactivate", receiver.url)
    subscription = subscription_in()
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = deactivate(api, subscription)
    assert response.status_code == 200
    assert OrderSubscription.objects.get(pk=subscription.pk).status == "inactive"
    assert "could not dispatch" in caplog.text


@pytest.mark.django_db
def test_a_delivery_that_blows_up_never_fails_the_copy_engine(
    receiver, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def exploding_post(*args, **kwargs):
        raise RuntimeError("the HTTP stack exploded")

    monkeypatch.setattr(delivery_module, "post_signed", exploding_post)
    make_webhook("recurring_order_copies.complete", receiver.url)
    subscription = subscription_in()
    from copies.services import recurring_order_copy_create

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        copy = recurring_order_copy_create(order_subscription=subscription)
    copy.refresh_from_db()
    assert copy.status == "completed"
    assert "failed unexpectedly" in caplog.text
    # The delivery waits for its lease to run out; the sweep then tries again.
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SENDING


@pytest.mark.django_db(transaction=True)
def test_in_inline_mode_a_hanging_receiver_does_not_hold_up_the_request(api, receiver, settings):
    settings.WEBHOOK_INLINE_THREADS = 2
    settings.WEBHOOK_TIMEOUT = 5.0
    receiver.hold()  # the receiver hangs until the test lets it answer
    make_webhook("order_subscriptions.deactivate", receiver.url)
    subscription = subscription_in()

    response = deactivate(api, subscription)

    # Had the call been made in line, the request would have waited for it and recorded its timeout.
    assert response.status_code == 200
    assert not EventCallback.objects.exists()
    receiver.release()
    assert wait_for_inline_deliveries(timeout=10)
    assert len(receiver.calls) == 1
    assert EventCallback.objects.get().response_code == "200"
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED


# PostgreSQL only: SQLite's in-memory test database (shared cache) refuses concurrent writers outright
# ("database table is locked") instead of waiting, and here the copies and the deliveries write at once.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_in_inline_mode_a_hanging_receiver_does_not_hold_up_the_scheduler_or_the_copies(receiver, settings):
    from datetime import timedelta

    from django.utils import timezone

    from subscriptions.scheduler import subscriptions_run_due
    from tests.factories import bulk_due_subscriptions

    settings.WEBHOOK_INLINE_THREADS = 2
    settings.WEBHOOK_TIMEOUT = 5.0
    receiver.hold()
    for topic in ("recurring_order_copies.create", "recurring_order_copies.start", "recurring_order_copies.complete"):
        make_webhook(topic, f"{receiver.url}/{topic}")
    now = timezone.now()
    bulk_due_subscriptions(5, due_at=now - timedelta(minutes=1))

    report = subscriptions_run_due(now=now)  # inline mode: the copies run right after commit, too

    assert report.copies_created == 5
    assert set(RecurringOrderCopy.objects.values_list("status", flat=True)) == {"completed"}
    assert not EventCallback.objects.exists(), "the tick and the copies finished while every receiver hung"
    receiver.release()
    assert wait_for_inline_deliveries(timeout=30)
    assert WebhookDelivery.objects.count() == 15
    assert set(EventCallback.objects.values_list("response_code", flat=True)) == {"200"}
