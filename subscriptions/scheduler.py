"""The scheduler tick: turn every due subscription into exactly one copy per cycle.

Exactly once, however many ticks run at the same time:
- due rows are claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent ticks
  take disjoint batches;
- the copy is inserted and `next_run_at` advanced in the same transaction, so once a
  batch commits its subscriptions are no longer due;
- a unique constraint on (subscription, cycle time) is the last line of defence.

Work is done in batches: memory stays bounded and the number of queries grows with
the number of batches, not the number of subscriptions.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from copies.events import build_event, events_record
from copies.models import CopyStatus, RecurringOrderCopy
from copies.services import (
    DueCycle,
    RecoveryReport,
    recurring_order_copies_create_for_cycles,
    recurring_order_copies_recover,
    recurring_order_copy_create,
)
from orders.bulk import update_rows
from subscriptions.models import OrderSubscription, SubscriptionStatus
from subscriptions.services import alert_time, following_run, schedule_after_run

DEFAULT_BATCH_SIZE = 500


@dataclass
class TickReport:
    now: datetime
    copies_created: int = 0
    expired: int = 0
    renewal_alerts: int = 0
    recovery: RecoveryReport | None = None
    would_run: list[OrderSubscription] = field(default_factory=list)  # dry runs only

    @property
    def did_something(self) -> bool:
        recovery = self.recovery
        return bool(
            self.copies_created
            or self.expired
            or self.renewal_alerts
            or (recovery and (recovery.returned_to_pending or recovery.failed_after_attempts or recovery.enqueued))
        )

    def summary(self) -> str:
        if self.recovery is None:  # dry run
            return (
                f"dry run at {self.now.isoformat()}: {len(self.would_run)} subscription(s) would run; nothing changed"
            )
        recovery = self.recovery
        return (
            f"tick at {self.now.isoformat()}: {self.copies_created} copies created, {self.expired} expired, "
            f"{self.renewal_alerts} renewal alerts, {recovery.returned_to_pending} stuck copies returned, "
            f"{recovery.failed_after_attempts} given up, {recovery.enqueued} enqueued"
        )


def due_subscriptions(now: datetime):
    """Active subscriptions whose run is due and still before their expiry."""
    return OrderSubscription.objects.filter(status=SubscriptionStatus.ACTIVE, next_run_at__lte=now).filter(
        Q(expires_at__isnull=True) | Q(next_run_at__lt=F("expires_at"))
    )


DUE_COLUMNS = (
    "id", "mode", "frequency", "next_run_at", "expires_at", "schedule_anchor", "renewal_alert_period",
    "place_target_order", "source_order_id", "market__time_zone",
)  # fmt: skip


def _create_due_copies(now: datetime, limit: int | None, batch_size: int) -> int:
    created = 0
    while limit is None or created < limit:
        size = batch_size if limit is None else min(batch_size, limit - created)
        with transaction.atomic():
            # Plain tuples, not model instances: this loop handles every renewal of the day. Ordering by
            # next_run_at alone lets PostgreSQL walk the index instead of sorting every due row per batch.
            batch = list(
                due_subscriptions(now)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("next_run_at")
                .values_list(*DUE_COLUMNS)[:size]
            )
            if not batch:
                break
            cycles, schedule_updates = [], []
            for (subscription_id, mode, frequency, cycle_at, expires_at, anchor, alert_period,
                 place_target_order, source_order_id, time_zone) in batch:  # fmt: skip
                cycles.append(DueCycle(subscription_id, mode, source_order_id, place_target_order, cycle_at))
                following = following_run(
                    anchor=anchor or cycle_at, frequency=frequency, time_zone=time_zone,
                    expires_at=expires_at, after=max(cycle_at, now),
                )  # fmt: skip
                schedule_updates.append((subscription_id, following, alert_time(following, alert_period), now))
            recurring_order_copies_create_for_cycles(cycles, now=now)
            update_rows(OrderSubscription, ["next_run_at", "renewal_alert_at", "updated_at"], schedule_updates)
        created += len(batch)
    return created


def subscriptions_expire(now: datetime, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Active subscriptions past `expires_at` become inactive with no next run.

    A subscription whose last cycle is still pending or running expires at the next
    tick, after that run ends, so the run that was due before expiry is not lost.
    """
    unfinished = RecurringOrderCopy.objects.filter(
        order_subscription_id=OuterRef("pk"), status__in=[CopyStatus.PENDING, CopyStatus.IN_PROGRESS]
    )
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                OrderSubscription.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=SubscriptionStatus.ACTIVE, expires_at__lte=now)
                .exclude(Exists(unfinished))
                .only("id", "mode")[:batch_size]
            )
            if not batch:
                break
            OrderSubscription.objects.filter(id__in=[s.id for s in batch]).update(
                status=SubscriptionStatus.INACTIVE, next_run_at=None, renewal_alert_at=None, updated_at=now
            )
            events_record(build_event(s, "deactivate", {"reason": "expired"}, at=now) for s in batch)
        expired += len(batch)
    # Already inactive ones keep no next run either.
    OrderSubscription.objects.filter(
        status=SubscriptionStatus.INACTIVE, expires_at__lte=now, next_run_at__isnull=False
    ).update(next_run_at=None, updated_at=now)
    return expired


def subscriptions_send_renewal_alerts(now: datetime, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Fire `renewal` once per cycle, `renewal_alert_period` hours before the run."""
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                OrderSubscription.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    renewal_alert_at__lte=now,
                    status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.RUNNING],
                    next_run_at__gt=now,
                )
                .only("id", "mode", "next_run_at")[:batch_size]
            )
            if not batch:
                break
            OrderSubscription.objects.filter(id__in=[s.id for s in batch]).update(renewal_alert_at=None)
            events_record(build_event(s, "renewal", {"next_run_at": s.next_run_at.isoformat()}, at=now) for s in batch)
        sent += len(batch)
    # Alerts whose run is already due are moot: the run itself is the news.
    OrderSubscription.objects.filter(renewal_alert_at__lte=now, next_run_at__lte=now).update(renewal_alert_at=None)
    return sent


def subscriptions_run_due(
    *,
    now: datetime | None = None,
    limit: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
) -> TickReport:
    """One scheduler tick: due copies, expiry, renewal alerts and the copy sweeper."""
    now = now or timezone.now()
    report = TickReport(now=now)
    if dry_run:
        query = due_subscriptions(now).select_related("market").order_by("next_run_at", "id")
        report.would_run = list(query[:limit] if limit is not None else query)
        return report
    report.copies_created = _create_due_copies(now, limit, batch_size)
    report.expired = subscriptions_expire(now, batch_size)
    report.renewal_alerts = subscriptions_send_renewal_alerts(now, batch_size)
    report.recovery = recurring_order_copies_recover(now=now)
    return report


@transaction.atomic
def subscription_run_now(subscription: OrderSubscription, *, now: datetime | None = None) -> RecurringOrderCopy:
    """Run the upcoming cycle now (a merchant's "run now"); the scheduler will not run it again."""
    now = now or timezone.now()
    subscription = (
        OrderSubscription.objects.select_for_update(of=("self",)).select_related("market").get(pk=subscription.pk)
    )
    if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.RUNNING):
        raise ValidationError({"status": [f"is {subscription.status}: only active subscriptions can run"]})
    if subscription.next_run_at is None:
        raise ValidationError({"next_run_at": ["is empty: the subscription has no upcoming run"]})
    copy = recurring_order_copy_create(order_subscription=subscription, cycle_at=subscription.next_run_at)
    schedule_after_run(subscription, cycle_at=subscription.next_run_at, now=now)
    subscription.save(update_fields=["next_run_at", "renewal_alert_at"])
    return copy
