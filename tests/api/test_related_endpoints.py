"""Every relationship a document links to answers at its `related` and `relationships` URLs."""

import pytest

from api.registry import all_specs
from tests.api.data import copy_of, subscription_in

pytestmark = pytest.mark.django_db

RELATIONSHIPS = [(spec.type, rel.name) for spec in all_specs() for rel in spec.relationships]


@pytest.fixture
def world():
    """One of everything, linked: a subscription with items, a copy, its target order, events."""
    subscription = subscription_in("test")
    copy = copy_of(subscription)
    order = subscription.source_order
    return {
        "order_subscriptions": subscription.id,
        "order_subscription_items": subscription.order_subscription_items.first().id,
        "subscription_models": None,
        "recurring_order_copies": copy.id,
        "order_factories": copy.id,
        "orders": order.id,
        "line_items": order.line_items.first().id,
        "markets": order.market_id,
        "customers": order.customer_id,
        "addresses": order.billing_address_id,
        "customer_payment_sources": order.payment_source_id,
        "events": None,
    }


@pytest.mark.parametrize("resource_type,relationship", RELATIONSHIPS)
def test_related_and_relationship_urls_answer(api, world, resource_type, relationship):
    from copies.models import Event
    from subscriptions.models import SubscriptionModel

    if resource_type not in world:
        pytest.skip(f"{resource_type} is seeded by its own app's tests")
    resource_id = world[resource_type]
    if resource_type == "subscription_models":
        resource_id = SubscriptionModel.objects.create(name="M", frequencies=["monthly"]).id
    if resource_type == "events":
        resource_id = Event.objects.filter(mode="test").first().id
    document = api.get(f"/api/{resource_type}/{resource_id}").json_body
    links = document["data"]["relationships"][relationship]["links"]

    related = api.get(links["related"])
    assert related.status_code == 200, related.json_body
    assert "data" in related.json_body

    linkage = api.get(links["self"])
    assert linkage.status_code == 200, linkage.json_body
    assert linkage.json_body["links"] == links
    data = linkage.json_body["data"]
    if isinstance(data, list):
        related_ids = [item["id"] for item in related.json_body["data"]]
        assert [item["id"] for item in data] == related_ids
    elif data is not None:
        assert data["id"] == related.json_body["data"]["id"]
    else:
        assert related.json_body["data"] is None


@pytest.mark.parametrize("spec", all_specs(), ids=lambda spec: spec.type)
def test_every_relationship_can_be_included(api, world, spec):
    includes = ",".join(rel.name for rel in spec.relationships)
    response = api.get(f"/api/{spec.type}", {"include": includes} if includes else {})
    assert response.status_code == 200, response.json_body
