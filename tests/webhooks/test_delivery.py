"""Events of a subscribed topic reach the receiver after commit, signed, once per webhook and event."""

import pytest
from django.db import transaction

from copies.models import Event
from subscriptions.services import subscription_cancel, subscription_deactivate
from tests.factories import active_subscription
from tests.webhooks.helpers import document, header, make_webhook, signature_is_valid
from webhooks.delivery import webhook_events_dispatch
from webhooks.models import DeliveryStatus, EventCallback, WebhookDelivery
from webhooks.services import webhook_disable

pytestmark = pytest.mark.django_db


def test_an_event_is_posted_signed_with_the_shared_secret(receiver, django_capture_on_commit_callbacks):
    webhook = make_webhook("order_subscriptions.create", receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        subscription = active_subscription()

    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    assert call.path == "/hooks"
    assert signature_is_valid(call, webhook.shared_secret)
    assert not signature_is_valid(call, "another secret")
    assert header(call, "Content-Type") == "application/vnd.api+json"
    body = document(call)
    assert body["data"]["type"] == "order_subscriptions"
    assert body["data"]["id"] == subscription.id

    callback = EventCallback.objects.get(webhook=webhook)
    assert (callback.response_code, callback.response_message) == ("200", "OK")
    assert callback.callback_url == receiver.url
    assert callback.payload == body
    assert callback.mode == "test"
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


def test_only_the_topic_and_mode_of_the_webhook_are_delivered(receiver, django_capture_on_commit_callbacks):
    cancel_hook = make_webhook("order_subscriptions.cancel", receiver.url)
    make_webhook("order_subscriptions.cancel", receiver.url + "/live", mode="live")
    make_webhook("recurring_order_copies.create", receiver.url + "/copies")
    subscription = active_subscription()

    with django_capture_on_commit_callbacks(execute=True):
        subscription_deactivate(subscription)  # no webhook listens to deactivate
    assert receiver.calls == []

    with django_capture_on_commit_callbacks(execute=True):
        subscription_cancel(subscription)
    assert [call.path for call in receiver.calls] == ["/hooks"]
    assert signature_is_valid(receiver.calls[0], cancel_hook.shared_secret)


def test_a_live_webhook_hears_only_live_events(receiver, django_capture_on_commit_callbacks):
    from tests.api.data import order_in

    live_hook = make_webhook("order_subscriptions.create", receiver.url, mode="live")
    with django_capture_on_commit_callbacks(execute=True):
        active_subscription()  # test mode
    assert receiver.calls == []

    with django_capture_on_commit_callbacks(execute=True):
        live_subscription = active_subscription(order=order_in("live"))
    assert len(receiver.calls) == 1
    body = document(receiver.calls[0])
    assert body["data"]["id"] == live_subscription.id
    assert body["data"]["meta"]["mode"] == "live"
    assert signature_is_valid(receiver.calls[0], live_hook.shared_secret)


def test_several_webhooks_of_one_topic_each_get_the_event(receiver, django_capture_on_commit_callbacks):
    first = make_webhook("order_subscriptions.create", receiver.url + "/first")
    second = make_webhook("order_subscriptions.create", receiver.url + "/second")
    with django_capture_on_commit_callbacks(execute=True):
        active_subscription()
    by_path = {call.path: call for call in receiver.calls}
    assert set(by_path) == {"/hooks/first", "/hooks/second"}
    assert signature_is_valid(by_path["/hooks/first"], first.shared_secret)
    assert signature_is_valid(by_path["/hooks/second"], second.shared_secret)


def test_a_disabled_webhook_is_not_called(receiver, django_capture_on_commit_callbacks):
    webhook = make_webhook("order_subscriptions.create", receiver.url)
    webhook_disable(webhook)
    with django_capture_on_commit_callbacks(execute=True):
        active_subscription()
    assert receiver.calls == []
    assert not WebhookDelivery.objects.exists()


def test_nothing_is_sent_for_a_rolled_back_transaction(receiver, django_capture_on_commit_callbacks):
    make_webhook("order_subscriptions.create", receiver.url)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        active_subscription()
        raise RuntimeError("changed my mind")
    assert callbacks == []
    assert receiver.calls == []
    assert not WebhookDelivery.objects.exists()


def test_hearing_of_the_same_event_twice_delivers_it_once(receiver, django_capture_on_commit_callbacks):
    make_webhook("order_subscriptions.create", receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        subscription = active_subscription()
    event = Event.objects.get(resource_id=subscription.id, name="create")

    webhook_events_dispatch([event.id])
    webhook_events_dispatch([event.id])

    assert len(receiver.calls) == 1
    assert WebhookDelivery.objects.count() == 1


def test_events_recorded_in_bulk_are_all_delivered(receiver, django_capture_on_commit_callbacks):
    """The scheduler and the copy engine insert events as plain rows (event_rows_record)."""
    from django.utils import timezone

    from copies.events import event_row, event_rows_record

    make_webhook("order_subscriptions.renewal", receiver.url)
    subscriptions = [active_subscription() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        event_rows_record(
            event_row(resource_type="order_subscriptions", resource_id=s.id, mode="test", name="renewal",
                      at=timezone.now())
            for s in subscriptions
        )  # fmt: skip
    assert sorted(document(call)["data"]["id"] for call in receiver.calls) == sorted(s.id for s in subscriptions)
