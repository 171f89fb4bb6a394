"""The commerce objects a subscription copies: markets, customers and their wallets,
addresses, orders and line items."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from orders.base import MODE_CONSTRAINT, Resource, choices_constraint


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value} is not a known IANA time zone", code="inclusion")


class NumberSequence(models.Model):
    """Counter behind `orders.sequences` on databases without sequences (SQLite)."""

    name = models.CharField(primary_key=True, max_length=64)
    value = models.BigIntegerField(default=0)


class Market(Resource):
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=64, null=True, blank=True)
    currency_code = models.CharField(max_length=3, default="EUR")
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Subscriptions in this market run on this time zone's wall clock.",
    )
    subscription_model = models.ForeignKey(
        "subscriptions.SubscriptionModel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="markets",
    )
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            MODE_CONSTRAINT,
            models.UniqueConstraint(fields=["mode", "code"], name="market_code_unique_per_mode"),
        ]

    def __str__(self) -> str:
        return self.name


class Customer(Resource):
    email = models.EmailField(max_length=255)

    class Meta:
        ordering = ["email"]
        constraints = [
            MODE_CONSTRAINT,
            models.UniqueConstraint(fields=["mode", "email"], name="customer_email_unique_per_mode"),
        ]

    def __str__(self) -> str:
        return self.email


class Address(Resource):
    business = models.BooleanField(default=False)
    first_name = models.CharField(max_length=255, blank=True, default="")
    last_name = models.CharField(max_length=255, blank=True, default="")
    company = models.CharField(max_length=255, blank=True, default="")
    line_1 = models.CharField(max_length=255)
    line_2 = models.CharField(max_length=255, blank=True, default="")
    city = models.CharField(max_length=255)
    zip_code = models.CharField(max_length=32, blank=True, default="")
    state_code = models.CharField(max_length=32, blank=True, default="")
    country_code = models.CharField(max_length=2)
    phone = models.CharField(max_length=64)
    email = models.EmailField(max_length=255, blank=True, default="")
    notes = models.TextField(blank=True, default="")

    class Meta:
        verbose_name_plural = "addresses"
        constraints = [MODE_CONSTRAINT]

    @property
    def full_name(self) -> str:
        return self.company if self.business else f"{self.first_name} {self.last_name}".strip()

    def __str__(self) -> str:
        return f"{self.full_name}, {self.line_1}, {self.city} ({self.country_code})"

    COPIED_FIELDS = (
        "mode", "business", "first_name", "last_name", "company", "line_1", "line_2", "city",
        "zip_code", "state_code", "country_code", "phone", "email", "notes",
    )  # fmt: skip

    def copy(self) -> "Address":
        """An unsaved new row with the same postal data (copies never share address rows)."""
        return Address(**{field: getattr(self, field) for field in self.COPIED_FIELDS})


class CustomerPaymentSource(Resource):
    """A payment source saved in a customer's wallet, reusable for renewals."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="customer_payment_sources")
    name = models.CharField(max_length=255, help_text="What the customer recognises, e.g. Visa •••• 4242.")
    payment_source_type = models.CharField(max_length=64, default="stripe_payments")
    payment_source_token = models.CharField(max_length=255, blank=True, default="")
    customer_token = models.CharField(max_length=255, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="After this the source cannot pay.")

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING = "pending", "Pending"
    PLACED = "placed", "Placed"
    APPROVED = "approved", "Approved"
    CANCELLED = "cancelled", "Cancelled"


class Order(Resource):
    number = models.BigIntegerField(unique=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    customer_email = models.EmailField(max_length=255, blank=True, default="")
    market = models.ForeignKey(Market, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    billing_address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    shipping_address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment_source = models.ForeignKey(
        CustomerPaymentSource, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    currency_code = models.CharField(max_length=3, blank=True, default="")
    skus_count = models.PositiveIntegerField(default=0)
    subtotal_amount_cents = models.BigIntegerField(default=0)
    total_amount_cents = models.BigIntegerField(default=0)
    placed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The subscription whose recurring copy produced this order (empty for source orders).
    order_subscription = models.ForeignKey(
        "subscriptions.OrderSubscription",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            MODE_CONSTRAINT,
            choices_constraint("status", OrderStatus, "order_status_valid"),
            models.CheckConstraint(
                condition=Q(placed_at__isnull=False) | ~Q(status__in=["placed", "approved"]),
                name="order_placed_has_placed_at",
            ),
        ]
        indexes = [
            models.Index(fields=["mode", "status"], name="order_mode_status"),
            models.Index(fields=["customer_email"], name="order_customer_email"),
            models.Index(fields=["-created_at"], name="order_created_desc"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"


class LineItem(Resource):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="line_items")
    item_type = models.CharField(max_length=32, default="skus")
    sku_code = models.CharField(max_length=255, null=True, blank=True)
    bundle_code = models.CharField(max_length=255, null=True, blank=True)
    name = models.CharField(max_length=255, blank=True, default="")
    quantity = models.PositiveIntegerField()
    unit_amount_cents = models.BigIntegerField(default=0)
    total_amount_cents = models.BigIntegerField(default=0)
    currency_code = models.CharField(max_length=3, blank=True, default="")
    frequency = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            MODE_CONSTRAINT,
            models.CheckConstraint(condition=Q(quantity__gte=1), name="line_item_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_amount_cents__gte=0), name="line_item_unit_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_code or self.bundle_code or self.name}"
