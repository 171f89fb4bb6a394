"""Test data built the way the product builds it, in either mode."""

from tests.factories import (
    AddressFactory,
    CustomerFactory,
    MarketFactory,
    RecurringOrderCopyFactory,
    SubscriptionModelFactory,
    active_subscription,
    placed_order,
)


def order_in(mode: str, **fields):
    """A placed source order whose market, customer, addresses and wallet source are all in `mode`."""
    customer = fields.pop("customer", None) or CustomerFactory(mode=mode)
    return placed_order(
        mode=mode,
        market=fields.pop("market", None) or MarketFactory(mode=mode),
        customer=customer,
        billing_address=AddressFactory(mode=mode),
        shipping_address=AddressFactory(mode=mode),
        payment_source__mode=mode,
        **fields,
    )


def subscription_in(mode: str = "test", **fields):
    """An active subscription (with items) whose every related row is in `mode`."""
    return active_subscription(order=order_in(mode), **fields)


def copy_of(subscription, **fields):
    return RecurringOrderCopyFactory(order_subscription=subscription, **fields)


def market_with_model(mode: str = "test", **model_fields):
    return MarketFactory(mode=mode, subscription_model=SubscriptionModelFactory(mode=mode, **model_fields))
