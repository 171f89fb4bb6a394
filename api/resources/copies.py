"""recurring_order_copies, order_factories (their read-only parent view) and events."""

from django.db.models import Model

from api.registry import (
    BOOLEAN,
    DATETIME,
    INTEGER,
    OBJECT,
    STRING,
    Attr,
    Rel,
    ResourceSpec,
    Values,
    WriteContext,
    register,
)
from api.resources.common import ID, standard_fields
from copies import services
from copies.models import CopyStatus, Event, RecurringOrderCopy


def create_recurring_order_copy(
    context: WriteContext, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    return services.recurring_order_copy_create(
        order_subscription=relationships["order_subscription"],
        source_order=relationships["source_order"],
        **attributes,
    )


def update_recurring_order_copy(
    context: WriteContext, copy: Model, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    return services.recurring_order_copy_update(copy, changes=attributes)


def delete_recurring_order_copy(context: WriteContext, copy: Model) -> None:
    services.recurring_order_copy_delete(copy)


def _factory_fields() -> tuple[Attr, ...]:
    return (
        Attr("status", STRING, "FS", enum=tuple(CopyStatus.values)),
        Attr("started_at", DATETIME, "FS"),
        Attr("completed_at", DATETIME, "FS"),
        Attr("failed_at", DATETIME, "FS"),
        Attr("errors_log", OBJECT),
        Attr("errors_count", INTEGER, "FS"),
        Attr(
            "place_target_order",
            BOOLEAN,
            "C",
            nullable=False,
            description="Defaults to the subscription's place_target_order.",
        ),  # fmt: skip
        Attr("reuse_wallet", BOOLEAN, "C", nullable=False),
        *standard_fields(),
    )


def _events(resource_type: str) -> Rel:
    return Rel("events", "events", many=True, reverse="resource_id", reverse_filter={"resource_type": resource_type},
               flags="F")  # fmt: skip


RECURRING_ORDER_COPIES = register(
    ResourceSpec(
        type="recurring_order_copies",
        model=RecurringOrderCopy,
        description="One run of an order subscription: builds (and places) the target order.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        attributes=(ID, *_factory_fields()),
        relationships=(
            Rel("source_order", "orders", column="source_order_id", flags="CF", required=True),
            Rel("target_order", "orders", column="target_order_id", flags="F"),
            _events("recurring_order_copies"),
            Rel(
                "order_subscription", "order_subscriptions", column="order_subscription_id", flags="CFS", required=True
            ),  # fmt: skip
        ),
        create=create_recurring_order_copy,
        update=update_recurring_order_copy,
        delete=delete_recurring_order_copy,
    )
)

ORDER_FACTORIES = register(
    ResourceSpec(
        type="order_factories",
        model=RecurringOrderCopy,
        description="Every order copy of any kind, read-only (this back-office makes recurring copies only).",
        actions=frozenset({"list", "retrieve"}),
        attributes=(
            ID,
            Attr(
                "type",
                STRING,
                compute=lambda row: "recurring_order_copies",
                enum=("order_copies", "recurring_order_copies"),
            ),
            *_factory_fields(),
        ),
        relationships=(
            Rel("source_order", "orders", column="source_order_id", flags="F"),
            Rel("target_order", "orders", column="target_order_id", flags="F"),
            _events("recurring_order_copies"),
        ),
    ),
    primary=False,
)

EVENTS = register(
    ResourceSpec(
        type="events",
        model=Event,
        description="Something that happened to a resource (create, activate, start, complete, fail, ...).",
        actions=frozenset({"list", "retrieve"}),
        attributes=(
            ID,
            Attr("name", STRING, "FS"),
            Attr("resource_type", STRING, "FS"),
            Attr("resource_id", STRING, "FS"),
            Attr("who", OBJECT, description="Who or what caused it."),
            Attr("payload", OBJECT),
            *standard_fields(),
        ),
    )
)
