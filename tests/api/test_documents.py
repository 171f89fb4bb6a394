"""Resource objects and list documents match Commerce Layer's examples (tests/api/seeds) field for field."""

import json
import re
from pathlib import Path

import pytest

from api.documents import render_resource_document
from tests.api.data import copy_of, subscription_in

pytestmark = pytest.mark.django_db

SEEDS = Path(__file__).resolve().parent / "seeds"  # copied from ../shared/seeds
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
BASE = "http://testserver/api"


def seed_document(name_part: str, occurrence: int = -1) -> dict:
    """The JSON response example of a seed page (the last `{"data"` document in it)."""
    text = next(path for path in SEEDS.glob("*.txt") if name_part in path.name).read_text()
    starts = [match.start() for match in re.finditer(r'\{\s*"data"', text)]
    document, _ = json.JSONDecoder().raw_decode(text[starts[occurrence] :])
    return document


def seed_resource(name_part: str) -> dict:
    data = seed_document(name_part)["data"]
    return data[0] if isinstance(data, list) else data


def assert_links(resource: dict, resource_type: str) -> None:
    self_url = f"{BASE}/{resource_type}/{resource['id']}"
    assert resource["links"] == {"self": self_url}
    for name, relationship in resource["relationships"].items():
        assert relationship["links"] == {
            "self": f"{self_url}/relationships/{name}",
            "related": f"{self_url}/{name}",
        }


def test_recurring_order_copy_matches_the_seed_exactly(api):
    seed = seed_resource("001")
    copy = copy_of(subscription_in(), errors_log={"status": ["cannot transition from draft to placed"]})
    resource = api.get(f"/api/recurring_order_copies/{copy.id}").json_body["data"]
    assert list(resource) == list(seed)
    assert list(resource["attributes"]) == list(seed["attributes"])
    assert list(resource["relationships"]) == list(seed["relationships"])
    assert resource["meta"] == seed["meta"] == {"mode": "test"}
    assert resource["type"] == "recurring_order_copies"
    assert_links(resource, "recurring_order_copies")
    for name in ("created_at", "updated_at", "started_at", "completed_at"):
        assert TIMESTAMP.match(resource["attributes"][name]), name
    assert resource["attributes"]["errors_log"] == seed["attributes"]["errors_log"]
    for name, value in seed["attributes"].items():
        if value is not None and resource["attributes"][name] is not None:
            assert type(resource["attributes"][name]) is type(value), name


def test_order_subscription_matches_the_seed(api):
    seed = seed_resource("002")
    subscription = subscription_in()
    resource = api.get(f"/api/order_subscriptions/{subscription.id}").json_body["data"]
    assert list(resource) == list(seed)
    assert list(resource["relationships"]) == list(seed["relationships"])
    # The seed page predates three attributes that schema v7.9.16 has; everything else is identical.
    assert set(resource["attributes"]) - set(seed["attributes"]) == {
        "place_target_order",
        "renewal_alert_period",
        "last_run_at",
    }
    assert set(seed["attributes"]) <= set(resource["attributes"])
    assert resource["attributes"]["number"] == str(subscription.number)
    assert_links(resource, "order_subscriptions")
    for name, value in seed["attributes"].items():
        if value is not None and resource["attributes"][name] is not None:
            assert type(resource["attributes"][name]) is type(value), name


def test_list_document_matches_the_seed(api):
    seed = seed_document("003")
    subscription = subscription_in()
    for _ in range(12):
        copy_of(subscription)
    document = api.get("/api/recurring_order_copies/").json_body
    assert list(document) == list(seed)
    assert document["meta"] == {"record_count": 12, "page_count": 2}
    assert document["links"] == {
        "first": f"{BASE}/recurring_order_copies?page[number]=1&page[size]=10",
        "next": f"{BASE}/recurring_order_copies?page[number]=2&page[size]=10",
        "last": f"{BASE}/recurring_order_copies?page[number]=2&page[size]=10",
    }
    assert list(seed["links"]) == ["first", "next", "last"]
    assert list(document["data"][0]["attributes"]) == list(seed["data"][0]["attributes"])


def test_relationships_carry_data_only_when_included(api):
    subscription = subscription_in()
    plain = api.get(f"/api/order_subscriptions/{subscription.id}").json_body
    assert "included" not in plain
    assert all("data" not in relationship for relationship in plain["data"]["relationships"].values())
    included = api.get(f"/api/order_subscriptions/{subscription.id}", {"include": "market,order_subscription_items"})
    relationships = included.json_body["data"]["relationships"]
    assert relationships["market"]["data"] == {"type": "markets", "id": subscription.market_id}
    assert len(relationships["order_subscription_items"]["data"]) == 3
    assert "data" not in relationships["customer"]
    types = sorted(item["type"] for item in included.json_body["included"])
    assert types == ["markets"] + ["order_subscription_items"] * 3


def test_nested_includes_link_every_level(api):
    subscription = subscription_in()
    document = api.get(
        f"/api/order_subscriptions/{subscription.id}",
        {"include": "source_order.billing_address,source_order.shipping_address"},
    ).json_body
    included = {(item["type"], item["id"]): item for item in document["included"]}
    order = included[("orders", subscription.source_order_id)]
    assert order["relationships"]["billing_address"]["data"]["id"] == subscription.source_order.billing_address_id
    assert ("addresses", subscription.source_order.shipping_address_id) in included


def test_sparse_fieldsets_apply_to_attributes_and_relationships_of_every_type(api):
    subscription = subscription_in()
    document = api.get(
        f"/api/order_subscriptions/{subscription.id}",
        {
            "include": "source_order",
            "fields[order_subscriptions]": "status,frequency,source_order",
            "fields[orders]": "number",
        },
    ).json_body
    assert set(document["data"]["attributes"]) == {"status", "frequency"}
    assert set(document["data"]["relationships"]) == {"source_order"}
    (order,) = document["included"]
    assert set(order["attributes"]) == {"number"}
    assert order["relationships"] == {}


def test_money_attributes_are_derived_from_cents(api):
    subscription = subscription_in()
    item = subscription.order_subscription_items.order_by("quantity").last()
    attributes = api.get(f"/api/order_subscription_items/{item.id}").json_body["data"]["attributes"]
    assert attributes["unit_amount_cents"] == item.unit_amount_cents
    assert attributes["unit_amount_float"] == item.unit_amount_cents / 100
    assert attributes["formatted_total_amount"] == "€" + f"{item.total_amount_cents / 100:.2f}".replace(".", ",")


def test_render_resource_document_is_what_a_get_returns(api):
    subscription = subscription_in()
    copy = copy_of(subscription)
    for instance, path in ((subscription, "order_subscriptions"), (copy, "recurring_order_copies")):
        include = ["source_order", "order_subscription"] if path == "recurring_order_copies" else ["market"]
        over_http = api.get(f"/api/{path}/{instance.id}", {"include": ",".join(include)}).json_body
        assert render_resource_document(instance, include=include) == over_http


def test_render_resource_document_uses_api_base_url_without_a_request(settings):
    settings.API_BASE_URL = "https://subscriptions.example.com"
    subscription = subscription_in()
    document = render_resource_document(subscription)
    assert document["data"]["links"]["self"] == (
        f"https://subscriptions.example.com/api/order_subscriptions/{subscription.id}"
    )
