"""The `webhooks` and `event_callbacks` resources: Commerce Layer's attributes, triggers and mode isolation."""

import re

import pytest

from tests.webhooks.helpers import make_webhook
from webhooks.models import CircuitState, EventCallback, Webhook

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/cl"


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """example.com names resolve to a public address (no real DNS in tests)."""
    import ipaddress

    from webhooks import addresses

    real_resolve = addresses.resolve

    def resolve(host, port):
        if host.endswith("example.com"):
            return [ipaddress.ip_address("93.184.215.14")]
        return real_resolve(host, port)

    monkeypatch.setattr(addresses, "resolve", resolve)


def create_body(**attributes) -> dict:
    return {"data": {"type": "webhooks", "attributes": {"topic": "order_subscriptions.create", "callback_url": URL,
                                                         **attributes}}}  # fmt: skip


def update_body(webhook_id: str, **attributes) -> dict:
    return {"data": {"type": "webhooks", "id": webhook_id, "attributes": attributes}}


def error_pointers(response) -> set[str]:
    return {error["source"].get("pointer") for error in response.json_body["errors"]}


def test_create_answers_the_webhook_with_a_generated_secret(api):
    response = api.post("/api/webhooks", create_body(include_resources=["market", "customer"]))
    assert response.status_code == 201, response.json_body
    data = response.json_body["data"]
    attributes = data["attributes"]
    assert attributes["name"] == f"Webhook {data['id']}"
    assert attributes["topic"] == "order_subscriptions.create"
    assert attributes["callback_url"] == URL
    assert attributes["include_resources"] == ["market", "customer"]
    assert re.fullmatch(r"[0-9a-f]{32}", attributes["shared_secret"])
    assert attributes["disabled_at"] is None
    assert attributes["circuit_state"] == "closed"
    assert attributes["circuit_failure_count"] == 0
    assert data["meta"] == {"mode": "test"}
    assert set(data["relationships"]) == {"last_event_callbacks", "versions"}
    assert Webhook.objects.get(pk=data["id"]).shared_secret == attributes["shared_secret"]


def test_the_shared_secret_is_read_only(api):
    response = api.post("/api/webhooks", create_body(shared_secret="mine"))
    assert response.status_code == 400
    assert response.json_body["errors"][0]["code"] == "PARAM_NOT_ALLOWED"

    webhook = make_webhook("order_subscriptions.create", URL)
    response = api.patch(f"/api/webhooks/{webhook.id}", update_body(webhook.id, shared_secret="mine"))
    assert response.status_code == 400
    webhook.refresh_from_db()
    assert webhook.shared_secret != "mine"


@pytest.mark.parametrize(
    "attributes,pointer",
    [
        ({"topic": "orders.place"}, "/data/attributes/topic"),
        ({"topic": None}, "/data/attributes/topic"),
        ({"callback_url": "ftp://hooks.example.com/x"}, "/data/attributes/callback_url"),
        ({"callback_url": "not a url"}, "/data/attributes/callback_url"),
        ({"callback_url": "https:///no-host"}, "/data/attributes/callback_url"),
        ({"include_resources": ["nope"]}, "/data/attributes/include_resources"),
        ({"include_resources": ["market.nope"]}, "/data/attributes/include_resources"),
    ],
)
def test_invalid_webhooks_are_422_on_their_attribute(api, attributes, pointer):
    response = api.post("/api/webhooks", create_body(**attributes))
    assert response.status_code == 422, response.json_body
    assert pointer in error_pointers(response)
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/admin/",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_internal_callback_urls_are_refused_unless_allowed(api, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    response = api.post("/api/webhooks", create_body(callback_url=url))
    assert response.status_code == 422, response.json_body
    error = response.json_body["errors"][0]
    assert error["source"]["pointer"] == "/data/attributes/callback_url"
    assert "may not call" in error["detail"]

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    assert api.post("/api/webhooks", create_body(callback_url=url)).status_code == 201


def test_a_name_is_unique_within_a_mode(api, live_api):
    assert api.post("/api/webhooks", create_body(name="erp")).status_code == 201
    response = api.post("/api/webhooks", create_body(name="erp"))
    assert response.status_code == 422
    assert response.json_body["errors"][0]["detail"] == "name - has already been taken"
    assert live_api.post("/api/webhooks", create_body(name="erp")).status_code == 201


def test_update_attributes_and_revalidate_includes_against_a_new_topic(api):
    webhook = make_webhook("order_subscriptions.create", URL, include=["market"])
    response = api.patch(
        f"/api/webhooks/{webhook.id}",
        update_body(webhook.id, name="renamed", topic="recurring_order_copies.complete", include_resources=[]),
    )
    assert response.status_code == 200, response.json_body
    assert response.json_body["data"]["attributes"]["topic"] == "recurring_order_copies.complete"
    # market is a relationship of subscriptions, not of copies.
    response = api.patch(f"/api/webhooks/{webhook.id}", update_body(webhook.id, include_resources=["market"]))
    assert response.status_code == 422
    assert error_pointers(response) == {"/data/attributes/include_resources"}


def test_disable_enable_and_reset_circuit_triggers(api):
    response = api.post("/api/webhooks", create_body(_disable=True))
    assert response.status_code == 201
    webhook_id = response.json_body["data"]["id"]
    assert response.json_body["data"]["attributes"]["disabled_at"] is not None

    response = api.patch(f"/api/webhooks/{webhook_id}", update_body(webhook_id, _enable=True))
    assert response.json_body["data"]["attributes"]["disabled_at"] is None
    response = api.patch(f"/api/webhooks/{webhook_id}", update_body(webhook_id, _disable=True))
    assert response.json_body["data"]["attributes"]["disabled_at"] is not None

    Webhook.objects.filter(pk=webhook_id).update(circuit_state=CircuitState.OPEN, circuit_failure_count=30)
    response = api.patch(f"/api/webhooks/{webhook_id}", update_body(webhook_id, _reset_circuit=True))
    attributes = response.json_body["data"]["attributes"]
    assert (attributes["circuit_state"], attributes["circuit_failure_count"]) == ("closed", 0)


def test_reset_circuit_is_not_a_create_trigger(api):
    response = api.post("/api/webhooks", create_body(_reset_circuit=True))
    assert response.status_code == 400


def test_a_token_sees_only_the_webhooks_of_its_mode(api, live_api):
    test_hook = make_webhook("order_subscriptions.create", URL)
    live_hook = make_webhook("order_subscriptions.create", URL, mode="live")
    assert [item["id"] for item in api.get("/api/webhooks").json_body["data"]] == [test_hook.id]
    assert [item["id"] for item in live_api.get("/api/webhooks").json_body["data"]] == [live_hook.id]
    assert live_api.get(f"/api/webhooks/{test_hook.id}").status_code == 404
    assert live_api.patch(f"/api/webhooks/{test_hook.id}", update_body(test_hook.id, _disable=True)).status_code == 404
    assert live_api.delete(f"/api/webhooks/{test_hook.id}").status_code == 404


def test_filters_on_topic_and_circuit(api):
    make_webhook("order_subscriptions.create", URL, name="a")
    tripped = make_webhook("recurring_order_copies.fail", URL, name="b")
    Webhook.objects.filter(pk=tripped.pk).update(circuit_state=CircuitState.OPEN)
    response = api.get("/api/webhooks", {"filter[q][circuit_state_eq]": "open"})
    assert [item["id"] for item in response.json_body["data"]] == [tripped.id]
    response = api.get("/api/webhooks", {"filter[q][topic_start]": "recurring_order_copies."})
    assert [item["id"] for item in response.json_body["data"]] == [tripped.id]


def callbacks_for(webhook, count: int):
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now() - timedelta(minutes=count)
    return [
        EventCallback.objects.create(
            mode=webhook.mode, webhook=webhook, last_of_webhook=webhook if index >= count - 10 else None,
            callback_url=webhook.callback_url, payload={"data": {"id": str(index)}}, response_code="200",
            response_message="OK", created_at=start + timedelta(minutes=index),
        )
        for index in range(count)
    ]  # fmt: skip


def test_event_callbacks_are_listed_read_only_and_per_webhook(api, live_api):
    webhook = make_webhook("order_subscriptions.create", URL)
    other = make_webhook("order_subscriptions.cancel", URL)
    callbacks = callbacks_for(webhook, 12)
    callbacks_for(other, 1)

    response = api.get("/api/event_callbacks", {"filter[q][webhook_id_eq]": webhook.id, "page[size]": 25})
    assert response.status_code == 200
    assert [item["id"] for item in response.json_body["data"]] == [c.id for c in reversed(callbacks)]
    item = api.get(f"/api/event_callbacks/{callbacks[0].id}", {"include": "webhook"}).json_body
    assert item["data"]["attributes"]["response_code"] == "200"
    assert item["data"]["attributes"]["payload"] == {"data": {"id": "0"}}
    assert item["data"]["relationships"]["webhook"]["data"] == {"type": "webhooks", "id": webhook.id}
    assert item["included"][0]["id"] == webhook.id

    assert api.post("/api/event_callbacks", {"data": {"type": "event_callbacks"}}).status_code == 405
    assert live_api.get(f"/api/event_callbacks/{callbacks[0].id}").status_code == 404


def test_last_event_callbacks_are_the_newest_ten(api):
    webhook = make_webhook("order_subscriptions.create", URL)
    callbacks = callbacks_for(webhook, 12)
    newest = [c.id for c in reversed(callbacks[2:])]

    related = api.get(f"/api/webhooks/{webhook.id}/last_event_callbacks", {"page[size]": 25}).json_body
    assert [item["id"] for item in related["data"]] == newest
    linkage = api.get(f"/api/webhooks/{webhook.id}/relationships/last_event_callbacks", {"page[size]": 25})
    assert [item["id"] for item in linkage.json_body["data"]] == newest
    included = api.get(f"/api/webhooks/{webhook.id}", {"include": "last_event_callbacks"}).json_body
    assert {item["id"] for item in included["included"]} == set(newest)
    assert api.get(f"/api/webhooks/{webhook.id}/versions").json_body["data"] == []
    related = api.get(f"/api/event_callbacks/{callbacks[0].id}/webhook").json_body
    assert related["data"]["id"] == webhook.id


def test_delete_removes_the_webhook_and_its_callbacks(api):
    webhook = make_webhook("order_subscriptions.create", URL)
    callbacks_for(webhook, 2)
    assert api.delete(f"/api/webhooks/{webhook.id}").status_code == 204
    assert not Webhook.objects.exists()
    assert not EventCallback.objects.exists()


def test_the_openapi_document_describes_both_resources(api):
    document = api.client.get("/api/openapi.json").json()
    assert "/api/webhooks" in document["paths"]
    assert "/api/event_callbacks/{id}" in document["paths"]
