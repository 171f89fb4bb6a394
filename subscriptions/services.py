"""Order subscription services: creation, updates and the status machine.

    draft ──(source order placed, activate_by_source_order)──► active
    draft ──(_activate, activate_by_source_order=false)─────► active
    active ◄──(_activate)── inactive ◄──(_deactivate)── active
    active ──(a copy starts)──► running ──(copy ends)──► active
    any ──(_cancel, or source order cancelled + auto_cancel)──► cancelled (final)
    active ──(expires_at passed)──► inactive

The API, the admin, the scheduler and the copy engine all go through these
functions; each locks the subscription row so they serialise with a running tick.
"""

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from copies.events import build_event, event_record, events_record
from orders.models import CustomerPaymentSource, Market, Order, OrderStatus
from orders.sequences import SUBSCRIPTION_NUMBERS, next_number
from orders.services import payment_source_in_wallet
from subscriptions.models import (
    RENEWAL_ALERT_PERIOD_RANGE,
    OrderSubscription,
    OrderSubscriptionItem,
    SubscriptionStatus,
)
from subscriptions.schedule import InvalidFrequency, next_run_after, validate_frequency

BLANK = "can't be blank"
PLACED_ORDER_STATUSES = (OrderStatus.PLACED, OrderStatus.APPROVED)


def _transition_refused(current: str, target: str, why: str = "") -> ValidationError:
    message = f"cannot transition from {current} to {target}"
    return ValidationError({"status": [f"{message} ({why})" if why else message]}, code="invalid_transition")


def _time_zone(subscription: OrderSubscription) -> str:
    return subscription.market.time_zone or "UTC"


def frequency_errors(frequency: str, market: Market | None) -> list[str]:
    try:
        validate_frequency(frequency)
    except InvalidFrequency as exc:
        return [str(exc)]
    model = market.subscription_model if market is not None else None
    if model is not None and frequency not in (model.frequencies or []):
        allowed = ", ".join(model.frequencies or []) or "none"
        return [f"is not allowed by the market's subscription model (allowed: {allowed})"]
    return []


def renewal_alert_at(subscription: OrderSubscription) -> datetime | None:
    """When the renewal alert for the upcoming run is due, or None when no run is scheduled."""
    if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.RUNNING):
        return None
    return alert_time(subscription.next_run_at, subscription.renewal_alert_period)


def alert_time(next_run_at: datetime | None, renewal_alert_period: int) -> datetime | None:
    return None if next_run_at is None else next_run_at - timedelta(hours=renewal_alert_period)


def following_run(
    *, anchor: datetime, frequency: str, time_zone: str, expires_at: datetime | None, after: datetime
) -> datetime | None:
    """The next slot of a series after `after`, or None once it would reach `expires_at`."""
    upcoming = next_run_after(anchor=anchor, frequency=frequency, time_zone=time_zone or "UTC", after=after)
    if expires_at is not None and upcoming >= expires_at:
        return None
    return upcoming


def next_run_following(subscription: OrderSubscription, after: datetime) -> datetime | None:
    """The next slot of the subscription's series after `after`, or None once it would pass expires_at."""
    return following_run(
        anchor=subscription.schedule_anchor,
        frequency=subscription.frequency,
        time_zone=_time_zone(subscription),
        expires_at=subscription.expires_at,
        after=after,
    )


def schedule_after_run(subscription: OrderSubscription, *, cycle_at: datetime, now: datetime) -> None:
    """Advance `next_run_at` past a run that has been handed out (in memory; the caller saves).

    After downtime only one catch-up run is made, for the missed slot, and the
    schedule moves to the next slot in the future, not through every missed one.
    """
    subscription.next_run_at = next_run_following(subscription, max(cycle_at, now))
    subscription.renewal_alert_at = renewal_alert_at(subscription)
    subscription.updated_at = now


def _lock(subscription: OrderSubscription) -> OrderSubscription:
    return (
        OrderSubscription.objects.select_for_update(of=("self",))
        .select_related("market", "market__subscription_model", "source_order")
        .get(pk=subscription.pk)
    )


def _activate_from_source_order(subscription: OrderSubscription, source_order: Order) -> None:
    """The placed source order is the first run; the next one is a period later."""
    placed_at = source_order.placed_at or timezone.now()
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.schedule_anchor = placed_at
    subscription.occurrencies = max(subscription.occurrencies, 1)
    subscription.last_run_at = placed_at
    subscription.succeeded_on_last_run = True
    subscription.next_run_at = next_run_following(subscription, placed_at)
    subscription.renewal_alert_at = renewal_alert_at(subscription)


@transaction.atomic
def order_subscription_create(
    *,
    source_order: Order,
    frequency: str,
    market: Market | None = None,
    activate_by_source_order: bool = True,
    place_target_order: bool = True,
    renewal_alert_period: int = 1,
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
    options: dict | None = None,
    reference: str | None = None,
    reference_origin: str | None = None,
    metadata: dict | None = None,
    line_items: list | None = None,
    now: datetime | None = None,
) -> OrderSubscription:
    """Create a subscription from a source order, with one item per (given) source line item."""
    now = now or timezone.now()
    market = market or source_order.market
    errors: dict[str, list[str]] = {}
    if market is None:
        errors["market"] = [BLANK]
    elif market.mode != source_order.mode:
        errors["market"] = ["is not in the source order's mode"]
    if problems := frequency_errors(frequency, market):
        errors["frequency"] = problems
    if not activate_by_source_order and starts_at is None:
        errors["starts_at"] = [f"{BLANK} unless activate_by_source_order is true"]
    if expires_at is not None and starts_at is not None and expires_at <= starts_at:
        errors["expires_at"] = ["must be after starts_at"]
    elif expires_at is not None and expires_at <= now:
        errors["expires_at"] = ["must be in the future"]
    low, high = RENEWAL_ALERT_PERIOD_RANGE
    if not low <= renewal_alert_period <= high:
        errors["renewal_alert_period"] = [f"must be between {low} and {high} hours"]
    if source_order.status == OrderStatus.CANCELLED:
        errors["source_order"] = ["is cancelled"]
    if errors:
        raise ValidationError(errors)

    subscription = OrderSubscription.objects.create(
        mode=source_order.mode,
        number=next_number(SUBSCRIPTION_NUMBERS),
        frequency=frequency,
        activate_by_source_order=activate_by_source_order,
        place_target_order=place_target_order,
        renewal_alert_period=renewal_alert_period,
        customer_email=source_order.customer_email,
        starts_at=starts_at,
        expires_at=expires_at,
        options=options or {},
        reference=reference,
        reference_origin=reference_origin,
        metadata=metadata or {},
        market=market,
        source_order=source_order,
        customer_id=source_order.customer_id,
        customer_payment_source=source_order.payment_source if payment_source_in_wallet(source_order) else None,
        created_at=now,
    )
    if line_items is None:
        line_items = [item for item in source_order.line_items.all() if item.item_type in ("skus", "bundles")]
    OrderSubscriptionItem.objects.bulk_create(
        OrderSubscriptionItem(
            mode=subscription.mode,
            order_subscription=subscription,
            sku_code=item.sku_code,
            bundle_code=item.bundle_code,
            quantity=item.quantity,
            unit_amount_cents=item.unit_amount_cents,
            total_amount_cents=item.quantity * item.unit_amount_cents,
            source_line_item=item,
        )
        for item in line_items
    )
    event_record(subscription, "create")
    if activate_by_source_order and source_order.status in PLACED_ORDER_STATUSES:
        _activate_from_source_order(subscription, source_order)
        subscription.save()
        event_record(subscription, "activate", {"reason": "source order placed"})
    return subscription


@transaction.atomic
def subscription_activate(
    subscription: OrderSubscription, *, next_run_at: datetime | None = None, now: datetime | None = None
) -> OrderSubscription:
    now = now or timezone.now()
    subscription = _lock(subscription)
    status = subscription.status
    if status == SubscriptionStatus.CANCELLED:
        raise _transition_refused(status, SubscriptionStatus.ACTIVE, "a cancelled subscription is final")
    if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.RUNNING):
        return subscription  # already active: activating again changes nothing
    if subscription.expires_at is not None and subscription.expires_at <= now:
        raise ValidationError({"expires_at": ["has passed: move it to the future to activate the subscription"]})
    if next_run_at is not None and next_run_at <= now:
        raise ValidationError({"next_run_at": ["must be in the future"]})

    if status == SubscriptionStatus.DRAFT and subscription.activate_by_source_order:
        if subscription.source_order.status not in PLACED_ORDER_STATUSES:
            raise _transition_refused(status, SubscriptionStatus.ACTIVE, "it activates when its source order is placed")
        _activate_from_source_order(subscription, subscription.source_order)
    elif status == SubscriptionStatus.DRAFT:
        if subscription.starts_at is None:
            raise ValidationError(
                {"starts_at": [f"{BLANK}: a subscription not activated by its source order needs it"]}
            )
        # A manual subscription's first run is at starts_at.
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.schedule_anchor = subscription.starts_at
        subscription.next_run_at = subscription.starts_at
    else:
        subscription.status = SubscriptionStatus.ACTIVE
        if subscription.next_run_at is None:
            # Nothing scheduled (e.g. it had expired and expires_at was moved): resume the series.
            subscription.schedule_anchor = subscription.schedule_anchor or subscription.starts_at or now
            subscription.next_run_at = next_run_following(subscription, now)
        # A next_run_at that passed while inactive is kept: the next tick runs it, once.
    if next_run_at is not None:
        subscription.next_run_at = next_run_at
        subscription.schedule_anchor = next_run_at
    subscription.renewal_alert_at = renewal_alert_at(subscription)
    subscription.save()
    event_record(subscription, "activate")
    return subscription


@transaction.atomic
def subscription_deactivate(subscription: OrderSubscription) -> OrderSubscription:
    subscription = _lock(subscription)
    if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.RUNNING):
        why = "a cancelled subscription is final" if subscription.status == SubscriptionStatus.CANCELLED else ""
        raise _transition_refused(subscription.status, SubscriptionStatus.INACTIVE, why)
    subscription.status = SubscriptionStatus.INACTIVE
    subscription.renewal_alert_at = None
    subscription.save(update_fields=["status", "renewal_alert_at"])
    event_record(subscription, "deactivate")
    return subscription


@transaction.atomic
def subscription_cancel(subscription: OrderSubscription, *, reason: str = "") -> OrderSubscription:
    subscription = _lock(subscription)
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise _transition_refused(subscription.status, SubscriptionStatus.CANCELLED, "it is already cancelled")
    subscription.status = SubscriptionStatus.CANCELLED
    subscription.next_run_at = None
    subscription.renewal_alert_at = None
    subscription.save(update_fields=["status", "next_run_at", "renewal_alert_at"])
    event_record(subscription, "cancel", {"reason": reason} if reason else None)
    return subscription


UPDATABLE_ATTRIBUTES = frozenset(
    {
        "frequency", "activate_by_source_order", "place_target_order", "renewal_alert_period",
        "expires_at", "next_run_at", "customer_payment_source", "options",
        "reference", "reference_origin", "metadata",
    }
)  # fmt: skip
ALWAYS_UPDATABLE = frozenset({"reference", "reference_origin", "metadata"})


@transaction.atomic
def subscription_update(
    subscription: OrderSubscription, *, changes: dict[str, Any], now: datetime | None = None
) -> OrderSubscription:
    """Apply attribute changes with the same rules for every caller (API, admin)."""
    now = now or timezone.now()
    unknown = set(changes) - UPDATABLE_ATTRIBUTES
    if unknown:
        raise ValidationError({name: ["can't be changed"] for name in sorted(unknown)})
    subscription = _lock(subscription)
    errors: dict[str, list[str]] = {}
    if subscription.status == SubscriptionStatus.CANCELLED:
        for name in sorted(set(changes) - ALWAYS_UPDATABLE):
            errors[name] = ["can't be changed on a cancelled subscription"]
    if "frequency" in changes and (problems := frequency_errors(changes["frequency"], subscription.market)):
        errors["frequency"] = problems
    if "next_run_at" in changes and (changes["next_run_at"] is None or changes["next_run_at"] <= now):
        errors["next_run_at"] = ["must be in the future"]
    new_expiry = changes.get("expires_at")
    if new_expiry is not None and subscription.starts_at is not None and new_expiry <= subscription.starts_at:
        errors["expires_at"] = ["must be after starts_at"]
    if "renewal_alert_period" in changes:
        low, high = RENEWAL_ALERT_PERIOD_RANGE
        period = changes["renewal_alert_period"]
        if not isinstance(period, int) or isinstance(period, bool) or not low <= period <= high:
            errors["renewal_alert_period"] = [f"must be between {low} and {high} hours"]
    payment_source = changes.get("customer_payment_source")
    if payment_source is not None and (
        not isinstance(payment_source, CustomerPaymentSource) or payment_source.customer_id != subscription.customer_id
    ):
        errors["customer_payment_source"] = ["must be in the wallet of the subscription's customer"]
    if errors:
        raise ValidationError(errors)

    for name, value in changes.items():
        setattr(subscription, name, value)
    if "next_run_at" in changes:
        # Later runs follow the date the merchant chose.
        subscription.schedule_anchor = changes["next_run_at"]
    elif "frequency" in changes and subscription.next_run_at is not None:
        # The new frequency takes over from the run already scheduled.
        subscription.schedule_anchor = subscription.next_run_at
    if (
        "expires_at" in changes
        and subscription.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.RUNNING)
        and subscription.next_run_at is None
        and subscription.schedule_anchor is not None
    ):
        subscription.next_run_at = next_run_following(subscription, now)
    subscription.renewal_alert_at = renewal_alert_at(subscription)
    subscription.save()
    return subscription


def subscriptions_activate_for_placed_order(order: Order) -> list[OrderSubscription]:
    """A placed source order activates its draft subscriptions that wait for it."""
    subscriptions = list(
        OrderSubscription.objects.select_for_update(of=("self",))
        .select_related("market")
        .filter(source_order=order, status=SubscriptionStatus.DRAFT, activate_by_source_order=True)
    )
    for subscription in subscriptions:
        _activate_from_source_order(subscription, order)
        subscription.save()
    events_record(
        build_event(subscription, "activate", {"reason": "source order placed"}) for subscription in subscriptions
    )
    return subscriptions


def subscriptions_cancel_for_cancelled_order(order: Order) -> list[OrderSubscription]:
    """Cancelling a source order cancels its subscriptions where the market's model says auto_cancel."""
    subscriptions = list(
        OrderSubscription.objects.select_for_update(of=("self",))
        .filter(source_order=order, market__subscription_model__auto_cancel=True)
        .exclude(status=SubscriptionStatus.CANCELLED)
    )
    for subscription in subscriptions:
        subscription.status = SubscriptionStatus.CANCELLED
        subscription.next_run_at = None
        subscription.renewal_alert_at = None
        subscription.save(update_fields=["status", "next_run_at", "renewal_alert_at"])
    events_record(
        build_event(subscription, "cancel", {"reason": "source order cancelled"}) for subscription in subscriptions
    )
    return subscriptions


# --- Writes for the API: deleting subscriptions, items, subscription models ---------------------------

from subscriptions.models import SubscriptionModel  # noqa: E402 - kept with the functions that use it


@transaction.atomic
def order_subscription_delete(subscription: OrderSubscription) -> None:
    """Delete a subscription and its items; raises ProtectedError once it has copies or target orders."""
    subscription = _lock(subscription)
    event_record(subscription, "destroy")
    subscription.delete()


def _item_unit_amount(subscription: OrderSubscription, sku_code: str | None, bundle_code: str | None) -> int | None:
    """An item's price when none is given: the source order's line item for the same code (CL: "inherited")."""
    line_items = subscription.source_order.line_items.all()
    for line_item in line_items:
        if (sku_code and line_item.sku_code == sku_code) or (bundle_code and line_item.bundle_code == bundle_code):
            return line_item.unit_amount_cents
    return None


@transaction.atomic
def order_subscription_item_create(
    *,
    order_subscription: OrderSubscription,
    quantity: int,
    sku_code: str | None = None,
    bundle_code: str | None = None,
    unit_amount_cents: int | None = None,
    **attributes: Any,
) -> OrderSubscriptionItem:
    subscription = _lock(order_subscription)
    errors: dict[str, list[str]] = {}
    if subscription.status == SubscriptionStatus.CANCELLED:
        errors["order_subscription"] = ["is cancelled and can't be changed"]
    if not sku_code and not bundle_code:
        errors["sku_code"] = [f"{BLANK} unless bundle_code is given"]
    if unit_amount_cents is None and not errors:
        unit_amount_cents = _item_unit_amount(subscription, sku_code, bundle_code)
        if unit_amount_cents is None:
            errors["unit_amount_cents"] = [f"{BLANK}: no line item of the source order has this code"]
    if errors:
        raise ValidationError(errors)
    item = OrderSubscriptionItem(
        mode=subscription.mode,
        order_subscription=subscription,
        sku_code=sku_code or None,
        bundle_code=bundle_code or None,
        quantity=quantity,
        unit_amount_cents=unit_amount_cents,
        total_amount_cents=quantity * unit_amount_cents,
        **attributes,
    )
    item.full_clean()
    item.save()
    return item


ITEM_FIELDS = frozenset({"sku_code", "bundle_code", "quantity", "unit_amount_cents"}) | ALWAYS_UPDATABLE


@transaction.atomic
def order_subscription_item_update(item: OrderSubscriptionItem, *, changes: dict[str, Any]) -> OrderSubscriptionItem:
    from orders.services import model_update

    subscription = _lock(item.order_subscription)
    if subscription.status == SubscriptionStatus.CANCELLED and set(changes) - ALWAYS_UPDATABLE:
        raise ValidationError({"order_subscription": ["is cancelled and can't be changed"]})
    changes = dict(changes)
    for code in ("sku_code", "bundle_code"):
        if code in changes and not changes[code]:
            changes[code] = None
    for name in ("quantity", "unit_amount_cents"):
        if name in changes and changes[name] is None:
            raise ValidationError({name: [BLANK]})
    sku_code = changes.get("sku_code", item.sku_code)
    bundle_code = changes.get("bundle_code", item.bundle_code)
    if not sku_code and not bundle_code:
        raise ValidationError({"sku_code": [f"{BLANK} unless bundle_code is given"]})
    item = model_update(item, fields=ITEM_FIELDS, changes=changes)
    total = item.quantity * item.unit_amount_cents
    if total != item.total_amount_cents:
        item.total_amount_cents = total
        item.save(update_fields=["total_amount_cents"])
    return item


@transaction.atomic
def order_subscription_item_delete(item: OrderSubscriptionItem) -> None:
    item.delete()


def _frequencies_errors(frequencies: Any) -> list[str]:
    if not isinstance(frequencies, list) or not frequencies:
        return [BLANK]
    problems = []
    for frequency in frequencies:
        try:
            validate_frequency(frequency)
        except InvalidFrequency as exc:
            problems.append(f"{frequency}: {exc}")
    return problems


@transaction.atomic
def subscription_model_create(*, mode: str, name: str, frequencies: list[str], **attributes: Any) -> SubscriptionModel:
    if problems := _frequencies_errors(frequencies):
        raise ValidationError({"frequencies": problems})
    model = SubscriptionModel(mode=mode, name=name, frequencies=list(dict.fromkeys(frequencies)), **attributes)
    model.full_clean()
    model.save()
    event_record(model, "create")
    return model


MODEL_FIELDS = frozenset({"name", "strategy", "frequencies", "auto_activate", "auto_cancel"}) | ALWAYS_UPDATABLE


@transaction.atomic
def subscription_model_update(model: SubscriptionModel, *, changes: dict[str, Any]) -> SubscriptionModel:
    """Changes apply to subscriptions generated later; existing subscriptions keep theirs (CL)."""
    from orders.services import model_update

    if "frequencies" in changes and (problems := _frequencies_errors(changes["frequencies"])):
        raise ValidationError({"frequencies": problems})
    return model_update(model, fields=MODEL_FIELDS, changes=changes)


@transaction.atomic
def subscription_model_delete(model: SubscriptionModel) -> None:
    """Raises ProtectedError while a market uses the model."""
    model.delete()
