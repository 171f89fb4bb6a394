"""What a recurring order copy builds, and how it records success and failure."""

from datetime import timedelta

import pytest
from django.utils import timezone

from copies.models import CopyStatus, Event, RecurringOrderCopy
from copies.services import recurring_order_copy_create, recurring_order_copy_run
from orders.models import Address, Order, OrderStatus
from subscriptions.models import SubscriptionStatus
from subscriptions.services import subscription_cancel, subscription_deactivate, subscription_update
from tests.factories import PaymentSourceFactory, active_subscription, placed_order

pytestmark = pytest.mark.django_db


def make_copy(subscription, **options) -> RecurringOrderCopy:
    return recurring_order_copy_create(order_subscription=subscription, **options)


def run(copy: RecurringOrderCopy) -> RecurringOrderCopy:
    recurring_order_copy_run(copy.id)
    copy.refresh_from_db()
    return copy


def test_completed_copy_builds_a_placed_order_like_the_source():
    subscription = active_subscription()
    source = subscription.source_order
    copy = run(make_copy(subscription))

    assert copy.status == CopyStatus.COMPLETED
    assert copy.completed_at is not None and copy.failed_at is None
    assert copy.errors_log == {} and copy.errors_count == 0
    target = copy.target_order
    assert target.status == OrderStatus.PLACED and target.placed_at is not None
    assert target.number != source.number
    assert (target.customer_id, target.customer_email, target.market_id) == (
        source.customer_id,
        source.customer_email,
        source.market_id,
    )
    assert target.order_subscription_id == subscription.id
    assert target.currency_code == source.market.currency_code


def test_line_items_come_from_the_subscription_items_not_the_source_order():
    subscription = active_subscription()
    item = subscription.order_subscription_items.first()
    item.quantity, item.unit_amount_cents = 7, 999
    item.save()
    subscription.order_subscription_items.exclude(pk=item.pk).delete()

    target = run(make_copy(subscription)).target_order
    lines = list(target.line_items.all())
    assert [(line.sku_code, line.quantity, line.unit_amount_cents, line.total_amount_cents) for line in lines] == [
        (item.sku_code, 7, 999, 7 * 999)
    ]
    assert lines[0].name == item.source_line_item.name
    assert (target.subtotal_amount_cents, target.total_amount_cents, target.skus_count) == (6993, 6993, 7)


def test_addresses_are_copied_as_new_rows():
    subscription = active_subscription()
    source = subscription.source_order
    target = run(make_copy(subscription)).target_order

    assert target.billing_address_id not in (source.billing_address_id, source.shipping_address_id)
    assert target.shipping_address_id not in (source.billing_address_id, source.shipping_address_id)
    assert target.billing_address_id != target.shipping_address_id
    for field in Address.COPIED_FIELDS:
        assert getattr(target.billing_address, field) == getattr(source.billing_address, field)
        assert getattr(target.shipping_address, field) == getattr(source.shipping_address, field)


def test_wallet_payment_source_is_reused_when_asked():
    subscription = active_subscription()
    copy = run(make_copy(subscription, reuse_wallet=True))
    assert copy.target_order.payment_source_id == subscription.source_order.payment_source_id


def test_without_wallet_reuse_the_order_has_no_payment_source_and_cannot_be_placed():
    subscription = active_subscription()
    copy = run(make_copy(subscription, reuse_wallet=False))

    assert copy.status == CopyStatus.FAILED
    assert copy.errors_log == {
        "payment_source": ["can't be blank"],
        "status": ["cannot transition from draft to placed"],
    }
    assert copy.errors_count == 2
    assert copy.target_order.status == OrderStatus.DRAFT
    assert copy.target_order.payment_source_id is None


def test_without_wallet_reuse_and_without_placement_the_copy_completes_as_a_draft():
    subscription = active_subscription()
    copy = run(make_copy(subscription, reuse_wallet=False, place_target_order=False))
    assert copy.status == CopyStatus.COMPLETED
    assert copy.target_order.status == OrderStatus.DRAFT


def test_a_payment_source_outside_the_customers_wallet_is_not_reused():
    order = placed_order()
    order.payment_source = PaymentSourceFactory()  # someone else's saved card
    order.save()
    subscription = active_subscription(order=order)
    copy = run(make_copy(subscription))
    assert copy.target_order.payment_source_id is None
    assert copy.errors_log["payment_source"] == ["can't be blank"]


def test_the_subscriptions_own_payment_source_wins():
    subscription = active_subscription()
    replacement = PaymentSourceFactory(customer=subscription.customer, name="Mastercard •••• 4444")
    subscription_update(subscription, changes={"customer_payment_source": replacement})
    copy = run(make_copy(subscription))
    assert copy.target_order.payment_source_id == replacement.id


def test_place_target_order_false_leaves_a_draft_and_completes():
    subscription = active_subscription()
    copy = run(make_copy(subscription, place_target_order=False))
    assert copy.status == CopyStatus.COMPLETED
    assert copy.target_order.status == OrderStatus.DRAFT
    assert copy.target_order.placed_at is None


def test_place_target_order_defaults_to_the_subscriptions_setting():
    subscription = active_subscription(place_target_order=False)
    assert make_copy(subscription).place_target_order is False


def test_expired_payment_source_fails_placement_and_keeps_the_draft_linked():
    subscription = active_subscription()
    payment_source = subscription.source_order.payment_source
    payment_source.expires_at = timezone.now() - timedelta(days=1)
    payment_source.save()
    copy = run(make_copy(subscription))

    assert copy.status == CopyStatus.FAILED
    assert copy.errors_log == {"payment_source": ["is expired"], "status": ["cannot transition from draft to placed"]}
    assert copy.target_order is not None and copy.target_order.status == OrderStatus.DRAFT
    assert copy.failed_at is not None and copy.completed_at is None


def test_missing_addresses_fail_placement_per_attribute():
    order = placed_order(billing_address=None, shipping_address=None)
    copy = run(make_copy(active_subscription(order=order)))
    assert copy.errors_log == {
        "billing_address": ["can't be blank"],
        "shipping_address": ["can't be blank"],
        "status": ["cannot transition from draft to placed"],
    }
    assert copy.errors_count == 3


def test_disabled_market_fails_placement():
    subscription = active_subscription()
    subscription.market.disabled_at = timezone.now() - timedelta(minutes=1)
    subscription.market.save()
    copy = run(make_copy(subscription))
    assert copy.errors_log["market"] == ["is disabled"]


def test_a_subscription_without_items_fails_and_builds_nothing():
    subscription = active_subscription()
    subscription.order_subscription_items.all().delete()
    orders_before = Order.objects.count()
    addresses_before = Address.objects.count()
    copy = run(make_copy(subscription))

    assert copy.status == CopyStatus.FAILED
    assert copy.errors_log == {"order_subscription_items": ["can't be blank"]}
    assert copy.target_order is None
    assert Order.objects.count() == orders_before
    assert Address.objects.count() == addresses_before


def test_success_updates_the_subscription_counters():
    subscription = active_subscription()
    assert subscription.occurrencies == 1  # the source order was the first run
    copy = run(make_copy(subscription))
    subscription.refresh_from_db()

    assert subscription.occurrencies == 2
    assert subscription.errors_count == 0
    assert subscription.succeeded_on_last_run is True
    assert subscription.last_run_at == copy.completed_at
    assert subscription.status == SubscriptionStatus.ACTIVE


def test_failure_updates_the_subscription_counters():
    subscription = active_subscription()
    copy = run(make_copy(subscription, reuse_wallet=False))
    subscription.refresh_from_db()

    assert subscription.occurrencies == 1
    assert subscription.errors_count == 1
    assert subscription.succeeded_on_last_run is False
    assert subscription.last_run_failed is True
    assert subscription.last_run_at == copy.failed_at
    assert subscription.status == SubscriptionStatus.ACTIVE


def test_running_a_copy_twice_creates_one_target_order():
    subscription = active_subscription()
    copy = make_copy(subscription)
    first = recurring_order_copy_run(copy.id)
    second = recurring_order_copy_run(copy.id)

    assert (first.completed, second.completed, second.skipped) == (1, 0, 1)
    assert Order.objects.filter(order_subscription=subscription).count() == 1


@pytest.mark.parametrize("status", [CopyStatus.COMPLETED, CopyStatus.FAILED, CopyStatus.ABORTED])
def test_a_copy_that_is_not_pending_is_left_alone(status):
    copy = make_copy(active_subscription())
    RecurringOrderCopy.objects.filter(pk=copy.pk).update(
        status=status, completed_at=timezone.now(), failed_at=timezone.now()
    )
    report = recurring_order_copy_run(copy.id)
    assert report.skipped == 1
    copy.refresh_from_db()
    assert copy.status == status and copy.target_order is None


def test_subscription_is_running_while_its_copy_is_in_progress(monkeypatch):
    import copies.services as engine

    subscription = active_subscription()
    copy = make_copy(subscription)
    seen = {}
    real_plan = engine._plan

    def spying_plan(copy, items, now):
        seen["copy"] = RecurringOrderCopy.objects.get(pk=copy.pk).status
        seen["subscription"] = type(subscription).objects.get(pk=subscription.pk).status
        return real_plan(copy, items, now)

    monkeypatch.setattr(engine, "_plan", spying_plan)
    run(copy)
    assert seen == {"copy": CopyStatus.IN_PROGRESS, "subscription": SubscriptionStatus.RUNNING}
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE


def test_copy_of_a_cancelled_subscription_is_aborted_without_an_order():
    subscription = active_subscription()
    copy = make_copy(subscription)
    subscription_cancel(subscription)
    copy = run(copy)
    assert copy.status == CopyStatus.ABORTED
    assert copy.errors_log == {"order_subscription": ["is cancelled"]}
    assert copy.target_order is None
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED and subscription.errors_count == 0


def test_copy_of_a_deactivated_subscription_is_aborted_and_it_stays_inactive():
    subscription = active_subscription()
    copy = make_copy(subscription)
    subscription_deactivate(subscription)
    assert run(copy).status == CopyStatus.ABORTED
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.INACTIVE


def test_copies_cannot_be_created_for_inactive_subscriptions():
    from django.core.exceptions import ValidationError

    subscription = active_subscription()
    subscription_deactivate(subscription)
    with pytest.raises(ValidationError) as refused:
        make_copy(subscription)
    assert "order_subscription" in refused.value.message_dict


def test_events_record_the_copy_timeline():
    subscription = active_subscription()
    copy = run(make_copy(subscription))
    names = list(
        Event.objects.filter(resource_type="recurring_order_copies", resource_id=copy.id)
        .order_by("created_at", "id")
        .values_list("name", flat=True)
    )
    assert sorted(names) == ["complete", "create", "start"]
    assert Event.objects.filter(resource_id=subscription.id, name="last_run_succeeded").count() == 1


def test_failed_copy_event_carries_the_errors():
    copy = run(make_copy(active_subscription(), reuse_wallet=False))
    event = Event.objects.get(resource_id=copy.id, name="fail")
    assert event.payload["errors_log"]["payment_source"] == ["can't be blank"]


def test_an_unexpected_error_is_recorded_as_a_failure_and_spares_the_batch(monkeypatch):
    import copies.services as engine
    from copies.services import recurring_order_copies_run

    good = make_copy(active_subscription())
    bad = make_copy(active_subscription())
    real_plan = engine._plan

    def exploding_plan(copy, items, now):
        if copy.pk == bad.pk:
            raise RuntimeError("bug")
        return real_plan(copy, items, now)

    monkeypatch.setattr(engine, "_plan", exploding_plan)
    report = recurring_order_copies_run([good.id, bad.id])
    good.refresh_from_db()
    bad.refresh_from_db()

    assert (report.completed, report.failed) == (1, 1)
    assert good.status == CopyStatus.COMPLETED
    assert bad.status == CopyStatus.FAILED
    assert bad.errors_log == {"base": ["unexpected error (RuntimeError); see the worker log"]}
    assert bad.target_order is None
    bad.order_subscription.refresh_from_db()
    assert bad.order_subscription.status == SubscriptionStatus.ACTIVE
    assert bad.order_subscription.errors_count == 1


def test_a_batch_builds_each_copy_with_its_own_items():
    subscriptions = [active_subscription() for _ in range(3)]
    copies = [make_copy(subscription) for subscription in subscriptions]
    from copies.services import recurring_order_copies_run

    report = recurring_order_copies_run([copy.id for copy in copies])
    assert report.completed == 3
    for copy, subscription in zip(copies, subscriptions, strict=True):
        copy.refresh_from_db()
        expected = sorted(subscription.order_subscription_items.values_list("sku_code", flat=True))
        assert sorted(copy.target_order.line_items.values_list("sku_code", flat=True)) == expected
