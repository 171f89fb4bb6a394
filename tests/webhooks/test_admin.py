"""The webhooks back-office: create and edit through the services, actions, read-only call records."""

import pytest
from django.urls import reverse

from tests.webhooks.helpers import make_webhook
from webhooks.models import CircuitState, EventCallback, Webhook

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:webhooks_webhook_changelist")
ADD = reverse("admin:webhooks_webhook_add")


def form_data(**fields) -> dict:
    return {
        "name": "",
        "mode": "test",
        "topic": "order_subscriptions.last_run_failed",
        "callback_url": "http://127.0.0.1:9000/dunning",
        "include_resources": "market, customer",
        "reference": "",
        "reference_origin": "",
        "last_event_callbacks-TOTAL_FORMS": "0",
        "last_event_callbacks-INITIAL_FORMS": "0",
        **fields,
    }


def test_add_creates_the_webhook_with_a_secret(admin_client):
    response = admin_client.post(ADD, form_data())
    assert response.status_code == 302, response.context["adminform"].form.errors
    webhook = Webhook.objects.get()
    assert webhook.name == f"Webhook {webhook.id}"
    assert webhook.include_resources == ["market", "customer"]
    assert len(webhook.shared_secret) == 32
    page = admin_client.get(reverse("admin:webhooks_webhook_change", args=[webhook.pk]))
    assert webhook.shared_secret in page.content.decode()


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"callback_url": "http://127.0.0.1:9000/dunning"}, "callback_url"),
        ({"callback_url": "gopher://example.com/"}, "callback_url"),
        ({"include_resources": "not_a_relationship"}, "include_resources"),
    ],
)
def test_refusals_are_shown_next_to_the_field(admin_client, settings, fields, field):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    response = admin_client.post(ADD, form_data(**fields))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Webhook.objects.exists()


def test_edit_goes_through_the_service(admin_client):
    webhook = make_webhook("order_subscriptions.create", "http://127.0.0.1:9000/a", name="erp")
    secret = webhook.shared_secret
    response = admin_client.post(
        reverse("admin:webhooks_webhook_change", args=[webhook.pk]),
        form_data(name="erp", topic="order_subscriptions.create", callback_url="http://127.0.0.1:9000/b",
                  include_resources="", mode="live"),
    )  # fmt: skip
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.callback_url == "http://127.0.0.1:9000/b"
    assert webhook.include_resources == []
    assert webhook.mode == "test"  # not editable
    assert webhook.shared_secret == secret


def test_list_and_actions(admin_client):
    tripped = make_webhook("recurring_order_copies.fail", "http://127.0.0.1:9000/a", name="tripped")
    Webhook.objects.filter(pk=tripped.pk).update(circuit_state=CircuitState.OPEN, circuit_failure_count=30)
    response = admin_client.get(CHANGELIST, {"circuit_state__exact": "open"})
    assert response.status_code == 200
    assert [webhook.pk for webhook in response.context["cl"].result_list] == [tripped.pk]

    response = admin_client.post(CHANGELIST, {"action": "reset_circuit_selected", "_selected_action": [tripped.pk]})
    assert response.status_code == 302
    assert admin_client.get(response["Location"]).status_code == 200
    tripped.refresh_from_db()
    assert (tripped.circuit_state, tripped.circuit_failure_count) == (CircuitState.CLOSED, 0)

    admin_client.post(CHANGELIST, {"action": "disable_selected", "_selected_action": [tripped.pk]})
    tripped.refresh_from_db()
    assert tripped.disabled_at is not None
    admin_client.post(CHANGELIST, {"action": "enable_selected", "_selected_action": [tripped.pk]})
    tripped.refresh_from_db()
    assert tripped.disabled_at is None


def test_calls_and_deliveries_are_read_only_records(admin_client, receiver, django_capture_on_commit_callbacks):
    from tests.factories import active_subscription

    receiver.answer(500)
    webhook = make_webhook("order_subscriptions.create", receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        active_subscription()
    callback = EventCallback.objects.get()

    page = admin_client.get(reverse("admin:webhooks_webhook_change", args=[webhook.pk])).content.decode()
    assert "500 Internal Server Error" in page  # the last calls, inline
    response = admin_client.get(reverse("admin:webhooks_eventcallback_changelist"))
    assert response.status_code == 200
    page = admin_client.get(reverse("admin:webhooks_eventcallback_change", args=[callback.pk])).content.decode()
    assert "order_subscriptions" in page
    assert admin_client.get(reverse("admin:webhooks_eventcallback_add")).status_code == 403
    response = admin_client.get(reverse("admin:webhooks_webhookdelivery_changelist"))
    assert response.status_code == 200
    assert "Pending" in response.content.decode()
