"""Every list issues a fixed number of SQL queries, whatever the page size and includes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.data import copy_of, subscription_in

pytestmark = pytest.mark.django_db

# authentication (1: the stored token) + count (1) + page (1) + one per include path
AUTH, COUNT, PAGE = 1, 1, 1


@pytest.fixture
def many_copies():
    copies = []
    for _ in range(6):
        subscription = subscription_in("test")
        copies += [copy_of(subscription) for _ in range(5)]
    return copies


@pytest.mark.parametrize("page_size", [1, 25])
def test_copies_list_with_includes_is_a_fixed_number_of_queries(api, many_copies, page_size, django_assert_num_queries):
    params = {"page[size]": page_size, "include": "source_order,order_subscription", "sort": "-created_at"}
    with django_assert_num_queries(AUTH + COUNT + PAGE + 2):
        response = api.get("/api/recurring_order_copies", params)
    assert response.status_code == 200
    assert len(response.json_body["data"]) == page_size
    assert response.json_body["meta"]["record_count"] == 30


@pytest.mark.parametrize("page_size", [1, 25])
def test_subscriptions_list_with_nested_includes_is_a_fixed_number_of_queries(
    api, many_copies, page_size, django_assert_num_queries
):
    include = (
        "market,customer,source_order,source_order.billing_address,source_order.shipping_address,"
        "order_subscription_items,order_subscription_items.sku,customer_payment_source.payment_source,"
        "recurring_order_copies.target_order"
    )
    # market, customer, source_order, billing, shipping, items, payment source, copies, target orders
    with django_assert_num_queries(AUTH + COUNT + PAGE + 9):
        response = api.get("/api/order_subscriptions", {"page[size]": page_size, "include": include})
    assert response.status_code == 200
    assert len(response.json_body["data"]) == min(page_size, 6)


@pytest.mark.parametrize("page_size", [1, 25])
def test_related_list_is_a_fixed_number_of_queries(api, many_copies, page_size, django_assert_num_queries):
    subscription = many_copies[0].order_subscription
    # + the parent's existence check
    with django_assert_num_queries(AUTH + 1 + COUNT + PAGE + 1):
        response = api.get(
            f"/api/order_subscriptions/{subscription.id}/recurring_order_copies",
            {"page[size]": page_size, "include": "target_order"},
        )
    assert len(response.json_body["data"]) == min(page_size, 5)


def test_count_query_uses_the_filtered_table_without_joins(api, many_copies):
    with CaptureQueriesContext(connection) as queries:
        api.get("/api/recurring_order_copies", {"include": "source_order", "filter[q][status_eq]": "completed"})
    count_sql = next(query["sql"] for query in queries if "COUNT(" in query["sql"].upper())
    assert "JOIN" not in count_sql.upper()
    assert "copies_recurringordercopy" in count_sql
