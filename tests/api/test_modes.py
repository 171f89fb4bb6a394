"""A test token sees and creates only test data; a live token only live data; the other mode's ids are 404."""

import pytest

from orders.models import Customer
from tests.api.data import copy_of, subscription_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def both_modes():
    test_subscription = subscription_in("test")
    live_subscription = subscription_in("live")
    return {
        "test": (test_subscription, copy_of(test_subscription)),
        "live": (live_subscription, copy_of(live_subscription)),
    }


LISTED = [
    "order_subscriptions",
    "recurring_order_copies",
    "orders",
    "markets",
    "customers",
    "events",
    "order_subscription_items",
    "order_factories",
]


@pytest.mark.parametrize("resource_type", LISTED)
def test_lists_show_only_the_tokens_mode(api, live_api, both_modes, resource_type):
    for client, mode in ((api, "test"), (live_api, "live")):
        response = client.get(f"/api/{resource_type}", {"page[size]": 25})
        assert response.status_code == 200
        data = response.json_body["data"]
        assert data, resource_type
        assert {item["meta"]["mode"] for item in data} == {mode}


def test_an_id_of_the_other_mode_is_404(api, live_api, both_modes):
    live_subscription, live_copy = both_modes["live"]
    test_subscription, _ = both_modes["test"]
    for path in (
        f"/api/order_subscriptions/{live_subscription.id}",
        f"/api/recurring_order_copies/{live_copy.id}",
        f"/api/order_subscriptions/{live_subscription.id}/market",
        f"/api/order_subscriptions/{live_subscription.id}/relationships/market",
        f"/api/order_subscriptions/{live_subscription.id}/recurring_order_copies",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        (error,) = response.json_body["errors"]
        assert error["code"] == "RECORD_NOT_FOUND"
        assert error["status"] == "404"
    assert live_api.get(f"/api/order_subscriptions/{test_subscription.id}").status_code == 404
    assert (
        api.patch(
            f"/api/order_subscriptions/{live_subscription.id}",
            {"data": {"type": "order_subscriptions", "id": live_subscription.id, "attributes": {"reference": "x"}}},
        ).status_code
        == 404
    )
    assert api.delete(f"/api/recurring_order_copies/{live_copy.id}").status_code == 404


def test_includes_and_filters_never_reach_the_other_mode(api, both_modes):
    live_subscription, _ = both_modes["live"]
    response = api.get("/api/order_subscriptions", {"filter[q][id_eq]": live_subscription.id})
    assert response.json_body["data"] == []
    response = api.get("/api/recurring_order_copies", {"include": "order_subscription,source_order,target_order"})
    assert {item["meta"]["mode"] for item in response.json_body["included"]} == {"test"}


def test_created_resources_take_the_tokens_mode(api, live_api):
    assert api.post("/api/customers", {"data": {"type": "customers", "attributes": {"email": "a@example.com"}}}
                    ).json_body["data"]["meta"]["mode"] == "test"  # fmt: skip
    created = live_api.post("/api/customers", {"data": {"type": "customers", "attributes": {"email": "a@example.com"}}})
    assert created.status_code == 201
    assert created.json_body["data"]["meta"]["mode"] == "live"
    assert set(Customer.objects.filter(email="a@example.com").values_list("mode", flat=True)) == {"test", "live"}


def test_a_relationship_to_the_other_modes_record_is_a_422(api, both_modes):
    live_subscription, _ = both_modes["live"]
    response = api.post(
        "/api/order_subscriptions",
        {
            "data": {
                "type": "order_subscriptions",
                "attributes": {"frequency": "monthly"},
                "relationships": {
                    "source_order": {"data": {"type": "orders", "id": live_subscription.source_order_id}}
                },
            }
        },
    )
    assert response.status_code == 422
    (error,) = response.json_body["errors"]
    assert error["source"] == {"pointer": "/data/relationships/source_order"}
