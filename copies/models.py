"""Recurring order copies (one run of a subscription) and the events of every resource."""

from django.db import models
from django.db.models import Q

from orders.base import MODE_CONSTRAINT, Resource, choices_constraint
from orders.errors import in_reading_order


class CopyStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    ABORTED = "aborted", "Aborted"
    FAILED = "failed", "Failed"
    COMPLETED = "completed", "Completed"


FINISHED_COPY_STATUSES = (CopyStatus.ABORTED, CopyStatus.FAILED, CopyStatus.COMPLETED)


class RecurringOrderCopy(Resource):
    status = models.CharField(max_length=16, choices=CopyStatus.choices, default=CopyStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    errors_log = models.JSONField(default=dict, blank=True)
    errors_count = models.PositiveIntegerField(default=0)
    place_target_order = models.BooleanField(default=True)
    reuse_wallet = models.BooleanField(default=True)

    source_order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="recurring_order_copies")
    target_order = models.OneToOneField(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="origin_recurring_order_copy",
    )
    order_subscription = models.ForeignKey(
        "subscriptions.OrderSubscription", on_delete=models.PROTECT, related_name="recurring_order_copies"
    )

    # Internal run bookkeeping (not API attributes).
    cycle_at = models.DateTimeField(
        null=True, blank=True, help_text="The scheduled run this copy is for; empty for copies made on demand."
    )
    retry_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retried_by")
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="When its job was last handed to the queue.")
    claim_token = models.CharField(max_length=32, blank=True, default="", help_text="Identifies the run that owns it.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker started it.")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "recurring order copy"
        verbose_name_plural = "recurring order copies"
        constraints = [
            MODE_CONSTRAINT,
            choices_constraint("status", CopyStatus, "recurring_order_copy_status_valid"),
            # The idempotency key of the scheduler: one copy per subscription per cycle.
            models.UniqueConstraint(
                fields=["order_subscription", "cycle_at"],
                condition=Q(cycle_at__isnull=False, retry_of__isnull=True),
                name="one_copy_per_subscription_cycle",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(completed_at__isnull=False),
                name="recurring_order_copy_completed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | Q(failed_at__isnull=False),
                name="recurring_order_copy_failed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["mode", "-created_at"], name="copy_mode_created"),
            models.Index(fields=["mode", "status", "-created_at"], name="copy_mode_status_created"),
            models.Index(fields=["status", "created_at"], name="copy_status_created"),
            models.Index(fields=["order_subscription", "-created_at"], name="copy_subscription_created"),
            models.Index(fields=["order_subscription", "status"], name="copy_subscription_status"),
            models.Index(fields=["status", "started_at"], name="copy_status_started"),
            models.Index(fields=["-failed_at"], name="copy_failed_desc", condition=Q(failed_at__isnull=False)),
            models.Index(fields=["-completed_at"], name="copy_completed_desc", condition=Q(completed_at__isnull=False)),
            # The back-office list: its default ordering (newest first, id breaks ties) and the exact
            # search by reference.
            models.Index(fields=["-created_at", "-id"], name="copy_created_desc"),
            models.Index(fields=["reference"], name="copy_reference", condition=Q(reference__isnull=False)),
        ]
        permissions = [("retry_recurringordercopy", "Can retry failed recurring order copies")]

    def __str__(self) -> str:
        return self.id

    @property
    def first_error(self) -> str:
        """The cause in words, e.g. 'payment_source: can't be blank' (never the `status` consequence first)."""
        for attribute, messages in in_reading_order(self.errors_log or {}):
            if messages:
                message = messages[0] if isinstance(messages, list) else messages
                return f"{attribute}: {message}"
        return ""


class Event(Resource):
    """Something that happened to a resource: `create`, `start`, `complete`, `fail`, `activate`, ..."""

    resource_type = models.CharField(max_length=64, help_text="The API type, e.g. order_subscriptions.")
    resource_id = models.CharField(max_length=10)
    name = models.CharField(max_length=64)
    who = models.JSONField(default=dict, blank=True, help_text="Who or what caused it.")
    payload = models.JSONField(default=dict, blank=True, help_text="Details, e.g. the errors of a failed run.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [MODE_CONSTRAINT]
        indexes = [
            models.Index(fields=["resource_type", "resource_id", "-created_at"], name="event_resource_created"),
            models.Index(fields=["mode", "-created_at"], name="event_mode_created"),
            # The back-office events list: newest first, optionally of one resource type.
            models.Index(fields=["-created_at", "-id"], name="event_created_desc"),
            models.Index(fields=["resource_type", "-created_at"], name="event_type_created"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}.{self.name}"

    @property
    def topic(self) -> str:
        return f"{self.resource_type}.{self.name}"
