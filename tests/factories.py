"""factory_boy factories for the commerce objects, plus helpers that build them the way the product does."""

from datetime import datetime, timedelta

import factory
from django.utils import timezone

from orders.models import Address, Customer, CustomerPaymentSource, LineItem, Market, Order, OrderStatus
from orders.sequences import ORDER_NUMBERS, next_number, next_numbers
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


def bulk_due_subscriptions(
    count: int,
    *,
    due_at: datetime,
    items_per_order: int = 2,
    frequency: str = "monthly",
    mode: str = "test",
    time_zone: str = "UTC",
) -> list[str]:
    """`count` active subscriptions due at `due_at`, each with its own placed source order, inserted in bulk.

    For concurrency tests and benchmarks, where building thousands of rows through the
    services one by one would dominate the run.
    """
    from orders.models import Address, Customer, CustomerPaymentSource, LineItem, Market, Order
    from orders.sequences import SUBSCRIPTION_NUMBERS
    from subscriptions.models import OrderSubscription, OrderSubscriptionItem

    market = Market.objects.create(mode=mode, name=f"Bulk market {due_at:%H%M%S%f}", time_zone=time_zone)
    customers = Customer.objects.bulk_create(
        Customer(mode=mode, email=f"bulk{index}.{due_at.timestamp():.0f}.{market.id}@example.com")
        for index in range(count)
    )
    wallets = CustomerPaymentSource.objects.bulk_create(
        CustomerPaymentSource(mode=mode, customer=customer, name="Visa •••• 4242") for customer in customers
    )
    addresses = Address.objects.bulk_create(
        Address(mode=mode, first_name="Bulk", last_name=str(index), line_1="Via Roma 1", city="Milano",
                country_code="IT", phone="+39 02 0000000")
        for index in range(count * 2)
    )  # fmt: skip
    placed_at = due_at - timedelta(days=31)
    orders = Order.objects.bulk_create(
        Order(mode=mode, number=number, status="placed", placed_at=placed_at, customer=customer,
              customer_email=customer.email, market=market, currency_code=market.currency_code,
              billing_address=addresses[2 * index], shipping_address=addresses[2 * index + 1], payment_source=wallet)
        for index, (customer, wallet, number) in enumerate(
            zip(customers, wallets, next_numbers(ORDER_NUMBERS, count), strict=True)
        )
    )  # fmt: skip
    lines = LineItem.objects.bulk_create(
        LineItem(mode=mode, order=order, sku_code=f"SKU{item}", name=f"Product {item}", quantity=item + 1,
                 unit_amount_cents=1000, total_amount_cents=1000 * (item + 1))
        for order in orders
        for item in range(items_per_order)
    )  # fmt: skip
    subscriptions = OrderSubscription.objects.bulk_create(
        OrderSubscription(mode=mode, number=number, status="active", frequency=frequency, market=market,
                          source_order=order, customer=order.customer, customer_email=order.customer_email,
                          customer_payment_source=order.payment_source, schedule_anchor=due_at,
                          next_run_at=due_at, occurrencies=1, last_run_at=placed_at, succeeded_on_last_run=True)
        for order, number in zip(orders, next_numbers(SUBSCRIPTION_NUMBERS, count), strict=True)
    )  # fmt: skip
    OrderSubscriptionItem.objects.bulk_create(
        OrderSubscriptionItem(mode=mode, order_subscription=subscription, sku_code=line.sku_code,
                              quantity=line.quantity, unit_amount_cents=line.unit_amount_cents,
                              total_amount_cents=line.total_amount_cents, source_line_item=line)
        for subscription, order_index in zip(subscriptions, range(count), strict=True)
        for line in lines[order_index * items_per_order : (order_index + 1) * items_per_order]
    )  # fmt: skip
    return [subscription.id for subscription in subscriptions]


class RecurringOrderCopyFactory(factory.django.DjangoModelFactory):
    """A finished copy of a subscription (status completed, with its target order)."""

    class Meta:
        model = "copies.RecurringOrderCopy"

    order_subscription = factory.LazyFunction(lambda: active_subscription())
    mode = factory.SelfAttribute("order_subscription.mode")
    source_order = factory.SelfAttribute("order_subscription.source_order")
    status = "completed"
    started_at = factory.LazyFunction(timezone.now)
    completed_at = factory.LazyFunction(timezone.now)
    target_order = factory.LazyAttribute(
        lambda copy: OrderFactory(
            mode=copy.mode,
            market=copy.order_subscription.market,
            customer=copy.order_subscription.customer,
            order_subscription=copy.order_subscription,
        )
    )
