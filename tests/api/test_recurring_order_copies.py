"""recurring_order_copies: create runs a copy, update touches only reference fields and metadata, delete."""

import pytest

from copies.models import Event, RecurringOrderCopy
from orders.models import Order
from subscriptions.models import OrderSubscription
from tests.api.data import copy_of, order_in, subscription_in

pytestmark = pytest.mark.django_db


def create_body(subscription, source_order_id=None, **attributes):
    return {
        "data": {
            "type": "recurring_order_copies",
            "attributes": attributes,
            "relationships": {
                "source_order": {"data": {"type": "orders", "id": source_order_id or subscription.source_order_id}},
                "order_subscription": {"data": {"type": "order_subscriptions", "id": subscription.id}},
            },
        }
    }


def test_create_answers_201_and_the_copy_runs_after_commit(api, django_capture_on_commit_callbacks):
    subscription = subscription_in()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/recurring_order_copies?include=order_subscription",
            create_body(subscription, reference="ERP", reuse_wallet=True),
        )
        assert response.status_code == 201, response.json_body
        data = response.json_body["data"]
        assert data["attributes"]["reference"] == "ERP"
        assert data["attributes"]["place_target_order"] is True
        # Copies run asynchronously (Commerce Layer): the answer shows the pending copy.
        assert data["attributes"]["status"] == "pending"
        assert response.json_body["included"][0]["id"] == subscription.id
    copy = RecurringOrderCopy.objects.get(pk=data["id"])
    assert copy.status == "completed"
    assert Order.objects.get(pk=copy.target_order_id).status == "placed"
    later = api.get(f"/api/recurring_order_copies/{copy.id}/target_order").json_body["data"]
    assert later["id"] == copy.target_order_id


def test_source_order_must_be_the_subscriptions(api):
    subscription = subscription_in()
    other = order_in("test")
    response = api.post("/api/recurring_order_copies", create_body(subscription, other.id))
    assert response.status_code == 422
    assert response.json_body["errors"][0]["source"]["pointer"] == "/data/relationships/source_order"
    assert RecurringOrderCopy.objects.count() == 0


def test_an_inactive_subscription_cannot_be_copied(api):
    subscription = subscription_in()
    OrderSubscription.objects.filter(pk=subscription.pk).update(status="inactive")
    response = api.post("/api/recurring_order_copies", create_body(subscription))
    assert response.status_code == 422
    assert response.json_body["errors"][0]["source"]["pointer"] == "/data/relationships/order_subscription"


def test_update_accepts_reference_fields_and_metadata_only(api):
    copy = copy_of(subscription_in())
    path = f"/api/recurring_order_copies/{copy.id}"
    ok = api.patch(
        path,
        {
            "data": {
                "type": "recurring_order_copies",
                "id": copy.id,
                "attributes": {"reference": "ANY-EXTERNAL-REFEFERNCE", "reference_origin": "ERP", "metadata": {"a": 1}},
            }
        },
    )
    assert ok.status_code == 200
    assert ok.json_body["data"]["attributes"]["reference"] == "ANY-EXTERNAL-REFEFERNCE"
    for attributes in ({"status": "failed"}, {"place_target_order": False}, {"errors_log": {}}):
        refused = api.patch(path, {"data": {"type": "recurring_order_copies", "id": copy.id, "attributes": attributes}})
        assert refused.status_code == 400
        assert refused.json_body["errors"][0]["code"] == "PARAM_NOT_ALLOWED"
    copy.refresh_from_db()
    assert copy.status == "completed"


def test_delete_keeps_the_target_order_and_refuses_a_running_copy(api):
    copy = copy_of(subscription_in())
    assert api.delete(f"/api/recurring_order_copies/{copy.id}").status_code == 204
    assert Order.objects.filter(pk=copy.target_order_id).exists()
    assert Event.objects.filter(resource_id=copy.id, name="destroy").exists()
    running = copy_of(subscription_in(), status="in_progress", completed_at=None)
    response = api.delete(f"/api/recurring_order_copies/{running.id}")
    assert response.status_code == 422
    assert RecurringOrderCopy.objects.filter(pk=running.pk).exists()


def test_order_factories_are_a_read_only_view_of_the_copies(api):
    copy = copy_of(subscription_in())
    document = api.get(f"/api/order_factories/{copy.id}").json_body["data"]
    assert document["type"] == "order_factories"
    assert document["attributes"]["type"] == "recurring_order_copies"
    assert set(document["relationships"]) == {"source_order", "target_order", "events"}
    subscription = copy.order_subscription
    related = api.get(f"/api/order_subscriptions/{subscription.id}/order_factories").json_body["data"]
    assert [item["id"] for item in related] == [copy.id]
    assert api.patch(f"/api/order_factories/{copy.id}", {"data": {}}).status_code == 405


def test_events_of_a_copy(api):
    copy = copy_of(subscription_in())
    Event.objects.create(mode="test", resource_type="recurring_order_copies", resource_id=copy.id, name="complete")
    events = api.get(f"/api/recurring_order_copies/{copy.id}/events").json_body["data"]
    assert [event["attributes"]["name"] for event in events] == ["complete"]
    assert events[0]["attributes"]["resource_id"] == copy.id
