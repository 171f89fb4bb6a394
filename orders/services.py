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


# --- Writes for the API: markets, customers, addresses, wallets, order and line item changes ----------


REFERENCE_FIELDS = frozenset({"reference", "reference_origin", "metadata"})


def model_update(instance, *, fields: Iterable[str], changes: dict[str, Any], exclude_clean: Sequence[str] = ()):
    """Set the allowed `changes` on `instance`, validate it and save only what changed; returns the instance.

    Raises ValidationError naming any attribute outside `fields`.
    """
    fields = frozenset(fields)
    unknown = set(changes) - fields
    if unknown:
        raise ValidationError({name: ["can't be changed"] for name in sorted(unknown)})
    changed = [name for name, value in changes.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, changes[name])
    if changed:
        instance.full_clean(exclude=list(exclude_clean))
        instance.save(update_fields=[instance._meta.get_field(name).attname for name in changed])
    return instance


def _check_same_mode(mode: str, **related) -> None:
    errors = {name: ["must exist"] for name, obj in related.items() if obj is not None and obj.mode != mode}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def market_create(
    *, mode: str, name: str, disabled: bool = False, subscription_model=None, **attributes: Any
) -> Market:
    _check_same_mode(mode, subscription_model=subscription_model)
    code = attributes.get("code")
    if code and Market.objects.filter(mode=mode, code=code).exists():
        raise ValidationError({"code": ["has already been taken"]})
    market = Market(mode=mode, name=name, subscription_model=subscription_model, **attributes)
    market.disabled_at = timezone.now() if disabled else None
    market.full_clean()
    market.save()
    event_record(market, "create")
    return market


MARKET_FIELDS = REFERENCE_FIELDS | {"name", "code", "currency_code", "time_zone", "subscription_model", "disabled_at"}


@transaction.atomic
def market_update(market: Market, *, changes: dict[str, Any]) -> Market:
    changes = dict(changes)
    if "disabled" in changes:
        disabled = changes.pop("disabled")
        if disabled != (market.disabled_at is not None):
            changes["disabled_at"] = timezone.now() if disabled else None
    _check_same_mode(market.mode, subscription_model=changes.get("subscription_model"))
    code = changes.get("code")
    if code and Market.objects.filter(mode=market.mode, code=code).exclude(pk=market.pk).exists():
        raise ValidationError({"code": ["has already been taken"]})
    return model_update(market, fields=MARKET_FIELDS, changes=changes)


@transaction.atomic
def market_delete(market: Market) -> None:
    """Raises ProtectedError while orders or subscriptions use the market."""
    market.delete()


@transaction.atomic
def customer_create(*, mode: str, email: str, **attributes: Any) -> Customer:
    if Customer.objects.filter(mode=mode, email__iexact=email).exists():
        raise ValidationError({"email": ["has already been taken"]})
    customer = Customer(mode=mode, email=email, **attributes)
    customer.full_clean()
    customer.save()
    event_record(customer, "create")
    return customer


@transaction.atomic
def customer_update(customer: Customer, *, changes: dict[str, Any]) -> Customer:
    email = changes.get("email")
    if email and Customer.objects.filter(mode=customer.mode, email__iexact=email).exclude(pk=customer.pk).exists():
        raise ValidationError({"email": ["has already been taken"]})
    return model_update(customer, fields=REFERENCE_FIELDS | {"email"}, changes=changes)


@transaction.atomic
def customer_delete(customer: Customer) -> None:
    """Raises ProtectedError while orders or subscriptions belong to the customer."""
    customer.delete()


ADDRESS_FIELDS = REFERENCE_FIELDS | {
    "business", "first_name", "last_name", "company", "line_1", "line_2", "city", "zip_code", "state_code",
    "country_code", "phone", "email", "notes",
}  # fmt: skip


def _address_errors(address: Address) -> dict[str, list[str]]:
    if address.business and not address.company:
        return {"company": [f"{BLANK} for a business address"]}
    if not address.business and not (address.first_name and address.last_name):
        return {name: [f"{BLANK} for a personal address"] for name in ("first_name", "last_name")
                if not getattr(address, name)}  # fmt: skip
    return {}


@transaction.atomic
def address_create(*, mode: str, **attributes: Any) -> Address:
    address = Address(mode=mode, **attributes)
    if errors := _address_errors(address):
        raise ValidationError(errors)
    address.full_clean()
    address.save()
    return address


@transaction.atomic
def address_update(address: Address, *, changes: dict[str, Any]) -> Address:
    address = model_update(address, fields=ADDRESS_FIELDS, changes=changes)
    if errors := _address_errors(address):
        raise ValidationError(errors)
    return address


@transaction.atomic
def address_delete(address: Address) -> None:
    """Raises ProtectedError while an order uses the address."""
    address.delete()


@transaction.atomic
def customer_payment_source_create(*, customer: Customer, name: str, **attributes: Any) -> CustomerPaymentSource:
    payment_source = CustomerPaymentSource(mode=customer.mode, customer=customer, name=name, **attributes)
    payment_source.full_clean()
    payment_source.save()
    return payment_source


PAYMENT_SOURCE_FIELDS = REFERENCE_FIELDS | {
    "customer", "name", "payment_source_type", "payment_source_token", "customer_token", "expires_at",
}  # fmt: skip


@transaction.atomic
def customer_payment_source_update(
    payment_source: CustomerPaymentSource, *, changes: dict[str, Any]
) -> CustomerPaymentSource:
    if "customer" in changes and changes["customer"] is None:
        raise ValidationError({"customer": [BLANK]})
    _check_same_mode(payment_source.mode, customer=changes.get("customer"))
    return model_update(payment_source, fields=PAYMENT_SOURCE_FIELDS, changes=changes)


@transaction.atomic
def customer_payment_source_delete(payment_source: CustomerPaymentSource) -> None:
    """Raises ProtectedError while an order or a subscription uses it."""
    payment_source.delete()


def customer_payment_source_in_mode(*, mode: str, payment_source_id: str) -> CustomerPaymentSource:
    payment_source_id = str(payment_source_id)
    usable = len(payment_source_id) <= 64 and "\x00" not in payment_source_id
    payment_source = CustomerPaymentSource.objects.filter(mode=mode, pk=payment_source_id).first() if usable else None
    if payment_source is None:
        raise ValidationError({"_customer_payment_source_id": ["must exist"]})
    return payment_source


ORDER_FIELDS = REFERENCE_FIELDS | {
    "customer_email", "market", "customer", "billing_address", "shipping_address", "payment_source",
}  # fmt: skip


@transaction.atomic
def order_update(order: Order, *, changes: dict[str, Any]) -> Order:
    """Change a draft or pending order; reference fields and metadata can always change."""
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    changes = dict(changes)
    if order.status not in PLACEABLE_STATUSES and set(changes) - REFERENCE_FIELDS:
        raise ValidationError(
            {name: [f"can't be changed on a {order.status} order"] for name in sorted(set(changes) - REFERENCE_FIELDS)}
        )
    _check_same_mode(
        order.mode, **{name: changes.get(name) for name in ORDER_FIELDS - REFERENCE_FIELDS - {"customer_email"}}
    )
    if changes.get("customer") is not None and not changes.get("customer_email") and not order.customer_email:
        changes["customer_email"] = changes["customer"].email
    if "market" in changes:
        changes_market = changes["market"]
        order.currency_code = changes_market.currency_code if changes_market else ""
    customer = changes.get("customer", order.customer)
    payment_source = changes.get("payment_source", order.payment_source)
    if payment_source is not None and customer is not None and payment_source.customer_id != customer.pk:
        raise ValidationError({"payment_source": ["doesn't belong to the order's customer"]})
    order = model_update(order, fields=ORDER_FIELDS, changes=changes, exclude_clean=["number"])
    if "market" in changes:
        order.save(update_fields=["currency_code"])
    return order


@transaction.atomic
def order_delete(order: Order) -> None:
    """Only drafts are deleted (decision D16); raises ProtectedError while something refers to the order."""
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    if order.status != OrderStatus.DRAFT:
        raise ValidationError({"status": [f"is {order.status}: only draft orders can be deleted"]})
    order.delete()


LINE_ITEM_FIELDS = REFERENCE_FIELDS | {"sku_code", "bundle_code", "quantity", "unit_amount_cents", "name", "frequency"}


@transaction.atomic
def line_item_update(line_item: LineItem, *, changes: dict[str, Any]) -> LineItem:
    order = Order.objects.select_for_update(of=("self",)).get(pk=line_item.order_id)
    if order.status not in PLACEABLE_STATUSES and set(changes) - REFERENCE_FIELDS:
        raise ValidationError({"order": [f"is {order.status} and can't be changed"]})
    line_item = model_update(line_item, fields=LINE_ITEM_FIELDS, changes=changes)
    amount = line_item_amounts(quantity=line_item.quantity, unit_amount_cents=line_item.unit_amount_cents)
    if amount != line_item.total_amount_cents:
        line_item.total_amount_cents = amount
        line_item.save(update_fields=["total_amount_cents"])
        order_recompute_totals(order)
    return line_item


@transaction.atomic
def line_item_delete(line_item: LineItem) -> None:
    order = Order.objects.select_for_update(of=("self",)).get(pk=line_item.order_id)
    if order.status not in PLACEABLE_STATUSES:
        raise ValidationError({"order": [f"is {order.status} and can't be changed"]})
    line_item.delete()
    order_recompute_totals(order)
