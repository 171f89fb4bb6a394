"""Bad request documents: every one is a 4xx JSON:API error, never a 500 and never a partial write."""

import json

import pytest

from orders.models import Customer
from subscriptions.models import OrderSubscription
from tests.api.data import subscription_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "body,status,code",
    [
        (b"{not json", 400, "BAD_REQUEST"),
        (b"", 400, "BAD_REQUEST"),
        (b"[]", 400, "BAD_REQUEST"),
        (b'{"data": []}', 400, "BAD_REQUEST"),
        (b'{"data": {"attributes": {"email": "a@example.com"}}}', 400, "PARAM_MISSING"),
        (b'{"data": {"type": "orders", "attributes": {}}}', 409, "TYPE_MISMATCH"),
        (b'{"data": {"type": "customers", "id": "abc", "attributes": {"email": "a@example.com"}}}', 400,
         "PARAM_NOT_ALLOWED"),
        (b'{"data": {"type": "customers", "attributes": {"email": 42}}}', 400, "INVALID_FIELD_VALUE"),
        (b'{"data": {"type": "customers", "attributes": {"shoe_size": 42}}}', 400, "PARAM_NOT_ALLOWED"),
        (b'{"data": {"type": "customers", "attributes": "email"}}', 400, "BAD_REQUEST"),
        (b'{"data": {"type": "customers", "attributes": {"email": "a@example.com"}, "extra": 1}}', 400,
         "PARAM_NOT_ALLOWED"),
        (b'{"data": {"type": "customers", "attributes": {"email": "not-an-email"}}}', 422, "VALIDATION_ERROR"),
        (b'{"data": {"type": "customers", "attributes": {"email": "a@example.com", "metadata": null}}}', 422,
         "VALIDATION_ERROR"),
    ],
)  # fmt: skip
def test_bad_create_documents(api, body, status, code):
    response = api.post("/api/customers", body)
    assert response.status_code == status, response.json_body
    error = response.json_body["errors"][0]
    assert error["code"] == code
    assert set(error) == {"title", "detail", "code", "status", "source", "meta"}
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    "value,expected",
    [
        ({"frequency": 3}, "INVALID_FIELD_VALUE"),
        ({"expires_at": "next tuesday"}, "INVALID_FIELD_VALUE"),
        ({"renewal_alert_period": "12"}, "INVALID_FIELD_VALUE"),
        ({"renewal_alert_period": 12.5}, "INVALID_FIELD_VALUE"),
        ({"renewal_alert_period": 2**63}, "INVALID_FIELD_VALUE"),
        ({"place_target_order": "true"}, "INVALID_FIELD_VALUE"),
        ({"metadata": [1, 2]}, "INVALID_FIELD_VALUE"),
        ({"reference": "\x00"}, "INVALID_FIELD_VALUE"),
    ],
)
def test_wrong_value_types_are_400_with_a_pointer(api, value, expected):
    subscription = subscription_in()
    name = next(iter(value))
    body = {"data": {"type": "order_subscriptions", "id": subscription.id, "attributes": value}}
    response = api.patch(f"/api/order_subscriptions/{subscription.id}", json.dumps(body))
    assert response.status_code == 400
    (error,) = response.json_body["errors"]
    assert error["code"] == expected
    assert error["source"] == {"pointer": f"/data/attributes/{name}"}


def test_body_id_different_from_the_url_is_key_not_included_in_url(api):
    subscription = subscription_in()
    response = api.patch(
        f"/api/order_subscriptions/{subscription.id}",
        {"data": {"type": "order_subscriptions", "id": "OtherIdXyz", "attributes": {"reference": "x"}}},
    )
    assert response.status_code == 400
    (error,) = response.json_body["errors"]
    assert error["code"] == "KEY_NOT_INCLUDED_IN_URL"
    assert error["title"] == "Key is not included in URL"
    subscription.refresh_from_db()
    assert subscription.reference is None


def test_wrong_type_on_update_is_409(api):
    subscription = subscription_in()
    response = api.patch(
        f"/api/order_subscriptions/{subscription.id}",
        {"data": {"type": "orders", "id": subscription.id, "attributes": {}}},
    )
    assert response.status_code == 409
    assert response.json_body["errors"][0]["status"] == "409"


@pytest.mark.parametrize(
    "relationships,status",
    [
        ({"source_order": {"data": {"type": "markets", "id": "x"}}}, 409),
        ({"source_order": {"data": "abc"}}, 400),
        ({"source_order": "abc"}, 400),
        ({"source_order": {"data": {"type": "orders", "id": "NoSuchOrdr"}}}, 422),
        ({"source_order": {"data": None}}, 422),
        ({"tags": {"data": []}}, 400),
    ],
)
def test_bad_relationships(api, relationships, status):
    response = api.post(
        "/api/order_subscriptions",
        {
            "data": {
                "type": "order_subscriptions",
                "attributes": {"frequency": "monthly"},
                "relationships": relationships,
            }
        },
    )
    assert response.status_code == status, response.json_body
    assert OrderSubscription.objects.count() == 0


def test_unknown_ids_are_404(api):
    for path in (
        "/api/order_subscriptions/NoSuchThing",
        "/api/orders/x/line_items",
        "/api/markets/" + "y" * 300,
        "/api/unicorns",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json_body["errors"][0]["code"] == "RECORD_NOT_FOUND"


def test_verbs_a_resource_does_not_offer_are_405(api):
    response = api.post("/api/order_factories", {"data": {"type": "order_factories"}})
    assert response.status_code == 405
    assert response.json_body["errors"][0]["status"] == "405"
    assert api.delete("/api/events/abc").status_code == 405


def test_integers_beyond_64_bits_are_400(api):
    subscription = subscription_in()
    body = '{"data": {"type": "order_subscriptions", "id": "%s", "attributes": {"renewal_alert_period": %d}}}'
    response = api.patch(f"/api/order_subscriptions/{subscription.id}", body % (subscription.id, 10**30))
    assert response.status_code == 400


def test_nul_characters_never_reach_the_database(api):
    """PostgreSQL refuses NUL in text and jsonb; such input is a 4xx on every database."""
    subscription = subscription_in()
    path = f"/api/order_subscriptions/{subscription.id}"
    for attributes in ({"metadata": {"a": "b\x00"}}, {"metadata": {"a\x00": 1}}, {"reference": "x\x00"}):
        body = {"data": {"type": "order_subscriptions", "id": subscription.id, "attributes": attributes}}
        assert api.patch(path, json.dumps(body)).status_code == 400
    relationships = {"customer_payment_source": {"data": {"type": "customer_payment_sources", "id": "a\x00b"}}}
    body = {"data": {"type": "order_subscriptions", "id": subscription.id, "relationships": relationships}}
    assert api.patch(path, json.dumps(body)).status_code == 422
    assert api.get("/api/order_subscriptions/a%00b").status_code == 404
    assert api.get("/api/order_subscriptions", {"filter[q][reference_eq]": "a\x00"}).status_code == 400
    assert api.get("/api/order_subscriptions", {"filter[q][metadata_jcont]": '{"a":"\\u0000"}'}).status_code == 400
    token = api.client.post(
        "/oauth/token",
        json.dumps({"grant_type": "client_credentials", "client_id": "a\x00b", "client_secret": "x"}),
        content_type="application/json",
    )
    assert token.status_code in (400, 401)
