"""Recording events: the audit trail of every resource, and what webhooks fire from.

Who caused an event is carried in a context variable set once at each entry point
(API request, admin request, scheduler, worker), so services need not thread it
through every call.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from copies.models import Event
from orders.base import generate_id
from orders.bulk import insert_rows

SYSTEM_ACTOR: dict[str, Any] = {"kind": "system"}
_current_actor: ContextVar[dict[str, Any] | None] = ContextVar("current_actor", default=None)

# Called with the committed events' ids; the webhooks app plugs its dispatcher in here.
_event_listeners: list = []


def current_actor() -> dict[str, Any]:
    return dict(_current_actor.get() or SYSTEM_ACTOR)


@contextmanager
def acting_as(actor: dict[str, Any]) -> Iterator[None]:
    """Attribute events recorded inside the block to `actor`, e.g. {"kind": "scheduler"}."""
    token = _current_actor.set(actor)
    try:
        yield
    finally:
        _current_actor.reset(token)


def register_event_listener(listener) -> None:
    """Run `listener(event_ids)` after each commit that recorded events (idempotent)."""
    if listener not in _event_listeners:
        _event_listeners.append(listener)


def _resource_type(resource: models.Model) -> str:
    return RESOURCE_TYPES[resource._meta.label]


RESOURCE_TYPES = {
    "orders.Order": "orders",
    "orders.LineItem": "line_items",
    "orders.Market": "markets",
    "orders.Customer": "customers",
    "orders.Address": "addresses",
    "orders.CustomerPaymentSource": "customer_payment_sources",
    "subscriptions.OrderSubscription": "order_subscriptions",
    "subscriptions.OrderSubscriptionItem": "order_subscription_items",
    "subscriptions.SubscriptionModel": "subscription_models",
    "copies.RecurringOrderCopy": "recurring_order_copies",
}


def new_event(
    *,
    resource_type: str,
    resource_id: str,
    mode: str,
    name: str,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Event:
    """An unsaved event, for callers that insert many at once with `events_record`."""
    return Event(
        mode=mode,
        resource_type=resource_type,
        resource_id=resource_id,
        name=name,
        who=current_actor(),
        payload=payload or {},
        created_at=at or timezone.now(),
        updated_at=at or timezone.now(),
    )


def build_event(resource: models.Model, name: str, payload: dict[str, Any] | None = None, at: datetime | None = None):
    return new_event(
        resource_type=_resource_type(resource), resource_id=resource.pk, mode=resource.mode, name=name,
        payload=payload, at=at,
    )  # fmt: skip


def event_row(
    *, resource_type: str, resource_id: str, mode: str, name: str, at: datetime, payload: dict | None = None
) -> dict[str, Any]:
    """An event as a plain row, for hot paths that insert thousands with `event_rows_record`."""
    return {
        "id": generate_id(), "mode": mode, "resource_type": resource_type, "resource_id": resource_id,
        "name": name, "who": current_actor(), "payload": payload or {}, "created_at": at, "updated_at": at,
    }  # fmt: skip


def event_rows_record(rows: Iterable[dict[str, Any]]) -> int:
    """Insert event rows in one statement; listeners hear of them after commit."""
    rows = list(rows)
    insert_rows(Event, rows)
    _notify_after_commit([row["id"] for row in rows])
    return len(rows)


def _notify_after_commit(event_ids: list[str]) -> None:
    if event_ids and _event_listeners:
        for listener in list(_event_listeners):
            transaction.on_commit(lambda listener=listener: listener(event_ids))


def events_record(events: Iterable[Event]) -> list[Event]:
    """Insert events in one statement; listeners hear of them after commit."""
    events = Event.objects.bulk_create(list(events))
    _notify_after_commit([event.id for event in events])
    return events


def event_record(
    resource: models.Model, name: str, payload: dict[str, Any] | None = None, at: datetime | None = None
) -> Event:
    return events_record([build_event(resource, name, payload, at)])[0]
