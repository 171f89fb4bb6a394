"""Order services: building, placing and cancelling orders."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from copies.events import event_record
from orders.models import Address, Customer, CustomerPaymentSource, LineItem, Market, Order, OrderStatus
from orders.sequences import ORDER_NUMBERS, next_number

BLANK = "can't be blank"
PLACEABLE_STATUSES = (OrderStatus.DRAFT, OrderStatus.PENDING)
CANCELLABLE_STATUSES = (OrderStatus.PENDING, OrderStatus.PLACED, OrderStatus.APPROVED)


def transition_error(current: str, target: str) -> str:
    return f"cannot transition from {current} to {target}"


def payment_source_in_wallet(order: Order) -> bool:
    """True when the order's payment source is saved in its own customer's wallet."""
    return (
        order.payment_source_id is not None
        and order.customer_id is not None
        and order.payment_source.customer_id == order.customer_id
    )


def order_placement_errors(
    *,
    order: Order,
    line_items: Sequence[LineItem],
    market: Market | None,
    payment_source: CustomerPaymentSource | None,
    now: datetime,
) -> dict[str, list[str]]:
    """Everything that stops an order from being placed, per attribute (empty when it can be).

    Pure: callers pass the related rows they already loaded, so placing many orders
    at once costs no extra queries.
    """
    errors: dict[str, list[str]] = {}
    if not line_items:
        errors["line_items"] = [BLANK]
    if not order.customer_email:
        errors["customer_email"] = [BLANK]
    if market is None:
        errors["market"] = [BLANK]
    elif market.disabled_at is not None and market.disabled_at <= now:
        errors["market"] = ["is disabled"]
    if order.billing_address_id is None:
        errors["billing_address"] = [BLANK]
    if order.shipping_address_id is None:
        errors["shipping_address"] = [BLANK]
    if payment_source is None:
        errors["payment_source"] = [BLANK]
    elif payment_source.expires_at is not None and payment_source.expires_at <= now:
        errors["payment_source"] = ["is expired"]
    elif order.customer_id is not None and payment_source.customer_id != order.customer_id:
        errors["payment_source"] = ["doesn't belong to the order's customer"]
    if order.status not in PLACEABLE_STATUSES or errors:
        # Commerce Layer reports a refused placement as a failed state transition too.
        errors["status"] = [transition_error(order.status, OrderStatus.PLACED)]
    return errors


def order_totals(line_items: Iterable[LineItem]) -> dict[str, int]:
    """Totals derived from the line items (this back-office has no taxes, shipping or promotions)."""
    line_items = list(line_items)
    subtotal = sum(item.total_amount_cents for item in line_items)
    return {
        "skus_count": sum(item.quantity for item in line_items if item.item_type == "skus"),
        "subtotal_amount_cents": subtotal,
        "total_amount_cents": subtotal,
    }


def line_item_amounts(*, quantity: int, unit_amount_cents: int) -> int:
    return quantity * unit_amount_cents


@transaction.atomic
def order_create(
    *,
    mode: str,
    market: Market | None = None,
    customer: Customer | None = None,
    customer_email: str = "",
    billing_address: Address | None = None,
    shipping_address: Address | None = None,
    payment_source: CustomerPaymentSource | None = None,
    **attributes: Any,
) -> Order:
    if customer is not None and not customer_email:
        customer_email = customer.email
    order = Order(
        mode=mode,
        number=next_number(ORDER_NUMBERS),
        market=market,
        customer=customer,
        customer_email=customer_email,
        billing_address=billing_address,
        shipping_address=shipping_address,
        payment_source=payment_source,
        currency_code=market.currency_code if market else "",
        **attributes,
    )
    order.full_clean(exclude=["number"])
    order.save()
    event_record(order, "create")
    return order


def order_recompute_totals(order: Order) -> Order:
    for field, value in order_totals(order.line_items.all()).items():
        setattr(order, field, value)
    order.save(update_fields=["skus_count", "subtotal_amount_cents", "total_amount_cents"])
    return order


@transaction.atomic
def line_item_create(*, order: Order, quantity: int, unit_amount_cents: int = 0, **attributes: Any) -> LineItem:
    if order.status not in PLACEABLE_STATUSES:
        raise ValidationError({"order": [f"is {order.status} and can't be changed"]})
    line_item = LineItem(
        mode=order.mode,
        order=order,
        quantity=quantity,
        unit_amount_cents=unit_amount_cents,
        total_amount_cents=line_item_amounts(quantity=quantity, unit_amount_cents=unit_amount_cents),
        currency_code=order.currency_code,
        **attributes,
    )
    line_item.full_clean()
    line_item.save()
    order_recompute_totals(order)
    return line_item


@transaction.atomic
def order_place(order: Order, *, now: datetime | None = None) -> Order:
    """Place a draft order after checking what a real order needs; raises ValidationError per attribute."""
    now = now or timezone.now()
    order = Order.objects.select_for_update(of=("self",)).select_related("market", "payment_source").get(pk=order.pk)
    line_items = list(order.line_items.all())
    errors = order_placement_errors(
        order=order, line_items=line_items, market=order.market, payment_source=order.payment_source, now=now
    )
    if errors:
        raise ValidationError(errors)
    order.status = OrderStatus.PLACED
    order.placed_at = now
    order.save(update_fields=["status", "placed_at"])
    event_record(order, "place")

    from subscriptions.services import subscriptions_activate_for_placed_order

    subscriptions_activate_for_placed_order(order)
    return order


@transaction.atomic
def order_cancel(order: Order, *, now: datetime | None = None) -> Order:
    now = now or timezone.now()
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    if order.status not in CANCELLABLE_STATUSES:
        raise ValidationError({"status": [transition_error(order.status, OrderStatus.CANCELLED)]})
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = now
    order.save(update_fields=["status", "cancelled_at"])
    event_record(order, "cancel")

    from subscriptions.services import subscriptions_cancel_for_cancelled_order

    subscriptions_cancel_for_cancelled_order(order)
    return order
