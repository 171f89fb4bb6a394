"""Scenarios the back-office tests share: subscriptions whose renewals failed, as the product makes them."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from copies.models import RecurringOrderCopy
from copies.services import recurring_order_copy_run
from copies.staff_groups import staff_groups_ensure
from subscriptions.models import OrderSubscription
from subscriptions.scheduler import subscription_run_now
from tests.factories import PaymentSourceFactory, active_subscription


def expire_wallet(subscription: OrderSubscription) -> None:
    source = subscription.customer_payment_source
    source.expires_at = timezone.now() - timedelta(days=3)
    source.save()


def failed_copy(subscription: OrderSubscription | None = None) -> RecurringOrderCopy:
    """A renewal that failed because the card saved in the customer's wallet has expired."""
    subscription = subscription or active_subscription()
    expire_wallet(subscription)
    copy = subscription_run_now(subscription)
    # Inside a test transaction on_commit never fires, so the inline job does not run: run it here.
    # (Where it did run, a second run finds nothing pending and changes nothing.)
    recurring_order_copy_run(copy.id)
    copy.refresh_from_db()
    return copy


def fix_wallet(subscription: OrderSubscription):
    """Give the subscription a fresh card from the same customer's wallet (what support asks for)."""
    from subscriptions.services import subscription_update

    card = PaymentSourceFactory(customer=subscription.customer, mode=subscription.mode, name="Visa •••• 1111")
    return subscription_update(subscription, changes={"customer_payment_source": card})


def support_user(username: str = "sam", password: str = "support-pass"):
    """A staff member of the support group: sees everything, may retry copies, nothing else."""
    user = get_user_model().objects.create_user(username, password=password, is_staff=True)
    user.groups.add(staff_groups_ensure())
    return user
