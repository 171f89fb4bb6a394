"""Subscription models, order subscriptions and their items."""

from django.db import models
from django.db.models import Q

from orders.base import MODE_CONSTRAINT, Resource, choices_constraint


class SubscriptionStrategy(models.TextChoices):
    BY_FREQUENCY = "by_frequency", "One subscription per frequency"
    BY_LINE_ITEMS = "by_line_items", "One subscription per line item"


class SubscriptionModel(Resource):
    name = models.CharField(max_length=255)
    strategy = models.CharField(
        max_length=16, choices=SubscriptionStrategy.choices, default=SubscriptionStrategy.BY_FREQUENCY
    )
    frequencies = models.JSONField(default=list, help_text="Frequencies a market's subscriptions may use.")
    auto_activate = models.BooleanField(default=True)
    auto_cancel = models.BooleanField(default=False, help_text="Cancelling a source order cancels its subscriptions.")

    class Meta:
        ordering = ["name"]
        constraints = [
            MODE_CONSTRAINT,
            choices_constraint("strategy", SubscriptionStrategy, "subscription_model_strategy_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class SubscriptionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    INACTIVE = "inactive", "Inactive"
    ACTIVE = "active", "Active"
    RUNNING = "running", "Running"
    CANCELLED = "cancelled", "Cancelled"


RENEWAL_ALERT_PERIOD_RANGE = (1, 720)


class OrderSubscription(Resource):
    number = models.BigIntegerField(unique=True)
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.DRAFT)
    frequency = models.CharField(max_length=100)
    activate_by_source_order = models.BooleanField(default=True)
    place_target_order = models.BooleanField(default=True)
    renewal_alert_period = models.PositiveIntegerField(
        default=1, help_text="Hours before a run to send the renewal alert."
    )
    customer_email = models.EmailField(max_length=255, blank=True, default="")
    starts_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    occurrencies = models.PositiveIntegerField(default=0)
    errors_count = models.PositiveIntegerField(default=0)
    succeeded_on_last_run = models.BooleanField(default=False)
    options = models.JSONField(default=dict, blank=True)

    market = models.ForeignKey("orders.Market", on_delete=models.PROTECT, related_name="order_subscriptions")
    source_order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="order_subscriptions")
    customer = models.ForeignKey(
        "orders.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="order_subscriptions"
    )
    customer_payment_source = models.ForeignKey(
        "orders.CustomerPaymentSource",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_subscriptions",
    )

    # Internal scheduling state (not API attributes).
    schedule_anchor = models.DateTimeField(
        null=True, blank=True, help_text="The run every later run is counted from; keeps month ends from drifting."
    )
    renewal_alert_at = models.DateTimeField(
        null=True, blank=True, help_text="When the renewal alert for the next run is due; cleared once sent."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            MODE_CONSTRAINT,
            choices_constraint("status", SubscriptionStatus, "order_subscription_status_valid"),
            models.CheckConstraint(
                condition=Q(renewal_alert_period__gte=RENEWAL_ALERT_PERIOD_RANGE[0])
                & Q(renewal_alert_period__lte=RENEWAL_ALERT_PERIOD_RANGE[1]),
                name="order_subscription_renewal_alert_period_range",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(expires_at__gt=models.F("starts_at")),
                name="order_subscription_expires_after_start",
            ),
        ]
        indexes = [
            # The scheduler's due scan and the expiry scan.
            models.Index(fields=["status", "next_run_at"], name="subscription_status_next_run"),
            models.Index(fields=["status", "expires_at"], name="subscription_status_expires"),
            models.Index(
                fields=["renewal_alert_at"],
                name="subscription_renewal_alert",
                condition=Q(renewal_alert_at__isnull=False),
            ),
            models.Index(fields=["mode", "-created_at"], name="subscription_mode_created"),
            models.Index(fields=["mode", "status", "-created_at"], name="subscription_mode_status"),
            models.Index(fields=["customer_email"], name="subscription_customer_email"),
            models.Index(fields=["frequency"], name="subscription_frequency"),
            models.Index(fields=["-updated_at"], name="subscription_updated_desc"),
            # The back-office list: its default ordering within a status tab, the "last run failed"
            # filter, the next-run date range filter and the exact search by reference.
            models.Index(fields=["status", "-updated_at"], name="subscription_status_updated"),
            models.Index(
                fields=["-updated_at"],
                name="subscription_last_run_failed",
                condition=Q(last_run_at__isnull=False, succeeded_on_last_run=False),
            ),
            models.Index(fields=["next_run_at"], name="subscription_next_run"),
            models.Index(fields=["reference"], name="subscription_reference", condition=Q(reference__isnull=False)),
        ]
        permissions = [
            ("cancel_ordersubscription", "Can cancel order subscriptions"),
            ("run_ordersubscription", "Can run order subscriptions now"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

    @property
    def last_run_failed(self) -> bool:
        """Commerce Layer's dashboard rule: ran at least once and the last run did not succeed."""
        return self.last_run_at is not None and not self.succeeded_on_last_run


class OrderSubscriptionItem(Resource):
    order_subscription = models.ForeignKey(
        OrderSubscription, on_delete=models.CASCADE, related_name="order_subscription_items"
    )
    sku_code = models.CharField(max_length=255, null=True, blank=True)
    bundle_code = models.CharField(max_length=255, null=True, blank=True)
    quantity = models.PositiveIntegerField()
    unit_amount_cents = models.BigIntegerField(default=0)
    total_amount_cents = models.BigIntegerField(default=0)
    source_line_item = models.ForeignKey(
        "orders.LineItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_subscription_items"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            MODE_CONSTRAINT,
            models.CheckConstraint(condition=Q(quantity__gte=1), name="subscription_item_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_amount_cents__gte=0), name="subscription_item_unit_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(sku_code__isnull=True, bundle_code__isnull=True),
                name="subscription_item_has_sku_or_bundle",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_code or self.bundle_code}"
