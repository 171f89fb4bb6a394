"""Fuzzing the API against its own OpenAPI document: no 5xx, and every answer fits the document.

Bounded so CI finishes in about two minutes: a few examples per operation, no shrinking, no deadline
(SQLite and PostgreSQL alike), and only positive data (schema-valid requests; the negative side of
the contract has its own tests).
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.api.conftest import fetch_token
from tests.api.data import copy_of, subscription_in

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 3


@pytest.fixture
def keep_the_test_connection_open(bearer, existing_ids):
    """The WSGI app runs in this thread: like Django's test client, stop it closing the test's connection.

    Taken after the fixtures that use the test client, which reconnects the handler after each request.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(test_credential, settings):
    settings.API_RATE_LIMITS_ENABLED = False
    return {"Authorization": f"Bearer {fetch_token(test_credential.client_id, test_credential.client_secret)}"}


@pytest.fixture
def existing_ids():
    """One real id per type, so generated requests reach past the 404 into the resource's own rules.

    Types registered elsewhere (e.g. webhooks) keep the generated ids unless they are added here.
    """
    from copies.models import Event
    from subscriptions.models import SubscriptionModel

    subscription = subscription_in()
    copy = copy_of(subscription)
    order = subscription.source_order
    return {
        "order_subscriptions": subscription.id,
        "order_subscription_items": subscription.order_subscription_items.first().id,
        "subscription_models": SubscriptionModel.objects.create(name="Model", frequencies=["monthly"]).id,
        "recurring_order_copies": copy.id,
        "order_factories": copy.id,
        "orders": order.id,
        "line_items": order.line_items.first().id,
        "markets": order.market_id,
        "customers": order.customer_id,
        "addresses": order.billing_address_id,
        "customer_payment_sources": order.payment_source_id,
        "events": Event.objects.first().id,
    }


@pytest.mark.slow
@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case, bearer, existing_ids, keep_the_test_connection_open):
    resource_type = case.path.split("/")[2]
    if case.path_parameters and "id" in case.path_parameters and resource_type in existing_ids:
        case.path_parameters["id"] = existing_ids[resource_type]
    case.call_and_validate(headers={**bearer, "Accept": "application/vnd.api+json"}, checks=CHECKS)
