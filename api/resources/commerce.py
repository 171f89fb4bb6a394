"""What a client needs to build, place and subscribe to a source order: orders, line_items, markets,
customers, addresses and customer_payment_sources."""

from django.db.models import Model

from api.registry import (
    BOOLEAN,
    DATETIME,
    INTEGER,
    STRING,
    Attr,
    Rel,
    ResourceSpec,
    Trigger,
    Values,
    WriteContext,
    register,
)
from api.resources.common import ID, fired, money, standard_fields, strings_or_empty
from orders import services
from orders.models import Address, Customer, CustomerPaymentSource, LineItem, Market, Order, OrderStatus

ORDER_RELATIONSHIPS = ("market", "customer", "billing_address", "shipping_address", "payment_source")

# --- orders ----------------------------------------------------------------------------------


def create_order(context: WriteContext, attributes: Values, relationships: Values, triggers: Values) -> Model:
    fields = strings_or_empty(attributes, "customer_email")
    return services.order_create(mode=context.mode, **fields, **relationships)


def update_order(
    context: WriteContext, order: Model, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    changes = {**strings_or_empty(attributes, "customer_email"), **relationships}
    if "_customer_payment_source_id" in triggers:
        changes["payment_source"] = services.customer_payment_source_in_mode(
            mode=context.mode, payment_source_id=triggers["_customer_payment_source_id"]
        )
    if changes:
        order = services.order_update(order, changes=changes)
    if fired(triggers, "_place"):
        order = services.order_place(order)
    if fired(triggers, "_cancel"):
        order = services.order_cancel(order)
    return order


def delete_order(context: WriteContext, order: Model) -> None:
    services.order_delete(order)


def _events(resource_type: str) -> Rel:
    return Rel("events", "events", many=True, reverse="resource_id", reverse_filter={"resource_type": resource_type},
               flags="F")  # fmt: skip


ORDERS = register(
    ResourceSpec(
        type="orders",
        model=Order,
        description="An order: the source of subscriptions, or the target a recurring copy built.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        attributes=(
            ID,
            Attr("number", STRING, "FS", text_cast=True),
            Attr("status", STRING, "FS", enum=tuple(OrderStatus.values)),
            Attr("customer_email", STRING, "CUF", max_length=255),
            Attr("currency_code", STRING, "FS"),
            Attr("skus_count", INTEGER),
            *money("subtotal_amount", column="subtotal_amount_cents", currency="currency_code"),
            *money("total_amount", column="total_amount_cents", currency="currency_code"),
            Attr("placed_at", DATETIME, "FS"),
            Attr("approved_at", DATETIME, "FS"),
            Attr("cancelled_at", DATETIME, "FS"),
            *standard_fields(),
        ),
        relationships=(
            Rel("market", "markets", column="market_id", flags="CUFS"),
            Rel("customer", "customers", column="customer_id", flags="CUFS"),
            Rel("shipping_address", "addresses", column="shipping_address_id", flags="CUF"),
            Rel("billing_address", "addresses", column="billing_address_id", flags="CUF"),
            Rel(
                "payment_source",
                "customer_payment_sources",
                column="payment_source_id",
                flags="CUF",
                description="A source saved in the customer's wallet (decision D2).",
            ),  # fmt: skip
            Rel("line_items", "line_items", many=True, reverse="order_id", flags="F"),
            Rel(
                "order_subscription",
                "order_subscriptions",
                column="order_subscription_id",
                flags="F",
                description="The subscription whose recurring copy made this order.",
            ),  # fmt: skip
            Rel(
                "order_subscriptions",
                "order_subscriptions",
                many=True,
                reverse="source_order_id",
                flags="F",
                description="The subscriptions this order is the source of.",
            ),  # fmt: skip
            Rel("order_factories", "order_factories", many=True, reverse="source_order_id"),
            Rel("order_copies", "order_copies", many=True, empty=True),
            Rel("recurring_order_copies", "recurring_order_copies", many=True, reverse="source_order_id", flags="F"),
            _events("orders"),
        ),
        triggers=(
            Trigger("_place", description="Places a draft or pending order."),
            Trigger("_cancel", description="Cancels a pending, placed or approved order."),
            Trigger(
                "_customer_payment_source_id",
                STRING,
                description="Uses this customer payment source (of the order's customer) as payment source.",
            ),
        ),  # fmt: skip
        create=create_order,
        update=update_order,
        delete=delete_order,
    )
)


# --- line_items ------------------------------------------------------------------------------


def create_line_item(context: WriteContext, attributes: Values, relationships: Values, triggers: Values) -> Model:
    fields = strings_or_empty(attributes, "name")
    return services.line_item_create(order=relationships["order"], **fields)


def update_line_item(
    context: WriteContext, line_item: Model, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    return services.line_item_update(line_item, changes=strings_or_empty(attributes, "name"))


def delete_line_item(context: WriteContext, line_item: Model) -> None:
    services.line_item_delete(line_item)


LINE_ITEMS = register(
    ResourceSpec(
        type="line_items",
        model=LineItem,
        description="A line of an order; one with a frequency is what a subscription repeats.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        default_sort=("created_at",),
        attributes=(
            ID,
            Attr("sku_code", STRING, "CUF", max_length=255),
            Attr("bundle_code", STRING, "CU", max_length=255),
            Attr("quantity", INTEGER, "CUF", required=True, nullable=False),
            Attr("currency_code", STRING, "FS"),
            Attr("unit_amount_cents", INTEGER, "CUFS", nullable=False),
            *money("unit_amount", column="unit_amount_cents", currency="currency_code")[1:],
            *money("total_amount", column="total_amount_cents", currency="currency_code"),
            Attr("name", STRING, "CUFS", max_length=255),
            Attr("item_type", STRING, "CFS", nullable=False, enum=("skus", "bundles", "adjustments")),
            Attr("frequency", STRING, "CU", max_length=100),
            *standard_fields(),
        ),
        relationships=(
            Rel("order", "orders", column="order_id", flags="CFS", required=True),
            Rel("item", "skus", empty=True, description="Items are named by sku_code or bundle_code."),
            Rel("sku", "skus", empty=True),
            Rel("bundle", "bundles", empty=True),
        ),
        create=create_line_item,
        update=update_line_item,
        delete=delete_line_item,
    )
)


# --- markets ---------------------------------------------------------------------------------


def create_market(context: WriteContext, attributes: Values, relationships: Values, triggers: Values) -> Model:
    return services.market_create(
        mode=context.mode, disabled=fired(triggers, "_disable"), **attributes, **relationships
    )


def update_market(
    context: WriteContext, market: Model, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    changes = {**attributes, **relationships}
    if fired(triggers, "_disable"):
        changes["disabled"] = True
    if fired(triggers, "_enable"):
        changes["disabled"] = False
    return services.market_update(market, changes=changes)


def delete_market(context: WriteContext, market: Model) -> None:
    services.market_delete(market)


MARKETS = register(
    ResourceSpec(
        type="markets",
        model=Market,
        description="Where orders are sold: currency, time zone, subscription model.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        attributes=(
            ID,
            Attr("name", STRING, "CUFS", required=True, nullable=False, max_length=255),
            Attr("code", STRING, "CUFS", max_length=64),
            Attr(
                "currency_code",
                STRING,
                "CUFS",
                nullable=False,
                max_length=3,
                description="ISO 4217; this back-office keeps it on the market (no price lists).",
            ),  # fmt: skip
            Attr(
                "time_zone",
                STRING,
                "CU",
                nullable=False,
                max_length=64,
                description="IANA time zone whose wall clock subscriptions run on.",
            ),  # fmt: skip
            Attr("disabled_at", DATETIME, "FS"),
            *standard_fields(),
        ),
        relationships=(Rel("subscription_model", "subscription_models", column="subscription_model_id", flags="CUFS"),),
        triggers=(
            Trigger("_disable", flags="CU", description="Disables the market."),
            Trigger("_enable", flags="CU", description="Enables the market."),
        ),
        create=create_market,
        update=update_market,
        delete=delete_market,
    )
)


# --- customers -------------------------------------------------------------------------------


def create_customer(context: WriteContext, attributes: Values, relationships: Values, triggers: Values) -> Model:
    return services.customer_create(mode=context.mode, **attributes)


def update_customer(
    context: WriteContext, customer: Model, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    return services.customer_update(customer, changes=attributes)


def delete_customer(context: WriteContext, customer: Model) -> None:
    services.customer_delete(customer)


CUSTOMERS = register(
    ResourceSpec(
        type="customers",
        model=Customer,
        description="A registered customer, with a wallet of payment sources.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        attributes=(
            ID,
            Attr("email", STRING, "CUFS", required=True, nullable=False, max_length=255),
            *standard_fields(),
        ),
        relationships=(
            Rel("customer_payment_sources", "customer_payment_sources", many=True, reverse="customer_id", flags="F"),
            Rel("orders", "orders", many=True, reverse="customer_id"),
            Rel("order_subscriptions", "order_subscriptions", many=True, reverse="customer_id", flags="F"),
        ),
        create=create_customer,
        update=update_customer,
        delete=delete_customer,
    )
)


# --- addresses -------------------------------------------------------------------------------

ADDRESS_TEXT = ("first_name", "last_name", "company", "line_2", "zip_code", "state_code", "email", "notes")


def create_address(context: WriteContext, attributes: Values, relationships: Values, triggers: Values) -> Model:
    return services.address_create(mode=context.mode, **strings_or_empty(attributes, *ADDRESS_TEXT))


def update_address(
    context: WriteContext, address: Model, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    return services.address_update(address, changes=strings_or_empty(attributes, *ADDRESS_TEXT))


def delete_address(context: WriteContext, address: Model) -> None:
    services.address_delete(address)


def _full_name(row) -> str:
    if row["business"]:
        return row["company"]
    return f"{row['first_name']} {row['last_name']}".strip()


ADDRESSES = register(
    ResourceSpec(
        type="addresses",
        model=Address,
        description="A postal address, used as an order's billing or shipping address.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        attributes=(
            ID,
            Attr("business", BOOLEAN, "CUF", nullable=False),
            Attr("first_name", STRING, "CUF", max_length=255),
            Attr("last_name", STRING, "CUF", max_length=255),
            Attr("company", STRING, "CUF", max_length=255),
            Attr("full_name", STRING, compute=_full_name, needs=("business", "company", "first_name", "last_name")),
            Attr("line_1", STRING, "CUF", required=True, nullable=False, max_length=255),
            Attr("line_2", STRING, "CUF", max_length=255),
            Attr("city", STRING, "CUFS", required=True, nullable=False, max_length=255),
            Attr("zip_code", STRING, "CUF", max_length=32),
            Attr("state_code", STRING, "CUFS", max_length=32),
            Attr("country_code", STRING, "CUFS", required=True, nullable=False, max_length=2),
            Attr("phone", STRING, "CUF", required=True, nullable=False, max_length=64),
            Attr("email", STRING, "CUF", max_length=255),
            Attr("notes", STRING, "CUF", max_length=10_000),
            *standard_fields(),
        ),
        create=create_address,
        update=update_address,
        delete=delete_address,
    )
)


# --- customer_payment_sources ----------------------------------------------------------------

PAYMENT_SOURCE_TEXT = ("payment_source_token", "customer_token")


def create_customer_payment_source(
    context: WriteContext, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    fields = strings_or_empty(attributes, *PAYMENT_SOURCE_TEXT)
    return services.customer_payment_source_create(customer=relationships["customer"], **fields)


def update_customer_payment_source(
    context: WriteContext, payment_source: Model, attributes: Values, relationships: Values, triggers: Values
) -> Model:
    changes = {**strings_or_empty(attributes, *PAYMENT_SOURCE_TEXT), **relationships}
    return services.customer_payment_source_update(payment_source, changes=changes)


def delete_customer_payment_source(context: WriteContext, payment_source: Model) -> None:
    services.customer_payment_source_delete(payment_source)


CUSTOMER_PAYMENT_SOURCES = register(
    ResourceSpec(
        type="customer_payment_sources",
        model=CustomerPaymentSource,
        description="A payment source saved in a customer's wallet, reusable for renewals.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        attributes=(
            ID,
            Attr("name", STRING, "CUF", required=True, nullable=False, max_length=255),
            Attr("customer_token", STRING, "CU", max_length=255),
            Attr("payment_source_token", STRING, "CUF", max_length=255),
            Attr(
                "payment_source_type",
                STRING,
                "CUF",
                nullable=False,
                max_length=64,
                description="The gateway's payment type, e.g. stripe_payments.",
            ),  # fmt: skip
            Attr("expires_at", DATETIME, "CUFS", description="After this the source cannot pay."),
            *standard_fields(),
        ),
        relationships=(
            Rel("customer", "customers", column="customer_id", flags="CUFS", required=True),
            Rel(
                "payment_source",
                "stripe_payments",
                empty=True,
                description="The gateway object; this back-office keeps only its token.",
            ),  # fmt: skip
        ),
        create=create_customer_payment_source,
        update=update_customer_payment_source,
        delete=delete_customer_payment_source,
    )
)
