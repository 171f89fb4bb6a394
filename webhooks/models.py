"""Webhooks (who to call for which topic), event callbacks (what each call answered) and deliveries
(the work queue behind them: one row per webhook and event, retried from data)."""

import secrets

from django.db import models
from django.db.models import Q

from orders.base import ID_LENGTH, MODE_CONSTRAINT, Resource, choices_constraint, generate_id


class WebhookTopic(models.TextChoices):
    """The topics of this back-office's resources (facts sheet §10)."""

    ORDER_SUBSCRIPTIONS_CREATE = "order_subscriptions.create", "order_subscriptions.create"
    ORDER_SUBSCRIPTIONS_ACTIVATE = "order_subscriptions.activate", "order_subscriptions.activate"
    ORDER_SUBSCRIPTIONS_DEACTIVATE = "order_subscriptions.deactivate", "order_subscriptions.deactivate"
    ORDER_SUBSCRIPTIONS_CANCEL = "order_subscriptions.cancel", "order_subscriptions.cancel"
    ORDER_SUBSCRIPTIONS_DESTROY = "order_subscriptions.destroy", "order_subscriptions.destroy"
    ORDER_SUBSCRIPTIONS_LAST_RUN_FAILED = "order_subscriptions.last_run_failed", "order_subscriptions.last_run_failed"
    ORDER_SUBSCRIPTIONS_LAST_RUN_SUCCEEDED = (
        "order_subscriptions.last_run_succeeded",
        "order_subscriptions.last_run_succeeded",
    )
    ORDER_SUBSCRIPTIONS_RENEWAL = "order_subscriptions.renewal", "order_subscriptions.renewal"
    RECURRING_ORDER_COPIES_CREATE = "recurring_order_copies.create", "recurring_order_copies.create"
    RECURRING_ORDER_COPIES_START = "recurring_order_copies.start", "recurring_order_copies.start"
    RECURRING_ORDER_COPIES_COMPLETE = "recurring_order_copies.complete", "recurring_order_copies.complete"
    RECURRING_ORDER_COPIES_FAIL = "recurring_order_copies.fail", "recurring_order_copies.fail"
    RECURRING_ORDER_COPIES_DESTROY = "recurring_order_copies.destroy", "recurring_order_copies.destroy"


# Resource types that have topics; events of any other type never reach a webhook.
TOPIC_RESOURCE_TYPES = frozenset(topic.split(".", 1)[0] for topic in WebhookTopic.values)


class CircuitState(models.TextChoices):
    CLOSED = "closed", "Closed"
    OPEN = "open", "Open"


def generate_shared_secret() -> str:
    """32 hex characters, the shape of Commerce Layer's secrets (`1c0994cc4e996e8c6ee56a2198f66f3c`)."""
    return secrets.token_hex(16)


class Webhook(Resource):
    name = models.CharField(max_length=255)
    topic = models.CharField(max_length=64, choices=WebhookTopic.choices)
    callback_url = models.CharField(max_length=2048)
    include_resources = models.JSONField(default=list, blank=True)
    # Kept in clear: it signs every call. Read-only through the API and the admin.
    shared_secret = models.CharField(max_length=64, default=generate_shared_secret, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True)
    circuit_state = models.CharField(max_length=8, choices=CircuitState.choices, default=CircuitState.CLOSED)
    circuit_failure_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            MODE_CONSTRAINT,
            choices_constraint("topic", WebhookTopic, "webhook_topic_valid"),
            choices_constraint("circuit_state", CircuitState, "webhook_circuit_state_valid"),
            # Commerce Layer: "Unique name for the webhook" (per environment here, as every resource).
            models.UniqueConstraint(fields=["mode", "name"], name="webhook_name_unique_per_mode"),
        ]
        indexes = [
            # What the dispatcher asks after every commit that recorded events.
            models.Index(fields=["mode", "topic"], name="webhook_listening", condition=Q(disabled_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None


class EventCallback(Resource):
    """One call to a webhook's callback URL and what it answered (Commerce Layer's `event_callbacks`)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="event_callbacks")
    callback_url = models.CharField(max_length=2048)
    payload = models.JSONField(default=dict, blank=True)
    response_code = models.CharField(max_length=8, null=True, blank=True, help_text="Empty when nothing answered.")
    response_message = models.CharField(max_length=255, null=True, blank=True)

    # Internal (not API attributes).
    delivery = models.ForeignKey(
        "webhooks.WebhookDelivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks"
    )
    attempt = models.PositiveSmallIntegerField(default=1)
    # Set on the newest few callbacks of each webhook only: what `last_event_callbacks` lists.
    last_of_webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.CASCADE, related_name="last_event_callbacks"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            MODE_CONSTRAINT,
            # One record per attempt: a delivery job that runs twice cannot count one failure twice.
            models.UniqueConstraint(fields=["delivery", "attempt"], name="event_callback_one_per_attempt"),
        ]
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="event_callback_webhook_created"),
            models.Index(fields=["mode", "-created_at"], name="event_callback_mode_created"),
            models.Index(fields=["created_at"], name="event_callback_created"),  # the retention purge
            models.Index(
                fields=["last_of_webhook", "-created_at"],
                name="event_callback_last",
                condition=Q(last_of_webhook__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def succeeded(self) -> bool:
        return bool(self.response_code) and self.response_code.startswith("2")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its first attempt or a retry (next_attempt_at)
    SENDING = "sending", "Sending"  # a worker holds it until claimed_until
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"  # every retry failed
    SKIPPED = "skipped", "Skipped"  # the webhook was disabled or its circuit opened before the call


class WebhookDelivery(models.Model):
    """Delivering one event to one webhook: the state its RQ jobs and the retry sweep share."""

    id = models.CharField(primary_key=True, max_length=ID_LENGTH, default=generate_id, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("copies.Event", on_delete=models.CASCADE, related_name="webhook_deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Calls started so far (the first one included).")
    next_attempt_at = models.DateTimeField(help_text="When a pending delivery may be attempted.")
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="When its job was last handed to a queue.")
    claim_token = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="A sending delivery's lease.")
    # The exact body sent, rendered at the first attempt: every retry sends (and signs) the same bytes.
    body = models.TextField(blank=True, default="")
    last_error = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            choices_constraint("status", DeliveryStatus, "webhook_delivery_status_valid"),
            # An event reaches a webhook once, however often the dispatcher hears of it.
            models.UniqueConstraint(fields=["webhook", "event"], name="webhook_delivery_once_per_event"),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_until__isnull=False),
                name="webhook_delivery_sending_has_lease",
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=Q(status="pending")),
            models.Index(fields=["claimed_until"], name="webhook_delivery_leased", condition=Q(status="sending")),
            models.Index(fields=["webhook", "status"], name="webhook_delivery_status"),
            models.Index(fields=["updated_at"], name="webhook_delivery_updated"),
        ]

    def __str__(self) -> str:
        return self.id
