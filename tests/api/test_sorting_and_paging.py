"""sort, page[number], page[size], include and fields validation, and the pagination links."""

from datetime import timedelta

import pytest
from django.utils import timezone

from copies.models import RecurringOrderCopy
from tests.api.data import copy_of, subscription_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def copies():
    subscription = subscription_in()
    made = [copy_of(subscription) for _ in range(7)]
    now = timezone.now()
    for index, copy in enumerate(made):
        RecurringOrderCopy.objects.filter(pk=copy.pk).update(
            created_at=now - timedelta(minutes=index), errors_count=index % 3, status="completed"
        )
    return made


def listed(api, params):
    response = api.get("/api/recurring_order_copies", params)
    assert response.status_code == 200, response.json_body
    return response.json_body


def test_sort_ascending_descending_and_several_fields(api, copies):
    newest_first = [item["id"] for item in listed(api, {"sort": "-created_at"})["data"]]
    assert newest_first == [copy.id for copy in copies]
    oldest_first = [item["id"] for item in listed(api, {"sort": "created_at"})["data"]]
    assert oldest_first == newest_first[::-1]
    data = listed(api, {"sort": "-errors_count,created_at"})["data"]
    counts = [item["attributes"]["errors_count"] for item in data]
    assert counts == sorted(counts, reverse=True)


def test_default_order_is_newest_first(api, copies):
    assert [item["id"] for item in listed(api, {})["data"]] == [copy.id for copy in copies]


def test_pages_and_their_links(api, copies):
    document = listed(
        api, {"page[size]": 3, "page[number]": 2, "sort": "-created_at", "filter[q][status_eq]": "completed"}
    )
    assert [item["id"] for item in document["data"]] == [copy.id for copy in copies[3:6]]
    assert document["meta"] == {"record_count": 7, "page_count": 3}
    base = "http://testserver/api/recurring_order_copies?page[number]={}&page[size]=3&sort=-created_at&filter[q][status_eq]=completed"
    assert document["links"] == {
        "first": base.format(1),
        "prev": base.format(1),
        "next": base.format(3),
        "last": base.format(3),
    }
    last = listed(api, {"page[size]": 3, "page[number]": 3})
    assert "next" not in last["links"] and "prev" in last["links"]
    first = listed(api, {"page[size]": 3})
    assert "prev" not in first["links"] and "next" in first["links"]


def test_default_page_size_is_10_and_25_is_the_maximum(api):
    subscription = subscription_in()
    for _ in range(26):
        copy_of(subscription)
    assert len(listed(api, {})["data"]) == 10
    assert len(listed(api, {"page[size]": 25})["data"]) == 25


def test_a_page_past_the_last_is_empty(api, copies):
    document = listed(api, {"page[number]": 5})
    assert document["data"] == []
    assert document["meta"]["record_count"] == 7


@pytest.mark.parametrize(
    "parameter,value,code",
    [
        ("page[size]", "26", "INVALID_PAGE_VALUE"),
        ("page[size]", "0", "INVALID_PAGE_VALUE"),
        ("page[size]", "ten", "INVALID_PAGE_VALUE"),
        ("page[number]", "0", "INVALID_PAGE_VALUE"),
        ("page[number]", "-1", "INVALID_PAGE_VALUE"),
        ("page[offset]", "3", "PARAM_NOT_ALLOWED"),
        ("sort", "cycle_at", "INVALID_SORT_CRITERIA"),
        ("sort", "errors_log", "INVALID_SORT_CRITERIA"),
        ("sort", "-", "INVALID_SORT_CRITERIA"),
        ("sort", "status,,id", "INVALID_SORT_CRITERIA"),
        ("include", "nothing", "INVALID_INCLUDE"),
        ("include", "source_order.nothing", "INVALID_INCLUDE"),
        ("include", "source_order,", "INVALID_INCLUDE"),
        ("fields[recurring_order_copies]", "status,cycle_at", "INVALID_FIELD"),
        ("fields[unicorns]", "horn", "INVALID_FIELD"),
        ("search", "x", "PARAM_NOT_ALLOWED"),
    ],
)
def test_bad_query_parameters_are_400s_naming_the_parameter(api, copies, parameter, value, code):
    response = api.get("/api/recurring_order_copies", {parameter: value})
    assert response.status_code == 400
    (error,) = response.json_body["errors"]
    assert error["code"] == code
    assert error["source"] == {"parameter": parameter}


def test_single_resources_refuse_list_parameters(api, copies):
    response = api.get(f"/api/recurring_order_copies/{copies[0].id}", {"page[size]": 5})
    assert response.status_code == 400
    assert response.json_body["errors"][0]["source"] == {"parameter": "page[size]"}


def test_related_lists_filter_sort_and_page(api, copies):
    subscription = copies[0].order_subscription
    response = api.get(
        f"/api/order_subscriptions/{subscription.id}/recurring_order_copies",
        {"sort": "created_at", "page[size]": 2, "filter[q][errors_count_eq]": "0"},
    )
    assert response.status_code == 200
    expected = [copy.id for copy in copies if copies.index(copy) % 3 == 0][::-1]
    assert [item["id"] for item in response.json_body["data"]] == expected[:2]
    assert response.json_body["meta"]["record_count"] == len(expected)
    assert response.json_body["links"]["first"].startswith(
        f"http://testserver/api/order_subscriptions/{subscription.id}/recurring_order_copies?"
    )
