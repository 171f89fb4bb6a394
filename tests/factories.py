"""factory_boy factories for the commerce objects, plus helpers that build them the way the product does."""

from datetime import datetime, timedelta

import factory
from django.utils import timezone

from orders.models import Address, Customer, CustomerPaymentSource, LineItem, Market, Order, OrderStatus
from orders.sequences import ORDER_NUMBERS, next_number
from subscriptions.models import SubscriptionModel


class SubscriptionModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubscriptionModel

    name = factory.Sequence(lambda n: f"Model {n}")
    frequencies = factory.LazyFunction(lambda: ["daily", "weekly", "monthly", "30 * * * *"])


class MarketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Market

    name = factory.Sequence(lambda n: f"Market {n}")
    code = factory.Sequence(lambda n: f"market-{n}")
    currency_code = "EUR"
    time_zone = "UTC"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    first_name = "Ada"
    last_name = "Lovelace"
    line_1 = factory.Sequence(lambda n: f"Via Roma {n}")
    city = "Milano"
    zip_code = "20121"
    state_code = "MI"
    country_code = "IT"
    phone = "+39 02 1234567"


class PaymentSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerPaymentSource

    customer = factory.SubFactory(CustomerFactory)
    name = "Visa •••• 4242"
    payment_source_type = "stripe_payments"
    payment_source_token = factory.Sequence(lambda n: f"pm_{n:08d}")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.LazyFunction(lambda: next_number(ORDER_NUMBERS))
    market = factory.SubFactory(MarketFactory)
    customer = factory.SubFactory(CustomerFactory)
    customer_email = factory.LazyAttribute(lambda order: order.customer.email if order.customer else "")
    currency_code = factory.LazyAttribute(lambda order: order.market.currency_code if order.market else "")
    billing_address = factory.SubFactory(AddressFactory)
    shipping_address = factory.SubFactory(AddressFactory)
    payment_source = factory.SubFactory(PaymentSourceFactory, customer=factory.SelfAttribute("..customer"))


class LineItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LineItem

    order = factory.SubFactory(OrderFactory)
    sku_code = factory.Sequence(lambda n: f"SKU{n:05d}")
    name = factory.LazyAttribute(lambda item: f"Product {item.sku_code}")
    quantity = 2
    unit_amount_cents = 1250
    total_amount_cents = factory.LazyAttribute(lambda item: item.quantity * item.unit_amount_cents)


def placed_order(*, items: int = 3, placed_at: datetime | None = None, **order_fields) -> Order:
    """A placed source order with `items` line items, two addresses and a wallet payment source."""
    from orders.services import order_recompute_totals

    order = OrderFactory(**order_fields)
    for index in range(items):
        LineItemFactory(order=order, mode=order.mode, quantity=index + 1, unit_amount_cents=1000 + index)
    order_recompute_totals(order)
    order.status = OrderStatus.PLACED
    order.placed_at = placed_at or timezone.now() - timedelta(days=1)
    order.save()
    return order


def active_subscription(*, frequency: str = "monthly", order: Order | None = None, **fields):
    """An active subscription created the way the API does, from a placed order."""
    from subscriptions.services import order_subscription_create

    order = order or placed_order()
    return order_subscription_create(source_order=order, frequency=frequency, **fields)
