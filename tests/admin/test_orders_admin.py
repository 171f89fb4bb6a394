"""Orders, customers, markets and subscription models in the back-office."""

import pytest
from django.urls import reverse

from orders.models import Market, OrderStatus
from subscriptions.models import SubscriptionModel, SubscriptionStatus
from tests.admin.builders import failed_copy
from tests.factories import MarketFactory, SubscriptionModelFactory, active_subscription, placed_order

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:orders_order_changelist")


def test_orders_list_shows_renewals_with_their_subscription(admin_client):
    copy = failed_copy()

    response = admin_client.get(f"{ORDERS}?origin=renewal")

    assert [order.pk for order in response.context["cl"].result_list] == [copy.target_order_id]
    html = response.content.decode()
    assert reverse("admin:subscriptions_ordersubscription_change", args=[copy.order_subscription_id]) in html
    assert 'data-status="draft"' in html
    search = admin_client.get(ORDERS, {"q": f"#{copy.source_order.number}"})
    assert [order.pk for order in search.context["cl"].result_list] == [copy.source_order_id]


def test_order_page_links_the_copy_that_made_it(admin_client):
    copy = failed_copy()

    response = admin_client.get(reverse("admin:orders_order_change", args=[copy.target_order_id]))

    html = response.content.decode()
    assert reverse("admin:copies_recurringordercopy_change", args=[copy.pk]) in html
    assert response.context["has_change_permission"] is False  # orders change only through services


def test_placing_a_draft_left_by_a_failed_renewal_reports_why_it_cannot_be_placed(admin_client):
    copy = failed_copy()

    response = admin_client.post(
        ORDERS, {"action": "place_selected", "_selected_action": [copy.target_order_id]}, follow=True
    )

    (row,) = response.context["report"]["rows"]
    assert row["outcome"] == "refused"
    assert "Payment source: is expired" in row["message"]
    copy.target_order.refresh_from_db()
    assert copy.target_order.status == OrderStatus.DRAFT


def test_cancelling_orders_is_confirmed_first_and_follows_auto_cancel(admin_client):
    model = SubscriptionModelFactory(auto_cancel=True)
    order = placed_order(market=MarketFactory(subscription_model=model))
    subscription = active_subscription(order=order)
    data = {"action": "cancel_selected", "_selected_action": [order.pk]}

    confirmation = admin_client.post(ORDERS, data)
    assert confirmation.templates[0].name == "admin/backoffice/confirm_action.html"

    admin_client.post(ORDERS, {**data, "confirmed": "yes"})
    order.refresh_from_db()
    subscription.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert subscription.status == SubscriptionStatus.CANCELLED


def test_customer_page_shows_the_wallet(admin_client):
    subscription = active_subscription()
    customer = subscription.customer

    response = admin_client.get(reverse("admin:orders_customer_change", args=[customer.pk]))

    assert subscription.customer_payment_source.name in response.content.decode()
    search = admin_client.get(reverse("admin:orders_customer_changelist"), {"q": customer.email})
    assert list(search.context["cl"].result_list) == [customer]


def test_market_time_zone_is_chosen_from_the_known_zones(admin_client):
    response = admin_client.post(
        reverse("admin:orders_market_add"),
        {"mode": "test", "name": "Japan", "code": "jp", "currency_code": "JPY", "time_zone": "Mars/Olympus"},
    )
    assert "time_zone" in response.context["adminform"].form.errors

    admin_client.post(
        reverse("admin:orders_market_add"),
        {"mode": "test", "name": "Japan", "code": "jp", "currency_code": "JPY", "time_zone": "Asia/Tokyo"},
    )
    assert Market.objects.get(code="jp").time_zone == "Asia/Tokyo"


def test_subscription_model_frequencies_are_validated_one_per_line(admin_client):
    url = reverse("admin:subscriptions_subscriptionmodel_add")
    data = {"mode": "test", "name": "Tea club", "strategy": "by_frequency", "auto_activate": "on"}

    refused = admin_client.post(url, {**data, "frequencies": "weekly\n*/10 * * * *"})
    assert "must not run more than once an hour" in str(refused.context["adminform"].form.errors["frequencies"])

    admin_client.post(url, {**data, "frequencies": "weekly\n0 9 * * 1\nweekly"})
    assert SubscriptionModel.objects.get(name="Tea club").frequencies == ["weekly", "0 9 * * 1"]
