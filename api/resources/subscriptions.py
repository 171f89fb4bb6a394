"""order_subscriptions, order_subscription_items, subscription_models."""

from django.db.models import Model

from api.registry import (
    ARRAY,
    BOOLEAN,
    DATETIME,
    INTEGER,
    OBJECT,
    STRING,
    Attr,
    Rel,
    ResourceSpec,
    Trigger,
    Values,
    WriteContext,
    register,
)
from api.resources.common import ID, fired, money, standard_fields
from subscriptions import services
from subscriptions.models import (
    OrderSubscription,
    OrderSubscriptionItem,
    SubscriptionModel,
    SubscriptionStatus,
    SubscriptionStrategy,
)

# --- order_subscriptions ---------------------------------------------------------------------


def create_order_subscription(
    context: WriteContext, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    return services.order_subscription_create(
        source_order=relationships["source_order"], market=relationships.get("market"), **attributes
    )


def update_order_subscription(
    context: WriteContext, subscription: Model, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    changes = dict(attributes)
    if "customer_payment_source" in relationships:
        changes["customer_payment_source"] = relationships["customer_payment_source"]
    # Commerce Layer: next_run_at sent with _activate sets the date the reactivated subscription runs.
    activate_at = changes.pop("next_run_at", None) if fired(triggers, "_activate") else None
    if changes:
        subscription = services.subscription_update(subscription, changes=changes)
    if fired(triggers, "_deactivate"):
        subscription = services.subscription_deactivate(subscription)
    if fired(triggers, "_activate"):
        subscription = services.subscription_activate(subscription, next_run_at=activate_at)
    if fired(triggers, "_cancel"):
        subscription = services.subscription_cancel(subscription)
    return subscription


def delete_order_subscription(context: WriteContext, subscription: Model) -> None:
    services.order_subscription_delete(subscription)


ORDER_SUBSCRIPTIONS = register(
    ResourceSpec(
        type="order_subscriptions",
        model=OrderSubscription,
        description="A customer's subscription: runs its source order's items again at each frequency.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        attributes=(
            ID,
            Attr("number", STRING, "FS", text_cast=True, description="Numeric identifier held in a string."),
            Attr("status", STRING, "FS", enum=tuple(SubscriptionStatus.values)),
            Attr(
                "frequency",
                STRING,
                "CUFS",
                required=True,
                nullable=False,
                max_length=100,
                description="hourly, daily, weekly, monthly, two-month, three-month, four-month, six-month, "
                "yearly, or a crontab expression firing at most once an hour.",
            ),  # fmt: skip
            Attr("activate_by_source_order", BOOLEAN, "CU", nullable=False),
            Attr("place_target_order", BOOLEAN, "CU", nullable=False),
            Attr("renewal_alert_period", INTEGER, "CU", nullable=False, description="Hours, 1 to 720."),
            Attr("customer_email", STRING, "F"),
            Attr("starts_at", DATETIME, "CFS", description="Required unless activate_by_source_order."),
            Attr("expires_at", DATETIME, "CUFS"),
            Attr("last_run_at", DATETIME, "FS"),
            Attr("next_run_at", DATETIME, "UFS", description="Can only be moved to the future."),
            Attr("occurrencies", INTEGER, "FS"),
            Attr("errors_count", INTEGER, "FS"),
            Attr("succeeded_on_last_run", BOOLEAN, "FS"),
            Attr("options", OBJECT, "CU", nullable=False, description="Deprecated."),
            *standard_fields(),
        ),
        relationships=(
            Rel(
                "market",
                "markets",
                column="market_id",
                flags="CFS",
                description="Taken from the source order when omitted.",
            ),  # fmt: skip
            Rel(
                "subscription_model",
                "subscription_models",
                column="market__subscription_model_id",
                flags="FS",
                filter_path="market__subscription_model",
            ),  # fmt: skip
            Rel("source_order", "orders", column="source_order_id", flags="CF", required=True),
            Rel("customer", "customers", column="customer_id", flags="FS"),
            Rel(
                "customer_payment_source", "customer_payment_sources", column="customer_payment_source_id", flags="UFS"
            ),  # fmt: skip
            Rel("order_subscription_items", "order_subscription_items", many=True, reverse="order_subscription_id"),
            Rel("order_factories", "order_factories", many=True, reverse="order_subscription_id"),
            Rel("order_copies", "order_copies", many=True, empty=True, description="Deprecated; always empty."),
            Rel("recurring_order_copies", "recurring_order_copies", many=True, reverse="order_subscription_id"),
            Rel("orders", "orders", many=True, reverse="order_subscription_id"),
            Rel(
                "events",
                "events",
                many=True,
                reverse="resource_id",
                reverse_filter={"resource_type": "order_subscriptions"},
                flags="F",
            ),  # fmt: skip
            Rel("versions", "versions", many=True, empty=True, description="Not kept; always empty."),
        ),
        triggers=(
            Trigger("_activate", description="Sets the status to active."),
            Trigger("_deactivate", description="Sets the status to inactive."),
            Trigger("_cancel", description="Sets the status to cancelled (final)."),
        ),
        create=create_order_subscription,
        update=update_order_subscription,
        delete=delete_order_subscription,
    )
)


# --- order_subscription_items ----------------------------------------------------------------


def create_order_subscription_item(
    context: WriteContext, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    return services.order_subscription_item_create(order_subscription=relationships["order_subscription"], **attributes)


def update_order_subscription_item(
    context: WriteContext, item: Model, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    return services.order_subscription_item_update(item, changes=attributes)


def delete_order_subscription_item(context: WriteContext, item: Model) -> None:
    services.order_subscription_item_delete(item)


CURRENCY = "order_subscription__market__currency_code"

ORDER_SUBSCRIPTION_ITEMS = register(
    ResourceSpec(
        type="order_subscription_items",
        model=OrderSubscriptionItem,
        description="What each run of a subscription orders.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        default_sort=("created_at",),
        attributes=(
            ID,
            Attr("sku_code", STRING, "CU", max_length=255),
            Attr("bundle_code", STRING, "CU", max_length=255),
            Attr("quantity", INTEGER, "CUFS", required=True, nullable=False),
            Attr(
                "unit_amount_cents",
                INTEGER,
                "CUFS",
                nullable=False,
                description="Taken from the source order's line item with the same code when omitted.",
            ),  # fmt: skip
            *money("unit_amount", column="unit_amount_cents", currency=CURRENCY)[1:],
            *money("total_amount", column="total_amount_cents", currency=CURRENCY, flags=""),
            *standard_fields(),
        ),
        relationships=(
            Rel(
                "order_subscription", "order_subscriptions", column="order_subscription_id", flags="CFS", required=True
            ),  # fmt: skip
            Rel("item", "skus", empty=True, description="Items are named by sku_code or bundle_code."),
            Rel("sku", "skus", empty=True),
            Rel("bundle", "bundles", empty=True),
            Rel("adjustment", "adjustments", empty=True),
            Rel("source_line_item", "line_items", column="source_line_item_id", flags="F"),
        ),
        create=create_order_subscription_item,
        update=update_order_subscription_item,
        delete=delete_order_subscription_item,
    )
)


# --- subscription_models ---------------------------------------------------------------------


def create_subscription_model(
    context: WriteContext, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    return services.subscription_model_create(mode=context.mode, **attributes)


def update_subscription_model(
    context: WriteContext, model: Model, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    return services.subscription_model_update(model, changes=attributes)


def delete_subscription_model(context: WriteContext, model: Model) -> None:
    services.subscription_model_delete(model)


SUBSCRIPTION_MODELS = register(
    ResourceSpec(
        type="subscription_models",
        model=SubscriptionModel,
        description="Rules for a market's subscriptions: allowed frequencies, strategy, activation.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        attributes=(
            ID,
            Attr("name", STRING, "CUFS", required=True, nullable=False, max_length=255),
            Attr("strategy", STRING, "CUFS", nullable=False, enum=tuple(SubscriptionStrategy.values)),
            Attr("frequencies", ARRAY, "CU", required=True, nullable=False),
            Attr("auto_activate", BOOLEAN, "CUF", nullable=False),
            Attr("auto_cancel", BOOLEAN, "CUF", nullable=False),
            *standard_fields(),
        ),
        relationships=(
            Rel("markets", "markets", many=True, reverse="subscription_model_id"),
            Rel("order_subscriptions", "order_subscriptions", many=True, reverse="market__subscription_model_id"),
            Rel("attachments", "attachments", many=True, empty=True),
        ),
        create=create_subscription_model,
        update=update_subscription_model,
        delete=delete_subscription_model,
    )
)
