"""Accept and Content-Type: application/vnd.api+json, 406 and 415 otherwise."""

import pytest

from tests.api.data import subscription_in

pytestmark = pytest.mark.django_db

BODY = {"data": {"type": "customers", "attributes": {"email": "media@example.com"}}}


@pytest.mark.parametrize("accept", ["application/vnd.api+json", "*/*", "application/*"])
def test_acceptable_accept_headers(api, accept):
    response = api.get("/api/order_subscriptions", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"


def test_another_accept_is_406(api):
    response = api.get("/api/order_subscriptions", HTTP_ACCEPT="application/json")
    assert response.status_code == 406
    (error,) = response.json_body["errors"]
    assert error["status"] == "406"
    assert error["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded"])
def test_another_content_type_on_post_and_patch_is_415(api, content_type):
    response = api.post("/api/customers", BODY, content_type=content_type)
    assert response.status_code == 415
    assert response.json_body["errors"][0]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    subscription = subscription_in()
    patch = {"data": {"type": "order_subscriptions", "id": subscription.id, "attributes": {"reference": "r"}}}
    response = api.patch(f"/api/order_subscriptions/{subscription.id}", patch, content_type=content_type)
    assert response.status_code == 415


def test_content_type_is_tolerated_on_get_and_delete(api):
    assert api.get("/api/customers", CONTENT_TYPE="text/plain").status_code == 200
    created = api.post("/api/customers", BODY).json_body["data"]
    assert api.delete(f"/api/customers/{created['id']}", CONTENT_TYPE="application/json").status_code == 204


def test_delete_answers_204_with_no_body(api):
    created = api.post("/api/customers", BODY).json_body["data"]
    response = api.delete(f"/api/customers/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""


def test_head_answers_like_get_without_a_body(api):
    response = api.client.head("/api/order_subscriptions", **api._headers(None))
    assert response.status_code == 200
    assert response.content == b""
