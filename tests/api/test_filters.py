"""`filter[q][...]`: every predicate family, `_or_`, relationship attributes, AND, and 400s for the rest."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.conventions.filters import PREDICATES
from subscriptions.models import OrderSubscription
from tests.api.data import copy_of, subscription_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriptions():
    first = subscription_in(frequency="monthly")
    second = subscription_in(frequency="weekly")
    third = subscription_in(frequency="daily")
    OrderSubscription.objects.filter(pk=first.pk).update(
        reference="ERP-1", metadata={"channel": "web", "tier": {"level": 2}}, errors_count=3
    )
    OrderSubscription.objects.filter(pk=second.pk).update(reference="ERP-2", metadata={"channel": "shop"})
    OrderSubscription.objects.filter(pk=third.pk).update(status="inactive", succeeded_on_last_run=False)
    return [OrderSubscription.objects.get(pk=item.pk) for item in (first, second, third)]


def ids(api, params, resource_type="order_subscriptions"):
    response = api.get(f"/api/{resource_type}", {"page[size]": 25, **params})
    assert response.status_code == 200, response.json_body
    return {item["id"] for item in response.json_body["data"]}


def test_equality_and_sets(api, subscriptions):
    first, second, third = subscriptions
    assert ids(api, {"filter[q][frequency_eq]": "monthly"}) == {first.id}
    assert ids(api, {"filter[q][frequency_not_eq]": "monthly"}) == {second.id, third.id}
    assert ids(api, {"filter[q][frequency_in]": "monthly,weekly"}) == {first.id, second.id}
    assert ids(api, {"filter[q][frequency_not_in]": "monthly,weekly"}) == {third.id}
    assert ids(api, {"filter[q][status_in]": "inactive"}) == {third.id}
    assert ids(api, {"filter[q][frequency_eq_any]": "daily,weekly"}) == {second.id, third.id}


def test_null_present_blank_and_or_null(api, subscriptions):
    first, second, third = subscriptions
    assert ids(api, {"filter[q][reference_null]": "true"}) == {third.id}
    assert ids(api, {"filter[q][reference_not_null]": "true"}) == {first.id, second.id}
    assert ids(api, {"filter[q][reference_present]": "true"}) == {first.id, second.id}
    assert ids(api, {"filter[q][reference_blank]": "true"}) == {third.id}
    assert ids(api, {"filter[q][reference_eq_or_null]": "ERP-1"}) == {first.id, third.id}
    assert ids(api, {"filter[q][reference_not_eq_or_null]": "ERP-1"}) == {second.id, third.id}
    assert ids(api, {"filter[q][reference_in_or_null]": "ERP-2"}) == {second.id, third.id}


def test_text_predicates_are_case_insensitive(api, subscriptions):
    first, second, _ = subscriptions
    assert ids(api, {"filter[q][reference_cont]": "erp"}) == {first.id, second.id}
    assert ids(api, {"filter[q][reference_start]": "erp-"}) == {first.id, second.id}
    assert ids(api, {"filter[q][reference_end]": "-2"}) == {second.id}
    assert ids(api, {"filter[q][reference_not_cont]": "-2"}) == {first.id}
    assert ids(api, {"filter[q][reference_matches]": "ERP-_"}) == {first.id, second.id}
    assert ids(api, {"filter[q][reference_matches]": "%1"}) == {first.id}
    assert ids(api, {"filter[q][reference_does_not_match]": "%1"}) == {second.id}
    assert ids(api, {"filter[q][reference_cont_any]": "-1,-2"}) == {first.id, second.id}
    assert ids(api, {"filter[q][reference_cont_all]": "ERP,1"}) == {first.id}
    assert ids(api, {"filter[q][reference_i_cont]": "Erp-1"}) == {first.id}


def test_comparisons_on_numbers_and_datetimes(api, subscriptions):
    first, second, third = subscriptions
    assert ids(api, {"filter[q][errors_count_gt]": "0"}) == {first.id}
    assert ids(api, {"filter[q][errors_count_lteq]": "0"}) == {second.id, third.id}
    future = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert ids(api, {"filter[q][created_at_lt]": future}) == {first.id, second.id, third.id}
    assert ids(api, {"filter[q][created_at_gteq]": future}) == set()
    assert ids(api, {"filter[q][next_run_at_gt]": timezone.now().date().isoformat()}) == {first.id, second.id, third.id}


def test_booleans(api, subscriptions):
    first, second, third = subscriptions
    assert ids(api, {"filter[q][succeeded_on_last_run_true]": "true"}) == {first.id, second.id}
    assert ids(api, {"filter[q][succeeded_on_last_run_false]": "true"}) == {third.id}
    assert ids(api, {"filter[q][succeeded_on_last_run_eq]": "false"}) == {third.id}


def test_metadata_jcont(api, subscriptions):
    first, second, _ = subscriptions
    assert ids(api, {"filter[q][metadata_jcont]": '{"channel":"web"}'}) == {first.id}
    assert ids(api, {"filter[q][metadata_jcont]": '{"tier":{"level":2}}'}) == {first.id}
    assert ids(api, {"filter[q][metadata_jcont]": '{"channel":"none"}'}) == set()


def test_or_between_attributes_and_and_between_filters(api, subscriptions):
    first, second, third = subscriptions
    needle = str(second.number)
    assert ids(api, {"filter[q][number_or_customer_email_cont]": needle}) == {second.id}
    email = third.customer_email
    assert ids(api, {"filter[q][number_or_customer_email_cont]": email}) == {third.id}
    both = {"filter[q][frequency_in]": "monthly,weekly", "filter[q][reference_end]": "2"}
    assert ids(api, both) == {second.id}


def test_relationship_attributes(api, subscriptions):
    first, second, third = subscriptions
    assert ids(api, {"filter[q][source_order_number_eq]": str(first.source_order.number)}) == {first.id}
    assert ids(api, {"filter[q][market_id_in]": f"{first.market_id},{second.market_id}"}) == {first.id, second.id}
    assert ids(api, {"filter[q][market_code_eq]": third.market.code}) == {third.id}
    assert ids(api, {"filter[q][customer_email_eq]": first.customer_email}) == {first.id}
    assert ids(api, {"filter[q][events_name_eq]": "activate"}) == {first.id, second.id, third.id}
    copy = copy_of(first)
    assert ids(api, {"filter[q][order_subscription_id_eq]": first.id}, "recurring_order_copies") == {copy.id}
    assert ids(api, {"filter[q][source_order_number_eq]": str(first.source_order.number)},
               "recurring_order_copies") == {copy.id}  # fmt: skip
    assert ids(api, {"filter[q][order_subscriptions_frequency_eq]": "weekly"}, "orders") == {second.source_order_id}


@pytest.mark.parametrize(
    "parameter,value,code",
    [
        ("filter[q][unknown_eq]", "x", "FILTER_NOT_ALLOWED"),
        ("filter[q][frequency_sounds_like]", "x", "FILTER_NOT_ALLOWED"),
        ("filter[q][activate_by_source_order_eq]", "true", "FILTER_NOT_ALLOWED"),  # not filterable
        ("filter[q][schedule_anchor_lt]", "2020-01-01", "FILTER_NOT_ALLOWED"),  # internal column
        ("filter[q][market_time_zone_eq]", "UTC", "FILTER_NOT_ALLOWED"),  # not filterable on markets
        ("filter[q][errors_count_gt]", "many", "INVALID_FILTER_VALUE"),
        ("filter[q][created_at_gt]", "yesterday", "INVALID_FILTER_VALUE"),
        ("filter[q][succeeded_on_last_run_true]", "maybe", "INVALID_FILTER_VALUE"),
        ("filter[q][metadata_jcont]", "[1,2]", "INVALID_FILTER_VALUE"),
        ("filter[q][errors_count_cont]", "1", "FILTER_NOT_ALLOWED"),
        ("filter[q][status_true]", "true", "FILTER_NOT_ALLOWED"),
        ("filter[q][number_eq]", "12x", "INVALID_FILTER_VALUE"),
        ("filter[status]", "active", "PARAM_NOT_ALLOWED"),
        ("filter[q][status_eq][x]", "active", "PARAM_NOT_ALLOWED"),
    ],
)
def test_what_is_not_allowed_is_a_400_naming_the_parameter(api, subscriptions, parameter, value, code):
    response = api.get("/api/order_subscriptions", {parameter: value})
    assert response.status_code == 400
    (error,) = response.json_body["errors"]
    assert error["code"] == code
    assert error["status"] == "400"
    assert error["source"] == {"parameter": parameter}


def test_the_predicate_list_is_complete():
    documented = {
        "eq", "eq_or_null", "not_eq", "not_eq_or_null", "not_eq_all", "matches", "does_not_match", "matches_any",
        "matches_all", "does_not_match_any", "does_not_match_all", "lt", "lteq", "gt", "gteq", "lt_any", "lteq_all",
        "in", "in_or_null", "not_in", "not_in_or_null", "null", "not_null", "present", "blank", "start", "not_start",
        "start_any", "start_all", "not_start_any", "not_start_all", "end", "not_end", "end_any", "end_all",
        "not_end_any", "not_end_all", "cont", "not_cont", "cont_any", "cont_all", "not_cont_all", "jcont", "true",
        "false", "i_cont",
    }  # fmt: skip
    assert documented <= set(PREDICATES)


@pytest.mark.parametrize("predicate", sorted(PREDICATES))
def test_every_predicate_runs_on_a_fitting_attribute(api, subscriptions, predicate):
    spec_types = PREDICATES[predicate].types
    attribute, value = next(
        (name, sample)
        for name, kind, sample in (
            ("reference", "string", "ERP-1,ERP-2"),
            ("errors_count", "integer", "1,3"),
            ("created_at", "datetime", "2020-01-01T00:00:00Z"),
            ("succeeded_on_last_run", "boolean", "true"),
            ("metadata", "object", '{"channel":"web"}'),
        )
        if kind in spec_types
    )
    if PREDICATES[predicate].flag:
        value = "true"
    response = api.get("/api/order_subscriptions", {f"filter[q][{attribute}_{predicate}]": value})
    assert response.status_code == 200, (predicate, response.json_body)
