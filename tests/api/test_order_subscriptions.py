"""Creating, updating (attributes, relationships, triggers) and deleting order subscriptions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.conventions.formats import timestamp
from copies.models import Event
from subscriptions.models import OrderSubscription
from tests.api.data import copy_of, market_with_model, order_in, subscription_in
from tests.factories import PaymentSourceFactory

pytestmark = pytest.mark.django_db


def create_body(source_order_id: str, **attributes) -> dict:
    return {
        "data": {
            "type": "order_subscriptions",
            "attributes": attributes,
            "relationships": {"source_order": {"data": {"type": "orders", "id": source_order_id}}},
        }
    }


def update_body(subscription_id: str, attributes=None, relationships=None) -> dict:
    data = {"type": "order_subscriptions", "id": subscription_id, "attributes": attributes or {}}
    if relationships:
        data["relationships"] = relationships
    return {"data": data}


def test_create_as_in_the_seed_example(api):
    order = order_in("test")
    starts_at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    response = api.post(
        "/api/order_subscriptions",
        create_body(order.id, frequency="monthly", starts_at=timestamp(starts_at), activate_by_source_order=False),
    )
    assert response.status_code == 201, response.json_body
    data = response.json_body["data"]
    assert data["type"] == "order_subscriptions"
    assert data["attributes"]["status"] == "draft"
    assert data["attributes"]["starts_at"] == timestamp(starts_at)
    assert data["attributes"]["customer_email"] == order.customer_email
    assert data["meta"] == {"mode": "test"}
    subscription = OrderSubscription.objects.get(pk=data["id"])
    assert subscription.market_id == order.market_id  # inherited from the source order
    event = Event.objects.get(resource_id=subscription.id, name="create")
    assert event.who == {
        "kind": "api",
        "application_id": api.credential.credential.id,
        "client_id": api.credential.client_id,
        "credential": api.credential.credential.name,
    }


def test_create_from_a_placed_order_activates_it_and_include_works_on_create(api):
    order = order_in("test")
    response = api.post(
        "/api/order_subscriptions?include=order_subscription_items", create_body(order.id, frequency="weekly")
    )
    assert response.status_code == 201
    assert response.json_body["data"]["attributes"]["status"] == "active"
    assert len(response.json_body["included"]) == order.line_items.count()


@pytest.mark.parametrize(
    "attributes,pointer,error",
    [
        ({"frequency": "fortnightly"}, "/data/attributes/frequency", "invalid"),
        ({"frequency": "monthly", "renewal_alert_period": 0}, "/data/attributes/renewal_alert_period", "inclusion"),
        ({"frequency": "monthly", "activate_by_source_order": False}, "/data/attributes/starts_at", "blank"),
        ({}, "/data/attributes/frequency", "blank"),
    ],
)
def test_create_validation_errors_are_422_per_attribute(api, attributes, pointer, error):
    order = order_in("test")
    response = api.post("/api/order_subscriptions", create_body(order.id, **attributes))
    assert response.status_code == 422, response.json_body
    errors = response.json_body["errors"]
    match = next(item for item in errors if item["source"]["pointer"] == pointer)
    assert match["code"] == "VALIDATION_ERROR"
    assert match["status"] == "422"
    assert match["meta"]["error"] == error
    attribute = pointer.rsplit("/", 1)[1]
    assert match["detail"] == f"{attribute} - {match['title']}"
    assert OrderSubscription.objects.count() == 0


def test_frequency_must_be_allowed_by_the_markets_model(api):
    order = order_in("test", market=market_with_model(frequencies=["weekly"]))
    response = api.post("/api/order_subscriptions", create_body(order.id, frequency="monthly"))
    assert response.status_code == 422
    assert response.json_body["errors"][0]["source"]["pointer"] == "/data/attributes/frequency"


def test_missing_source_order_is_422(api):
    response = api.post(
        "/api/order_subscriptions", {"data": {"type": "order_subscriptions", "attributes": {"frequency": "monthly"}}}
    )
    assert response.status_code == 422
    assert response.json_body["errors"][0]["source"] == {"pointer": "/data/relationships/source_order"}


@pytest.mark.parametrize(
    "attributes",
    [
        {"status": "active"},
        {"number": "1"},
        {"occurrencies": 3},
        {"customer_email": "x@example.com"},
        {"_cancel": True},
    ],
)
def test_read_only_attributes_and_update_triggers_are_refused_on_create(api, attributes):
    order = order_in("test")
    response = api.post("/api/order_subscriptions", create_body(order.id, frequency="monthly", **attributes))
    assert response.status_code == 400
    (error,) = response.json_body["errors"]
    assert error["code"] == "PARAM_NOT_ALLOWED"
    assert error["source"]["pointer"] == f"/data/attributes/{next(iter(attributes))}"


@pytest.mark.parametrize(
    "attributes",
    [{"starts_at": "2030-01-01T00:00:00.000Z"}, {"status": "inactive"}, {"errors_count": 0}, {"_convert": True}],
)
def test_create_only_and_read_only_attributes_are_refused_on_update(api, attributes):
    subscription = subscription_in()
    response = api.patch(f"/api/order_subscriptions/{subscription.id}", update_body(subscription.id, attributes))
    assert response.status_code == 400
    assert response.json_body["errors"][0]["code"] == "PARAM_NOT_ALLOWED"


def test_market_and_source_order_cannot_change(api):
    subscription = subscription_in()
    other = order_in("test")
    response = api.patch(
        f"/api/order_subscriptions/{subscription.id}",
        update_body(subscription.id, relationships={"source_order": {"data": {"type": "orders", "id": other.id}}}),
    )
    assert response.status_code == 400
    assert response.json_body["errors"][0]["source"]["pointer"] == "/data/relationships/source_order"


def test_update_attributes(api):
    subscription = subscription_in()
    next_run = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    response = api.patch(
        f"/api/order_subscriptions/{subscription.id}",
        update_body(
            subscription.id,
            {
                "frequency": "weekly",
                "next_run_at": timestamp(next_run),
                "renewal_alert_period": 48,
                "reference": "ERP-9",
                "metadata": {"a": 1},
            },
        ),
    )
    assert response.status_code == 200, response.json_body
    attributes = response.json_body["data"]["attributes"]
    assert attributes["frequency"] == "weekly"
    assert attributes["next_run_at"] == timestamp(next_run)
    assert attributes["renewal_alert_period"] == 48
    assert attributes["reference"] == "ERP-9"
    assert attributes["metadata"] == {"a": 1}


def test_next_run_at_must_be_in_the_future(api):
    subscription = subscription_in()
    response = api.patch(
        f"/api/order_subscriptions/{subscription.id}",
        update_body(subscription.id, {"next_run_at": "2001-01-01T00:00:00.000Z"}),
    )
    assert response.status_code == 422
    assert response.json_body["errors"][0]["source"]["pointer"] == "/data/attributes/next_run_at"


def test_customer_payment_source_is_set_on_update_from_the_customers_wallet(api):
    subscription = subscription_in()
    wallet_source = PaymentSourceFactory(customer=subscription.customer)
    foreign_source = PaymentSourceFactory()
    ok = api.patch(
        f"/api/order_subscriptions/{subscription.id}?include=customer_payment_source",
        update_body(
            subscription.id,
            relationships={
                "customer_payment_source": {"data": {"type": "customer_payment_sources", "id": wallet_source.id}}
            },
        ),
    )
    assert ok.status_code == 200
    assert ok.json_body["data"]["relationships"]["customer_payment_source"]["data"]["id"] == wallet_source.id
    refused = api.patch(
        f"/api/order_subscriptions/{subscription.id}",
        update_body(
            subscription.id,
            relationships={
                "customer_payment_source": {"data": {"type": "customer_payment_sources", "id": foreign_source.id}}
            },
        ),
    )
    assert refused.status_code == 422
    assert refused.json_body["errors"][0]["source"]["pointer"] == "/data/relationships/customer_payment_source"


def test_triggers_deactivate_activate_cancel(api):
    subscription = subscription_in()
    path = f"/api/order_subscriptions/{subscription.id}"
    deactivated = api.patch(path, update_body(subscription.id, {"_deactivate": True}))
    assert deactivated.json_body["data"]["attributes"]["status"] == "inactive"
    activated = api.patch(path, update_body(subscription.id, {"_activate": True}))
    assert activated.json_body["data"]["attributes"]["status"] == "active"
    cancelled = api.patch(path, update_body(subscription.id, {"_cancel": True}))
    assert cancelled.json_body["data"]["attributes"]["status"] == "cancelled"
    assert cancelled.json_body["data"]["attributes"]["next_run_at"] is None
    again = api.patch(path, update_body(subscription.id, {"_activate": True}))
    assert again.status_code == 422
    (error,) = again.json_body["errors"]
    assert error["source"]["pointer"] == "/data/attributes/status"
    assert error["meta"]["error"] == "invalid_transition"
    names = list(
        Event.objects.filter(resource_id=subscription.id).order_by("created_at").values_list("name", flat=True)
    )
    assert names[-3:] == ["deactivate", "activate", "cancel"]


def test_activate_with_next_run_at_sets_the_date(api):
    subscription = subscription_in()
    api.patch(f"/api/order_subscriptions/{subscription.id}", update_body(subscription.id, {"_deactivate": True}))
    when = (timezone.now() + timedelta(days=10)).replace(microsecond=0)
    response = api.patch(
        f"/api/order_subscriptions/{subscription.id}",
        update_body(subscription.id, {"_activate": True, "next_run_at": timestamp(when)}),
    )
    assert response.json_body["data"]["attributes"]["next_run_at"] == timestamp(when)


def test_a_false_trigger_does_nothing_and_a_non_boolean_is_400(api):
    subscription = subscription_in()
    path = f"/api/order_subscriptions/{subscription.id}"
    assert (
        api.patch(path, update_body(subscription.id, {"_cancel": False})).json_body["data"]["attributes"]["status"]
        == "active"
    )
    bad = api.patch(path, update_body(subscription.id, {"_cancel": "yes"}))
    assert bad.status_code == 400
    assert bad.json_body["errors"][0]["code"] == "INVALID_FIELD_VALUE"


def test_a_failing_trigger_rolls_back_the_attributes_sent_with_it(api):
    subscription = subscription_in()
    path = f"/api/order_subscriptions/{subscription.id}"
    api.patch(path, update_body(subscription.id, {"_cancel": True}))
    response = api.patch(path, update_body(subscription.id, {"reference": "CHANGED", "_deactivate": True}))
    assert response.status_code == 422
    subscription.refresh_from_db()
    assert subscription.reference is None


def test_delete_answers_204_and_a_subscription_with_copies_is_locked(api):
    subscription = subscription_in()
    assert api.delete(f"/api/order_subscriptions/{subscription.id}").status_code == 204
    assert not OrderSubscription.objects.filter(pk=subscription.pk).exists()
    assert Event.objects.filter(resource_id=subscription.id, name="destroy").exists()
    used = subscription_in()
    copy_of(used)
    response = api.delete(f"/api/order_subscriptions/{used.id}")
    assert response.status_code == 423
    (error,) = response.json_body["errors"]
    assert error["code"] == "LOCKED"
    assert error["status"] == "423"
    assert OrderSubscription.objects.filter(pk=used.pk).exists()
    assert not Event.objects.filter(resource_id=used.id, name="destroy").exists()
