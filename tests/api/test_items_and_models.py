"""order_subscription_items and subscription_models: create, update, delete, and their rules."""

import pytest

from orders.models import Market
from subscriptions.models import OrderSubscriptionItem, SubscriptionModel
from tests.api.data import subscription_in

pytestmark = pytest.mark.django_db


def item_body(subscription_id, **attributes):
    return {
        "data": {
            "type": "order_subscription_items",
            "attributes": attributes,
            "relationships": {"order_subscription": {"data": {"type": "order_subscriptions", "id": subscription_id}}},
        }
    }


def test_item_crud(api):
    subscription = subscription_in()
    line_item = subscription.source_order.line_items.first()
    created = api.post(
        "/api/order_subscription_items", item_body(subscription.id, sku_code=line_item.sku_code, quantity=4)
    )
    assert created.status_code == 201, created.json_body
    attributes = created.json_body["data"]["attributes"]
    assert attributes["unit_amount_cents"] == line_item.unit_amount_cents  # inherited from the source order
    assert attributes["total_amount_cents"] == 4 * line_item.unit_amount_cents
    item_id = created.json_body["data"]["id"]
    updated = api.patch(
        f"/api/order_subscription_items/{item_id}",
        {
            "data": {
                "type": "order_subscription_items",
                "id": item_id,
                "attributes": {"quantity": 1, "unit_amount_cents": 500},
            }
        },
    )
    assert updated.json_body["data"]["attributes"]["total_amount_cents"] == 500
    assert api.delete(f"/api/order_subscription_items/{item_id}").status_code == 204
    assert not OrderSubscriptionItem.objects.filter(pk=item_id).exists()


@pytest.mark.parametrize(
    "attributes,pointer",
    [
        ({"quantity": 1}, "/data/attributes/sku_code"),
        ({"sku_code": "UNKNOWN", "quantity": 1}, "/data/attributes/unit_amount_cents"),
        ({"sku_code": "X", "quantity": 0, "unit_amount_cents": 100}, "/data/attributes/quantity"),
        ({"sku_code": "X", "quantity": 1, "unit_amount_cents": -1}, "/data/attributes/unit_amount_cents"),
    ],
)
def test_item_validation(api, attributes, pointer):
    subscription = subscription_in()
    response = api.post("/api/order_subscription_items", item_body(subscription.id, **attributes))
    assert response.status_code == 422, response.json_body
    assert pointer in {error["source"]["pointer"] for error in response.json_body["errors"]}


def test_subscription_model_crud_and_locked_delete(api):
    created = api.post(
        "/api/subscription_models",
        {
            "data": {
                "type": "subscription_models",
                "attributes": {"name": "Coffee", "frequencies": ["weekly", "30 * * * *"]},
            }
        },
    )
    assert created.status_code == 201, created.json_body
    data = created.json_body["data"]
    assert data["attributes"]["strategy"] == "by_frequency"
    assert data["attributes"]["auto_activate"] is True
    model_id = data["id"]
    updated = api.patch(
        f"/api/subscription_models/{model_id}",
        {"data": {"type": "subscription_models", "id": model_id, "attributes": {"frequencies": ["monthly"]}}},
    )
    assert updated.json_body["data"]["attributes"]["frequencies"] == ["monthly"]
    market = api.post(
        "/api/markets",
        {
            "data": {
                "type": "markets",
                "attributes": {"name": "Italy", "code": "it"},
                "relationships": {"subscription_model": {"data": {"type": "subscription_models", "id": model_id}}},
            }
        },
    )
    assert market.status_code == 201
    locked = api.delete(f"/api/subscription_models/{model_id}")
    assert locked.status_code == 423
    assert locked.json_body["errors"][0]["code"] == "LOCKED"
    Market.objects.filter(pk=market.json_body["data"]["id"]).delete()
    assert api.delete(f"/api/subscription_models/{model_id}").status_code == 204
    assert not SubscriptionModel.objects.exists()


@pytest.mark.parametrize(
    "attributes,pointer",
    [
        ({"name": "M", "frequencies": ["* * * * *"]}, "/data/attributes/frequencies"),
        ({"name": "M", "frequencies": []}, "/data/attributes/frequencies"),
        ({"name": "M", "frequencies": ["weekly"], "strategy": "random"}, "/data/attributes/strategy"),
        ({"frequencies": ["weekly"]}, "/data/attributes/name"),
    ],
)
def test_subscription_model_validation(api, attributes, pointer):
    response = api.post("/api/subscription_models", {"data": {"type": "subscription_models", "attributes": attributes}})
    assert response.status_code == 422, response.json_body
    assert response.json_body["errors"][0]["source"]["pointer"] == pointer
