"""Per-credential rate limits: X-Ratelimit-* headers on every answer, 429 past the limit."""

import orjson
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limits(settings):
    settings.API_RATE_LIMITS = {
        ("test", True): (100, 3),
        ("live", True): (100, 3),
        ("test", False): (2, 50),
        ("live", False): (2, 50),
    }
    settings.API_TOKEN_RATE_LIMIT = (3, 60)


def test_headers_count_down_and_the_burst_limit_answers_429(api, small_limits):
    remaining = []
    for _ in range(3):
        response = api.get("/api/order_subscriptions")
        assert response.status_code == 200
        assert response["X-Ratelimit-Limit"] == "3"
        assert response["X-Ratelimit-Interval"] == "10"
        remaining.append(int(response["X-Ratelimit-Remaining"]))
    assert remaining == [2, 1, 0]
    blocked = api.get("/api/order_subscriptions")
    assert blocked.status_code == 429
    (error,) = blocked.json_body["errors"]
    assert error["code"] == "TOO_MANY_REQUESTS"
    assert error["status"] == "429"
    assert blocked["Retry-After"]
    # The burst window is per endpoint: another one still answers.
    assert api.get("/api/recurring_order_copies").status_code == 200


def test_writes_have_their_own_average_limit(api, small_limits):
    body = {"data": {"type": "customers", "attributes": {"email": "x@example.com"}}}
    assert api.post("/api/customers", body).status_code == 201
    assert api.post("/api/customers", body).status_code == 422  # counted, even when refused
    blocked = api.post("/api/customers", body)
    assert blocked.status_code == 429
    assert blocked["X-Ratelimit-Interval"] == "60"
    assert api.get("/api/customers").status_code == 200  # reads are another class


def test_limits_are_per_credential(api, live_api, small_limits):
    for _ in range(3):
        api.get("/api/markets")
    assert api.get("/api/markets").status_code == 429
    assert live_api.get("/api/markets").status_code == 200


def test_token_endpoint_allows_30_a_minute_per_ip_by_default_here_3(test_credential, small_limits):
    body = orjson.dumps(
        {
            "grant_type": "client_credentials",
            "client_id": test_credential.client_id,
            "client_secret": test_credential.client_secret,
        }
    )
    answers = [Client().post("/oauth/token", body, content_type="application/json") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    error = orjson.loads(answers[-1].content)["errors"][0]
    assert error["status"] == 429 and error["code"] == "TOO_MANY_REQUESTS"
    assert answers[0]["X-Ratelimit-Limit"] == "3"


def test_limits_can_be_switched_off(api, settings, small_limits):
    settings.API_RATE_LIMITS_ENABLED = False
    for _ in range(5):
        response = api.get("/api/order_subscriptions")
        assert response.status_code == 200
        assert "X-Ratelimit-Limit" not in response


def test_an_unreachable_counter_store_lets_requests_through(api, settings, small_limits):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    for _ in range(5):
        response = api.get("/api/order_subscriptions")
        assert response.status_code == 200
        assert "X-Ratelimit-Limit" not in response
