"""The body is the resource's GET document (with `included` for include_resources); a destroy sends only the id."""

import pytest

from copies.models import RecurringOrderCopy
from tests.api.data import subscription_in
from tests.webhooks.helpers import document, make_webhook, signature_is_valid
from webhooks.models import EventCallback

pytestmark = pytest.mark.django_db

SUBSCRIPTION_INCLUDES = ["market", "customer", "source_order.billing_address", "order_subscription_items"]


def test_the_body_is_the_get_document_with_its_includes(api, receiver, django_capture_on_commit_callbacks):
    subscription = subscription_in()
    webhook = make_webhook("order_subscriptions.deactivate", receiver.url, include=SUBSCRIPTION_INCLUDES)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            f"/api/order_subscriptions/{subscription.id}",
            {"data": {"type": "order_subscriptions", "id": subscription.id, "attributes": {"_deactivate": True}}},
        )
    assert response.status_code == 200

    [call] = receiver.calls
    assert signature_is_valid(call, webhook.shared_secret)
    body = document(call)
    expected = api.get(
        f"/api/order_subscriptions/{subscription.id}", {"include": ",".join(SUBSCRIPTION_INCLUDES)}
    ).json_body
    assert body == expected
    assert body["data"]["attributes"]["status"] == "inactive"
    assert {item["type"] for item in body["included"]} == {
        "markets", "customers", "orders", "addresses", "order_subscription_items",
    }  # fmt: skip
    assert body["data"]["links"]["self"] == f"http://testserver/api/order_subscriptions/{subscription.id}"
    assert EventCallback.objects.get(webhook=webhook).payload == body


def test_without_includes_there_is_no_included_member(api, receiver, django_capture_on_commit_callbacks):
    subscription = subscription_in()
    make_webhook("order_subscriptions.cancel", receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(
            f"/api/order_subscriptions/{subscription.id}",
            {"data": {"type": "order_subscriptions", "id": subscription.id, "attributes": {"_cancel": True}}},
        )
    body = document(receiver.calls[0])
    assert "included" not in body
    assert body == api.get(f"/api/order_subscriptions/{subscription.id}").json_body


def test_a_destroy_sends_only_the_id(api, receiver, django_capture_on_commit_callbacks):
    subscription = subscription_in()
    webhook = make_webhook("order_subscriptions.destroy", receiver.url, include=["market"])
    get_document = api.get(f"/api/order_subscriptions/{subscription.id}").json_body
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/order_subscriptions/{subscription.id}").status_code == 204

    [call] = receiver.calls
    assert signature_is_valid(call, webhook.shared_secret)
    data = document(call)["data"]
    assert (data["id"], data["type"], data["meta"]) == (subscription.id, "order_subscriptions", {"mode": "test"})
    assert set(data["attributes"]) == set(get_document["data"]["attributes"])
    assert set(data["attributes"].values()) == {None}
    assert data["relationships"]["market"]["data"] is None
    assert document(call)["included"] == []


def test_copy_events_from_the_copy_engine(api, receiver, django_capture_on_commit_callbacks):
    subscription = subscription_in()
    hooks = {
        topic: make_webhook(topic, f"{receiver.url}/{topic}", include=["target_order"] if "complete" in topic else [])
        for topic in ("recurring_order_copies.create", "recurring_order_copies.start",
                      "recurring_order_copies.complete", "order_subscriptions.last_run_succeeded")
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/recurring_order_copies",
            {"data": {"type": "recurring_order_copies", "relationships": {
                "order_subscription": {"data": {"type": "order_subscriptions", "id": subscription.id}},
                "source_order": {"data": {"type": "orders", "id": subscription.source_order_id}},
            }}},
        )  # fmt: skip
    assert response.status_code == 201
    copy = RecurringOrderCopy.objects.get(pk=response.json_body["data"]["id"])
    assert copy.status == "completed"

    by_topic = {call.path.rsplit("/", 1)[1]: call for call in receiver.calls}
    assert set(by_topic) == set(hooks)
    for topic, call in by_topic.items():
        assert signature_is_valid(call, hooks[topic].shared_secret)
    completed = document(by_topic["recurring_order_copies.complete"])
    assert completed["data"]["attributes"]["status"] == "completed"
    assert completed["included"][0] == {
        **api.get(f"/api/orders/{copy.target_order_id}").json_body["data"],
    }
    assert completed["data"]["relationships"]["target_order"]["data"] == {"type": "orders", "id": copy.target_order_id}
    succeeded = document(by_topic["order_subscriptions.last_run_succeeded"])
    assert succeeded["data"]["id"] == subscription.id


def test_a_copy_destroyed_through_the_api(api, receiver, django_capture_on_commit_callbacks):
    from tests.api.data import copy_of

    copy = copy_of(subscription_in())
    make_webhook("recurring_order_copies.destroy", receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/recurring_order_copies/{copy.id}").status_code == 204
    data = document(receiver.calls[0])["data"]
    assert (data["id"], data["type"]) == (copy.id, "recurring_order_copies")
    assert set(data["attributes"].values()) == {None}
