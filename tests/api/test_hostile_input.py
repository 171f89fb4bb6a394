"""Hostile input: huge bodies, deep nesting, unicode, SQL-looking filters, absurd page numbers.

Whatever arrives, the answer is a JSON:API document (never a 5xx) and a refused write writes nothing.
"""

import pytest

from orders.models import Customer
from subscriptions.models import OrderSubscription
from tests.api.data import subscription_in

pytestmark = pytest.mark.django_db


def assert_refused_cleanly(response, *statuses: int) -> dict:
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    error = response.json_body["errors"][0]
    assert set(error) == {"title", "detail", "code", "status", "source", "meta"}
    return error


def customer_body(**attributes) -> dict:
    return {"data": {"type": "customers", "attributes": {"email": "hostile@example.com", **attributes}}}


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_body_over_the_upload_limit_is_refused_without_writing(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
    body = customer_body(metadata={"blob": "x" * (1024 * 1024)})
    assert_refused_cleanly(api.post("/api/customers", body), 400, 413)
    assert not Customer.objects.exists()


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_absurdly_nested_metadata_is_a_400_not_a_crash(api, depth):
    metadata = b'{"a":' * depth + b"{}" + b"}" * depth
    body = b'{"data": {"type": "customers", "attributes": {"email": "hostile@example.com", "metadata": %s}}}' % metadata
    assert_refused_cleanly(api.post("/api/customers", body), 400)
    assert not Customer.objects.exists()


def test_reasonably_nested_metadata_round_trips(api):
    response = api.post("/api/customers", customer_body(metadata=nested(50)))
    assert response.status_code == 201, response.json_body
    assert response.json_body["data"]["attributes"]["metadata"] == nested(50)


def test_unicode_is_stored_and_returned_unchanged(api):
    text = "Ünïcødé ✓ 🛒 שלום 你好 e\u0301 \u200b"
    response = api.post("/api/customers", customer_body(reference=text, metadata={"note": text, text: [text]}))
    assert response.status_code == 201, response.json_body
    customer_id = response.json_body["data"]["id"]
    attributes = api.get(f"/api/customers/{customer_id}").json_body["data"]["attributes"]
    assert attributes["reference"] == text
    assert attributes["metadata"] == {"note": text, text: [text]}
    listed = api.get("/api/customers", {"filter[q][reference_eq]": text}).json_body["data"]
    assert [row["id"] for row in listed] == [customer_id]


@pytest.mark.parametrize(
    "parameter,value",
    [
        ("filter[q][reference_eq]", "'; DROP TABLE subscriptions_ordersubscription; --"),
        ("filter[q][reference_cont]", "%' OR '1'='1"),
        ("filter[q][reference_matches]", "%_%\\"),
        ("filter[q][customer_email_start]", '") OR 1=1 --'),
        ("filter[q][status_in]", "cancelled,') OR ('1'='1"),
        ("filter[q][metadata_jcont]", '{"a": "\'; DELETE FROM orders_order; --"}'),
        ("filter[q][number_eq]", "1 OR 1=1"),
        ("filter[q][created_at_gt]", "2020-01-01'; SELECT pg_sleep(5); --"),
        ("sort", "created_at; DROP TABLE x"),
        ("include", "market,../../etc/passwd"),
    ],
)
def test_sql_looking_query_values_are_data_not_sql(api, parameter, value):
    subscription_in()
    response = api.get("/api/order_subscriptions", {parameter: value})
    if response.status_code == 200:
        assert response.json_body["data"] == []
    else:
        error = assert_refused_cleanly(response, 400)
        assert error["source"] == {"parameter": parameter}
    assert OrderSubscription.objects.count() == 1


@pytest.mark.parametrize("number", ["-1", "0", "1.5", "1e3", "", "99999999999999999999999999", str(2**63)])
def test_page_numbers_out_of_range_are_400(api, number):
    error = assert_refused_cleanly(api.get("/api/order_subscriptions", {"page[number]": number}), 400)
    assert error["source"] == {"parameter": "page[number]"}


def test_a_page_far_past_the_end_is_empty_not_an_error(api):
    subscription_in()
    response = api.get("/api/order_subscriptions", {"page[number]": "1000000"})
    assert response.status_code == 200
    assert response.json_body["data"] == []
    assert response.json_body["meta"] == {"record_count": 1, "page_count": 1}


@pytest.mark.parametrize("size", ["-5", "0", "26", "1000000", "abc"])
def test_page_sizes_out_of_range_are_400(api, size):
    error = assert_refused_cleanly(api.get("/api/order_subscriptions", {"page[size]": size}), 400)
    assert error["source"] == {"parameter": "page[size]"}


def test_a_very_long_query_string_is_refused_or_ignored_cleanly(api):
    response = api.get("/api/order_subscriptions", {"filter[q][reference_in]": ",".join(["x" * 50] * 2000)})
    assert response.status_code < 500
