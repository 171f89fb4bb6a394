"""A Commerce Layer client's whole journey over HTTP, with a token from /oauth/token: build a source
order, place it, subscribe to it, run a copy, change and cancel the subscription."""

import pytest

from copies.models import RecurringOrderCopy

pytestmark = pytest.mark.django_db


def create(api, resource_type, attributes=None, relationships=None, **params):
    data = {"type": resource_type, "attributes": attributes or {}}
    if relationships:
        data["relationships"] = {
            name: {"data": {"type": kind, "id": resource_id}} for name, (kind, resource_id) in relationships.items()
        }
    query = "&".join(f"{key}={value}" for key, value in params.items())
    response = api.post(f"/api/{resource_type}" + (f"?{query}" if query else ""), {"data": data})
    assert response.status_code == 201, response.json_body
    return response.json_body["data"]


def update(api, resource_type, resource_id, attributes=None, relationships=None):
    data = {"type": resource_type, "id": resource_id, "attributes": attributes or {}}
    if relationships:
        data["relationships"] = {
            name: {"data": {"type": kind, "id": related_id}} for name, (kind, related_id) in relationships.items()
        }
    return api.patch(f"/api/{resource_type}/{resource_id}", {"data": data})


def test_build_place_subscribe_run_and_cancel(api, django_capture_on_commit_callbacks):
    model = create(api, "subscription_models", {"name": "Coffee club", "frequencies": ["weekly", "monthly"]})
    market = create(
        api,
        "markets",
        {"name": "Italy", "code": "it", "currency_code": "EUR", "time_zone": "Europe/Rome"},
        {"subscription_model": ("subscription_models", model["id"])},
    )
    customer = create(api, "customers", {"email": "ada@example.com"})
    wallet = create(
        api,
        "customer_payment_sources",
        {"name": "Visa •••• 4242", "payment_source_type": "stripe_payments", "payment_source_token": "pm_1"},
        {"customer": ("customers", customer["id"])},
    )
    address = {"first_name": "Ada", "last_name": "Lovelace", "line_1": "Via Roma 1", "city": "Milano",
               "country_code": "IT", "phone": "+39 02 1234567"}  # fmt: skip
    billing = create(api, "addresses", address)
    shipping = create(api, "addresses", address)
    assert billing["attributes"]["full_name"] == "Ada Lovelace"
    order = create(
        api,
        "orders",
        {"customer_email": "ada@example.com"},
        {
            "market": ("markets", market["id"]),
            "customer": ("customers", customer["id"]),
            "billing_address": ("addresses", billing["id"]),
            "shipping_address": ("addresses", shipping["id"]),
        },
    )
    assert order["attributes"]["status"] == "draft"
    assert order["attributes"]["currency_code"] == "EUR"
    item = create(
        api,
        "line_items",
        {"sku_code": "COFFEE-1KG", "name": "Coffee", "quantity": 2, "unit_amount_cents": 1500, "frequency": "weekly"},
        {"order": ("orders", order["id"])},
    )
    assert item["attributes"]["total_amount_cents"] == 3000
    assert item["attributes"]["formatted_total_amount"] == "€30,00"

    # Placing without a payment source is refused, per attribute, and changes nothing.
    refused = update(api, "orders", order["id"], {"_place": True})
    assert refused.status_code == 422
    assert "/data/relationships/payment_source" in {error["source"]["pointer"] for error in refused.json_body["errors"]}

    placed = update(api, "orders", order["id"], {"_customer_payment_source_id": wallet["id"], "_place": True})
    assert placed.status_code == 200, placed.json_body
    assert placed.json_body["data"]["attributes"]["status"] == "placed"
    assert placed.json_body["data"]["attributes"]["total_amount_cents"] == 3000

    subscription = create(
        api,
        "order_subscriptions",
        {"frequency": "weekly"},
        {"source_order": ("orders", order["id"])},
        include="order_subscription_items,customer_payment_source,subscription_model",
    )
    assert subscription["attributes"]["status"] == "active"
    assert subscription["relationships"]["customer_payment_source"]["data"]["id"] == wallet["id"]
    assert subscription["relationships"]["subscription_model"]["data"]["id"] == model["id"]
    assert len(subscription["relationships"]["order_subscription_items"]["data"]) == 1

    listed = api.get("/api/order_subscriptions", {"filter[q][source_order_number_eq]": order["attributes"]["number"]})
    assert [item["id"] for item in listed.json_body["data"]] == [subscription["id"]]
    mine = api.get(f"/api/orders/{order['id']}/order_subscriptions").json_body["data"]
    assert [item["id"] for item in mine] == [subscription["id"]]

    with django_capture_on_commit_callbacks(execute=True):
        create(
            api,
            "recurring_order_copies",
            relationships={
                "source_order": ("orders", order["id"]),
                "order_subscription": ("order_subscriptions", subscription["id"]),
            },
        )
    copy = RecurringOrderCopy.objects.get(order_subscription_id=subscription["id"])
    assert copy.status == "completed", copy.errors_log
    targets = api.get(f"/api/order_subscriptions/{subscription['id']}/orders").json_body["data"]
    assert [target["id"] for target in targets] == [copy.target_order_id]
    target = api.get(f"/api/orders/{copy.target_order_id}", {"include": "order_subscription"}).json_body
    assert target["data"]["relationships"]["order_subscription"]["data"]["id"] == subscription["id"]

    changed = update(api, "order_subscriptions", subscription["id"], {"frequency": "monthly", "_deactivate": True})
    assert changed.json_body["data"]["attributes"]["frequency"] == "monthly"
    assert changed.json_body["data"]["attributes"]["status"] == "inactive"
    cancelled = update(api, "order_subscriptions", subscription["id"], {"_cancel": True})
    assert cancelled.json_body["data"]["attributes"]["status"] == "cancelled"

    events = api.get(f"/api/order_subscriptions/{subscription['id']}/events", {"sort": "created_at"}).json_body["data"]
    names = [event["attributes"]["name"] for event in events]
    assert names[0] == "create" and names[-1] == "cancel"
    assert all(
        event["attributes"]["who"]["kind"] == "api" for event in events if event["attributes"]["name"] == "cancel"
    )


def test_order_cancel_and_draft_delete(api):
    customer = create(api, "customers", {"email": "bob@example.com"})
    draft = create(api, "orders", {}, {"customer": ("customers", customer["id"])})
    assert draft["attributes"]["customer_email"] == "bob@example.com"
    cancel_draft = update(api, "orders", draft["id"], {"_cancel": True})
    assert cancel_draft.status_code == 422
    assert api.delete(f"/api/orders/{draft['id']}").status_code == 204
    locked = api.delete(f"/api/customers/{customer['id']}")
    assert locked.status_code == 204  # no order refers to the customer any more
