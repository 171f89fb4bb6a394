"""The subscription status machine: every transition, every refusal, and the events they record."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from copies.models import Event
from orders.models import OrderStatus
from orders.services import order_cancel, order_place
from subscriptions.models import SubscriptionStatus
from subscriptions.schedule import nth_run
from subscriptions.services import (
    order_subscription_create,
    subscription_activate,
    subscription_cancel,
    subscription_deactivate,
    subscription_update,
)
from tests.factories import (
    MarketFactory,
    OrderFactory,
    PaymentSourceFactory,
    SubscriptionModelFactory,
    active_subscription,
    placed_order,
)

pytestmark = pytest.mark.django_db


def draft_order(**fields):
    """An order with line items that has not been placed yet."""
    order = placed_order(**fields)
    order.status, order.placed_at = OrderStatus.DRAFT, None
    order.save()
    return order


def event_names(subscription) -> list[str]:
    return list(
        Event.objects.filter(resource_type="order_subscriptions", resource_id=subscription.id)
        .order_by("created_at", "id")
        .values_list("name", flat=True)
    )


def refused(call, field="status") -> str:
    with pytest.raises(ValidationError) as error:
        call()
    return " ".join(error.value.message_dict[field])


# --- Creation and activation by source order ---------------------------------------------------


def test_created_as_draft_while_the_source_order_is_not_placed():
    subscription = order_subscription_create(source_order=draft_order(), frequency="monthly")
    assert subscription.status == SubscriptionStatus.DRAFT
    assert subscription.next_run_at is None and subscription.occurrencies == 0
    assert event_names(subscription) == ["create"]


def test_created_from_a_placed_order_it_is_active_at_once_and_the_order_is_the_first_run():
    order = placed_order()
    subscription = order_subscription_create(source_order=order, frequency="monthly")
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.occurrencies == 1
    assert subscription.last_run_at == order.placed_at
    assert subscription.succeeded_on_last_run is True
    assert subscription.next_run_at == nth_run(order.placed_at, "monthly", "UTC", 1)  # one period later
    assert subscription.schedule_anchor == order.placed_at
    assert event_names(subscription) == ["create", "activate"]


def test_creation_copies_customer_items_and_wallet_source_from_the_order():
    order = placed_order(items=4)
    subscription = order_subscription_create(source_order=order, frequency="weekly")
    assert subscription.customer_id == order.customer_id
    assert subscription.customer_email == order.customer_email
    assert subscription.market_id == order.market_id
    assert subscription.customer_payment_source_id == order.payment_source_id
    assert subscription.number > 0
    items = list(subscription.order_subscription_items.order_by("source_line_item__quantity"))
    lines = list(order.line_items.order_by("quantity"))
    assert [(i.sku_code, i.quantity, i.unit_amount_cents, i.source_line_item_id) for i in items] == [
        (line.sku_code, line.quantity, line.unit_amount_cents, line.id) for line in lines
    ]


def test_numbers_are_unique_and_sequential():
    numbers = [active_subscription().number for _ in range(3)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3


def test_placing_the_source_order_activates_its_draft_subscription():
    order = draft_order()
    subscription = order_subscription_create(source_order=order, frequency="daily")
    order_place(order)
    subscription.refresh_from_db()
    order.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.last_run_at == order.placed_at
    assert subscription.next_run_at == order.placed_at + timedelta(days=1)
    assert event_names(subscription) == ["create", "activate"]


def test_placing_the_source_order_leaves_manual_subscriptions_in_draft():
    order = draft_order()
    subscription = order_subscription_create(
        source_order=order,
        frequency="daily",
        activate_by_source_order=False,
        starts_at=timezone.now() + timedelta(days=2),
    )
    order_place(order)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.DRAFT


def test_a_draft_waiting_for_its_source_order_cannot_be_activated_by_hand():
    subscription = order_subscription_create(source_order=draft_order(), frequency="daily")
    assert "source order is placed" in refused(lambda: subscription_activate(subscription))


# --- Manual activation ---------------------------------------------------------------------------


def test_manual_subscription_needs_starts_at():
    message = refused(
        lambda: order_subscription_create(
            source_order=placed_order(), frequency="daily", activate_by_source_order=False
        ),
        "starts_at",
    )
    assert "can't be blank" in message


def test_manual_activation_makes_the_first_run_at_starts_at():
    starts_at = timezone.now() + timedelta(days=3)
    subscription = order_subscription_create(
        source_order=placed_order(), frequency="weekly", activate_by_source_order=False, starts_at=starts_at
    )
    assert subscription.status == SubscriptionStatus.DRAFT
    subscription = subscription_activate(subscription)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.next_run_at == starts_at
    assert subscription.occurrencies == 0
    assert event_names(subscription) == ["create", "activate"]


def test_activate_with_an_explicit_next_run_at():
    subscription = active_subscription()
    subscription = subscription_deactivate(subscription)
    when = timezone.now() + timedelta(hours=5)
    subscription = subscription_activate(subscription, next_run_at=when)
    assert subscription.next_run_at == when


# --- Deactivate / reactivate --------------------------------------------------------------------


def test_deactivate_then_activate():
    subscription = active_subscription()
    subscription = subscription_deactivate(subscription)
    assert subscription.status == SubscriptionStatus.INACTIVE
    subscription = subscription_activate(subscription)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert event_names(subscription) == ["create", "activate", "deactivate", "activate"]


def test_a_run_that_passed_while_inactive_is_kept_so_the_next_tick_runs_it():
    subscription = active_subscription()
    subscription = subscription_deactivate(subscription)
    past = timezone.now() - timedelta(days=3)
    type(subscription).objects.filter(pk=subscription.pk).update(next_run_at=past)
    subscription = subscription_activate(subscription)
    assert subscription.next_run_at == past


@pytest.mark.parametrize("status", [SubscriptionStatus.INACTIVE, SubscriptionStatus.DRAFT])
def test_deactivate_is_refused_unless_active(status):
    subscription = active_subscription()
    type(subscription).objects.filter(pk=subscription.pk).update(status=status)
    assert f"cannot transition from {status} to inactive" in refused(lambda: subscription_deactivate(subscription))


def test_activating_an_active_subscription_changes_nothing():
    subscription = active_subscription()
    before = event_names(subscription)
    assert subscription_activate(subscription).status == SubscriptionStatus.ACTIVE
    assert event_names(subscription) == before


def test_activation_after_expiry_needs_a_new_expiry():
    subscription = active_subscription()
    subscription_deactivate(subscription)
    type(subscription).objects.filter(pk=subscription.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert "has passed" in refused(lambda: subscription_activate(subscription), "expires_at")


# --- Cancel is final -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [SubscriptionStatus.DRAFT, SubscriptionStatus.INACTIVE, SubscriptionStatus.ACTIVE, SubscriptionStatus.RUNNING],
)
def test_cancel_from_any_status(status):
    subscription = active_subscription()
    type(subscription).objects.filter(pk=subscription.pk).update(status=status)
    subscription = subscription_cancel(subscription)
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.next_run_at is None
    assert event_names(subscription)[-1] == "cancel"


@pytest.mark.parametrize(
    ("trigger", "target"),
    [(subscription_activate, "active"), (subscription_deactivate, "inactive"), (subscription_cancel, "cancelled")],
)
def test_every_trigger_after_cancel_is_refused_with_the_reason(trigger, target):
    subscription = subscription_cancel(active_subscription())
    message = refused(lambda: trigger(subscription))
    assert f"cannot transition from cancelled to {target}" in message
    assert "final" in message or "already cancelled" in message


def test_a_cancelled_subscription_cannot_be_edited_except_its_reference_fields():
    subscription = subscription_cancel(active_subscription())
    assert "cancelled" in refused(
        lambda: subscription_update(subscription, changes={"frequency": "daily"}), "frequency"
    )
    subscription = subscription_update(subscription, changes={"reference": "ERP-1", "metadata": {"a": 1}})
    assert (subscription.reference, subscription.metadata) == ("ERP-1", {"a": 1})


# --- Running -------------------------------------------------------------------------------------


def test_deactivating_a_running_subscription_sticks_after_its_copy_ends():
    from copies.services import _build, _claim, recurring_order_copy_create

    subscription = active_subscription()
    copy = recurring_order_copy_create(order_subscription=subscription)
    claimed, token = _claim([copy.id], timezone.now())
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.RUNNING
    subscription_deactivate(subscription)
    _build(claimed, token, timezone.now())
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.INACTIVE


# --- Updates -------------------------------------------------------------------------------------


def test_next_run_at_may_only_move_to_the_future():
    subscription = active_subscription()
    message = refused(
        lambda: subscription_update(subscription, changes={"next_run_at": timezone.now() - timedelta(seconds=1)}),
        "next_run_at",
    )
    assert message == "must be in the future"
    future = timezone.now() + timedelta(days=2)
    subscription = subscription_update(subscription, changes={"next_run_at": future})
    assert subscription.next_run_at == future and subscription.schedule_anchor == future


@pytest.mark.parametrize("attribute", ["starts_at", "market", "source_order", "status", "occurrencies"])
def test_create_only_and_read_only_attributes_cannot_change(attribute):
    subscription = active_subscription()
    assert (
        refused(lambda: subscription_update(subscription, changes={attribute: None}), attribute) == "can't be changed"
    )


def test_frequency_must_be_valid():
    subscription = active_subscription()
    assert "once an hour" in refused(
        lambda: subscription_update(subscription, changes={"frequency": "*/5 * * * *"}), "frequency"
    )


def test_frequency_must_be_one_of_the_market_models_frequencies():
    market = MarketFactory(subscription_model=SubscriptionModelFactory(frequencies=["weekly", "monthly"]))
    order = placed_order(market=market)
    message = refused(lambda: order_subscription_create(source_order=order, frequency="daily"), "frequency")
    assert "allowed: weekly, monthly" in message
    subscription = order_subscription_create(source_order=order, frequency="weekly")
    assert "not allowed" in refused(
        lambda: subscription_update(subscription, changes={"frequency": "daily"}), "frequency"
    )


def test_a_frequency_change_takes_over_from_the_scheduled_run():
    subscription = active_subscription(frequency="monthly")
    scheduled = subscription.next_run_at
    subscription = subscription_update(subscription, changes={"frequency": "weekly"})
    assert subscription.next_run_at == scheduled
    assert subscription.schedule_anchor == scheduled


def test_expires_at_must_be_after_starts_at():
    starts_at = timezone.now() + timedelta(days=10)
    message = refused(
        lambda: order_subscription_create(
            source_order=placed_order(),
            frequency="daily",
            activate_by_source_order=False,
            starts_at=starts_at,
            expires_at=starts_at - timedelta(days=1),
        ),
        "expires_at",
    )
    assert message == "must be after starts_at"


@pytest.mark.parametrize("period", [0, 721, -5])
def test_renewal_alert_period_must_be_1_to_720_hours(period):
    subscription = active_subscription()
    assert "between 1 and 720" in refused(
        lambda: subscription_update(subscription, changes={"renewal_alert_period": period}), "renewal_alert_period"
    )


def test_payment_source_must_be_in_the_customers_wallet():
    subscription = active_subscription()
    strangers_card = PaymentSourceFactory()
    assert "wallet" in refused(
        lambda: subscription_update(subscription, changes={"customer_payment_source": strangers_card}),
        "customer_payment_source",
    )


def test_a_cancelled_source_order_cannot_start_a_subscription():
    order = placed_order()
    order_cancel(order)
    order.refresh_from_db()
    assert refused(lambda: order_subscription_create(source_order=order, frequency="daily"), "source_order")


# --- auto_cancel ----------------------------------------------------------------------------------


def test_cancelling_the_source_order_cancels_subscriptions_when_the_model_auto_cancels():
    market = MarketFactory(subscription_model=SubscriptionModelFactory(auto_cancel=True))
    order = placed_order(market=market)
    subscription = order_subscription_create(source_order=order, frequency="monthly")
    order_cancel(order)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert Event.objects.get(resource_id=subscription.id, name="cancel").payload == {"reason": "source order cancelled"}


@pytest.mark.parametrize("subscription_model", [None, "no_auto_cancel"])
def test_cancelling_the_source_order_keeps_subscriptions_otherwise(subscription_model):
    model = SubscriptionModelFactory(auto_cancel=False) if subscription_model else None
    order = placed_order(market=MarketFactory(subscription_model=model))
    subscription = order_subscription_create(source_order=order, frequency="monthly")
    order_cancel(order)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE


def test_orders_cancel_only_from_placed_states():
    order = OrderFactory()
    assert "cannot transition from draft to cancelled" in refused(lambda: order_cancel(order))
